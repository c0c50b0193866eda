"""The key ring: private signing keys in files, public keys and states from the database.

Private keys are ``<keys_dir>/<kid>.pem`` (PKCS#8 PEM, mode 0600), created without ever
overwriting a file; production may mount ``keys_dir`` read-only (loading works, creating
fails with a clear message). Private material never appears in logs, reprs or errors.
Verification hosts need no private key: public keys live in the ``signing_keys`` table.

``KeyRing`` caches, per process: the table snapshot (a few rows) for at most
``STATE_TTL`` seconds, so a state change made by another worker is seen within a
second; the loaded ``Signer`` of the active key; the service secret.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stamp_service.errors import ConfigurationError, SigningKeyUnavailable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from stamp_service.domain.stamp_format import StampClaims
    from stamp_service.runtime import Runtime

log = logging.getLogger(__name__)

STATE_TTL = 1.0
SECRET_FILE = "service-secret.key"
SECRET_LEN = 32


def kid_for(public_key: Ed25519PublicKey) -> bytes:
    """The key id: the first 4 bytes of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(raw_public(public_key)).digest()[:4]


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read_only_error(keys_dir: Path, what: str) -> NoReturn:
    raise SigningKeyUnavailable(
        f"cannot create {what}: the keys folder {keys_dir} is read-only here; "
        "create keys on the signing host with a writable keys folder"
    )


def _write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 atomically: never overwrite, never leave a partial file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            _read_only_error(path.parent, path.name)
        if exc.errno == errno.ENOENT:
            raise SigningKeyUnavailable(f"the keys folder {path.parent} does not exist") from None
        raise
    try:
        try:
            os.fchmod(fd, 0o600)
            if os.write(fd, data) != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:  # a full disk: no empty or partial temporary file is left behind
        tmp.unlink(missing_ok=True)
        raise SigningKeyUnavailable(f"cannot write {path.name} in {path.parent}: {exc.strerror}") from None
    try:
        os.link(tmp, path)  # fails if ``path`` exists: a key file is never replaced
    except FileExistsError:
        raise SigningKeyUnavailable(f"{path.name} already exists in {path.parent}") from None
    finally:
        tmp.unlink()


def create_private_key(keys_dir: Path) -> tuple[bytes, Ed25519PublicKey]:
    """Generate a key, write ``<kid>.pem``; return (kid, public key)."""
    key = Ed25519PrivateKey.generate()
    kid = kid_for(key.public_key())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_secret_file(keys_dir / f"{kid.hex()}.pem", pem)
    return kid, key.public_key()


def load_private_key(keys_dir: Path, kid: bytes) -> Ed25519PrivateKey:
    """The private key of ``kid``; raises SigningKeyUnavailable (never showing key material)."""
    path = keys_dir / f"{kid.hex()}.pem"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyUnavailable(f"the private key file {path} is missing on this host") from None
    except PermissionError:
        raise SigningKeyUnavailable(f"the private key file {path} is not readable by this process") from None
    if path.stat().st_mode & 0o077:
        log.warning("private key file readable by group or others", extra={"path": str(path)})
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningKeyUnavailable(f"the private key file {path} is not an unencrypted PKCS#8 PEM") from None
    finally:
        del data
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnavailable(f"the private key file {path} does not hold an Ed25519 key")
    if kid_for(key.public_key()) != kid:
        raise SigningKeyUnavailable(f"the private key file {path} holds another key than its name says")
    return key


class Signer:
    """Signs stamp messages with one private key; shows only its kid."""

    __slots__ = ("_key", "kid")

    def __init__(self, kid: bytes, key: Ed25519PrivateKey) -> None:
        self.kid = kid
        self._key = key

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def sign_claims(self, claims: StampClaims) -> str:
        """The token text of ``claims`` (whose kid must be this signer's)."""
        from stamp_service.domain.stamp_format import encode_token, signing_message

        if claims.kid != self.kid:
            raise ValueError("claims carry another key id than this signer's")
        return encode_token(claims, self._key.sign(signing_message(claims)))

    def __repr__(self) -> str:
        return f"<Signer kid={self.kid.hex()}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Signer holds a private key and is never pickled")


@dataclass(frozen=True)
class PublicKeyInfo:
    kid: bytes
    key: Ed25519PublicKey
    state: str  # active | retired | compromised
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    compromised_at: datetime | None

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


