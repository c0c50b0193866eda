"""Guards of the anonymous public routes: rate limits, client hashes and signed form tokens.

Rate limits are the service's one limiter (adapters.redis.RateLimiter: the ``limits``
library, moving windows, Redis shared by all workers; the in-process fallback limits per
process). Clients are known only by a keyed hash of their address, never the address itself.

Public forms carry no session, so a cross-site POST is stopped by a signed
form token instead: ``<issued unix time>.<HMAC(service secret, purpose,
subject, time)>``, valid for ``FORM_TOKEN_SECONDS``. An ``Origin`` check
alone would not do: with ``Referrer-Policy: no-referrer`` browsers send
``Origin: null`` for our own forms. A foreign ``Origin`` is still refused.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from stamp_service.adapters.redis import Limit, RateLimiter
from stamp_service.crypto.keyring import KeyRing
from stamp_service.errors import RateLimited, ValidationFailed

FORM_TOKEN_SECONDS = 2 * 3600
CLIENT_HASH_LEN = 16


@dataclass(frozen=True)
class RateCheck:
    """One request of ``subject`` to count against ``limit`` (the page passes it to the use case,
    which counts it before any signature work)."""

    limit: Limit
    subject: str


def check_rate(limiter: RateLimiter, rate: RateCheck | None) -> None:
    """Count ``rate`` (nothing without one); RateLimited past its limit."""
    if rate is not None:
        hit(limiter, rate.limit, rate.subject)


def hit(limiter: RateLimiter, limit: Limit, subject: str) -> None:
    """Count one request of ``subject`` against ``limit``; RateLimited (with Retry-After) past it."""
    if not limiter.hit(limit, subject):
        retry = max(1, limiter.retry_after(limit, subject))
        raise RateLimited(f"too many requests; try again in {retry} seconds", retry_after=retry)


def client_hash(keyring: KeyRing, address: str | None) -> bytes:
    """The keyed hash that stands for a client address in logs, limits and reports."""
    return keyring.keyed_hash(purpose="client", data=(address or "unknown").encode())[:CLIENT_HASH_LEN]


def _mac(keyring: KeyRing, purpose: str, subject: str, issued: int) -> str:
    data = f"{purpose}\x00{subject}\x00{issued}".encode()
    return keyring.keyed_hash(purpose="form", data=data)[:16].hex()


def form_token(keyring: KeyRing, purpose: str, subject: str, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_mac(keyring, purpose, subject, issued)}"


def check_form(
    keyring: KeyRing,
    purpose: str,
    subject: str,
    token: str | None,
    origin: str | None,
    host: str,
    *,
    now: float | None = None,
) -> None:
    """Raise ValidationFailed unless ``token`` was issued by us for this form in the last two hours."""
    expired = ValidationFailed(
        [{"field": "form_token", "message": "the form has expired; open the page again"}],
        detail="the form has expired; open the page again",
    )
    if origin and origin != "null" and origin.partition("://")[2].lower() != host.lower():
        raise expired
    issued_text, _, mac = (token or "").partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        raise expired
    issued = int(issued_text)
    age = (time.time() if now is None else now) - issued
    if not -60 <= age <= FORM_TOKEN_SECONDS:
        raise expired
    if not hmac.compare_digest(mac, _mac(keyring, purpose, subject, issued)):
        raise expired
