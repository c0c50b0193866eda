"""Accessibility check of a Playwright page with axe-core, bundled locally (tests/e2e/package.json).

``make e2e-tools`` (run by ``make test``) installs axe-core from the lock file into
tests/e2e/node_modules; no CDN is involved. The script runs as the body of a function handed to
``page.evaluate`` (compiled by Chromium's DevTools protocol, not by the page), so a page's strict
CSP (no ``script-src``) neither blocks it nor has to be bypassed for the test.

Usage in any browser test::

    from tests.e2e.axe import serious_violations
    assert serious_violations(page) == []
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def require_axe() -> None:
    """Skip (fail under CI) when axe-core is not installed: ``make e2e-tools`` installs it."""
    if AXE_JS.exists():
        return
    reason = f"{AXE_JS} is missing: run `make e2e-tools`"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def violations(page: Any, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations on ``page`` (WCAG 2.x A/AA and best practices) of the given impacts.

    Each item keeps what a failure message needs: rule id, impact, help text and the
    selectors of the offending nodes.
    """
    require_axe()
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate("() => {\n" + _axe_source() + "\n}")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in result if v.get("impact") in impacts]


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations (the bar of the team's guide: there must be none)."""
    return violations(page, impacts=SERIOUS)
