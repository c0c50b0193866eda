"""The audit log for people: search the entries, and check the hash chain (central office only).

Audit entries name no province (an entry may concern accounts, keys or reference data), so only
the central office reads the log; a provincial office gets Forbidden. The chain check is
``audit.verify_chain``, run on request (it reads every entry).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.errors import Forbidden
from stamp_service.schemas.common import Page
from stamp_service.services.audit import ChainReport, verify_chain
from stamp_service.services.pagination import paginate
from stamp_service.storage.models.audit import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None  # prefix: "certificate" matches certificate.create, .supersede...
    actor: str | None = None  # contains
    entity: str | None = None
    entity_id: str | None = None
    page: int = 1
    per_page: int = 50


def _require_central(actor: Principal) -> None:
    require_role(actor, Role.ADMIN)
    if actor.province_code is not None:
        raise Forbidden("the audit log is read by the central office")


def search_entries(session: Session, actor: Principal, filters: AuditFilters) -> Page[AuditEntry]:
    """One page of entries, newest first."""
    _require_central(actor)
    stmt = select(AuditEntry)
    if filters.action:
        stmt = stmt.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.actor:
        stmt = stmt.where(AuditEntry.actor.contains(filters.actor, autoescape=True))
    if filters.entity:
        stmt = stmt.where(AuditEntry.entity == filters.entity)
    if filters.entity_id:
        stmt = stmt.where(AuditEntry.entity_id == filters.entity_id)
    return paginate(session, stmt.order_by(AuditEntry.id.desc()), filters.page, filters.per_page, lambda e: e)


def chain_status(session: Session, actor: Principal) -> ChainReport:
    _require_central(actor)
    return verify_chain(session)
