"""What a producer is told: its requests approved, rejected or ready, its certificates expiring
(90 and 30 days ahead), its stars withdrawn or reduced, its lots recalled (issue #11).

Notices are derived from the records that already say so, never copied: a request's state,
decision time and reason; a certificate's validity, withdrawal and the certificate that superseded
it with fewer stars; the audit entry of each lot recall (the recall as decided, with its time,
even after it is lifted). Only "seen up to" is stored, per account (``producer_notice_reads``):
opening the notices page marks everything listed as seen, so the header's count is the notices
that appeared since that account last opened it.

Email goes through the office's notifier (``stamp_service.notifier`` channels) and its
"sent once per channel" record (``notices_sent``, keys ``producer.<kind>:<id>``), to the
producer's registry email only; a producer without one has the page alone. A notice is mailed
within ``MAIL_WINDOW`` of appearing (so a first run does not mail a year of history; a server
outage shorter than that loses nothing: each run retries what is not recorded as sent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.domain.i18n import N_
from stamp_service.domain.status import MIN_CERTIFIED_STARS
from stamp_service.notifier import Channel, Message
from stamp_service.services.notifications import SendReport, mail_day, recorded_sends, send_once, vi_number
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.producer_notices import ProducerNoticeRead
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest

HORIZON = timedelta(days=365)  # the page lists the notices of the last year
PAGE_LIMIT = 100
MAIL_WINDOW = timedelta(days=14)
KEY_PREFIX = "producer."  # in notices_sent, apart from the office's keys
EXPIRY_STEPS = (90, 30)  # days before a certificate ends


class Kind(StrEnum):
    APPROVED = "request.approved"
    REJECTED = "request.rejected"
    READY = "request.ready"
    EXPIRY_90 = "certificate.expiry90"
    EXPIRY_30 = "certificate.expiry30"
    WITHDRAWN = "certificate.withdrawn"
    REDUCED = "certificate.reduced"
    RECALLED = "lot.recalled"


TITLES = {
    Kind.APPROVED: N_("Stamp request approved"),
    Kind.REJECTED: N_("Stamp request rejected"),
    Kind.READY: N_("Stamps ready to print"),
    Kind.EXPIRY_90: N_("Certificate ends within 90 days"),
    Kind.EXPIRY_30: N_("Certificate ends within 30 days"),
    Kind.WITHDRAWN: N_("Stars withdrawn"),
    Kind.REDUCED: N_("Stars reduced"),
    Kind.RECALLED: N_("Lot recalled"),
}
LINK_LABELS = {
    "request": N_("Open the stamp request"),
    "product": N_("Open my products"),
    "lot": N_("Open the lot"),
}
# The sentences (English ids; Vietnamese in the catalogue), one per kind and variant.
APPROVED = N_("Stamp request #%(request)s for %(product)s (lot %(lot)s) was approved: %(quantity)s stamps.")
REJECTED = N_(
    "Stamp request #%(request)s for %(product)s (lot %(lot)s) was rejected. The office's reason: %(reason)s"
)
READY = N_(
    "The %(quantity)s stamps of request #%(request)s for %(product)s (lot %(lot)s) are ready to print."
)
EXPIRY = {
    90: N_(
        "The OCOP certificate of %(product)s (decision %(decision)s) ends on %(day)s, within 90 days. "
        "Prepare to have the product certified again."
    ),
    30: N_(
        "The OCOP certificate of %(product)s (decision %(decision)s) ends on %(day)s, within 30 days. "
        "Ask the office to certify the product again now."
    ),
}
WITHDRAWN = N_(
    "The stars of %(product)s were withdrawn by decision %(decision)s: its stamps are no longer valid. "
    "Reason: %(reason)s"
)
REDUCED = N_("The stars of %(product)s were reduced from %(before)s to %(after)s by decision %(decision)s.")
REDUCED_BELOW_THREE = N_(
    "The stars of %(product)s were reduced from %(before)s to %(after)s by decision %(decision)s: "
    "below 3 stars its stamps are no longer valid."
)
RECALLED = N_(
    "Lot %(lot)s of %(product)s was recalled by decision %(decision)s: its stamps are no longer valid. "
    "Reason: %(reason)s"
)
RECALLED_NO_DECISION = N_(
    "Lot %(lot)s of %(product)s was recalled: its stamps are no longer valid. Reason: %(reason)s"
)
MAIL_OPEN = N_("Open: %(link)s")
MAIL_ALL = N_("All your notices: %(link)s")
MAIL_WHY = N_("The OCOP stamp service sent this message to the email address of your producer record.")


class Count(int):
    """A quantity: shown grouped the reader's way (2.000 / 2,000); ids and stars are not."""


