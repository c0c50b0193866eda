"""Lot use cases: production lots (one step back: input lots) and their append-only trace events.

A producer records lots of its own products; admins of any product; inspectors
only read. Events are never edited or deleted: a correction is a new event
naming the ``seq`` it corrects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import (
    Owner,
    Principal,
    Role,
    can_read,
    require_read,
    require_role,
    require_write,
)
from stamp_service.domain.certification import local_today
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.lots import (
    LotDetailOut,
    LotIn,
    LotOut,
    LotQuery,
    OwnInputLot,
    SupplierInputLot,
    TraceEventIn,
    TraceEventOut,
)
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.reference import COMMUNE_LEVELS
from stamp_service.services.scope import owner_of, owner_of_product, scoped
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Lot, Product, TraceEvent

LOT_AUDIT_FIELDS = (
    "product_id",
    "lot_code",
    "production_date",
    "expiry_date",
    "quantity",
    "unit",
    "place",
    "input_lots",
)
EVENT_AUDIT_FIELDS = (
    "seq",
    "event_type",
    "occurred_at",
    "place",
    "actor",
    "note",
    "documents",
    "corrects_seq",
)
CLOCK_SKEW = timedelta(minutes=10)


def get_lot(session: Session, actor: Principal, lot_id: int) -> Lot:
    """The lot, if ``actor`` may read it (another producer's lot is NotFound)."""
    lot = by_id(session, Lot, lot_id)
    if lot is None:
        raise NotFound("no such lot")
    require_read(actor, _owner(session, lot), "lot")
    return lot


def read_lot(session: Session, actor: Principal, lot_id: int) -> LotDetailOut:
    lot = get_lot(session, actor, lot_id)
    events = session.scalars(select(TraceEvent).where(TraceEvent.lot_id == lot.id).order_by(TraceEvent.seq))
    return LotDetailOut.model_validate(
        {
            **LotOut.model_validate(lot).model_dump(),
            "events": [TraceEventOut.model_validate(e) for e in events],
        }
    )


def create_lot(session: Session, actor: Principal, data: LotIn) -> Lot:
    """Record a production lot; lot codes are unique per product (Conflict otherwise)."""
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    product = by_id(session, Product, data.product_id)
    if product is None:
        raise NotFound("no such product")
    require_write(actor, owner_of(session, product.producer_id), "product")
    if data.production_date > local_today():
        raise ValidationFailed([{"field": "production_date", "message": "must not be in the future"}])
    inputs = _resolve_inputs(session, actor, data)
    if _lot_code_taken(session, product.id, data.lot_code):
        raise Conflict(f"lot {data.lot_code!r} already exists for this product")
    lot = Lot(
        product_id=product.id,
        lot_code=data.lot_code,
        production_date=data.production_date,
        expiry_date=data.expiry_date,
        quantity=data.quantity,
        unit=data.unit,
        place=data.place,
        input_lots=inputs,
    )
    session.add(lot)
    # A concurrent writer may have taken the code first.
    flush_or_conflict(session, f"lot {data.lot_code!r} already exists for this product")
    audit.record(
        session,
        actor,
        action="lot.create",
        entity="lot",
        entity_id=lot.id,
        after=audit.snapshot(lot, LOT_AUDIT_FIELDS),
    )
    session.commit()
    return lot


def add_event(session: Session, actor: Principal, lot_id: int, data: TraceEventIn) -> TraceEvent:
    """Append an origin record to a lot; ``seq`` is the next number (1, 2, ...)."""
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    lot = get_lot(session, actor, lot_id)
    event = append_event(session, actor, lot, data)
    session.commit()
    return event


def append_event(session: Session, actor: Principal, lot: Lot, data: TraceEventIn) -> TraceEvent:
    """Append and audit without committing, so a capture of many events is one transaction."""
    require_write(actor, _owner(session, lot), "lot")
    if data.occurred_at > utcnow() + CLOCK_SKEW:
        raise ValidationFailed([{"field": "occurred_at", "message": "must not be in the future"}])
    # Serialise appends to this lot (PostgreSQL row lock; SQLite serialises writers itself).
    session.execute(select(Lot.id).where(Lot.id == lot.id).with_for_update())
    last = session.scalar(select(func.max(TraceEvent.seq)).where(TraceEvent.lot_id == lot.id)) or 0
    if data.corrects_seq is not None and data.corrects_seq > last:
        raise ValidationFailed([{"field": "corrects_seq", "message": "no earlier event with this seq"}])
    event = TraceEvent(
        lot_id=lot.id,
        seq=last + 1,
        event_type=data.event_type.value,
        occurred_at=data.occurred_at,
        place=data.place,
        actor=data.actor,
        note=data.note,
        documents=[d.model_dump() for d in data.documents],
        corrects_seq=data.corrects_seq,
        recorded_by=f"{actor.role}:{actor.name}",
    )
    session.add(event)
    flush_or_conflict(session, "another event was appended at the same time; retry")
    audit.record(
        session,
        actor,
        action="lot.event",
        entity="lot",
        entity_id=lot.id,
        after=audit.snapshot(event, EVENT_AUDIT_FIELDS),
    )
    return event


def list_lots(session: Session, actor: Principal, query: LotQuery) -> Page[LotOut]:
    stmt = select(Lot).join(Product, Product.id == Lot.product_id)
    stmt = scoped(stmt, actor, Product.producer_id)
    if query.product_id:
        stmt = stmt.where(Lot.product_id == query.product_id)
    return paginate(session, stmt.order_by(Lot.id), query.page, query.per_page, LotOut)


def _owner(session: Session, lot: Lot) -> Owner:
    return owner_of_product(session, lot.product_id)


def _lot_code_taken(session: Session, product_id: int, lot_code: str) -> bool:
    found = session.scalar(select(Lot.id).where(Lot.product_id == product_id, Lot.lot_code == lot_code))
    return found is not None


def _resolve_inputs(session: Session, actor: Principal, data: LotIn) -> list[dict[str, Any]]:
    """Input lots as stored: own lots by id (checked readable), supplier lots as described, their
    commune a current one of the reference list and their date not after production."""
    inputs: list[dict[str, Any]] = []
    errors = []
    communes = _current_communes(
        session,
        {i.commune_code for i in data.input_lots if isinstance(i, SupplierInputLot) and i.commune_code},
    )
    for i, item in enumerate(data.input_lots):
        if isinstance(item, OwnInputLot):
            lot = by_id(session, Lot, item.lot_id)
            if lot is None or not can_read(actor, _owner(session, lot)):
                errors.append({"field": f"input_lots.{i}.lot_id", "message": "no such lot"})
                continue
            inputs.append({"lot_id": lot.id, "product_id": lot.product_id, "lot_code": lot.lot_code})
            continue
        if item.commune_code is not None and item.commune_code not in communes:
            errors.append(
                {
                    "field": f"input_lots.{i}.commune_code",
                    "message": "unknown commune, ward or special zone code",
                }
            )
        if item.received_on is not None and item.received_on > data.production_date:
            errors.append(
                {"field": f"input_lots.{i}.received_on", "message": "must not be after the production date"}
            )
        inputs.append(item.model_dump(mode="json", exclude_none=True))
    if errors:
        raise ValidationFailed(errors)
    return inputs


def _current_communes(session: Session, codes: set[str]) -> set[str]:
    if not codes:
        return set()
    return set(
        session.scalars(
            select(AdministrativeUnit.code).where(
                AdministrativeUnit.code.in_(codes),
                AdministrativeUnit.level.in_(COMMUNE_LEVELS),
                AdministrativeUnit.valid_to.is_(None),
            )
        )
    )
