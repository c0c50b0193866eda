"""The stamp token, format version 1 (docs/stamp-format.md is the normative description).

token   = body (23 bytes) || Ed25519 signature (64 bytes)                    -> 87 bytes
body    = version u8 (=1) | kid 4 | serial u64 | product_index u32 | lot_index u32 | expiry_day u16
          (all big-endian, fixed width, so the encoding is canonical)
message = b"OCOP-STAMP-V1" || 0x00 || body                                     (what is signed)
text    = RFC 4648 Base32 of the 87 bytes, upper case, no padding            -> 140 characters
URL     = "HTTPS://" + HOST + "/V/" + text                                  (QR alphanumeric only)

A reader looks at the version byte first and dispatches on it, so a version 2 with
another layout can be added without breaking printed version-1 stamps. Everything
here is pure (``cryptography`` only); key states and stamp statuses are the services'.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from stamp_service.domain import serials
from stamp_service.errors import BadSignature, MalformedStamp, UnknownSigningKey, UnknownStampVersion

VERSION_1 = 1
DOMAIN_V1 = b"OCOP-STAMP-V1\x00"
_BODY_V1 = struct.Struct(">B4sQIIH")
BODY_V1_LEN = _BODY_V1.size  # 23
SIGNATURE_LEN = 64
TOKEN_V1_LEN = BODY_V1_LEN + SIGNATURE_LEN  # 87
TOKEN_V1_CHARS = 140  # ceil(87 * 8 / 5)
URL_PATH = "/V/"
EPOCH = date(1970, 1, 1)
MAX_TOKEN_CHARS = 400  # anything longer is rejected before decoding (hostile input)
_BASE32_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
# White space a reader may leave around a scanned or pasted code: ASCII only. Unicode spaces
# (NBSP, U+2003...) are refused like any other character outside the format.
ASCII_SPACE = " \t\r\n"

PublicKeyLookup = Callable[[bytes], Ed25519PublicKey | None]


@dataclass(frozen=True, slots=True)
class StampClaims:
    """What a stamp asserts. ``serial`` is the unsigned 64-bit value (see serials.to_db)."""

    version: int
    kid: bytes
    serial: int
    product_index: int
    lot_index: int
    expiry_day: int

    def __post_init__(self) -> None:
        # Claims are built by our own code; out-of-range values are bugs, hence ValueError.
        if self.version != VERSION_1:
            raise ValueError(f"only version {VERSION_1} claims can be built")
        if not isinstance(self.kid, bytes) or len(self.kid) != 4:
            raise ValueError("kid is 4 bytes")
        if not 0 < self.serial <= serials.MAX_SERIAL:
            raise ValueError("serial is in 1..2**64-1")
        for name in ("product_index", "lot_index"):
            if not 0 <= getattr(self, name) <= 0xFFFFFFFF:
                raise ValueError(f"{name} is an unsigned 32-bit integer")
        if not 0 <= self.expiry_day <= 0xFFFF:
            raise ValueError("expiry_day is an unsigned 16-bit day number")

    @property
    def expiry_date(self) -> date:
        """The last day the stamp may verify as genuine."""
        return EPOCH + timedelta(days=self.expiry_day)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    @property
    def serial_text(self) -> str:
        return serials.format_serial(self.serial)


def day_number(day: date) -> int:
    """Days since 1970-01-01, as carried in ``expiry_day``."""
    return (day - EPOCH).days


def encode_body(claims: StampClaims) -> bytes:
    return _BODY_V1.pack(
        claims.version, claims.kid, claims.serial, claims.product_index, claims.lot_index, claims.expiry_day
    )


def signing_message(claims: StampClaims) -> bytes:
    """The exact bytes the Ed25519 signature covers."""
    return DOMAIN_V1 + encode_body(claims)


def message_for_serials(template: StampClaims) -> Callable[[int], bytes]:
    """``serial -> signing_message(template with that serial)`` for minting a whole chunk.

    Everything but the serial is fixed within a chunk, so it is checked once (``template``
    is a full StampClaims) and packed once; each stamp then costs one ``int.to_bytes``
    instead of a StampClaims and a struct pack. A test checks it against ``signing_message``.
    """
    whole = signing_message(template)
    serial_at = len(DOMAIN_V1) + 1 + 4  # domain, version byte, kid
    head, tail = whole[:serial_at], whole[serial_at + 8 :]

    def message(serial: int) -> bytes:
        if not 0 < serial <= serials.MAX_SERIAL:
            raise ValueError("serial is in 1..2**64-1")
        return head + serial.to_bytes(8, "big") + tail

    return message


def encode_token(claims: StampClaims, signature: bytes) -> str:
    """The 140-character token text (no padding, upper case)."""
    if len(signature) != SIGNATURE_LEN:
        raise ValueError("an Ed25519 signature is 64 bytes")
    raw = encode_body(claims) + signature
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def sign_token(claims: StampClaims, *, private_key: Ed25519PrivateKey) -> str:
    """Sign and encode in one step (tests, vectors; issuance uses keyring.Signer)."""
    return encode_token(claims, private_key.sign(signing_message(claims)))


def ascii_text(text: str) -> str:
    """``text`` if it is ASCII; else MalformedStamp.

    Checked before any case folding: ``"ſ".upper()`` is ``"S"``, ``"ı".upper()`` is ``"I"``,
    ``"ß".upper()`` is ``"SS"`` and ligatures unfold, so upper-casing first would let look-alike
    texts through as a genuine token (one token, one text).
    """
    if not text.isascii():
        raise MalformedStamp("the stamp code has characters outside ASCII")
    return text


def _decode_base32(text: str) -> bytes:
    if len(text) > MAX_TOKEN_CHARS:
        raise MalformedStamp("the stamp code is too long")
    token = ascii_text(text).upper()
    if not token or not set(token) <= _BASE32_CHARS:  # padding '=' included: never valid here
        raise MalformedStamp("the stamp code has characters outside Base32 (A-Z, 2-7)")
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except binascii.Error:
        raise MalformedStamp("the stamp code has an impossible length") from None
    # Reject non-canonical text (non-zero trailing bits): one token, one text.
    if base64.b32encode(raw).decode("ascii").rstrip("=") != token:
        raise MalformedStamp("the stamp code is not canonical Base32")
    return raw


def _parse_v1(raw: bytes) -> tuple[StampClaims, bytes, bytes]:
    if len(raw) != TOKEN_V1_LEN:
        raise MalformedStamp(f"a version 1 stamp code has {TOKEN_V1_LEN} bytes, this one has {len(raw)}")
    body, signature = raw[:BODY_V1_LEN], raw[BODY_V1_LEN:]
    version, kid, serial, product_index, lot_index, expiry_day = _BODY_V1.unpack(body)
    if serial == 0:
        raise MalformedStamp("the stamp code carries serial zero")
    claims = StampClaims(version, kid, serial, product_index, lot_index, expiry_day)
    return claims, signature, DOMAIN_V1 + body


# version byte -> parser of the whole decoded token; version 2 adds one entry.
_PARSERS: dict[int, Callable[[bytes], tuple[StampClaims, bytes, bytes]]] = {VERSION_1: _parse_v1}


def parse_token(text: str) -> tuple[StampClaims, bytes, bytes]:
    """Decode a token (any case) into (claims, signature, signed message) without verifying.

    Raises MalformedStamp or UnknownStampVersion.
    """
    raw = _decode_base32(text)
    parser = _PARSERS.get(raw[0])
    if parser is None:
        raise UnknownStampVersion(f"stamp format version {raw[0]} is not known here", version=raw[0])
    return parser(raw)


def stamp_url(base_url: str, token: str) -> str:
    """``HTTPS://HOST/V/TOKEN``: every character in the QR alphanumeric set."""
    scheme, sep, host = base_url.rstrip("/").partition("://")
    if not sep or scheme.lower() != "https" or not host or "/" in host:
        raise ValueError("base_url is https://HOST with no path")
    return f"HTTPS://{host.upper()}{URL_PATH}{token.upper()}"


