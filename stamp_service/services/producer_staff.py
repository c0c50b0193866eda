"""A producer's team as its administrator sees it on the staff page: every account of the
producer with its role, state and last sign-in (from the audit log's ``signin.success``).

The changes themselves (invite, reset, deactivate, promote) are ``services.accounts``'s, the same
functions the office uses, so one scope rule and one audit trail cover both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, ProducerDuty, Role, require_duty, require_role
from stamp_service.services import accounts
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.audit import AuditEntry


@dataclass(frozen=True)
class Member:
    account: Account
    last_sign_in: datetime | None  # None: never signed in to the pages since the audit began


def team(session: Session, actor: Principal) -> list[Member]:
    """The accounts of the actor's producer, administrators first. Forbidden for staff."""
    require_role(actor, Role.PRODUCER)
    require_duty(actor, ProducerDuty.MANAGE_STAFF)
    rows = list(
        session.scalars(
            select(Account)
            .where(Account.producer_id == actor.producer_id)
            .order_by(Account.producer_admin.desc(), Account.active.desc(), Account.name)
        )
    )
    last = _last_sign_ins(session, [a.id for a in rows])
    return [Member(a, last.get(str(a.id))) for a in rows]


def member(session: Session, actor: Principal, account_id: int) -> Member:
    """One account of the actor's producer (another producer's answers not found)."""
    require_role(actor, Role.PRODUCER)
    account = accounts.get_account(session, actor, account_id)
    return Member(account, _last_sign_ins(session, [account.id]).get(str(account.id)))


def _last_sign_ins(session: Session, ids: list[int]) -> dict[str, datetime]:
    if not ids:
        return {}
    found = session.execute(
        select(AuditEntry.entity_id, func.max(AuditEntry.at))
        .where(
            AuditEntry.action == "signin.success",
            AuditEntry.entity == "account",
            AuditEntry.entity_id.in_([str(i) for i in ids]),
        )
        .group_by(AuditEntry.entity_id)
    )
    return {entity_id: at for entity_id, at in found}
