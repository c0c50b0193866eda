"""The public verification use case: from a scanned code or a typed serial to the page model.

Order (issue 4): the signature and format first, without the database; then
``services.stamp_status`` for the verdict of an issued stamp; then the scan
counters (clone signals); then the product/lot/certificate facts.

Two caches, both keyed by the shared *status generation* (bumped by every
revocation, see services.status_events) and bypassed while Redis is
degraded (a per-process copy could be stale across workers):
- the per-stamp verdict, keyed by (generation, today, code);
- the product/lot/certificate view, keyed by (generation, product, lot, language).
The scan counters are never cached: suspicion is applied on top of the cached
verdict with ``domain.verification.with_clone_signal`` (rule 4 of the status model).

A repeat scan costs one Redis round trip and no SQL (services.scan_gate: rate
limit, generation, cached verdict and scan record in one script). Each process
also remembers the tokens whose Ed25519 signature it has already checked
(``VerifiedTokens``): a signature over fixed bytes never becomes invalid, and
key *states* are judged later, from the database, with the rest of the verdict.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stamp_service.cache import Store
from stamp_service.crypto import pins
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.certification import local_today
from stamp_service.domain.stamp_format import StampClaims, parse_stamp_url, verify
from stamp_service.domain.status import Cause, Decision, Finding, Status, Verdict
from stamp_service.domain.verification import ScanStats, clone_reasons, with_clone_signal
from stamp_service.errors import InvalidStamp, SerialTypo
from stamp_service.services import public_guard
from stamp_service.services.minting import current_certificate
from stamp_service.services.repeat_scans import RepeatScans
from stamp_service.services.scan_gate import RateCheck, check_rate, open_gate
from stamp_service.services.scans import ScanEvent, ScanLog
from stamp_service.services.stamp_status import NOT_GENUINE, StampCheck, check_serial, check_token
from stamp_service.services.status_events import GENERATION_KEY
from stamp_service.services.verify_config import VerifyConfig
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.reference import AdministrativeUnit, ProductGroup
from stamp_service.storage.models.registry import (
    Certificate,
    Lot,
    Producer,
    Product,
    ProductImage,
    TraceEvent,
)
from stamp_service.storage.models.stamps import Stamp

CACHE_PREFIX = "verify:"
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
    repeats: RepeatScans | None = None  # repeat scans answered without a round trip (Redis only)


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
    """What one issued stamp contributes (cacheable: changes only with the generation or the day)."""

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
    generation: int | None = None  # the status generation the answer was computed under (None: not cacheable)

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


# --- (de)serialising the cached parts ----------------------------------------------------------
def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "cause": f.cause.value,
        "since": f.since.isoformat() if f.since else None,
        "decision": f.decision.to_record() if f.decision else None,
    }


def _finding_from(d: dict[str, Any]) -> Finding:
    return Finding(
        Cause(d["cause"]),
        date.fromisoformat(d["since"]) if d.get("since") else None,
        Decision.from_record(d["decision"]) if d.get("decision") else None,
    )


def status_json(status: Status) -> dict[str, Any]:
    return {
        "verdict": status.verdict.value,
        "findings": [_finding_json(f) for f in status.findings],
        "warnings": [_finding_json(f) for f in status.warnings],
    }


def _status_from(d: dict[str, Any]) -> Status:
    return Status(
        Verdict(d["verdict"]),
        tuple(_finding_from(f) for f in d["findings"]),
        tuple(_finding_from(f) for f in d["warnings"]),
    )


def _part_json(part: StampPart) -> bytes:
    return json.dumps(
        {
            "status": status_json(part.status),
            "serial": part.serial,
            "product_id": part.product_id,
            "lot_id": part.lot_id,
            "stars_at_issue": part.stars_at_issue,
            "expiry_day": part.expiry_day.isoformat() if part.expiry_day else None,
            "has_pin": part.has_pin,
        }
    ).encode()


@lru_cache(maxsize=4096)
def _part_from(raw: bytes) -> StampPart:  # immutable result: repeat scans skip the JSON parse
    d = json.loads(raw)
    return StampPart(
        _status_from(d["status"]),
        d["serial"],
        d["product_id"],
        d["lot_id"],
        d["stars_at_issue"],
        date.fromisoformat(d["expiry_day"]) if d["expiry_day"] else None,
        d["has_pin"],
    )


def _part_of(check: StampCheck) -> StampPart:
    stamp = check.stamp
    if stamp is None:
        return StampPart(check.status)
    return StampPart(
        check.status,
        serials.from_db(stamp.serial),
        stamp.product_id,
        stamp.lot_id,
        check.stars_at_issue,
        stamp.expiry_day,
        stamp.pin_hash is not None,
    )


class _Cache:
    """One round trip for the generation and every cached value a page needs (``MGET``).

    Values carry the generation they were computed under (``b"<gen>|<json>"``): a value
    from an older generation is a miss. While Redis is unreachable nothing is cached or
    read (``usable`` False): the workers' private fallbacks could disagree.
    """

    def __init__(self, store: Store, keys: list[str]) -> None:
        self.store = store
        self.usable = True
        names = [GENERATION_KEY, *keys]
        if store.redis is None:
            raw: list[Any] = [store.get(k) for k in names]
        else:
            import redis

            try:
                raw = store.redis.mget([store.prefix + k for k in names])
            except (redis.ConnectionError, redis.TimeoutError):
                raw, self.usable = [None] * len(names), False
        self.generation = int(raw[0] or 0)
        self.values = dict(zip(keys, raw[1:], strict=True))

    def get(self, key: str) -> bytes | None:
        raw = self.values.get(key)
        if not self.usable or raw is None:
            return None
        gen, _, payload = bytes(raw).partition(b"|")
        return payload if gen == str(self.generation).encode() else None

    def set(self, key: str, payload: bytes, ttl: int) -> None:
        if self.usable:
            self.store.set(key, str(self.generation).encode() + b"|" + payload, ttl=ttl)


# --- the use cases ------------------------------------------------------------------------------
def _facts_key(product_id: int, lot_id: int, lang: str) -> str:
    return f"{CACHE_PREFIX}v:{product_id}:{lot_id}:{lang}"


def _not_genuine() -> Verification:
    return Verification(NOT_GENUINE, StampPart(NOT_GENUINE))


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

    ``rate`` counts the request against a rate limit (before any signature work for a
    token not seen before, else in the same round trip as the cache read); RateLimited
    past it. ``with_facts=False`` leaves ``facts`` to ``with_product_facts`` (the page
    needs them only when it has no rendered copy).
    """
    today = today or local_today()
    try:
        text = parse_stamp_url(code)
    except InvalidStamp:
        check_rate(env.store, rate)
        return _not_genuine()
    claims = env.verified.get(text)
    counted_rate = None
    if claims is None:
        # Refused clients never cost a signature check; the count goes to the repeat memory.
        counted_rate = (rate, check_rate(env.store, rate)) if rate is not None else None
        rate = None
        try:
            claims = verify(text, public_key_lookup=env.keyring.lookup(session))
        except InvalidStamp:
            return _not_genuine()
        env.verified.put(text, claims)
    key = _token_key(text, today)
    verified = claims
    return _answer(
        session,
        env,
        key,
        claims.serial,
        lambda: check_token(session, env.keyring, text, today=today, claims=verified),
        lang=lang,
        scan=scan,
        rate=rate,
        with_facts=with_facts,
        counted_rate=counted_rate,
    )


