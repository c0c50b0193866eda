"""Read-only views for the producer pages that no other service gives: a request's voided ranges,
and the producer's products with their certificate validity, warnings and decisions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal
from stamp_service.services import stamp_requests
from stamp_service.storage.models.stamps import StampVoid


def request_voids(session: Session, actor: Principal, request_id: int) -> list[StampVoid]:
    """The voided ranges of a request ``actor`` may read (NotFound otherwise)."""
    request = stamp_requests.get_request(session, actor, request_id)
    return list(
        session.scalars(
            select(StampVoid).where(StampVoid.request_id == request.id).order_by(StampVoid.seq_from)
        )
    )
