"""Helpers of the browser tests' pages: the check every page passes, signing in, translated texts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stamp_service.web.i18n import translations
from tests.e2e.axe import serious_violations as axe_violations
from tests.people_support import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def check(page: Any, shots: Path, name: str, *, prefix: str = "", width_in_name: bool = True) -> None:
    """No serious/critical axe violation, nothing wider than the viewport, and a full-page screenshot
    (``<prefix><name>-<width>.png``, or ``<prefix><name>.png`` where docs/ use that name)."""
    assert axe_violations(page) == [], name
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    file = f"{prefix}{name}-{width}.png" if width_in_name else f"{prefix}{name}.png"
    page.screenshot(path=str(shots / file), full_page=True)


def sign_in(page: Any, url: str, name: str, password: str = PASSWORD, lang: str | None = None) -> None:
    page.goto(url + "/signin" + (f"?lang={lang}" if lang else ""))
    page.fill("#f-name", name)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")


def t(lang: str, message: str, **values: Any) -> str:
    """``message`` as the page shows it in ``lang`` (with its %(name)s values)."""
    text = translations(lang).gettext(message)
    return text % values if values else text
