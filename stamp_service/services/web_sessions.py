"""People's browser sessions, kept on the server.

The cookie carries a random 256-bit id; the table keeps only its SHA-256, the account, when it
began, when it was last seen and when it ends at the latest. A session is valid while the
account is active, before its absolute end and within the idle timeout of its last request.
Signing in always starts a new session id (no fixation); signing out deletes the row, so a copied
cookie is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal
from stamp_service.errors import Unauthenticated
from stamp_service.services import audit
from stamp_service.services.accounts import principal_of
from stamp_service.storage.models.accounts import Account, WebSession

# Writing last_seen on every request would make each page view a database write; a minute's
# precision is plenty for an idle timeout counted in minutes.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta
    idle: timedelta


@dataclass(frozen=True)
class Started:
    cookie_value: str  # the only time the clear id exists
    expires_at: datetime


@dataclass(frozen=True)
class Resolved:
    principal: Principal
    session_id: int
    must_change_password: bool
    totp_enrolled: bool


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def start(session: Session, account: Account, policy: SessionPolicy) -> Started:
    """A new session for a person who just proved who they are (flushes; the caller commits)."""
    value = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = WebSession(
        id_hash=_hash(value),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
    )
    session.add(row)
    session.flush()
    return Started(cookie_value=value, expires_at=row.expires_at)


def resolve(session: Session, cookie_value: str, policy: SessionPolicy) -> Resolved:
    """The principal of a session cookie, or Unauthenticated (expired, idle, ended, deactivated)."""
    if not cookie_value or len(cookie_value) > 100:
        raise Unauthenticated()
    found = session.execute(
        select(WebSession, Account)
        .join(Account, Account.id == WebSession.account_id)
        .where(WebSession.id_hash == _hash(cookie_value))
    ).one_or_none()
    if found is None:
        raise Unauthenticated()
    row, account = found
    now = datetime.now(UTC)
    if not account.active or row.expires_at <= now or row.last_seen_at + policy.idle <= now:
        raise Unauthenticated()
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return Resolved(
        principal=principal_of(account),
        session_id=row.id,
        must_change_password=account.must_change_password,
        totp_enrolled=account.totp_secret is not None,
    )


def end(session: Session, cookie_value: str) -> None:
    """Sign out this browser (nothing to do if the session is already gone)."""
    session.execute(delete(WebSession).where(WebSession.id_hash == _hash(cookie_value)))
    session.commit()


def end_all(session: Session, actor: Principal) -> int:
    """Sign out every browser of the caller's account, this one included; audited."""
    result: Any = session.execute(delete(WebSession).where(WebSession.account_id == actor.account_id))
    count = result.rowcount
    audit.record(
        session,
        actor,
        action="session.end_all",
        entity="account",
        entity_id=actor.account_id,
        after={"sessions_ended": count},
    )
    session.commit()
    return int(count or 0)


def list_own(session: Session, actor: Principal, policy: SessionPolicy) -> list[WebSession]:
    """The caller's live sessions, newest first (what the my-account page lists)."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.account_id == actor.account_id, WebSession.expires_at > now)
        .order_by(WebSession.id.desc())
    )
    return [r for r in rows if r.last_seen_at + policy.idle > now]
