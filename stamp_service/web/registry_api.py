"""Registry JSON API under /api/v1: thin views over ``stamp_service.services.registry``."""

from __future__ import annotations

from flask import Blueprint, Flask

from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.registry import ProducerIn, ProducerOut, ProducerPatch, ProducerQuery
from stamp_service.services import registry
from stamp_service.web.api import operation
from stamp_service.web.context import db

bp = Blueprint("registry_api", __name__, url_prefix="/api/v1")
TAG = "registry"


@operation(
    bp,
    "/producers",
    method="POST",
    summary="Register a producer",
    tag=TAG,
    body=ProducerIn,
    response=ProducerOut,
    status=201,
    roles=("admin",),
    errors=(404, 409),
)
def create_producer(*, principal: Principal, body: ProducerIn) -> ProducerOut:
    return ProducerOut.model_validate(registry.create_producer(db(), principal, body))


@operation(
    bp,
    "/producers",
    method="GET",
    summary="List producers",
    tag=TAG,
    query=ProducerQuery,
    response=Page[ProducerOut],
)
def list_producers(*, principal: Principal, query: ProducerQuery) -> Page[ProducerOut]:
    return registry.list_producers(db(), principal, query)


@operation(
    bp,
    "/producers/<int:producer_id>",
    method="GET",
    summary="Read a producer",
    tag=TAG,
    response=ProducerOut,
    errors=(404,),
)
def get_producer(*, principal: Principal, producer_id: int) -> ProducerOut:
    return ProducerOut.model_validate(registry.get_producer(db(), principal, producer_id))


@operation(
    bp,
    "/producers/<int:producer_id>",
    method="PATCH",
    summary="Change a producer's contacts",
    tag=TAG,
    body=ProducerPatch,
    response=ProducerOut,
    roles=("admin", "producer"),
    errors=(404,),
)
def update_producer(*, principal: Principal, producer_id: int, body: ProducerPatch) -> ProducerOut:
    return ProducerOut.model_validate(registry.update_producer(db(), principal, producer_id, body))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
