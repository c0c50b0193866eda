"""Revocation use cases: withdraw, reduce, re-certify, recall and lift, void, key compromise and rotation.

Each is one transaction, audited with its decision and reason, and idempotent:
repeating an action that is already in effect changes nothing and answers the
current state (``changed=False``). None of them touches a stamp row: a stamp's
verdict is derived (DESIGN §4), and ``status_changed`` after the commit tells
every worker's cache and the status bundle (docs/revocation.md).

Issuance: an action that forbids issuing (withdrawal, reduction below 3 stars,
recall) locks the affected requests' rows, the lock each issuance chunk holds
while it mints, and marks them ``stopped`` in its own transaction. So it waits
for a chunk in flight to commit, and no stamp is minted after it commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, null, select
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.access import (
    Principal,
    ProducerDuty,
    Role,
    require_central,
    require_certifying_level,
    require_duty,
    require_role,
    require_write,
)
from stamp_service.domain.certification import (
    check_authority_level,
    check_score,
    local_today,
    required_authority_level,
)
from stamp_service.domain.status import MIN_CERTIFIED_STARS, Decision
from stamp_service.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from stamp_service.schemas.certificates import CertificateIn
from stamp_service.schemas.common import Page
from stamp_service.schemas.revocation import (
    DecisionIn,
    ExpiringOut,
    ExpiringQuery,
    RecallIn,
    RecertificationIn,
    ReductionIn,
    VoidIn,
    WithdrawalIn,
)
from stamp_service.services import audit, certificates, keys
from stamp_service.services.certificates import CERTIFICATE_AUDIT_FIELDS, current_certificate
from stamp_service.services.lookup import by_id
from stamp_service.services.minting import ISSUABLE_STATES
from stamp_service.services.pagination import paginate
from stamp_service.services.scope import owner_of, owner_of_product, scoped
from stamp_service.services.status_events import status_changed
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid

PRODUCER_VOID_REASONS = ("spoiled", "other")  # misprinted/damaged, unprinted left-overs
VOID_AUDIT_FIELDS = ("request_id", "seq_from", "seq_to", "reason_code", "reason", "decision")


@dataclass(frozen=True)
class CertificateAction:
    changed: bool
    certificate: Certificate
    previous: Certificate | None = None
    stopped_requests: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LotAction:
    changed: bool
    lot: Lot
    stopped_requests: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class VoidAction:
    changed: bool
    voids: list[StampVoid]


@dataclass(frozen=True)
class KeyAction:
    changed: bool
    key: SigningKey
    active: SigningKey | None


def _record(decision: DecisionIn | None, reason: str, today: date) -> dict[str, object]:
    if decision is None:
        return Decision(decided_on=today, reason=reason).to_record()
    return Decision(decision.number, decision.decided_on, decision.authority, reason).to_record()


def check_decided_on(day: date, *, not_before: date | None = None, what: str = "the certificate") -> None:
    """A decision's date: not in the future, not before the record it acts on (ValidationFailed)."""
    if day > local_today():
        raise ValidationFailed([{"field": "decision.decided_on", "message": "must not be in the future"}])
    if not_before is not None and day < not_before:
        raise ValidationFailed(
            [{"field": "decision.decided_on", "message": f"before the signing date of {what}"}]
        )


def _lock_certificate(session: Session, actor: Principal, certificate_id: int) -> Certificate:
    """The certificate, locked; NotFound outside ``actor``'s scope, Forbidden for a provincial
    account on a central-level decision."""
    found = by_id(session, Certificate, certificate_id)
    if found is None:
        raise NotFound("no such certificate")
    require_write(actor, owner_of_product(session, found.product_id), "certificate")
    require_certifying_level(actor, found.authority_level, stars=found.stars)
    cert = session.scalar(select(Certificate).where(Certificate.id == certificate_id).with_for_update())
    assert cert is not None
    session.refresh(cert)
    return cert


