"""GS1 identifiers: GTIN check digits (GS1 General Specifications, mod-10 with weights 3 and 1)."""

from __future__ import annotations

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def gtin_check_digit(body: str) -> int:
    """The check digit for ``body`` (the GTIN without its last digit).

    Weights alternate 3, 1, 3, ... starting from the digit next to the check digit.
    """
    if not body.isascii() or not body.isdigit():
        raise ValueError("GTIN digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_gtin(value: str) -> str:
    """Return ``value`` if it is a GTIN-8/12/13/14 with a correct check digit; raise ValueError if not."""
    if not value.isascii() or not value.isdigit() or len(value) not in GTIN_LENGTHS:
        raise ValueError("a GTIN has 8, 12, 13 or 14 digits")
    if gtin_check_digit(value[:-1]) != int(value[-1]):
        raise ValueError("GTIN check digit is wrong")
    return value
