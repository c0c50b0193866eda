"""Sign-in and the account pages in headless Chromium, in Vietnamese and English, at 390 px and desktop.

Each page is checked with axe-core (no serious or critical violation) and photographed; set
OCOP_SCREENSHOT_DIR to keep the pictures (docs/accounts.md uses them).
"""

from __future__ import annotations

import pyotp
import pytest

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import accounts
from tests.e2e.axe import serious_violations as axe_violations
from tests.e2e.pages import DESKTOP, PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import sign_in as _sign_in
from tests.factories import make_producer
from tests.people_support import PASSWORD, make_person


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "desktop"])
def test_office_administrator_journey_in_vietnamese(browser, live_url, session, shots, viewport):
    make_person(session, Role.ADMIN, name="hatinh-admin", province_code="42")
    inspector = make_person(session, Role.INSPECTOR, name="hatinh-inspector", province_code="42")
    accounts.issue_token(session, SYSTEM, account_id=inspector, label="cổng kiểm tra")
    context = browser.new_context(locale="vi-VN", viewport=viewport)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else external.append(r.url))
    csp: list[str] = []  # a refused style or script would show here
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(live_url + "/console/")
    assert page.url.startswith(live_url + "/signin")
    _check(page, shots, "signin-vi")
    page.fill("#f-name", "hatinh-admin")
    page.fill("#f-password", "wrong password")
    page.click("main button[type=submit]")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in page.locator("#f-password-error").inner_text()
    _check(page, shots, "signin-error-vi")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url == live_url + "/console/"
    assert page.locator("h1").inner_text() == "Bảng điều khiển văn phòng"
    assert "Tỉnh Hà Tĩnh" in page.locator("main").inner_text()
    _check(page, shots, "console-home-vi")

    page.click("text=Tài khoản và mã truy cập API")
    assert "hatinh-inspector" in page.locator("main").inner_text()
    _check(page, shots, "accounts-list-vi")
    page.click("text=Tài khoản mới")
    page.fill("#f-name", "a b")
    page.select_option("#f-role", "inspector")
    page.click("main button[type=submit]")
    assert page.locator("#f-name-error").is_visible()
    _check(page, shots, "account-new-error-vi")
    page.fill("#f-name", "hatinh-inspector-2")
    page.click("main button[type=submit]")
    code = page.locator(".secret").inner_text().strip()
    assert len(code) == 19
    _check(page, shots, "one-time-code-vi")
    page.click("text=Xong")
    _check(page, shots, "account-detail-vi")
    page.fill("#f-label", "máy tính bảng")
    page.fill("#f-days", "7")
    page.click("text=Tạo mã truy cập")
    assert page.locator(".secret").inner_text().startswith("ocop_")
    _check(page, shots, "token-issued-vi")

    page.goto(live_url + "/account/")
    _check(page, shots, "my-account-vi")
    page.goto(live_url + "/account/totp")
    assert page.locator(".qr svg").count() == 1
    _check(page, shots, "totp-vi")
    page.goto(live_url + "/account/password")
    _check(page, shots, "password-vi")
    page.goto(live_url + "/console/accounts/999999")
    assert page.locator("h1").inner_text() == "Không tìm thấy trang"
    _check(page, shots, "error-404-vi")

    page.click("header button:has-text('Đăng xuất')")
    assert page.url == live_url + "/signin"
    assert "Bạn đã đăng xuất." in page.locator("main").inner_text()
    page.goto(live_url + "/console/")
    assert page.url.startswith(live_url + "/signin")
    assert external == [] and csp == []
    context.close()


def test_english_producer_and_second_factor(browser, live_url, session, shots):
    producer = make_producer(session)
    make_person(session, Role.PRODUCER, name="htx-phuc-trach", producer_id=producer.id)
    context = browser.new_context(locale="en-US", viewport=PHONE)
    page = context.new_page()
    page.goto(live_url + "/signin")
    assert page.locator("h1").inner_text() == "Sign in"  # the browser asks for English
    page.click("header a.lang")
    assert page.locator("h1").inner_text() == "Đăng nhập"  # the switch wins, and is remembered
    page.goto(live_url + "/signin")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.click("header a.lang")
    assert page.locator("h1").inner_text() == "Sign in"
    _sign_in(page, live_url, "htx-phuc-trach")
    assert page.url == live_url + "/producer/"
    assert producer.name in page.locator("h1").inner_text()
    _check(page, shots, "producer-home-en")
    page.goto(live_url + "/console/")
    assert page.locator("h1").inner_text() == "You may not open this page"
    _check(page, shots, "error-403-en")

    page.goto(live_url + "/account/totp")
    secret = page.locator(".secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.fill("#f-code", totp.now())
    page.click("main button[type=submit]")
    assert "The second factor is on" in page.locator(".flash").inner_text()
    _check(page, shots, "my-account-en")
    page.click("header button:has-text('Sign out')")
    _sign_in(page, live_url, "htx-phuc-trach")
    assert page.url == live_url + "/signin/code"
    _check(page, shots, "signin-code-en")
    from datetime import UTC, datetime, timedelta

    page.fill("#f-code", totp.at(datetime.now(UTC) + timedelta(seconds=30)))
    page.click("main button[type=submit]")
    assert page.url == live_url + "/producer/"
    context.close()


def test_markup_in_an_account_name_stays_text(browser, live_url, session):
    make_person(session, Role.ADMIN, name="central-admin")
    accounts.create_account(session, SYSTEM, name="<script>alert(1)</script>", role=Role.INSPECTOR)
    context = browser.new_context(locale="vi-VN", viewport=DESKTOP)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(page, live_url, "central-admin")
    page.goto(live_url + "/console/accounts/")
    page.click("text=<script>alert(1)</script>")
    assert page.locator("h1").inner_text() == "<script>alert(1)</script>"
    assert dialogs == []
    context.close()


def test_the_scanner_signs_in_with_a_user_name_and_password(browser, live_url, session, shots):
    make_person(session, Role.INSPECTOR, name="hatinh-inspector", province_code="42")
    context = browser.new_context(locale="vi-VN", viewport=PHONE)
    page = context.new_page()
    page.goto(live_url + "/scanner/")
    page.fill("#device-name", "hatinh-inspector")
    page.fill("#device-password", "not the password")
    page.click("#device-sign-in button")
    from playwright.sync_api import expect

    expect(page.locator("#device-sign-in p")).to_contain_text("không đúng")  # waits for the answer
    page.screenshot(path=str(shots / "scanner-sign-in-390.png"), full_page=True)
    page.fill("#device-password", PASSWORD)
    page.click("#device-sign-in button")
    page.wait_for_selector("#device-sign-in", state="hidden")
    assert page.locator("#sign-out").is_visible()
    page.screenshot(path=str(shots / "scanner-signed-in-390.png"), full_page=True)
    page.click("#sign-out")
    expect(page.locator("#device-sign-in")).to_be_visible()  # signing out is async (IndexedDB)
    context.close()


def test_the_axe_check_reports_what_it_should(browser):
    """The accessibility check itself can fail: a page with known faults is reported."""
    page = browser.new_page()
    page.set_content('<html><body><input type="text"><button></button><img src="x.png"></body></html>')
    found = {v["id"] for v in axe_violations(page)}
    assert {"button-name", "image-alt", "label", "html-has-lang"} <= found
    page.close()