def _stop_issuance(session: Session, actor: Principal, stmt: Select[StampRequest], reason: str) -> list[int]:
    """Lock the running requests (waits for a chunk in flight) and stop them."""
    requests = session.scalars(
        stmt.where(StampRequest.state.in_(ISSUABLE_STATES)).order_by(StampRequest.id).with_for_update()
    ).all()
    for request in requests:
        session.refresh(request)
        if request.state not in ISSUABLE_STATES:
            continue
        request.state, request.stop_reason = "stopped", reason
        audit.record(
            session,
            actor,
            action="stamp_request.stop",
            entity="stamp_request",
            entity_id=request.id,
            after={"state": "stopped", "issued_count": request.issued_count},
            reason=reason,
        )
    return [r.id for r in requests]


def _finish(session: Session) -> None:
    session.commit()
    status_changed(session)


# -- certificates ------------------------------------------------------------------------------------


def withdraw_certificate(
    session: Session, actor: Principal, certificate_id: int, data: WithdrawalIn, *, commit: bool = True
) -> CertificateAction:
    """Withdraw the stars (rút sao): every stamp of the product is revoked. Conflict if superseded.

    ``commit=False``: the caller (accepting a finding's proposal) commits it with its own record.
    """
    require_role(actor, Role.ADMIN)
    cert = _lock_certificate(session, actor, certificate_id)
    if cert.state == "withdrawn":
        session.rollback()
        return CertificateAction(False, cert)
    if cert.state == "superseded":
        current = current_certificate(session, cert.product_id)
        raise Conflict(
            "this certificate was superseded; withdraw the product's current certificate",
            current_certificate_id=current.id if current else None,
        )
    check_decided_on(data.decision.decided_on, not_before=cert.signed_on)
    record = _record(data.decision, data.reason, local_today())
    stopped = _stop_issuance(
        session,
        actor,
        select(StampRequest).where(StampRequest.product_id == cert.product_id),
        f"the product's stars were withdrawn by decision {data.decision.number}",
    )
    before = audit.snapshot(cert, CERTIFICATE_AUDIT_FIELDS)
    cert.state, cert.withdrawal, cert.state_changed_at = "withdrawn", record, utcnow()
    cert.withdrawn_on = data.decision.decided_on  # the reports filter on it
    session.flush()
    audit.record(
        session,
        actor,
        action="certificate.withdraw",
        entity="certificate",
        entity_id=cert.id,
        before=before,
        after=audit.snapshot(cert, CERTIFICATE_AUDIT_FIELDS),
        reason=data.reason,
        decision=record,
    )
    if commit:
        _finish(session)
    return CertificateAction(True, cert, stopped_requests=stopped)


def reduce_stars(
    session: Session, actor: Principal, certificate_id: int, data: ReductionIn
) -> CertificateAction:
    """Reduce the stars (giảm sao): a new certificate with fewer stars supersedes the current one.

    It keeps the old validity (a reduction is not a re-evaluation). Below 3 stars every stamp of
    the product is revoked and issuance stops; at 3 or more stamps stay genuine with the new rating.
    """
    require_role(actor, Role.ADMIN)
    cert = _lock_certificate(session, actor, certificate_id)
    number = data.decision.number
    if cert.state == "superseded":
        successor = session.scalar(select(Certificate).where(Certificate.supersedes_id == cert.id))
        if successor is not None and successor.decision_number == number and successor.stars == data.stars:
            session.rollback()
            return CertificateAction(False, successor, previous=cert)
        raise Conflict("this certificate was superseded; reduce the product's current certificate")
    if cert.state == "withdrawn":
        raise Conflict("the stars of this certificate were withdrawn; there is nothing to reduce")
    if data.stars >= cert.stars:
        raise ValidationFailed(
            [{"field": "stars", "message": f"a reduction gives fewer than the current {cert.stars} stars"}]
        )
    day = data.decision.decided_on
    check_decided_on(day, not_before=cert.signed_on)
    if day >= cert.valid_until:
        raise RuleViolation(
            "the certificate has expired; there is nothing to reduce", rule="certificate-expired"
        )
    level = (
        data.authority_level.value
        if data.authority_level
        else required_authority_level(day, data.stars).value
    )
    check_authority_level(day, data.stars, level)
    if data.score is not None:
        check_score(cert.criteria_version, data.stars, data.score)
    stopped: list[int] = []
    if data.stars < MIN_CERTIFIED_STARS:
        stopped = _stop_issuance(
            session,
            actor,
            select(StampRequest).where(StampRequest.product_id == cert.product_id),
            f"the product was reduced to {data.stars} stars by decision {number}",
        )
    before = audit.snapshot(cert, CERTIFICATE_AUDIT_FIELDS)
    cert.state, cert.state_changed_at = "superseded", utcnow()
    session.flush()
    record = _record(data.decision, data.reason, local_today())
    audit.record(
        session,
        actor,
        action="certificate.supersede",
        entity="certificate",
        entity_id=cert.id,
        before=before,
        after=audit.snapshot(cert, CERTIFICATE_AUDIT_FIELDS),
        reason=data.reason,
        decision=record,
    )
    new = Certificate(
        product_id=cert.product_id,
        stars=data.stars,
        score=data.score,
        criteria_version=cert.criteria_version,
        authority_name=data.decision.authority,
        authority_level=level,
        decision_number=number,
        signed_on=day,
        valid_until=cert.valid_until,
        supersedes_id=cert.id,
        state="active",
    )
    session.add(new)
    flush_or_conflict(session, "the product's certificate changed at the same time; retry")
    audit.record(
        session,
        actor,
        action="certificate.reduce",
        entity="certificate",
        entity_id=new.id,
        before={"stars": cert.stars},
        after=audit.snapshot(new, CERTIFICATE_AUDIT_FIELDS),
        reason=data.reason,
        decision=record,
    )
    _finish(session)
    return CertificateAction(True, new, previous=cert, stopped_requests=stopped)


