"""axe-core in the page: the accessibility check of the pages for people (no serious or critical).

axe-core comes from npm into tests/e2e/node_modules (``make test`` installs it from the lock);
it is evaluated through the DevTools protocol, which the pages' strict CSP (no script at all) does
not govern, so the pages are checked exactly as served.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The page's serious and critical violations (id, impact, and the offending elements)."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: run `npm ci` in tests/e2e")
        pytest.skip("axe-core is not installed (npm ci in tests/e2e)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]
