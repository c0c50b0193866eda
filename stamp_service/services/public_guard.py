"""Guards of the anonymous public routes: rate limits, client hashes and signed form tokens.

Rate limits are fixed windows counted with ``Store.incr`` (Redis shared by all
workers; the in-process fallback limits per process). Clients are known only
by a keyed hash of their address, never the address itself.

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

from stamp_service.cache import Store
from stamp_service.crypto.keyring import KeyRing
from stamp_service.errors import RateLimited, ValidationFailed

FORM_TOKEN_SECONDS = 2 * 3600
CLIENT_HASH_LEN = 16


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int


@dataclass(frozen=True)
class RateCheck:
    """One request of ``subject`` (a client hash, a serial) to count against ``limit``.

    The counter's key and the refusal live here only; the count itself is one ``INCR``, either
    alone (``hit``) or in the round trip that also reads the status generation (the page)."""

    limit: Limit
    subject: str

    def key(self, now: float) -> str:
        return f"rl:{self.limit.name}:{self.subject}:{int(now // self.limit.seconds)}"

    @property
    def ttl(self) -> int:
        return self.limit.seconds + 1

    def judge(self, used: int, now: float) -> int:
        """Raise RateLimited (with Retry-After) when ``used`` is past the limit; else return it."""
        if used > self.limit.count:
            window = int(now // self.limit.seconds)
            retry = max(1, int((window + 1) * self.limit.seconds - now) + 1)
            raise RateLimited(f"too many requests; try again in {retry} seconds", retry_after=retry)
        return used


def hit(store: Store, limit: Limit, subject: str, *, now: float | None = None) -> int:
    """Count one request of ``subject`` against ``limit``; raises RateLimited (with Retry-After) past it.

    Returns how many requests the window has counted, this one included."""
    return check_rate(store, RateCheck(limit, subject), now=now)


def check_rate(store: Store, rate: RateCheck | None, *, now: float | None = None) -> int:
    """Count ``rate`` on its own (0 without a limit); raises RateLimited past it."""
    if rate is None:
        return 0
    now = time.time() if now is None else now
    return rate.judge(store.incr(rate.key(now), ttl=rate.ttl), now)


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
