"""The producer's notices (issue #11): each kind appears for its own producer only, after the real
action through the real services; the header's count of new notices; "seen" per account; email
to the producer's registry address through the office's notifier and its sent-once record, on a
real local SMTP server (aiosmtpd), once even when sent twice, retried after an outage; the
``notify`` command."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select

from stamp_service.cli import main
from stamp_service.domain.access import Principal, Role
from stamp_service.domain.certification import local_today
from stamp_service.notifier import EmailChannel
from stamp_service.schemas.revocation import RecallIn, ReductionIn, WithdrawalIn
from stamp_service.schemas.stamp_requests import RejectIn, StampRequestIn
from stamp_service.services import producer_notices, revocation, stamp_requests
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.notifications import NoticeSent
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest
from stamp_service.web.i18n import translations
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.issuance_helpers import approve
from tests.people_support import make_person
from tests.ports import free_port
from tests.producer_support import signed_in_client
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring

BASE = "https://tem.ocop.vn"
VI = translations("vi").gettext
PORTS = range(9800, 9900)  # this suite's own port range
COUNT = re.compile(r'<span class="count">(\d+)</span>')
_offices = itertools.count(1)


class Mailbox:
    """An aiosmtpd handler that keeps every message that arrives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture()
def smtp() -> Iterator[tuple[Mailbox, EmailChannel, int]]:
    mailbox = Mailbox()
    port = free_port(PORTS)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, EmailChannel(host="127.0.0.1", port=port, sender="ocop@tem.ocop.vn"), port
    finally:
        controller.stop()


