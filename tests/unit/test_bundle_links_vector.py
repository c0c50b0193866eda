"""The status bundle's LINK_LOTS section (issue 15): Digital Link stamps verified offline.

``tests/assets/status_bundle_v1_links.bin`` is test vector 2 plus LINK_LOTS for the Digital
Link vectors (docs/stamp-format.md) and one more lot of product 1, the recalled lot 3
(docs/status-bundle.md, "Test vector 3"). The JSON lists the links and their offline verdicts;
``scanner_page/test/bundle_links.test.js`` checks the same cases in JS. Regenerate with
``.venv/bin/python -m tests.unit.test_bundle_links_vector`` (then update the docs' hash).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from stamp_service.domain import bundle as fmt
from stamp_service.domain import digital_link as dl
from stamp_service.domain import stamp_format as sf
from stamp_service.errors import InvalidBundle
from tests.unit.test_bundle_format import STAMPS, lookup_test_key, vector_key
from tests.unit.test_bundle_names_vector import ISSUED_AT, VALID_UNTIL, names_content

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tests/assets/status_bundle_v1_links.bin"
META_PATH = ROOT / "tests/assets/status_bundle_v1_links.json"
DOC = (ROOT / "docs/status-bundle.md").read_text()
LINKS = json.loads((ROOT / "tests/assets/digital_link_vectors.json").read_text())
V1, V2 = LINKS["vectors"]
RECALLED = fmt.LinkLot("8936012345674", 1, "PT25-0003", 3)
# Stamp vector 2's lot (product 42, lot 1000): LOT_CODES carries its code, LINK_LOTS writes "".
VOIDED = fmt.LinkLot("8936012345698", 42, "MO-26/1000", 1000)


def links_content() -> fmt.BundleContent:
    return replace(
        names_content(),
        link_lots=[
            fmt.LinkLot(V1["gtin"], V1["product_index"], V1["lot_code"], V1["lot_index"]),
            fmt.LinkLot(V2["gtin"], V2["product_index"], V2["lot_code"], V2["lot_index"]),
            RECALLED,
            VOIDED,
        ],
    )


def build() -> bytes:
    return fmt.encode(
        links_content(),
        kid=bytes.fromhex("98f2a1ae"),
        seq=44,
        issued_at=ISSUED_AT,
        refresh_after=ISSUED_AT + 900,
        sign=vector_key().sign,
    )


def recalled_link() -> str:
    """A Digital Link stamp of product 1, lot 3 (recalled in the bundle), signed by the test key."""
    claims = sf.StampClaims(1, bytes.fromhex("98f2a1ae"), 0x0123456789ABCDF0, 1, RECALLED.lot_index, 21442)
    signature = vector_key().sign(sf.signing_message(claims))
    return dl.build_url(
        LINKS["base_url"], gtin=RECALLED.gtin, lot_code=RECALLED.lot_code, claims=claims, signature=signature
    )


def voided_link() -> str:
    """Stamp vector 2 (serial 8000000000000000, voided in the bundle) in its Digital Link form."""
    claims, signature, _ = sf.parse_token(STAMPS["valid"][2]["token"])
    return dl.build_url(
        LINKS["base_url"], gtin=VOIDED.gtin, lot_code=VOIDED.lot_code, claims=claims, signature=signature
    )


def _case(
    name: str, link: str, verdict: str, cause: str | None, product: str | None, lot: str | None
) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "link": link,
        "today": "2026-11-23",
        "now": ISSUED_AT,
        "verdict": verdict,
        "cause": cause,
        "product": product,
        "lot": lot,
    }


def cases() -> list[dict]:  # type: ignore[type-arg]
    honey = "Mật ong hoa nhãn Hưng Yên"
    one = V1["digital_link"]
    sig = one.split("8030=")[1][:2]
    other_sig = ("W" if sig[0] != "W" else "X") + sig[1]
    return [
        _case("vector 1", one, "genuine", None, honey, V1["lot_code"]),
        _case(
            "vector 1, lower-case scheme and host",
            one.replace("HTTPS://TEM.OCOP.LOCAL", "https://tem.ocop.local"),
            "genuine",
            None,
            honey,
            V1["lot_code"],
        ),
        _case(
            "vector 1, lot code percent-encoded",
            one.replace("/10/PT25-0001/", "/10/PT25%2D0001/"),
            "genuine",
            None,
            honey,
            V1["lot_code"],
        ),
        _case(
            "vector 2 (a product newer than the bundle)",
            V2["digital_link"],
            "check_online",
            "product_unknown",
            None,
            V2["lot_code"],
        ),
        _case("recalled lot", recalled_link(), "revoked", "lot_recalled", honey, RECALLED.lot_code),
        _case(
            "voided stamp, lot code from LOT_CODES",
            voided_link(),
            "revoked",
            "stamp_voided",
            "Nước mắm Phú Quốc 40 độ đạm",
            VOIDED.lot_code,
        ),
        _case(
            "signature changed",
            one.replace(f"8030={sig}", f"8030={other_sig}"),
            "not_genuine",
            "bad_signature",
            None,
            None,
        ),
        _case(
            "lot code of another lot of the product",
            one.replace("/10/PT25-0001/", "/10/PT25-0003/"),
            "not_genuine",
            "bad_signature",
            None,
            None,
        ),
        _case(
            "lot code the bundle does not carry",
            one.replace("/10/PT25-0001/", "/10/PT25-0002/"),
            "check_online",
            "link_unknown",
            None,
            None,
        ),
        _case(
            "GTIN the bundle does not carry",
            one.replace("/01/08936012345674/", "/01/08936012345704/"),
            "check_online",
            "link_unknown",
            None,
            None,
        ),
    ]


def describe(data: bytes) -> dict:  # type: ignore[type-arg]
    return {
        "description": "Status bundle v1 with LINK_LOTS (Digital Link stamps offline); docs/status-bundle.md "
        "'Test vector 3'. Test vector 2's content plus three lots with Digital Link stamps. "
        "Signed with keys/test/ed25519-test-vector.pem.",
        "file": "tests/assets/status_bundle_v1_links.bin",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_hex": data.hex(),
        "link_lots": [
            {
                "gtin": lot.gtin,
                "product_index": lot.product_index,
                "lot_code": lot.lot_code,
                "lot_index": lot.lot_index,
            }
            for lot in links_content().link_lots
        ],
        "verdicts": cases(),
    }


META = json.loads(META_PATH.read_text()) if META_PATH.exists() else {}
DATA = BIN.read_bytes() if BIN.exists() else b""


def test_vector_is_reproduced_and_documented():
    header = fmt.read_header(DATA)
    body = gzip.decompress(DATA[fmt.HEADER_LEN : fmt.HEADER_LEN + header.body_len])
    assert body == fmt.encode_body(links_content())
    assert build()[: fmt.HEADER_LEN - 4] == DATA[: fmt.HEADER_LEN - 4]
    assert json.loads(json.dumps(describe(DATA))) == META
    assert META["sha256"] in DOC


def test_link_lots_decode_to_their_indexes():
    b = fmt.decode(DATA, public_key_lookup=lookup_test_key)
    for lot in META["link_lots"]:
        found = b.link_indexes(lot["gtin"].zfill(14), lot["lot_code"])
        assert found == (lot["product_index"], lot["lot_index"])
        assert b.link_indexes(lot["gtin"].lstrip("0"), lot["lot_code"]) == found  # a GTIN is a number
    assert b.link_indexes("08936012345674", "PT25-0002") is None
    assert b.link_indexes("08936012345704", "PT25-0001") is None
    assert b.links and b.links.codes[-1] == ""  # lot 1000's code is read from LOT_CODES


@pytest.mark.parametrize("case", META.get("verdicts", []), ids=lambda c: c["name"])
def test_vector_offline_verdicts(case):
    b = fmt.decode(DATA, public_key_lookup=lookup_test_key)
    stamp = dl.parse_url(case["link"])
    result = fmt.link_verdict(b, stamp, today=date.fromisoformat(case["today"]), now=case["now"])
    assert (result.verdict.value, result.cause) == (case["verdict"], case["cause"])
    if case["verdict"] != "not_genuine" and case["cause"] != "link_unknown":  # signed: names shown
        product, _ = b.link_indexes(stamp.gtin, stamp.lot_code) or (0, 0)
        named = b.name_of(product)
        assert (named.name if named else None, stamp.lot_code) == (case["product"], case["lot"])
    else:
        assert case["product"] is case["lot"] is None


def test_an_unknown_link_past_the_bundles_validity_is_bundle_expired():
    b = fmt.decode(DATA, public_key_lookup=lookup_test_key)
    stamp = dl.parse_url(V1["digital_link"].replace("/10/PT25-0001/", "/10/PT25-0002/"))
    result = fmt.link_verdict(b, stamp, today=date(2026, 12, 1), now=VALID_UNTIL + 1)
    assert (result.verdict, result.cause) == (fmt.OfflineVerdict.CHECK_ONLINE, "bundle_expired")


def test_a_reader_without_link_lots_skips_it():
    """Scanners built before issue 15 read this bundle as test vector 2 (the section is skipped)."""
    header = fmt.read_header(DATA)
    body = gzip.decompress(DATA[fmt.HEADER_LEN : fmt.HEADER_LEN + header.body_len])
    assert body == fmt.encode_body(names_content()) + body[len(fmt.encode_body(names_content())) :]
    kind, length = struct.unpack_from(">BI", body, len(fmt.encode_body(names_content())))
    assert kind == fmt.Section.LINK_LOTS == 0x43
    assert len(fmt.encode_body(names_content())) + 5 + length == len(body)


def test_one_gtin_one_product_and_one_code_one_lot():
    with pytest.raises(ValueError):
        fmt.encode_body(fmt.BundleContent(link_lots=[RECALLED, replace(RECALLED, product_index=2)]))
    with pytest.raises(ValueError):
        fmt.encode_body(fmt.BundleContent(link_lots=[RECALLED, replace(RECALLED, lot_index=4)]))


def _link_data(products: list[int], counts: list[int], varints: bytes, codes: bytes) -> bytes:
    p, n = len(products), sum(counts)
    return struct.pack(f">II{p}I{p}I", p, n, *products, *counts) + varints + codes


@pytest.mark.parametrize(
    "data",
    [
        _link_data([1, 2], [1, 1], bytes([5, 0, 1, 2]), b"a\x00b\x00"),  # GTINs not ascending
        _link_data([1], [1], b"\xff\xff\xff\xff\xff\xff\xff\x7f\x01", b"a\x00"),  # not a GTIN-14
        _link_data([1], [2], bytes([5, 1, 1]), b"a\x00a\x00"),  # one code, two lots
        _link_data([1], [2], bytes([5, 1, 0]), b"a\x00b\x00"),  # lots not ascending
        _link_data([1], [2], bytes([5, 1, 1]), b"a\x00"),  # fewer codes than lots
        _link_data([1], [2], bytes([5, 1]), b""),  # numbers run past the section
        struct.pack(">II", 1, 2) + struct.pack(">II", 1, 1) + bytes([5, 1]) + b"a\x00",  # counts != n
    ],
)
def test_inconsistent_link_lots_are_invalid(data):
    body = struct.pack(">BI", fmt.Section.LINK_LOTS, len(data)) + data
    raw = gzip.compress(body, mtime=0)
    header = struct.pack(">4sB4sQIII", fmt.MAGIC, 1, bytes.fromhex("98f2a1ae"), 1, 1, 2, len(raw))
    signed = header + raw + vector_key().sign(fmt.DOMAIN_V1 + header + raw)
    with pytest.raises(InvalidBundle):
        fmt.decode(signed, public_key_lookup=lookup_test_key)


if __name__ == "__main__":
    data = build()
    BIN.write_bytes(data)
    META_PATH.write_text(json.dumps(describe(data), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {BIN} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
