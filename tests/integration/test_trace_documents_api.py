"""Trace-event files through the API: ``POST /api/v1/lots/{id}/documents`` checks a file exactly as
the producer pages do (re-encoded photo without metadata, inert PDF), stores it under the service's
fingerprint, and the next event names it; every hostile file is a problem+json 4xx (Vietnamese when
asked) with nothing stored, and another producer's lot is a 404."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.trace_documents import TraceDocument
from tests.factories import make_caller, make_lot, make_producer, make_product
from tests.producer_support import html_as_png, jpeg_photo, pdf, png_bomb


def _stored(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(TraceDocument)) or 0


def _upload(client, caller, lot_id: int, body: bytes, media_type: str, name: str = "", **headers: str):
    url = f"/api/v1/lots/{lot_id}/documents" + (f"?name={name}" if name else "")
    return client.post(url, data=body, headers={**caller.headers, "Content-Type": media_type, **headers})


def test_a_photo_is_re_encoded_without_metadata_and_named_by_the_next_event(client, session):
    producer = make_producer(session)
    lot = make_lot(session, make_product(session, producer.id).id)
    own = make_caller(session, Role.PRODUCER, producer.id)
    photo = jpeg_photo()

    resp = _upload(client, own, lot.id, photo, "image/jpeg", name="thu-hai.jpg")
    assert resp.status_code == 201, resp.get_json()
    stored = resp.get_json()
    served = client.get(stored["url"])
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert stored["sha256"] == hashlib.sha256(served.data).hexdigest() != hashlib.sha256(photo).hexdigest()
    assert stored["name"] == "thu-hai.jpg" and stored["size"] == len(served.data)
    image = Image.open(io.BytesIO(served.data))
    assert max(image.size) == 2048 and not image.getexif()  # downsized, no EXIF/GPS left
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "lot.document"))
    assert entry is not None and entry.after["sha256"] == stored["sha256"]

    event = client.post(
        f"/api/v1/lots/{lot.id}/events",
        json={
            "event_type": "sourcing",
            "occurred_at": "2025-09-28T07:30:00+07:00",
            "documents": [{"name": stored["name"], "sha256": stored["sha256"]}],
        },
        headers=own.headers,
    )
    assert event.status_code == 201, event.get_json()
    assert event.get_json()["documents"] == [{"name": "thu-hai.jpg", "sha256": stored["sha256"]}]
    # The same file again is the same stored row.
    again = _upload(client, own, lot.id, photo, "image/jpeg")
    assert again.status_code == 201 and again.get_json()["sha256"] == stored["sha256"]
    assert again.get_json()["name"] == "photo.jpg" and _stored(session) == 1


def test_a_plain_pdf_is_stored_unchanged(client, session):
    producer = make_producer(session)
    lot = make_lot(session, make_product(session, producer.id).id)
    own = make_caller(session, Role.PRODUCER, producer.id)
    document = pdf()
    resp = _upload(client, own, lot.id, document, "application/pdf", name="kiem-nghiem.pdf")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["sha256"] == hashlib.sha256(document).hexdigest()
    assert client.get(resp.get_json()["url"]).data == document


@pytest.mark.parametrize(
    ("body", "media_type", "status", "field", "vi"),
    [
        (png_bomb(), "image/png", 422, "(body)", "quá nhiều điểm ảnh"),
        (html_as_png(), "image/png", 422, "(body)", "không phải là tệp JPEG, PNG hoặc PDF"),
        (pdf(javascript=True), "application/pdf", 422, "(body)", "JavaScript"),
        (b"<svg/>", "image/svg+xml", 415, None, "Hãy gửi ảnh JPEG hoặc PNG, hoặc giấy tờ PDF"),
        (b"\xff\xd8" + b"\x00" * (50 * 1024 * 1024), "image/jpeg", 413, None, "lớn hơn 10 MB"),
    ],
    ids=["png-bomb", "html-as-png", "pdf-javascript", "svg", "50-mb"],
)
def test_hostile_files_are_refused_in_vietnamese_with_nothing_stored(
    client, session, body, media_type, status, field, vi
):
    producer = make_producer(session)
    lot = make_lot(session, make_product(session, producer.id).id)
    own = make_caller(session, Role.PRODUCER, producer.id)
    resp = _upload(client, own, lot.id, body, media_type, **{"Accept-Language": "vi"})
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/problem+json" and resp.headers["Content-Language"] == "vi"
    problem = resp.get_json()
    said = problem.get("detail", "") + " ".join(e["message"] for e in problem.get("errors", []))
    assert vi in said, problem
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field]
    assert _stored(session) == 0
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "lot.document")) is None


def test_another_producers_lot_is_404_and_inspectors_may_not_upload(client, session):
    producer, other = make_producer(session), make_producer(session)
    lot = make_lot(session, make_product(session, producer.id).id)
    stranger = make_caller(session, Role.PRODUCER, other.id)
    inspector = make_caller(session, Role.INSPECTOR)
    assert _upload(client, stranger, lot.id, pdf(), "application/pdf").status_code == 404
    assert _upload(client, inspector, lot.id, pdf(), "application/pdf").status_code == 403
    assert _upload(client, stranger, 999_999, pdf(), "application/pdf").status_code == 404
    assert _stored(session) == 0


def test_the_operation_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    op = spec["paths"]["/api/v1/lots/{lot_id}/documents"]["post"]
    assert set(op["requestBody"]["content"]) == {"image/jpeg", "image/png", "application/pdf"}
    assert {"201", "404", "413", "415", "422"} <= set(op["responses"])
    assert any(p["name"] == "name" and p["in"] == "query" for p in op["parameters"])
