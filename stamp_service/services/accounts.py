"""Accounts and API tokens. A token is shown once; only its SHA-256 is stored.

Who manages whom: an office administrator of a province manages the accounts of its province
(office and inspector accounts with its province code, and producer accounts whose producer is
in it); a central administrator (no province) manages every account; a producer's administrator
manages its own producer's accounts (invites staff, resets, deactivates, promotes, demotes) and
cannot leave the producer without an active administrator. An account outside the caller's scope
answers *not found*, as other provinces' records do. Anyone may revoke their own tokens.
Machine tokens stay the office's to issue.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from stamp_service.crypto import passwords
from stamp_service.domain.access import Principal, Role, require_account_manager, require_role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from stamp_service.schemas.accounts import AccountOut
from stamp_service.schemas.common import Page
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.accounts import Account, ApiToken, WebSession
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Producer

TOKEN_PREFIX = "ocop_"
NAME_PATTERN = re.compile(r"[\w.@-]{2,100}")  # the API's AccountIn.name, for the pages' forms
# Used when no settings are passed (tests, old callers); the app passes Settings.token_max_days.
DEFAULT_TOKEN_MAX_DAYS = {"admin": 90, "producer": 365, "inspector": 30}
ONE_TIME_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    account_id: int
    token: str  # the only time the clear token exists
    token_id: int | None = None
    expires_at: datetime | None = None


def create_account(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None = None,
    province_code: str | None = None,
    password: str | None = None,
) -> Account:
    """Create an account; with ``password`` the person can sign in to the pages at once."""
    require_role(actor, Role.ADMIN)
    account = _add_account(
        session, actor, name=name, role=role, producer_id=producer_id, province_code=province_code
    )
    if password is not None:
        _check_new_password(password, name)
        account.password_hash = passwords.hash_password(password)
    session.commit()
    return account


def create_account_with_code(
    session: Session,
    actor: Principal,
    *,
    name: str,
    role: Role,
    producer_id: int | None = None,
    province_code: str | None = None,
    display_name: str | None = None,
) -> tuple[Account, str]:
    """Create an account whose first password is a one-time code (shown once; changed at sign-in).

    The office's pages and a producer's administrator (its staff page: a staff member of its own
    producer) both come here."""
    require_account_manager(actor)
    account = _add_account(
        session,
        actor,
        name=name,
        role=role,
        producer_id=producer_id,
        province_code=province_code,
        display_name=display_name,
    )
    code = _one_time_code()
    account.password_hash = passwords.hash_password(code)
    account.must_change_password = True
    session.commit()
    return account, code


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
    issued = add_token(session, actor, account, label)
    session.commit()
    return account, issued


def issue_token(
    session: Session,
    actor: Principal,
    *,
    account_id: int,
    label: str = "",
    days: int | None = None,
    max_days: dict[str, int] | None = None,
) -> IssuedToken:
    """A new API token for a machine, valid ``days`` (default and bound: the role's maximum).
    Only the office issues tokens: a machine acting for a producer is the office's decision."""
    require_role(actor, Role.ADMIN)
    account = get_account(session, actor, account_id)
    if not account.active:
        raise Conflict("this account is deactivated")
    issued = add_token(session, actor, account, label, days=days, max_days=max_days)
    session.commit()
    return issued


def revoke_token(session: Session, actor: Principal, token_id: int, *, reason: str | None = None) -> ApiToken:
    """Revoke a token at once; revoking it again is a Conflict (nothing changes).

    The token's own account may revoke it; so may an administrator whose scope holds the account.
    """
    row = by_id(session, ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    if row.account_id != actor.account_id:
        require_role(actor, Role.ADMIN)
        owner = session.get(Account, row.account_id)
        if owner is None or not _in_scope(session, actor, owner):
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
    """An account in the manager's scope (another province's or producer's answers not found)."""
    require_account_manager(actor)
    account = by_id(session, Account, account_id)
    if account is None or not _in_scope(session, actor, account):
        raise NotFound("no such account")
    return account


def own_tokens(session: Session, actor: Principal) -> list[ApiToken]:
    """The caller's own tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.account_id == actor.account_id).order_by(ApiToken.id.desc())
        )
    )


def deactivate_account(
    session: Session, actor: Principal, account_id: int, *, reason: str | None = None
) -> Account:
    """Stop an account at once: its sessions end and its tokens are revoked in the same commit.

    A producer's administrator cannot deactivate the producer's last active administrator (the
    office can: it may stop a producer altogether, and can make a new administrator)."""
    account = get_account(session, actor, account_id)
    if account.id == actor.account_id:
        raise Conflict("you cannot deactivate your own account")
    if not account.active:
        raise Conflict("this account is already deactivated")
    if actor.role is Role.PRODUCER and account.producer_admin:
        _keep_an_administrator(session, account)
    account.active = False
    now = datetime.now(UTC)
    ended = _rowcount(session.execute(delete(WebSession).where(WebSession.account_id == account.id)))
    revoked = _rowcount(
        session.execute(
            update(ApiToken)
            .where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        action="account.deactivate",
        entity="account",
        entity_id=account.id,
        before={"active": True},
        after={"active": False, "sessions_ended": ended, "tokens_revoked": revoked},
        reason=reason,
    )
    session.commit()
    return account


def reset_password(session: Session, actor: Principal, account_id: int) -> str:
    """Replace the password by a one-time code (returned, shown once); the person must choose a new
    password at the next sign-in. The account's sessions end; its machine tokens stay."""
    account = get_account(session, actor, account_id)
    if not account.active:
        raise Conflict("this account is deactivated")
    code = _one_time_code()
    account.password_hash = passwords.hash_password(code)
    account.must_change_password = True
    session.execute(delete(WebSession).where(WebSession.account_id == account.id))
    session.flush()
    audit.record(session, actor, action="account.reset_password", entity="account", entity_id=account.id)
    session.commit()
    return code


def set_producer_admin(session: Session, actor: Principal, account_id: int, *, admin: bool) -> Account:
    """Make a producer account its producer's administrator, or a staff member again.

    Refused (Conflict) for the producer's last active administrator, whoever asks: a producer
    always keeps someone who can manage its staff. Raises ValidationFailed for other roles."""
    account = get_account(session, actor, account_id)
    if account.role != Role.PRODUCER.value:
        raise ValidationFailed([{"field": "producer_admin", "message": N_("only for producer accounts")}])
    if not account.active:
        raise Conflict("this account is deactivated")
    if account.producer_admin == admin:
        raise Conflict("the account already has this role")
    if not admin:
        _keep_an_administrator(session, account)
    account.producer_admin = admin
    session.flush()
    audit.record(
        session,
        actor,
        action="account.set_producer_admin",
        entity="account",
        entity_id=account.id,
        before={"producer_admin": not admin},
        after={"producer_admin": admin},
    )
    session.commit()
    return account


def _keep_an_administrator(session: Session, account: Account) -> None:
    """Conflict if ``account`` is its producer's only active administrator.

    The administrators' rows are locked (PostgreSQL), so two administrators demoting each other
    at once cannot both pass: the second re-reads the first's change and is refused."""
    admins = session.scalars(
        select(Account.id)
        .where(
            Account.producer_id == account.producer_id,
            Account.producer_admin.is_(True),
            Account.active.is_(True),
        )
        .with_for_update()
    ).all()
    if not set(admins) - {account.id}:
        raise Conflict("the producer's last administrator cannot be removed", rule="last-producer-admin")


def set_password(session: Session, actor: Principal, account_id: int, new_password: str) -> None:
    """An operator (the CLI, as SYSTEM) sets a password directly."""
    require_role(actor, Role.ADMIN)
    account = get_account(session, actor, account_id)
    _check_new_password(new_password, account.name)
    account.password_hash = passwords.hash_password(new_password)
    account.must_change_password = False
    session.flush()
    audit.record(session, actor, action="account.set_password", entity="account", entity_id=account.id)
    session.commit()


def change_own_password(session: Session, actor: Principal, current: str, new_password: str) -> None:
    """The signed-in person replaces their password (after a reset: the one-time code)."""
    account = session.get(Account, actor.account_id)
    if account is None or not account.active:
        raise Unauthenticated()
    if not passwords.verify(account.password_hash, current).ok:
        raise ValidationFailed(
            [{"field": "current_password", "message": N_("The current password is wrong.")}]
        )
    _check_new_password(new_password, account.name, field="new_password")
    if new_password == current:
        raise ValidationFailed(
            [{"field": "new_password", "message": N_("Choose a password other than the current one.")}]
        )
    account.password_hash = passwords.hash_password(new_password)
    account.must_change_password = False
    session.flush()
    audit.record(session, actor, action="account.change_password", entity="account", entity_id=account.id)
    session.commit()


def principal_of(account: Account) -> Principal:
    """The one mapping from an account to the Principal every service sees (tokens and pages)."""
    return Principal(
        account_id=account.id,
        name=account.name,
        role=Role(account.role),
        producer_id=account.producer_id,
        province_code=account.province_code,
        producer_admin=account.role == Role.PRODUCER.value and account.producer_admin,
    )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _in_scope(session: Session, actor: Principal, account: Account) -> bool:
    if actor.role is Role.PRODUCER:
        return actor.producer_id is not None and account.producer_id == actor.producer_id
    if actor.province_code is None:
        return True  # central administrators and the system
    if account.role == Role.PRODUCER.value:
        producer = session.get(Producer, account.producer_id)
        return producer is not None and producer.province_code == actor.province_code
    return account.province_code == actor.province_code


def _check_new_password(password: str, name: str, *, field: str = "password") -> None:
    problem = passwords.password_problem(password, name=name)
    if problem:
        raise ValidationFailed([{"field": field, "message": problem}])


def _one_time_code() -> str:
    groups = ("".join(secrets.choice(ONE_TIME_CODE_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)  # 16 symbols of 32: 80 bits


def account_tokens(session: Session, actor: Principal, account_id: int) -> list[ApiToken]:
    """The account's tokens (prefix and label only: the clear token is never kept)."""
    account = get_account(session, actor, account_id)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id))
    )


def list_accounts(
    session: Session, actor: Principal, *, role: Role | None, page: int, per_page: int
) -> Page[AccountOut]:
    require_account_manager(actor)
    stmt = select(Account)
    if actor.role is Role.PRODUCER:
        stmt = stmt.where(Account.producer_id == actor.producer_id)
    elif actor.province_code is not None:
        in_province = select(Producer.id).where(Producer.province_code == actor.province_code)
        stmt = stmt.where(
            (Account.province_code == actor.province_code) | Account.producer_id.in_(in_province)
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
    display_name: str | None = None,
) -> Account:
    """Add an account (flushes and audits). A producer account made by the office is its
    producer's administrator; one made by a producer's administrator is a staff member of that
    producer (another producer's id answers not found, as if it did not exist)."""
    if actor.role is Role.PRODUCER:
        if role is not Role.PRODUCER:
            raise Forbidden("a producer's administrator invites staff of its own producer only")
        if producer_id != actor.producer_id:
            raise NotFound("no such producer")
    if (role is Role.PRODUCER) != (producer_id is not None):
        raise ValidationFailed(
            [{"field": "producer_id", "message": N_("required for producer accounts, and only for them")}]
        )
    if producer_id is not None and by_id(session, Producer, producer_id) is None:
        raise NotFound("no such producer")
    if province_code is not None and role is Role.PRODUCER:
        raise ValidationFailed(
            [{"field": "province_code", "message": N_("a producer account's province is its producer's")}]
        )
    if province_code is not None and not _is_province(session, province_code):
        raise ValidationFailed([{"field": "province_code", "message": N_("unknown province code")}])
    if actor.province_code is not None and actor.role is not Role.PRODUCER:
        if producer_id is not None:
            producer = session.get(Producer, producer_id)
            if producer is None or producer.province_code != actor.province_code:
                raise NotFound("no such producer")
        elif province_code != actor.province_code:
            raise ValidationFailed([{"field": "province_code", "message": N_("outside your province")}])
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} exists")
    account = Account(
        name=name,
        role=role.value,
        producer_id=producer_id,
        province_code=province_code,
        producer_admin=role is Role.PRODUCER and actor.role is not Role.PRODUCER,
        display_name=display_name or None,
    )
    session.add(account)
    flush_or_conflict(session, f"an account named {name!r} exists")  # created concurrently
    audit.record(
        session,
        actor,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after={
            "name": name,
            "role": role.value,
            "producer_id": producer_id,
            "province_code": province_code,
            "producer_admin": account.producer_admin,
        },
    )
    return account