def recertify(
    session: Session, actor: Principal, product_id: int, data: RecertificationIn
) -> CertificateAction:
    """Record a re-evaluation: a new 3-5 star certificate becomes current (docs/revocation.md).

    Supersedes the active certificate; after a withdrawal the withdrawn one stays on record.
    A repeat with the same decision number is a no-op.
    """
    require_role(actor, Role.ADMIN)
    if by_id(session, Product, product_id) is None:
        raise NotFound("no such product")
    require_write(actor, owner_of_product(session, product_id), "product")
    current = current_certificate(session, product_id)
    same = session.scalar(
        select(Certificate).where(
            Certificate.product_id == product_id, Certificate.decision_number == data.decision_number
        )
    )
    if same is not None:
        if current is not None and same.id == current.id:
            session.rollback()
            return CertificateAction(False, same)
        raise Conflict(f"decision {data.decision_number} is already recorded for this product")
    if current is not None and data.signed_on < current.signed_on:
        raise ValidationFailed(
            [{"field": "signed_on", "message": "before the signing date of the current certificate"}]
        )
    supersedes = current.id if current is not None and current.state == "active" else None
    cert_in = CertificateIn.model_validate(
        {
            **data.model_dump(),
            "criteria_version": data.criteria_version,
            "authority_level": data.authority_level,
            "product_id": product_id,
            "supersedes_id": supersedes,
        }
    )
    cert = certificates.create_certificate(session, actor, cert_in)  # audits, commits, status_changed
    return CertificateAction(True, cert, previous=current)


def expiring_certificates(session: Session, actor: Principal, query: ExpiringQuery) -> Page[ExpiringOut]:
    """Active certificates whose validity ends within ``query.days`` days (the 30-day notice)."""
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    today = local_today()
    stmt = (
        select(Certificate, Product, Producer)
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(
            Certificate.state == "active",
            Certificate.valid_until >= today,
            Certificate.valid_until <= today + timedelta(days=query.days),
        )
    )
    stmt = scoped(stmt, actor, Producer.id)
    if query.province:
        stmt = stmt.where(Producer.province_code == query.province)

    def out(row: Any) -> ExpiringOut:
        c, p, pr = row
        return ExpiringOut(
            certificate_id=c.id,
            product_id=p.id,
            product_name=p.name,
            producer_id=pr.id,
            producer_name=pr.name,
            province_code=pr.province_code,
            stars=c.stars,
            decision_number=c.decision_number,
            valid_until=c.valid_until,
            days_left=(c.valid_until - today).days,
        )

    stmt = stmt.order_by(Certificate.valid_until, Certificate.id)
    return paginate(session, stmt, query.page, query.per_page, out, rows=True)


