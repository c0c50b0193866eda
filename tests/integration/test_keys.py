"""Signing keys: life cycle, files, caching, the public key set, the CLI and the first-run step."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stamp_service.crypto.keyring import KeyRing, kid_for, load_private_key
from stamp_service.domain import stamp_format as sf
from stamp_service.domain.access import SYSTEM, Principal, Role
from stamp_service.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    SigningKeyUnavailable,
    UnknownSigningKey,
    ValidationFailed,
)
from stamp_service.runtime import Runtime
from stamp_service.services import keys as svc
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.keys import SigningKey


@pytest.fixture()
def ring(settings) -> KeyRing:
    return KeyRing(settings.keys_dir)


def _claims(kid: bytes, serial: int = 12345) -> sf.StampClaims:
    return sf.StampClaims(1, kid, serial, 3, 4, 21000)


def _issue(ring: KeyRing, session, serial: int = 12345) -> str:
    signer = ring.signer(session)
    return signer.sign_claims(_claims(signer.kid, serial))


def test_create_writes_a_0600_key_file_and_a_public_row(session, ring, settings):
    row = svc.create(session, SYSTEM, keyring=ring, note="first")
    path = settings.keys_dir / f"{row.kid}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    key = load_private_key(settings.keys_dir, bytes.fromhex(row.kid))
    assert kid_for(key.public_key()).hex() == row.kid
    assert Ed25519PublicKey.from_public_bytes(row.public_key) == key.public_key()
    assert row.state == "active" and row.activated_at is not None
    assert not [p for p in settings.keys_dir.iterdir() if p.name.endswith(".tmp")]
    secret = settings.keys_dir / "service-secret.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 32
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == row.kid)).all()
    assert actions == ["signing_key.create"]
    with pytest.raises(Conflict, match="rotate"):
        svc.create(session, SYSTEM, keyring=ring)


def test_rotation_keeps_retired_keys_verifying(session, ring):
    first = svc.create(session, SYSTEM, keyring=ring)
    old_token = _issue(ring, session, serial=1)
    second = svc.rotate(session, SYSTEM, keyring=ring, note="yearly", force=True)
    session.refresh(first)
    assert (first.state, second.state) == ("retired", "active") and first.retired_at is not None
    new_token = _issue(ring, session, serial=2)
    assert sf.parse_token(new_token)[0].kid.hex() == second.kid
    lookup = ring.lookup(session)
    assert sf.verify(old_token, public_key_lookup=lookup).kid.hex() == first.kid
    assert sf.verify(new_token, public_key_lookup=lookup).kid.hex() == second.kid
    assert ring.public_key(session, bytes.fromhex(first.kid)).state == "retired"
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["signing_key.retire", "signing_key.rotate"]


def test_compromise_flags_the_key_and_replaces_the_active_one(session, ring, client):
    first = svc.create(session, SYSTEM, keyring=ring)
    token = _issue(ring, session)
    bad, new = svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid.upper(), reason="laptop stolen")
    assert bad.state == "compromised" and bad.compromised_at is not None and "laptop stolen" in bad.note
    assert new is not None and new.state == "active"
    info = ring.public_key(session, bytes.fromhex(first.kid))
    assert info.state == "compromised"
    # the signature still checks out; the verdict (services) flags it from the state above
    assert sf.verify(token, public_key_lookup=ring.lookup(session)).kid.hex() == first.kid
    assert ring.signer(session).kid.hex() == new.kid
    states = {k["kid"]: k["ocop_state"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert states[first.kid] == "compromised" and states[new.kid] == "active"
    with pytest.raises(Conflict):
        svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid, reason="again")


def test_compromise_without_replacement_stops_issuance(session, ring):
    first = svc.create(session, SYSTEM, keyring=ring)
    ring.signer(session)
    _, new = svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid, reason="leak", replace=False)
    assert new is None
    with pytest.raises(SigningKeyUnavailable, match="no signing key is active"):
        ring.signer(session)
    row = svc.rotate(session, SYSTEM, keyring=ring, force=True)
    assert ring.signer(session).kid.hex() == row.kid


def test_retire_rules_and_bad_input(session, ring):
    first = svc.create(session, SYSTEM, keyring=ring)
    with pytest.raises(ValidationFailed):
        svc.retire(session, SYSTEM, keyring=ring, kid="xyz")
    with pytest.raises(NotFound):
        svc.retire(session, SYSTEM, keyring=ring, kid="00000000")
    with pytest.raises(ValidationFailed):
        svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid, reason="  ")
    svc.retire(session, SYSTEM, keyring=ring, kid=first.kid, reason="end of year")
    with pytest.raises(Conflict):
        svc.retire(session, SYSTEM, keyring=ring, kid=first.kid)
    with pytest.raises(SigningKeyUnavailable):
        ring.signer(session)
    svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid, reason="found later")
    assert session.get(SigningKey, first.kid).state == "compromised"


@pytest.mark.parametrize("role", [Role.PRODUCER, Role.INSPECTOR])
def test_only_admins_manage_keys(session, ring, role):
    actor = Principal(account_id=None, name="x", role=role, producer_id=1 if role is Role.PRODUCER else None)
    for call in (
        lambda: svc.create(session, actor, keyring=ring),
        lambda: svc.rotate(session, actor, keyring=ring, force=True),
        lambda: svc.retire(session, actor, keyring=ring, kid="00000000"),
        lambda: svc.compromise(session, actor, keyring=ring, kid="00000000", reason="r"),
        lambda: svc.list_keys(session, actor),
    ):
        with pytest.raises(Forbidden):
            call()
    assert session.scalar(select(SigningKey.kid)) is None
    assert not list(ring.keys_dir.iterdir())


def test_database_allows_one_active_key_only(session, ring):
    svc.create(session, SYSTEM, keyring=ring)
    session.add(SigningKey(kid="0badc0de", public_key=bytes(32), state="active"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_unknown_kid_is_unknown(session, ring):
    svc.create(session, SYSTEM, keyring=ring)
    other = KeyRing(ring.keys_dir / "elsewhere")
    other.keys_dir.mkdir()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Ed25519PrivateKey.generate()
    token = sf.sign_token(_claims(kid_for(stranger.public_key())), private_key=stranger)
    with pytest.raises(UnknownSigningKey):
        sf.verify(token, public_key_lookup=ring.lookup(session))


def test_missing_private_key_is_a_clear_error_without_material(session, ring, settings):
    row = svc.create(session, SYSTEM, keyring=ring)
    path = settings.keys_dir / f"{row.kid}.pem"
    pem = path.read_bytes()
    signer = ring.signer(session)
    assert repr(signer) == f"<Signer kid={row.kid}>"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(signer)
    path.unlink()
    with pytest.raises(SigningKeyUnavailable) as info:
        KeyRing(settings.keys_dir).signer(session)
    assert str(path) in info.value.detail
    body = b"".join(pem.splitlines()[1:-1]).decode()
    assert body not in info.value.detail and body not in repr(info.value)


def test_wrong_key_in_a_file_is_refused(session, ring, settings):
    first = svc.create(session, SYSTEM, keyring=ring)
    second = svc.rotate(session, SYSTEM, keyring=ring, force=True)
    os.replace(settings.keys_dir / f"{first.kid}.pem", settings.keys_dir / f"{second.kid}.pem")
    with pytest.raises(SigningKeyUnavailable, match="another key"):
        KeyRing(settings.keys_dir).signer(session)


def _in_child_as_nobody(fn) -> str:
    """Run ``fn`` in a forked child that drops root (root ignores permission bits); its text result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            result = fn()
        except BaseException as exc:
            result = f"child error: {exc!r}"
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out


