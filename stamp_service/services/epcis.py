"""EPCIS 2.0 interface: the registry's events for a producer, product or lot, and capture of origin records.

Query: every event is derived from registry rows on demand (origin records, stamp
commissioning per request, voids, recalls, star withdrawals), so there is nothing to keep
in step; the same access rules as the rest of the API decide what a caller sees.
Capture: a partner's EPCIS document becomes origin records in one transaction, or nothing
is stored and every refused event is named (docs/interop.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain import epcis
from stamp_service.domain.access import Principal, Role, require_read, require_role
from stamp_service.errors import NotFound, ValidationFailed
from stamp_service.schemas.lots import TraceEventIn
from stamp_service.services import lots as lot_service
from stamp_service.services.lookup import by_id
from stamp_service.services.scope import owner_of
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product, TraceEvent
from stamp_service.storage.models.stamps import StampRequest, StampVoid

MAX_CAPTURE_EVENTS = 500


@dataclass(frozen=True)
class EventQuery:
    """The query's scope (one of producer, product or lot) and the EPCIS standard filters."""

    producer_id: int | None = None
    product_id: int | None = None
    lot_id: int | None = None
    event_type: str | None = None
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    biz_step: str | None = None
    disposition: str | None = None
    action: str | None = None
    per_page: int = 100
    offset: int = 0


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_offset: int | None


def query_events(session: Session, actor: Principal, ids: epcis.Identifiers, query: EventQuery) -> EventPage:
    """The events of the scope the caller may read, filtered, ordered by time and id, one page."""
    products = _scope_products(session, actor, query)
    lot_rows = session.execute(
        select(Lot, Product.gtin)
        .join(Product, Product.id == Lot.product_id)
        .where(Product.id.in_([p.id for p in products]))
        .where(Lot.id == query.lot_id if query.lot_id else Lot.id.is_not(None))
        .order_by(Lot.id)
    ).all()
    facts = {lot.id: epcis.LotFacts(lot.id, lot.lot_code, lot.product_id, gtin) for lot, gtin in lot_rows}
    events: list[dict[str, Any]] = []
    events += _trace_events(session, ids, facts)
    events += _stamp_events(session, ids, facts, {lot.id: lot for lot, _ in lot_rows})
    events += [
        epcis.recall_event(ids, facts[lot.id], epcis.Decision.from_record(lot.recall))
        for lot, _ in lot_rows
        if lot.recall
    ]
    if not query.lot_id:
        events += _withdrawals(session, ids, products)
    selected = sorted((e for e in events if _matches(e, query)), key=_order)
    page = selected[query.offset : query.offset + query.per_page]
    more = query.offset + query.per_page < len(selected)
    return EventPage(page, query.offset + query.per_page if more else None)


def _scope_products(session: Session, actor: Principal, query: EventQuery) -> list[Product]:
    """The products in scope, after the caller's read access to the named record is checked."""
    if query.lot_id is not None:
        lot = lot_service.get_lot(session, actor, query.lot_id)
        product = session.get(Product, lot.product_id)
        assert product is not None
        return [product]
    if query.product_id is not None:
        product = by_id(session, Product, query.product_id)
        if product is None:
            raise NotFound("no such product")
        require_read(actor, owner_of(session, product.producer_id), "product")
        return [product]
    producer_id = query.producer_id or actor.producer_id
    if producer_id is None:
        raise ValidationFailed([{"field": "query.producer_id", "message": "name a producer, product or lot"}])
    if by_id(session, Producer, producer_id) is None:
        raise NotFound("no such producer")
    require_read(actor, owner_of(session, producer_id), "producer")
    return list(session.scalars(select(Product).where(Product.producer_id == producer_id)))


def _trace_events(
    session: Session, ids: epcis.Identifiers, facts: dict[int, epcis.LotFacts]
) -> list[dict[str, Any]]:
    return [event for _, event in _trace_events_by_seq(session, ids, facts)]


def _trace_events_by_seq(
    session: Session, ids: epcis.Identifiers, facts: dict[int, epcis.LotFacts]
) -> list[tuple[int, dict[str, Any]]]:
    """The lots' origin records as events, with their seq (a correction names the corrected id)."""
    rows = session.scalars(
        select(TraceEvent).where(TraceEvent.lot_id.in_(facts)).order_by(TraceEvent.lot_id, TraceEvent.seq)
    )
    out: list[tuple[int, dict[str, Any]]] = []
    by_seq: dict[tuple[int, int], str] = {}
    for row in rows:
        corrects = by_seq.get((row.lot_id, row.corrects_seq)) if row.corrects_seq else None
        event = epcis.trace_event(ids, facts[row.lot_id], _trace_facts(row), corrects)
        by_seq[(row.lot_id, row.seq)] = event["eventID"]
        out.append((row.seq, event))
    return out


