"""Notifications: the console inbox and its header count, and email through a real SMTP server.

The SMTP server is aiosmtpd on a local port; the tests read the messages that arrived.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from stamp_service.config import load_settings
from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from stamp_service.notifier import EmailChannel, channels_from
from stamp_service.services.notifications import send_due
from stamp_service.storage.models.notifications import NoticeSent
from tests.factories import make_certificate, make_lot, make_producer, make_product
from tests.people_support import make_person, sign_in
from tests.ports import free_port
from tests.stamp_factories import make_request

SMTP_PORTS = range(9250, 9300)  # the local SMTP servers of these tests
RECIPIENTS = {
    "42": ("vpdp@hatinh.gov.vn",),
    "38": ("vpdp@thanhhoa.gov.vn",),
    "central": ("vpdp@ocop.gov.vn",),
}
BASE = "https://tem.ocop.vn"


class Inbox:
    """An aiosmtpd handler that keeps every message that arrives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture()
def smtp():
    inbox = Inbox()
    port = free_port(SMTP_PORTS)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, EmailChannel(host="127.0.0.1", port=port, sender="ocop@tem.ocop.vn")
    finally:
        controller.stop()


def _certified(session, commune: str, days_left: int):
    producer = make_producer(session, commune_code=commune)
    product = make_product(session, producer.id, raw_material_communes=[commune])
    valid_until = (local_today() + timedelta(days=days_left)).isoformat()
    cert = make_certificate(session, product.id, signed_on="2025-09-15", valid_until=valid_until)
    return producer, product, cert


@pytest.fixture()
def due(session):
    """Hà Tĩnh: a waiting stamp request, a certificate ending in 20 days and one in 60; one in 200.
    Thanh Hóa: a certificate ending in 10 days."""
    producer, product, cert = _certified(session, "18418", 20)
    lot = make_lot(session, product.id, quantity=5000)
    request = make_request(
        session,
        producer=producer,
        product=product,
        certificate=cert,
        lot=lot,
        quantity=1500,
        state="requested",
    )
    *_, soon_cert = _certified(session, "18418", 60)
    _certified(session, "18418", 200)
    *_, other_cert = _certified(session, "15112", 10)
    return {"request": request, "cert30": cert, "cert90": soon_cert, "other": other_cert, "product": product}


def test_notifications_are_off_by_default():
    assert channels_from(load_settings({})) == []
    on = load_settings({"OCOP_SMTP_HOST": "127.0.0.1", "OCOP_NOTIFY_TO": "42=a@x.vn,b@x.vn;central=c@y.vn"})
    assert [c.name for c in channels_from(on)] == ["email"]
    assert on.notify_recipients == {"42": ("a@x.vn", "b@x.vn"), "central": ("c@y.vn",)}


def test_new_requests_and_expiring_certificates_are_emailed_once(session, smtp, due):
    inbox, channel = smtp
    report = send_due(session, [channel], RECIPIENTS, base_url=BASE)
    assert (report.sent, report.failed) == (4, 0)
    by_subject = {m["Subject"]: (to, m) for to, m in inbox.messages}
    rid = due["request"].id
    to, request_mail = by_subject[f"[OCOP] Yêu cầu cấp tem mới #{rid} / New stamp request #{rid}"]
    assert to == ["vpdp@hatinh.gov.vn", "vpdp@ocop.gov.vn"]
    body = request_mail.get_content()
    assert "đề nghị cấp 1.500 tem" in body and "requests 1,500 stamps" in body
    assert f"{BASE}/console/requests" in body
    expiry = [(to, m) for to, m in inbox.messages if "Certificate expires" in m["Subject"]]
    assert len(expiry) == 3  # 20 days (the 30-day notice), 60 days (90-day), Thanh Hóa's 10 days
    thanh_hoa = [to for to, m in expiry if "vpdp@thanhhoa.gov.vn" in to]
    assert thanh_hoa == [["vpdp@thanhhoa.gov.vn", "vpdp@ocop.gov.vn"]]
    keys = {k for (k,) in session.query(NoticeSent.key)}
    assert keys == {
        f"request.new:{rid}",
        f"certificate.expiry30:{due['cert30'].id}",
        f"certificate.expiry90:{due['cert90'].id}",
        f"certificate.expiry30:{due['other'].id}",
    }
    # The next run finds nothing new to send.
    again = send_due(session, [channel], RECIPIENTS, base_url=BASE)
    assert again.sent == 0 and len(inbox.messages) == 4


def test_a_certificate_is_told_again_when_it_reaches_30_days(session, smtp, due):
    inbox, channel = smtp
    send_due(session, [channel], RECIPIENTS, base_url=BASE)
    inbox.messages.clear()
    later = local_today() + timedelta(days=35)  # the 60-day certificate now has 25 days left
    send_due(session, [channel], RECIPIENTS, base_url=BASE, today=later)
    subjects = [m["Subject"] for _, m in inbox.messages]
    assert len(subjects) == 1 and "hết hạn sau 25 ngày" in subjects[0]


def test_an_unreachable_server_loses_nothing(session, smtp, due):
    _inbox, channel = smtp
    dead = EmailChannel(host="127.0.0.1", port=free_port(SMTP_PORTS), sender="ocop@tem.ocop.vn", timeout=2)
    report = send_due(session, [dead], RECIPIENTS, base_url=BASE)
    assert (report.sent, report.failed) == (0, 4)
    assert session.query(NoticeSent).count() == 0
    assert send_due(session, [channel], RECIPIENTS, base_url=BASE).sent == 4


def test_a_province_without_addresses_is_counted_not_sent(session, smtp, due):
    inbox, channel = smtp
    report = send_due(session, [channel], {"42": ("vpdp@hatinh.gov.vn",)}, base_url=BASE)
    assert report.sent == 3 and report.without_recipients == 1
    assert all("vpdp@thanhhoa.gov.vn" not in to for to, _ in inbox.messages)


def test_inbox_lists_the_provinces_expiring_certificates_and_the_header_counts(client, session, due):
    make_person(session, Role.ADMIN, name="clerk-inbox", province_code="42")
    sign_in(client, "clerk-inbox")
    html = client.get("/console/inbox/").get_data(as_text=True)
    assert f"/console/products/{due['product'].id}" in html
    assert due["other"].decision_number not in html  # Thanh Hóa's
    assert due["cert90"].decision_number in html
    # Header: 1 waiting request + 2 Hà Tĩnh certificates within 90 days (not the 200-day one).
    assert '<span class="count">3</span>' in html
    english = client.get("/console/producers/?lang=en").get_data(as_text=True)
    assert 'Inbox <span class="count">3</span>' in english
