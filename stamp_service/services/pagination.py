"""One page of a query, with the total count, as a ``Page``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from stamp_service.schemas.common import Page

T = TypeVar("T")
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
"""A select of any columns (SQLAlchemy 2.1 types a select by its row's column types)."""


def count(session: Session, stmt: AnySelect, *, cap: int | None = None) -> int:
    """How many rows ``stmt`` gives, counted by the database (never by fetching them).

    With ``cap``, counting stops after ``cap + 1`` rows: a list page that only needs to say "more
    than 1,000" does not read 100,000 index entries on every visit."""
    stmt = stmt.order_by(None)
    if cap is not None:
        stmt = stmt.limit(cap + 1)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def paginate(
    session: Session,
    stmt: AnySelect,
    page: int,
    per_page: int,
    out: type[T] | Callable[[Any], T],
    *,
    rows: bool = False,
) -> Page[T]:
    """Run ``stmt`` for one page and count the whole result.

    ``out`` is a pydantic model (filled with ``model_validate``) or any function of one result:
    the first column's object, or with ``rows=True`` the whole row (for joined selects).
    """
    total = count(session, stmt)
    paged = stmt.offset((page - 1) * per_page).limit(per_page)
    results = session.execute(paged).all() if rows else session.scalars(paged).all()
    convert: Callable[[Any], T] = getattr(out, "model_validate", out)
    return Page(items=[convert(r) for r in results], page=page, per_page=per_page, total=total)