def answer_repeat(
    env: VerifyEnv, code: str, *, scan: ScanInfo, rate: RateCheck, today: date | None = None
) -> Verification | None:
    """``verify_code`` for a repeat scan this process can answer from memory, else None (then
    nothing was counted or logged). No database, no Redis round trip: the page's shortcut."""
    if env.repeats is None:
        return None
    try:
        text = parse_stamp_url(code)
    except InvalidStamp:
        return None
    claims = env.verified.get(text)
    if claims is None:
        return None
    key = _token_key(text, today or local_today())
    event = scan.event(claims.serial)
    known = env.repeats.answer(key, event, rate)
    if known is None:
        return None
    part, stats, generation = known
    return _result(None, env, part, stats, False, generation, lang="", with_facts=False)


def _token_key(text: str, today: date) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}t:{digest}:{today.isoformat()}"


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
    """A typed serial; raises SerialTypo (nothing looked up) when the check character disagrees."""
    today = today or local_today()
    try:
        serial = serials.parse_serial(serial_text)
    except SerialTypo:
        check_rate(env.store, rate)
        raise
    key = f"{CACHE_PREFIX}n:{serial:016x}:{today.isoformat()}"
    return _answer(
        session,
        env,
        key,
        serial,
        lambda: check_serial(session, env.keyring, serial, today=today),
        lang=lang,
        scan=scan,
        rate=rate,
        with_facts=with_facts,
    )


