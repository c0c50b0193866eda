"""``N_``: marks an English message id for the Vietnamese catalogue where it is written.

The text is translated where it is shown (a page, in the person's language); marking it here
lets the catalogue test (tests/unit/test_verification_rules.py) find every id in the sources.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message
