"""A real headless browser (Debian's chromium, driven by Playwright) opens each verdict's stamp page.

Every situation the verdict box names (each revocation cause, expiry, suspicion by scans and by a
reused PIN, stars changed since printing, not genuine) in Vietnamese and English at 390 px: the
title and the action line are checked, a full-page screenshot is written to
build/screenshots/verify/ (look at them), and axe-core finds no serious or critical violation;
likewise the landing page, /verify and the 404 page.
Under CI (``CI`` set) a missing browser is a failure, not a skip: scripts/ensure-system-deps.sh installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stamp_service.crypto.pins import derive_pin
from stamp_service.domain import serials
from tests import verify_support as vs
from tests.e2e.axe import serious_violations
from tests.stamp_factories import ensure_keyring, make_issued_batch

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "verify"
WIDTH = 390
# kind: ((Vietnamese title, action), (English title, action)); the action is a fragment of the line.
EXPECTED = {
    "genuine": (
        ("Tem OCOP chính hãng", "Hãy đối chiếu sản phẩm trên tay"),
        ("Genuine OCOP stamp", "Check that the product in your hand matches"),
    ),
    "stars_changed": (
        ("Tem OCOP chính hãng: hạng sao đã thay đổi", "hãy tin hạng sao hiển thị ở đây"),
        ("Genuine OCOP stamp: the rating has changed", "trust the rating shown here"),
    ),
    "suspicious_scans": (
        ("Mã thật nhưng có dấu hiệu nghi vấn", "Nếu tem có mã PIN cào"),
        ("Genuine code, but suspicious", "If the label has a scratch PIN"),
    ),
    "suspicious_pin": (
        ("Mã PIN đã được dùng: có thể là hàng sao chép", "đừng tin sản phẩm"),
        ("PIN already used: possible copy", "do not trust this item"),
    ),
    "voided": (
        ("Tem đã bị hủy", "Tem này không có giá trị trên hàng hóa"),
        ("Stamp cancelled", "This stamp is not valid on goods"),
    ),
    "voided_copied": (
        ("Tem đã bị hủy do bị sao chép", "đừng mua"),
        ("Stamp cancelled: it was copied", "do not buy it"),
    ),
    "recalled": (
        ("Lô hàng bị thu hồi: không sử dụng", "Không sử dụng sản phẩm này"),
        ("Lot recalled: do not use", "Do not use this product"),
    ),
    "stars_withdrawn": (
        ("Không còn được công nhận OCOP", "có thể vẫn là hàng thật"),
        ("No longer OCOP-certified", "may still be a real product"),
    ),
    "stars_below_three": (
        ("Hạng sao bị hạ xuống dưới 3 sao", "không còn được bán như sản phẩm OCOP"),
        ("Rating reduced below 3 stars", "may no longer be sold as OCOP"),
    ),
    "certificate_expired": (
        ("Giấy chứng nhận đã hết hạn", "Thời hạn công nhận OCOP của sản phẩm đã hết"),
        ("Certificate expired", "certification has ended"),
    ),
    "not_genuine": (
        ("Không phải tem thật", "Bạn có thể phản ánh"),
        ("Not a genuine stamp", "You can report it below"),
    ),
}
LOCALES = ("vi-VN", "en-US")


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=3)


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def stamp_paths(client, session, keyring) -> dict[str, str]:
    ok = make_issued_batch(session, keyring, n=4)
    vs.add_events(session, ok, 3)
    paths = {
        "genuine": vs.path_of(ok.urls[0]),
        "voided": vs.path_of(ok.urls[1]),
        "suspicious_scans": vs.path_of(ok.urls[2]),
        "voided_copied": vs.path_of(ok.urls[3]),
    }
    vs.void(session, ok, seq=2)
    vs.void(session, ok, seq=4, reason_code="copied")
    for i in range(2):  # two earlier scans elsewhere: the browser's is the third
        client.get(paths["suspicious_scans"], environ_base={"REMOTE_ADDR": f"10.7.0.{i}"})
    changes = {
        "recalled": vs.recall,
        "stars_withdrawn": vs.withdraw,
        "stars_below_three": vs.reduce_below_three,
        "certificate_expired": vs.expire,
        "stars_changed": lambda s, b: vs.reduce_stars(s, b, 3),
    }
    for kind, change in changes.items():
        b = make_issued_batch(session, keyring, n=1)
        change(session, b)
        paths[kind] = vs.path_of(b.urls[0])
    paths["not_genuine"] = "/V/" + vs.not_genuine_tokens(session, keyring, ok.tokens[0])["bad_signature"]
    return paths


@pytest.fixture()
def pin_stamp(session, keyring) -> tuple[str, str]:
    b = make_issued_batch(session, keyring, n=1, with_pin=True)
    return vs.path_of(b.urls[0]), derive_pin(keyring, serials.from_db(b.stamps[0].serial))


def _check_box(page, kind: str, lang_index: int) -> None:
    status = page.locator('[role="status"]')
    assert status.get_attribute("aria-live") == "assertive"
    assert status.get_attribute("data-k") == kind
    title, action = EXPECTED[kind][lang_index]
    assert page.locator('[role="status"] h1').inner_text().strip() == title, (kind, lang_index)
    assert action in page.locator('[role="status"] .act').inner_text(), (kind, lang_index)


SMALL_TARGETS = """() => [...document.querySelectorAll("a, button, input, select, textarea, summary")]
    .filter(e => e.type !== "hidden" && e.getClientRects().length)
    .filter(e => e.getBoundingClientRect().height < 44)
    .map(e => e.outerHTML.slice(0, 80))"""


def _look(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert serious_violations(page) == [], name
    assert page.evaluate(SMALL_TARGETS) == [], name  # every tap target at least 44 px high
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name  # no sideways scroll


def test_each_verdict_in_a_real_browser_in_both_languages(browser, live_url, stamp_paths, pin_stamp):
    for lang_index, locale in enumerate(LOCALES):
        context = browser.new_context(locale=locale, viewport={"width": WIDTH, "height": 800})
        page = context.new_page()
        external: list[str] = []
        page.on(
            "request", lambda r, seen=external: None if r.url.startswith(live_url) else seen.append(r.url)
        )
        for kind, path in stamp_paths.items():
            response = page.goto(live_url + path)
            assert response is not None and response.status == 200, kind
            _check_box(page, kind, lang_index)
            sizes = response.request.sizes()
            transferred = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            assert response.headers.get("content-encoding") == "gzip"
            assert transferred < 30 * 1024, (kind, transferred)
            _look(page, f"{kind}-{locale[:2]}")
        # A scratch PIN entered again: the verdict itself turns suspicious (a real form post, no script).
        path, pin = pin_stamp
        page.goto(live_url + path)
        for _ in range(2 - lang_index):  # vi: first entry, then the reuse; en: the PIN is used already
            page.fill("#pin", pin)
            page.click("form[action='/verify/pin'] button")
        _check_box(page, "suspicious_pin", lang_index)
        _look(page, f"suspicious_pin-{locale[:2]}")
        assert external == []
        context.close()


def test_landing_verify_and_404_pages_are_accessible_and_lead_to_a_check(browser, live_url, stamp_paths):
    for locale in LOCALES:
        lang = locale[:2]
        context = browser.new_context(locale=locale, viewport={"width": WIDTH, "height": 800})
        page = context.new_page()
        for name, path, status in (
            ("landing", "/", 200),
            ("verify", "/verify", 200),
            ("404", "/khong-co", 404),
        ):
            response = page.goto(f"{live_url}{path}")
            assert response is not None and response.status == status, name
            assert page.locator("h1").count() == 1, name
            _look(page, f"{name}-{lang}")
        page.goto(live_url + "/")
        assert ("Tem OCOP là gì?" if lang == "vi" else "What is an OCOP stamp?") in page.inner_text("main")
        context.close()
    context = browser.new_context(locale="vi-VN", viewport={"width": WIDTH, "height": 800})
    page = context.new_page()
    page.goto(live_url + "/")
    page.click("header a[lang='en']")
    assert "What is an OCOP stamp?" in page.inner_text("main")
    genuine = page.goto(live_url + stamp_paths["genuine"])
    assert genuine is not None
    serial = page.locator("dd.serial").inner_text()
    page.goto(live_url + "/")
    page.fill("#serial", serial.lower().replace("-", " "))
    page.click("form[action='/verify'] button")
    _check_box(page, "genuine", 0)
    context.close()


def test_language_switch_link_keeps_the_stamp(browser, live_url, stamp_paths):
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.goto(live_url + stamp_paths["genuine"])
    page.click("header a[lang='en']")
    assert "Genuine OCOP stamp" in page.locator('[role="status"]').inner_text()
    assert page.url.startswith(live_url + stamp_paths["genuine"])
    context.close()


def test_axe_helper_reports_serious_violations(browser):
    """The helper is not a rubber stamp: an unlabelled field and an image without alt text are caught."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content('<html lang="en"><title>x</title><main><img src="data:,"><input></main></html>')
    found = {v["id"] for v in serious_violations(page)}
    assert {"image-alt", "label"} <= found
    context.close()
