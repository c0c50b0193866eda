"""The office console's producer directory: search with filters, and the commune choices.

The API's ``registry.list_producers`` filters by name, province and legal type; the console also
filters by commune and by the stars of a producer's products (their current certificates), and
shows each row's commune name and best current stars. Scope comes from ``services.scope``: a
provincial office lists and chooses only its own province's producers and communes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import local_today
from stamp_service.schemas.common import Page
from stamp_service.services.certificates import status_clause
from stamp_service.services.pagination import paginate
from stamp_service.services.reference import COMMUNE_LEVELS
from stamp_service.services.scope import scoped
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Certificate, Producer, Product


@dataclass(frozen=True)
class ProducerFilters:
    q: str | None = None
    commune_code: str | None = None
    legal_type: str | None = None
    stars: int | None = None  # a product of the producer holds a valid certificate of these stars
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class ProducerRow:
    id: int
    name: str
    legal_type: str
    registration_number: str | None
    commune_name: str
    province_code: str


@dataclass(frozen=True)
class CommuneGroup:
    """The communes, wards and special zones of one province (a ``<optgroup>``)."""

    province_code: str
    province_name: str
    communes: list[tuple[str, str]]  # (code, name)


def search_producers(session: Session, actor: Principal, filters: ProducerFilters) -> Page[ProducerRow]:
    """One page of the producers ``actor`` may see, newest first, counted by the database."""
    require_role(actor, Role.ADMIN)
    stmt = scoped(
        select(
            Producer.id,
            Producer.name,
            Producer.legal_type,
            Producer.registration_number,
            AdministrativeUnit.name,
            Producer.province_code,
        ).join(AdministrativeUnit, AdministrativeUnit.code == Producer.commune_code),
        actor,
        Producer.id,
    )
    if filters.q:
        pattern = f"%{filters.q}%"
        stmt = stmt.where(Producer.name.ilike(pattern) | Producer.registration_number.ilike(pattern))
    if filters.commune_code:
        stmt = stmt.where(Producer.commune_code == filters.commune_code)
    if filters.legal_type:
        stmt = stmt.where(Producer.legal_type == filters.legal_type)
    if filters.stars is not None:
        # An active certificate is always its product's current one (a new decision cannot be signed
        # before the current one, and only one is active), so no ranking of certificates is needed.
        certified = (
            select(Product.producer_id)
            .join(Certificate, Certificate.product_id == Product.id)
            .where(Certificate.stars == filters.stars, status_clause(Certificate, "valid", local_today()))
        )
        stmt = stmt.where(Producer.id.in_(certified))
    return paginate(
        session,
        stmt.order_by(Producer.id.desc()),
        filters.page,
        filters.per_page,
        lambda row: ProducerRow(*row),
        rows=True,
    )


def commune_groups(session: Session, actor: Principal) -> list[CommuneGroup]:
    """The communes ``actor`` may register a producer in, grouped by province (names sorted)."""
    require_role(actor, Role.ADMIN)
    stmt = select(AdministrativeUnit).where(
        AdministrativeUnit.level.in_(COMMUNE_LEVELS), AdministrativeUnit.valid_to.is_(None)
    )
    if actor.province_code is not None:
        stmt = stmt.where(AdministrativeUnit.province_code == actor.province_code)
    communes = session.scalars(stmt.order_by(AdministrativeUnit.name)).all()
    rows = session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name).where(AdministrativeUnit.level == "province")
    )
    provinces = {code: name for code, name in rows}
    groups: dict[str, CommuneGroup] = {}
    for unit in communes:
        code = unit.province_code
        group = groups.setdefault(code, CommuneGroup(code, provinces.get(code, code), []))
        group.communes.append((unit.code, unit.name))
    return sorted(groups.values(), key=lambda g: g.province_name)
