"""Signing in with a user name and password (and a TOTP code when enrolled): pages and scanners.

Throttling: every failed attempt counts against the account name and against the client address
(moving windows in the shared ``RateLimiter``). Past ``account_failures`` failures the account is
locked for the rest of the window, past ``client_failures`` the address is; while locked, even
the right password is refused, so guessing cannot continue at full speed. A success clears the
account's count. Every success, failure and lockout is one audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.adapters.redis import Limit, RateLimiter
from stamp_service.crypto import passwords
from stamp_service.domain.access import Principal, Role
from stamp_service.errors import Forbidden, RateLimited, SignInFailed
from stamp_service.services import audit, second_factor, web_sessions
from stamp_service.services.accounts import IssuedToken, add_token, principal_of
from stamp_service.storage.models.accounts import Account

log = logging.getLogger(__name__)
__all__ = ["Attempt", "PasswordAccepted", "SignInFailed", "Throttle", "check_code", "check_password"]

# The audit actor of an attempt on a name that matches no account (never used for access).
UNKNOWN = Principal(account_id=None, name="unknown", role=Role.INSPECTOR)


@dataclass(frozen=True)
class Throttle:
    account_failures: int
    client_failures: int
    window_seconds: int

    @property
    def account_limit(self) -> Limit:
        return Limit("signin-account", self.account_failures, self.window_seconds)

    @property
    def client_limit(self) -> Limit:
        return Limit("signin-client", self.client_failures, self.window_seconds)


@dataclass(frozen=True)
class Attempt:
    """Who is trying, from where; ``limiter`` and ``throttle`` come from the runtime's settings."""

    limiter: RateLimiter
    throttle: Throttle
    client: str


@dataclass(frozen=True)
class PasswordAccepted:
    """The password is right; ``needs_code`` says whether a TOTP code must follow."""

    account_id: int
    needs_code: bool


def check_password(session: Session, attempt: Attempt, name: str, password: str) -> PasswordAccepted:
    """First step: the password. Raises RateLimited while locked, SignInFailed when wrong."""
    key = _name_key(name)
    _refuse_if_locked(attempt, key)
    # Names are matched exactly (they are unique as written); the throttle counts them lowercased.
    account = session.scalar(select(Account).where(Account.name == name.strip()))
    result = passwords.verify(account.password_hash if account else None, password)
    if account is None or not result.ok or not account.active:
        _failed(session, attempt, key, account, reason="password")
    assert account is not None
    if result.needs_rehash:
        account.password_hash = passwords.hash_password(password)
        session.commit()
    return PasswordAccepted(account_id=account.id, needs_code=account.totp_secret is not None)


def check_code(session: Session, attempt: Attempt, account_id: int, code: str) -> Account:
    """Second step, for enrolled accounts: the TOTP code (a wrong one counts as a failure)."""
    account = session.get(Account, account_id)
    if account is None or not account.active:
        raise SignInFailed()
    key = _name_key(account.name)
    _refuse_if_locked(attempt, key)
    if not second_factor.check(account, code):
        _failed(session, attempt, key, account, reason="totp")
    return account


def start_session(
    session: Session, attempt: Attempt, account: Account, policy: web_sessions.SessionPolicy
) -> web_sessions.Started:
    """The person proved who they are: a new session (never the old id), audited."""
    started = web_sessions.start(session, account, policy)
    _succeeded(session, attempt, account, channel="web")
    return started


def device_sign_in(
    session: Session,
    attempt: Attempt,
    *,
    name: str,
    password: str,
    code: str | None,
    days: int,
    max_days: dict[str, int],
    label: str = "scanner",
) -> IssuedToken:
    """An inspector's scanner signs in and receives a device token (a bearer token that expires)."""
    accepted = check_password(session, attempt, name, password)
    account = session.get(Account, accepted.account_id)
    assert account is not None
    if accepted.needs_code:
        if not code:
            # The password was right: saying that a code is needed reveals nothing new, and lets
            # the scanner ask for it without a second wrong attempt.
            raise SignInFailed("enter the code from the authenticator app", code_required=True)
        account = check_code(session, attempt, account.id, code)
    if account.role != Role.INSPECTOR.value:
        raise Forbidden("only inspector accounts sign in on the scanner")
    issued = add_token(
        session, principal_of(account), account, label, days=days, max_days=max_days, kind="device"
    )
    _succeeded(session, attempt, account, channel="device")
    return issued


def _name_key(name: str) -> str:
    return name.strip().lower()[:200]


def _refuse_if_locked(attempt: Attempt, key: str) -> None:
    t = attempt.throttle
    wait = max(
        attempt.limiter.retry_after(t.account_limit, key),
        attempt.limiter.retry_after(t.client_limit, attempt.client),
    )
    if wait:
        log.info("sign-in refused while locked", extra={"retry_after": wait})
        raise RateLimited("Too many failed sign-ins; try again later.", retry_after=wait)


def _failed(session: Session, attempt: Attempt, key: str, account: Account | None, *, reason: str) -> None:
    """Count and audit a failure; raise SignInFailed (or RateLimited if this one locks)."""
    t = attempt.throttle
    attempt.limiter.hit(t.account_limit, key)
    attempt.limiter.hit(t.client_limit, attempt.client)
    # Locked once the count reaches the limit: the next attempt is refused before it is checked.
    account_ok = attempt.limiter.allows(t.account_limit, key)
    client_ok = attempt.limiter.allows(t.client_limit, attempt.client)
    actor = principal_of(account) if account else UNKNOWN
    entity_id = account.id if account else key[:64]  # the audit column holds 64 characters
    session.rollback()  # nothing of this attempt is kept but its audit entries
    audit.record(
        session,
        actor,
        action="signin.failure",
        entity="account",
        entity_id=entity_id,
        after={"reason": reason, "client": attempt.client},
    )
    locked = [what for what, ok in (("account", account_ok), ("client", client_ok)) if not ok]
    if locked:
        # The failure that reaches the limit is the one that locks; later refusals are logged only.
        audit.record(
            session,
            actor,
            action="signin.lockout",
            entity="account",
            entity_id=entity_id,
            after={"locked": locked, "client": attempt.client, "window_seconds": t.window_seconds},
        )
    session.commit()
    if locked:
        _refuse_if_locked(attempt, key)
    raise SignInFailed()


def _succeeded(session: Session, attempt: Attempt, account: Account, *, channel: str) -> None:
    attempt.limiter.clear(attempt.throttle.account_limit, _name_key(account.name))
    audit.record(
        session,
        principal_of(account),
        action="signin.success",
        entity="account",
        entity_id=account.id,
        after={"channel": channel, "client": attempt.client},
    )
    session.commit()