# -- lots --------------------------------------------------------------------------------------------


def _lock_lot(session: Session, actor: Principal, lot_id: int) -> Lot:
    found = by_id(session, Lot, lot_id)
    if found is None:
        raise NotFound("no such lot")
    require_write(actor, owner_of_product(session, found.product_id), "lot")
    lot = session.scalar(select(Lot).where(Lot.id == lot_id).with_for_update())
    assert lot is not None
    session.refresh(lot)
    return lot


def _set_recall(
    session: Session, actor: Principal, lot_id: int, data: RecallIn, *, recalled: bool, commit: bool = True
) -> LotAction:
    """Recall the lot (``recalled``) or lift its recall; a repeat changes nothing."""
    require_role(actor, Role.ADMIN)
    lot = _lock_lot(session, actor, lot_id)
    if bool(lot.recall) == recalled:
        session.rollback()
        return LotAction(False, lot)
    if data.decision is not None:
        if recalled:
            check_decided_on(
                data.decision.decided_on, not_before=lot.production_date, what="the lot's production"
            )
        else:
            check_decided_on(data.decision.decided_on)
    record = _record(data.decision, data.reason, local_today())
    before = dict(lot.recall) if lot.recall else None
    stopped: list[int] = []
    if recalled:
        stopped = _stop_issuance(
            session, actor, select(StampRequest).where(StampRequest.lot_id == lot.id), "the lot is recalled"
        )
        lot.recall = record
        lot.recalled_on = data.decision.decided_on if data.decision else local_today()
    else:
        lot.recall = null()  # SQL NULL, not JSON null: "recall IS NULL" must hold
        lot.recalled_on = None
    session.flush()
    session.refresh(lot)
    audit.record(
        session,
        actor,
        action="lot.recall" if recalled else "lot.recall_lift",
        entity="lot",
        entity_id=lot.id,
        before={"recall": before},
        after={"recall": record if recalled else None},
        reason=data.reason,
        decision=record,
    )
    if commit:
        _finish(session)
    return LotAction(True, lot, stopped)


def recall_lot(
    session: Session, actor: Principal, lot_id: int, data: RecallIn, *, commit: bool = True
) -> LotAction:
    """Recall a lot (product safety): its stamps are revoked and its issuance stops."""
    return _set_recall(session, actor, lot_id, data, recalled=True, commit=commit)


def lift_recall(session: Session, actor: Principal, lot_id: int, data: RecallIn) -> LotAction:
    """Lift a recall: the lot's stamps follow their certificate again (stopped requests stay stopped)."""
    return _set_recall(session, actor, lot_id, data, recalled=False)


# -- stamps ------------------------------------------------------------------------------------------


def _covered(voids: list[StampVoid], first: int, last: int) -> bool:
    """Whether the union of ``voids`` covers every slot ``first..last``."""
    upto = first - 1
    for v in sorted(voids, key=lambda v: v.seq_from):
        if v.seq_from > upto + 1:
            break
        upto = max(upto, v.seq_to)
    return upto >= last