class KeyRing:
    """Per-process access to keys; one per Runtime (``for_runtime``)."""

    def __init__(self, keys_dir: Path, *, state_ttl: float = STATE_TTL) -> None:
        self.keys_dir = keys_dir
        self.state_ttl = state_ttl
        self._lock = threading.Lock()
        self._snapshot: dict[bytes, PublicKeyInfo] = {}
        self._loaded_at = float("-inf")
        self._signer: Signer | None = None
        self._secret: bytes | None = None
        self._seen_generation: Hashable | None = None

    def __repr__(self) -> str:
        return f"<KeyRing {self.keys_dir}>"

    # -- public keys ------------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Forget cached states (called by the key services after every change)."""
        with self._lock:
            self._loaded_at = float("-inf")

    def observe_generation(self, generation: Hashable) -> None:
        """Called with the status generation a request already read: a key change made by another
        worker moves it, so the snapshot is dropped at once instead of living out its TTL (and a
        verdict computed from stale key states is never cached under the new generation)."""
        with self._lock:
            if generation != self._seen_generation:
                self._seen_generation = generation
                self._loaded_at = float("-inf")

    def public_keys(self, session: Session) -> dict[bytes, PublicKeyInfo]:
        """Every known key by kid, from a snapshot at most ``state_ttl`` seconds old."""
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at < self.state_ttl:
                return self._snapshot
        snapshot = self._load(session)
        with self._lock:
            self._snapshot, self._loaded_at = snapshot, now
        return snapshot

    def _load(self, session: Session) -> dict[bytes, PublicKeyInfo]:
        from sqlalchemy import select

        from stamp_service.storage.models.keys import SigningKey

        old = self._snapshot
        out: dict[bytes, PublicKeyInfo] = {}
        for row in session.scalars(select(SigningKey)):
            kid = bytes.fromhex(row.kid)
            cached = old.get(kid)
            # Public key objects are immutable per kid: reuse them instead of re-parsing.
            key = cached.key if cached else Ed25519PublicKey.from_public_bytes(row.public_key)
            out[kid] = PublicKeyInfo(
                kid, key, row.state, row.created_at, row.activated_at, row.retired_at, row.compromised_at
            )
        return out

    def public_key(self, session: Session, kid: bytes) -> PublicKeyInfo | None:
        return self.public_keys(session).get(kid)

    def lookup(self, session: Session):  # type: ignore[no-untyped-def]
        """A ``public_key_lookup`` for ``stamp_format.verify``: every known key, any state."""

        def _lookup(kid: bytes) -> Ed25519PublicKey | None:
            info = self.public_key(session, kid)
            return info.key if info else None

        return _lookup

    # -- signing ----------------------------------------------------------------------------------
    def signer(self, session: Session) -> Signer:
        """The Signer of the currently active key (loaded once per process and key)."""
        active = [k for k in self.public_keys(session).values() if k.state == "active"]
        if not active:
            raise SigningKeyUnavailable("no signing key is active: run `stamp-service keys rotate`")
        kid = active[0].kid
        with self._lock:
            if self._signer is not None and self._signer.kid == kid:
                return self._signer
        signer = Signer(kid, load_private_key(self.keys_dir, kid))
        with self._lock:
            self._signer = signer
        return signer

    def create_key(self) -> tuple[bytes, Ed25519PublicKey]:
        return create_private_key(self.keys_dir)

    # -- the service secret (HMAC key for PIN hashes, client address hashes) ----------------------
    @property
    def secret_path(self) -> Path:
        return self.keys_dir / SECRET_FILE

    def ensure_service_secret(self) -> bool:
        """Create the secret if missing; True when it was created now."""
        if self.secret_path.exists():
            return False
        try:
            _write_secret_file(self.secret_path, secrets.token_bytes(SECRET_LEN))
        except SigningKeyUnavailable:
            if self.secret_path.exists():  # created concurrently by another process
                return False
            raise
        return True

    def service_secret(self) -> bytes:
        if self._secret is None:
            try:
                data = self.secret_path.read_bytes()
            except OSError:
                raise ConfigurationError(
                    f"the service secret {self.secret_path} is missing or unreadable "
                    "(created on the embedded default's first run; production mounts it)"
                ) from None
            if len(data) != SECRET_LEN:
                raise ConfigurationError(
                    f"the service secret {self.secret_path} must hold {SECRET_LEN} bytes"
                )
            self._secret = data
        return self._secret

    def keyed_hash(self, *, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 under the service secret, separated by ``purpose`` (e.g. "pin", "client")."""
        return hmac.new(self.service_secret(), purpose.encode("ascii") + b"\x00" + data, "sha256").digest()


def for_runtime(runtime: Runtime) -> KeyRing:
    """The Runtime's key ring, made on first use."""
    ring = runtime.services.get("keyring")
    if ring is None:
        ring = runtime.services.setdefault("keyring", KeyRing(runtime.settings.keys_dir))
    return ring  # type: ignore[no-any-return]
