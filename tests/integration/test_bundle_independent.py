"""An offline verifier written from docs/status-bundle.md and docs/stamp-format.md alone.

It uses only struct, gzip, base64 and cryptography (no stamp_service module): it trusts the
signing key from the JWKS, checks the bundle's signature over the exact bytes, parses the
sections and decides stamps' verdicts (genuine / revoked / expired / unknown key).
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import gzip
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring, make_issued_batch

VN = dt.timezone(dt.timedelta(hours=7))


class Rejected(Exception):
    pass


def jwks_keys(client) -> dict[bytes, Ed25519PublicKey]:
    trusted = {}
    for k in client.get("/.well-known/jwks.json").get_json()["keys"]:
        if k["ocop_state"] in ("active", "retired"):
            raw = base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4))
            trusted[bytes.fromhex(k["kid"])] = Ed25519PublicKey.from_public_bytes(raw)
    return trusted


def parse_bundle(data: bytes, trusted: dict[bytes, Ed25519PublicKey]) -> dict:
    magic, version, kid, seq, issued, refresh, body_len = struct.unpack(">4sB4sQIII", data[:29])
    if magic != b"OCSB" or version != 1 or len(data) != 29 + body_len + 64:
        raise Rejected("format")
    if kid not in trusted:
        raise Rejected("untrusted signer")
    try:
        trusted[kid].verify(data[-64:], b"OCOP-STATUS-V1\x00" + data[:-64])
    except InvalidSignature:
        raise Rejected("signature") from None
    body = gzip.decompress(data[29:-64])
    sections, pos = {}, 0
    while pos < len(body):
        kind, length = struct.unpack_from(">BI", body, pos)
        sections[kind] = body[pos + 5 : pos + 5 + length]
        pos += 5 + length
    keys = {}
    (count,) = struct.unpack_from(">H", sections[0x01])
    for i in range(count):
        k, pub, state, *_dates = struct.unpack_from(">4s32sBIII", sections[0x01], 2 + 49 * i)
        keys[k] = (pub, {1: "active", 2: "retired", 3: "compromised"}[state])
    (n,) = struct.unpack_from(">I", sections[0x02])
    valid = struct.unpack_from(f">{n}H", sections[0x02], 4)
    stars = sections[0x02][4 + 2 * n :]

    def bitset(kind: int):
        size = struct.unpack_from(">I", sections[kind])[0]
        bits = sections[kind][4:]
        return lambda i: i < size and bool(bits[i >> 3] >> (7 - (i & 7)) & 1)

    (nv,) = struct.unpack_from(">I", sections[0x30])
    voided = list(struct.unpack_from(f">{nv}Q", sections[0x30], 4))
    return {
        "seq": seq,
        "issued": issued,
        "refresh": refresh,
        "keys": keys,
        "valid": valid,
        "stars": stars,
        "withdrawn": bitset(0x10),
        "below": bitset(0x11),
        "recalled": bitset(0x20),
        "voided": voided,
    }


def decide(bundle: dict, url: str, today: dt.date) -> str:
    text = url.rsplit("/", 1)[-1].upper()
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    body, sig = raw[:23], raw[23:]
    _v, kid, serial, product, lot, expiry = struct.unpack(">B4sQIIH", body)
    if kid not in bundle["keys"]:
        return "unknown_key"
    pub, state = bundle["keys"][kid]
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, b"OCOP-STAMP-V1\x00" + body)
    except InvalidSignature:
        return "not_genuine"
    if state == "compromised" or product >= len(bundle["valid"]):
        return "check_online"
    i = bisect.bisect_left(bundle["voided"], serial)
    revoked = (i < len(bundle["voided"]) and bundle["voided"][i] == serial) or bundle["recalled"](lot)
    revoked = (
        revoked or bundle["valid"][product] == 0 or bundle["withdrawn"](product) or bundle["below"](product)
    )
    if revoked:
        return "revoked"
    day = (today - dt.date(1970, 1, 1)).days
    if day > bundle["valid"][product] or day > expiry:
        return "expired"
    return "genuine"


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


def test_independent_verifier_agrees_with_the_service(client, session, admin, keyring):
    good = make_issued_batch(session, keyring, n=2)
    withdrawn = make_issued_batch(session, keyring, n=1)
    recalled = make_issued_batch(session, keyring, n=1)
    client.post(
        f"/api/v1/certificates/{withdrawn.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "rút sao"},
        headers=admin.headers,
    )
    client.post(
        f"/api/v1/lots/{recalled.lot.id}/recall", json={"reason": "thu hồi lô"}, headers=admin.headers
    )
    client.post(
        "/api/v1/voids",
        json={"request_id": good.request.id, "seq_from": 2, "reason_code": "lost", "reason": "mất tem"},
        headers=admin.headers,
    )

    data = client.get("/status/bundle.bin").data
    bundle = parse_bundle(data, jwks_keys(client))
    today = dt.datetime.now(VN).date()
    assert decide(bundle, good.urls[0], today) == "genuine"
    assert decide(bundle, good.urls[1], today) == "revoked"
    assert decide(bundle, withdrawn.urls[0], today) == "revoked"
    assert decide(bundle, recalled.urls[0], today) == "revoked"
    assert decide(bundle, good.urls[0], good.certificate.valid_until + dt.timedelta(days=1)) == "expired"
    assert bundle["stars"][good.product.id] == 4

    # A stamp signed by a key the service does not have (the public test key).
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(32))
    body = struct.pack(">B4sQIIH", 1, b"\x98\xf2\xa1\xae", 5, good.product.id, good.lot.id, 30000)
    token = base64.b32encode(body + stranger.sign(b"OCOP-STAMP-V1\x00" + body)).decode().rstrip("=")
    assert decide(bundle, token, today) == "unknown_key"
    # A forged signature under a real kid.
    real = base64.b32decode(good.tokens[0] + "=" * (-len(good.tokens[0]) % 8))
    forged = base64.b32encode(real[:23] + bytes(64)).decode().rstrip("=")
    assert decide(bundle, forged, today) == "not_genuine"


def test_independent_verifier_refuses_tampered_or_untrusted_bundles(client, session, keyring):
    make_issued_batch(session, keyring, n=1)
    data = bytearray(client.get("/status/bundle.bin").data)
    trusted = jwks_keys(client)
    parse_bundle(bytes(data), trusted)
    data[40] ^= 1
    with pytest.raises(Rejected):
        parse_bundle(bytes(data), trusted)
    with pytest.raises(Rejected):
        parse_bundle(client.get("/status/bundle.bin").data, {})
