"""The producer's journey in headless Chromium at 390 x 844, in Vietnamese (issue 11).

Sign in as the demo producer; record a lot with two raw-material inputs (communes picked from
the list) and two origin records and a photo; request 200 stamps with PINs (the label picture
switches to the PIN variant); the office approves (through the service); download the PDF and decode every
code in it with zxing-cpp; void a spoiled range and see those stamps revoked on their public
pages, the inputs on a public page, and the scans in the chart and a shared province in the
first-scan places; my products. axe-core on every page (no serious or critical
violation), nothing wider than the phone, and a screenshot of each (OCOP_SCREENSHOT_DIR keeps
them; docs/producers.md shows them).
"""

from __future__ import annotations

import csv
import io
import re
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from stamp_service.demo import DEMO_PRODUCER_ACCOUNT, demo_producer_id, load_demo_registry
from stamp_service.domain.access import Principal, Role
from stamp_service.schemas.stamp_requests import ApproveIn
from stamp_service.services import issuance_jobs, scans, stamp_requests
from stamp_service.storage.models.stamps import StampRequest
from tests.e2e.axe import serious_violations as axe_violations
from tests.e2e.pages import PHONE, check
from tests.people_support import PASSWORD, make_person
from tests.producer_support import jpeg_photo
from tests.qr_decoding import decode_pdf
from tests.stamp_factories import ensure_keyring

_check = partial(check, prefix="producer-", width_in_name=False)  # the names docs/ use


def _verdict(page: Any) -> str:
    found = re.search(r'<section class="v (\w+)" role="status"', page.content())
    assert found
    return found.group(1)


