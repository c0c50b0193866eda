"""Lot and trace-event JSON API under /api/v1 (thin views over ``services.lots``)."""

from __future__ import annotations

from flask import Blueprint, Flask

from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.lots import LotDetailOut, LotIn, LotOut, LotQuery, TraceEventIn, TraceEventOut
from stamp_service.services import lots
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("lots_api", __name__, url_prefix="/api/v1")
TAG = "registry"


@operation(
    bp,
    "/lots",
    method="POST",
    summary="Record a production lot of a product",
    tag=TAG,
    body=LotIn,
    response=LotOut,
    status=201,
    roles=("admin", "producer"),
    errors=(404, 409),
)
def create_lot(*, principal: Principal, body: LotIn) -> LotOut:
    return LotOut.model_validate(lots.create_lot(db(), principal, body))


@operation(
    bp,
    "/lots",
    method="GET",
    summary="List lots (by product)",
    tag=TAG,
    query=LotQuery,
    response=Page[LotOut],
)
def list_lots(*, principal: Principal, query: LotQuery) -> Page[LotOut]:
    return lots.list_lots(db(), principal, query)


@operation(
    bp,
    "/lots/<int:lot_id>",
    method="GET",
    summary="Read a lot with its trace events in order",
    tag=TAG,
    response=LotDetailOut,
    errors=(404,),
)
def get_lot(*, principal: Principal, lot_id: int) -> LotDetailOut:
    return lots.read_lot(db(), principal, lot_id)


@operation(
    bp,
    "/lots/<int:lot_id>/events",
    method="POST",
    summary="Append a trace event (append-only; corrections reference the corrected seq)",
    tag=TAG,
    body=TraceEventIn,
    response=TraceEventOut,
    status=201,
    roles=("admin", "producer"),
    errors=(404, 409),
)
def add_event(*, principal: Principal, lot_id: int, body: TraceEventIn) -> TraceEventOut:
    return TraceEventOut.model_validate(lots.add_event(db(), principal, lot_id, body))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
