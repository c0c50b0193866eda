"""What the office must be told, and telling it once: new stamp requests, certificates expiring.

``due_notices`` finds what is due (a stamp request waiting; an active certificate whose validity
ends within 90 days, and again within 30); ``send_due`` sends each through every channel of
``stamp_service.notifier`` to the province's addresses (and the central office's) and records it in
``notices_sent``, one commit per notice, so a run stopped half-way or a failing server never sends
a notice twice and never loses one (it is retried on the next run: ``stamp-service notify``).
``expiring_certificates`` is the same 90-day list for the console's inbox, within the caller's scope.

A new stamp request is also told at once: ``send_new_request``, called off the request path by
``services.immediate_notices`` right after the request's transaction commits. Both paths send a
notice the same way, **claim, send, confirm**: a ``notices_sent`` row with ``recipients = 0`` is
inserted and committed first (the primary key (key, channel) lets one sender win), then the
message goes out, then the row gets its recipient count (sent). A failed send deletes the claim,
so the next sweep retries it; a claim left by a sender that stopped half-way is taken over by a
sweep after ``CLAIM_TIMEOUT``. So the sweep never repeats what the immediate path sent, even when
both run at the same moment.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import local_today
from stamp_service.notifier import Channel, Message
from stamp_service.services.scope import scoped
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.notifications import NoticeSent
from stamp_service.storage.models.registry import Certificate, Producer, Product
from stamp_service.storage.models.stamps import StampRequest

log = logging.getLogger(__name__)
EXPIRY_STEPS = (30, 90)  # days before the end of validity; the nearest step not yet sent is sent
CLAIMED = 0  # ``NoticeSent.recipients`` of a notice being sent (a sent notice has at least one)
CLAIM_TIMEOUT = timedelta(minutes=10)  # far above a send's SMTP timeout: the sender has stopped


@dataclass(frozen=True)
class Notice:
    key: str  # unique per event: "request.new:12", "certificate.expiry30:7"
    kind: str
    province_code: str
    subject: str
    text: str


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    without_recipients: int


@dataclass(frozen=True)
class ExpiringCertificate:
    certificate_id: int
    product_id: int
    product_name: str
    producer_name: str
    stars: int
    decision_number: str
    valid_until: date
    province_code: str


def vi_number(value: int) -> str:
    """A number in a mail, grouped the Vietnamese way (2.000)."""
    return f"{value:,}".replace(",", ".")


def mail_day(value: date) -> str:
    """A day in a mail (both languages): 05/12/2026."""
    return value.strftime("%d/%m/%Y")


def _request_notices(session: Session, base_url: str, request_id: int | None = None) -> list[Notice]:
    stmt = (
        select(
            StampRequest.id,
            StampRequest.quantity_requested,
            Product.name,
            Producer.name,
            Producer.province_code,
        )
        .join(Product, Product.id == StampRequest.product_id)
        .join(Producer, Producer.id == StampRequest.producer_id)
        .where(StampRequest.state == "requested")
        .order_by(StampRequest.id)
    )
    if request_id is not None:
        stmt = stmt.where(StampRequest.id == request_id)
    rows = session.execute(stmt)
    return [
        Notice(
            key=f"request.new:{rid}",
            kind="request.new",
            province_code=province,
            subject=f"[OCOP] Yêu cầu cấp tem mới #{rid} / New stamp request #{rid}",
            text=(
                f"{producer} đề nghị cấp {vi_number(quantity)} tem cho sản phẩm {product}.\n"
                f"Xem và phê duyệt: {base_url}/console/requests\n\n"
                f"{producer} requests {quantity:,} stamps for {product}.\n"
                f"Review and approve: {base_url}/console/requests\n"
            ),
        )
        for rid, quantity, product, producer, province in rows
    ]


def _expiry_notices(session: Session, today: date, base_url: str) -> list[Notice]:
    notices = []
    for cert in _expiring(session, select_scope=None, today=today, within=max(EXPIRY_STEPS)):
        left = (cert.valid_until - today).days
        step = min(s for s in EXPIRY_STEPS if left <= s)
        link = f"{base_url}/console/products/{cert.product_id}"
        notices.append(
            Notice(
                key=f"certificate.expiry{step}:{cert.certificate_id}",
                kind=f"certificate.expiry{step}",
                province_code=cert.province_code,
                subject=(
                    f"[OCOP] Chứng nhận hết hạn sau {left} ngày: {cert.product_name} / "
                    f"Certificate expires in {left} days"
                ),
                text=(
                    f"Chứng nhận {cert.stars} sao ({cert.decision_number}) của sản phẩm {cert.product_name} "
                    f"({cert.producer_name}) hết hiệu lực ngày {mail_day(cert.valid_until)}.\n"
                    f"Xem: {link}\n\n"
                    f"The {cert.stars}-star certificate ({cert.decision_number}) of {cert.product_name} "
                    f"({cert.producer_name}) ends on {mail_day(cert.valid_until)}.\nSee: {link}\n"
                ),
            )
        )
    return notices


def _expiring(
    session: Session, *, select_scope: Principal | None, today: date, within: int
) -> list[ExpiringCertificate]:
    stmt = (
        select(
            Certificate.id,
            Product.id,
            Product.name,
            Producer.name,
            Certificate.stars,
            Certificate.decision_number,
            Certificate.valid_until,
            Producer.province_code,
        )
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(
            Certificate.state == "active",
            Certificate.valid_until >= today,
            Certificate.valid_until <= today + timedelta(days=within),
        )
        .order_by(Certificate.valid_until, Certificate.id)
    )
    if select_scope is not None:
        stmt = scoped(stmt, select_scope, Product.producer_id)
    return [ExpiringCertificate(*row) for row in session.execute(stmt)]


def due_notices(session: Session, *, base_url: str, today: date | None = None) -> list[Notice]:
    """Every notice the office should have had by now (sent or not: ``send_due`` skips the sent)."""
    today = today or local_today()
    return _request_notices(session, base_url) + _expiry_notices(session, today, base_url)


def recipients_for(recipients: dict[str, tuple[str, ...]], province_code: str) -> tuple[str, ...]:
    """The province office's addresses, then the central office's (each once)."""
    found = [*recipients.get(province_code, ()), *recipients.get("central", ())]
    return tuple(dict.fromkeys(found))


def _claim(session: Session, key: str, kind: str, province_code: str, channel: str, now: datetime) -> bool:
    """Take the right to send notice ``key`` through ``channel`` (committed).

    False if another sender has it. ``now`` is the sweep's clock (what counts as stale); the claim
    itself carries the real time it was taken: a run that started long ago must not make its fresh
    claims look stale to a run that starts meanwhile, which would send the notice twice."""
    claimed_at = utcnow()
    session.add(
        NoticeSent(
            key=key,
            channel=channel,
            kind=kind,
            province_code=province_code,
            recipients=CLAIMED,
            sent_at=claimed_at,
        )
    )
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
    taken = session.execute(  # a claim whose sender stopped: take it over (one sweep wins)
        update(NoticeSent)
        .where(
            NoticeSent.key == key,
            NoticeSent.channel == channel,
            NoticeSent.recipients == CLAIMED,
            NoticeSent.sent_at < now - CLAIM_TIMEOUT,
        )
        .values(sent_at=claimed_at)
    )
    session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _settle(session: Session, key: str, channel: str, recipients: int | None) -> None:
    """Record the send (``recipients``), or with None give the claim up for a later retry."""
    where = (NoticeSent.key == key, NoticeSent.channel == channel, NoticeSent.recipients == CLAIMED)
    if recipients is None:
        session.execute(delete(NoticeSent).where(*where))
    else:
        session.execute(update(NoticeSent).where(*where).values(recipients=recipients, sent_at=utcnow()))
    session.commit()


def recorded_sends(session: Session, now: datetime, *, key_prefix: str | None = None) -> set[tuple[str, str]]:
    """(key, channel) of every notice sent, or claimed by a sender still within its claim time."""
    stmt = select(NoticeSent.key, NoticeSent.channel).where(
        (NoticeSent.recipients != CLAIMED) | (NoticeSent.sent_at >= now - CLAIM_TIMEOUT)
    )
    if key_prefix is not None:
        stmt = stmt.where(NoticeSent.key.startswith(key_prefix))
    recorded = {(k, c) for k, c in session.execute(stmt)}
    session.rollback()
    return recorded


def send_once(
    session: Session,
    channel: Channel,
    key: str,
    kind: str,
    province_code: str,
    message: Message,
    *,
    now: datetime | None = None,
) -> bool | None:
    """Claim, send, confirm: ``message`` goes out by ``channel`` once, whoever else tries.

    True when sent; False when the channel failed (logged; the claim is given up, so the next run
    retries it); None when another sender holds the claim. Shared by the office's notices (the
    sweep and the immediate path) and the producers' (``services.producer_notices``)."""
    if not _claim(session, key, kind, province_code, channel.name, now or utcnow()):
        return None
    try:
        channel.send(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("notice %s not sent by %s: %s", key, channel.name, exc)
        _settle(session, key, channel.name, None)
        return False
    _settle(session, key, channel.name, len(message.to))
    return True


def _send(
    session: Session,
    notices: list[Notice],
    channels: list[Channel],
    recipients: dict[str, tuple[str, ...]],
    now: datetime,
) -> SendReport:
    sent = failed = unaddressed = 0
    recorded = recorded_sends(session, now)
    for notice in notices:
        to = recipients_for(recipients, notice.province_code)
        for channel in channels:
            if (notice.key, channel.name) in recorded:
                continue
            if not to:
                unaddressed += 1
                continue
            message = Message(subject=notice.subject, text=notice.text, to=to)
            province = notice.province_code
            outcome = send_once(session, channel, notice.key, notice.kind, province, message, now=now)
            if outcome is True:
                sent += 1
            elif outcome is False:
                failed += 1
    return SendReport(sent=sent, failed=failed, without_recipients=unaddressed)


def send_due(
    session: Session,
    channels: list[Channel],
    recipients: dict[str, tuple[str, ...]],
    *,
    base_url: str,
    today: date | None = None,
    now: datetime | None = None,
) -> SendReport:
    """Send what is due and not yet sent, through each channel; record each success at once."""
    if not channels:
        return SendReport(0, 0, 0)
    notices = due_notices(session, base_url=base_url, today=today)
    return _send(session, notices, channels, recipients, now or utcnow())


def send_new_request(
    session: Session,
    request_id: int,
    channels: list[Channel],
    recipients: dict[str, tuple[str, ...]],
    *,
    base_url: str,
) -> SendReport:
    """Tell the office about one new stamp request now (if it is still waiting), once per channel."""
    if not channels:
        return SendReport(0, 0, 0)
    notices = _request_notices(session, base_url, request_id=request_id)
    return _send(session, notices, channels, recipients, utcnow())


def expiring_certificates(
    session: Session, actor: Principal, *, within: int = max(EXPIRY_STEPS), today: date | None = None
) -> list[ExpiringCertificate]:
    """Active certificates ending within ``within`` days that ``actor`` may see, soonest first."""
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    return _expiring(session, select_scope=actor, today=today or local_today(), within=within)
