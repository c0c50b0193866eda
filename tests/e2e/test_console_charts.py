"""The console's charts in headless Chromium: the home's days this month and the monthly report.

Signed in as the Hà Tĩnh office, in Vietnamese at 390 px and in English on a desktop: the office
approves 12 stamps of a waiting request (3 more were issued when the office was set up), shoppers
open two of its stamps' public pages and one of Thanh Hóa's (another province: not counted). The
charts are found by their accessible names and their numbers (the table under each picture) must
agree; axe-core finds no serious or critical violation. OCOP_SCREENSHOT_DIR keeps the pictures
(docs/console.md uses them).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from stamp_service.domain.certification import local_today
from stamp_service.services import scans
from tests.console_decisions_support import HA_TINH, THANH_HOA, make_office
from tests.e2e.pages import DESKTOP, PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import sign_in as _sign_in
from tests.e2e.pages import t as _t
from tests.stamp_factories import ensure_keyring


def _chart(page: Any, name: str) -> Any:
    """The figure whose picture is named ``name`` (role img), and its numbers as {label: value}."""
    picture = page.get_by_role("img", name=name, exact=True)
    assert picture.count() == 1, name
    figure = page.locator("figure.chart").filter(has=picture)
    rows = figure.locator("tbody tr")
    numbers = {
        rows.nth(i).locator("th").text_content(): rows.nth(i).locator("td").text_content()
        for i in range(rows.count())
    }
    return picture, numbers


@pytest.mark.parametrize(("lang", "viewport"), [("vi", PHONE), ("en", DESKTOP)], ids=["vi-390", "en-desktop"])
def test_home_and_monthly_report_charts_show_the_offices_numbers(
    app, browser, live_url, session, settings, shots, lang, viewport
) -> None:
    keyring = ensure_keyring(session, settings.keys_dir)
    office = make_office(session, keyring, HA_TINH, admin_name="hatinh-charts")  # 3 stamps issued today
    far = make_office(session, keyring, THANH_HOA)
    context = browser.new_context(locale="vi-VN" if lang == "vi" else "en-GB", viewport=viewport)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else external.append(r.url))
    page.goto(f"{live_url}/signin?lang={lang}")
    _sign_in(page, live_url, "hatinh-charts")

    # The office approves 12 of the waiting request's stamps: 15 issued today in Hà Tĩnh.
    page.goto(f"{live_url}/console/requests/{office.waiting.id}")
    page.fill("#f-quantity", "12")
    page.click(f"text={_t(lang, 'Approve and issue')}")
    assert page.locator("progress#progress").get_attribute("value") == "12"

    # Shoppers scan two Hà Tĩnh stamps and one of Thanh Hóa on the public page.
    shopper = browser.new_context(locale="vi-VN").new_page()
    for url in (*office.batch.urls[:2], far.batch.urls[0]):
        shopper.goto(live_url + urlsplit(url).path)
    rt = app.extensions["ocop"]
    assert scans.scan_log_for(rt).flush(rt.session_factory) == 3

    today = local_today().strftime("%d/%m")
    page.goto(f"{live_url}/console/")
    issued_svg, issued = _chart(page, _t(lang, "Stamps issued per day"))
    _svg, scanned = _chart(page, _t(lang, "Scans per day"))
    days = list(issued)
    assert days[-1] == today and days[0] == "01/" + today[3:]  # the 1st to today
    assert issued[today] == "15" and set(list(issued.values())[:-1]) <= {"0"}
    assert scanned[today] == "2" and set(list(scanned.values())[:-1]) <= {"0"}
    summary = _t(lang, "Total %(total)s; the most: %(label)s, %(top)s.", total="15", label=today, top="15")
    assert issued_svg.get_attribute("aria-describedby")
    assert page.locator(f"#{issued_svg.get_attribute('aria-describedby')}").text_content() == summary
    assert issued_svg.locator("rect.bar").count() == len(issued)
    _check(page, shots, f"console-home-chart-{lang}")

    page.click(f"main >> text={_t(lang, 'Monthly report')}")
    assert page.locator("h1").inner_text() == _t(lang, "Monthly report")
    commune = page.locator("tbody th").first.inner_text()
    by_area = lambda measure: _t(lang, "%(measure)s by area", measure=_t(lang, measure))  # noqa: E731
    _svg, stars = _chart(page, _t(lang, "Products by stars"))
    assert stars == {_t(lang, "%(n)d stars", n=n): "1" if n == 4 else "0" for n in (3, 4, 5)}
    _svg, stamps = _chart(page, by_area("Stamps issued"))
    assert stamps == {commune: "15"}
    _svg, scanned = _chart(page, by_area("Scans"))
    assert scanned == {commune: "2"}
    _svg, revoked = _chart(page, by_area("Revocations"))
    assert revoked == {}
    _check(page, shots, f"console-statistics-chart-{lang}")
    assert external == []
    context.close()
