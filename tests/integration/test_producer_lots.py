"""The producer's lot pages: a lot and its origin records with uploaded files, through the pages.

Stored files are the checked ones (re-encoded, no EXIF), the fingerprint is the service's, the
public page's document link opens the file, every hostile upload is refused next to the field with
nothing stored, and another producer's lot is a 404.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from stamp_service.storage.models.registry import Lot, TraceEvent
from stamp_service.storage.models.trace_documents import TraceDocument
from tests.people_support import csrf_token
from tests.producer_support import (
    html_as_png,
    jpeg_photo,
    pdf,
    png_bomb,
    producer_world,
    signed_in_client,
)
from tests.revocation_support import decision


def _counts(session) -> tuple[int, int]:
    session.expire_all()
    events = session.scalar(select(func.count()).select_from(TraceEvent)) or 0
    docs = session.scalar(select(func.count()).select_from(TraceDocument)) or 0
    return events, docs


def _post_event(client, lot_id: int, files: list[tuple[bytes, str, str]], **fields: str):
    token = csrf_token(client, f"/producer/lots/{lot_id}")
    data: dict = {
        "csrf_token": token,
        "event_type": "sourcing",
        "occurred_at": "2025-09-28T07:30",
        "place": "Vườn thôn 3",
        "actor": "Tổ thu hái",
        **fields,
    }
    data["files"] = [(io.BytesIO(body), name, kind) for body, name, kind in files]
    return client.post(f"/producer/lots/{lot_id}/events", data=data, content_type="multipart/form-data")


def test_create_lot_in_vietnamese_with_date_inputs(app, session):
    world = producer_world(session, "htx-lots")
    client = signed_in_client(app, "htx-lots")
    page = client.get("/producer/lots/new").get_data(as_text=True)
    assert 'type="date"' in page and "Mã lô" in page
    token = csrf_token(client, "/producer/lots/new")
    form = {
        "csrf_token": token,
        "product_id": str(world.product.id),
        "lot_code": "L2026-7",
        "production_date": "2025-11-02",
        "expiry_date": "2025-10-01",  # before production: refused next to the field
        "quantity": "2.000",
        "unit": "hộp",
    }
    bad = client.post("/producer/lots/new", data=form)
    assert bad.status_code == 422
    assert 'id="f-expiry_date-error"' in bad.get_data(as_text=True)
    ok = client.post("/producer/lots/new", data={**form, "expiry_date": "2026-05-01"})
    assert ok.status_code == 302
    session.expire_all()
    lot = session.scalar(select(Lot).where(Lot.lot_code == "L2026-7"))
    assert lot is not None and lot.quantity == 2000 and lot.unit == "hộp"
    shown = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "02/11/2025" in shown and "2.000" in shown


def test_event_with_photo_and_pdf_is_stored_checked_and_opens_from_the_public_page(app, session):
    world = producer_world(session, "htx-photo")
    client = signed_in_client(app, "htx-photo")
    photo = jpeg_photo()
    resp = _post_event(
        client, world.lot.id, [(photo, "IMG_0001.jpg", "image/jpeg"), (pdf(), "phieu.pdf", "application/pdf")]
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    session.expire_all()
    event = session.scalar(select(TraceEvent).where(TraceEvent.lot_id == world.lot.id))
    assert event is not None and [d["name"] for d in event.documents] == ["IMG_0001.jpg", "phieu.pdf"]
    stored = session.scalar(select(TraceDocument).where(TraceDocument.sha256 == event.documents[0]["sha256"]))
    assert stored is not None and stored.media_type == "image/jpeg"
    assert hashlib.sha256(stored.data).hexdigest() == stored.sha256  # the service's fingerprint
    from PIL import Image

    with Image.open(io.BytesIO(stored.data)) as image:
        assert max(image.size) == 2048  # downsized from 3000 px
        assert not image.getexif()  # no camera, no GPS
    served = app.test_client().get(f"/documents/{stored.sha256}")
    assert served.status_code == 200 and served.data == stored.data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert app.test_client().get("/documents/" + "0" * 64).status_code == 404


def test_public_stamp_page_links_the_stored_document(app, session, tmp_path):
    from stamp_service.services import product_facts

    world = producer_world(session, "htx-public")
    client = signed_in_client(app, "htx-public")
    assert (
        _post_event(client, world.lot.id, [(pdf(), "kiem-nghiem.pdf", "application/pdf")]).status_code == 302
    )
    session.expire_all()
    facts = product_facts.product_facts(session, world.product.id, world.lot.id, "vi")
    doc = facts["lot"]["events"][0]["documents"][0]
    assert doc["url"] == f"/documents/{doc['sha256']}"
    assert app.test_client().get(doc["url"]).headers["Content-Type"] == "application/pdf"


def test_hostile_uploads_are_refused_next_to_the_field_and_nothing_is_stored(app, session):
    world = producer_world(session, "htx-hostile")
    client = signed_in_client(app, "htx-hostile")
    before = _counts(session)
    cases = [
        ([(html_as_png(), "anh.png", "image/png")], "không phải là tệp JPEG, PNG hoặc PDF"),
        ([(png_bomb(), "bom.png", "image/png")], "quá nhiều điểm ảnh"),
        ([(pdf(javascript=True), "a.pdf", "application/pdf")], "JavaScript"),
        ([(b"<html></html>", "a.html", "text/html")], "Hãy gửi ảnh JPEG"),
        # a good photo with a bad file: the whole record is refused, the good photo not kept
        (
            [(jpeg_photo(400, 300), "ok.jpg", "image/jpeg"), (html_as_png(), "x.png", "image/png")],
            "không phải",
        ),
    ]
    for files, message in cases:
        resp = _post_event(client, world.lot.id, files)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 422, (files[0][1], resp.status_code)
        assert 'id="f-files-error"' in body and message in body, (files[0][1], body[-3000:])
    assert _counts(session) == before


def test_a_50_mb_upload_is_a_page_with_the_message_not_a_bare_413(app, session):
    world = producer_world(session, "htx-big")
    client = signed_in_client(app, "htx-big")
    resp = _post_event(
        client, world.lot.id, [(b"\xff\xd8" + b"\0" * (50 * 1024 * 1024), "big.jpg", "image/jpeg")]
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert 'id="f-files-error"' in body and "lớn hơn 10 MB" in body and "<html" in body
    assert _counts(session) == (0, 0)


def test_another_producers_lot_is_a_404_on_every_lot_page(app, session):
    mine = producer_world(session, "htx-mine")
    producer_world(session, "htx-other")
    other = signed_in_client(app, "htx-other")
    assert other.get(f"/producer/lots/{mine.lot.id}").status_code == 404
    token = csrf_token(other, "/producer/lots/new")
    resp = other.post(
        f"/producer/lots/{mine.lot.id}/events",
        data={"csrf_token": token, "event_type": "sourcing", "occurred_at": "2025-09-28T07:30"},
    )
    assert resp.status_code == 404
    listing = other.get("/producer/lots/").get_data(as_text=True)
    assert mine.lot.lot_code not in listing
    resp = other.post(
        "/producer/lots/new",
        data={
            "csrf_token": token,
            "product_id": str(mine.product.id),
            "lot_code": "STEAL-1",
            "production_date": "2025-11-02",
            "quantity": "5",
        },
    )
    assert resp.status_code == 422 and session.scalar(select(Lot).where(Lot.lot_code == "STEAL-1")) is None


def test_event_form_without_csrf_is_refused(app, session):
    world = producer_world(session, "htx-csrf")
    client = signed_in_client(app, "htx-csrf")
    resp = client.post(f"/producer/lots/{world.lot.id}/events", data={"event_type": "sourcing"})
    assert resp.status_code == 400 and _counts(session)[0] == 0


def test_pages_switch_to_english(app, session):
    producer_world(session, "htx-en")
    client = signed_in_client(app, "htx-en")
    page = client.get("/producer/lots/new?lang=en").get_data(as_text=True)
    assert "Lot code" in page and "Mã lô" not in page
    assert "Raw material 1" in page and "Commune of the raw-material area" in page
    scans_page = client.get("/producer/scans/").get_data(as_text=True)
    assert "Scans of my products" in scans_page and "Where my stamps were first scanned" in scans_page
    request_page = client.get("/producer/requests/new").get_data(as_text=True)
    assert "With PIN" in request_page and "Without PIN" in request_page


def _lot_form(client, world, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, "/producer/lots/new"),
        "product_id": str(world.product.id),
        "lot_code": "L-NL-1",
        "production_date": "2025-10-05",
        "quantity": "300",
        "unit": "hộp",
        "input_rows": "2",
        **fields,
    }


def test_lot_with_two_raw_material_inputs_picked_from_the_commune_list(app, session):
    from stamp_service.services import product_facts

    world = producer_world(session, "htx-inputs")
    client = signed_in_client(app, "htx-inputs")
    blank = client.get("/producer/lots/new").get_data(as_text=True)
    # Two empty rows; each row's commune is a list of the producer's province (42), not a code box.
    assert 'name="input-1-supplier"' in blank and 'name="input-2-supplier"' not in blank
    assert '<select id="f-input-0-commune_code"' in blank and "Xã Hương Sơn" in blank
    assert "Phường Hạc Thành" not in blank  # Thanh Hóa's communes only once Thanh Hóa is chosen

    # "Add another" with Thanh Hóa chosen in row 2: three rows, row 2 lists Thanh Hóa's communes,
    # what was typed is kept, nothing is saved.
    typed = {"input-0-supplier": "Tổ hợp tác chè Hương Sơn", "input-1-province": "38"}
    more = client.post("/producer/lots/new", data=_lot_form(client, world, **typed, action="add_input"))
    page = more.get_data(as_text=True)
    assert more.status_code == 200 and 'name="input-2-supplier"' in page
    assert 'value="Tổ hợp tác chè Hương Sơn"' in page and "Phường Hạc Thành" in page
    session.expire_all()
    assert session.query(Lot).filter_by(lot_code="L-NL-1").count() == 0

    rows = {
        "input_rows": "3",
        "input-0-description": "Chè búp tươi",
        "input-0-supplier": "Tổ hợp tác chè Hương Sơn",
        "input-0-province": "42",
        "input-0-commune_code": "18352",
        "input-0-received_on": "2025-10-03",
        "input-1-description": "Đường mía",
        "input-1-supplier": "HTX mía Hà Trung",
        "input-1-province": "38",
        "input-1-commune_code": "18418",  # Phúc Trạch is in Hà Tĩnh, not the chosen Thanh Hóa
        "input-1-received_on": "2025-10-06",  # after production
        "input-1-lot_code": "MD-7",
    }
    bad = client.post("/producer/lots/new", data=_lot_form(client, world, **rows))
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Hãy chọn xã trong danh sách của tỉnh đã chọn ở trên." in page
    assert 'id="f-input-1-commune_code-error"' in page and 'id="f-input-1-received_on-error"' in page
    assert "không sau ngày sản xuất" in page and 'id="f-input-0-supplier-error"' not in page
    session.expire_all()
    assert session.query(Lot).filter_by(lot_code="L-NL-1").count() == 0

    rows |= {"input-1-commune_code": "15112", "input-1-received_on": "2025-10-01"}
    ok = client.post("/producer/lots/new", data=_lot_form(client, world, **rows))
    assert ok.status_code == 302, ok.get_data(as_text=True)[:2000]
    session.expire_all()
    lot = session.query(Lot).filter_by(lot_code="L-NL-1").one()
    assert lot.input_lots == [
        {
            "supplier": "Tổ hợp tác chè Hương Sơn",
            "description": "Chè búp tươi",
            "commune_code": "18352",
            "received_on": "2025-10-03",
        },
        {
            "supplier": "HTX mía Hà Trung",
            "description": "Đường mía",
            "commune_code": "15112",
            "received_on": "2025-10-01",
            "lot_code": "MD-7",
        },
    ]
    shown = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "Xã Hương Sơn, Tỉnh Hà Tĩnh" in shown and "Xã Hà Trung, Tỉnh Thanh Hóa" in shown
    assert "03/10/2025" in shown and "MD-7" in shown
    # The public page's facts: each input with its area and date, and both areas in "Raw-material area".
    facts = product_facts.product_facts(session, world.product.id, lot.id, "vi")
    assert [(i["supplier"], i["area"], i["date"]) for i in facts["lot"]["inputs"]] == [
        ("Tổ hợp tác chè Hương Sơn", "Xã Hương Sơn, Tỉnh Hà Tĩnh", "2025-10-03"),
        ("HTX mía Hà Trung", "Xã Hà Trung, Tỉnh Thanh Hóa", "2025-10-01"),
    ]
    areas = set(facts["product"]["raw_material_area"])
    assert {"Xã Hương Sơn, Tỉnh Hà Tĩnh", "Xã Hà Trung, Tỉnh Thanh Hóa"} <= areas


def test_raw_material_rows_stop_at_ten_and_a_refresh_saves_nothing(app, session):
    world = producer_world(session, "htx-rows")
    client = signed_in_client(app, "htx-rows")
    full = client.post(
        "/producer/lots/new", data=_lot_form(client, world, input_rows="10", action="add_input")
    ).get_data(as_text=True)
    assert 'name="input-9-supplier"' in full and 'name="input-10-supplier"' not in full
    assert 'value="add_input"' not in full  # no "add another" once the form has ten rows
    refreshed = client.post(
        "/producer/lots/new",
        data=_lot_form(client, world, **{"input-0-province": "38", "action": "refresh"}),
    )
    page = refreshed.get_data(as_text=True)
    assert refreshed.status_code == 200 and "Phường Hạc Thành" in page
    assert 'name="input-2-supplier"' not in page  # a refresh adds no row
    session.expire_all()
    assert session.query(Lot).filter_by(lot_code="L-NL-1").count() == 0
    # A typed code that is not in the list (or not in the row's province) is refused at the field.
    typed = {"input-0-supplier": "HTX A", "input-0-province": "42", "input-0-commune_code": "Phúc Trạch"}
    bad = client.post("/producer/lots/new", data=_lot_form(client, world, **typed))
    assert bad.status_code == 422 and 'id="f-input-0-commune_code-error"' in bad.get_data(as_text=True)


def _qa_lot_form(client, world, **changes: str) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, "/producer/lots/new"),
        "product_id": str(world.product.id),
        "lot_code": "L-QA-1",
        "production_date": "2025-11-02",
        "expiry_date": "2026-05-01",
        "quantity": "2.000",
        "unit": "hộp",
        **changes,
    }


def _error_of(page: str, field: str) -> str:
    return page.split(f'id="f-{field}-error"')[1].split("</p>")[0]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("99999999999999999999999", "Tối đa 10.000.000"),
        ("1.000.000.000", "Tối đa 10.000.000"),
        ("10.00", "chỉ dùng chữ số"),
    ],
)
def test_a_huge_or_wrongly_grouped_lot_quantity_is_told_the_maximum_or_digits_only(
    app, session, typed, message
):
    world = producer_world(session, "htx-lot-qty")
    client = signed_in_client(app, "htx-lot-qty")
    resp = client.post("/producer/lots/new", data=_qa_lot_form(client, world, quantity=typed))
    assert resp.status_code == 422
    assert message in _error_of(resp.get_data(as_text=True), "quantity")
    ok = client.post("/producer/lots/new", data=_qa_lot_form(client, world, quantity="10.000.000"))
    assert ok.status_code == 302  # the maximum itself, grouped the Vietnamese way


def test_expiry_before_production_is_reported_with_the_other_field_errors(app, session):
    world = producer_world(session, "htx-lot-dates")
    client = signed_in_client(app, "htx-lot-dates")
    form = _qa_lot_form(client, world, expiry_date="2025-10-01", lot_code="có dấu cách", quantity="0")
    page = client.post("/producer/lots/new", data=form).get_data(as_text=True)
    for field in ("expiry_date", "lot_code", "quantity"):  # all three in one round trip
        assert f'id="f-{field}-error"' in page, field
    assert "Hạn sử dụng không được trước ngày sản xuất." in _error_of(page, "expiry_date")


def test_a_recalled_lot_shows_the_recall_and_offers_no_stamp_request(app, client, session, admin):
    world = producer_world(session, "htx-lot-recall")
    me = signed_in_client(app, "htx-lot-recall")
    assert "Xin tem cho lô này" in me.get(f"/producer/lots/{world.lot.id}").get_data(as_text=True)
    body = {"reason": "Dư lượng thuốc BVTV", "decision": decision("3900/QĐ-UBND")}
    recalled = client.post(f"/api/v1/lots/{world.lot.id}/recall", json=body, headers=admin.headers)
    assert recalled.status_code == 200
    page = me.get(f"/producer/lots/{world.lot.id}").get_data(as_text=True)
    assert "Lô hàng này đã bị thu hồi theo quyết định 3900/QĐ-UBND ngày 18/11/2026." in page
    assert "Lý do: Dư lượng thuốc BVTV" in page and "Không thể cấp tem cho lô này." in page
    assert "Xin tem cho lô này" not in page and "/producer/requests/new?lot_id=" not in page


def test_top_bar_reaches_lots_and_requests_and_home_has_its_own_name(app, session):
    world = producer_world(session, "htx-nav")
    client = signed_in_client(app, "htx-nav")
    home = client.get("/producer/").get_data(as_text=True)
    top = home.split('<nav aria-label="Trình đơn chính">')[1].split("</nav>")[0]
    assert ">Trang chính</a>" in top and ">Sản phẩm của tôi</a>" not in top
    assert 'href="/producer/lots/">Lô hàng</a>' in top
    assert 'href="/producer/requests/">Yêu cầu cấp tem</a>' in top
    assert "<title>Trang chính · OCOP</title>" in home
    assert "đang chờ cơ quan quản lý duyệt" in home and "văn phòng" not in home.split("<main")[1]
    for path in (f"/producer/lots/{world.lot.id}", "/producer/lots/new", "/producer/requests/new"):
        assert '<a class="back" href=' in client.get(path).get_data(as_text=True), path  # 44 px (people.css)
