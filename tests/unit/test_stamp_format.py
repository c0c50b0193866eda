"""Stamp token v1: layout, round trips, strict parsing, tamper resistance, QR size budget."""

from __future__ import annotations

import base64
import dataclasses
from datetime import date

import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stamp_service.crypto.keyring import kid_for
from stamp_service.domain import stamp_format as sf
from stamp_service.errors import (
    BadSignature,
    InvalidStamp,
    MalformedStamp,
    UnknownSigningKey,
    UnknownStampVersion,
)

KEY = Ed25519PrivateKey.generate()
KID = kid_for(KEY.public_key())
CLAIMS = sf.StampClaims(
    version=1,
    kid=KID,
    serial=0xDEADBEEF01234567,
    product_index=7,
    lot_index=123456,
    expiry_day=sf.day_number(date(2027, 3, 1)),
)


def lookup(kid: bytes):
    return KEY.public_key() if kid == KID else None


def token() -> str:
    return sf.sign_token(CLAIMS, private_key=KEY)


def test_sizes_and_alphabet():
    text = token()
    assert sf.BODY_V1_LEN == 23 and sf.TOKEN_V1_LEN == 87
    assert len(text) == sf.TOKEN_V1_CHARS == 140
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert sf.signing_message(CLAIMS).startswith(b"OCOP-STAMP-V1\x00\x01" + KID)
    assert len(sf.signing_message(CLAIMS)) == 14 + 23


def test_round_trip_and_verify():
    text = token()
    claims, signature, message = sf.parse_token(text)
    assert claims == CLAIMS and message == sf.signing_message(CLAIMS) and len(signature) == 64
    assert sf.verify(text, public_key_lookup=lookup) == CLAIMS
    assert CLAIMS.expiry_date == date(2027, 3, 1)


def test_url_is_upper_case_and_parses_in_any_case():
    text = token()
    url = sf.stamp_url("https://tem.ocop.local", text)
    assert url == f"HTTPS://TEM.OCOP.LOCAL/V/{text}"
    for variant in (url, url.lower(), url + "/", url.lower() + "/", text.lower(), f"  {url}\n"):
        assert sf.parse_stamp_url(variant) == text
        assert sf.verify(variant, public_key_lookup=lookup) == CLAIMS


@pytest.mark.parametrize(
    "bad",
    [
        "http://TEM.OCOP.LOCAL/V/{t}",
        "HTTPS://TEM.OCOP.LOCAL/X/{t}",
        "HTTPS://TEM.OCOP.LOCAL/V/{t}?x=1",
        "HTTPS://TEM.OCOP.LOCAL/V/{t}//",
        "HTTPS:///V/{t}",
        "{t}====",
        "{t}=",
        "{t}1",
        "",
        "A" * 1000,
    ],
)
def test_malformed_urls_and_tokens_are_rejected(bad):
    with pytest.raises(MalformedStamp):
        sf.verify(bad.format(t=token()), public_key_lookup=lookup)


def _token_containing(part: str) -> tuple[str, sf.StampClaims]:
    for serial in range(1, 100_000):
        claims = dataclasses.replace(CLAIMS, serial=serial)
        text = sf.sign_token(claims, private_key=KEY)
        if part in text:
            return text, claims
    raise AssertionError(f"no token with {part!r}")


@pytest.mark.parametrize(
    ("genuine", "look_alike"),
    [("S", "\u017f"), ("I", "\u0131"), ("SS", "\u00df"), ("FF", "\ufb00"), ("ST", "\ufb06")],
)
def test_non_ascii_look_alikes_are_not_the_genuine_token(genuine, look_alike):
    """Upper-casing first turned ſ into S, ı into I, ß into SS, ligatures into pairs, so these
    texts verified as the genuine stamp. One token, one text: non-ASCII is refused first."""
    text, claims = _token_containing(genuine)
    assert sf.verify(text, public_key_lookup=lookup) == claims
    forged = text.replace(genuine, look_alike, 1)
    assert forged.upper() == text  # what the old parser compared
    url = sf.stamp_url("https://tem.ocop.local", text).replace(genuine, look_alike, 1)
    for variant in (forged, url, url.lower()):
        with pytest.raises(MalformedStamp):
            sf.verify(variant, public_key_lookup=lookup)


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u3000", "\u200b", "\u2028", "\x85"])
def test_unicode_white_space_around_a_token_is_refused(space):
    text = token()
    assert sf.parse_stamp_url(f" \t{text}\r\n") == text  # ASCII white space is tolerated
    for variant in (space + text, text + space):
        with pytest.raises(MalformedStamp):
            sf.verify(variant, public_key_lookup=lookup)


def test_truncated_and_extended_tokens_are_rejected():
    raw = base64.b32decode(token() + "====")
    for cut in (1, 2, 5, 40, 86):
        with pytest.raises(MalformedStamp):
            sf.parse_token(base64.b32encode(raw[:cut]).decode().rstrip("="))
    for extra in (b"\x00", b"\x00" * 5, b"x" * 20):
        with pytest.raises(MalformedStamp):
            sf.parse_token(base64.b32encode(raw + extra).decode().rstrip("="))