Value = str | int | date


@dataclass(frozen=True)
class ProducerNotice:
    key: str  # unique per event, e.g. "producer.request.ready:12"
    kind: Kind
    producer_id: int
    at: datetime  # when it appeared (UTC): ordering, "new since seen", the mail window
    message: str  # an English message id (Vietnamese in the catalogue) with %(name)s values
    values: Mapping[str, Value]
    link: str  # the path of the record's page
    link_kind: str  # "request", "product" or "lot"

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def day(self) -> date:
        return local_today(self.at)


@dataclass(frozen=True)
class Inbox:
    notices: list[ProducerNotice]
    seen_before: datetime | None  # when this account had last opened the page

    def is_new(self, notice: ProducerNotice) -> bool:
        return self.seen_before is None or notice.at > self.seen_before


def wording(
    notice: ProducerNotice,
    gettext: Callable[[str], str],
    day: Callable[[date], str],
    number: Callable[[int], str],
) -> str:
    """The notice's sentence in ``gettext``'s language, dates and quantities formatted its way."""
    values = {
        name: day(v) if isinstance(v, date) else number(v) if isinstance(v, Count) else v
        for name, v in notice.values.items()
    }
    return gettext(notice.message) % values


# -- deriving the notices -----------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VN_TZ).astimezone(UTC)


def _about_request(
    request: StampRequest,
    product: str,
    lot_code: str,
    kind: Kind,
    at: datetime,
    message: str,
    **values: Value,
) -> ProducerNotice:
    return ProducerNotice(
        f"{KEY_PREFIX}{kind}:{request.id}",
        kind,
        request.producer_id,
        at,
        message,
        {"request": request.id, "product": product, "lot": lot_code, **values},
        f"/producer/requests/{request.id}",
        "request",
    )


def _request_notices(session: Session, producer_id: int | None, since: datetime) -> list[ProducerNotice]:
    stmt = (
        select(StampRequest, Product.name, Lot.lot_code)
        .join(Product, Product.id == StampRequest.product_id)
        .join(Lot, Lot.id == StampRequest.lot_id)
        .where(
            or_(
                StampRequest.decided_at > since,
                and_(StampRequest.state == "issued", StampRequest.updated_at > since),
            )
        )
    )
    if producer_id is not None:
        stmt = stmt.where(StampRequest.producer_id == producer_id)
    notices = []
    for request, product, lot in session.execute(stmt):
        decided = request.decided_at
        if decided is not None and decided > since:
            # The office's approval (not the producer's own auto-approval policy) and refusal.
            if request.state == "rejected":
                reason = request.decision_reason or "—"
                notices.append(
                    _about_request(request, product, lot, Kind.REJECTED, decided, REJECTED, reason=reason)
                )
            elif request.decided_by is not None and request.quantity_approved is not None:
                quantity = Count(request.quantity_approved)
                notices.append(
                    _about_request(request, product, lot, Kind.APPROVED, decided, APPROVED, quantity=quantity)
                )
        if request.state == "issued" and request.updated_at > since:
            quantity = Count(request.issued_count)
            notices.append(
                _about_request(
                    request, product, lot, Kind.READY, request.updated_at, READY, quantity=quantity
                )
            )
    return notices


def _withdrawal_notices(session: Session, producer_id: int | None, since: datetime) -> list[ProducerNotice]:
    stmt = (
        select(Certificate, Product.name, Product.producer_id)
        .join(Product, Product.id == Certificate.product_id)
        .where(Certificate.state == "withdrawn", Certificate.state_changed_at > since)
    )
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    return [
        ProducerNotice(
            f"{KEY_PREFIX}{Kind.WITHDRAWN}:{cert.id}",
            Kind.WITHDRAWN,
            owner,
            cert.state_changed_at,
            WITHDRAWN,
            {
                "product": product,
                "decision": (cert.withdrawal or {}).get("number") or "—",
                "reason": (cert.withdrawal or {}).get("reason") or "—",
            },
            f"/producer/products/#p-{cert.product_id}",
            "product",
        )
        for cert, product, owner in session.execute(stmt)
        if cert.state_changed_at is not None
    ]


