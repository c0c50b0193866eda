"""The office's registry journey in headless Chromium, in Vietnamese (390 px) and English (desktop).

Signed in as the Hà Tĩnh demo office over the demo registry: register a producer (the commune
chosen from the list), a product and a council decision, see them listed; read a lot with its
origin records; open the inbox. Every page is checked with axe-core (no serious or critical
violation), for sideways scroll, and photographed (OCOP_SCREENSHOT_DIR keeps the pictures).
"""

from __future__ import annotations

from typing import Any

import pytest

from stamp_service.demo import load_demo_registry
from stamp_service.domain.access import Role
from tests.e2e.pages import DESKTOP, PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import sign_in as _sign_in
from tests.people_support import make_person

TEXT = {
    "vi": {
        "producers": "Chủ thể sản xuất",
        "register_producer": "Đăng ký chủ thể sản xuất",
        "name_error": "Hãy điền ô này.",
        "register_product": "Đăng ký sản phẩm",
        "recorded": "Đã ghi quyết định.",
        "stars": "4 sao",
        "found_one": "Tìm thấy 1 nhà sản xuất",
        "lots": "Lô hàng",
        "inbox": "Hộp thư việc cần làm",
        "report": "Báo cáo tháng",
    },
    "en": {
        "producers": "Producers",
        "register_producer": "Register a producer",
        "name_error": "Fill in this field.",
        "register_product": "Register a product",
        "recorded": "The decision is recorded.",
        "stars": "4 stars",
        "found_one": "Producers found: 1",
        "lots": "Lots",
        "inbox": "Inbox",
        "report": "Monthly report",
    },
}


@pytest.mark.parametrize(("lang", "viewport"), [("vi", PHONE), ("en", DESKTOP)], ids=["vi-390", "en-desktop"])
def test_register_a_producer_product_and_certificate(
    browser, live_url, session, shots, lang, viewport
) -> None:
    load_demo_registry(session)
    make_person(session, Role.ADMIN, name="hatinh-admin", province_code="42")
    t = TEXT[lang]
    page: Any = browser.new_context(locale="vi-VN", viewport=viewport).new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else external.append(r.url))

    page.goto(f"{live_url}/signin?lang={lang}")
    _sign_in(page, live_url, "hatinh-admin")
    page.click(f"header nav >> text={t['producers']}")
    assert page.locator("h1").inner_text() == t["producers"]
    _check(page, shots, f"console-producers-{lang}")

    page.click(f"main >> text={t['register_producer']}")
    page.click("main button[type=submit]")  # empty: each field says what it needs
    assert page.locator("#f-name-error").inner_text() == t["name_error"]
    _check(page, shots, f"console-producer-errors-{lang}")
    name = f"HTX Chè xanh Hương Sơn ({lang})"
    page.fill("#f-name", name)
    page.select_option("#f-legal_type", "cooperative")
    page.fill("#f-registration_number", f"3001{'77' if lang == 'vi' else '88'}5566")
    page.select_option("#f-commune_code", label="Xã Hương Sơn")
    page.fill("#f-street", "Thôn Tân Hương")
    page.fill("#f-phone", "0239 3600 111")
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() == name
    assert "Xã Hương Sơn" in page.locator("main").inner_text()
    _check(page, shots, f"console-producer-{lang}")

    page.click(f"main >> text={t['register_product']}")
    page.fill("#f-name", "Chè xanh Hương Sơn")
    page.fill("#f-short_name", "Chè Hương Sơn")
    page.select_option("#f-group_code", "1.2")
    _check(page, shots, f"console-product-new-{lang}")
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() == "Chè xanh Hương Sơn"

    page.select_option("#f-stars", "4")
    page.fill("#f-score", "80")
    page.fill("#f-decision_number", "2345/QĐ-UBND")
    page.fill("#f-signed_on", "2025-09-15")
    page.fill("#f-authority_name", "UBND tỉnh Hà Tĩnh")
    page.click("form[action$='/certificates'] button[type=submit]")
    main = page.locator("main").inner_text()
    assert t["recorded"] in main and "2345/QĐ-UBND" in main and t["stars"] in main
    _check(page, shots, f"console-product-{lang}")

    page.click(f"header nav >> text={t['producers']}")
    page.fill("#f-q", "Chè xanh Hương Sơn")
    page.click("form[role=search] button[type=submit]")
    assert t["found_one"] in page.locator("main").inner_text()
    assert page.locator("main .list a.row").inner_text() == name
    _check(page, shots, f"console-producers-search-{lang}")

    page.click(f"header nav >> text={t['lots']}")
    _check(page, shots, f"console-lots-{lang}")
    page.click("text=PT-DEMO-01")
    assert "PT-DEMO-01" in page.locator("h1").inner_text()
    assert page.locator("ol.events li").count() >= 1
    _check(page, shots, f"console-lot-{lang}")

    page.click(f"header nav >> text={t['inbox']}")
    assert page.locator("h1").inner_text() == t["inbox"]
    _check(page, shots, f"console-inbox-{lang}")
    page.click(f"header nav >> text={t['report']}")
    assert page.locator("h1").inner_text() == t["report"]
    _check(page, shots, f"console-statistics-{lang}")
    assert external == []


def test_central_office_reads_the_audit_log(browser, live_url, session, shots) -> None:
    load_demo_registry(session)
    make_person(session, Role.ADMIN, name="central-admin")
    page: Any = browser.new_context(locale="vi-VN", viewport=PHONE).new_page()
    _sign_in(page, live_url, "central-admin")
    page.click("header nav >> text=Nhật ký kiểm toán")
    _check(page, shots, "console-audit-vi")
    page.click("text=Kiểm tra chuỗi mã băm")
    assert "Chuỗi mã băm nguyên vẹn" in page.locator("main").inner_text()
    page.fill("#f-action", "producer")
    page.click("form[role=search] button[type=submit]")
    main = page.locator("main").inner_text()
    assert "producer.create" in main  # the code stays visible, in small type
    assert "Đăng ký chủ thể sản xuất · chủ thể sản xuất" in main  # under a translated label
    _check(page, shots, "console-audit-search-vi")
