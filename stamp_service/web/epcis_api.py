"""EPCIS 2.0 JSON interface under /api/v1/epcis (thin views over ``services.epcis``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, Flask, Response, json
from pydantic import Field, RootModel

from stamp_service.domain.access import Principal
from stamp_service.domain.epcis import Identifiers, query_document
from stamp_service.schemas.common import Out, QueryModel, QueryMoment
from stamp_service.services import epcis
from stamp_service.web.api import operation
from stamp_service.web.context import db, runtime

bp = Blueprint("epcis_api", __name__, url_prefix="/api/v1/epcis")
TAG = "epcis"
MAX_PER_PAGE = 1000


class EpcisDocumentIn(RootModel[dict[str, Any]]):
    """An EPCIS 2.0 document (JSON-LD); checked against GS1's JSON schema by the service."""


class EpcisQueryDocumentOut(RootModel[dict[str, Any]]):
    """An EPCIS 2.0 query document: ``epcisBody.queryResults.resultsBody.eventList``."""


class CaptureOut(Out):
    recorded: list[str] = Field(description="eventIDs stored now, in document order")
    already_recorded: list[str] = Field(description="eventIDs the lots already had (a re-sent event)")


class EventsQuery(QueryModel):
    producer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    product_id: int | None = Field(None, ge=1, le=2**31 - 1)
    lot_id: int | None = Field(None, ge=1, le=2**31 - 1)
    eventType: Literal["ObjectEvent", "TransformationEvent"] | None = None
    GE_eventTime: QueryMoment | None = None
    LT_eventTime: QueryMoment | None = None
    EQ_bizStep: str | None = Field(None, max_length=100)
    EQ_disposition: str | None = Field(None, max_length=100)
    EQ_action: Literal["ADD", "OBSERVE", "DELETE"] | None = None
    perPage: int = Field(100, ge=1, le=MAX_PER_PAGE)
    nextPageToken: str | None = Field(None, pattern=r"^[0-9]{1,9}$")


def _ids() -> Identifiers:
    return Identifiers(runtime().settings.public_base_url)


@operation(
    bp,
    "/events",
    method="GET",
    summary="EPCIS 2.0 events of a producer, product or lot (query document, paged)",
    tag=TAG,
    query=EventsQuery,
    response=EpcisQueryDocumentOut,
    errors=(404,),
    description=(
        "Origin records, stamp commissioning per request (class level, with the sequence range), "
        "voids, lot recalls and star withdrawals as EPCIS 2.0 events with CBV 2.0 event-hash ids. "
        "Filters follow the EPCIS query parameters; a `Link: rel=next` header names the next page."
    ),
)
def list_events(*, principal: Principal, query: EventsQuery) -> Response:
    page = epcis.query_events(
        db(),
        principal,
        _ids(),
        epcis.EventQuery(
            producer_id=query.producer_id,
            product_id=query.product_id,
            lot_id=query.lot_id,
            event_type=query.eventType,
            ge_event_time=query.GE_eventTime,
            lt_event_time=query.LT_eventTime,
            biz_step=query.EQ_bizStep,
            disposition=query.EQ_disposition,
            action=query.EQ_action,
            per_page=query.perPage,
            offset=int(query.nextPageToken or 0),
        ),
    )
    document = query_document(_ids(), page.events, datetime.now().astimezone())
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/json")
    if page.next_offset is not None:
        response.headers["Link"] = f'<?nextPageToken={page.next_offset}>; rel="next"'
    return response


@operation(
    bp,
    "/capture",
    method="POST",
    summary="Capture EPCIS 2.0 events as origin records of the caller's lots (all or nothing)",
    tag=TAG,
    body=EpcisDocumentIn,
    response=CaptureOut,
    status=201,
    roles=("admin", "producer"),
    errors=(404,),
)
def capture(*, principal: Principal, body: EpcisDocumentIn) -> CaptureOut:
    result = epcis.capture(db(), principal, _ids(), body.root)
    return CaptureOut(recorded=result.recorded, already_recorded=result.already_recorded)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