def test_unknown_version_is_a_clean_error():
    raw = bytearray(base64.b32decode(token() + "===="))
    for version in (0, 2, 255):
        raw[0] = version
        for body in (bytes(raw), bytes(raw[:40])):  # any length: the version is read first
            with pytest.raises(UnknownStampVersion) as info:
                sf.parse_token(base64.b32encode(body).decode().rstrip("="))
            assert info.value.extra["version"] == version
            assert isinstance(info.value, InvalidStamp)


def test_unknown_key_and_bad_signature():
    other = Ed25519PrivateKey.generate()
    forged = sf.sign_token(CLAIMS, private_key=other)  # right kid, wrong key
    with pytest.raises(BadSignature):
        sf.verify(forged, public_key_lookup=lookup)
    claims = sf.StampClaims(1, kid_for(other.public_key()), 5, 1, 1, 20000)
    with pytest.raises(UnknownSigningKey) as info:
        sf.verify(sf.sign_token(claims, private_key=other), public_key_lookup=lookup)
    assert info.value.extra["kid"] == kid_for(other.public_key()).hex()


def test_serial_zero_in_a_token_is_malformed():
    raw = bytearray(base64.b32decode(token() + "===="))
    raw[5:13] = bytes(8)
    with pytest.raises(MalformedStamp):
        sf.parse_token(base64.b32encode(raw).decode().rstrip("="))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"version": 2},
        {"kid": b"abc"},
        {"serial": 0},
        {"serial": 2**64},
        {"product_index": -1},
        {"lot_index": 2**32},
        {"expiry_day": 65536},
    ],
)
def test_claims_out_of_range_are_bugs(kwargs):
    fields = {
        "version": 1,
        "kid": KID,
        "serial": 1,
        "product_index": 0,
        "lot_index": 0,
        "expiry_day": 0,
        **kwargs,
    }
    with pytest.raises(ValueError):
        sf.StampClaims(**fields)


def _mutations():
    length = sf.TOKEN_V1_LEN
    flip = st.tuples(st.just("flip"), st.integers(0, length * 8 - 1), st.just(b""))
    cut = st.tuples(st.just("cut"), st.integers(0, length - 1), st.just(b""))
    insert = st.tuples(st.just("insert"), st.integers(0, length), st.binary(min_size=1, max_size=4))
    return st.lists(st.one_of(flip, cut, insert), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_any_change_to_a_valid_token_never_verifies(mutations):
    original = base64.b32decode(token() + "====")
    raw = bytearray(original)
    for kind, where, data in mutations:
        if kind == "flip":
            if where // 8 < len(raw):
                raw[where // 8] ^= 1 << (where % 8)
        elif kind == "cut":
            raw = raw[: min(where, len(raw))]
        else:
            raw[where:where] = data
    if bytes(raw) == original:
        return
    text = base64.b32encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(InvalidStamp):
        sf.verify(text, public_key_lookup=lookup)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, sf.TOKEN_V1_CHARS - 1), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
def test_any_changed_character_never_verifies(pos, char):
    text = token()
    if text[pos] == char:
        return
    with pytest.raises(InvalidStamp):
        sf.verify(text[:pos] + char + text[pos + 1 :], public_key_lookup=lookup)


def test_longest_host_fits_qr_version_7_at_m():
    host = "ABCDEFGHIJ.OCOP.GOV1"  # 20 characters, the configured maximum
    assert len(host) == 20
    claims = sf.StampClaims(1, KID, 2**64 - 1, 2**32 - 1, 2**32 - 1, 65535)
    url = sf.stamp_url(f"https://{host}", sf.sign_token(claims, private_key=KEY))
    assert len(url) == 8 + 20 + 3 + 140
    qr = segno.make_qr(url, error="m", boost_error=False)
    assert qr.mode == "alphanumeric"
    assert qr.version <= 7, qr.version


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    serial=st.integers(1, 2**64 - 1),
    product=st.integers(0, 2**32 - 1),
    lot=st.integers(0, 2**32 - 1),
    expiry=st.integers(0, 0xFFFF),
)
def test_chunk_message_template_equals_the_per_claim_message(serial, product, lot, expiry):
    def claims(s: int) -> sf.StampClaims:
        return sf.StampClaims(
            version=1, kid=KID, serial=s, product_index=product, lot_index=lot, expiry_day=expiry
        )

    message = sf.message_for_serials(claims(1))
    assert message(serial) == sf.signing_message(claims(serial))


@pytest.mark.parametrize("serial", [0, 2**64, -1])
def test_chunk_message_template_refuses_out_of_range_serials(serial):
    with pytest.raises(ValueError):
        sf.message_for_serials(CLAIMS)(serial)
