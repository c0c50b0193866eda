"""Stamp requests: a producer asks for N stamps for a lot, the office approves (maybe fewer) or rejects.

Rules (DOMAIN §4 rule 1, checked at creation and again at approval): the product
has a valid certificate of 3+ stars today (``minting.issuing_blocker``), the lot
is the producer's, and the lot's stamps stay within ``lot.quantity`` plus
``stamp_spare_percent``. The lot's *committed* stamps are the approved quantity
(or, while pending, the requested quantity) of every request that is not
rejected; a stopped request keeps only what it issued. The lot row is locked
(``FOR UPDATE`` on PostgreSQL) while a request is created or approved, so two
concurrent approvals cannot both fit into the same remaining room.

A retried creation with the same ``Idempotency-Key`` returns the first request
(UNIQUE(producer_id, idempotency_key) settles a race); the same key with another
body is refused. Issuance itself is ``services.issuance_jobs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.domain.access import (
    SYSTEM,
    Principal,
    Role,
    require_read,
    require_role,
    require_write,
)
from stamp_service.domain.certification import local_today
from stamp_service.domain.digital_link import StampForm, lot_code_fits
from stamp_service.errors import Conflict, IdempotencyKeyReused, NotFound, RuleViolation, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.stamp_requests import (
    ApproveIn,
    PolicyIn,
    RejectIn,
    StampRequestIn,
    StampRequestOut,
    StampRequestQuery,
)
from stamp_service.services import audit, minting
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.scope import owner_of, scoped
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.issuance import AutoApprovalPolicy
from stamp_service.storage.models.registry import Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest

if TYPE_CHECKING:
    from stamp_service.services.immediate_notices import ImmediateNotices
    from stamp_service.services.issuance_jobs import Issuance

AUDITED = (
    "producer_id",
    "product_id",
    "lot_id",
    "certificate_id",
    "stars_at_request",
    "quantity_requested",
    "quantity_approved",
    "with_pin",
    "form",
    "state",
    "idempotency_key",
    "decision_reason",
)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # visible ASCII, e.g. a UUID


@dataclass(frozen=True)
class Created:
    request: StampRequest
    created: bool  # False: an idempotent replay of an earlier creation


def lot_limit(lot: Lot, spare_percent: int) -> int:
    """The most stamps a lot may carry: its quantity plus the misprint spare (rounded down)."""
    return lot.quantity + lot.quantity * spare_percent // 100


def committed_stamps(session: Session, lot_id: int, *, exclude_request: int | None = None) -> int:
    """Stamps the lot's non-rejected requests hold or may still get."""
    amount = case(
        (StampRequest.state == "stopped", StampRequest.issued_count),
        (StampRequest.quantity_approved.is_not(None), StampRequest.quantity_approved),
        else_=StampRequest.quantity_requested,
    )
    stmt = select(func.coalesce(func.sum(amount), 0)).where(
        StampRequest.lot_id == lot_id, StampRequest.state != "rejected"
    )
    if exclude_request is not None:
        stmt = stmt.where(StampRequest.id != exclude_request)
    return int(session.scalar(stmt) or 0)


def _lock_lot(session: Session, lot_id: int) -> Lot:
    """The lot row, locked until commit on PostgreSQL (SQLite serialises writers itself)."""
    lot = session.scalar(select(Lot).where(Lot.id == lot_id).with_for_update())
    if lot is None:
        raise NotFound("no such lot")
    return lot


def _check_room(session: Session, lot: Lot, quantity: int, spare: int, exclude: int | None = None) -> dict:
    limit = lot_limit(lot, spare)
    committed = committed_stamps(session, lot.id, exclude_request=exclude)
    if committed + quantity > limit:
        raise RuleViolation(
            f"{quantity} more stamps would give lot {lot.lot_code} {committed + quantity} stamps; "
            f"at most {limit} ({lot.quantity} plus {spare}% spare), {max(0, limit - committed)} left",
            rule="lot-quantity-exceeded",
            limit=limit,
            committed=committed,
            available=max(0, limit - committed),
        )
    return {"lot_limit": limit, "lot_committed_before": committed}


