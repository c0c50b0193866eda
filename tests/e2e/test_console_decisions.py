"""The office's daily decisions in headless Chromium, in Vietnamese and in English, at 390 px.

Sign in as the Hà Tĩnh office; approve a waiting request and watch its progress finish; download
the PDF and decode a code from it (zxing-cpp); withdraw the product's stars and see that stamp's
public page turn; accept an inspector's void proposal and see the stamp voided; sign out. Every
page is checked with axe-core and photographed (OCOP_SCREENSHOT_DIR keeps the pictures;
docs/console.md uses them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console_decisions_support import HA_TINH, THANH_HOA, make_office
from tests.e2e.pages import DESKTOP, PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import t as _t
from tests.people_support import PASSWORD
from tests.qr_decoding import decode_pdf
from tests.stamp_factories import ensure_keyring


def _public_heading(page: Any, url: str, stamp_url: str) -> str:
    page.goto(url + urlsplit(stamp_url).path)
    return page.locator("h1").inner_text()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_office_decides_requests_revocations_and_findings(browser, live_url, session, settings, shots, lang):
    keyring = ensure_keyring(session, settings.keys_dir)
    office = make_office(session, keyring, HA_TINH, admin_name="hatinh-admin")
    neighbour = make_office(session, keyring, HA_TINH)  # another Hà Tĩnh producer, whose stamp is copied
    far = make_office(session, keyring, THANH_HOA)  # another province: must stay invisible
    locale = "vi-VN" if lang == "vi" else "en-GB"
    context = browser.new_context(locale=locale, viewport=PHONE, accept_downloads=True)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else external.append(r.url))
    name = lambda step: f"console-{step}-{lang}"  # noqa: E731

    page.goto(f"{live_url}/signin?lang={lang}")
    page.fill("#f-name", "hatinh-admin")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url == live_url + "/console/"
    _check(page, shots, name("home"))

    # The queue: waiting first, only Hà Tĩnh.
    page.click(f"header nav >> text={_t(lang, 'Stamp requests')}")
    queue = page.locator("main").inner_text()
    assert office.batch.producer.name in queue and far.batch.producer.name not in queue
    _check(page, shots, name("requests"))
    page.click(f"a[href='/console/requests/{office.waiting.id}']")
    _check(page, shots, name("request-waiting"))

    # Wrong input: a message next to the field; then approve fewer.
    page.fill("#f-quantity", "999")
    page.click(f"text={_t(lang, 'Approve and issue')}")
    assert page.locator("#f-quantity-error").is_visible()
    _check(page, shots, name("request-error"))
    page.fill("#f-quantity", "12")
    page.click(f"text={_t(lang, 'Approve and issue')}")
    progress = page.locator("progress#progress")
    assert progress.get_attribute("max") == "12" and progress.get_attribute("value") == "12"
    assert page.locator("meta[http-equiv=refresh]").count() == 0  # finished: no more reloading
    _check(page, shots, name("request-issued"))

    with page.expect_download() as download:
        page.click(f"text={_t(lang, 'PDF label sheets')}")
    pdf = Path(download.value.path()).read_bytes()
    codes = decode_pdf(pdf)
    assert len(codes) == 12 and all("/V/" in c for c in codes)
    assert _public_heading(page, live_url, codes[0]) == _t(lang, "Genuine OCOP stamp")

    # Withdraw the product's stars: the confirmation counts the stamps (3 issued before + 12 now).
    page.goto(f"{live_url}/console/requests/{office.waiting.id}")
    withdraw = _t(lang, "Withdraw the product's stars")
    page.click(f"text={withdraw}")
    assert "15" in page.locator("main .count").inner_text()
    _check(page, shots, name("withdraw-confirm"))
    page.fill("#f-decision_number", "3763/QĐ-UBND")
    page.fill("#f-decided_on", "2026-11-18")
    page.fill("#f-authority", "UBND tỉnh Hà Tĩnh")
    page.fill("#f-reason", "Sản phẩm không còn đạt tiêu chuẩn")
    page.click(f"main button >> text={_t(lang, 'Withdraw the stars')}")
    assert "3763/QĐ-UBND" in page.locator("main").inner_text()
    _check(page, shots, name("withdraw-done"))
    assert _public_heading(page, live_url, codes[0]) == _t(lang, "No longer OCOP-certified")

    # The inspector's void proposal on the neighbour's stamp: accept it.
    page.goto(live_url + "/console/")
    page.click(f"header nav >> text={_t(lang, 'Findings')}")
    _check(page, shots, name("findings"))
    page.click(f"a[href='/console/findings/{neighbour.finding_id}']")
    assert neighbour.serial(0) in page.locator("main").inner_text()
    _check(page, shots, name("finding"))
    page.fill("#f-reason", "Đã xác minh: tem sao chép")
    page.click(f"text={_t(lang, 'Accept the proposal')}")
    assert page.locator(".flash.success").is_visible()
    _check(page, shots, name("finding-accepted"))
    neighbour_url = neighbour.batch.urls[0]
    assert _public_heading(page, live_url, neighbour_url) == _t(lang, "Stamp cancelled: it was copied")

    # The voided stamp shows on its request's void page (linked from the accepted proposal).
    page.goto(f"{live_url}/console/findings/{neighbour.finding_id}")
    page.click(f"text={_t(lang, 'Voided stamps of this request')}")
    assert page.url == f"{live_url}/console/revocation/requests/{neighbour.batch.request.id}/void"
    assert page.locator("main .list li").count() == 1
    _check(page, shots, name("void"))
    # The other confirmation pages, before anything is done on them.
    void_url = f"{live_url}/console/revocation/requests/{neighbour.batch.request.id}/void"
    page.goto(void_url + "?seq_from=2&seq_to=3")
    assert "2" in page.locator("main .count").inner_text()
    _check(page, shots, name("void-confirm"))
    page.goto(f"{live_url}/console/revocation/lots/{neighbour.batch.lot.id}")
    assert "3" in page.locator("main .count").inner_text()
    _check(page, shots, name("recall-confirm"))
    page.goto(f"{live_url}/console/revocation/certificates/{neighbour.batch.certificate.id}/reduce")
    page.select_option("#f-stars", "2")
    page.click(f"main button >> text={_t(lang, 'Reduce the stars')}")
    assert page.locator("#f-decision_number-error").is_visible()  # nothing filled in: told per field
    _check(page, shots, name("reduce-error"))
    page.goto(f"{live_url}/console/findings/{far.finding_id}")
    assert page.locator("h1").inner_text() == _t(lang, "Page not found")  # another province's finding

    page.goto(live_url + "/console/")
    page.click(f"header nav >> text={_t(lang, 'Consumer reports')}")
    _check(page, shots, name("consumer-reports"))
    page.click(f"a[href='/console/consumer-reports/{office.report_id}']")
    _check(page, shots, name("consumer-report"))

    page.click(f"header >> text={_t(lang, 'Sign out')}")
    assert page.url.startswith(live_url + "/signin")
    page.goto(f"{live_url}/console/requests/{office.waiting.id}")
    assert page.url.startswith(live_url + "/signin")
    assert external == []
    context.close()


def test_the_decision_pages_on_a_desktop(browser, live_url, session, settings, shots):
    keyring = ensure_keyring(session, settings.keys_dir)
    office = make_office(session, keyring, HA_TINH, admin_name="hatinh-admin")
    page = browser.new_context(locale="vi-VN", viewport=DESKTOP).new_page()
    page.goto(f"{live_url}/signin")
    page.fill("#f-name", "hatinh-admin")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    pages = {
        "requests": "/console/requests/?state=requested",
        "request-waiting": f"/console/requests/{office.waiting.id}",
        "withdraw-confirm": f"/console/revocation/certificates/{office.batch.certificate.id}/withdraw",
        "void-confirm": f"/console/revocation/requests/{office.batch.request.id}/void?seq_from=1&seq_to=3",
        "finding": f"/console/findings/{office.finding_id}",
        "consumer-report": f"/console/consumer-reports/{office.report_id}",
    }
    for step, path in pages.items():
        page.goto(live_url + path)
        assert page.url == live_url + path, step
        _check(page, shots, f"console-{step}-vi")
