"""The scanner page's JS unit tests (node's test runner): stamp and bundle vectors, serials, verdicts.

They read the same checked-in vectors as the Python tests (tests/assets/), so the browser's
verifier and the server's agree byte for byte. Skipped where node or the scanner's npm modules
are missing (``make scanner`` installs them); under CI that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from stamp_service.config import PROJECT_ROOT

SCANNER = PROJECT_ROOT / "scanner_page"


def test_scanner_js_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None or not (SCANNER / "node_modules" / "@noble" / "ed25519").is_dir():
        message = "the scanner's JS tests need node and scanner_page/node_modules (make scanner)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    run = subprocess.run(
        [node, "--test", "--test-reporter=dot", "test/"],
        cwd=SCANNER,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