def _trace_facts(row: TraceEvent) -> epcis.TraceFacts:
    return epcis.TraceFacts(
        seq=row.seq,
        event_type=row.event_type,
        occurred_at=row.occurred_at,
        recorded_at=row.created_at,
        place=row.place,
        actor=row.actor,
        note=row.note,
        documents=list(row.documents or []),
        corrects_seq=row.corrects_seq,
    )


def _stamp_events(
    session: Session, ids: epcis.Identifiers, facts: dict[int, epcis.LotFacts], lots: dict[int, Lot]
) -> list[dict[str, Any]]:
    """One commissioning event per request that issued stamps, one decommissioning per void."""
    out = []
    requests = session.scalars(
        select(StampRequest).where(StampRequest.lot_id.in_(facts), StampRequest.issued_count > 0)
    )
    for request in requests:
        out.append(
            epcis.commissioning_event(
                ids,
                facts[request.lot_id],
                request_id=request.id,
                issued=request.issued_count,
                at=request.updated_at,
                stamp_expiry=request.expiry_day,
                lot_expiry=lots[request.lot_id].expiry_date,
            )
        )
    voids = session.execute(
        select(StampVoid, StampRequest.lot_id)
        .join(StampRequest, StampRequest.id == StampVoid.request_id)
        .where(StampRequest.lot_id.in_(facts))
    ).all()
    for void, lot_id in voids:
        out.append(
            epcis.void_event(
                ids,
                facts[lot_id],
                request_id=void.request_id,
                seq_from=void.seq_from,
                seq_to=void.seq_to,
                reason_code=void.reason_code,
                at=void.voided_at,
            )
        )
    return out


def _withdrawals(session: Session, ids: epcis.Identifiers, products: list[Product]) -> list[dict[str, Any]]:
    gtins = {p.id: p.gtin for p in products}
    rows = session.scalars(
        select(Certificate).where(Certificate.product_id.in_(gtins), Certificate.state == "withdrawn")
    )
    return [
        epcis.withdrawal_event(
            ids,
            product_id=c.product_id,
            gtin=gtins[c.product_id],
            certificate=c.decision_number,
            decision=epcis.Decision.from_record(c.withdrawal or {"decided_on": c.withdrawn_on}),
        )
        for c in rows
        if c.withdrawal or c.withdrawn_on
    ]


def _event_time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["eventTime"])


def _order(event: dict[str, Any]) -> tuple[datetime, str]:
    return _event_time(event), event["eventID"]


def _matches(event: dict[str, Any], q: EventQuery) -> bool:
    moment = _event_time(event)
    return (
        (q.event_type is None or event["type"] == q.event_type)
        and (q.ge_event_time is None or moment >= q.ge_event_time)
        and (q.lt_event_time is None or moment < q.lt_event_time)
        and (q.biz_step is None or event.get("bizStep") == q.biz_step)
        and (q.disposition is None or event.get("disposition") == q.disposition)
        and (q.action is None or event.get("action") == q.action)
    )


