"""Stamp serials: random 64-bit numbers with a typed form that catches typos before any lookup.

Display form (docs/stamp-format.md): the 64-bit value in Crockford Base32, 13 characters,
most significant first, followed by one check character computed with the Luhn mod N
algorithm (N = 32) over the Crockford alphabet, grouped ``XXXX-XXXX-XXXX-XX`` (4+4+4+2).

The check character catches every single-character substitution and every adjacent
transposition except ``0`` <-> ``Z`` (the only pair Luhn mod 32 cannot tell apart).
"""

from __future__ import annotations

import secrets

from stamp_service.errors import SerialTypo

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford Base32: no I, L, O, U
N = len(ALPHABET)
DATA_CHARS = 13  # ceil(64 / 5): the first character carries only the top 4 bits (0-F)
DISPLAY_GROUPS = (4, 4, 4, 2)
MAX_SERIAL = (1 << 64) - 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_VALUE.update({"O": 0, "I": 1, "L": 1})  # Crockford decoding aliases
_IGNORED = str.maketrans("", "", " -")  # docs/stamp-format.md: spaces and hyphens, nothing else


def generate() -> int:
    """A fresh random serial (8 bytes from ``secrets``, never zero). Uniqueness is the DB's job."""
    while True:
        value = int.from_bytes(secrets.token_bytes(8), "big")
        if value:
            return value


def generate_many(n: int) -> list[int]:
    """``n`` fresh random serials from one read of the OS generator (issuance mints in chunks)."""
    raw = secrets.token_bytes(8 * n)
    out = [int.from_bytes(raw[i : i + 8], "big") for i in range(0, 8 * n, 8)]
    return [value or generate() for value in out]


def _check_value(values: list[int]) -> int:
    """Luhn mod N: double every second value from the right (the check char will be rightmost)."""
    total = 0
    factor = 2
    for v in reversed(values):
        addend = factor * v
        total += addend // N + addend % N
        factor = 3 - factor
    return (N - total % N) % N


def check_char(data: str) -> str:
    """The check character for 13 (or any number of) Crockford characters, upper case."""
    return ALPHABET[_check_value([_VALUE[c] for c in data.upper()])]


def _data_chars(serial: int) -> str:
    if not 0 < serial <= MAX_SERIAL:
        raise ValueError("a serial is an integer in 1..2**64-1")
    out = []
    for _ in range(DATA_CHARS):
        out.append(ALPHABET[serial & 31])
        serial >>= 5
    return "".join(reversed(out))


def compact(serial: int) -> str:
    """The 14 characters without grouping (for CSV manifests and URLs of the serial lookup)."""
    data = _data_chars(serial)
    return data + check_char(data)


def format_serial(serial: int) -> str:
    """The printed form, e.g. ``0V8B-5QZP-M1XC-9F``."""
    text = compact(serial)
    parts, start = [], 0
    for size in DISPLAY_GROUPS:
        parts.append(text[start : start + size])
        start += size
    return "-".join(parts)


def parse_serial(text: str) -> int:
    """The serial a person typed: any case, spaces and hyphens ignored, O/I/L read as 0/1/1.

    Raises SerialTypo for a wrong length, a character outside the alphabet (U included),
    a value above 64 bits or a wrong check character; nothing is looked up. Its ``extra["reason"]``
    ("length", with ``extra["length"]``; "character"; "check") lets a page say which.
    """
    if not text.isascii():  # before upper(): "ı".upper() is "I", "ſ".upper() is "S"
        raise SerialTypo("a serial has only the letters and digits printed on the label", reason="character")
    cleaned = text.translate(_IGNORED).upper()
    if len(cleaned) != DATA_CHARS + 1:
        raise SerialTypo(
            f"a serial has {DATA_CHARS + 1} characters, this one has {len(cleaned)}",
            reason="length",
            length=len(cleaned),
        )
    try:
        values = [_VALUE[c] for c in cleaned]
    except KeyError as exc:
        raise SerialTypo(f"{exc.args[0]!r} is not used in serials", reason="character") from None
    data, check = values[:-1], values[-1]
    if _check_value(data) != check:
        raise SerialTypo(
            "the check character does not match: a character is probably mistyped", reason="check"
        )
    if data[0] > 15:  # check char matches but the value needs 65 bits: no serial looks like that
        raise SerialTypo("no serial starts with this character", reason="check")
    serial = 0
    for v in data:
        serial = (serial << 5) | v
    if serial == 0:
        raise SerialTypo("no serial is zero", reason="check")
    return serial


def to_db(serial: int) -> int:
    """Unsigned 64-bit serial -> the signed BIGINT stored in the database (two's complement)."""
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError("serial out of the unsigned 64-bit range")
    return serial - (1 << 64) if serial >= 1 << 63 else serial


def from_db(value: int) -> int:
    """The signed BIGINT from the database -> the unsigned 64-bit serial."""
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError("value out of the signed 64-bit range")
    return value & MAX_SERIAL