def _check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise ValidationFailed(
            [{"field": "header.Idempotency-Key", "message": "required: a unique key per intended request"}]
        )
    key = key.strip()
    if not IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed(
            [{"field": "header.Idempotency-Key", "message": "1-128 visible ASCII characters"}]
        )
    return key


def _replay(session: Session, owner: int, key: str, data: StampRequestIn) -> StampRequest | None:
    existing = session.scalar(
        select(StampRequest).where(StampRequest.producer_id == owner, StampRequest.idempotency_key == key)
    )
    if existing is None:
        return None
    same = (existing.lot_id, existing.quantity_requested, existing.with_pin, existing.form) == (
        data.lot_id,
        data.quantity,
        data.with_pin,
        data.form.value,
    )
    if not same:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for stamp request {existing.id} with another body",
            stamp_request_id=existing.id,  # ``request_id`` is the trace id of this HTTP request
        )
    return existing


def _check_form(form: StampForm, product: Product, lot: Lot) -> None:
    """The Digital Link form names the product by GTIN and the lot by an AI 10 lot code."""
    if form is not StampForm.DIGITAL_LINK:
        return
    errors = []
    if not product.gtin:
        errors.append({"field": "form", "message": "the Digital Link form needs a product with a GTIN"})
    if not lot_code_fits(lot.lot_code):
        errors.append(
            {"field": "form", "message": "the lot code is not a GS1 lot (AI 10: character set 82, up to 20)"}
        )
    if errors:
        raise ValidationFailed(errors)


def _rule_check(session: Session, product_id: int, lot_id: int, today: date) -> None:
    blocker = minting.issuing_blocker(session, product_id, lot_id, today)
    if blocker is not None:
        raise blocker


