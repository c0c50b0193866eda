"""The optional TOTP second factor (RFC 6238, pyotp): enrolment, checking, removal.

A code is accepted within one 30-second step either side of now (phones drift), and never twice:
the last accepted step is stored, so a code seen over a shoulder cannot be replayed.
The secret is stored in the database as issued (the service needs it to check codes); keep the
database's backups as secret as its signing keys' backups.
"""

from __future__ import annotations

import hmac
import time

import pyotp
import segno
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, Unauthenticated, ValidationFailed
from stamp_service.services import audit
from stamp_service.storage.models.accounts import Account

ISSUER = "OCOP"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG (no image request, nothing leaves the page)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="TOTP")  # type: ignore[no-any-return]


def accepted_step(secret: str, code: str, last_step: int | None, *, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than ``last_step``."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if now is None else now
    current = int(now // totp.interval)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def check(account: Account, code: str) -> bool:
    """Whether ``code`` is a fresh valid code of the account; records its step (caller commits)."""
    if account.totp_secret is None:
        return False
    step = accepted_step(account.totp_secret, code, account.totp_last_step)
    if step is None:
        return False
    account.totp_last_step = step
    return True


def enrol(session: Session, actor: Principal, secret: str, code: str) -> None:
    """Turn the second factor on, once the person shows a code from the new secret."""
    account = _own_account(session, actor)
    if account.totp_secret is not None:
        raise Conflict("the second factor is already set up")
    step = accepted_step(secret, code, None)
    if step is None:
        raise ValidationFailed([{"field": "code", "message": N_("The code is wrong or too old.")}])
    account.totp_secret = secret
    account.totp_last_step = step
    session.flush()
    audit.record(session, actor, action="totp.enrol", entity="account", entity_id=account.id)
    session.commit()


def remove(session: Session, actor: Principal, code: str, *, required: bool) -> None:
    """Turn the second factor off (with a current code); refused where it is required."""
    account = _own_account(session, actor)
    if account.totp_secret is None:
        raise Conflict("the second factor is not set up")
    if required:
        raise Conflict("office administrators must keep the second factor")
    if not check(account, code):
        raise ValidationFailed([{"field": "code", "message": N_("The code is wrong or too old.")}])
    account.totp_secret = None
    account.totp_last_step = None
    session.flush()
    audit.record(session, actor, action="totp.remove", entity="account", entity_id=account.id)
    session.commit()


def _own_account(session: Session, actor: Principal) -> Account:
    account = session.get(Account, actor.account_id)
    if account is None or not account.active:
        raise Unauthenticated()
    return account
