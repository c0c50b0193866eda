"""The status bundle format: the published test vector, round trips, tampering and hostile input."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stamp_service.crypto.keyring import raw_public
from stamp_service.domain import bundle as fmt
from stamp_service.domain.stamp_format import parse_token
from stamp_service.errors import InvalidBundle

ROOT = Path(__file__).resolve().parents[2]
VECTOR = json.loads((ROOT / "tests/assets/status_bundle_v1.json").read_text())
VECTOR_BIN = (ROOT / "tests/assets/status_bundle_v1.bin").read_bytes()
STAMPS = json.loads((ROOT / "tests/assets/stamp_vectors.json").read_text())
DOC = (ROOT / "docs/status-bundle.md").read_text()


def vector_key() -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((ROOT / "keys/test/ed25519-test-vector.pem").read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def second_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"OCOP-STATUS test vector key 2").digest())


def vector_content() -> fmt.BundleContent:
    """The content of tests/assets/status_bundle_v1.bin (docs/status-bundle.md, "Test vector")."""
    k1, k2 = raw_public(vector_key().public_key()), raw_public(second_key().public_key())
    return fmt.BundleContent(
        keys=[
            fmt.BundleKey(hashlib.sha256(k1).digest()[:4], k1, "active", 1767225600),
            fmt.BundleKey(hashlib.sha256(k2).digest()[:4], k2, "compromised", 1735689600, 0, 1764547200),
        ],
        products={
            1: fmt.ProductStatus(date(2028, 9, 15), 4),
            2: fmt.ProductStatus(date(2028, 9, 15), 4, withdrawn=True),
            3: fmt.ProductStatus(date(2028, 9, 15), 2),
            4: fmt.ProductStatus(date(2025, 1, 1), 3),
            42: fmt.ProductStatus(date(2028, 9, 15), 5),
        },
        product_count=50,
        recalled_lots=[3, 7, 1000],
        lot_count=1001,
        voided_serials=[0xFEDCBA9876543210, 0x8000000000000000, 0x0000000000000001],
    )


def build_vector() -> bytes:
    return fmt.encode(
        vector_content(),
        kid=bytes.fromhex(VECTOR["signing_kid"]),
        seq=42,
        issued_at=1795478400,
        refresh_after=1795479300,
        sign=vector_key().sign,
    )


def lookup_test_key(kid: bytes):  # type: ignore[no-untyped-def]
    return vector_key().public_key() if kid.hex() == VECTOR["signing_kid"] else None


def test_vector_file_matches_its_description_and_the_docs():
    assert hashlib.sha256(VECTOR_BIN).hexdigest() == VECTOR["sha256"]
    assert VECTOR_BIN.hex() == VECTOR["file_hex"]
    assert VECTOR["sha256"] in DOC and VECTOR["signing_kid"] in DOC
    bundle = fmt.decode(VECTOR_BIN, public_key_lookup=lookup_test_key)
    assert (bundle.seq, bundle.issued_at, bundle.refresh_after) == (42, 1795478400, 1795479300)
    expected = VECTOR["decoded"]
    assert {k.kid.hex(): k.state for k in bundle.keys.values()} == expected["keys"]
    assert len(bundle.valid_until_days) == expected["product_count"]
    for index, (day, stars) in expected["products"].items():
        assert (bundle.valid_until_days[int(index)], bundle.stars[int(index)]) == (day, stars)
    assert bundle.bitsets[fmt.Section.PRODUCT_WITHDRAWN].indices() == expected["withdrawn"]
    assert bundle.bitsets[fmt.Section.PRODUCT_BELOW_THREE].indices() == expected["below_three"]
    assert bundle.bitsets[fmt.Section.LOT_RECALLED].indices() == expected["recalled_lots"]
    assert [f"{s:016x}" for s in bundle.voided] == expected["voided_serials"]


def test_vector_is_reproduced_from_its_content():
    header = fmt.read_header(VECTOR_BIN)
    body = gzip.decompress(VECTOR_BIN[fmt.HEADER_LEN : fmt.HEADER_LEN + header.body_len])
    assert body == fmt.encode_body(vector_content())
    rebuilt = build_vector()
    assert rebuilt[: fmt.HEADER_LEN - 4] == VECTOR_BIN[: fmt.HEADER_LEN - 4]  # same header up to body_len
    fmt.decode(rebuilt, public_key_lookup=lookup_test_key)


@pytest.mark.parametrize("case", VECTOR["verdicts"], ids=lambda c: f"{c['stamp']}-{c['today']}")
def test_vector_offline_verdicts(case):
    bundle = fmt.decode(VECTOR_BIN, public_key_lookup=lookup_test_key)
    claims, signature, message = parse_token(STAMPS["valid"][case["stamp"]]["token"])
    result = fmt.offline_verdict(bundle, claims, signature, message, today=date.fromisoformat(case["today"]))
    assert (result.verdict.value, result.cause) == (case["verdict"], case["cause"])


def test_any_flipped_byte_is_rejected_before_decompression():
    for pos in (0, 4, 5, 9, 20, 28, 40, len(VECTOR_BIN) // 2, len(VECTOR_BIN) - 1):
        tampered = bytearray(VECTOR_BIN)
        tampered[pos] ^= 0x01
        with pytest.raises(InvalidBundle):
            fmt.decode(bytes(tampered), public_key_lookup=lookup_test_key)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"OCSB",
        VECTOR_BIN[:-1],
        VECTOR_BIN + b"\x00",
        b"XXXX" + VECTOR_BIN[4:],
        VECTOR_BIN[:4] + b"\x02" + VECTOR_BIN[5:],
    ],
)
def test_malformed_files_are_invalid(data):
    with pytest.raises(InvalidBundle):
        fmt.decode(data, public_key_lookup=lookup_test_key)


def test_an_untrusted_signer_is_refused():
    with pytest.raises(InvalidBundle, match="not trusted"):
        fmt.decode(VECTOR_BIN, public_key_lookup=lambda kid: None)
    other = second_key().public_key()
    with pytest.raises(InvalidBundle, match="signature"):
        fmt.decode(VECTOR_BIN, public_key_lookup=lambda kid: other)


def _signed(body: bytes) -> bytes:
    gz = gzip.compress(body, mtime=0)
    header = struct.pack(">4sB4sQIII", b"OCSB", 1, bytes.fromhex(VECTOR["signing_kid"]), 1, 0, 0, len(gz))
    return header + gz + vector_key().sign(fmt.DOMAIN_V1 + header + gz)


@pytest.mark.parametrize(
    "body",
    [
        b"\x01\x00\x00\x00\x05\x00",  # truncated section
        b"\x02\x00\x00\x00\x04\x00\x00\x00\x09",  # product count larger than the data
        b"\x30\x00\x00\x00\x14\x00\x00\x00\x02"
        + (5).to_bytes(8, "big")
        + (5).to_bytes(8, "big"),  # not ascending
        b"\x20\x00\x00\x00\x05\x00\x00\x00\x40\x00",  # bitset shorter than its size
        b"\x01\x00\x00\x00\x02\x00\x00" * 2,  # a section twice
    ],
)
def test_signed_but_inconsistent_bodies_are_invalid(body):
    with pytest.raises(InvalidBundle):
        fmt.decode(_signed(body), public_key_lookup=lookup_test_key)


def test_unknown_sections_are_skipped_and_decompression_is_capped(monkeypatch):
    bundle = fmt.decode(_signed(b"\x7f\x00\x00\x00\x03abc"), public_key_lookup=lookup_test_key)
    assert bundle.keys == {} and bundle.voided == ()
    monkeypatch.setattr(fmt, "MAX_BODY", 100)
    with pytest.raises(InvalidBundle, match="too large"):
        fmt.decode(_signed(b"\x7f\x00\x00\x01\x00" + b"\x00" * 256), public_key_lookup=lookup_test_key)


def test_bitsets_are_most_significant_bit_first():
    bits = fmt.Bitset.of(10, [0, 9])
    assert bytes(bits.data) == b"\x80\x40" and 0 in bits and 9 in bits and 10 not in bits and -1 not in bits
    with pytest.raises(ValueError):
        bits.set(10)
