"""The public verification use case: from a scanned code or a typed serial to the page model.

The way of one request (issue 13), in order:
1. the code's format and Ed25519 signature, without the database (a forged or truncated code
   is "not genuine" at once); a process remembers the token texts it has verified
   (``VerifiedTokens``: a signature over fixed bytes never becomes invalid);
2. the client's rate limit (the one limiter, ``limits``' moving window: one Redis round trip)
   and the status generation (one ``GET``); while Redis is unreachable, the database's generation;
3. one indexed query: the stamp row, its request's stars and its persisted scan totals
   (``stamp_status.load_stamp``, through ``stamp_rows.StampRows``: the read replica when
   ``DATABASE_READ_URL`` is set, the primary when the replica lacks the row);
4. the lot's status facts (recall, current certificate, voids) and the public product facts
   from the process's ``GenerationCache``, loaded once per lot and status generation; the key
   state from the key ring's snapshot; ``domain.status`` decides;
5. one Redis round trip records the scan (services.scans; the flusher writes scans to the
   database in batches, so no request writes to the database).
The scan counters are never cached: suspicion is applied on top of the verdict with
``domain.verification.with_clone_signal`` (rule 4 of the status model).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from stamp_service.adapters.redis import Limit, RateLimiter, Store
from stamp_service.crypto import pins
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import StampClaims, encode_token, parse_stamp_url, verify
from stamp_service.domain.status import Finding, Status
from stamp_service.domain.verification import ScanStats, clone_reasons, with_clone_signal
from stamp_service.errors import InvalidStamp, SerialTypo
from stamp_service.services import public_guard
from stamp_service.services.generation_cache import GenerationCache
from stamp_service.services.product_facts import product_facts, provinces
from stamp_service.services.public_guard import RateCheck, check_rate
from stamp_service.services.scans import ScanEvent, ScanLog
from stamp_service.services.stamp_rows import StampRows
from stamp_service.services.stamp_status import (
    NOT_GENUINE,
    StampRow,
    load_lot_status,
    status_of,
)
from stamp_service.services.status_events import GENERATION_KEY, Generation, read_generation
from stamp_service.services.verify_config import VerifyConfig
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.stamps import Stamp

__all__ = ["product_facts", "provinces"]  # the page's helpers, re-exported for the web layer

VERIFIED_MAX = 20_000


class VerifiedTokens:
    """Per-process memory of token texts whose signature verified (bounded, least recently used out).

    Only successes are kept (a flood of forged codes cannot fill it). Safe without
    expiry: the text includes the signature, and a kid names one public key forever.
    """

    def __init__(self, size: int = VERIFIED_MAX) -> None:
        self.size = size
        self._items: OrderedDict[str, StampClaims] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> StampClaims | None:
        with self._lock:
            claims = self._items.get(text)
            if claims is not None:
                self._items.move_to_end(text)
            return claims

    def put(self, text: str, claims: StampClaims) -> None:
        with self._lock:
            self._items[text] = claims
            if len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class VerifyEnv:
    """The long-lived collaborators of one app (built once in the web layer)."""

    keyring: KeyRing
    store: Store
    config: VerifyConfig
    scan_log: ScanLog
    memo: dict[str, Any] = field(default_factory=dict)  # small per-process lookups (provinces)
    verified: VerifiedTokens = field(default_factory=VerifiedTokens)
    cache: GenerationCache[Any] = field(default_factory=GenerationCache)  # lot status, facts, page skeletons
    limiter: RateLimiter = field(default_factory=RateLimiter)  # the runtime's (web.public passes it)
    stamp_rows: StampRows = field(default_factory=StampRows)  # step 3: the replica when configured


@dataclass(frozen=True)
class ScanInfo:
    """Who scanned, as far as we keep it; None when the request must not count (API, form posts)."""

    client: bytes
    browser: str
    province: str | None = None
    channel: str = "qr"

    def event(self, serial: int) -> ScanEvent:
        """This scan of ``serial``, now."""
        return ScanEvent(serial, utcnow(), self.client, self.province, self.browser, self.channel)


@dataclass(frozen=True)
class StampPart:
    """What one issued stamp contributes to the page."""

    status: Status
    serial: int | None = None
    product_id: int | None = None
    lot_id: int | None = None
    stars_at_issue: int | None = None
    expiry_day: date | None = None
    has_pin: bool = False


@dataclass(frozen=True)
class Verification:
    status: Status
    stamp: StampPart
    facts: dict[str, Any] | None = None
    scans: ScanStats | None = None
    clone_reasons: tuple[str, ...] = ()
    counted: bool = False
    generation: Generation | None = None  # the status generation the answer was computed under

    @property
    def serial_text(self) -> str | None:
        return serials.format_serial(self.stamp.serial) if self.stamp.serial else None

    @property
    def known(self) -> bool:
        return self.stamp.serial is not None


@dataclass(frozen=True)
class PinOutcome:
    result: str  # first | used | wrong
    first_used_at: datetime | None = None


# --- the status as JSON (the API) ---------------------------------------------------------------
def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "cause": f.cause.value,
        "since": f.since.isoformat() if f.since else None,
        "decision": f.decision.to_record() if f.decision else None,
    }


def status_json(status: Status) -> dict[str, Any]:
    return {
        "verdict": status.verdict.value,
        "findings": [_finding_json(f) for f in status.findings],
        "warnings": [_finding_json(f) for f in status.warnings],
    }


# --- the use cases ------------------------------------------------------------------------------
def _not_genuine() -> Verification:
    return Verification(NOT_GENUINE, StampPart(NOT_GENUINE))


def _generation(session: Session, env: VerifyEnv, rate: RateCheck | None) -> Generation:
    """Step 2: count the request against ``rate``, then read the status generation."""
    check_rate(env.limiter, rate)
    raw, live = env.store.get_shared(GENERATION_KEY)
    generation = read_generation(raw, live, session)
    # A key change made by another worker moved the generation: the key ring re-reads key states.
    env.keyring.observe_generation(generation)
    return generation


def _claims(session: Session, env: VerifyEnv, text: str) -> StampClaims | None:
    """The verified claims of a token text (remembered per process), None when it does not verify."""
    claims = env.verified.get(text)
    if claims is None:
        try:
            claims = verify(text, public_key_lookup=env.keyring.lookup(session))
        except InvalidStamp:
            return None
        env.verified.put(text, claims)
    return claims


def verify_code(
    session: Session,
    env: VerifyEnv,
    code: str,
    *,
    lang: str,
    scan: ScanInfo | None = None,
    today: date | None = None,
    rate: RateCheck | None = None,
    with_facts: bool = True,
) -> Verification:
    """A scanned token or stamp URL. Forged, tampered, truncated or unknown codes answer alike.

    ``rate`` counts the request against a rate limit (before any signature work); RateLimited
    past it. ``with_facts=False`` leaves ``facts`` to ``with_product_facts`` (the page needs them
    only when it has no rendered copy).
    """
    try:
        text = parse_stamp_url(code)
    except InvalidStamp:
        check_rate(env.limiter, rate)
        return _not_genuine()
    generation = _generation(session, env, rate)
    claims = _claims(session, env, text)
    if claims is None:
        return _not_genuine()
    row = env.stamp_rows.load(session, claims.serial)
    if row is None or not row.matches(claims):
        return _not_genuine()
    return _answer(session, env, row, generation, lang=lang, scan=scan, today=today, with_facts=with_facts)


def verify_serial(
    session: Session,
    env: VerifyEnv,
    serial_text: str,
    *,
    lang: str,
    scan: ScanInfo | None = None,
    today: date | None = None,
    rate: RateCheck | None = None,
    with_facts: bool = True,
) -> Verification:
    """A typed serial; raises SerialTypo (nothing looked up) when the check character disagrees.

    The stored signature is verified as if the stamp had been scanned."""
    try:
        serial = serials.parse_serial(serial_text)
    except SerialTypo:
        check_rate(env.limiter, rate)
        raise
    generation = _generation(session, env, rate)
    row = env.stamp_rows.load(session, serial)
    if row is None or _claims(session, env, encode_token(row.claims(), row.signature)) is None:
        return _not_genuine()
    return _answer(session, env, row, generation, lang=lang, scan=scan, today=today, with_facts=with_facts)


def _answer(
    session: Session,
    env: VerifyEnv,
    row: StampRow,
    generation: Generation,
    *,
    lang: str,
    scan: ScanInfo | None,
    today: date | None,
    with_facts: bool,
) -> Verification:
    """Steps 4 and 5 for an issued stamp whose signed claims match its row."""
    lot = env.cache.get_or_load(
        generation, ("lot", row.lot_id), lambda: load_lot_status(session, row.lot_id, row.product_id)
    )
    key = env.keyring.public_key(session, bytes.fromhex(row.kid))
    status = status_of(row, key, lot, today or local_today())
    if status is NOT_GENUINE:
        return _not_genuine()
    part = StampPart(
        status, row.serial, row.product_id, row.lot_id, row.stars_at_issue, row.expiry_day, row.has_pin
    )
    counted = False
    if scan is not None:
        recorded = env.scan_log.record(scan.event(row.serial), row.counters)
        stats, counted = recorded.stats, recorded.counted
    else:
        stats = env.scan_log.stats(session, row.serial)
    reasons = clone_reasons(stats, env.config.clone)
    shown = with_clone_signal(status, bool(reasons))
    result = Verification(
        shown, part, None, stats, reasons if shown is not status else (), counted, generation
    )
    return with_product_facts(session, env, result, lang) if with_facts else result


def with_product_facts(session: Session, env: VerifyEnv, result: Verification, lang: str) -> Verification:
    """``result`` with the product/lot/certificate view (per process, per status generation)."""
    if not result.known or result.facts is not None:
        return result
    part = result.stamp
    assert part.product_id is not None and part.lot_id is not None
    return replace(
        result, facts=cached_facts(session, env, part.product_id, part.lot_id, lang, result.generation)
    )


def cached_facts(
    session: Session,
    env: VerifyEnv,
    product_id: int,
    lot_id: int,
    lang: str,
    generation: Generation | None,
) -> dict[str, Any]:
    """``product_facts`` from the process's cache (shared: callers must not change the result)."""
    return env.cache.get_or_load(  # type: ignore[no-any-return]
        generation,
        ("facts", product_id, lot_id, lang),
        lambda: product_facts(session, product_id, lot_id, lang),
    )