@cache
def _validator() -> jsonschema.protocols.Validator:
    text = resources.files("stamp_service.reference").joinpath("epcis/EPCIS-JSON-Schema.json").read_text()
    schema = json.loads(text)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def schema_errors(document: Any) -> list[dict[str, str]]:
    """Where ``document`` breaks the EPCIS 2.0 JSON schema (GS1's, in stamp_service/reference/epcis)."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [
        {"field": ".".join(map(str, e.absolute_path)) or "(body)", "message": _short(e.message)}
        for e in errors[:50]
    ]


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."


@dataclass(frozen=True)
class CaptureResult:
    recorded: list[str]
    already_recorded: list[str]


def capture(
    session: Session, actor: Principal, ids: epcis.Identifiers, document: dict[str, Any]
) -> CaptureResult:
    """Store a document's events as origin records: all of them, or none (with every reason)."""
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    errors = schema_errors(document)
    if not errors and document.get("type") != "EPCISDocument":
        errors = [{"field": "type", "message": "capture takes an EPCISDocument"}]
    body = document.get("epcisBody") if isinstance(document.get("epcisBody"), dict) else {}
    event_list = body.get("eventList") if isinstance(body, dict) else None
    if not errors and not (isinstance(event_list, list) and 0 < len(event_list) <= MAX_CAPTURE_EVENTS):
        errors = [{"field": "epcisBody.eventList", "message": f"1 to {MAX_CAPTURE_EVENTS} events"}]
    if errors:
        raise ValidationFailed(errors, "The document is not a valid EPCIS 2.0 document")
    assert isinstance(event_list, list)
    prefixes = _prefixes(document.get("@context"))
    recorded: list[str] = []
    already: list[str] = []
    known: dict[int, dict[str, int]] = {}  # lot id -> {eventID: seq}, filled as lots are met
    for i, raw in enumerate(event_list):
        where = f"epcisBody.eventList.{i}"
        record, event_errors = epcis.read_captured(ids, raw, prefixes, where)
        if record is None:
            errors += event_errors
            continue
        lot = _find_lot(session, actor, record.lot, where, errors)
        if lot is None:
            continue
        gtin = session.scalar(select(Product.gtin).where(Product.id == lot.product_id))
        own_class = ids.lot_class(epcis.LotFacts(lot.id, lot.lot_code, lot.product_id, gtin))
        if record.lot_class != own_class:  # one name per lot, so the event comes back as sent
            errors.append({"field": f"{where}.epcClass", "message": f"this lot is named {own_class}"})
            continue
        if record.transformation_id not in (None, ids.transformation(lot.id)):
            errors.append(
                {"field": f"{where}.transformationID", "message": f"must be {ids.transformation(lot.id)}"}
            )
            continue
        seen = known.setdefault(lot.id, _recorded_ids(session, ids, lot))
        if record.event_id in seen:
            already.append(record.event_id)
            continue
        corrects_seq = seen.get(record.corrects_id) if record.corrects_id else None
        if record.corrects_id and corrects_seq is None:
            errors.append({"field": f"{where}.ocop:corrects", "message": "no earlier event of this lot"})
            continue
        try:
            data = TraceEventIn.model_validate_json(
                json.dumps(
                    {
                        "event_type": record.event_type,
                        "occurred_at": record.occurred_at.isoformat(),
                        "place": record.place,
                        "actor": record.actor,
                        "note": record.note,
                        "documents": record.documents,
                        "corrects_seq": corrects_seq,
                    }
                )
            )
            row = lot_service.append_event(session, actor, lot, data)
        except ValidationError as exc:
            errors += [
                {"field": f"{where}.{'.'.join(map(str, e['loc']))}", "message": e["msg"]}
                for e in exc.errors()
            ]
            continue
        except ValidationFailed as exc:
            errors += [{"field": f"{where}.{e['field']}", "message": e["message"]} for e in exc.errors]
            continue
        seen[record.event_id] = row.seq
        recorded.append(record.event_id)
    if errors:
        session.rollback()
        raise ValidationFailed(errors, "Nothing was stored: some events cannot be recorded")
    session.commit()
    return CaptureResult(recorded, already)


def _prefixes(context: Any) -> dict[str, str]:
    items = context if isinstance(context, list) else [context]
    return {k: v for item in items if isinstance(item, dict) for k, v in item.items() if isinstance(v, str)}


def _find_lot(
    session: Session, actor: Principal, key: epcis.LotKey, where: str, errors: list[dict[str, str]]
) -> Lot | None:
    lot: Lot | None
    if key.lot_id is not None:
        lot = by_id(session, Lot, key.lot_id)
    else:
        lot = session.scalar(
            select(Lot)
            .join(Product, Product.id == Lot.product_id)
            .where(Product.gtin.in_([key.gtin, (key.gtin or "").lstrip("0")]), Lot.lot_code == key.lot_code)
        )
    try:
        if lot is None:
            raise NotFound("no such lot")
        lot_service.get_lot(session, actor, lot.id)  # the one read check: others' lots are unknown
    except NotFound:
        errors.append({"field": f"{where}.epcClass", "message": "no such lot"})
        return None
    return lot


def _recorded_ids(session: Session, ids: epcis.Identifiers, lot: Lot) -> dict[str, int]:
    """The event ids of the lot's origin records, as the query exports them."""
    gtin = session.scalar(select(Product.gtin).where(Product.id == lot.product_id))
    facts = {lot.id: epcis.LotFacts(lot.id, lot.lot_code, lot.product_id, gtin)}
    return {event["eventID"]: seq for seq, event in _trace_events_by_seq(session, ids, facts)}
