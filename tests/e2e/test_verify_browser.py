"""A real headless browser (Debian's chromium, driven by Playwright) opens each verdict's stamp URL.

Under CI (``CI`` set) a missing browser is a failure, not a skip: scripts/ensure-system-deps.sh installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests import verify_support as vs
from tests.stamp_factories import ensure_keyring, make_issued_batch

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPECTED = {
    "genuine": ("Tem OCOP chính hãng", "Genuine OCOP stamp"),
    "suspicious": ("Mã thật nhưng có dấu hiệu nghi vấn", "Genuine code, but suspicious"),
    "voided": ("Đã bị thu hồi", "Revoked"),
    "recalled": ("Đã bị thu hồi", "Revoked"),
    "withdrawn": ("Đã bị thu hồi", "Revoked"),
    "expired": ("Giấy chứng nhận đã hết hạn", "Certificate expired"),
    "not_genuine": ("Không phải tem thật", "Not a genuine stamp"),
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {reason} (run scripts/ensure-system-deps.sh)")
    pytest.skip(reason)


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=3)


@pytest.fixture()
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable("/usr/bin/chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def live_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture()
def stamp_paths(client, session, settings) -> dict[str, str]:
    keyring = ensure_keyring(session, settings.keys_dir)
    ok = make_issued_batch(session, keyring, n=3)
    vs.add_events(session, ok, 3)
    paths = {
        "genuine": vs.path_of(ok.urls[0]),
        "voided": vs.path_of(ok.urls[1]),
        "suspicious": vs.path_of(ok.urls[2]),
    }
    vs.void(session, ok, seq=2)
    for i in range(2):  # two earlier scans elsewhere: the browser's is the third
        client.get(paths["suspicious"], environ_base={"REMOTE_ADDR": f"10.7.0.{i}"})
    for cause, change in (("recalled", vs.recall), ("withdrawn", vs.withdraw), ("expired", vs.expire)):
        b = make_issued_batch(session, keyring, n=1)
        change(session, b)
        paths[cause] = vs.path_of(b.urls[0])
    paths["not_genuine"] = "/V/" + vs.not_genuine_tokens(session, keyring, ok.tokens[0])["bad_signature"]
    return paths


def test_each_verdict_in_a_real_browser_in_both_languages(browser, live_url, stamp_paths):
    for lang_index, locale in enumerate(("vi-VN", "en-US")):
        context = browser.new_context(locale=locale, viewport={"width": 320, "height": 640})
        page = context.new_page()
        external: list[str] = []
        page.on(
            "request", lambda r, seen=external: None if r.url.startswith(live_url) else seen.append(r.url)
        )
        for name, path in stamp_paths.items():
            response = page.goto(live_url + path)
            assert response is not None and response.status == 200, name
            status = page.locator('[role="status"]')
            assert status.get_attribute("aria-live") == "assertive"
            assert EXPECTED[name][lang_index] in status.inner_text(), (name, locale)
            sizes = response.request.sizes()
            transferred = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            assert response.headers.get("content-encoding") == "gzip"
            assert transferred < 30 * 1024, (name, transferred)
            assert page.evaluate("document.documentElement.scrollWidth") <= 320, name  # readable at 320 px
        assert external == []
        context.close()


def test_language_switch_link_keeps_the_stamp(browser, live_url, stamp_paths):
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.goto(live_url + stamp_paths["genuine"])
    page.click("header a")
    assert "Genuine OCOP stamp" in page.locator('[role="status"]').inner_text()
    assert page.url.startswith(live_url + stamp_paths["genuine"])
    context.close()
