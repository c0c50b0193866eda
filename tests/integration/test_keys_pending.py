"""Pending keys (issue 14): published in the JWKS and the status bundle before they sign.

A rotation activates the oldest pending key only once it has been published for the publish
period (so every offline scanner with a still-valid bundle knows it), unless forced. The status
bundle lists the pending key (in PENDING_KEYS) and carries its own validity.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import bundle as fmt
from stamp_service.domain import stamp_format as sf
from stamp_service.domain.access import SYSTEM
from stamp_service.errors import Conflict
from stamp_service.services import bundle as bundle_svc
from stamp_service.services import keys as svc
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.keys import SigningKey


@pytest.fixture()
def ring(settings) -> KeyRing:
    return KeyRing(settings.keys_dir)


def _backdate(session, kid: str, days: float) -> None:
    row = session.get(SigningKey, kid)
    row.created_at = row.created_at - timedelta(days=days)
    session.flush()


def test_a_published_key_is_public_but_signs_nothing_until_rotated(session, ring):
    first = svc.create(session, SYSTEM, keyring=ring)
    pending = svc.publish(session, SYSTEM, keyring=ring, note="2027")
    assert (pending.state, pending.activated_at) == ("pending", None)
    assert ring.signer(session).kid.hex() == first.kid  # the active key still signs
    jwks = {k["kid"]: k for k in svc.public_jwks(session)["keys"]}
    assert jwks[pending.kid]["ocop_state"] == "pending"
    assert base64.urlsafe_b64decode(jwks[pending.kid]["x"] + "=") == pending.public_key
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == pending.kid)).all()
    assert actions == ["signing_key.publish"]


def test_rotation_waits_for_the_publish_period_unless_forced(session, ring):
    first = svc.create(session, SYSTEM, keyring=ring)
    with pytest.raises(Conflict, match="publish one first"):
        svc.rotate(session, SYSTEM, keyring=ring)
    pending = svc.publish(session, SYSTEM, keyring=ring)
    with pytest.raises(Conflict, match="offline scanners may not know it"):
        svc.rotate(session, SYSTEM, keyring=ring)
    assert session.get(SigningKey, first.kid).state == "active"
    _backdate(session, pending.kid, 8)  # published longer than the default 7 days + 1 hour
    row = svc.rotate(session, SYSTEM, keyring=ring, note="yearly")
    assert (row.kid, row.state) == (pending.kid, "active") and row.activated_at is not None
    assert session.get(SigningKey, first.kid).state == "retired"
    assert ring.signer(session).kid.hex() == pending.kid


def test_the_publish_period_is_configurable_and_force_overrides_it(session, ring):
    svc.create(session, SYSTEM, keyring=ring)
    pending = svc.publish(session, SYSTEM, keyring=ring)
    _backdate(session, pending.kid, 1)
    with pytest.raises(Conflict):
        svc.rotate(session, SYSTEM, keyring=ring)
    assert svc.rotate(session, SYSTEM, keyring=ring, publish_period=timedelta(hours=12)).kid == pending.kid
    second = svc.publish(session, SYSTEM, keyring=ring)
    forced = svc.rotate(session, SYSTEM, keyring=ring, force=True)
    assert forced.kid == second.kid
    reason = session.scalars(
        select(AuditEntry.reason).where(
            AuditEntry.entity_id == second.kid, AuditEntry.action == "signing_key.rotate"
        )
    ).one()
    assert "forced" in reason


def test_the_bundle_lists_the_pending_key_and_its_validity(session, ring):
    svc.create(session, SYSTEM, keyring=ring)
    pending = svc.publish(session, SYSTEM, keyring=ring)
    now = datetime.now(UTC).replace(microsecond=0)
    row = bundle_svc.build(session, ring, generation=1, force=True, now=now)
    public = {k.kid: k.public_key for k in session.scalars(select(SigningKey))}

    def lookup(kid: bytes):  # type: ignore[no-untyped-def]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        return Ed25519PublicKey.from_public_bytes(public[kid.hex()])

    decoded = fmt.decode(bytes(row.data), public_key_lookup=lookup)
    assert decoded.keys[bytes.fromhex(pending.kid)].state == "pending"
    assert decoded.valid_until == int((now + bundle_svc.VALIDITY).timestamp())
    assert svc.DEFAULT_PUBLISH_PERIOD >= bundle_svc.VALIDITY + bundle_svc.REISSUE_AFTER
    # After the rotation the pending key signs; an old scanner's bundle still verifies its stamps.
    _backdate(session, pending.kid, 8)
    svc.rotate(session, SYSTEM, keyring=ring)
    signer = ring.signer(session)
    token = signer.sign_claims(sf.StampClaims(1, signer.kid, 777, 1, 1, 40000))
    claims, signature, message = sf.parse_token(token)
    result = fmt.offline_verdict(
        decoded, claims, signature, message, today=now.date(), now=int(now.timestamp())
    )
    assert result.cause != "unknown_key" and result.verdict != fmt.OfflineVerdict.NOT_GENUINE
    stale = fmt.offline_verdict(
        decoded, claims, signature, message, today=now.date(), now=decoded.valid_until + 1
    )
    assert (stale.verdict, stale.cause) == (fmt.OfflineVerdict.CHECK_ONLINE, "bundle_expired")


def test_cli_publish_list_and_rotate(tmp_path: Path):
    from stamp_service.cli import main

    env = {
        "OCOP_KEYS_DIR": str(tmp_path / "keys"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OCOP_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": "",
    }
    (tmp_path / "keys").mkdir()
    runner = CliRunner()

    def run(*args: str, code: int = 0, **extra: str) -> str:
        result = runner.invoke(main, list(args), env=env | extra)
        assert result.exit_code == code, result.output
        return result.output

    run("migrate")
    first = run("keys", "create").split()[1]
    assert "publish one first" in run("keys", "rotate", code=2)
    out = run("keys", "publish", "--note", "2027")
    second = out.split()[1]
    assert "pending" in out and "can activate it from" in out
    listing = run("keys", "list")
    assert f"{second}  pending" in listing and "activatable=" in listing
    assert "may not know it" in run("keys", "rotate", code=2)
    assert f"key {second} is now active" in run("keys", "rotate", OCOP_KEY_PUBLISH_HOURS="0")
    listing = run("keys", "list")
    assert f"{first}  retired" in listing and f"{second}  active" in listing