def add_token(
    session: Session,
    actor: Principal,
    account: Account,
    label: str,
    *,
    days: int | None = None,
    max_days: dict[str, int] | None = None,
    kind: str = "api",
) -> IssuedToken:
    """Add a token to ``account`` (flushes and audits; the caller commits)."""
    limit = (max_days or DEFAULT_TOKEN_MAX_DAYS)[account.role]
    if days is None:
        days = limit
    if not 1 <= days <= limit:
        raise ValidationFailed(
            [{"field": "days", "message": f"a {account.role} token lives between 1 and {limit} days"}]
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=days)
    row = ApiToken(
        account_id=account.id,
        token_hash=hash_token(token),
        prefix=token[:12],
        label=label,
        expires_at=expires_at,
        kind=kind,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="token.issue",
        entity="api_token",
        entity_id=row.id,
        after={
            "account_id": account.id,
            "prefix": row.prefix,
            "label": label,
            "kind": kind,
            "expires_at": expires_at,
        },
    )
    return IssuedToken(account_id=account.id, token=token, token_id=row.id, expires_at=expires_at)


def authenticate(session: Session, token: str) -> Principal:
    """Map a bearer token to its principal, or raise Unauthenticated (same error for every failure)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated()
    found = session.execute(
        select(Account, ApiToken.expires_at)
        .join(ApiToken, ApiToken.account_id == Account.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None:
        raise Unauthenticated()
    account, expires_at = found
    if not account.active or (expires_at is not None and expires_at <= datetime.now(UTC)):
        raise Unauthenticated()
    return principal_of(account)


def _is_province(session: Session, code: str) -> bool:
    unit = session.get(AdministrativeUnit, code)
    return unit is not None and unit.level == "province"
