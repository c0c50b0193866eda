"""The office's decision pages: stamp requests, revocation, findings, consumer reports.

Each page: refused without a CSRF token, another province's record is a 404 page, wrong input
gives a message next to the field (Vietnamese first), and the action reaches the services.
"""

from __future__ import annotations

import pytest

from stamp_service.domain.status import Verdict
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate, Lot
from stamp_service.storage.models.scans import ConsumerReport
from stamp_service.storage.models.stamps import StampRequest, StampVoid
from tests.console_decisions_support import HA_TINH, THANH_HOA, Office, make_office
from tests.factories import make_certificate
from tests.people_support import csrf_token, post_form, sign_in
from tests.revocation_support import verdict
from tests.stamp_factories import ensure_keyring

DECISION = {"decision_number": "3763/QĐ-UBND", "decided_on": "2026-11-18", "authority": "UBND tỉnh Hà Tĩnh"}


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def offices(session, keyring) -> tuple[Office, Office]:
    return make_office(session, keyring, HA_TINH), make_office(session, keyring, THANH_HOA)


@pytest.fixture()
def ha_tinh(client, offices) -> Office:
    sign_in(client, offices[0].admin_name)
    return offices[0]


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def test_pages_open_for_the_own_province_and_404_for_the_other(client, ha_tinh, offices):
    other = offices[1]
    own_pages = [
        "/console/requests/",
        "/console/requests/?state=requested",
        f"/console/requests/{ha_tinh.waiting.id}",
        f"/console/revocation/certificates/{ha_tinh.batch.certificate.id}/withdraw",
        f"/console/revocation/certificates/{ha_tinh.batch.certificate.id}/reduce",
        f"/console/revocation/certificates/{ha_tinh.batch.certificate.id}",
        f"/console/revocation/lots/{ha_tinh.batch.lot.id}",
        f"/console/revocation/requests/{ha_tinh.batch.request.id}/void",
        "/console/findings/",
        f"/console/findings/{ha_tinh.finding_id}",
        "/console/consumer-reports/",
        f"/console/consumer-reports/{ha_tinh.report_id}",
    ]
    for path in own_pages:
        assert client.get(path).status_code == 200, path
    other_pages = [
        f"/console/requests/{other.waiting.id}",
        f"/console/requests/{other.batch.request.id}/labels.pdf",
        f"/console/revocation/certificates/{other.batch.certificate.id}/withdraw",
        f"/console/revocation/certificates/{other.batch.certificate.id}",
        f"/console/revocation/lots/{other.batch.lot.id}",
        f"/console/revocation/requests/{other.batch.request.id}/void",
        f"/console/findings/{other.finding_id}",
        f"/console/consumer-reports/{other.report_id}",
    ]
    for path in other_pages:
        resp = client.get(path)
        assert resp.status_code == 404 and "Không tìm thấy trang" in _html(resp), path
    # Lists show only the own province's records.
    queue = _html(client.get("/console/requests/"))
    assert ha_tinh.batch.producer.name in queue and other.batch.producer.name not in queue
    assert other.batch.producer.name not in _html(client.get("/console/findings/"))


def test_posts_to_another_province_are_404_and_change_nothing(client, ha_tinh, offices, session):
    other = offices[1]
    token = csrf_token(client, "/console/requests/")
    posts = [
        (f"/console/requests/{other.waiting.id}/approve", {}),
        (f"/console/requests/{other.waiting.id}/reject", {"reject_reason": "không đủ hồ sơ"}),
        (
            f"/console/revocation/certificates/{other.batch.certificate.id}/withdraw",
            {**DECISION, "reason": "vi phạm"},
        ),
        (f"/console/revocation/lots/{other.batch.lot.id}", {"reason": "thu hồi"}),
        (
            f"/console/revocation/requests/{other.batch.request.id}/void",
            {"seq_from": "1", "seq_to": "1", "reason_code": "lost", "reason": "mất"},
        ),
        (f"/console/findings/{other.finding_id}/accept", {"reason": "đồng ý"}),
        (f"/console/consumer-reports/{other.report_id}/close", {"note": "đã xử lý"}),
    ]
    for path, data in posts:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    session.expire_all()
    assert session.get(StampRequest, other.waiting.id).state == "requested"
    assert session.get(Certificate, other.batch.certificate.id).state == "active"
    assert session.get(Lot, other.batch.lot.id).recall is None
    assert session.query(StampVoid).count() == 0


