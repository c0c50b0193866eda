"""Transaction helpers shared by the services."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stamp_service.errors import Conflict


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush; a unique or check constraint refusing it (a concurrent writer won) is a Conflict.

    The transaction is rolled back first, so nothing of the use case is left half-done.
    """
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None
