"""API problem details in Vietnamese with ``Accept-Language: vi``, English otherwise; same types."""

from __future__ import annotations

import pytest

from stamp_service import errors
from stamp_service.web.errors import FIELD_MESSAGES
from stamp_service.web.i18n import translations
from tests.factories import producer_payload

VI = {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_problem_title_and_field_message_has_a_vietnamese_wording():
    vi = translations("vi")
    missing = [c.title for c in _subclasses(errors.ServiceError) if vi.gettext(c.title) == c.title]
    missing += [m for m in set(FIELD_MESSAGES.values()) - {"{error}"} if vi.gettext(m) == m]
    assert missing == []


def test_validation_problem_in_vietnamese_and_english(client, admin):
    body = producer_payload(commune_code="99999999", name="A", phone="x")
    del body["legal_type"]
    english = client.post("/api/v1/producers", json=body, headers=admin.headers)
    vietnamese = client.post("/api/v1/producers", json=body, headers={**admin.headers, **VI})
    assert english.status_code == vietnamese.status_code == 422
    en, vi = english.get_json(), vietnamese.get_json()
    assert en["type"] == vi["type"] == "/problems/validation-failed"
    assert en["title"] == "The request has invalid fields"
    assert vi["title"] == "Yêu cầu có trường không hợp lệ"
    assert vietnamese.headers["Content-Language"] == "vi" and english.headers["Content-Language"] == "en"
    en_fields = {e["field"]: e["message"] for e in en["errors"]}
    vi_fields = {e["field"]: e["message"] for e in vi["errors"]}
    assert set(en_fields) == set(vi_fields) == {"legal_type", "name", "phone"}
    assert en_fields["legal_type"] == "Field required" and vi_fields["legal_type"] == "Trường này là bắt buộc"
    assert vi_fields["name"] == "Chuỗi phải có ít nhất 2 ký tự"
    assert vi_fields["phone"].startswith("Chuỗi phải khớp mẫu")
    assert all(set(e) == {"field", "message"} for e in en["errors"] + vi["errors"])  # nothing private leaks


def test_service_field_errors_and_not_found_in_vietnamese(client, admin):
    body = producer_payload(commune_code="99999999")
    resp = client.post("/api/v1/producers", json=body, headers={**admin.headers, **VI})
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == [
        {"field": "commune_code", "message": "mã xã, phường hoặc đặc khu không tồn tại"}
    ]
    missing = client.get("/api/v1/products/999999", headers={**admin.headers, **VI})
    assert missing.status_code == 404
    problem = missing.get_json()
    assert (problem["type"], problem["title"], problem["detail"]) == (
        "/problems/not-found",
        "Không tìm thấy tài nguyên",
        "không có sản phẩm này",
    )


@pytest.mark.parametrize("header", [None, "en", "fr-FR", "en-GB,vi;q=0.3"])
def test_english_unless_vietnamese_is_preferred(client, admin, header):
    headers = dict(admin.headers)
    if header:
        headers["Accept-Language"] = header
    problem = client.get("/api/v1/products/999999", headers=headers).get_json()
    assert problem["title"] == "No such resource" and problem["detail"] == "no such product"


def test_every_translated_detail_still_occurs_in_the_code():
    """A reworded service message would leave its translation unused: catch it here."""
    from pathlib import Path

    from stamp_service.web.errors import TRANSLATED_DETAILS

    root = Path(__file__).resolve().parents[2] / "stamp_service"
    code = "".join(
        p.read_text(encoding="utf-8")
        for p in root.rglob("*.py")
        if p.name != "errors.py" or p.parent.name != "web"
    )
    assert [d for d in TRANSLATED_DETAILS if f'"{d}"' not in code] == []
