"""An offline verifier written from docs/status-bundle.md and docs/stamp-format.md alone.

It uses only struct, gzip, base64 and cryptography (no stamp_service module): it trusts the
signing key from the JWKS, checks the bundle's signature over the exact bytes, parses the
sections and decides stamps' verdicts (genuine / revoked / expired / unknown key), Digital Link
stamps included (LINK_LOTS and LOT_CODES turn a printed link back into its token).
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import gzip
import struct
from urllib.parse import parse_qsl, unquote, urlsplit

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
        "lot_codes": lot_codes(sections.get(0x42, b"")),
        "links": link_lots(sections.get(0x43, b"")),
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


def strings(data: bytes, count: int) -> list[str]:
    parts = data.split(b"\x00")
    assert len(parts) == count + 1 and parts[-1] == b""
    return [p.decode("utf-8") for p in parts[:-1]]


def lot_codes(data: bytes) -> dict[int, str]:
    """LOT_CODES (0x42): first u32, count u32, count strings."""
    if not data:
        return {}
    first, count = struct.unpack_from(">II", data)
    return {first + i: code for i, code in enumerate(strings(data[8:], count)) if code}


def varints(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    out = []
    for _ in range(count):
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out.append(value)
    return out, pos


def link_lots(data: bytes) -> list[tuple[int, str, int, int]]:
    """LINK_LOTS (0x43) as (GTIN number, lot code or "" = in LOT_CODES, product index, lot index)."""
    if not data:
        return []
    p, n = struct.unpack_from(">II", data)
    products = struct.unpack_from(f">{p}I", data, 8)
    counts = struct.unpack_from(f">{p}I", data, 8 + 4 * p)
    gtin_deltas, pos = varints(data, 8 + 8 * p, p)
    lot_deltas, pos = varints(data, pos, n)
    codes = strings(data[pos:], n)
    out, gtin, j = [], 0, 0
    for g in range(p):
        gtin += gtin_deltas[g]
        lot = 0
        for _ in range(counts[g]):
            lot += lot_deltas[j]
            out.append((gtin, codes[j], products[g], lot))
            j += 1
    return out


def decide_link(bundle: dict, url: str, today: dt.date) -> str:
    """A GS1 Digital Link stamp: resolve its GTIN and lot, rebuild the token, decide it."""
    parts = urlsplit(url)
    _, _, gtin, _, lot_text, _, serial_text = parts.path.split("/")
    query = dict(parse_qsl(parts.query))
    lot_code = unquote(lot_text)
    found = [
        (product, lot)
        for number, code, product, lot in bundle["links"]
        if number == int(gtin) and (code or bundle["lot_codes"].get(lot)) == lot_code
    ]
    if not found:
        return "check_online"
    ((product, lot),) = found
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    serial = 0
    for ch in serial_text[:13]:
        serial = serial * 32 + crockford.index(ch)
    version, kid, expiry = struct.unpack(">B4sH", bytes.fromhex(query["v"]))
    signature = base64.urlsafe_b64decode(query["8030"] + "==")
    body = struct.pack(">B4sQIIH", version, kid, serial, product, lot, expiry)
    token = base64.b32encode(body + signature).decode().rstrip("=")
    return decide(bundle, token, today)


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


def test_independent_verifier_reads_digital_link_stamps(client, session, admin, keyring):
    """Issue 15: LINK_LOTS read from the document alone turns each printed link into its token."""
    import csv
    import io

    from stamp_service.domain.access import Role
    from tests.factories import make_caller, make_certificate, make_lot, make_producer, make_product
    from tests.issuance_helpers import approve, post_request

    producer = make_producer(session)
    product = make_product(session, producer.id, gtin="8936012345674")
    make_certificate(session, product.id)
    lot = make_lot(session, product.id, lot_code="KC-2611/01", quantity=10)
    caller = make_caller(session, Role.PRODUCER, producer.id)
    resp = post_request(client, caller, {"lot_id": lot.id, "quantity": 2, "form": "digital_link"})
    rid = resp.get_json()["id"]
    assert approve(client, admin, rid).get_json()["state"] == "issued"
    csv_text = client.get(f"/api/v1/stamp-requests/{rid}/labels.csv", headers=caller.headers).get_data(
        as_text=True
    )
    urls = [row["url"] for row in csv.DictReader(io.StringIO(csv_text))]
    bundle = parse_bundle(client.get("/status/bundle.bin").data, jwks_keys(client))
    today = dt.datetime.now(VN).date()
    assert [decide_link(bundle, url, today) for url in urls] == ["genuine", "genuine"]
    head, rest = urls[0].split("8030=")
    forged = f"{head}8030={'B' if rest[0] == 'A' else 'A'}{rest[1:]}"
    assert decide_link(bundle, forged, today) == "not_genuine"
    assert decide_link(bundle, urls[0].replace("KC-2611%2F01", "KC-2611%2F09"), today) == "check_online"