def _reduction_notices(session: Session, producer_id: int | None, since: datetime) -> list[ProducerNotice]:
    new, old = aliased(Certificate), aliased(Certificate)
    stmt = (
        select(new, old.stars, Product.name, Product.producer_id)
        .join(old, old.id == new.supersedes_id)
        .join(Product, Product.id == new.product_id)
        .where(new.stars < old.stars, new.created_at > since)
    )
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    notices = []
    for cert, before, product, owner in session.execute(stmt):
        message = REDUCED_BELOW_THREE if cert.stars < MIN_CERTIFIED_STARS else REDUCED
        notices.append(
            ProducerNotice(
                f"{KEY_PREFIX}{Kind.REDUCED}:{cert.id}",
                Kind.REDUCED,
                owner,
                cert.created_at,
                message,
                {"product": product, "before": before, "after": cert.stars, "decision": cert.decision_number},
                f"/producer/products/#p-{cert.product_id}",
                "product",
            )
        )
    return notices


def _expiry_notices(
    session: Session, producer_id: int | None, since: datetime, now: datetime
) -> list[ProducerNotice]:
    """The current certificate's 90- and 30-day notices, each from the day it is due (or from when
    the first certificate with that end was recorded, if later). Keyed by product and end date, so a
    reduction, which keeps the validity, is neither told again nor new again; a 90-day notice
    that was never the nearest is not made."""
    today = local_today(now)
    same_end = aliased(Certificate)
    first_recorded = (
        select(func.min(same_end.created_at))
        .where(same_end.product_id == Certificate.product_id, same_end.valid_until == Certificate.valid_until)
        .scalar_subquery()
    )
    stmt = (
        select(Certificate, first_recorded, Product.name, Product.producer_id)
        .join(Product, Product.id == Certificate.product_id)
        .where(
            Certificate.state == "active",
            Certificate.valid_until <= today + timedelta(days=max(EXPIRY_STEPS)),
            or_(Certificate.valid_until >= local_today(since), Certificate.created_at > since),
        )
    )
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    kinds = {90: Kind.EXPIRY_90, 30: Kind.EXPIRY_30}
    notices = []
    for cert, recorded, product, owner in session.execute(stmt):
        due = {
            step: max(_start_of(cert.valid_until - timedelta(days=step)), recorded) for step in EXPIRY_STEPS
        }
        for step, at in due.items():
            if not since < at <= now:
                continue
            if step != min(EXPIRY_STEPS) and at >= due[min(EXPIRY_STEPS)]:
                continue  # recorded when the nearer notice was already due: that one alone
            kind = kinds[step]
            notices.append(
                ProducerNotice(
                    f"{KEY_PREFIX}{kind}:{cert.product_id}:{cert.valid_until.isoformat()}",
                    kind,
                    owner,
                    at,
                    EXPIRY[step],
                    {"product": product, "decision": cert.decision_number, "day": cert.valid_until},
                    f"/producer/products/#p-{cert.product_id}",
                    "product",
                )
            )
    return notices


def _recall_notices(session: Session, producer_id: int | None, since: datetime) -> list[ProducerNotice]:
    """Each recall as the audit log recorded it (time and decision), whether lifted since or not."""
    stmt = (
        select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.decision,
            Lot.id,
            Lot.lot_code,
            Product.name,
            Product.producer_id,
        )
        .join(Lot, cast(Lot.id, String) == AuditEntry.entity_id)
        .join(Product, Product.id == Lot.product_id)
        .where(AuditEntry.action == "lot.recall", AuditEntry.entity == "lot", AuditEntry.at > since)
    )
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    notices = []
    for entry_id, at, decision, lot_id, lot_code, product, owner in session.execute(stmt):
        number, reason = (decision or {}).get("number"), (decision or {}).get("reason") or "—"
        message = RECALLED if number else RECALLED_NO_DECISION
        notices.append(
            ProducerNotice(
                f"{KEY_PREFIX}{Kind.RECALLED}:{lot_id}:{entry_id}",
                Kind.RECALLED,
                owner,
                at,
                message,
                {"lot": lot_code, "product": product, "decision": number or "", "reason": reason},
                f"/producer/lots/{lot_id}",
                "lot",
            )
        )
    return notices


def derive(
    session: Session, *, producer_id: int | None, since: datetime, now: datetime
) -> list[ProducerNotice]:
    """Every notice that appeared after ``since`` (and by ``now``), for one producer or (None)
    all, newest first."""
    notices = [
        *_request_notices(session, producer_id, since),
        *_withdrawal_notices(session, producer_id, since),
        *_reduction_notices(session, producer_id, since),
        *_expiry_notices(session, producer_id, since, now),
        *_recall_notices(session, producer_id, since),
    ]
    return sorted((n for n in notices if n.at <= now), key=lambda n: (n.at, n.key), reverse=True)