def create_request(
    session: Session,
    actor: Principal,
    data: StampRequestIn,
    *,
    idempotency_key: str | None,
    spare_percent: int,
    issuance: Issuance | None = None,
    notices: ImmediateNotices | None = None,
    today: date | None = None,
) -> Created:
    """Ask for stamps for a lot (a producer its own; an admin on a producer's behalf).

    Raises Forbidden (inspector), ValidationFailed (key), NotFound (lot), IdempotencyKeyReused,
    RuleViolation (certificate, recall, lot quantity). Within the producer's auto-approval
    policy the request is approved at once and handed to ``issuance``; otherwise it waits for
    the office, which ``notices`` tells at once (queued after the commit, sent off this call).
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    key = _check_key(idempotency_key)
    lot = by_id(session, Lot, data.lot_id)
    product = session.get(Product, lot.product_id) if lot is not None else None
    if lot is None or product is None:
        raise NotFound("no such lot")
    require_write(actor, owner_of(session, product.producer_id), "lot")
    owner = product.producer_id
    replay = _replay(session, owner, key, data)
    if replay is not None:
        return Created(replay, created=False)
    _check_form(data.form, product, lot)
    today = today or local_today()
    _rule_check(session, product.id, lot.id, today)
    lot = _lock_lot(session, lot.id)
    replay = _replay(session, owner, key, data)  # a concurrent twin may have committed while we waited
    if replay is not None:
        session.rollback()
        return Created(replay, created=False)
    room = _check_room(session, lot, data.quantity, spare_percent)
    cert = minting.current_certificate(session, product.id)
    assert cert is not None  # the rule check passed
    request = StampRequest(
        producer_id=owner,
        product_id=product.id,
        lot_id=lot.id,
        certificate_id=cert.id,
        stars_at_request=cert.stars,
        quantity_requested=data.quantity,
        with_pin=data.with_pin,
        form=data.form.value,
        state="requested",
        idempotency_key=key,
        requested_by=actor.account_id,
        issued_count=0,
    )
    session.add(request)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        replay = _replay(session, owner, key, data)
        if replay is None:
            raise Conflict("the request could not be stored; retry with the same Idempotency-Key") from None
        return Created(replay, created=False)
    audit.record(
        session,
        actor,
        action="stamp_request.create",
        entity="stamp_request",
        entity_id=request.id,
        after=audit.snapshot(request, AUDITED),
        decision=room,
    )
    policy = session.get(AutoApprovalPolicy, owner)
    auto = policy is not None and data.quantity <= policy.max_quantity
    if auto:
        assert policy is not None
        _decide(
            request, "approved", data.quantity, None, f"auto-approved: up to {policy.max_quantity} stamps"
        )
        audit.record(
            session,
            SYSTEM,
            action="stamp_request.auto_approve",
            entity="stamp_request",
            entity_id=request.id,
            after=audit.snapshot(request, AUDITED),
            reason=request.decision_reason,
            decision={"policy_max_quantity": policy.max_quantity, **room},
        )
    session.commit()
    if not auto and notices is not None:
        notices.request_created(request.id)
    if auto and issuance is not None:
        issuance.start(session, request.id, actor=SYSTEM)
        session.refresh(request)
    return Created(request, created=True)


def _decide(
    request: StampRequest, state: str, quantity: int | None, by: int | None, reason: str | None
) -> None:
    request.state = state
    request.quantity_approved = quantity
    request.decided_by = by
    request.decided_at = utcnow()
    request.decision_reason = reason


def _pending(session: Session, actor: Principal, request_id: int) -> StampRequest:
    request = (
        session.scalar(select(StampRequest).where(StampRequest.id == request_id).with_for_update())
        if 0 < request_id <= 2**31 - 1
        else None
    )
    if request is None:
        raise NotFound("no such stamp request")
    require_write(actor, owner_of(session, request.producer_id), "stamp request")
    if request.state != "requested":
        raise Conflict(f"stamp request {request.id} is already {request.state}", state=request.state)
    return request


def approve(
    session: Session,
    actor: Principal,
    request_id: int,
    data: ApproveIn,
    *,
    spare_percent: int,
    issuance: Issuance | None = None,
    today: date | None = None,
) -> StampRequest:
    """Approve all or fewer of the requested stamps, re-checking every rule under the lot lock.

    Raises Forbidden (not admin), NotFound, Conflict (already decided), ValidationFailed
    (more than requested), RuleViolation. Then issuance starts (synchronously under
    ``issuance_jobs.SYNC_LIMIT`` stamps, else as a background job).
    """
    require_role(actor, Role.ADMIN)
    request = _pending(session, actor, request_id)
    quantity = data.quantity if data.quantity is not None else request.quantity_requested
    if quantity > request.quantity_requested:
        raise ValidationFailed(
            [{"field": "quantity", "message": f"at most the {request.quantity_requested} requested"}]
        )
    _rule_check(session, request.product_id, request.lot_id, today or local_today())
    lot = _lock_lot(session, request.lot_id)
    room = _check_room(session, lot, quantity, spare_percent, exclude=request.id)
    before = audit.snapshot(request, AUDITED)
    _decide(request, "approved", quantity, actor.account_id, data.reason)
    audit.record(
        session,
        actor,
        action="stamp_request.approve",
        entity="stamp_request",
        entity_id=request.id,
        before=before,
        after=audit.snapshot(request, AUDITED),
        reason=data.reason,
        decision={"quantity_requested": request.quantity_requested, "quantity_approved": quantity, **room},
    )
    session.commit()
    if issuance is not None:
        issuance.start(session, request.id, actor=actor)
        session.refresh(request)
    return request


def reject(session: Session, actor: Principal, request_id: int, data: RejectIn) -> StampRequest:
    """Refuse a pending request with a reason (admin). Raises Forbidden, NotFound, Conflict."""
    require_role(actor, Role.ADMIN)
    request = _pending(session, actor, request_id)
    before = audit.snapshot(request, AUDITED)
    _decide(request, "rejected", None, actor.account_id, data.reason)
    audit.record(
        session,
        actor,
        action="stamp_request.reject",
        entity="stamp_request",
        entity_id=request.id,
        before=before,
        after=audit.snapshot(request, AUDITED),
        reason=data.reason,
    )
    session.commit()
    return request


def get_request(session: Session, actor: Principal, request_id: int) -> StampRequest:
    """The request if ``actor`` may read it (another producer's is NotFound)."""
    request = by_id(session, StampRequest, request_id)
    if request is None:
        raise NotFound("no such stamp request")
    require_read(actor, owner_of(session, request.producer_id), "stamp request")
    return request


def list_requests(session: Session, actor: Principal, query: StampRequestQuery) -> Page[StampRequestOut]:
    stmt: Select[tuple[StampRequest]] = scoped(select(StampRequest), actor, StampRequest.producer_id)
    if query.producer_id is not None:
        stmt = stmt.where(StampRequest.producer_id == query.producer_id)
    if query.lot_id is not None:
        stmt = stmt.where(StampRequest.lot_id == query.lot_id)
    if query.state is not None:
        stmt = stmt.where(StampRequest.state == query.state.value)
    return paginate(
        session, stmt.order_by(StampRequest.id.desc()), query.page, query.per_page, StampRequestOut
    )


# --- auto-approval policy --------------------------------------------------------------------------


def _producer(session: Session, actor: Principal, producer_id: int) -> Producer:
    """The producer, NotFound when unknown or outside ``actor``'s scope."""
    producer = by_id(session, Producer, producer_id)
    if producer is None:
        raise NotFound("no such producer")
    require_read(actor, owner_of(session, producer.id), "producer")
    return producer


def get_policy(session: Session, actor: Principal, producer_id: int) -> AutoApprovalPolicy:
    """The producer's policy (admins, inspectors, the producer itself). NotFound when none is set."""
    _producer(session, actor, producer_id)
    policy = session.get(AutoApprovalPolicy, producer_id)
    if policy is None:
        raise NotFound("no auto-approval policy for this producer: every request waits for the office")
    return policy


def set_policy(session: Session, actor: Principal, producer_id: int, data: PolicyIn) -> AutoApprovalPolicy:
    """Create or change a producer's auto-approval size (admin only)."""
    require_role(actor, Role.ADMIN)
    _producer(session, actor, producer_id)
    policy = session.get(AutoApprovalPolicy, producer_id)
    before = audit.snapshot(policy, ("max_quantity", "note")) if policy is not None else None
    if policy is None:
        policy = AutoApprovalPolicy(producer_id=producer_id)
        session.add(policy)
    policy.max_quantity, policy.note, policy.set_by = data.max_quantity, data.note, actor.account_id
    policy.updated_at = utcnow()
    flush_or_conflict(session, "the policy was set at the same time; retry")
    audit.record(
        session,
        actor,
        action="auto_approval.set",
        entity="producer",
        entity_id=producer_id,
        before=before,
        after=audit.snapshot(policy, ("max_quantity", "note")),
    )
    session.commit()
    return policy


def delete_policy(session: Session, actor: Principal, producer_id: int) -> None:
    """Remove the policy: from now on every request of the producer waits (admin only)."""
    require_role(actor, Role.ADMIN)
    _producer(session, actor, producer_id)
    policy = session.get(AutoApprovalPolicy, producer_id)
    if policy is None:
        raise NotFound("no auto-approval policy for this producer")
    before = audit.snapshot(policy, ("max_quantity", "note"))
    session.delete(policy)
    audit.record(
        session,
        actor,
        action="auto_approval.delete",
        entity="producer",
        entity_id=producer_id,
        before=before,
    )
    session.commit()
