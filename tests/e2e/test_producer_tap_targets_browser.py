"""Tap targets of the producer pages at 390 x 844 (QA review): the back links, the lot link on a
request, trace document links and the charts' "…: the numbers" disclosures are at least 44 px
tall; the header's count badges keep every menu item 44 px tall on its row; the producer's top
bar reaches lots and stamp requests; a recalled lot's request shows the recall, not downloads.
The console home, which shares the stylesheet, keeps its menu rows too. axe-clean, nothing
wider than the phone, a screenshot of each page (OCOP_SCREENSHOT_DIR keeps them)."""

from __future__ import annotations

import io
from functools import partial
from typing import Any

from sqlalchemy import select

from stamp_service.domain.access import Role
from stamp_service.storage.models.stamps import StampRequest
from tests.e2e.pages import PHONE, check
from tests.e2e.pages import sign_in as _sign_in
from tests.factories import make_caller
from tests.issuance_helpers import approve
from tests.people_support import csrf_token, make_person
from tests.producer_support import pdf, producer_world, signed_in_client
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring

_check = partial(check, prefix="tap-", width_in_name=False)  # the names docs/ use


def _heights(page: Any, selector: str) -> list[tuple[str, float]]:
    return page.eval_on_selector_all(
        selector, "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height])"
    )


def _all_tall(page: Any, selector: str, at_least: int = 1) -> None:
    found = _heights(page, selector)
    assert len(found) >= at_least, selector
    short = [(text, h) for text, h in found if h < 44]
    assert not short, (selector, short)


def _menu_rows_hold(page: Any) -> None:
    """Every menu item 44 px tall and no taller (a badge must not make its row higher)."""
    heights = [h for _text, h in _heights(page, ".top nav li")]
    assert heights and all(44 <= h <= 46 for h in heights), _heights(page, ".top nav li")


def test_producer_and_console_tap_targets(browser, live_url, app, client, session, settings, shots):
    admin = make_caller(session, Role.ADMIN)
    ensure_keyring(session, settings.keys_dir)
    world = producer_world(session, "htx-tap")
    me = signed_in_client(app, "htx-tap")
    token = csrf_token(me, f"/producer/lots/{world.lot.id}")
    resp = me.post(
        f"/producer/lots/{world.lot.id}/events",
        data={
            "csrf_token": token,
            "event_type": "testing",
            "occurred_at": "2025-10-20T09:00",
            "files": [(io.BytesIO(pdf()), "phieu-kiem-nghiem.pdf", "application/pdf")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    page_form = me.get(f"/producer/requests/new?lot_id={world.lot.id}").get_data(as_text=True)
    key = page_form.split('name="key" value="')[1].split('"')[0]
    for k, qty in ((key, "20"), ("second", "5")):
        token = csrf_token(me, "/producer/requests/new")
        me.post(
            "/producer/requests/new",
            data={"csrf_token": token, "key": k, "lot_id": str(world.lot.id), "quantity": qty},
        )
    first, waiting = session.scalars(select(StampRequest).order_by(StampRequest.id)).all()[-2:]
    assert approve(client, admin, first.id).get_json()["state"] == "issued"
    make_person(session, Role.ADMIN, name="office-tap")

    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    _sign_in(page, live_url, "htx-tap")
    assert page.url.endswith("/producer/")
    top = page.locator(".top nav").inner_text()
    assert "Trang chính" in top and "Lô hàng" in top and "Yêu cầu cấp tem" in top
    assert "Sản phẩm của tôi" not in top
    _menu_rows_hold(page)
    _check(page, shots, "producer-home")

    page.goto(f"{live_url}/producer/requests/{first.id}")
    _all_tall(page, "main a.back")
    _all_tall(page, "main a.tap")
    _check(page, shots, "request-ready")

    body = {"reason": "Dư lượng thuốc BVTV", "decision": decision("3900/QĐ-UBND")}
    recalled = client.post(f"/api/v1/lots/{world.lot.id}/recall", json=body, headers=admin.headers)
    assert recalled.status_code == 200
    page.goto(f"{live_url}/producer/requests/{first.id}")
    assert "3900/QĐ-UBND" in page.locator("main").inner_text()
    assert page.locator("main a[href*='labels.']").count() == 0
    _menu_rows_hold(page)  # now with the new-notices badge in the header
    _check(page, shots, "request-recalled")

    page.goto(f"{live_url}/producer/lots/{world.lot.id}")
    _all_tall(page, "main a.back")
    _all_tall(page, "main a.tap")  # the trace document
    assert "3900/QĐ-UBND" in page.locator("main").inner_text()
    _check(page, shots, "lot-recalled")

    page.goto(f"{live_url}/producer/scans/")
    _all_tall(page, "main summary", at_least=0)
    _check(page, shots, "scans")
    for path, name in (("/producer/staff/", "staff"), ("/producer/requests/new", "request-new")):
        page.goto(live_url + path)
        _all_tall(page, "main a.back", at_least=0)
        _check(page, shots, name)

    office = browser.new_context(viewport=PHONE, locale="vi-VN").new_page()
    _sign_in(office, live_url, "office-tap")
    assert office.url.endswith("/console/")
    _menu_rows_hold(office)  # the inbox badge with the request waiting
    _check(office, shots, "console-home")
    office.goto(live_url + "/console/statistics/")
    _all_tall(office, "main summary")
    _check(office, shots, "console-statistics")
    assert waiting.state == "requested"