# -- the page and its header count --------------------------------------------------------------


def _own_producer(actor: Principal) -> int:
    require_role(actor, Role.PRODUCER)
    assert actor.producer_id is not None  # a producer account always has its producer
    return actor.producer_id


def _seen_at(session: Session, actor: Principal) -> datetime | None:
    if actor.account_id is None:
        return None
    return session.scalar(
        select(ProducerNoticeRead.seen_at).where(ProducerNoticeRead.account_id == actor.account_id)
    )


def new_count(session: Session, actor: Principal, *, now: datetime | None = None) -> int:
    """How many of the producer's notices appeared since this account last opened the page."""
    producer_id = _own_producer(actor)
    now = now or utcnow()
    since = max(now - HORIZON, _seen_at(session, actor) or now - HORIZON)
    return len(derive(session, producer_id=producer_id, since=since, now=now)[:PAGE_LIMIT])


def open_inbox(session: Session, actor: Principal, *, now: datetime | None = None) -> Inbox:
    """The producer's notices of the last year, newest first; marks them seen for this account."""
    producer_id = _own_producer(actor)
    now = now or utcnow()
    seen_before = _seen_at(session, actor)
    notices = derive(session, producer_id=producer_id, since=now - HORIZON, now=now)[:PAGE_LIMIT]
    if actor.account_id is not None:
        _mark_seen(session, actor.account_id, now)
    return Inbox(notices, seen_before)


def _mark_seen(session: Session, account_id: int, now: datetime) -> None:
    row = session.get(ProducerNoticeRead, account_id)
    if row is None:
        try:
            session.add(ProducerNoticeRead(account_id=account_id, seen_at=now))
            session.commit()
            return
        except IntegrityError:  # the same account's other tab was first
            session.rollback()
            row = session.get(ProducerNoticeRead, account_id)
            assert row is not None
    row.seen_at = max(row.seen_at, now)
    session.commit()


# -- email --------------------------------------------------------------------------------------


def compose(notice: ProducerNotice, *, to: str, base_url: str, vietnamese: Callable[[str], str]) -> Message:
    """The mail of one notice: Vietnamese first, then English, each with the link to the record."""
    link = f"{base_url}{notice.link}"
    everything = f"{base_url}/producer/notices/"
    vi = wording(notice, vietnamese, mail_day, vi_number)
    en = wording(notice, lambda m: m, mail_day, lambda v: f"{v:,}")
    text = (
        f"{vi}\n{vietnamese(MAIL_OPEN) % {'link': link}}\n\n"
        f"{en}\n{MAIL_OPEN % {'link': link}}\n\n"
        f"-- \n{vietnamese(MAIL_ALL) % {'link': everything}}\n{vietnamese(MAIL_WHY)}\n"
        f"{MAIL_ALL % {'link': everything}}\n{MAIL_WHY}\n"
    )
    subject = f"[OCOP] {vietnamese(notice.title)} / {notice.title}"
    return Message(subject=subject, text=text, to=(to,))


def send_due(
    session: Session,
    channels: list[Channel],
    *,
    base_url: str,
    vietnamese: Callable[[str], str],
    now: datetime | None = None,
) -> SendReport:
    """Mail each producer the notices of the last ``MAIL_WINDOW`` not yet sent (oldest first)."""
    if not channels:
        return SendReport(0, 0, 0)
    now = now or utcnow()
    notices = list(reversed(derive(session, producer_id=None, since=now - MAIL_WINDOW, now=now)))
    done = recorded_sends(session, now, key_prefix=KEY_PREFIX)
    owners = {n.producer_id for n in notices}
    addresses = {
        pid: (email, province)
        for pid, email, province in session.execute(
            select(Producer.id, Producer.email, Producer.province_code).where(Producer.id.in_(owners))
        )
    }
    sent = failed = unaddressed = 0
    for notice in notices:
        email, province = addresses[notice.producer_id]
        for channel in channels:
            if (notice.key, channel.name) in done:
                continue
            if not email:
                unaddressed += 1
                continue
            message = compose(notice, to=email, base_url=base_url, vietnamese=vietnamese)
            kind = f"{KEY_PREFIX}{notice.kind}"
            outcome = send_once(session, channel, notice.key, kind, province, message, now=now)
            if outcome is True:
                sent += 1
            elif outcome is False:
                failed += 1
    return SendReport(sent=sent, failed=failed, without_recipients=unaddressed)