def void_stamps(session: Session, actor: Principal, data: VoidIn, *, commit: bool = True) -> VoidAction:
    """Void one stamp or a slot range of one request (one row, no stamp row touched).

    The office may give any reason; a producer only ``spoiled`` or ``other`` (unprinted) for
    its own stamps, and only its administrator (not staff: ProducerDuty). Only issued slots can be
    voided. Raises NotFound, Forbidden, ValidationFailed.
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    require_duty(actor, ProducerDuty.VOID_STAMPS)
    if data.serial is not None:
        stamp = session.get(Stamp, serials.to_db(serials.parse_serial(data.serial)))
        if stamp is None:
            raise NotFound("no stamp with this serial")
        request_id, first, last = stamp.request_id, stamp.seq, stamp.seq
    else:
        assert data.request_id is not None and data.seq_from is not None
        request_id, first, last = data.request_id, data.seq_from, data.seq_to or data.seq_from
    found = by_id(session, StampRequest, request_id)
    if found is None:
        raise NotFound("no such stamp request")
    require_write(actor, owner_of(session, found.producer_id), "stamp request")
    request = session.scalar(select(StampRequest).where(StampRequest.id == request_id).with_for_update())
    assert request is not None
    session.refresh(request)
    if actor.role is Role.PRODUCER and data.reason_code.value not in PRODUCER_VOID_REASONS:
        raise Forbidden(
            "producers void only spoiled or unprinted stamps (reason_code spoiled or other); "
            "report lost or copied stamps to the office"
        )
    if last > request.issued_count:
        raise ValidationFailed(
            [{"field": "seq_to", "message": f"only the {request.issued_count} issued slots can be voided"}]
        )
    existing = list(
        session.scalars(
            select(StampVoid)
            .where(StampVoid.request_id == request.id, StampVoid.seq_from <= last, StampVoid.seq_to >= first)
            .order_by(StampVoid.id)
        )
    )
    if _covered(existing, first, last):
        session.rollback()
        return VoidAction(False, existing)
    if data.decision is not None:
        check_decided_on(data.decision.decided_on)
    row = StampVoid(
        request_id=request.id,
        seq_from=first,
        seq_to=last,
        reason_code=data.reason_code.value,
        reason=data.reason,
        decision=_record(data.decision, data.reason, local_today()) if data.decision else None,
        voided_by=actor.account_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="stamps.void",
        entity="stamp_void",
        entity_id=row.id,
        after={
            **audit.snapshot(row, VOID_AUDIT_FIELDS),
            "product_id": request.product_id,
            "lot_id": request.lot_id,
            "count": last - first + 1,
        },
        reason=data.reason,
        decision=row.decision,
    )
    if commit:
        _finish(session)
    return VoidAction(True, [row])


# -- signing keys ------------------------------------------------------------------------------------


def compromise_key(
    session: Session,
    actor: Principal,
    *,
    keyring: KeyRing,
    kid: str,
    reason: str,
    replace: bool = True,
    decision: DecisionIn | None = None,
) -> KeyAction:
    """Mark a key compromised (its stamps verify online only, flagged); a repeat is a no-op.

    ``decision`` (the console asks for it) is checked like every revocation decision and kept,
    with the reason, in the audit entry."""
    require_role(actor, Role.ADMIN)
    require_central(actor)
    if decision is not None:
        check_decided_on(decision.decided_on)
    row = keys.get_key(session, kid, lock=False, malformed_is_unknown=True)
    if row.state == "compromised":
        session.rollback()
        return KeyAction(False, row, keys.active_key(session, lock=False))
    record = decision.model_dump(mode="json") | {"reason": reason} if decision is not None else None
    row, replacement = keys.compromise(
        session, actor, keyring=keyring, kid=kid, reason=reason, replace=replace, decision=record
    )  # commits and calls status_changed
    return KeyAction(True, row, replacement or keys.active_key(session, lock=False))


def rotate_key(
    session: Session,
    actor: Principal,
    *,
    keyring: KeyRing,
    retire_kid: str,
    note: str = "",
    force: bool = False,
    publish_period: timedelta = keys.DEFAULT_PUBLISH_PERIOD,
    reason: str = "",
) -> KeyAction:
    """Replace the active key ``retire_kid`` by the pending one; once it is no longer active, a no-op.

    Raises Conflict when no key is pending or it was published less than ``publish_period`` ago,
    unless ``force`` (keys.rotate)."""
    require_role(actor, Role.ADMIN)
    require_central(actor)
    row = keys.get_key(session, retire_kid, lock=False, malformed_is_unknown=True)
    if row.state != "active":
        active = keys.active_key(session, lock=False)
        session.rollback()
        if active is None:
            raise Conflict(
                f"key {row.kid} is {row.state} and no key is active; create one on the signing host"
            )
        return KeyAction(False, row, active)
    new = keys.rotate(
        session, actor, keyring=keyring, note=note, force=force, publish_period=publish_period, reason=reason
    )  # commits, status_changed
    session.refresh(row)
    return KeyAction(True, row, new)
