"""The scanner's Digital Link parser (scanner_page/src/digital_link.js) reads exactly what the
service's (domain/digital_link.py) reads: the same links accepted with the same fields, the same
refused, over thousands of mutated vectors (characters replaced, inserted, removed, scheme and
host in other cases). A tab the service's urlsplit dropped silently was found this way.

Skipped where node or the scanner's npm modules are missing; under CI that is a failure.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess

import pytest

from stamp_service.config import PROJECT_ROOT
from stamp_service.domain import digital_link as dl
from stamp_service.errors import MalformedStamp

VECTORS = json.loads((PROJECT_ROOT / "tests/assets/digital_link_vectors.json").read_text())
ALPHABET = "ABCXYZabcxyz0189/%?&=#+-_. 2FfÔ\t:;!'()*,<>"


def mutations(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = [c["text"] for c in VECTORS["malformed"]] + [v["digital_link"] for v in VECTORS["vectors"]]
    while len(out) < n:
        url = rng.choice(VECTORS["vectors"])["digital_link"]
        if rng.random() < 0.3:
            url = url.replace("HTTPS://TEM.OCOP.LOCAL", "https://Tem.ocop.local")
        for _ in range(rng.randint(1, 3)):
            i, op, c = rng.randrange(len(url)), rng.random(), rng.choice(ALPHABET)
            url = (
                url[:i] + c + url[i + 1 :]
                if op < 0.4
                else url[:i] + c + url[i:]
                if op < 0.7
                else url[:i] + url[i + 1 :]
            )
        out.append(url)
    return out


def service_reading(text: str) -> list[object] | None:
    try:
        s = dl.parse_url(text)
    except MalformedStamp:
        return None
    return [s.gtin, s.lot_code, str(s.serial), s.kid.hex(), s.expiry_day, s.signature.hex()]


def test_the_scanner_and_the_service_read_the_same_links() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("the parity test needs node", pytrace=False)
        pytest.skip("the parity test needs node")
    texts = mutations(5000, seed=15)
    run = subprocess.run(
        [node, str(PROJECT_ROOT / "tests/unit/digital_link_parity.mjs")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    scanner = json.loads(run.stdout)
    service = [service_reading(t) for t in texts]
    differ = [(t, a, b) for t, a, b in zip(texts, service, scanner, strict=True) if a != b]
    assert differ == [], differ[:5]
    accepted = sum(r is not None for r in service)
    assert 100 < accepted < len(texts) - 100  # both outcomes are exercised
