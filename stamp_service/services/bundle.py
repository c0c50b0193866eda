"""Building, storing and serving the signed offline status bundle (docs/status-bundle.md).

A bundle is rebuilt only when the shared status generation moved since the
stored one was built (``status_events``), or when the stored one is older than
``REISSUE_AFTER`` (so its signed issue time stays honest, and a change that
could not bump the generation, e.g. a CLI run on the embedded default without
Redis, is picked up anyway). The generation is read *before* the database, so
a bundle can be labelled with an older generation than its content (rebuilt
once more, harmless) but never with a newer one.

The sequence number is ``max(seq) + 1`` in the storing transaction and the
primary key, so racing workers cannot store the same number and it never goes
backwards. Building needs the active key's private half: a host without it
serves the newest stored bundle and logs why it could not rebuild.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.adapters.redis import Store
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import serials
from stamp_service.domain.bundle import BundleContent, BundleKey, LinkLot, ProductName, ProductStatus, encode
from stamp_service.domain.digital_link import StampForm
from stamp_service.errors import NotFound, SigningKeyUnavailable
from stamp_service.services.certificates import current_certificate_ids
from stamp_service.services.status_events import current_generation
from stamp_service.storage.db import is_postgres
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid
from stamp_service.storage.models.status_bundles import StatusBundleRecord

log = logging.getLogger(__name__)

REFRESH_AFTER = timedelta(minutes=15)  # the hint: when a client should look for a newer bundle
REISSUE_AFTER = timedelta(hours=1)  # rebuild at least this often even when nothing changed
# How long a scanner may give verdicts from one bundle: past it, it says "confirm online".
# A key is published (pending) at least this long plus REISSUE_AFTER before it signs, so every
# scanner whose bundle is still valid already knows it (services/keys.py, PUBLISH_PERIOD).
VALIDITY = timedelta(days=7)
# Lot codes carried, newest lots first, up to this many UTF-8 bytes (about 0.9 MB gzipped at
# national scale: bench/bundle.py). Older lots show their number only; the online page names them.
# The lots with Digital Link stamps (LINK_LOTS) are carried first, all of them, and charged to
# this budget: verifying a link needs its lot, showing an opaque stamp's lot code is a nicety.
LOT_CODE_BUDGET = 3_500_000
# What one LINK_LOTS entry costs beyond its code's bytes, in LOT_CODES budget bytes (its numbers
# gzip to about 2.5 bytes, a LOT_CODES byte to about 0.25: bench/bundle.py).
LINK_LOT_CHARGE = 10
KEEP = 3  # stored bundles kept (the newest is never deleted, so seq never goes backwards)
_BUILD_LOCK_KEY = 0x0C0A5B1D  # PostgreSQL advisory lock: one builder at a time


def _now() -> datetime:
    return datetime.now(UTC)


def _secs(value: datetime | None) -> int:
    return int(value.timestamp()) if value else 0


def gather(session: Session) -> BundleContent:
    """The facts of every key, product, recalled lot and voided stamp, as the bundle carries them."""
    keys = [
        BundleKey(
            bytes.fromhex(k.kid),
            k.public_key,
            k.state,
            _secs(k.activated_at),
            _secs(k.retired_at),
            _secs(k.compromised_at),
        )
        for k in session.scalars(select(SigningKey))
    ]
    max_product = session.scalar(select(func.max(Product.id))) or 0
    products: dict[int, ProductStatus] = {}
    current = current_certificate_ids()  # the one definition of the current certificate
    rows = session.execute(
        select(Certificate.product_id, Certificate.stars, Certificate.valid_until, Certificate.state)
        .join(current, current.c.certificate_id == Certificate.id)
        .order_by(Certificate.product_id)
    )
    for product_id, stars, valid_until, state in rows:
        products[product_id] = ProductStatus(valid_until, stars, state == "withdrawn")
    names = {
        product_id: ProductName(name, producer)
        for product_id, name, producer in session.execute(
            select(Product.id, Product.name, Producer.name).join(Producer, Producer.id == Product.producer_id)
        )
    }
    max_lot = session.scalar(select(func.max(Lot.id))) or 0
    recalled = [
        lot_id
        for lot_id, recall in session.execute(select(Lot.id, Lot.recall).where(Lot.recall.isnot(None)))
        if recall
    ]
    links = link_lots(session)
    voided = session.scalars(
        select(Stamp.serial)
        .join(StampVoid, StampVoid.request_id == Stamp.request_id)
        .where(Stamp.seq >= StampVoid.seq_from, Stamp.seq <= StampVoid.seq_to)
    )
    return BundleContent(
        keys=keys,
        products=products,
        product_count=max_product + 1 if max_product else 0,
        recalled_lots=recalled,
        lot_count=max_lot + 1 if max_lot else 0,
        voided_serials=[serials.from_db(s) for s in voided],
        names=names,
        lot_codes=newest_lot_codes(session, lot_code_budget(links)),
        link_lots=links,
    )


def lot_code_budget(links: list[LinkLot], budget: int = LOT_CODE_BUDGET) -> int:
    """What LINK_LOTS leaves of the lot code budget for LOT_CODES (never below zero)."""
    return max(0, budget - sum(len(lot.lot_code.encode("utf-8")) + 1 + LINK_LOT_CHARGE for lot in links))


def link_lots(session: Session) -> list[LinkLot]:
    """Every lot of a GTIN product that has a Digital Link request (not rejected), however old.

    An offline scanner must turn each Digital Link it reads back into the token, so these are
    carried whatever their age (unlike LOT_CODES); a request still awaiting issuance counts, so
    its stamps verify offline from the first bundle built after they are printed.
    """
    rows = session.execute(
        select(Product.gtin, Product.id, Lot.lot_code, Lot.id)
        .join(Lot, Lot.product_id == Product.id)
        .where(
            Product.gtin.isnot(None),
            Lot.id.in_(
                select(StampRequest.lot_id).where(
                    StampRequest.form == StampForm.DIGITAL_LINK.value, StampRequest.state != "rejected"
                )
            ),
        )
    )
    links = [LinkLot(gtin, product_id, code, lot_id) for gtin, product_id, code, lot_id in rows if gtin]
    owners: dict[int, set[int]] = {}
    for lot in links:
        owners.setdefault(int(lot.gtin), set()).add(lot.product_index)
    shared = {number for number, products in owners.items() if len(products) > 1}
    if shared:  # "8936012345674" and "08936012345674" registered apart: no link can say which
        log.warning("GTINs of two products left out of LINK_LOTS", extra={"gtins": sorted(shared)})
    return [lot for lot in links if int(lot.gtin) not in shared]


def newest_lot_codes(session: Session, budget: int = LOT_CODE_BUDGET) -> dict[int, str]:
    """The codes of the newest lots whose UTF-8 bytes (plus one each) fit in ``budget``.

    Lot indices interleave all products, so a full table costs about 2 bytes a lot even
    gzipped (which products own which lots cannot be compressed away); the newest lots are
    the ones on shelves.
    """
    out: dict[int, str] = {}
    used = 0
    for lot_id, code in session.execute(select(Lot.id, Lot.lot_code).order_by(Lot.id.desc())):
        used += len(code.encode("utf-8")) + 1
        if used > budget:
            break
        out[lot_id] = code
    return out


def latest(session: Session) -> StatusBundleRecord | None:
    return session.scalar(select(StatusBundleRecord).order_by(StatusBundleRecord.seq.desc()).limit(1))


def _fresh(row: StatusBundleRecord | None, generation: int, now: datetime) -> bool:
    return row is not None and row.generation == generation and now - row.issued_at < REISSUE_AFTER


def build(
    session: Session, keyring: KeyRing, *, generation: int, now: datetime | None = None, force: bool = False
) -> StatusBundleRecord:
    """Build, sign and store the next bundle (unless a fresh one exists and not ``force``); commits.

    Raises SigningKeyUnavailable when the active key's private half is not on this host.
    """
    now = (now or _now()).replace(microsecond=0)
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BUILD_LOCK_KEY})
    previous = latest(session)
    if not force and _fresh(previous, generation, now):  # another worker built it while we waited
        assert previous is not None
        session.commit()
        return previous
    signer = keyring.signer(session)
    content = gather(session)
    seq = (previous.seq if previous else 0) + 1
    issued = max(now, previous.issued_at) if previous else now  # issue times never go backwards either
    content.valid_until = _secs(issued + VALIDITY)
    data = encode(
        content,
        kid=signer.kid,
        seq=seq,
        issued_at=_secs(issued),
        refresh_after=_secs(issued + REFRESH_AFTER),
        sign=signer.sign,
    )
    row = StatusBundleRecord(
        seq=seq,
        generation=generation,
        issued_at=issued,
        refresh_after=issued + REFRESH_AFTER,
        kid=signer.kid.hex(),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        data=data,
        counts={
            "keys": len(content.keys),
            "products": content.product_count,
            "withdrawn": sum(1 for p in content.products.values() if p.withdrawn),
            "below_three": sum(1 for p in content.products.values() if p.stars < 3),
            "lots": content.lot_count,
            "recalled": len(list(content.recalled_lots)),
            "voided": len(set(content.voided_serials)),
            "named_products": len(content.names),
            "lot_codes": len(content.lot_codes),
            "link_lots": len(list(content.link_lots)),
        },
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # another builder stored this seq first: use theirs
        session.rollback()
        found = latest(session)
        if found is None:  # pragma: no cover - the winner's row is committed
            raise
        return found
    session.execute(delete(StatusBundleRecord).where(StatusBundleRecord.seq <= seq - KEEP))
    session.commit()
    log.info("status bundle built", extra={"seq": seq, "size": len(data), "generation": generation})
    return row


def current(
    session: Session, keyring: KeyRing, store: Store, *, now: datetime | None = None
) -> StatusBundleRecord:
    """The bundle to serve: the stored one while fresh, else a new one. NotFound if none can exist."""
    generation = current_generation(store)  # first: see the module docstring
    now = now or _now()
    row = latest(session)
    if _fresh(row, generation, now):
        assert row is not None
        return row
    try:
        return build(session, keyring, generation=generation, now=now)
    except SigningKeyUnavailable as exc:
        session.rollback()
        log.warning("status bundle not rebuilt: %s", exc.detail)
        row = latest(session)
        if row is None:
            raise NotFound("no status bundle has been built yet (no signing key here)") from None
        return row


@dataclass(frozen=True)
class Served:
    seq: int
    generation: int
    issued_at: datetime
    refresh_after: datetime
    kid: str
    sha256: str
    size: int
    counts: dict[str, int]
    data: bytes
    checked_at: datetime


class BundleCache:
    """Per process: the bundle last served, so a request costs one generation read, not a query."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served: Served | None = None

    def get(self, session: Session, keyring: KeyRing, store: Store, *, now: datetime | None = None) -> Served:
        now = now or _now()
        generation = current_generation(store)
        with self._lock:
            served = self._served
        if served is not None and served.generation == generation and now - served.issued_at < REISSUE_AFTER:
            return served
        row = current(session, keyring, store, now=now)
        served = Served(
            row.seq,
            row.generation,
            row.issued_at,
            row.refresh_after,
            row.kid,
            row.sha256,
            row.size,
            dict(row.counts),
            bytes(row.data),
            now,
        )
        with self._lock:
            if self._served is None or served.seq >= self._served.seq:
                self._served = served
        return served
