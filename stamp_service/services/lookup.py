"""Primary-key lookups that treat ids outside the column's range as simply unknown.

Ids come from URL paths and JSON bodies as unbounded integers; PostgreSQL would
reject one beyond 32 bits with a driver error (a 500) instead of "not found".
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

MAX_ID = 2**31 - 1
M = TypeVar("M")


def by_id(session: Session, model: type[M], ident: Any) -> M | None:
    if not isinstance(ident, int) or not 0 < ident <= MAX_ID:
        return None
    return session.get(model, ident)