def test_read_only_keys_folder_loads_but_refuses_to_create(session, ring, settings):
    row = svc.create(session, SYSTEM, keyring=ring)
    folder = Path(tempfile.mkdtemp(prefix="ocop-ro-keys-"))  # outside root's 0700 pytest folder
    try:
        shutil.copy2(settings.keys_dir / f"{row.kid}.pem", folder)
        if os.geteuid() == 0:  # the child runs as nobody, owning a folder it may not write to
            os.chown(folder, 65534, 65534)
            os.chown(folder / f"{row.kid}.pem", 65534, 65534)
        os.chmod(folder, 0o500)

        def attempt() -> str:
            load_private_key(folder, bytes.fromhex(row.kid))  # loading works
            try:
                KeyRing(folder).create_key()
            except SigningKeyUnavailable as exc:
                return exc.detail
            return "created"

        out = _in_child_as_nobody(attempt)
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(folder)
    assert "read-only" in out and str(folder) in out, out


def test_service_secret(settings, ring):
    with pytest.raises(ConfigurationError, match="service secret"):
        ring.service_secret()
    assert ring.ensure_service_secret() is True
    assert ring.ensure_service_secret() is False
    a = ring.keyed_hash(purpose="pin", data=b"1234")
    assert a == KeyRing(settings.keys_dir).keyed_hash(purpose="pin", data=b"1234")
    assert a != ring.keyed_hash(purpose="client", data=b"1234") and len(a) == 32
    assert ring.service_secret() not in repr(ring).encode()


