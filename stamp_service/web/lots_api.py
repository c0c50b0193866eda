"""Lot and trace-event JSON API under /api/v1 (thin views over ``services.lots``), and the upload
of a trace event's photo or document (``services.trace_documents``: the pages' checks)."""

from __future__ import annotations

from flask import Blueprint, Flask, request

from stamp_service import uploads
from stamp_service.domain.access import Principal
from stamp_service.errors import PayloadTooLarge
from stamp_service.schemas.common import Page
from stamp_service.schemas.lots import (
    DocumentQuery,
    LotDetailOut,
    LotIn,
    LotOut,
    LotQuery,
    StoredDocument,
    TraceEventIn,
    TraceEventOut,
)
from stamp_service.services import lots, trace_documents
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


@operation(
    bp,
    "/lots/<int:lot_id>/documents",
    method="POST",
    summary="Upload a photo or document for the lot's next trace event (raw JPEG, PNG or PDF body)",
    tag=TAG,
    query=DocumentQuery,
    response=StoredDocument,
    status=201,
    roles=("admin", "producer"),
    errors=(404,),
    uploads=uploads.TRACE_FILE_TYPES,
    description="The body is the file itself, its type in Content-Type; ``name`` is its file name. "
    "Checked exactly as the producer pages' files (stamp_service.uploads): at most "
    f"{uploads.MAX_TRACE_FILE_BYTES // (1024 * 1024)} MB (413), JPEG/PNG/PDF only (415), images "
    f"decoded within {uploads.MAX_IMAGE_PIXELS:,} pixels and re-encoded without metadata, "
    "downsized to 2048 px, PDFs without JavaScript, actions or attachments (422). The answer's "
    "sha256 is that of the stored bytes: name the file in the next event as {name, sha256}.",
)
def upload_document(*, principal: Principal, lot_id: int, query: DocumentQuery) -> StoredDocument:
    # A phone photo is larger than the API's usual body limit: this operation's own limit is the
    # file limit, checked before the body is read.
    request.max_content_length = uploads.MAX_TRACE_FILE_BYTES
    if request.content_length is not None and request.content_length > uploads.MAX_TRACE_FILE_BYTES:
        raise PayloadTooLarge(trace_documents.FILE_TOO_LARGE)
    upload = trace_documents.Upload(
        name=query.name or "", media_type=request.mimetype, data=request.get_data(cache=False)
    )
    return trace_documents.store_document(db(), principal, lot_id, upload)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
