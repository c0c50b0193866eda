"""Password hashing with argon2id (argon2-cffi), the parameters in one place.

``verify`` answers whether the password matches and whether the stored hash was made with
other parameters (then the caller stores ``hash_password(password)`` again while it has the
clear password in hand). A dummy verification runs for unknown accounts so that the answer's
timing does not tell which account names exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stamp_service.domain.i18n import N_

# argon2-cffi's defaults follow RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes).
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password anyone has")
MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; a bound keeps a megabyte "password" from costing CPU


@dataclass(frozen=True)
class Check:
    ok: bool
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> Check:
    """Constant work whether or not there is a stored hash; never raises for a bad password."""
    if len(password) > MAX_LENGTH:
        return Check(ok=False)
    try:
        _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return Check(ok=False)
    if stored_hash is None:
        return Check(ok=False)
    return Check(ok=True, needs_rehash=_HASHER.check_needs_rehash(stored_hash))


def password_problem(password: str, *, name: str) -> str | None:
    """Why a new password is refused (an English message id), or None."""
    if len(password) < MIN_LENGTH:
        return N_("Use at least 10 characters.")  # MIN_LENGTH
    if len(password) > MAX_LENGTH:
        return N_("Use at most 200 characters.")  # MAX_LENGTH
    if password.strip().lower() == name.strip().lower():
        return N_("The password may not be the account name.")
    return None
