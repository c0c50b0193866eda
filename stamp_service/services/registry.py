"""Registry use cases: producers.

Products, certificates and lots live in sibling modules (``products``, ``certificates``,
``lots``); ``paginate`` moved to ``services.pagination`` and is re-exported here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import (
    Owner,
    Principal,
    Role,
    in_province,
    require_read,
    require_role,
    require_write,
)
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.registry import ProducerIn, ProducerOut, ProducerPatch, ProducerQuery
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.reference import address_snapshot
from stamp_service.services.scope import scoped
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.registry import Producer

__all__ = ["create_producer", "get_producer", "list_producers", "paginate", "update_producer"]

PRODUCER_AUDIT_FIELDS = (
    "name",
    "legal_type",
    "registration_number",
    "representative",
    "commune_code",
    "province_code",
    "street",
    "address_snapshot",
    "phone",
    "email",
    "gs1_company_prefix",
)


def get_producer(session: Session, actor: Principal, producer_id: int) -> Producer:
    producer = by_id(session, Producer, producer_id)
    if producer is None:
        raise NotFound("no such producer")
    require_read(actor, _owner(producer), "producer")
    return producer


def _owner(producer: Producer) -> Owner:
    return Owner(producer_id=producer.id, province_code=producer.province_code)


def create_producer(session: Session, actor: Principal, data: ProducerIn) -> Producer:
    require_role(actor, Role.ADMIN)
    if data.registration_number and session.scalar(
        select(Producer.id).where(Producer.registration_number == data.registration_number)
    ):
        raise Conflict("a producer with this registration number exists")
    snapshot = address_snapshot(session, data.commune_code, data.street, legacy_district=data.legacy_district)
    # A provincial office registers producers of its own province only.
    if not in_province(actor, str(snapshot["province_code"])):
        raise ValidationFailed([{"field": "commune_code", "message": "the commune is outside your province"}])
    producer = Producer(
        name=data.name,
        legal_type=data.legal_type.value,
        registration_number=data.registration_number,
        representative=data.representative,
        commune_code=data.commune_code,
        province_code=str(snapshot["province_code"]),
        street=data.street,
        address_snapshot=snapshot,
        phone=data.phone,
        email=data.email,
        gs1_company_prefix=data.gs1_company_prefix,
    )
    session.add(producer)
    flush_or_conflict(session, "a producer with this registration number exists")  # a concurrent twin
    audit.record(
        session,
        actor,
        action="producer.create",
        entity="producer",
        entity_id=producer.id,
        after=audit.snapshot(producer, PRODUCER_AUDIT_FIELDS),
    )
    session.commit()
    return producer


def update_producer(session: Session, actor: Principal, producer_id: int, data: ProducerPatch) -> Producer:
    producer = get_producer(session, actor, producer_id)
    require_write(actor, _owner(producer), "producer")
    before = audit.snapshot(producer, PRODUCER_AUDIT_FIELDS)
    for name in data.model_fields_set:
        setattr(producer, name, getattr(data, name))
    session.flush()
    audit.record(
        session,
        actor,
        action="producer.update",
        entity="producer",
        entity_id=producer.id,
        before=before,
        after=audit.snapshot(producer, PRODUCER_AUDIT_FIELDS),
    )
    session.commit()
    return producer


def list_producers(session: Session, actor: Principal, query: ProducerQuery) -> Page[ProducerOut]:
    stmt = scoped(select(Producer), actor, Producer.id)
    if query.province:
        stmt = stmt.where(Producer.province_code == query.province)
    if query.legal_type:
        stmt = stmt.where(Producer.legal_type == query.legal_type.value)
    if query.q:
        stmt = stmt.where(Producer.name.ilike(f"%{query.q}%"))
    return paginate(session, stmt.order_by(Producer.id), query.page, query.per_page, ProducerOut)
