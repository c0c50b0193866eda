"""The revocation pages' ways on, at 390 px in Vietnamese and English, axe-checked and photographed.

After a reduction and a withdrawal the old certificate's pages say what happened and link on; a
recall lands on its result (the lift is a link away); the void form's messages and labels; a
validity before its signing date told next to *Valid until*. OCOP_SCREENSHOT_DIR keeps the
pictures as ``console-<step>-<lang>-390.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.console_decisions_support import HA_TINH, make_office
from tests.e2e.pages import PHONE
from tests.e2e.pages import check as _check
from tests.e2e.pages import t as _t
from tests.people_support import PASSWORD
from tests.stamp_factories import ensure_keyring


def _decide(page: Any, number: str = "3763/QĐ-UBND") -> None:
    page.fill("#f-decision_number", number)
    page.fill("#f-decided_on", "2026-11-18")
    page.fill("#f-authority", "UBND tỉnh Hà Tĩnh")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_revocation_pages_lead_on(browser, live_url, session, settings, shots, lang):
    keyring = ensure_keyring(session, settings.keys_dir)
    office = make_office(session, keyring, HA_TINH, admin_name="hatinh-admin")
    batch = office.batch
    page = browser.new_context(locale="vi-VN" if lang == "vi" else "en-GB", viewport=PHONE).new_page()
    name = lambda step: f"console-{step}-{lang}"  # noqa: E731
    page.goto(f"{live_url}/signin?lang={lang}")
    page.fill("#f-name", "hatinh-admin")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")

    # Reduce to 3 stars: the old certificate is superseded; its pages name the new decision.
    old = f"{live_url}/console/revocation/certificates/{batch.certificate.id}"
    page.goto(old + "/reduce")
    page.select_option("#f-stars", "3")
    _decide(page, "3764/QĐ-UBND")
    page.fill("#f-reason", "Không duy trì tiêu chuẩn 4 sao")
    page.click(f"main button >> text={_t(lang, 'Reduce the stars')}")
    page.goto(old + "/withdraw")
    assert "3764/QĐ-UBND" in page.locator("main").inner_text()
    assert page.locator("#f-reason").count() == 0
    _check(page, shots, name("withdraw-superseded"))

    # Withdraw the current certificate from the link on that page; then the request page.
    page.click(f"text={_t(lang, 'Withdraw the stars of the current certificate')}")
    _decide(page)
    page.fill("#f-reason", "Vi phạm an toàn thực phẩm")
    page.click(f"main button >> text={_t(lang, 'Withdraw the stars')}")
    page.goto(f"{live_url}/console/requests/{batch.request.id}")
    main = page.locator("main").inner_text()
    assert _t(lang, "Withdraw the product's stars") not in main and "3763/QĐ-UBND" in main
    _check(page, shots, name("request-withdrawn"))
    page.goto(old + "/withdraw")  # the superseded one again: now "see the current certificate"
    page.click(f"text={_t(lang, 'See the current certificate')}")
    assert "3763/QĐ-UBND" in page.locator("main").inner_text()

    # Recall the lot: the result, not the lift form.
    page.goto(f"{live_url}/console/revocation/lots/{batch.lot.id}")
    _decide(page, "3765/QĐ-UBND")
    page.fill("#f-reason", "Nghi nhiễm khuẩn")
    page.click(f"main button >> text={_t(lang, 'Recall the lot')}")
    assert page.locator("h1").inner_text() == _t(lang, "The lot is recalled")
    assert page.locator("main button").count() == 0
    _check(page, shots, name("recall-done"))
    page.click(f"main >> text={_t(lang, 'Lift the lot' + chr(39) + 's recall')}")
    assert page.locator("h1").inner_text() == _t(lang, "Lift the lot's recall")

    # Void: an empty first number is told; the confirmation's two reasons are told apart.
    page.goto(f"{live_url}/console/revocation/requests/{batch.request.id}/void")
    page.click(f"main button >> text={_t(lang, 'Count the stamps')}")
    assert page.locator("#f-seq_from-error").is_visible()
    _check(page, shots, name("void-count-error"))
    page.fill("#f-seq_from", "2")
    page.click(f"main button >> text={_t(lang, 'Count the stamps')}")
    page.click(f"main button >> text={_t(lang, 'Void these stamps')}")
    assert page.locator("#f-reason_code-error").is_visible() and page.locator("#f-reason-error").is_visible()
    assert page.locator("label[for=f-reason_code]").inner_text() == _t(lang, "Reason type")
    assert page.locator("label[for=f-reason]").inner_text() == _t(lang, "Reason in words")
    back = page.locator("main .actions > a").bounding_box()  # "Back" beside the red button: a tap target
    assert back is not None and back["height"] >= 44
    assert page.locator("p.count").inner_text() == ("1 stamp" if lang == "en" else "1 tem")
    _check(page, shots, name("void-confirm-error"))

    # A council decision whose validity ends before it was signed.
    page.goto(f"{live_url}/console/products/{batch.product.id}")
    page.select_option("#f-stars", "4")
    page.fill("#f-score", "80")
    page.fill("#f-decision_number", "3766/QĐ-UBND")
    page.fill("#f-signed_on", "2026-11-20")
    page.fill("#f-authority_name", "UBND tỉnh Hà Tĩnh")
    page.fill("#f-valid_until", "2026-11-01")
    page.click(f"main button >> text={_t(lang, 'Record the decision')}")
    error = page.locator("#f-valid_until-error")
    assert error.inner_text() == _t(lang, "The validity must end after the signing date.")
    assert page.locator("#f-signed_on-error").count() == 0
    error.scroll_into_view_if_needed()
    _check(page, shots, name("decision-validity-error"))
