"""Accounts and API tokens. A token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, in_province, province_scope, require_role
from stamp_service.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from stamp_service.schemas.accounts import AccountOut
from stamp_service.schemas.common import Page
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.accounts import Account, ApiToken
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Producer

TOKEN_PREFIX = "ocop_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    account_id: int
    token: str  # the only time the clear token exists
    token_id: int | None = None


def create_account(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None = None,
    province_code: str | None = None,
) -> Account:
    require_role(actor, Role.ADMIN)
    account = _add_account(
        session, actor, name=name, role=role, producer_id=producer_id, province_code=province_code
    )
    session.commit()
    return account


def open_account(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None = None,
    province_code: str | None = None,
    label: str = "",
) -> tuple[Account, IssuedToken]:
    """Create an account and its first token in one transaction (the API's ``POST /accounts``)."""
    require_role(actor, Role.ADMIN)
    account = _add_account(
        session, actor, name=name, role=role, producer_id=producer_id, province_code=province_code
    )
    issued = _add_token(session, actor, account, label)
    session.commit()
    return account, issued


def issue_token(session: Session, actor: Principal, *, account_id: int, label: str = "") -> IssuedToken:
    account = get_account(session, actor, account_id)
    issued = _add_token(session, actor, account, label)
    session.commit()
    return issued


def revoke_token(session: Session, actor: Principal, token_id: int, *, reason: str | None = None) -> ApiToken:
    """Revoke a token at once; revoking it again is a Conflict (nothing changes)."""
    require_role(actor, Role.ADMIN)
    row = by_id(session, ApiToken, token_id)
    owner = by_id(session, Account, row.account_id) if row is not None else None
    if row is None or owner is None or not _in_scope(session, actor, owner):
        raise NotFound("no such token")
    if row.revoked_at is not None:
        raise Conflict("this token is already revoked")
    row.revoked_at = datetime.now(UTC)
    session.flush()
    audit.record(
        session,
        actor,
        action="token.revoke",
        entity="api_token",
        entity_id=row.id,
        before={"revoked_at": None},
        after={"account_id": row.account_id, "prefix": row.prefix, "revoked_at": row.revoked_at},
        reason=reason,
    )
    session.commit()
    return row


def get_account(session: Session, actor: Principal, account_id: int) -> Account:
    require_role(actor, Role.ADMIN)
    account = by_id(session, Account, account_id)
    if account is None or not _in_scope(session, actor, account):
        raise NotFound("no such account")
    return account


def _account_province(session: Session, account: Account) -> str | None:
    """An office or inspector account's province (None: central); a producer account's producer's."""
    if account.producer_id is not None:
        return session.scalar(select(Producer.province_code).where(Producer.id == account.producer_id))
    return account.province_code


def _in_scope(session: Session, actor: Principal, account: Account) -> bool:
    """A provincial office manages its province's accounts only (province scope, docs/api.md)."""
    return in_province(actor, _account_province(session, account))


def account_tokens(session: Session, actor: Principal, account_id: int) -> list[ApiToken]:
    """The account's tokens (prefix and label only: the clear token is never kept)."""
    account = get_account(session, actor, account_id)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id))
    )


def list_accounts(
    session: Session, actor: Principal, *, role: Role | None, page: int, per_page: int
) -> Page[AccountOut]:
    require_role(actor, Role.ADMIN)
    stmt = select(Account)
    province = province_scope(actor)
    if province is not None:
        in_province_producers = select(Producer.id).where(Producer.province_code == province)
        stmt = stmt.where(
            or_(Account.province_code == province, Account.producer_id.in_(in_province_producers))
        )
    if role is not None:
        stmt = stmt.where(Account.role == role.value)
    return paginate(session, stmt.order_by(Account.id), page, per_page, AccountOut)


def _add_account(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None,
    province_code: str | None = None,
) -> Account:
    if (role is Role.PRODUCER) != (producer_id is not None):
        raise ValidationFailed(
            [{"field": "producer_id", "message": "required for producer accounts, and only for them"}]
        )
    if producer_id is not None and by_id(session, Producer, producer_id) is None:
        raise NotFound("no such producer")
    if province_code is not None and role is Role.PRODUCER:
        raise ValidationFailed(
            [{"field": "province_code", "message": "a producer account's province is its producer's"}]
        )
    if province_code is not None and not _is_province(session, province_code):
        raise ValidationFailed([{"field": "province_code", "message": "unknown province code"}])
    if producer_id is not None:
        producer_province = session.scalar(select(Producer.province_code).where(Producer.id == producer_id))
        if not in_province(actor, producer_province):
            raise NotFound("no such producer")
    elif not in_province(actor, province_code):
        # A provincial office creates accounts of its own province, never central-level ones.
        raise Forbidden(
            "a provincial office creates office and inspector accounts of its own province only",
            province_code=actor.province_code,
        )
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} exists")
    account = Account(name=name, role=role.value, producer_id=producer_id, province_code=province_code)
    session.add(account)
    flush_or_conflict(session, f"an account named {name!r} exists")  # created concurrently
    audit.record(
        session,
        actor,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after={"name": name, "role": role.value, "producer_id": producer_id, "province_code": province_code},
    )
    return account


def _add_token(session: Session, actor: Principal, account: Account, label: str) -> IssuedToken:
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
    return IssuedToken(account_id=account.id, token=token, token_id=row.id)


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
    return Principal(
        account_id=row.id,
        name=row.name,
        role=Role(row.role),
        producer_id=row.producer_id,
        province_code=row.province_code,
    )


def _is_province(session: Session, code: str) -> bool:
    unit = session.get(AdministrativeUnit, code)
    return unit is not None and unit.level == "province"
