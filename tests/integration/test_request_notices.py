"""A new stamp request is emailed at once, off the request path, through a real SMTP server
(aiosmtpd): to its province's office, once per channel even after the ``notify`` sweep runs; an
SMTP outage leaves the request created and the sweep sends it later."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from stamp_service import create_app
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.notifier import EmailChannel
from stamp_service.services import accounts, immediate_notices
from stamp_service.services.notifications import CLAIM_TIMEOUT, send_due
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.notifications import NoticeSent
from stamp_service.storage.models.stamps import StampRequest
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.integration.test_console_notifications import RECIPIENTS, SMTP_PORTS, smtp  # noqa: F401
from tests.people_support import csrf_token, make_person, sign_in
from tests.ports import free_port
from tests.stamp_factories import make_request

BASE = "https://tem.ocop.local"
HA_TINH_COMMUNE, THANH_HOA_COMMUNE = "18418", "15112"


def _subject(request_id: int) -> str:
    return f"[OCOP] Yêu cầu cấp tem mới #{request_id} / New stamp request #{request_id}"


@pytest.fixture()
def mail_app(settings, session_factory, smtp):  # noqa: F811
    """The app with email on, to the aiosmtpd server of ``smtp``."""
    inbox, channel = smtp
    configured = dataclasses.replace(
        settings,
        smtp_host=channel.host,
        smtp_port=channel.port,
        smtp_sender=channel.sender,
        notify_recipients=RECIPIENTS,
    )
    application = create_app(configured)
    rt = application.extensions["ocop"]
    session_factory.configure(info={"store": rt.store})
    rt.session_factory = session_factory
    if rt.store.redis is not None:
        rt.store.redis.flushdb()
    yield application, inbox, channel
    rt.close()


def _lot(session, commune: str):  # type: ignore[no-untyped-def]
    producer = make_producer(session, commune_code=commune)
    product = make_product(session, producer.id, raw_material_communes=[commune])
    cert = make_certificate(session, product.id, signed_on="2025-09-15")
    return producer, product, cert, make_lot(session, product.id, quantity=5000)


def _producer_page_request(app, session, commune: str, name: str) -> int:  # type: ignore[no-untyped-def]
    producer, *_, lot = _lot(session, commune)
    make_person(session, Role.PRODUCER, name=name, producer_id=producer.id)
    client = app.test_client()
    sign_in(client, name)
    token = csrf_token(client, "/producer/requests/new")
    page = client.get(f"/producer/requests/new?lot_id={lot.id}").get_data(as_text=True)
    key = page.split('name="key" value="')[1].split('"')[0]
    data = {"csrf_token": token, "key": key, "lot_id": str(lot.id), "quantity": "1500"}
    resp = client.post("/producer/requests/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return int(resp.headers["Location"].split("/requests/")[1].split("?")[0])


def _api_request(app, session, commune: str, name: str) -> int:  # type: ignore[no-untyped-def]
    producer, *_, lot = _lot(session, commune)
    account = make_person(session, Role.PRODUCER, name=name, producer_id=producer.id)
    token = accounts.issue_token(session, SYSTEM, account_id=account).token
    resp = app.test_client().post(
        "/api/v1/stamp-requests",
        json={"lot_id": lot.id, "quantity": 800},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"notice-{name}"},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
    return int(resp.get_json()["id"])


def test_a_new_request_is_emailed_at_once_to_its_province_and_never_again(mail_app, session):
    app, inbox, channel = mail_app
    notices = immediate_notices.for_app_runtime(app.extensions["ocop"])
    rid = _producer_page_request(app, session, HA_TINH_COMMUNE, "htx-mail-ht")
    # The request was answered before any mail left: the notice waits off the request path.
    assert notices.queued == 1 and inbox.messages == []
    assert notices.drain() == 1
    assert [(to, m["Subject"]) for to, m in inbox.messages] == [
        (["vpdp@hatinh.gov.vn", "vpdp@ocop.gov.vn"], _subject(rid))
    ]
    body = inbox.messages[0][1].get_content()
    assert "đề nghị cấp 1.500 tem" in body and "/console/requests" in body

    # Through the API, for a Thanh Hóa producer: its own office is told.
    other = _api_request(app, session, THANH_HOA_COMMUNE, "htx-mail-th")
    notices.drain()
    assert inbox.messages[-1][0] == ["vpdp@thanhhoa.gov.vn", "vpdp@ocop.gov.vn"]
    assert inbox.messages[-1][1]["Subject"] == _subject(other)

    # The cron sweep, now and much later: both requests are recorded as sent, nothing repeats.
    for now in (None, utcnow() + CLAIM_TIMEOUT * 2):
        report = send_due(session, [channel], RECIPIENTS, base_url=BASE, now=now)
        assert report.failed == 0
    subjects = [m["Subject"] for _, m in inbox.messages]
    assert subjects.count(_subject(rid)) == 1 and subjects.count(_subject(other)) == 1
    assert {k for (k,) in session.query(NoticeSent.key).filter(NoticeSent.kind == "request.new")} == {
        f"request.new:{rid}",
        f"request.new:{other}",
    }


def test_an_smtp_outage_leaves_the_request_created_and_the_sweep_sends_it(mail_app, session):
    app, inbox, channel = mail_app
    rt = app.extensions["ocop"]
    dead = EmailChannel(host="127.0.0.1", port=free_port(SMTP_PORTS), sender="ocop@tem.ocop.vn", timeout=2)
    notices = immediate_notices.ImmediateNotices(rt, channels=[dead])
    rt.services["immediate_notices"] = notices
    rid = _producer_page_request(app, session, HA_TINH_COMMUNE, "htx-mail-down")
    session.expire_all()
    assert session.get(StampRequest, rid).state == "requested"
    report = notices.send(rid)
    notices.drain()
    assert report is not None and report.failed == 1 and inbox.messages == []
    assert session.query(NoticeSent).count() == 0  # the claim was given back
    report = send_due(session, [channel], RECIPIENTS, base_url=BASE)
    assert report.sent == 1 and [m["Subject"] for _, m in inbox.messages] == [_subject(rid)]
    assert send_due(session, [channel], RECIPIENTS, base_url=BASE).sent == 0


def test_the_background_thread_sends_and_a_stopped_senders_claim_is_taken_over(mail_app, session):
    app, inbox, channel = mail_app
    notices = immediate_notices.ImmediateNotices(app.extensions["ocop"], channels=[channel], background=True)
    producer, product, cert, lot = _lot(session, HA_TINH_COMMUNE)
    waiting = make_request(
        session,
        producer=producer,
        product=product,
        certificate=cert,
        lot=lot,
        quantity=300,
        state="requested",
    )
    notices.request_created(waiting.id)
    assert notices.wait(timeout=30)  # the daemon thread sent it (the test thread only waited)
    assert [m["Subject"] for _, m in inbox.messages] == [_subject(waiting.id)]

    # A sender that claimed a notice and stopped: the sweep leaves the claim alone while it is
    # fresh (it may still be sending), then takes it over.
    stuck = make_request(
        session,
        producer=producer,
        product=product,
        certificate=cert,
        lot=lot,
        quantity=200,
        state="requested",
    )
    session.add(
        NoticeSent(
            key=f"request.new:{stuck.id}",
            channel="email",
            kind="request.new",
            province_code="42",
            recipients=0,
        )
    )
    session.commit()
    assert send_due(session, [channel], RECIPIENTS, base_url=BASE).sent == 0
    later = utcnow() + CLAIM_TIMEOUT + timedelta(minutes=1)
    assert send_due(session, [channel], RECIPIENTS, base_url=BASE, now=later).sent == 1
    assert [m["Subject"] for _, m in inbox.messages][-1] == _subject(stuck.id)
    session.expire_all()
    assert session.get(NoticeSent, (f"request.new:{stuck.id}", "email")).recipients == 2


def test_a_claim_taken_by_a_long_run_is_not_stale_to_a_run_that_starts_meanwhile(mail_app, session):
    """A sweep whose clock says "an hour ago" (it started long before it reached this notice) stamps
    its claim with the real time: a sweep starting now must not find it stale and send it twice."""
    from stamp_service.services.notifications import _claim

    _app, _inbox, _channel = mail_app
    started_long_ago = utcnow() - timedelta(hours=1)
    assert _claim(session, "request.new:slow", "request.new", "42", "email", started_long_ago)
    claim = session.get(NoticeSent, ("request.new:slow", "email"))
    assert claim.sent_at > utcnow() - timedelta(minutes=1)  # when it was taken, not the run's start
    session.expunge(claim)  # the second sweep has a session of its own
    assert not _claim(session, "request.new:slow", "request.new", "42", "email", utcnow())
