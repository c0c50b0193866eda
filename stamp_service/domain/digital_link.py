"""The GS1 Digital Link form of a version-1 stamp (docs/stamp-format.md, "Digital Link form").

    https://HOST/01/{GTIN-14}/10/{lot}/21/{serial}?8030={signature}&v={version kid expiry}

A checkout scanner or any GS1 resolver reads the GTIN (AI 01), the lot (AI 10) and the serial
(AI 21); the Ed25519 signature travels in AI 8030 (digital signature, base64url, 86
characters). ``v`` is a non-GS1 attribute (GS1 parsers ignore it): 14 hex digits of the
body's remaining fields, version (1 byte), key id (4) and expiry day (2). The signed bytes are
exactly the opaque form's: the verifier maps the GTIN to the product index and the lot code to
the lot index and rebuilds the 23-byte body, so a Digital Link stamp converts losslessly into
the opaque token, which the page, the API and the offline scanner already verify.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from stamp_service.domain import serials
from stamp_service.domain.gs1 import check_gtin
from stamp_service.domain.stamp_format import VERSION_1, StampClaims, encode_token
from stamp_service.errors import MalformedStamp


class StampForm(StrEnum):
    """How a request's stamps are printed: the compact opaque URL, or GS1 Digital Link."""

    OPAQUE = "opaque"
    DIGITAL_LINK = "digital_link"


SIGNATURE_AI = "8030"
TAIL_PARAM = "v"
_TAIL = struct.Struct(">B4sH")  # version, kid, expiry day
# AI 10 (batch/lot) is up to 20 characters of GS1 AI encodable character set 82.
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
_PATH = re.compile(r"^/01/(?P<gtin>[0-9]{14})/10/(?P<lot>[^/]+)/21/(?P<serial>[^/]+)/?$")
MAX_URL_CHARS = 400
_PRINTABLE = re.compile(r"[!-~]*")


def lot_code_fits(lot_code: str) -> bool:
    """Whether a lot code can be AI 10 (GS1 character set 82, 1 to 20 characters)."""
    return bool(_CSET82.match(lot_code))


def build_url(base_url: str, *, gtin: str, lot_code: str, claims: StampClaims, signature: bytes) -> str:
    """The Digital Link URL of a stamp. Raises ValueError for a GTIN or lot code that cannot be used."""
    scheme, sep, host = base_url.rstrip("/").partition("://")
    if not sep or scheme.lower() != "https" or not host or "/" in host:
        raise ValueError("base_url is https://HOST with no path")
    gtin14 = check_gtin(gtin).zfill(14)
    if not lot_code_fits(lot_code):
        raise ValueError("the lot code is not a valid AI 10 value (GS1 character set 82, up to 20)")
    tail = _TAIL.pack(claims.version, claims.kid, claims.expiry_day).hex().upper()
    sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")
    lot = quote(lot_code, safe="")
    serial = serials.compact(claims.serial)
    return f"HTTPS://{host.upper()}/01/{gtin14}/10/{lot}/21/{serial}?{SIGNATURE_AI}={sig}&{TAIL_PARAM}={tail}"


@dataclass(frozen=True)
class DigitalLinkStamp:
    """What a Digital Link stamp carries, before the GTIN and lot are resolved to indexes."""

    gtin: str  # 14 digits
    lot_code: str
    serial: int
    version: int
    kid: bytes
    expiry_day: int
    signature: bytes

    def token(self, *, product_index: int, lot_index: int) -> str:
        """The opaque token with the same signed body (verified as any other stamp)."""
        claims = StampClaims(self.version, self.kid, self.serial, product_index, lot_index, self.expiry_day)
        return encode_token(claims, self.signature)


def parse_path(path: str, query: str) -> DigitalLinkStamp:
    """Read a Digital Link stamp from a URL's path (percent-encoded) and query. Raises MalformedStamp."""
    match = _PATH.match(path)
    if match is None or len(path) > MAX_URL_CHARS:
        raise MalformedStamp("a stamp's Digital Link is /01/{GTIN}/10/{lot}/21/{serial}")
    return parse_parts(match["gtin"], unquote(match["lot"]), match["serial"], query)


def parse_parts(gtin_text: str, lot_code: str, serial_text: str, query: str) -> DigitalLinkStamp:
    """Read a Digital Link stamp from its decoded AI values and query string. Raises MalformedStamp."""
    if len(lot_code) + len(query) > MAX_URL_CHARS or not query.isascii():
        raise MalformedStamp("not a stamp's Digital Link")
    if len(gtin_text) != 14 or not gtin_text.isdigit():
        raise MalformedStamp("AI 01 is a 14-digit GTIN")
    try:
        gtin = check_gtin(gtin_text)
    except ValueError as exc:
        raise MalformedStamp(f"AI 01: {exc}") from None
    if not lot_code_fits(lot_code):
        raise MalformedStamp("AI 10 is not a valid lot code")
    try:
        serial = serials.parse_serial(serial_text)
    except Exception:
        raise MalformedStamp("AI 21 is not a serial of this service") from None
    if serials.compact(serial) != serial_text:
        raise MalformedStamp("AI 21 is not in its canonical form")
    params = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    values = {k: v for k, v in params if k in (SIGNATURE_AI, TAIL_PARAM)}
    if len(values) != 2 or sum(1 for k, _ in params if k in values) != 2:
        raise MalformedStamp(f"a stamp's Digital Link carries {SIGNATURE_AI}= and {TAIL_PARAM}= once each")
    signature = _b64url(values[SIGNATURE_AI])
    if not re.fullmatch(r"[0-9A-Fa-f]{14}", values[TAIL_PARAM]):  # bytes.fromhex would skip spaces
        raise MalformedStamp(f"{TAIL_PARAM}= is 14 hexadecimal digits")
    tail = bytes.fromhex(values[TAIL_PARAM])
    if len(tail) != _TAIL.size or len(signature) != 64:
        raise MalformedStamp("the signature or the stamp fields have the wrong length")
    version, kid, expiry_day = _TAIL.unpack(tail)
    if version != VERSION_1:
        raise MalformedStamp(f"stamp format version {version} has no Digital Link form")
    return DigitalLinkStamp(gtin.zfill(14), lot_code, serial, version, kid, expiry_day, signature)


def parse_url(url: str) -> DigitalLinkStamp:
    """Read a whole Digital Link stamp URL (any host, scheme https). Raises MalformedStamp."""
    text = url.strip()
    if not _PRINTABLE.fullmatch(text):  # urlsplit would silently drop a tab or a newline inside
        raise MalformedStamp("a stamp's Digital Link is printable ASCII with no space")
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise MalformedStamp("a stamp's Digital Link is an https URL")
    return parse_path(parts.path, parts.query)


def _b64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]{86}", text):
        raise MalformedStamp(f"AI {SIGNATURE_AI} is 86 base64url characters")
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        raise MalformedStamp(f"AI {SIGNATURE_AI} is not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise MalformedStamp(f"AI {SIGNATURE_AI} is not canonical")  # one stamp, one text
    return raw
