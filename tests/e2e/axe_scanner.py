"""axe-core in the scanner's browser tests: inject the npm package's file, run it, keep the bad ones.

The scanner's CSP (script-src 'self') blocks an injected <script>; Playwright's
``add_script_tag`` goes through the DevTools protocol only when the page allows it, so the
tests evaluate axe's source directly (``page.evaluate`` is not subject to the page's CSP).
axe-core comes from ``scanner_page/node_modules`` (a devDependency; ``make scanner`` installs it).
Separate from the public pages' helper (tests/e2e/axe.py) so the two branches do not clash.
"""

from __future__ import annotations

from typing import Any

from stamp_service.config import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "scanner_page" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe's violations of impact serious or critical on the page as it is now (WCAG 2.x A/AA)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in SERIOUS]