def _answer(
    session: Session,
    env: VerifyEnv,
    key: str,
    serial: int,
    compute: Any,
    *,
    lang: str,
    scan: ScanInfo | None,
    rate: RateCheck | None,
    with_facts: bool,
    counted_rate: tuple[RateCheck, int] | None = None,
) -> Verification:
    """One trip (scan_gate) for the limit, the generation, the cached verdict and, on a hit, the scan.

    A repeat scan this process can answer from memory (services.repeat_scans) needs no trip.
    """
    event = None
    if scan is not None:
        event = scan.event(serial)
    if env.repeats is not None and event is not None and rate is not None:
        known = env.repeats.answer(key, event, rate)
        if known is not None:
            part, stats, generation = known
            return _result(session, env, part, stats, False, generation, lang=lang, with_facts=with_facts)
    gate = open_gate(env.store, env.scan_log, [key], rate=rate, event=event)
    raw = gate.value(key)
    if raw is not None:
        part = _part_from(raw)
    else:
        # A key change made by another worker moved the generation: re-read key states now,
        # or a verdict from a stale snapshot would be cached under the new generation.
        observe = getattr(env.keyring, "observe_generation", None)
        if observe is not None and gate.generation is not None:
            observe(gate.generation)
        part = _part_of(compute())
        if part.serial is not None:
            gate.put(env.store, key, _part_json(part), env.config.view_cache_seconds)
    if part.serial is None:
        # Unknown serial and bad code answer alike: no detail tells them apart.
        return _not_genuine()
    counted = False
    if event is not None:
        if gate.recorded is not None:  # recorded in the same trip (a cache hit)
            recorded = env.scan_log.settle(session, event, gate.recorded)
        else:
            recorded = env.scan_log.record(session, event)
        stats, counted = recorded.stats, recorded.counted
        if env.repeats is not None:
            rate_seen = (rate, gate.rate_used) if rate is not None else counted_rate
            env.repeats.remember(key, event, part, gate.generation, recorded, rate_seen)
    else:
        stats = env.scan_log.stats(session, part.serial)
    return _result(session, env, part, stats, counted, gate.generation, lang=lang, with_facts=with_facts)


def _result(
    session: Session | None,
    env: VerifyEnv,
    part: StampPart,
    stats: ScanStats,
    counted: bool,
    generation: int | None,
    *,
    lang: str,
    with_facts: bool,
) -> Verification:
    reasons = clone_reasons(stats, env.config.clone)
    status = with_clone_signal(part.status, bool(reasons))
    result = Verification(
        status,
        part,
        None,
        stats,
        reasons if status is not part.status else (),
        counted,
        generation,
    )
    if with_facts:
        assert session is not None
        return with_product_facts(session, env, result, lang)
    return result


def with_product_facts(session: Session, env: VerifyEnv, result: Verification, lang: str) -> Verification:
    """``result`` with the product/lot/certificate view (cached; one ``MGET`` with the generation)."""
    if not result.known or result.facts is not None:
        return result
    part = result.stamp
    assert part.product_id is not None and part.lot_id is not None
    return replace(result, facts=cached_facts(session, env, part.product_id, part.lot_id, lang))


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
    public_guard.hit(
        env.store, public_guard.Limit("pin-stamp", c.rate_pin_per_stamp_hour, 3600), f"{serial:x}"
    )
    public_guard.hit(
        env.store, public_guard.Limit("pin-client", c.rate_pin_per_client_hour, 3600), client.hex()
    )
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


