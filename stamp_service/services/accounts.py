"""Accounts and API tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from stamp_service.services import audit
from stamp_service.storage.models.accounts import Account, ApiToken
from stamp_service.storage.models.registry import Producer

TOKEN_PREFIX = "ocop_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    account_id: int
    token: str  # the only time the clear token exists


def create_account(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None = None,
) -> Account:
    require_role(actor, Role.ADMIN)
    if (role is Role.PRODUCER) != (producer_id is not None):
        raise ValidationFailed(
            [{"field": "producer_id", "message": "required for producer accounts, and only for them"}]
        )
    if producer_id is not None and session.get(Producer, producer_id) is None:
        raise NotFound("no such producer")
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} exists")
    account = Account(name=name, role=role.value, producer_id=producer_id)
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after={"name": name, "role": role.value, "producer_id": producer_id},
    )
    session.commit()
    return account


def issue_token(session: Session, actor: Principal, *, account_id: int, label: str = "") -> IssuedToken:
    require_role(actor, Role.ADMIN)
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=account.id, token_hash=hash_token(token), prefix=token[:12], label=label)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="token.issue",
        entity="api_token",
        entity_id=row.id,
        after={"account_id": account.id, "prefix": row.prefix, "label": label},
    )
    session.commit()
    return IssuedToken(account_id=account.id, token=token)


def authenticate(session: Session, token: str) -> Principal:
    """Map a bearer token to its principal, or raise Unauthenticated (same error for every failure)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated()
    row = session.execute(
        select(Account)
        .join(ApiToken, ApiToken.account_id == Account.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not row.active:
        raise Unauthenticated()
    return Principal(account_id=row.id, name=row.name, role=Role(row.role), producer_id=row.producer_id)