def test_every_form_is_refused_without_a_csrf_token(client, ha_tinh, session):
    posts = [
        f"/console/requests/{ha_tinh.waiting.id}/approve",
        f"/console/requests/{ha_tinh.waiting.id}/reject",
        f"/console/revocation/certificates/{ha_tinh.batch.certificate.id}/withdraw",
        f"/console/revocation/certificates/{ha_tinh.batch.certificate.id}/reduce",
        f"/console/revocation/lots/{ha_tinh.batch.lot.id}",
        f"/console/revocation/requests/{ha_tinh.batch.request.id}/void",
        f"/console/findings/{ha_tinh.finding_id}/accept",
        f"/console/findings/{ha_tinh.finding_id}/reject",
        f"/console/findings/{ha_tinh.finding_id}/propose",
        f"/console/consumer-reports/{ha_tinh.report_id}/close",
    ]
    for path in posts:
        resp = client.post(path, data={"reason": "lý do đủ dài", **DECISION})
        assert resp.status_code == 400 and "Không thể nhận biểu mẫu" in _html(resp), path
    session.expire_all()
    assert session.get(StampRequest, ha_tinh.waiting.id).state == "requested"
    assert session.get(Certificate, ha_tinh.batch.certificate.id).state == "active"


def test_approve_fewer_issues_them_and_the_print_files_download(client, ha_tinh, session):
    path = f"/console/requests/{ha_tinh.waiting.id}"
    wrong = post_form(client, path + "/approve", {"quantity": "21"}, form_page=path)
    assert wrong.status_code == 422
    assert 'id="f-quantity-error"' in _html(wrong) and "Nhập số nguyên từ 1" in _html(wrong)
    done = post_form(client, path + "/approve", {"quantity": "12", "note": "đợt đầu"}, form_page=path)
    assert done.status_code == 302 and done.headers["Location"] == path
    session.expire_all()
    row = session.get(StampRequest, ha_tinh.waiting.id)
    assert (row.state, row.quantity_approved, row.issued_count) == ("issued", 12, 12)
    page = _html(client.get(path))
    assert '<progress id="progress" max="12" value="12"' in page and "http-equiv" not in page
    pdf = client.get(path + "/labels.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="ocop-stamps-{row.id}.pdf"'
    csv = client.get(path + "/labels.csv").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 13  # header and 12 stamps
    assert client.get(path + "/labels.zpl").get_data(as_text=True).count("^XA") == 12
    downloads = session.query(AuditEntry).filter_by(action="stamps.download", entity_id=str(row.id)).count()
    assert downloads == 3
    # Decided: no second decision.
    again = post_form(client, path + "/reject", {"reject_reason": "muộn rồi"}, form_page="/console/requests/")
    assert again.status_code == 302
    assert "đã được quyết định" in _html(client.get(path))


def test_issuing_request_page_refreshes_itself_and_waits_for_print_files(client, ha_tinh, session):
    row = session.get(StampRequest, ha_tinh.waiting.id)
    row.state, row.quantity_approved = "issuing", 20
    session.commit()
    page = _html(client.get(f"/console/requests/{row.id}"))
    assert '<meta http-equiv="refresh" content="2">' in page and 'value="0"' in page
    early = client.get(f"/console/requests/{row.id}/labels.pdf")
    assert early.status_code == 302 and early.headers["Location"] == f"/console/requests/{row.id}"


def test_reject_needs_a_reason_next_to_the_field_in_both_languages(client, ha_tinh, session):
    path = f"/console/requests/{ha_tinh.waiting.id}"
    resp = post_form(client, path + "/reject", {"reject_reason": "x"}, form_page=path)
    assert resp.status_code == 422 and 'id="f-reject_reason-error"' in _html(resp)
    assert "Ghi lý do" in _html(resp)
    client.get(path + "?lang=en")
    english = post_form(client, path + "/reject", {"reject_reason": ""}, form_page=path)
    assert "Write the reason (3 to 2,000 characters)." in _html(english)
    ok = post_form(client, path + "/reject", {"reject_reason": "lô chưa đủ hồ sơ"}, form_page=path)
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(StampRequest, ha_tinh.waiting.id).state == "rejected"


def test_withdraw_shows_the_count_checks_the_decision_and_revokes(client, ha_tinh, session, keyring):
    cert = ha_tinh.batch.certificate
    path = f"/console/revocation/certificates/{cert.id}/withdraw"
    page = _html(client.get(path))
    assert "3 tem" in page  # the product's issued stamps
    bad = post_form(
        client, path, {"decision_number": "số 12", "decided_on": "", "authority": "", "reason": "vi phạm"}
    )
    html = _html(bad)
    assert bad.status_code == 422
    for name in ("decision_number", "decided_on", "authority"):
        assert f'id="f-{name}-error"' in html
    future = post_form(client, path, {**DECISION, "decided_on": "2099-01-01", "reason": "vi phạm"})
    assert future.status_code == 422 and 'id="f-decided_on-error"' in _html(future)
    ok = post_form(client, path, {**DECISION, "reason": "vi phạm tiêu chuẩn"})
    assert ok.status_code == 302 and ok.headers["Location"] == f"/console/revocation/certificates/{cert.id}"
    assert verdict(session, keyring, ha_tinh.batch.tokens[0]).verdict is Verdict.REVOKED
    result = _html(client.get(ok.headers["Location"]))
    assert "3763/QĐ-UBND" in result and "bị rút" in result


def test_reduce_asks_for_fewer_stars(client, ha_tinh, session):
    cert = ha_tinh.batch.certificate
    path = f"/console/revocation/certificates/{cert.id}/reduce"
    bad = post_form(client, path, {**DECISION, "stars": "4", "reason": "giảm hạng"})
    assert bad.status_code == 422 and 'id="f-stars-error"' in _html(bad)
    ok = post_form(client, path, {**DECISION, "stars": "3", "reason": "giảm hạng"})
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(Certificate, cert.id).state == "superseded"
    assert "3 ★" in _html(client.get(ok.headers["Location"]))


def test_recall_then_lift_a_lot(client, ha_tinh, session, keyring):
    path = f"/console/revocation/lots/{ha_tinh.batch.lot.id}"
    assert "Thu hồi lô" in _html(client.get(path))
    bad = post_form(client, path, {"reason": ""})
    assert bad.status_code == 422 and 'id="f-reason-error"' in _html(bad)
    assert post_form(client, path, {"reason": "an toàn thực phẩm"}).status_code == 302
    assert verdict(session, keyring, ha_tinh.batch.tokens[1]).verdict is Verdict.REVOKED
    assert "Gỡ thu hồi lô" in _html(client.get(path))
    assert post_form(client, path, {**DECISION, "reason": "đã kiểm nghiệm đạt"}).status_code == 302
    assert verdict(session, keyring, ha_tinh.batch.tokens[1]).verdict is Verdict.GENUINE


def test_void_a_range_counts_first_then_voids(client, ha_tinh, session, keyring):
    path = f"/console/revocation/requests/{ha_tinh.batch.request.id}/void"
    wrong = client.get(path + "?seq_from=0")
    assert 'id="f-seq_from-error"' in _html(wrong)
    beyond = _html(client.get(path + "?seq_from=2&seq_to=9"))  # only 3 are issued
    assert 'id="f-seq_to-error"' in beyond and "Chỉ hủy được tem đã phát hành" in beyond
    counted = _html(client.get(path + "?seq_from=2&seq_to=3"))
    assert "2 tem" in counted and 'name="seq_to" value="3"' in counted
    no_code = post_form(
        client,
        path,
        {"seq_from": "2", "seq_to": "3", "reason": "mất khi vận chuyển"},
        form_page=path + "?seq_from=2&seq_to=3",
    )
    assert no_code.status_code == 422 and 'id="f-reason_code-error"' in _html(no_code)
    too_far = post_form(
        client, path, {"seq_from": "2", "seq_to": "9", "reason_code": "lost", "reason": "mất"}, form_page=path
    )
    assert too_far.status_code == 422 and 'id="f-seq_to-error"' in _html(too_far)
    ok = post_form(
        client,
        path,
        {"seq_from": "2", "seq_to": "3", "reason_code": "lost", "reason": "mất khi vận chuyển"},
        form_page=path,
    )
    assert ok.status_code == 302
    session.expire_all()
    void = session.query(StampVoid).one()
    assert (void.seq_from, void.seq_to, void.reason_code) == (2, 3, "lost")
    assert verdict(session, keyring, ha_tinh.batch.tokens[2]).verdict is Verdict.REVOKED
    assert verdict(session, keyring, ha_tinh.batch.tokens[0]).verdict is Verdict.GENUINE


def test_accept_a_void_proposal_voids_the_stamp_audited(client, ha_tinh, session, keyring):
    path = f"/console/findings/{ha_tinh.finding_id}"
    page = _html(client.get(path))
    assert ha_tinh.serial(0) in page and "Hủy tem" in page
    bad = post_form(client, path + "/accept", {"reason": ""}, form_page=path)
    assert bad.status_code == 422 and 'id="f-reason-error"' in _html(bad)
    ok = post_form(client, path + "/accept", {"reason": "xác minh tem giả"}, form_page=path)
    assert ok.status_code == 302
    assert verdict(session, keyring, ha_tinh.batch.tokens[0]).verdict is Verdict.REVOKED
    entry = session.query(AuditEntry).filter_by(action="finding.accept_proposal").one()
    assert entry.entity_id == str(ha_tinh.finding_id)
    assert "đã chấp nhận" in _html(client.get(path))


def test_reject_a_proposal_keeps_the_stamp(client, ha_tinh, session, keyring):
    path = f"/console/findings/{ha_tinh.finding_id}"
    bad = post_form(client, path + "/reject", {"reject_reason": "no"}, form_page=path)
    assert bad.status_code == 422 and 'id="f-reject_reason-error"' in _html(bad)
    assert (
        post_form(client, path + "/reject", {"reject_reason": "tem thật, in mờ"}, form_page=path).status_code
        == 302
    )
    assert verdict(session, keyring, ha_tinh.batch.tokens[0]).verdict is Verdict.GENUINE


def test_close_a_consumer_report_with_a_note(client, ha_tinh, session):
    path = f"/console/consumer-reports/{ha_tinh.report_id}"
    assert "Chợ thử" in _html(client.get("/console/consumer-reports/?state=open"))
    bad = post_form(client, path + "/close", {"note": ""}, form_page=path)
    assert bad.status_code == 422 and 'id="f-note-error"' in _html(bad)
    assert (
        post_form(client, path + "/close", {"note": "đã kiểm tra cửa hàng"}, form_page=path).status_code
        == 302
    )
    session.expire_all()
    report = session.get(ConsumerReport, ha_tinh.report_id)
    assert (report.state, report.close_note) == ("closed", "đã kiểm tra cửa hàng")


def test_console_home_links_to_the_decision_pages(client, ha_tinh):
    home = _html(client.get("/console/"))
    for link in (
        'href="/console/requests/?state=requested"',
        'href="/console/findings/"',
        'href="/console/consumer-reports/?state=open"',
    ):
        assert link in home


def test_inspectors_and_producers_may_not_open_the_decision_pages(client, offices, session):
    from stamp_service.domain.access import Role
    from tests.people_support import make_person

    make_person(session, Role.INSPECTOR, name="field-inspector", province_code=HA_TINH)
    make_person(session, Role.PRODUCER, name="htx-own", producer_id=offices[0].batch.producer.id)
    for name in ("field-inspector", "htx-own"):
        sign_in(client, name)
        for path in (
            "/console/requests/",
            f"/console/requests/{offices[0].batch.request.id}/labels.pdf",
            f"/console/findings/{offices[0].finding_id}",
            f"/console/revocation/lots/{offices[0].batch.lot.id}",
            "/console/consumer-reports/",
        ):
            assert client.get(path).status_code == 403, (name, path)


def test_a_broken_rule_is_told_in_the_page_language(client, ha_tinh, session):
    lot = f"/console/revocation/lots/{ha_tinh.batch.lot.id}"
    assert post_form(client, lot, {"reason": "an toàn thực phẩm"}).status_code == 302
    path = f"/console/requests/{ha_tinh.waiting.id}"
    refused = post_form(client, path + "/approve", {}, form_page=path)
    assert refused.status_code == 422 and 'id="f-quantity-error"' in _html(refused)
    assert "Lô đã bị thu hồi: không thể phát hành tem cho lô." in _html(refused)
    session.expire_all()
    assert session.get(StampRequest, ha_tinh.waiting.id).state == "requested"


def test_the_queue_pages_waiting_first_then_newest_across_the_boundary(session, keyring, monkeypatch):
    from stamp_service.schemas.stamp_requests import RequestState
    from stamp_service.services import request_queue

    first, second = make_office(session, keyring, HA_TINH), make_office(session, keyring, HA_TINH)
    make_office(session, keyring, THANH_HOA)
    monkeypatch.setattr(request_queue, "PER_PAGE", 3)
    actor = first.admin

    def ids(page: int, state=None) -> list[int]:
        return [row.request.id for row in request_queue.queue(session, actor, state=state, page=page).rows]

    waiting = [first.waiting.id, second.waiting.id]  # oldest first
    issued = [second.batch.request.id, first.batch.request.id]  # newest first
    assert ids(1) == [*waiting, issued[0]] and ids(2) == [issued[1]] and ids(3) == []
    assert (
        request_queue.queue(session, actor, page=1).has_next
        and not request_queue.queue(session, actor, page=2).has_next
    )
    assert ids(1, RequestState.ISSUED) == issued and ids(1, RequestState.REQUESTED) == waiting
    monkeypatch.setattr(request_queue, "PER_PAGE", 1)  # page 3 is past every waiting request
    assert ids(3) == [issued[0]] and ids(4) == [issued[1]] and ids(2) == [waiting[1]]


def test_a_withdrawn_certificate_is_not_offered_again_and_says_when_it_was_withdrawn(client, ha_tinh):
    cert, product = ha_tinh.batch.certificate, ha_tinh.batch.product
    withdraw = f"/console/revocation/certificates/{cert.id}/withdraw"
    reduce = f"/console/revocation/certificates/{cert.id}/reduce"
    request_page = f"/console/requests/{ha_tinh.batch.request.id}"
    before = _html(client.get(request_page))
    assert f'href="{withdraw}"' in before and f'href="{reduce}"' in before
    assert post_form(client, withdraw, {**DECISION, "reason": "vi phạm tiêu chuẩn"}).status_code == 302
    after = _html(client.get(request_page))
    assert f'href="{withdraw}"' not in after and f'href="{reduce}"' not in after
    assert "Sao của sản phẩm đã bị rút ngày 18/11/2026 theo quyết định 3763/QĐ-UBND" in after
    assert f'href="/console/revocation/certificates/{cert.id}"' in after
    for path in (withdraw, reduce):  # an old link or bookmark: the state, and the way on
        page = _html(client.get(path))
        assert 'name="reason"' not in page
        assert "Sao đã bị rút ngày 18/11/2026 theo quyết định 3763/QĐ-UBND" in page
        assert f'href="/console/products/{product.id}"' in page
    english = _html(client.get(withdraw + "?lang=en"))
    assert "withdrawn on 18 Nov 2026 by decision 3763/QĐ-UBND" in english
    assert "The product&#39;s page" in english


def test_a_superseded_certificate_names_its_successor_and_links_to_the_current_one(client, ha_tinh, session):
    cert, product = ha_tinh.batch.certificate, ha_tinh.batch.product
    reduce = f"/console/revocation/certificates/{cert.id}/reduce"
    reduced = post_form(client, reduce, {**DECISION, "stars": "3", "reason": "giảm hạng"})
    assert reduced.status_code == 302
    session.expire_all()
    new = session.query(Certificate).filter(Certificate.supersedes_id == cert.id).one()
    request_page = _html(client.get(f"/console/requests/{ha_tinh.batch.request.id}"))
    assert f"/console/revocation/certificates/{cert.id}/" not in request_page  # the old one: nothing to do
    assert f'href="/console/revocation/certificates/{new.id}/withdraw"' in request_page
    for action in ("withdraw", "reduce"):
        page = _html(client.get(f"/console/revocation/certificates/{cert.id}/{action}"))
        assert 'name="reason"' not in page
        assert "thay thế bằng quyết định 3763/QĐ-UBND ngày 18/11/2026 (3 ★)" in page
        assert f'href="/console/revocation/certificates/{new.id}/{action}"' in page
        assert f'href="/console/products/{product.id}"' in page


def test_after_a_recall_the_office_lands_on_the_result_not_the_lift_form(client, ha_tinh, session, keyring):
    lot = ha_tinh.batch.lot
    path = f"/console/revocation/lots/{lot.id}"
    done = post_form(client, path, {**DECISION, "reason": "an toàn thực phẩm"})
    assert done.status_code == 302 and done.headers["Location"] != path
    result = client.get(done.headers["Location"])
    html = _html(result)
    assert result.status_code == 200
    assert "<h1>Lô đã bị thu hồi</h1>" in html and "Gỡ thu hồi lô</h1>" not in html
    assert "3763/QĐ-UBND" in html and "18/11/2026" in html and "an toàn thực phẩm" in html
    main = html.split("<main", 1)[1]
    assert "<form" not in main and "<button" not in main  # no undo form on the result
    assert f'href="{path}"' in html and f'href="/console/lots/{lot.id}"' in html  # lifting: a separate step
    assert verdict(session, keyring, ha_tinh.batch.tokens[1]).verdict is Verdict.REVOKED
    assert "Gỡ thu hồi lô" in _html(client.get(path))  # the lift form itself is unchanged
    lifted = post_form(client, path, {"reason": "đã kiểm nghiệm đạt"})
    assert lifted.status_code == 302
    assert "Lô không bị thu hồi" in _html(client.get(lifted.headers["Location"]))


def test_counting_with_an_empty_first_number_says_so_next_to_the_field(client, ha_tinh):
    path = f"/console/revocation/requests/{ha_tinh.batch.request.id}/void"
    assert 'id="f-seq_from-error"' not in _html(client.get(path))  # not asked yet
    for query, words in (
        ("?seq_from=&seq_to=", "Nhập số thứ tự của tem đầu tiên"),
        ("?seq_from=&seq_to=2", "Nhập số thứ tự của tem đầu tiên"),
        ("?seq_from=&seq_to=&lang=en", "Give the first stamp&#39;s number"),
    ):
        html = _html(client.get(path + query))
        error = html.split('id="f-seq_from-error">', 1)
        assert len(error) == 2 and words in error[1].split("<", 1)[0], query
        assert 'name="reason"' not in html  # still the counting step


def test_the_void_confirmation_labels_its_two_reasons_apart_and_goes_back(client, ha_tinh):
    path = f"/console/revocation/requests/{ha_tinh.batch.request.id}/void"
    vi = _html(client.get(path + "?seq_from=2&seq_to=3"))
    assert '<label for="f-reason_code">Loại lý do</label>' in vi
    assert '<label for="f-reason">Ghi rõ lý do</label>' in vi
    assert f'href="/console/requests/{ha_tinh.batch.request.id}">Quay lại</a>' in vi and "Hủy bỏ" not in vi
    en = _html(client.get(path + "?seq_from=2&seq_to=3&lang=en"))
    assert '<label for="f-reason_code">Reason type</label>' in en
    assert '<label for="f-reason">Reason in words</label>' in en
    assert f'href="/console/requests/{ha_tinh.batch.request.id}">Back</a>' in en
    one = _html(client.get(path + "?seq_from=2&seq_to=2&lang=en"))
    assert '<p class="count">1 stamp</p>' in one  # it said "1 stamps"
    assert '<p class="count">2 stamps</p>' in en
    refused = _html(post_form(client, path, {"seq_from": "2", "seq_to": "3"}, form_page=path + "?seq_from=2"))
    assert 'id="f-reason_code-error"' in refused and 'id="f-reason-error"' in refused


def test_a_central_level_certificate_is_not_offered_to_a_provincial_office(client, ha_tinh, session):
    cert, product = ha_tinh.batch.certificate, ha_tinh.batch.product
    five = make_certificate(
        session,
        product.id,
        stars=5,
        score=95,
        authority_level="central",
        authority_name="Bộ Nông nghiệp và Môi trường",
        signed_on="2025-10-01",
        supersedes_id=cert.id,
    )
    page = _html(client.get(f"/console/requests/{ha_tinh.batch.request.id}"))
    assert f"/console/revocation/certificates/{five.id}/" not in page  # it would answer 403
    assert "do cấp trung ương quyết định" in page
    refused = post_form(
        client, f"/console/revocation/certificates/{five.id}/withdraw", {**DECISION, "reason": "vi phạm"}
    )
    assert refused.status_code == 403  # what the links led to before
    session.expire_all()
    assert session.get(Certificate, five.id).state == "active"
    for action in ("withdraw", "reduce"):  # opened by address: the page says who decides, no form
        direct = _html(client.get(f"/console/revocation/certificates/{five.id}/{action}"))
        assert "Do cấp trung ương quyết định" in direct and 'name="reason"' not in direct
