"""The published test vectors (tests/assets/stamp_vectors.json, mirrored in docs/stamp-format.md)
are reproduced exactly: encoding, signing (Ed25519 is deterministic) and verification."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stamp_service import errors
from stamp_service.crypto.keyring import kid_for, raw_public
from stamp_service.domain import serials
from stamp_service.domain import stamp_format as sf

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests/assets/stamp_vectors.json").read_text())
DOC = (ROOT / "docs/stamp-format.md").read_text()


def _key() -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((ROOT / VECTORS["key"]["file"]).read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _lookup(kid: bytes):
    return _key().public_key() if kid.hex() == VECTORS["key"]["kid"] else None


def test_key_file_matches_published_seed_and_kid():
    key, meta = _key(), VECTORS["key"]
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert seed.hex() == meta["private_seed_hex"]
    assert bytes.fromhex(meta["private_seed_hex"]) == hashlib.sha256(b"OCOP-STAMP test vector key 1").digest()
    assert raw_public(key.public_key()).hex() == meta["public_key_hex"]
    assert kid_for(key.public_key()).hex() == meta["kid"]


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["fields"]["serial"])
def test_valid_vector_is_reproduced(vector):
    f = vector["fields"]
    claims = sf.StampClaims(
        version=f["version"],
        kid=bytes.fromhex(f["kid"]),
        serial=int(f["serial"], 16),
        product_index=f["product_index"],
        lot_index=f["lot_index"],
        expiry_day=f["expiry_day"],
    )
    assert claims.expiry_date == date.fromisoformat(f["expiry_date"])
    assert sf.signing_message(claims).hex() == vector["signed_message_hex"]
    signature = _key().sign(sf.signing_message(claims))
    assert signature.hex() == vector["signature_hex"]
    assert sf.encode_token(claims, signature) == vector["token"]
    assert sf.stamp_url(VECTORS["base_url"], vector["token"]) == vector["url"]
    assert serials.format_serial(claims.serial) == vector["serial_display"]
    assert serials.to_db(claims.serial) == vector["serial_db"]
    assert sf.verify(vector["url"], public_key_lookup=_lookup) == claims
    assert sf.parse_token(vector["token"]) == (claims, signature, sf.signing_message(claims))


def test_lower_case_url_verifies():
    claims = sf.verify(VECTORS["lower_case_url"], public_key_lookup=_lookup)
    assert claims.serial == int(VECTORS["valid"][0]["fields"]["serial"], 16)


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vector_is_rejected_with_its_error(vector):
    error = getattr(errors, vector["error"])
    with pytest.raises(error):
        sf.verify(vector["text"], public_key_lookup=_lookup)


def test_document_mirrors_the_json():
    meta = VECTORS["key"]
    for value in (meta["private_seed_hex"], meta["public_key_hex"], meta["kid"]):
        assert value in DOC
    flat_doc = "".join(DOC.split())  # long values are wrapped in the document
    assert VECTORS["lower_case_url"] in flat_doc
    for vector in VECTORS["valid"]:
        for key in ("signed_message_hex", "signature_hex", "token", "url", "serial_display"):
            assert vector[key] in flat_doc, (key, vector[key])
        assert str(vector["serial_db"]) in DOC
        for name, value in vector["fields"].items():
            assert f"| {name} | `{value}` |" in DOC, (name, value)
    for vector in VECTORS["invalid"]:
        assert vector["name"] in DOC and vector["error"] in DOC and vector["text"] in flat_doc