def test_prepare_creates_a_loud_development_key_once(settings, session_factory, session):
    runtime = Runtime.from_settings(settings)
    runtime.session_factory = session_factory
    try:
        first = "\n".join(svc.prepare(runtime))
        again = "\n".join(svc.prepare(runtime))
    finally:
        runtime.engine.dispose()
    assert "service secret created" in first and "development signing key" in first
    assert "UNSAFE DEVELOPMENT KEY" in first and "never use it in production" in first
    assert "created" not in again and "UNSAFE DEVELOPMENT KEY" in again
    assert len(session.scalars(select(SigningKey)).all()) == 1


# -- /.well-known/jwks.json ---------------------------------------------------------------------


def test_jwks_lists_public_keys_only_with_caching_headers(session, ring, client):
    empty = client.get("/.well-known/jwks.json")
    assert empty.status_code == 200 and empty.get_json() == {"keys": []}
    first = svc.create(session, SYSTEM, keyring=ring)
    second = svc.rotate(session, SYSTEM, keyring=ring, force=True)
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Cache-Control"] == "public, max-age=300"
    etag = r.headers["ETag"]
    assert etag and etag != empty.headers["ETag"]
    keys = {k["kid"]: k for k in r.get_json()["keys"]}
    assert set(keys) == {first.kid, second.kid}
    for kid, jwk in keys.items():
        assert "d" not in jwk
        assert {"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA"}.items() <= jwk.items()
        raw = base64.urlsafe_b64decode(jwk["x"] + "=")
        assert kid_for(Ed25519PublicKey.from_public_bytes(raw)).hex() == kid
        assert jwk["ocop_created_at"].endswith("Z")
    assert keys[first.kid]["ocop_state"] == "retired" and keys[first.kid]["ocop_retired_at"]
    assert keys[second.kid]["ocop_state"] == "active" and keys[second.kid]["ocop_retired_at"] is None
    assert b"PRIVATE" not in r.data
    cached = client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    assert client.get("/.well-known/jwks.json", headers={"If-None-Match": '"nope"'}).status_code == 200
    svc.compromise(session, SYSTEM, keyring=ring, kid=first.kid, reason="test")
    assert client.get("/.well-known/jwks.json", headers={"If-None-Match": etag}).status_code == 200


def test_jwks_refuses_other_methods(client):
    r = client.post("/.well-known/jwks.json", json={"keys": []})
    assert r.status_code == 405 and r.content_type == "application/problem+json"


# -- CLI (its own SQLite file: CLI commands commit for real) ------------------------------------


def test_cli_key_commands(tmp_path: Path):
    from stamp_service.cli import main

    keys_dir = tmp_path / "cli-keys"
    keys_dir.mkdir()
    env = {
        "OCOP_KEYS_DIR": str(keys_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OCOP_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": "",
    }
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    run("migrate")
    assert "no signing keys" in run("keys", "list")
    first = run("keys", "create", "--note", "office").split()[1]
    assert (keys_dir / f"{first}.pem").exists()
    assert "use `keys rotate`" in run("keys", "create", code=2)
    second = run("keys", "rotate", "--force").split()[1]
    listing = run("keys", "list")
    assert f"{first}  retired" in listing and f"{second}  active" in listing
    assert "reason" in run("keys", "compromise", first, code=2).lower()
    run("keys", "compromise", first, "--reason", "lost backup")
    assert f"{first}  compromised" in run("keys", "list")
    assert "no key is active" in run("keys", "retire", second)
    assert "error:" in run("keys", "retire", "zz", code=2)