def test_producer_journey_on_a_phone_in_vietnamese(browser, live_url, app, session, settings, shots):
    load_demo_registry(session)
    producer_id = demo_producer_id(session)
    make_person(session, Role.PRODUCER, name=DEMO_PRODUCER_ACCOUNT, producer_id=producer_id)
    office = make_person(session, Role.ADMIN, name="office-e2e")
    ensure_keyring(session, settings.keys_dir)

    context = browser.new_context(viewport=PHONE, locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    page.goto(live_url + "/producer/")
    page.fill("#f-name", DEMO_PRODUCER_ACCOUNT)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/producer/")
    _check(page, shots, "home")

    # Lots: a new lot, with a mistake first (shown next to the field)
    page.click("main >> text=lô hàng")
    _check(page, shots, "lots")
    page.click("text=Ghi lô hàng mới")
    page.select_option("#f-product_id", index=1)
    page.fill("#f-lot_code", "E2E-2026")
    page.fill("#f-production_date", "2026-11-20")
    page.fill("#f-expiry_date", "2026-11-01")
    page.fill("#f-quantity", "1.000")
    page.fill("#f-unit", "hộp")
    page.fill("#f-place", "Xưởng HTX, thôn Phúc Đình")
    # Two raw-material inputs, each commune picked from the list of the row's province: the
    # producer's own (Hà Tĩnh) at first; row 2 switches to Thanh Hóa and asks for its communes.
    page.fill("#f-input-0-description", "Bưởi tươi")
    page.fill("#f-input-0-supplier", "Tổ hợp tác bưởi thôn 3")
    page.select_option("#f-input-0-commune_code", label="Xã Phúc Trạch")
    page.fill("#f-input-0-received_on", "2026-11-15")
    page.fill("#f-input-1-description", "Đường mía")
    page.fill("#f-input-1-supplier", "HTX mía Hà Trung")
    page.select_option("#f-input-1-province", "38")
    page.click("button:has-text('Hiện danh sách xã của tỉnh')")
    assert page.input_value("#f-input-0-supplier") == "Tổ hợp tác bưởi thôn 3"  # typed values kept
    page.select_option("#f-input-1-commune_code", label="Xã Hà Trung")
    page.fill("#f-input-1-received_on", "2026-11-10")
    page.click("main button[type=submit]")
    assert "Hạn sử dụng không được trước ngày sản xuất" in page.inner_text("#f-expiry_date-error")
    _check(page, shots, "lot-new-error")
    page.fill("#f-expiry_date", "2027-05-20")
    page.click("main button[type=submit]")
    assert "Đã ghi lô hàng" in page.inner_text("main")
    lot_url = page.url
    inputs = page.inner_text("#inputs + ul")
    assert "Tổ hợp tác bưởi thôn 3" in inputs and "Xã Phúc Trạch, Tỉnh Hà Tĩnh" in inputs
    assert "HTX mía Hà Trung" in inputs and "Xã Hà Trung, Tỉnh Thanh Hóa" in inputs and "10/11/2026" in inputs

    # Two origin records, the first with a photo (and a file that is not what it claims, refused)
    page.select_option("#f-event_type", "sourcing")
    page.fill("#f-occurred_at", "2026-11-18T07:30")
    page.fill("#f-place", "Vườn bưởi thôn 3")
    page.fill("#f-actor", "Tổ thu hái số 1")
    page.set_input_files(
        "#f-files", files=[{"name": "anh.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n<html>"}]
    )
    page.click("text=Thêm bản ghi >> nth=-1")
    assert "không phải là tệp JPEG, PNG hoặc PDF" in page.inner_text("#f-files-error")
    _check(page, shots, "lot-upload-error")
    page.select_option("#f-event_type", "sourcing")
    page.fill("#f-occurred_at", "2026-11-18T07:30")
    page.fill("#f-place", "Vườn bưởi thôn 3")
    page.fill("#f-actor", "Tổ thu hái số 1")
    page.set_input_files(
        "#f-files",
        files=[{"name": "vuon-buoi.jpg", "mimeType": "image/jpeg", "buffer": jpeg_photo(1600, 1200)}],
    )
    page.click("text=Thêm bản ghi >> nth=-1")
    assert "Đã thêm bản ghi" in page.inner_text("main")
    page.select_option("#f-event_type", "packing")
    page.fill("#f-occurred_at", "2026-11-20T14:00")
    page.fill("#f-place", "Xưởng đóng gói HTX")
    page.fill("#f-actor", "Nguyễn Thị Lan")
    page.click("text=Thêm bản ghi >> nth=-1")
    records = page.inner_text("#records + ol")
    assert "#1" in records and "#2" in records and "vuon-buoi.jpg" in records
    _check(page, shots, "lot")
    photo = context.request.get(live_url + page.get_attribute("#records + ol a", "href"))
    assert photo.status == 200 and photo.headers["content-type"] == "image/jpeg"

    # Request 200 stamps with PINs, choosing the label size by its picture
    page.goto(lot_url)
    page.click("text=Xin tem cho lô này")
    page.fill("#f-quantity", "200")
    # The pictures follow the PIN box as it is ticked (CSS :has, no script): without, then with PINs.
    chosen = "label.preset:has(input[value='a4-3x7-63.5x38.1-diecut'])"
    assert page.is_visible(f"{chosen} .no-pin img") and not page.is_visible(f"{chosen} .with-pin img")
    page.check("input[name=preset][value='a4-3x7-63.5x38.1-diecut']")
    _check(page, shots, "request-new")
    page.check("input[name=with_pin]")
    assert page.is_visible(f"{chosen} .with-pin img") and not page.is_visible(f"{chosen} .no-pin img")
    assert "?pin=true" in (page.get_attribute(f"{chosen} .with-pin img", "src") or "")
    for picture in page.locator(".preview.with-pin img").all():
        picture.scroll_into_view_if_needed()
    page.wait_for_function(
        "[...document.querySelectorAll('.preview.with-pin img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.locator(chosen).scroll_into_view_if_needed()
    _check(page, shots, "request-new-pin")
    page.click("text=Gửi yêu cầu")
    assert "Đang chờ cơ quan quản lý duyệt" in page.inner_text("main")
    _check(page, shots, "request-waiting")

    # The office approves (through the service, as the office console would)
    session.expire_all()
    request_id = session.scalars(select(StampRequest.id).order_by(StampRequest.id.desc())).first()
    admin = Principal(account_id=office, name="office-e2e", role=Role.ADMIN)
    done = stamp_requests.approve(
        session,
        admin,
        request_id,
        ApproveIn.model_validate({}),
        spare_percent=settings.stamp_spare_percent,
        issuance=issuance_jobs.for_app_runtime(app.extensions["ocop"]),
    )
    assert done.state == "issued" and done.issued_count == 200

    page.reload()
    assert "Sẵn sàng để in" in page.inner_text("main")
    _check(page, shots, "request-ready")
    with page.expect_download() as got:
        page.click("text=Tải PDF cho máy in văn phòng")
    pdf = Path(got.value.path()).read_bytes()
    urls = decode_pdf(pdf)
    assert len(urls) == 200 and len(set(urls)) == 200  # every code decodes, none twice
    manifest = context.request.get(f"{live_url}/producer/requests/{request_id}/labels.csv").text()
    rows = list(csv.DictReader(io.StringIO(manifest)))
    assert sorted(r["url"] for r in rows) == sorted(urls) and all(r["pin"] for r in rows)

    # Void a spoiled range: the confirmation names how many
    page.fill("#f-seq_from", "41")
    page.fill("#f-seq_to", "45")
    page.click("text=Tiếp tục")
    assert "Bạn sắp huỷ 5 tem (STT 41 đến 45)" in page.inner_text("main")
    _check(page, shots, "void-confirm")
    page.click("button:has-text('Huỷ 5 tem')")
    assert "Đã huỷ 5 tem" in page.inner_text("main")
    _check(page, shots, "request-voided")
    by_seq = {int(r["seq"]): urlsplit(r["url"]).path for r in rows}
    public = context.new_page()
    for seq in (40, 41, 42, 43, 44, 45, 46):
        public.goto(live_url + by_seq[seq])
        assert _verdict(public) == ("revoked" if 41 <= seq <= 45 else "genuine"), seq
    public.goto(live_url + by_seq[41])
    public.screenshot(path=str(shots / "producer-public-voided.png"), full_page=True)

    # The public page of a good stamp opens the uploaded photo
    public.goto(live_url + by_seq[1])
    link = public.locator("a", has_text="Mở giấy tờ").first
    assert link.count() == 1 and public.request.get(live_url + link.get_attribute("href")).status == 200

    # ... and shows the raw-material inputs the producer entered, with their area and date
    origin = public.inner_text("main")
    assert "Tổ hợp tác bưởi thôn 3" in origin and "Xã Hà Trung, Tỉnh Thanh Hóa" in origin
    assert "10/11/2026" in origin
    assert axe_violations(public) == [], "public-inputs"
    public.screenshot(path=str(shots / "producer-public-inputs.png"), full_page=True)

    # A shopper in Thanh Hóa scans a new stamp and shares the province
    public.goto(live_url + by_seq[60])
    public.click("text=Cho biết tỉnh/thành của bạn")
    public.select_option("#p", "38")
    public.click("form:has(#p) button")

    # Those public pages were scans: once flushed, they are in the chart and the first-scan places
    rt = app.extensions["ocop"]
    assert scans.scan_log_for(rt).flush(rt.session_factory) >= 1
    page.goto(live_url + "/producer/scans/")
    assert "0 lượt quét trong 30 ngày" not in page.inner_text("main")
    assert page.locator("#chart-scans-title + desc + line ~ rect").count() == 30
    places = page.get_by_role("img", name="Nơi tem của tôi được quét lần đầu")
    assert "Tỉnh Thanh Hóa: 1" in places.inner_html()
    _check(page, shots, "scans")

    page.goto(live_url + "/producer/requests/")
    _check(page, shots, "requests")
    page.goto(live_url + "/producer/products/")
    assert "Số quyết định" in page.inner_text("main")
    _check(page, shots, "products")
    page.goto(live_url + "/producer/lots/999999")
    assert page.inner_text("h1")
    _check(page, shots, "not-found")
    context.close()