def stars_now(result: Verification) -> int | None:
    """The product's current rating, when the facts are loaded and it has a certificate."""
    cert = (result.facts or {}).get("certificate")
    return int(cert["stars"]) if cert else None


def check_pin(session: Session, env: VerifyEnv, serial_text: str, pin: str, client: bytes) -> PinOutcome:
    """Scratch-PIN check, rate-limited per stamp and per client; every attempt counts.

    A wrong PIN, an unknown serial and a stamp without a PIN all answer "wrong".
    The first correct entry records ``pin_first_used_at`` (a conditional update,
    so two simultaneous first entries cannot both be "first").
    """
    serial = serials.parse_serial(serial_text)
    c = env.config
    public_guard.hit(env.limiter, Limit("pin-stamp", c.rate_pin_per_stamp_hour, 3600), f"{serial:x}")
    public_guard.hit(env.limiter, Limit("pin-client", c.rate_pin_per_client_hour, 3600), client.hex())
    stamp = session.get(Stamp, serials.to_db(serial))
    stored = stamp.pin_hash if stamp is not None and stamp.pin_hash is not None else b"\x00" * 32
    if not pins.pin_matches(env.keyring, serial, pin, stored) or stamp is None or stamp.pin_hash is None:
        return PinOutcome("wrong")
    if stamp.pin_first_used_at is not None:
        return PinOutcome("used", stamp.pin_first_used_at)
    now = utcnow()
    done = session.execute(
        update(Stamp)
        .where(Stamp.serial == stamp.serial, Stamp.pin_first_used_at.is_(None))
        .values(pin_first_used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if done.rowcount == 1:  # type: ignore[attr-defined]
        return PinOutcome("first", now)
    session.refresh(stamp)
    return PinOutcome("used", stamp.pin_first_used_at)
