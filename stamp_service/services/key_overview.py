"""What the console's signing keys page shows: each key, the stamps it signed, where it is published.

Read-only, central administrators only (``keys.list_keys``' check). The JWKS lists every key row
(``keys.public_jwks``), so a key is in it from the moment it exists. The offline bundle is read
from the newest stored bundle (``bundle.latest``): a key made or changed after it was built shows
"not yet" until the next build (at the next bundle request, at most an hour later). Stamps are
counted by one ``GROUP BY kid`` over the stamps table: a full scan, fine for a page a central
administrator opens rarely; an index on ``stamps.kid`` would make it cheap at national scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain import bundle as bundle_format
from stamp_service.domain.access import Principal
from stamp_service.errors import NotFound
from stamp_service.services import bundle, keys
from stamp_service.storage.models.keys import SigningKey
from stamp_service.storage.models.stamps import Stamp


@dataclass(frozen=True)
class BundleInfo:
    seq: int
    issued_at: datetime
    states: dict[str, str]  # kid -> its state as that bundle carries it


@dataclass(frozen=True)
class KeyView:
    key: SigningKey
    stamps: int
    in_jwks: bool
    bundle_state: str | None  # the state the newest bundle carries, None when not in it
    bundle_seq: int | None  # that bundle's number, None when no bundle was built yet
    activatable_at: datetime | None  # pending keys: when rotation may activate it without force

    @property
    def bundle_up_to_date(self) -> bool:
        return self.bundle_state == self.key.state


@dataclass(frozen=True)
class KeysOverview:
    keys: list[KeyView]
    bundle: BundleInfo | None

    @property
    def active(self) -> KeyView | None:
        return next((k for k in self.keys if k.key.state == "active"), None)

    @property
    def pending(self) -> KeyView | None:
        """The key the next rotation activates (the oldest pending)."""
        return next((k for k in self.keys if k.key.state == "pending"), None)


def stamps_signed(session: Session) -> dict[str, int]:
    """Stamps per key id."""
    return {k: n for k, n in session.execute(select(Stamp.kid, func.count()).group_by(Stamp.kid))}


def newest_bundle(session: Session) -> BundleInfo | None:
    """The key states the newest stored bundle carries (its signature checked), or None."""
    row = bundle.latest(session)
    if row is None:
        return None
    public = {
        bytes.fromhex(k.kid): Ed25519PublicKey.from_public_bytes(k.public_key)
        for k in session.scalars(select(SigningKey))
    }
    try:
        parsed = bundle_format.decode(bytes(row.data), public_key_lookup=public.get)
    except bundle_format.InvalidBundle:
        return None
    states = {kid.hex(): key.state for kid, key in parsed.keys.items()}
    return BundleInfo(row.seq, row.issued_at, states)


def overview(session: Session, actor: Principal, *, publish_period: timedelta) -> KeysOverview:
    rows = keys.list_keys(session, actor)  # the access check: central administrators
    counts = stamps_signed(session)
    info = newest_bundle(session)
    views = [
        KeyView(
            key=row,
            stamps=counts.get(row.kid, 0),
            in_jwks=True,
            bundle_state=info.states.get(row.kid) if info else None,
            bundle_seq=info.seq if info else None,
            activatable_at=keys.activatable_at(row, publish_period) if row.state == "pending" else None,
        )
        for row in rows
    ]
    views.sort(key=lambda v: (_ORDER.get(v.key.state, 9), -v.key.created_at.timestamp()))
    return KeysOverview(views, info)


_ORDER = {"active": 0, "pending": 1, "compromised": 2, "retired": 3}


def key_view(
    session: Session, actor: Principal, kid: str, *, publish_period: timedelta
) -> tuple[KeyView, KeysOverview]:
    """One key and the overview it is part of (NotFound for an unknown id)."""
    listing = overview(session, actor, publish_period=publish_period)
    found = [v for v in listing.keys if v.key.kid == kid]
    if not found:
        raise NotFound(f"no signing key {kid}")
    return found[0], listing
