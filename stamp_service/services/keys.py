"""Signing key life cycle (admin only, audited, one transaction each) and the public key set.

States (docs/stamp-format.md, "Keys"): ``pending`` (published in the JWKS and the status
bundle, signs nothing yet) -> ``active`` (signs new stamps; at most one, enforced by a partial
unique index) -> ``retired`` (signs nothing, its stamps still verify) ; any state ->
``compromised`` (terminal; its stamps verify online only, flagged). ``create`` makes the first
key; afterwards ``publish`` adds a pending key and ``rotate`` activates it once it has been
published for ``publish_period`` (so offline scanners, whose bundles are valid for at most
``services.bundle.VALIDITY``, know it before it signs). Private key files are written before the
database row: if the transaction then fails, the orphan file is harmless (no row, never used).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.crypto.keyring import KeyRing, for_runtime, raw_public
from stamp_service.domain.access import SYSTEM, Principal, Role, require_central, require_role
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.runtime import Runtime
from stamp_service.services import audit
from stamp_service.services.status_events import status_changed
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.keys import SigningKey

# A pending key is in every bundle built after it was published; the bundle is rebuilt at least
# hourly and valid for 7 days (services.bundle), so after 7 days + 1 hour every scanner still
# giving offline verdicts knows it. ``OCOP_KEY_PUBLISH_HOURS`` changes it (Settings).
DEFAULT_PUBLISH_PERIOD = timedelta(days=7, hours=1)
DEV_KEY_NOTE = "UNSAFE DEVELOPMENT KEY (created on first run of the embedded default)"
_AUDITED = ("kid", "state", "activated_at", "retired_at", "compromised_at", "note")
_KID = re.compile(r"^[0-9a-f]{8}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _kid(text: str, *, malformed_is_unknown: bool = False) -> str:
    kid = text.strip().lower()
    if not _KID.match(kid):
        if malformed_is_unknown:  # e.g. a URL path segment: no such resource
            raise NotFound(f"no signing key {text}")
        raise ValidationFailed([{"field": "kid", "message": "a key id is 8 hexadecimal characters"}])
    return kid


def get_key(
    session: Session, kid: str, *, lock: bool = True, malformed_is_unknown: bool = False
) -> SigningKey:
    """The key ``kid`` (locked ``FOR UPDATE`` unless ``lock=False``); NotFound if unknown.

    A malformed kid is ValidationFailed, or NotFound with ``malformed_is_unknown`` (API paths).
    """
    stmt = select(SigningKey).where(SigningKey.kid == _kid(kid, malformed_is_unknown=malformed_is_unknown))
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound(f"no signing key {kid}")
    return row


def active_key(session: Session, *, lock: bool = True) -> SigningKey | None:
    """The key signing new stamps, if any (locked ``FOR UPDATE`` unless ``lock=False``)."""
    stmt = select(SigningKey).where(SigningKey.state == "active")
    return session.scalar(stmt.with_for_update() if lock else stmt)


def _retire(session: Session, actor: Principal, row: SigningKey, reason: str | None) -> None:
    """Retire ``row`` (it signs nothing more, its stamps still verify) and audit it; no commit."""
    before = audit.snapshot(row, _AUDITED)
    row.state, row.retired_at = "retired", _now()
    session.flush()
    audit.record(
        session,
        actor,
        action="signing_key.retire",
        entity="signing_key",
        entity_id=row.kid,
        before=before,
        after=audit.snapshot(row, _AUDITED),
        reason=reason,
    )


def _new_key(
    session: Session, actor: Principal, keyring: KeyRing, note: str, action: str, *, state: str = "active"
) -> SigningKey:
    kid, public = keyring.create_key()
    if session.get(SigningKey, kid.hex()) is not None:  # 2**-32 per pair: never, but never silently
        raise Conflict(f"key id {kid.hex()} exists already; run the command again")
    now = _now()
    row = SigningKey(
        kid=kid.hex(),
        public_key=raw_public(public),
        state=state,
        created_at=now,
        activated_at=now if state == "active" else None,
        note=note,
    )
    session.add(row)
    flush_or_conflict(session, "another key was activated at the same time")
    audit.record(
        session,
        actor,
        action=action,
        entity="signing_key",
        entity_id=row.kid,
        after=audit.snapshot(row, _AUDITED),
    )
    return row


def _commit(session: Session, keyring: KeyRing) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("another key change happened at the same time; check `keys list` and retry") from None
    finally:
        keyring.invalidate()
    status_changed(session)  # key states are part of every stamp's verdict and of the bundle


def create(session: Session, actor: Principal, *, keyring: KeyRing, note: str = "") -> SigningKey:
    """Make the first active key. Raises Conflict when a key is active (use ``rotate``)."""
    require_role(actor, Role.ADMIN)
    require_central(actor)
    current = active_key(session)
    if current is not None:
        raise Conflict(f"key {current.kid} is active; use `keys rotate` to replace it")
    row = _new_key(session, actor, keyring, note, "signing_key.create")
    keyring.ensure_service_secret()
    _commit(session, keyring)
    return row


def pending_keys(session: Session, *, lock: bool = False) -> list[SigningKey]:
    """Published keys waiting to sign, oldest first (locked ``FOR UPDATE`` with ``lock``)."""
    stmt = select(SigningKey).where(SigningKey.state == "pending").order_by(SigningKey.created_at)
    return list(session.scalars(stmt.with_for_update() if lock else stmt))


def activatable_at(row: SigningKey, publish_period: timedelta = DEFAULT_PUBLISH_PERIOD) -> datetime:
    """When a pending key has been published long enough to sign."""
    return row.created_at + publish_period


def publish(session: Session, actor: Principal, *, keyring: KeyRing, note: str = "") -> SigningKey:
    """A new **pending** key: in the JWKS and the status bundle from now on, signing nothing yet."""
    require_role(actor, Role.ADMIN)
    require_central(actor)
    row = _new_key(session, actor, keyring, note, "signing_key.publish", state="pending")
    _commit(session, keyring)
    return row


def rotate(
    session: Session,
    actor: Principal,
    *,
    keyring: KeyRing,
    note: str = "",
    force: bool = False,
    publish_period: timedelta = DEFAULT_PUBLISH_PERIOD,
    now: datetime | None = None,
    reason: str = "",
) -> SigningKey:
    """The oldest pending key becomes active; the previous active key (if any) is retired.

    Raises Conflict when no key is pending, or when it was published less than
    ``publish_period`` ago (offline scanners may not know it yet). ``force`` activates anyway,
    and with no pending key creates one and activates it at once (an emergency, or the very
    first key of a development install): offline scanners then say "not genuine" for its stamps
    until their next bundle. ``reason`` (why it was forced, from the console) joins the audit entry.
    """
    require_role(actor, Role.ADMIN)
    require_central(actor)
    now = now or _now()
    waiting = pending_keys(session, lock=True)  # a concurrent rotation waits, then sees it active
    if waiting and not force and now < activatable_at(waiting[0], publish_period):
        when = activatable_at(waiting[0], publish_period).strftime("%Y-%m-%d %H:%M UTC")
        raise Conflict(
            f"key {waiting[0].kid} was published {waiting[0].created_at:%Y-%m-%d %H:%M UTC}; offline "
            f"scanners may not know it before {when}: rotate then, or force it"
        )
    if not waiting and not force:
        raise Conflict("no key is pending: publish one first (`keys publish`), then rotate once it is known")
    previous = active_key(session)
    if previous is not None:
        _retire(session, actor, previous, "rotation")
    if waiting:
        row = waiting[0]
        before = audit.snapshot(row, _AUDITED)
        row.state, row.activated_at = "active", now
        if note:
            row.note = (row.note + "; " if row.note else "") + note
        flush_or_conflict(session, "another key was activated at the same time")
        audit.record(
            session,
            actor,
            action="signing_key.rotate",
            entity="signing_key",
            entity_id=row.kid,
            before=before,
            after=audit.snapshot(row, _AUDITED),
            reason=_forced_reason(reason) if force and now < activatable_at(row, publish_period) else None,
        )
    else:
        row = _new_key(session, actor, keyring, note, "signing_key.rotate")
    _commit(session, keyring)
    return row


def _forced_reason(reason: str) -> str:
    text = "forced before its publication period"
    return f"{text}: {reason.strip()}" if reason.strip() else text


def retire(session: Session, actor: Principal, *, keyring: KeyRing, kid: str, reason: str = "") -> SigningKey:
    """Stop signing with ``kid``; its stamps still verify. Retiring the active key stops issuance."""
    require_role(actor, Role.ADMIN)
    require_central(actor)
    row = get_key(session, kid)
    if row.state != "active":
        raise Conflict(f"key {row.kid} is {row.state}; only the active key can be retired")
    _retire(session, actor, row, reason or None)
    _commit(session, keyring)
    return row


def compromise(
    session: Session,
    actor: Principal,
    *,
    keyring: KeyRing,
    kid: str,
    reason: str,
    replace: bool = True,
    decision: dict[str, Any] | None = None,
) -> tuple[SigningKey, SigningKey | None]:
    """Mark ``kid`` compromised (terminal). If it was active and ``replace``, a new key takes over
    in the same transaction; the new key's file is written first, so a read-only keys folder
    fails the whole action (use ``replace=False`` there, then rotate on the signing host).
    ``decision`` (number, date, authority: the console asks for it) is kept in the audit entry.
    """
    require_role(actor, Role.ADMIN)
    require_central(actor)
    if not reason.strip():
        raise ValidationFailed([{"field": "reason", "message": "say why the key is compromised"}])
    row = get_key(session, kid)
    if row.state == "compromised":
        raise Conflict(f"key {row.kid} is already compromised")
    was_active = row.state == "active"
    before = audit.snapshot(row, _AUDITED)
    row.state, row.compromised_at = "compromised", _now()
    row.note = (row.note + "; " if row.note else "") + f"compromised: {reason.strip()}"
    session.flush()
    audit.record(
        session,
        actor,
        action="signing_key.compromise",
        entity="signing_key",
        entity_id=row.kid,
        before=before,
        after=audit.snapshot(row, _AUDITED),
        reason=reason.strip(),
        decision=decision,
    )
    replacement = None
    if was_active and replace:
        replacement = _new_key(
            session, actor, keyring, f"replaces compromised {row.kid}", "signing_key.rotate"
        )
    _commit(session, keyring)
    return row, replacement


def list_keys(session: Session, actor: Principal) -> list[SigningKey]:
    require_role(actor, Role.ADMIN)
    require_central(actor)
    return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def public_jwks(session: Session) -> dict[str, Any]:
    """The public key set (RFC 7517/8037 OKP keys) with OCOP state members; public, no actor."""
    keys = []
    for row in session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)):
        keys.append(
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": base64.urlsafe_b64encode(row.public_key).decode("ascii").rstrip("="),
                "kid": row.kid,
                "use": "sig",
                "alg": "EdDSA",
                "ocop_state": row.state,
                "ocop_created_at": _iso(row.created_at),
                "ocop_activated_at": _iso(row.activated_at),
                "ocop_retired_at": _iso(row.retired_at),
                "ocop_compromised_at": _iso(row.compromised_at),
            }
        )
    return {"keys": keys}


def prepare(runtime: Runtime) -> Iterator[str]:
    """Embedded first-run step: the service secret, and a development key when none is active."""
    ring = for_runtime(runtime)
    if ring.ensure_service_secret():
        yield f"service secret created in {ring.secret_path}"
    with runtime.session_factory() as session:
        active = session.scalar(select(SigningKey).where(SigningKey.state == "active"))
        if active is None:
            active = rotate(session, SYSTEM, keyring=ring, note=DEV_KEY_NOTE, force=True)
            yield f"development signing key {active.kid} created in {ring.keys_dir}"
        if active.note == DEV_KEY_NOTE:
            bar = "!" * 78
            yield from (
                bar,
                f"!! UNSAFE DEVELOPMENT KEY {active.kid} is signing stamps.",
                "!! It was made on this machine for trying the service: never use it in production.",
                "!! Production: create keys with `stamp-service keys create` on the signing host.",
                bar,
            )
