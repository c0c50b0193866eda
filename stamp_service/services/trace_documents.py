"""Trace events with uploaded files: a producer's photo or document is checked, stored and named
by its fingerprint in one transaction with the event that cites it (nothing half-stored); or,
through the API, stored alone for the lot's next event (``store_document``), checked the same way.

Each file goes through ``stamp_service.uploads`` first (re-encoded image or inert PDF); the
fingerprint is the SHA-256 of the stored bytes, computed here, never taken from the client. Every
refusal is a ``ValidationFailed`` on the field ``files`` with one of the ``FILE_*`` messages (the
pages translate them), raised before anything is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service import uploads
from stamp_service.domain.access import Principal, Role, require_role, require_write
from stamp_service.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from stamp_service.schemas.lots import Document, StoredDocument, TraceEventIn
from stamp_service.services import audit, lots
from stamp_service.services.scope import owner_of_product
from stamp_service.storage.models.registry import Product, TraceEvent
from stamp_service.storage.models.trace_documents import TraceDocument

MAX_FILES = 5
FILE_TYPE = "Send a JPEG or PNG photo or a PDF document."
FILE_TOO_LARGE = "The file is larger than 10 MB. Take the photo again at a smaller size."
FILE_TOO_MANY_PIXELS = "The image has too many pixels (at most 16 million). Take the photo at a smaller size."
FILE_NOT_WHAT_IT_CLAIMS = "The file is not the JPEG, PNG or PDF it claims to be."
FILE_ACTIVE_PDF = "The PDF contains JavaScript, actions or attachments; save it again as a plain PDF."
FILE_TOO_MANY = "Attach at most 5 files to one record."


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it: its name, declared type and bytes."""

    name: str
    media_type: str
    data: bytes


def _refuse(message: str, field: str = "files") -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}])


def _media_type(declared: str) -> str:
    return "image/jpeg" if declared in ("image/jpg", "image/pjpeg") else declared


def _checked(upload: Upload) -> tuple[str, bytes]:
    """The pages' check: every refusal is a 422 on the field ``files``, worded for people."""
    try:
        return uploads.check_trace_file(upload.data, _media_type(upload.media_type))
    except UnsupportedMediaType:
        raise _refuse(FILE_TYPE) from None
    except PayloadTooLarge:
        raise _refuse(FILE_TOO_LARGE) from None
    except ValidationFailed as exc:
        raise _refuse(_why(exc)) from None


def _why(exc: ValidationFailed) -> str:
    """The people's wording for what ``uploads`` found wrong with a file."""
    text = " ".join(str(e.get("message", "")) for e in exc.errors)
    if "pixels" in text:
        return FILE_TOO_MANY_PIXELS
    if "active content" in text:
        return FILE_ACTIVE_PDF
    return FILE_NOT_WHAT_IT_CLAIMS


def _store(session: Session, actor: Principal, producer_id: int, media_type: str, body: bytes) -> str:
    """Add the checked file unless the same bytes are stored already; its fingerprint."""
    digest = hashlib.sha256(body).hexdigest()
    if session.scalar(select(TraceDocument.id).where(TraceDocument.sha256 == digest)) is None:
        session.add(
            TraceDocument(
                sha256=digest,
                media_type=media_type,
                size=len(body),
                data=body,
                producer_id=producer_id,
                uploaded_by=actor.account_id,
            )
        )
    return digest


def record_event(
    session: Session, actor: Principal, lot_id: int, data: TraceEventIn, files: list[Upload]
) -> TraceEvent:
    """Check every file, store them, append the event naming them; one commit (or nothing)."""
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    lot = lots.get_lot(session, actor, lot_id)
    if len(files) > MAX_FILES:
        raise _refuse(FILE_TOO_MANY)
    checked = [(upload.name, *_checked(upload)) for upload in files]
    product = session.get(Product, lot.product_id)
    assert product is not None
    documents = list(data.documents)
    for name, media_type, body in checked:
        digest = _store(session, actor, product.producer_id, media_type, body)
        documents.append(Document.model_validate({"name": _safe_name(name, media_type), "sha256": digest}))
    event = lots.append_event(session, actor, lot, data.model_copy(update={"documents": documents}))
    session.commit()
    return event


def store_document(session: Session, actor: Principal, lot_id: int, upload: Upload) -> StoredDocument:
    """One file for a lot's next trace event (the API's upload): checked exactly as the pages' files,
    stored, audited, committed; the event then names it by the returned fingerprint.

    Refusals keep the API's statuses (415 for an undeclared type, 413 over the size limit, 422 for a
    file that is not what it claims) with the pages' wording, before anything is written. Another
    producer's lot is NotFound, as everywhere.
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    lot = lots.get_lot(session, actor, lot_id)
    require_write(actor, owner_of_product(session, lot.product_id), "lot")
    try:
        media_type, body = uploads.check_trace_file(upload.data, _media_type(upload.media_type))
    except UnsupportedMediaType:
        raise UnsupportedMediaType(FILE_TYPE) from None
    except PayloadTooLarge:
        raise PayloadTooLarge(FILE_TOO_LARGE) from None
    except ValidationFailed as exc:
        raise _refuse(_why(exc), "(body)") from None
    product = session.get(Product, lot.product_id)
    assert product is not None
    digest = _store(session, actor, product.producer_id, media_type, body)
    stored = StoredDocument(
        name=_safe_name(upload.name, media_type),
        sha256=digest,
        media_type=media_type,
        size=len(body),
        url=f"/documents/{digest}",
    )
    audit.record(
        session,
        actor,
        action="lot.document",
        entity="lot",
        entity_id=lot.id,
        after={"name": stored.name, "sha256": digest, "media_type": media_type, "size": len(body)},
    )
    session.commit()
    return stored


def _safe_name(name: str, media_type: str) -> str:
    """The file name shown on the public page: the last path part, printable, at most 200 chars."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:200]
    return base or {"application/pdf": "document.pdf", "image/png": "photo.png"}.get(media_type, "photo.jpg")


def public_document(session: Session, sha256: str) -> TraceDocument:
    """A stored trace file by its fingerprint (public: the stamp page links to it)."""
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise NotFound("no such document")
    found = session.scalar(select(TraceDocument).where(TraceDocument.sha256 == sha256))
    if found is None:
        raise NotFound("no such document")
    return found


def stored_fingerprints(session: Session, hashes: set[str]) -> set[str]:
    """Which of ``hashes`` have their file stored (the public page links only those)."""
    if not hashes:
        return set()
    return set(session.scalars(select(TraceDocument.sha256).where(TraceDocument.sha256.in_(hashes))))
