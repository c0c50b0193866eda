"""Scratch PINs: derived from the service secret, stored only as a keyed hash.

A PIN is an 8-digit number derived as HMAC(secret, "pin" || serial), so a
print file can be downloaded again without the PIN ever being stored; the
database keeps only HMAC(secret, "pin-hash" || serial || PIN), compared in
constant time. Whoever holds the service secret can recompute PINs: it is
kept in keys/ like the signing keys.
"""

from __future__ import annotations

import hmac

from stamp_service.crypto.keyring import KeyRing

PIN_DIGITS = 8


def derive_pin(keyring: KeyRing, serial: int) -> str:
    digest = keyring.keyed_hash(purpose="pin", data=serial.to_bytes(8, "big"))
    return str(int.from_bytes(digest, "big") % 10**PIN_DIGITS).zfill(PIN_DIGITS)


def pin_hash(keyring: KeyRing, serial: int, pin: str) -> bytes:
    return keyring.keyed_hash(purpose="pin-hash", data=serial.to_bytes(8, "big") + pin.encode("ascii"))


def pin_matches(keyring: KeyRing, serial: int, pin: str, stored: bytes) -> bool:
    """Constant-time comparison of a typed PIN against the stored keyed hash."""
    # ASCII digits only: str.isdigit() also accepts e.g. Arabic-Indic digits, which then fail to encode.
    typed = "".join(ch for ch in pin if ch in "0123456789")
    if len(typed) != PIN_DIGITS:
        return False
    return hmac.compare_digest(pin_hash(keyring, serial, typed), stored)
