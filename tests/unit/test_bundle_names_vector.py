"""The status bundle's later sections: validity, pending keys and the name tables (issue 12/14).

``tests/assets/status_bundle_v1_names.bin`` is a version 1 bundle that also carries VALIDITY,
PENDING_KEYS, PRODUCERS, PRODUCT_NAMES and LOT_CODES (docs/status-bundle.md, "Test vector 2").
A reader that knows only the first sections still reads it (they are skipped), which is what
keeps scanners built before these sections working. Regenerate with
``.venv/bin/python -m tests.unit.test_bundle_names_vector`` (then update the docs' hash).
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stamp_service.crypto.keyring import raw_public
from stamp_service.domain import bundle as fmt
from stamp_service.domain import stamp_format as sf
from stamp_service.errors import InvalidBundle
from tests.unit.test_bundle_format import STAMPS, lookup_test_key, vector_content, vector_key

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "tests/assets/status_bundle_v1_names.bin"
META_PATH = ROOT / "tests/assets/status_bundle_v1_names.json"
DOC = (ROOT / "docs/status-bundle.md").read_text()
ISSUED_AT = 1795478400
VALID_UNTIL = ISSUED_AT + 7 * 86400


def pending_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"OCOP-STATUS test vector key 3").digest())


def names_content() -> fmt.BundleContent:
    pub = raw_public(pending_key().public_key())
    base = vector_content()
    return replace(
        base,
        keys=[*base.keys, fmt.BundleKey(hashlib.sha256(pub).digest()[:4], pub, "pending")],
        valid_until=VALID_UNTIL,
        names={
            1: fmt.ProductName("Mật ong hoa nhãn Hưng Yên", "HTX Ong mật Khoái Châu"),
            3: fmt.ProductName("Bưởi da xanh", "HTX Ong mật Khoái Châu"),
            42: fmt.ProductName("Nước mắm Phú Quốc 40 độ đạm", "Công ty TNHH Nước mắm Hưng Thịnh"),
        },
        lot_codes={999: "LÔ-2611", 1000: "MO-26/1000"},
    )


def build() -> bytes:
    return fmt.encode(
        names_content(),
        kid=bytes.fromhex("98f2a1ae"),
        seq=43,
        issued_at=ISSUED_AT,
        refresh_after=ISSUED_AT + 900,
        sign=vector_key().sign,
    )


def pending_stamp() -> str:
    """A stamp signed by the pending key (product 42, lot 999, serial 0x0badc0de): genuine offline."""
    pub = raw_public(pending_key().public_key())
    claims = sf.StampClaims(1, hashlib.sha256(pub).digest()[:4], 0x0BADC0DE, 42, 999, 21442)
    return sf.sign_token(claims, private_key=pending_key())


def describe(data: bytes) -> dict:  # type: ignore[type-arg]
    return {
        "description": "Status bundle v1 with the later sections (validity, pending key, names); "
        "docs/status-bundle.md 'Test vector 2'. Signed with keys/test/ed25519-test-vector.pem.",
        "file": "tests/assets/status_bundle_v1_names.bin",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_hex": data.hex(),
        "pending_key_seed_derivation": 'SHA-256("OCOP-STATUS test vector key 3")',
        "decoded": {
            "seq": 43,
            "issued_at": ISSUED_AT,
            "valid_until": VALID_UNTIL,
            "keys": {"98f2a1ae": "active", "92350135": "compromised", pending_kid(): "pending"},
            "producers": ["HTX Ong mật Khoái Châu", "Công ty TNHH Nước mắm Hưng Thịnh"],
            "names": {
                "1": ["Mật ong hoa nhãn Hưng Yên", "HTX Ong mật Khoái Châu"],
                "3": ["Bưởi da xanh", "HTX Ong mật Khoái Châu"],
                "42": ["Nước mắm Phú Quốc 40 độ đạm", "Công ty TNHH Nước mắm Hưng Thịnh"],
            },
            "unnamed": [0, 2, 4, 49],
            "lot_first": 999,
            "lots": {"999": "LÔ-2611", "1000": "MO-26/1000", "1": None, "998": None, "1001": None},
        },
        "pending_stamp": pending_stamp(),
        "verdicts": [
            {
                "stamp": 0,
                "today": "2026-11-23",
                "now": ISSUED_AT,
                "verdict": "genuine",
                "cause": None,
                "product": "Mật ong hoa nhãn Hưng Yên",
                "lot": None,
            },
            {
                "stamp": 0,
                "today": "2026-11-30",
                "now": VALID_UNTIL + 1,
                "verdict": "check_online",
                "cause": "bundle_expired",
                "product": "Mật ong hoa nhãn Hưng Yên",
                "lot": None,
            },
            {
                "stamp": 2,
                "today": "2026-11-23",
                "now": ISSUED_AT,
                "verdict": "revoked",
                "cause": "stamp_voided",
                "product": "Nước mắm Phú Quốc 40 độ đạm",
                "lot": "MO-26/1000",
            },
            {
                "stamp": "pending",
                "today": "2026-11-23",
                "now": ISSUED_AT,
                "verdict": "genuine",
                "cause": None,
                "product": "Nước mắm Phú Quốc 40 độ đạm",
                "lot": "LÔ-2611",
            },
        ],
    }


def pending_kid() -> str:
    return hashlib.sha256(raw_public(pending_key().public_key())).digest()[:4].hex()


META = json.loads(META_PATH.read_text()) if META_PATH.exists() else {}
DATA = BIN.read_bytes() if BIN.exists() else b""


def _token(name: str | int) -> str:
    return META["pending_stamp"] if name == "pending" else STAMPS["valid"][int(name)]["token"]


def test_vector_is_reproduced_and_documented():
    header = fmt.read_header(DATA)  # gzip bytes may differ between zlib builds: compare the body
    body = gzip.decompress(DATA[fmt.HEADER_LEN : fmt.HEADER_LEN + header.body_len])
    assert body == fmt.encode_body(names_content())
    assert build()[: fmt.HEADER_LEN - 4] == DATA[: fmt.HEADER_LEN - 4]
    assert json.loads(json.dumps(describe(DATA))) == META
    assert META["sha256"] in DOC


def test_vector_decodes_to_its_description():
    b = fmt.decode(DATA, public_key_lookup=lookup_test_key)
    d = META["decoded"]
    assert (b.seq, b.issued_at, b.valid_until) == (d["seq"], d["issued_at"], d["valid_until"])
    assert {k.hex(): v.state for k, v in b.keys.items()} == d["keys"]
    assert list(b.producers) == d["producers"]
    for index, (name, producer) in d["names"].items():
        assert b.name_of(int(index)) == fmt.ProductName(name, producer)
    assert all(b.name_of(i) is None for i in d["unnamed"])
    assert b.lot_first == d["lot_first"]
    assert {i: b.lot_code(int(i)) for i in d["lots"]} == d["lots"]


@pytest.mark.parametrize("case", META.get("verdicts", []), ids=lambda c: f"{c['stamp']}-{c['now']}")
def test_vector_offline_verdicts(case):
    b = fmt.decode(DATA, public_key_lookup=lookup_test_key)
    claims, signature, message = sf.parse_token(_token(case["stamp"]))
    result = fmt.offline_verdict(
        b, claims, signature, message, today=date.fromisoformat(case["today"]), now=case["now"]
    )
    assert (result.verdict.value, result.cause) == (case["verdict"], case["cause"])
    named = b.name_of(claims.product_index)
    assert (named.name if named else None, b.lot_code(claims.lot_index)) == (case["product"], case["lot"])


def test_a_reader_of_the_first_sections_only_still_reads_it():
    """What a scanner built before these sections does: skip every type it does not know."""
    header = fmt.read_header(DATA)
    body = gzip.decompress(DATA[fmt.HEADER_LEN : fmt.HEADER_LEN + header.body_len])
    known = {0x01, 0x02, 0x10, 0x11, 0x20, 0x30}
    pos, seen = 0, []
    while pos < len(body):
        kind, length = struct.unpack_from(">BI", body, pos)
        seen.append(kind)
        if kind == fmt.Section.KEYS:  # every state in KEYS is one a version 1 reader knows
            (count,) = struct.unpack_from(">H", body, pos + 5)
            states = {body[pos + 5 + 2 + i * 49 + 36] for i in range(count)}
            assert states <= {1, 2, 3}
        pos += 5 + length
    assert set(seen) - known == {0x03, 0x04, 0x40, 0x41, 0x42}
    assert seen == sorted(seen)


def test_without_the_new_content_the_body_is_the_first_vector():
    assert fmt.encode_body(vector_content()) == fmt.encode_body(
        replace(vector_content(), names={}, lot_codes={})
    )


@pytest.mark.parametrize(
    "section, data",
    [
        (fmt.Section.VALIDITY, b"\x00\x01"),
        (fmt.Section.PRODUCERS, struct.pack(">I", 2) + b"a\x00"),
        (fmt.Section.PRODUCERS, struct.pack(">I", 1) + b"\xff\x00"),
        (fmt.Section.PRODUCT_NAMES, struct.pack(">II", 1, 5) + b"x\x00"),
        (fmt.Section.LOT_CODES, struct.pack(">II", 0, 1) + b"a\x00b\x00"),
        (fmt.Section.PENDING_KEYS, struct.pack(">H", 1) + bytes(36) + b"\x01" + bytes(12)),
    ],
)
def test_inconsistent_new_sections_are_invalid(section, data):
    body = struct.pack(">BI", section, len(data)) + data
    signed = fmt.encode(
        fmt.BundleContent(),
        kid=b"\x98\xf2\xa1\xae",
        seq=1,
        issued_at=1,
        refresh_after=2,
        sign=vector_key().sign,
    )
    header = fmt.read_header(signed)
    raw = gzip.compress(body, mtime=0)
    new_header = signed[: fmt.HEADER_LEN - 4] + struct.pack(">I", len(raw))
    message = fmt.DOMAIN_V1 + new_header + raw
    tampered = new_header + raw + vector_key().sign(message)
    assert header.seq == 1
    with pytest.raises(InvalidBundle):
        fmt.decode(tampered, public_key_lookup=lookup_test_key)


if __name__ == "__main__":
    data = build()
    BIN.write_bytes(data)
    META_PATH.write_text(json.dumps(describe(data), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {BIN} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