def _validated(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate_json(json.dumps(data))


@dataclass
class Producing:
    producer: Producer
    product: Product
    lot: Lot
    account: str  # a producer account's name (password: people_support.PASSWORD)
    principal: Principal


def _producing(session, name: str, *, email: str | None) -> Producing:
    producer = make_producer(session, email=email) if email else make_producer(session)
    product = make_product(session, producer.id)
    make_certificate(session, product.id)
    lot = make_lot(session, product.id, quantity=500)
    account = make_person(session, Role.PRODUCER, name=name, producer_id=producer.id)
    principal = Principal(account_id=account, name=name, role=Role.PRODUCER, producer_id=producer.id)
    return Producing(producer, product, lot, name, principal)


def _ask(session, who: Producing, quantity: int, lot: Lot | None = None) -> StampRequest:
    data = _validated(StampRequestIn, {"lot_id": (lot or who.lot).id, "quantity": quantity})
    return stamp_requests.create_request(
        session, who.principal, data, idempotency_key=f"k-{who.account}-{quantity}", spare_percent=10
    ).request


def _office(session) -> Principal:
    name = f"office-notices-{next(_offices)}"
    return Principal(account_id=make_person(session, Role.ADMIN, name=name), name=name, role=Role.ADMIN)


@dataclass
class World:
    a: Producing
    b: Producing
    approved: StampRequest
    rejected: StampRequest
    b_rejected: StampRequest
    withdrawn: Product
    reduced: Product
    expiring90: Product
    expiring30: Product


def _certified(session, who: Producing, **cert: Any) -> Product:
    product = make_product(session, who.producer.id)
    make_certificate(session, product.id, **cert)
    return product


def _current(session, product: Product) -> Certificate:
    return session.scalars(
        select(Certificate).where(Certificate.product_id == product.id, Certificate.state == "active")
    ).one()


@pytest.fixture()
def world(session, client, admin, settings) -> World:
    """Producer A: a request approved and issued, one rejected, a product's stars withdrawn, one
    reduced from 4 to 3, certificates ending in 60 and 20 days, its lot recalled. Producer B
    (no email address): one request rejected."""
    ensure_keyring(session, settings.keys_dir)
    a = _producing(session, "htx-notice-a", email="htx-a@phuctrach.vn")
    b = _producing(session, "htx-notice-b", email=None)
    approved = _ask(session, a, 10)
    assert approve(client, admin, approved.id).get_json()["state"] == "issued"
    rejected = _ask(session, a, 5)
    reason = {"reason": "Thiếu phiếu kiểm nghiệm"}
    resp = client.post(f"/api/v1/stamp-requests/{rejected.id}/reject", json=reason, headers=admin.headers)
    assert resp.status_code == 200
    b_rejected = _ask(session, b, 7)
    stamp_requests.reject(
        session, _office(session), b_rejected.id, _validated(RejectIn, {"reason": "Sai lô"})
    )
    office = _office(session)
    withdrawn = _certified(session, a)
    revocation.withdraw_certificate(
        session,
        office,
        _current(session, withdrawn).id,
        _validated(WithdrawalIn, {"decision": decision("3763/QĐ-UBND"), "reason": "Vi phạm chất lượng"}),
    )
    reduced = _certified(session, a)
    revocation.reduce_stars(
        session,
        office,
        _current(session, reduced).id,
        _validated(ReductionIn, {"stars": 3, "decision": decision("3801/QĐ-UBND"), "reason": "Đánh giá lại"}),
    )
    soon = local_today()
    expiring90 = _certified(session, a, valid_until=(soon + timedelta(days=60)).isoformat())
    expiring30 = _certified(session, a, valid_until=(soon + timedelta(days=20)).isoformat())
    revocation.recall_lot(
        session,
        office,
        a.lot.id,
        _validated(RecallIn, {"reason": "Dư lượng thuốc BVTV", "decision": decision("3900/QĐ-UBND")}),
    )
    session.expire_all()
    return World(a, b, approved, rejected, b_rejected, withdrawn, reduced, expiring90, expiring30)


def _kinds(notices: list[producer_notices.ProducerNotice]) -> list[str]:
    return sorted(n.kind.value for n in notices)


ALL_KINDS = sorted(k.value for k in producer_notices.Kind)


def test_each_kind_of_notice_is_derived_for_its_own_producer_only(session, world):
    a = producer_notices.open_inbox(session, world.a.principal).notices
    assert _kinds(a) == ALL_KINDS  # approved, rejected, ready, 90 and 30 days, withdrawn, reduced, recalled
    assert [n.at for n in a] == sorted((n.at for n in a), reverse=True)  # newest first
    assert {n.producer_id for n in a} == {world.a.producer.id}
    links = {n.kind: n.link for n in a}
    assert links[producer_notices.Kind.APPROVED] == f"/producer/requests/{world.approved.id}"
    assert links[producer_notices.Kind.READY] == f"/producer/requests/{world.approved.id}"
    assert links[producer_notices.Kind.REJECTED] == f"/producer/requests/{world.rejected.id}"
    assert links[producer_notices.Kind.WITHDRAWN] == f"/producer/products/#p-{world.withdrawn.id}"
    assert links[producer_notices.Kind.REDUCED] == f"/producer/products/#p-{world.reduced.id}"
    assert links[producer_notices.Kind.EXPIRY_90] == f"/producer/products/#p-{world.expiring90.id}"
    assert links[producer_notices.Kind.EXPIRY_30] == f"/producer/products/#p-{world.expiring30.id}"
    assert links[producer_notices.Kind.RECALLED] == f"/producer/lots/{world.a.lot.id}"
    b = producer_notices.open_inbox(session, world.b.principal).notices
    assert [(n.kind, n.link) for n in b] == [
        (producer_notices.Kind.REJECTED, f"/producer/requests/{world.b_rejected.id}")
    ]


def test_a_certificate_recorded_within_30_days_of_its_end_gets_the_30_day_notice_only(session, world):
    expiry = [
        n for n in producer_notices.open_inbox(session, world.a.principal).notices if "expiry" in n.kind
    ]
    assert {(n.kind, n.link.rsplit("-", 1)[1]) for n in expiry} == {
        (producer_notices.Kind.EXPIRY_90, str(world.expiring90.id)),
        (producer_notices.Kind.EXPIRY_30, str(world.expiring30.id)),
    }


def test_the_inbox_page_lists_every_notice_with_its_date_sentence_and_link(app, session, world):
    me = signed_in_client(app, world.a.account)
    home = me.get("/producer/").get_data(as_text=True)
    assert COUNT.findall(home) == ["8"]  # the header's count of new notices
    page = me.get("/producer/notices/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    main = html.split("<main", 1)[1]
    for title in (
        "Yêu cầu cấp tem đã được duyệt",
        "Yêu cầu cấp tem bị từ chối",
        "Tem đã sẵn sàng để in",
        "Giấy chứng nhận hết hạn trong vòng 90 ngày",
        "Giấy chứng nhận hết hạn trong vòng 30 ngày",
        "Đã thu hồi hạng sao",
        "Sản phẩm bị giảm sao",
        "Lô hàng bị thu hồi",
    ):
        assert f"<h2>{title}</h2>" in main, title
    assert main.count('<span class="badge fresh">Mới</span>') == 8
    assert local_today().strftime("%d/%m/%Y") in main
    assert "Lý do của cơ quan quản lý: Thiếu phiếu kiểm nghiệm" in main
    assert "đã được duyệt: 10 tem" in main
    assert "bị giảm từ 4 sao xuống 3 sao theo quyết định 3801/QĐ-UBND" in main
    assert "theo quyết định 3900/QĐ-UBND: tem của lô không còn giá trị. Lý do: Dư lượng thuốc BVTV" in main
    day = (local_today() + timedelta(days=20)).strftime("%d/%m/%Y")
    assert f"hết hiệu lực ngày {day}, còn chưa đầy 30 ngày" in main
    assert f'href="/producer/requests/{world.approved.id}"' in main
    assert f'href="/producer/lots/{world.a.lot.id}"' in main
    assert COUNT.findall(html) == []  # opened: nothing new in the header any more
    # Each link opens its record for its producer.
    for link in re.findall(r'<a class="row" href="([^"#]+)', main):
        assert me.get(link).status_code == 200, link
    again = me.get("/producer/notices/").get_data(as_text=True)
    assert "badge fresh" not in again and COUNT.findall(me.get("/producer/").get_data(as_text=True)) == []
    english = me.get("/producer/notices/?lang=en").get_data(as_text=True)
    assert "was approved: 10 stamps." in english and "Stamp request approved" in english


def test_another_producer_sees_none_of_them_and_its_links_answer_404(app, client, session, world):
    b = signed_in_client(app, world.b.account)
    assert COUNT.findall(b.get("/producer/").get_data(as_text=True)) == ["1"]
    main = b.get("/producer/notices/").get_data(as_text=True).split("<main", 1)[1]
    assert main.count("<li") == 1 and f"/producer/requests/{world.b_rejected.id}" in main
    assert world.a.product.name not in main and "3900/QĐ-UBND" not in main
    for path in (f"/producer/requests/{world.approved.id}", f"/producer/lots/{world.a.lot.id}"):
        assert b.get(path).status_code == 404, path
    assert f'id="p-{world.withdrawn.id}"' not in b.get("/producer/products/").get_data(as_text=True)


def test_seen_is_per_account_and_the_office_pages_are_unchanged(app, session, world):
    make_person(session, Role.PRODUCER, name="htx-notice-a2", producer_id=world.a.producer.id)
    first, second = signed_in_client(app, world.a.account), signed_in_client(app, "htx-notice-a2")
    first.get("/producer/notices/")
    assert COUNT.findall(first.get("/producer/lots/").get_data(as_text=True)) == []
    assert COUNT.findall(second.get("/producer/lots/").get_data(as_text=True)) == ["8"]
    # A new notice after the first account's visit counts again for it alone.
    office = _office(session)
    ask = _ask(session, world.a, 3, lot=make_lot(session, world.a.product.id))  # the first is recalled
    stamp_requests.reject(session, office, ask.id, _validated(RejectIn, {"reason": "Trùng yêu cầu"}))
    # A reduction keeps the certificate's end: its expiry notice is neither repeated nor new again.
    revocation.reduce_stars(
        session,
        office,
        _current(session, world.expiring90).id,
        _validated(ReductionIn, {"stars": 3, "decision": decision("3999/QĐ-UBND"), "reason": "Đánh giá lại"}),
    )
    assert COUNT.findall(first.get("/producer/").get_data(as_text=True)) == ["2"]  # rejected, reduced
    assert COUNT.findall(second.get("/producer/").get_data(as_text=True)) == ["10"]
    assert COUNT.findall(second.get("/account/").get_data(as_text=True)) == ["10"]  # my account's header
    make_person(session, Role.ADMIN, name="office-inbox-unchanged", province_code="42")
    console = signed_in_client(app, "office-inbox-unchanged")
    inbox = console.get("/console/inbox/").get_data(as_text=True)
    assert "/producer/notices" not in inbox and "Trùng yêu cầu" not in inbox
    assert console.get("/producer/notices/").status_code == 403


def _send(session, channel, **kw: Any):  # type: ignore[no-untyped-def]
    return producer_notices.send_due(session, [channel], base_url=BASE, vietnamese=VI, **kw)


def test_each_notice_is_emailed_once_to_the_producers_address(session, smtp, world):
    mailbox, channel, _port = smtp
    report = _send(session, channel)
    assert (report.sent, report.failed, report.without_recipients) == (8, 0, 1)  # B has no address
    assert {tuple(to) for to, _m in mailbox.messages} == {("htx-a@phuctrach.vn",)}
    subjects = sorted(m["Subject"] for _to, m in mailbox.messages)
    assert "[OCOP] Yêu cầu cấp tem đã được duyệt / Stamp request approved" in subjects
    assert "[OCOP] Lô hàng bị thu hồi / Lot recalled" in subjects
    rejected = next(m for _to, m in mailbox.messages if "từ chối" in m["Subject"])
    body = rejected.get_content()
    vi = body.index("Lý do của cơ quan quản lý: Thiếu phiếu kiểm nghiệm")
    en = body.index("The office's reason: Thiếu phiếu kiểm nghiệm")
    assert vi < en  # Vietnamese first, English after
    assert f"Xem: {BASE}/producer/requests/{world.rejected.id}" in body
    assert f"Open: {BASE}/producer/requests/{world.rejected.id}" in body
    assert "0239" not in body and "Nguyễn Văn An" not in body  # no personal data beyond need
    ready = next(m for _to, m in mailbox.messages if "Stamps ready" in m["Subject"]).get_content()
    assert "10 tem của yêu cầu" in ready and "The 10 stamps of request" in ready
    keys = {k for (k,) in session.execute(select(NoticeSent.key))}
    assert f"producer.request.approved:{world.approved.id}" in keys and len(keys) == 8
    # notify runs again (cron): nothing is sent twice.
    again = _send(session, channel)
    assert (again.sent, again.failed) == (0, 0) and len(mailbox.messages) == 8


def test_certificate_expiry_is_emailed_90_then_30_days_ahead_once_each(session, smtp):
    mailbox, channel, _port = smtp
    who = _producing(session, "htx-expiry", email="htx-expiry@example.vn")
    _certified(session, who, valid_until=(local_today() + timedelta(days=60)).isoformat())
    assert _send(session, channel).sent == 1
    assert _send(session, channel).sent == 0
    assert "trong vòng 90 ngày" in mailbox.messages[0][1]["Subject"]
    later = utcnow() + timedelta(days=35)  # 25 days left now
    assert _send(session, channel, now=later).sent == 1
    assert _send(session, channel, now=later).sent == 0
    assert [m["Subject"].split(" / ")[1] for _to, m in mailbox.messages] == [
        "Certificate ends within 90 days",
        "Certificate ends within 30 days",
    ]


def test_an_smtp_outage_is_retried_on_the_next_run(session, smtp, world):
    mailbox, channel, _port = smtp
    dead = EmailChannel(host="127.0.0.1", port=free_port(PORTS), sender="ocop@tem.ocop.vn", timeout=2)
    report = _send(session, dead)
    assert (report.sent, report.failed) == (0, 8)
    assert session.scalars(select(NoticeSent)).first() is None
    assert _send(session, channel).sent == 8 and len(mailbox.messages) == 8


@pytest.fixture()
def cli_db(tmp_path, monkeypatch, smtp):  # type: ignore[no-untyped-def]
    """The ``stamp-service`` command on its own SQLite database, with SMTP on the local server."""
    url = f"sqlite:///{tmp_path / 'notify.sqlite3'}"
    (tmp_path / "keys").mkdir()
    env = {
        "DATABASE_URL": url,
        "OCOP_VAR_DIR": str(tmp_path),
        "OCOP_KEYS_DIR": str(tmp_path / "keys"),
        "OCOP_LOG_FORMAT": "text",
        "OCOP_SMTP_HOST": "127.0.0.1",
        "OCOP_SMTP_PORT": str(smtp[2]),
        "OCOP_PUBLIC_BASE_URL": BASE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("OCOP_NOTIFY_TO", raising=False)
    runner = CliRunner()
    for args in (["migrate"], ["reference", "load"]):
        assert runner.invoke(main, args).exit_code == 0
    engine = make_engine(url)
    yield runner, make_session_factory(engine), smtp[0]
    engine.dispose()


def test_the_notify_command_sends_each_producer_notice_once_when_run_twice(cli_db):
    runner, factory, mailbox = cli_db
    with factory() as session:
        who = _producing(session, "htx-cli", email="htx-cli@example.vn")
        request = _ask(session, who, 4)
        stamp_requests.reject(
            session, _office(session), request.id, _validated(RejectIn, {"reason": "Sai lô"})
        )
        _certified(session, who, valid_until=(local_today() + timedelta(days=25)).isoformat())
    # The mail server is down: nothing is recorded, the command fails, the next run sends.
    down = runner.invoke(main, ["notify"], env={"OCOP_SMTP_PORT": str(free_port(PORTS))})
    assert down.exit_code == 1 and "producers: 0 sent, 2 failed (retried next run)" in down.output
    first = runner.invoke(main, ["notify"])
    assert first.exit_code == 0, first.output
    assert "producers: 2 sent, 0 failed" in first.output
    second = runner.invoke(main, ["notify"])
    assert second.exit_code == 0 and "producers: 0 sent, 0 failed" in second.output
    assert sorted(m["Subject"].split(" / ")[1] for _to, m in mailbox.messages) == [
        "Certificate ends within 30 days",
        "Stamp request rejected",
    ]
    assert all(to == ["htx-cli@example.vn"] for to, _m in mailbox.messages)
