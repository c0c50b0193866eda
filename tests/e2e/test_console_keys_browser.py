"""The signing keys page in headless Chromium: a central administrator publishes a key, is refused
an early rotation, forces it with a reason, marks the old key compromised through both steps and
sees a stamp it signed still answer "genuine" with the compromise warning; a provincial
administrator finds no such page. axe-core and a screenshot on every page (OCOP_SCREENSHOT_DIR
keeps them as ``keys-<step>-<lang>-<width>.png``; docs/console.md uses some)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from stamp_service.domain.access import Role
from tests.e2e.pages import DESKTOP, PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import sign_in as _sign_in
from tests.e2e.pages import t as _t
from tests.people_support import make_person
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.mark.parametrize(
    ("lang", "viewport"),
    [("vi", PHONE), ("vi", DESKTOP), ("en", PHONE)],
    ids=["vi-390", "vi-desktop", "en-390"],
)
def test_central_admin_rotates_and_marks_a_key_compromised(
    browser,
    live_url,
    session,
    settings,
    shots,
    lang,
    viewport,
):
    ring = ensure_keyring(session, settings.keys_dir)
    batch = make_issued_batch(session, ring, n=3)
    old = batch.stamps[0].kid
    make_person(session, Role.ADMIN, name="central-keys")
    context = browser.new_context(locale="vi-VN" if lang == "vi" else "en-GB", viewport=viewport)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else external.append(r.url))
    name = lambda step: f"keys-{step}-{lang}"  # noqa: E731

    assert page.request.get(f"{live_url}/status/bundle.bin").ok  # a bundle exists, as in service
    _sign_in(page, live_url, "central-keys", lang=lang)
    page.click(f"header nav >> text={_t(lang, 'Signing keys')}")
    assert page.url == f"{live_url}/console/keys/"
    assert old in page.locator("main").inner_text()
    _check(page, shots, name("list"))

    # Create and publish a pending key.
    page.fill("#f-note", "khóa năm 2027")
    page.click(f"main button >> text={_t(lang, 'Create and publish a key')}")
    new = page.url.rsplit("/", 1)[1]
    assert new != old and _t(lang, "Pending") in page.locator("h1").inner_text()
    _check(page, shots, name("published"))

    # An early rotation is refused, in the page's language; force is offered only now.
    page.goto(f"{live_url}/console/keys/")
    assert page.locator("input[name=force]").count() == 0
    page.click(f"main button >> text={_t(lang, 'Activate the pending key')}")
    refusal = page.locator("#refusal").inner_text()
    assert new in refusal
    assert _t(lang, "Activate it after that time, or force the rotation now and say why.") in refusal
    _check(page, shots, name("refused"))
    page.check("input[name=force]")
    page.click(f"main button >> text={_t(lang, 'Force the rotation')}")
    assert page.locator("#f-reason-error").is_visible()  # a reason is required to force
    page.check("input[name=force]")
    page.fill("#f-reason", "Khóa cũ nằm trên máy sắp thay")
    page.click(f"main button >> text={_t(lang, 'Force the rotation')}")
    assert page.url == f"{live_url}/console/keys/{new}"
    assert _t(lang, "Active") in page.locator("h1").inner_text()
    _check(page, shots, name("rotated"))

    # The old key (now retired) is marked compromised: step 1, step 2, result.
    page.goto(f"{live_url}/console/keys/{old}")
    page.click(f"main >> text={_t(lang, 'Mark compromised…')}")
    assert page.locator("main .count").inner_text().startswith("3")
    _check(page, shots, name("compromise-1"))
    page.fill("#f-decision_number", "12/QĐ-BNN")
    page.fill("#f-decided_on", "2026-11-30")
    page.fill("#f-authority", "Bộ Nông nghiệp và Môi trường")
    page.fill("#f-reason", "Máy ký cũ bị xâm nhập")
    page.click(f"main button >> text={_t(lang, 'Continue')}")
    assert "12/QĐ-BNN" in page.locator("main").inner_text()
    page.fill("#f-confirm_kid", "ffffffff")
    page.click(f"main button >> text={_t(lang, 'Mark the key compromised')}")
    assert page.locator("#f-confirm_kid-error").is_visible()
    _check(page, shots, name("compromise-2"))
    page.fill("#f-confirm_kid", old)
    page.click(f"main button >> text={_t(lang, 'Mark the key compromised')}")
    assert page.url == f"{live_url}/console/keys/{old}"
    assert _t(lang, "Compromised") in page.locator("h1").inner_text()
    assert page.locator(".flash.success").is_visible()
    _check(page, shots, name("compromised"))

    # A stamp it signed: still genuine online, with the compromise warning.
    page.goto(f"{live_url}{urlsplit(batch.urls[0]).path}?lang={lang}")
    assert page.locator("h1").inner_text() == _t(lang, "Genuine OCOP stamp")
    warning = _t(
        lang,
        "Note: the key that signed this stamp was reported compromised on %(date)s. This stamp was "
        "checked online against the office's records; copies made with the stolen key are rejected.",
    )
    assert warning.split("%(date)s")[0] in page.locator("main").inner_text()
    if viewport == PHONE:
        page.screenshot(path=str(shots / f"keys-stamp-page-{lang}-390.png"), full_page=True)
    assert external == []
    context.close()


def test_a_provincial_administrator_finds_no_keys_page(browser, live_url, session, settings, shots):
    ensure_keyring(session, settings.keys_dir)
    make_person(session, Role.ADMIN, name="hatinh-keys", province_code="42")
    page = browser.new_context(locale="vi-VN", viewport=PHONE).new_page()
    _sign_in(page, live_url, "hatinh-keys", lang="vi")
    assert page.url == live_url + "/console/"
    assert page.locator(f"header nav >> text={_t('vi', 'Signing keys')}").count() == 0
    response = page.goto(f"{live_url}/console/keys/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == _t("vi", "Page not found")
    _check(page, shots, "keys-provincial-404-vi")
