"""The Digital Link form's published vectors, and its parser's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import segno
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from stamp_service.domain import digital_link as dl
from stamp_service.domain import stamp_format as sf
from stamp_service.errors import MalformedStamp

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/assets/digital_link_vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["lot_code"])
def test_vector_is_reproduced_and_converts_to_the_opaque_token(vector):
    claims, signature, _ = sf.parse_token(vector["opaque_token"])
    url = dl.build_url(
        VECTORS["base_url"],
        gtin=vector["gtin"],
        lot_code=vector["lot_code"],
        claims=claims,
        signature=signature,
    )
    assert url == vector["digital_link"]
    parsed = dl.parse_url(url)
    token = parsed.token(product_index=vector["product_index"], lot_index=vector["lot_index"])
    assert token == vector["opaque_token"]
    values = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(url).element_strings}
    assert values["01"] == vector["gtin"].zfill(14) and values["10"] == vector["lot_code"]
    assert values["21"] == sf.parse_token(token)[0].serial_text.replace("-", "")


def test_qr_version_at_m_for_a_20_character_host_and_short_lot_codes():
    """docs/stamp-format.md: at M, version 9 for lot codes up to 3 characters, 10 up to 20."""
    claims, signature, _ = sf.parse_token(VECTORS["vectors"][0]["opaque_token"])
    host = "https://TRUYXUAT.OCOP.GOV.VN"  # 20 characters
    versions = {
        n: segno.make_qr(
            dl.build_url(host, gtin="8936012345674", lot_code="L" * n, claims=claims, signature=signature),
            error="m",
            boost_error=False,
        ).version
        for n in (1, 3, 4, 20)
    }
    assert versions == {1: 9, 3: 9, 4: 10, 20: 10}


@pytest.mark.parametrize("case", VECTORS["malformed"], ids=lambda c: c["name"])
def test_malformed_links_are_refused_before_any_lookup(case):
    """The published refusals (also checked by scanner_page/test/digital_link.test.js)."""
    with pytest.raises(MalformedStamp):
        dl.parse_url(case["text"])


def test_a_changed_signature_still_parses_and_the_signature_check_refuses_it_later():
    url = VECTORS["vectors"][0]["digital_link"]
    changed = dl.parse_url(url.replace("8030=V", "8030=W"))
    assert changed.signature != dl.parse_url(url).signature


def test_the_documented_vectors_are_the_json_ones():
    """docs/stamp-format.md's table mirrors tests/assets/digital_link_vectors.json."""
    doc = (ROOT / "docs/stamp-format.md").read_text()
    for vector in VECTORS["vectors"]:
        assert f"`{vector['digital_link']}`" in doc and f"`{vector['lot_code']}`" in doc