def parse_stamp_url(url_or_token: str) -> str:
    """The token text of a stamp URL (any case, optional trailing slash) or of a bare token,
    with ASCII white space around it; anything non-ASCII is refused before any case folding.

    The host is not checked: it is not signed, and only the signature makes a stamp genuine.
    Raises MalformedStamp; the token itself is checked by ``parse_token``.
    """
    if len(url_or_token) > MAX_TOKEN_CHARS:
        raise MalformedStamp("the stamp code is too long")
    text = ascii_text(url_or_token).strip(ASCII_SPACE)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        host, slash, path = rest.partition("/")
        if scheme.lower() != "https" or not host or not slash:
            raise MalformedStamp("a stamp URL is https://HOST/V/CODE")
        path = "/" + path
        if not path.upper().startswith(URL_PATH):
            raise MalformedStamp("a stamp URL is https://HOST/V/CODE")
        text = path[len(URL_PATH) :]
        if text.endswith("/"):
            text = text[:-1]
    if "/" in text or "?" in text or "#" in text:
        raise MalformedStamp("a stamp URL is https://HOST/V/CODE")
    return text.upper()


def verify(token_text: str, *, public_key_lookup: PublicKeyLookup) -> StampClaims:
    """The claims of a genuine token; raises an InvalidStamp subclass otherwise, never returns False.

    ``token_text`` may be a bare token or a stamp URL. Key *states* (retired, compromised)
    are not judged here: the lookup decides which keys exist at all.
    """
    claims, signature, message = parse_token(parse_stamp_url(token_text))
    key = public_key_lookup(claims.kid)
    if key is None:
        raise UnknownSigningKey(f"no signing key {claims.kid_hex}", kid=claims.kid_hex)
    try:
        key.verify(signature, message)
    except InvalidSignature:
        raise BadSignature() from None
    return claims