# --- the product/lot/certificate view -----------------------------------------------------------
def cached_facts(
    session: Session, env: VerifyEnv, product_id: int, lot_id: int, lang: str, cache: _Cache | None = None
) -> dict[str, Any]:
    key = _facts_key(product_id, lot_id, lang)
    if cache is None or key not in cache.values:
        cache = _Cache(env.store, [key])
    raw = cache.get(key)
    if raw is not None:
        return json.loads(raw)  # type: ignore[no-any-return]
    facts = product_facts(session, product_id, lot_id, lang)
    cache.set(key, json.dumps(facts, ensure_ascii=False).encode(), env.config.view_cache_seconds)
    return facts


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def product_facts(session: Session, product_id: int, lot_id: int, lang: str) -> dict[str, Any]:
    """Every Circular 02/2024 item for one product and lot, as plain JSON-able data."""
    product = session.get(Product, product_id)
    lot = session.get(Lot, lot_id)
    if product is None or lot is None:  # the stamp's foreign keys make this impossible
        raise LookupError("stamp without product or lot")
    producer = session.get(Producer, product.producer_id)
    assert producer is not None
    groups = {
        g.code: (g.name_en if lang == "en" else g.name_vi)
        for g in session.scalars(
            select(ProductGroup).where(
                ProductGroup.code.in_([product.group_code, product.subgroup_code or ""])
            )
        )
    }
    image = session.scalar(select(ProductImage.sha256).where(ProductImage.product_id == product.id))
    snap = producer.address_snapshot or {}
    events = session.scalars(
        select(TraceEvent).where(TraceEvent.lot_id == lot.id).order_by(TraceEvent.occurred_at, TraceEvent.seq)
    )
    cert = current_certificate(session, product.id)
    return {
        "product": {
            "id": product.id,
            "name": product.name,
            "group": groups.get(product.subgroup_code or "") or groups.get(product.group_code),
            "brand": product.brand,
            "gtin": product.gtin,
            "standards": list(product.standards or []),
            "self_declaration": product.self_declaration_ref,
            "image": f"/media/products/{product.id}?v={image[:12]}" if image else None,
            "group_code": product.subgroup_code or product.group_code,
            "raw_material_area": _raw_material_area(session, product),
        },
        "producer": {
            "name": producer.name,
            "legal_type": producer.legal_type,
            "registration_number": producer.registration_number,
            "phone": producer.phone,
            "address": snap.get("text"),
            "commune": snap.get("commune_name"),
            "province": snap.get("province_name"),
        },
        "lot": {
            "code": lot.lot_code,
            "production_date": _day(lot.production_date),
            "expiry_date": _day(lot.expiry_date),
            "quantity": lot.quantity,
            "unit": lot.unit,
            "place": lot.place,
            "inputs": _inputs(session, lot),
            "events": [
                {
                    "seq": e.seq,
                    "type": e.event_type,
                    "at": e.occurred_at.isoformat(),
                    "place": e.place,
                    "actor": e.actor,
                    "note": e.note,
                    "corrects": e.corrects_seq,
                    "documents": [
                        {
                            "name": d.get("name"),
                            "fingerprint": str(d.get("sha256", ""))[:12],
                            "sha256": d.get("sha256"),
                        }
                        for d in e.documents or []
                    ],
                }
                for e in events
            ],
        },
        "certificate": _certificate(session, cert),
    }


def _raw_material_area(session: Session, product: Product) -> list[str]:
    """The registered raw-material communes as "commune, province" (Circular 02/2024: where it comes from)."""
    codes = list(product.raw_material_communes or [])
    if not codes:
        return []
    units = {
        u.code: u
        for u in session.scalars(select(AdministrativeUnit).where(AdministrativeUnit.code.in_(codes)))
    }
    provinces = {
        u.code: u.name
        for u in session.scalars(
            select(AdministrativeUnit).where(
                AdministrativeUnit.code.in_({u.province_code for u in units.values()})
            )
        )
    }
    out = []
    for code in codes:
        unit = units.get(code)
        if unit is not None:
            province = provinces.get(unit.province_code)
            out.append(f"{unit.name}, {province}" if province else unit.name)
    return out


def _inputs(session: Session, lot: Lot) -> list[dict[str, Any]]:
    out = []
    for item in lot.input_lots or []:
        if "lot_id" in item:
            product = session.get(Product, item.get("product_id") or 0)
            out.append(
                {
                    "lot_code": item.get("lot_code"),
                    "product": product.name if product else None,
                    "supplier": None,
                }
            )
        else:
            out.append(
                {
                    "lot_code": item.get("lot_code"),
                    "product": item.get("description"),
                    "supplier": item.get("supplier"),
                }
            )
    return out


def _certificate(session: Session, cert: Certificate | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    previous = session.get(Certificate, cert.supersedes_id) if cert.supersedes_id else None
    return {
        "stars": cert.stars,
        "decision_number": cert.decision_number,
        "authority": cert.authority_name,
        "signed_on": _day(cert.signed_on),
        "valid_until": _day(cert.valid_until),
        "state": cert.state,
        "stars_changed_on": _day(cert.signed_on) if previous and previous.stars != cert.stars else None,
        "previous_stars": previous.stars if previous else None,
    }


PROVINCES_TTL = 3600.0


def provinces(session: Session, memo: dict[str, Any]) -> list[tuple[str, str]]:
    """(code, name) of the current provinces, for the optional "share your province" field.

    Kept in process for an hour: provinces change by decree, not between two scans.
    """
    import time

    cached = memo.get("provinces")
    if cached is not None and time.monotonic() - cached[0] < PROVINCES_TTL:
        return cached[1]  # type: ignore[no-any-return]
    rows = session.execute(
        select(AdministrativeUnit.code, AdministrativeUnit.name)
        .where(AdministrativeUnit.level == "province", AdministrativeUnit.valid_to.is_(None))
        .order_by(AdministrativeUnit.name)
    ).all()
    out = [(code, name) for code, name in rows]
    memo["provinces"] = (time.monotonic(), out)
    return out
