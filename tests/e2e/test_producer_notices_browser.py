"""The producer's notices in headless Chromium at 390 x 844, in Vietnamese (issue 11).

The demo producer signs in and sees a certificate-expiry notice; it requests stamps, the office
approves (through the service, as the console would), and the header shows the count of new
notices; the producer opens the notices page and follows the link to the ready request. axe-core
on the notices page; screenshots (OCOP_SCREENSHOT_DIR keeps them; docs/producers.md shows one).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from stamp_service.demo import DEMO_PRODUCER_ACCOUNT, demo_producer_id, load_demo_registry
from stamp_service.domain.access import Principal, Role
from stamp_service.domain.certification import local_today
from stamp_service.schemas.stamp_requests import ApproveIn
from stamp_service.services import issuance_jobs, stamp_requests
from stamp_service.storage.models.registry import Product
from stamp_service.storage.models.stamps import StampRequest
from tests.e2e.pages import PHONE, check
from tests.factories import make_certificate, make_lot, make_product
from tests.people_support import PASSWORD, make_person
from tests.stamp_factories import ensure_keyring

_check = partial(check, prefix="producer-", width_in_name=False)  # the names docs/ use


@pytest.fixture()
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a port of this suite's own range (9800-9899)."""
    for port in range(9800, 9900):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break
    server = make_server("127.0.0.1", port, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def _badge(page: Any) -> str | None:
    found = page.locator("header .count")
    return found.inner_text() if found.count() else None


def test_producer_sees_the_approval_in_its_notices_and_opens_the_ready_request(
    browser,
    live_url,
    app,
    session,
    settings,
    shots,
):
    load_demo_registry(session)
    producer_id = demo_producer_id(session)
    assert producer_id is not None
    make_person(session, Role.PRODUCER, name=DEMO_PRODUCER_ACCOUNT, producer_id=producer_id)
    office = make_person(session, Role.ADMIN, name="office-notices-e2e")
    ensure_keyring(session, settings.keys_dir)
    # A second product whose certificate ends in 25 days; the first product's lot for the request.
    honey = make_product(session, producer_id, name="Mật ong rừng Vũ Quang")
    ends = local_today() + timedelta(days=25)
    make_certificate(session, honey.id, valid_until=ends.isoformat(), decision_number="2154/QĐ-UBND")
    first = session.scalars(
        select(Product).where(Product.producer_id == producer_id).order_by(Product.id)
    ).first()
    assert first is not None
    lot = make_lot(session, first.id, lot_code="PT-THONGBAO-01", quantity=1000)

    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    page.goto(live_url + "/producer/")
    page.fill("#f-name", DEMO_PRODUCER_ACCOUNT)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/producer/")
    assert _badge(page) == "1"  # the certificate-expiry notice

    page.click("header >> text=Thông báo")
    assert page.url.endswith("/producer/notices/")
    notice = page.locator("ol.notices li").first
    assert "Giấy chứng nhận hết hạn trong vòng 30 ngày" in notice.inner_text()
    assert (
        f"Mật ong rừng Vũ Quang (quyết định 2154/QĐ-UBND) hết hiệu lực ngày {ends:%d/%m/%Y}"
        in notice.inner_text()
    )
    assert _badge(page) is None  # opened: seen
    _check(page, shots, "notices-expiry")

    # Request stamps on the page; the office approves them.
    page.goto(f"{live_url}/producer/requests/new?lot_id={lot.id}")
    page.fill("#f-quantity", "20")
    page.click("text=Gửi yêu cầu")
    assert "Đang chờ cơ quan quản lý duyệt" in page.inner_text("main")
    assert _badge(page) is None  # the producer's own request is no notice
    session.expire_all()
    request_id = session.scalars(select(StampRequest.id).order_by(StampRequest.id.desc())).first()
    assert request_id is not None
    done = stamp_requests.approve(
        session,
        Principal(account_id=office, name="office-notices-e2e", role=Role.ADMIN),
        request_id,
        ApproveIn.model_validate({}),
        spare_percent=settings.stamp_spare_percent,
        issuance=issuance_jobs.for_app_runtime(app.extensions["ocop"]),
    )
    assert done.state == "issued"

    page.goto(live_url + "/producer/")
    assert _badge(page) == "2"  # approved, and ready to print
    _check(page, shots, "home-notices-badge")
    page.click("header >> text=Thông báo")
    items = page.locator("ol.notices li")
    assert items.count() == 3
    texts = [items.nth(i).inner_text() for i in range(3)]
    assert sum("Mới" in t for t in texts) == 2 and "Mới" not in texts[2]  # the expiry notice was seen
    assert any(f"Yêu cầu cấp tem #{request_id}" in t and "đã được duyệt: 20 tem" in t for t in texts)
    assert re.search(r"\d{2}/\d{2}/\d{4}", texts[0])
    _check(page, shots, "notices")

    ready = page.locator("ol.notices li", has_text="Tem đã sẵn sàng để in")
    ready.get_by_role("link", name="Xem yêu cầu cấp tem").click()
    assert page.url.endswith(f"/producer/requests/{request_id}")
    assert "Sẵn sàng để in" in page.inner_text("main")

    page.goto(live_url + "/producer/notices/?lang=en")  # English on request
    assert "Stamps ready to print" in page.inner_text("main")
    _check(page, shots, "notices-en")
    context.close()
