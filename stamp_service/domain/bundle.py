"""The signed offline status bundle, format version 1 (docs/status-bundle.md is normative).

file    = header (29 bytes) || body (gzip, body_len bytes) || Ed25519 signature (64 bytes)
header  = magic "OCSB" | version u8 (=1) | kid 4 | seq u64 | issued_at u32 | refresh_after u32 | body_len u32
message = b"OCOP-STATUS-V1" || 0x00 || header || body          (what is signed: the exact file bytes)
body    = gzip of a run of sections: type u8 | length u32 | data   (unknown types are skipped)

The signature is checked before anything is decompressed, and decompression is
capped, so a hostile file costs one signature check. Pure: no database, no
Flask; the services gather the facts and sign with the key ring.
"""

from __future__ import annotations

import bisect
import gzip
import io
import itertools
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stamp_service.domain.stamp_format import EPOCH, StampClaims, day_number
from stamp_service.errors import InvalidBundle

MAGIC = b"OCSB"
VERSION_1 = 1
DOMAIN_V1 = b"OCOP-STATUS-V1\x00"
_HEADER = struct.Struct(">4sB4sQIII")
HEADER_LEN = _HEADER.size  # 29
SIGNATURE_LEN = 64
MAX_BODY = 64 * 1024 * 1024  # decompressed; a national registry needs ~2 MB
_SECTION = struct.Struct(">BI")
_KEY = struct.Struct(">4s32sBIII")  # 49 bytes


class Section(IntEnum):
    KEYS = 0x01
    PRODUCTS = 0x02  # per product index: valid_until day (u16, 0 = no current certificate), stars (u8)
    PRODUCT_WITHDRAWN = 0x10  # bitset by product index
    PRODUCT_BELOW_THREE = 0x11  # bitset by product index
    LOT_RECALLED = 0x20  # bitset by lot index
    VOIDED_SERIALS = 0x30  # count u32, then sorted u64 serials


BITSETS = (Section.PRODUCT_WITHDRAWN, Section.PRODUCT_BELOW_THREE, Section.LOT_RECALLED)
KEY_STATES = {1: "active", 2: "retired", 3: "compromised"}
KEY_STATE_CODES = {v: k for k, v in KEY_STATES.items()}


@dataclass(frozen=True)
class BundleKey:
    kid: bytes
    public_key: bytes  # raw 32 bytes
    state: str
    activated_at: int = 0  # unix seconds, 0 = never
    retired_at: int = 0
    compromised_at: int = 0


class Bitset:
    """Bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8`` (most significant first, as W3C status lists)."""

    __slots__ = ("data", "size")

    def __init__(self, size: int, data: bytes | bytearray | None = None) -> None:
        self.size = size
        self.data = bytearray(data) if data is not None else bytearray((size + 7) // 8)
        if len(self.data) != (size + 7) // 8:
            raise ValueError("bitset data does not match its size")

    @classmethod
    def of(cls, size: int, indices: Iterable[int]) -> Bitset:
        bits = cls(size)
        for i in indices:
            bits.set(i)
        return bits

    def set(self, i: int) -> None:
        if not 0 <= i < self.size:
            raise ValueError(f"index {i} outside the bitset (size {self.size})")
        self.data[i >> 3] |= 0x80 >> (i & 7)

    def __contains__(self, i: int) -> bool:
        return 0 <= i < self.size and bool(self.data[i >> 3] & (0x80 >> (i & 7)))

    def indices(self) -> list[int]:
        return [i for i in range(self.size) if i in self]

    def count(self) -> int:
        return sum(bin(b).count("1") for b in self.data)


@dataclass(frozen=True)
class ProductStatus:
    """One product's current certificate, as the bundle carries it."""

    valid_until: date | None  # None: no current certificate
    stars: int = 0
    withdrawn: bool = False


@dataclass
class BundleContent:
    """What the service knows at build time (the services fill it from the database)."""

    keys: list[BundleKey] = field(default_factory=list)
    products: Mapping[int, ProductStatus] = field(default_factory=dict)  # by product index
    product_count: int = 0  # indices 0..product_count-1 (0 when empty)
    recalled_lots: Iterable[int] = ()
    lot_count: int = 0
    voided_serials: Iterable[int] = ()  # unsigned 64-bit


@dataclass(frozen=True)
class StatusBundle:
    """A decoded, signature-checked bundle."""

    version: int
    kid: bytes
    seq: int
    issued_at: int
    refresh_after: int
    keys: dict[bytes, BundleKey]
    valid_until_days: tuple[int, ...]
    stars: bytes
    bitsets: dict[Section, Bitset]
    voided: tuple[int, ...]

    @property
    def issued_at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.issued_at, UTC)

    @property
    def refresh_after_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.refresh_after, UTC)

    def is_voided(self, serial: int) -> bool:
        i = bisect.bisect_left(self.voided, serial)
        return i < len(self.voided) and self.voided[i] == serial

    def bit(self, section: Section, index: int) -> bool:
        bits = self.bitsets.get(section)
        return bits is not None and index in bits


# -- encoding ----------------------------------------------------------------------------------------


def _section(kind: Section, data: bytes) -> bytes:
    return _SECTION.pack(kind, len(data)) + data


def encode_body(content: BundleContent) -> bytes:
    """The uncompressed section run, in section order (deterministic)."""
    keys = sorted(content.keys, key=lambda k: k.kid)
    key_data = struct.pack(">H", len(keys)) + b"".join(
        _KEY.pack(
            k.kid, k.public_key, KEY_STATE_CODES[k.state], k.activated_at, k.retired_at, k.compromised_at
        )
        for k in keys
    )
    n = content.product_count
    days = [0] * n
    stars = bytearray(n)
    withdrawn, below = Bitset(n), Bitset(n)
    for index, p in content.products.items():
        if p.valid_until is not None:
            days[index] = day_number(p.valid_until)
            stars[index] = p.stars
            if p.withdrawn:
                withdrawn.set(index)
            if p.stars < 3:
                below.set(index)
    products = struct.pack(f">I{n}H", n, *days) + bytes(stars)
    recalled = Bitset.of(content.lot_count, content.recalled_lots)
    voided = sorted(set(content.voided_serials))
    parts = [
        _section(Section.KEYS, key_data),
        _section(Section.PRODUCTS, products),
        _section(Section.PRODUCT_WITHDRAWN, struct.pack(">I", n) + bytes(withdrawn.data)),
        _section(Section.PRODUCT_BELOW_THREE, struct.pack(">I", n) + bytes(below.data)),
        _section(Section.LOT_RECALLED, struct.pack(">I", recalled.size) + bytes(recalled.data)),
        _section(Section.VOIDED_SERIALS, struct.pack(f">I{len(voided)}Q", len(voided), *voided)),
    ]
    return b"".join(parts)


def encode(
    content: BundleContent,
    *,
    kid: bytes,
    seq: int,
    issued_at: int,
    refresh_after: int,
    sign: Callable[[bytes], bytes],
) -> bytes:
    """The signed file. ``sign`` gets the exact message (domain tag + header + body)."""
    body = gzip.compress(encode_body(content), compresslevel=9, mtime=0)
    header = _HEADER.pack(MAGIC, VERSION_1, kid, seq, issued_at, refresh_after, len(body))
    signed = header + body
    signature = sign(DOMAIN_V1 + signed)
    if len(signature) != SIGNATURE_LEN:
        raise ValueError("an Ed25519 signature is 64 bytes")
    return signed + signature


# -- decoding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    version: int
    kid: bytes
    seq: int
    issued_at: int
    refresh_after: int
    body_len: int


def read_header(data: bytes) -> Header:
    """The unsigned header (for routing and display only; trust nothing before ``decode``)."""
    if len(data) < HEADER_LEN + SIGNATURE_LEN:
        raise InvalidBundle("too short to be a status bundle")
    magic, version, kid, seq, issued_at, refresh_after, body_len = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise InvalidBundle("not a status bundle (bad magic)")
    if version != VERSION_1:
        raise InvalidBundle(f"status bundle version {version} is not known here", version=version)
    if len(data) != HEADER_LEN + body_len + SIGNATURE_LEN:
        raise InvalidBundle("the status bundle's length does not match its header")
    return Header(version, kid, seq, issued_at, refresh_after, body_len)


def _gunzip(body: bytes) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as f:
            out = f.read(MAX_BODY + 1)
    except (OSError, EOFError, zlib.error):
        raise InvalidBundle("the status bundle's body is not valid gzip") from None
    if len(out) > MAX_BODY:
        raise InvalidBundle("the status bundle's body is too large")
    return out


def _bitset(data: bytes) -> Bitset:
    if len(data) < 4:
        raise InvalidBundle("truncated bitset")
    (size,) = struct.unpack_from(">I", data)
    try:
        return Bitset(size, data[4:])
    except ValueError:
        raise InvalidBundle("a bitset's length does not match its size") from None


def decode(data: bytes, *, public_key_lookup: Callable[[bytes], Ed25519PublicKey | None]) -> StatusBundle:
    """Check the signature with a key the caller trusts, then parse. Raises InvalidBundle."""
    header = read_header(data)
    key = public_key_lookup(header.kid)
    if key is None:
        raise InvalidBundle(f"the bundle is signed by key {header.kid.hex()}, which is not trusted here")
    signed = data[: HEADER_LEN + header.body_len]
    try:
        key.verify(data[-SIGNATURE_LEN:], DOMAIN_V1 + signed)
    except InvalidSignature:
        raise InvalidBundle("the status bundle's signature does not match") from None
    return _parse_body(header, _gunzip(data[HEADER_LEN:-SIGNATURE_LEN]))


def _parse_body(header: Header, body: bytes) -> StatusBundle:
    sections: dict[int, bytes] = {}
    pos = 0
    while pos < len(body):
        if pos + _SECTION.size > len(body):
            raise InvalidBundle("truncated section header")
        kind, length = _SECTION.unpack_from(body, pos)
        pos += _SECTION.size
        if pos + length > len(body):
            raise InvalidBundle("truncated section")
        if kind in sections:
            raise InvalidBundle(f"section {kind} appears twice")
        sections[kind] = body[pos : pos + length]
        pos += length
    try:
        keys = _keys(sections.get(Section.KEYS, b"\x00\x00"))
        days, stars = _products(sections.get(Section.PRODUCTS, b"\x00\x00\x00\x00"))
        voided = _voided(sections.get(Section.VOIDED_SERIALS, b"\x00\x00\x00\x00"))
    except struct.error:
        raise InvalidBundle("a section is shorter than its contents say") from None
    bitsets = {kind: _bitset(sections[kind]) for kind in BITSETS if kind in sections}
    return StatusBundle(
        header.version,
        header.kid,
        header.seq,
        header.issued_at,
        header.refresh_after,
        keys,
        days,
        stars,
        bitsets,
        voided,
    )


def _keys(data: bytes) -> dict[bytes, BundleKey]:
    (count,) = struct.unpack_from(">H", data)
    if len(data) != 2 + count * _KEY.size:
        raise InvalidBundle("the key section's length does not match its count")
    out = {}
    for i in range(count):
        kid, public, state, activated, retired, compromised = _KEY.unpack_from(data, 2 + i * _KEY.size)
        if state not in KEY_STATES:
            raise InvalidBundle(f"unknown key state {state}")
        out[kid] = BundleKey(kid, public, KEY_STATES[state], activated, retired, compromised)
    return out


def _products(data: bytes) -> tuple[tuple[int, ...], bytes]:
    (n,) = struct.unpack_from(">I", data)
    if len(data) != 4 + 3 * n:
        raise InvalidBundle("the product section's length does not match its count")
    return struct.unpack_from(f">{n}H", data, 4), data[4 + 2 * n :]


def _voided(data: bytes) -> tuple[int, ...]:
    (n,) = struct.unpack_from(">I", data)
    if len(data) != 4 + 8 * n:
        raise InvalidBundle("the voided-serial section's length does not match its count")
    serials = struct.unpack_from(f">{n}Q", data, 4)
    if any(a >= b for a, b in itertools.pairwise(serials)):
        raise InvalidBundle("voided serials are not strictly ascending")
    return serials


# -- the offline verdict -----------------------------------------------------------------------------


class OfflineVerdict(StrEnum):
    GENUINE = "genuine"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CHECK_ONLINE = "check_online"  # compromised key, or a product newer than the bundle
    UNKNOWN_KEY = "unknown_key"
    NOT_GENUINE = "not_genuine"  # bad signature


@dataclass(frozen=True)
class OfflineResult:
    verdict: OfflineVerdict
    cause: str | None = None
    stars: int | None = None  # the product's rating now, when known


def offline_verdict(
    bundle: StatusBundle, claims: StampClaims, signature: bytes, message: bytes, *, today: date
) -> OfflineResult:
    """Decide a parsed stamp's verdict from the bundle alone (docs/status-bundle.md, "Verdict")."""
    key = bundle.keys.get(claims.kid)
    if key is None:
        return OfflineResult(OfflineVerdict.UNKNOWN_KEY, "unknown_key")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
    except InvalidSignature:
        return OfflineResult(OfflineVerdict.NOT_GENUINE, "bad_signature")
    if key.state == "compromised":
        return OfflineResult(OfflineVerdict.CHECK_ONLINE, "key_compromised")
    p = claims.product_index
    if p >= len(bundle.valid_until_days):
        return OfflineResult(OfflineVerdict.CHECK_ONLINE, "product_unknown")
    stars = bundle.stars[p] or None
    if bundle.is_voided(claims.serial):
        return OfflineResult(OfflineVerdict.REVOKED, "stamp_voided", stars)
    if bundle.bit(Section.LOT_RECALLED, claims.lot_index):
        return OfflineResult(OfflineVerdict.REVOKED, "lot_recalled", stars)
    valid_until = bundle.valid_until_days[p]
    if valid_until == 0:
        return OfflineResult(OfflineVerdict.REVOKED, "no_certificate")
    if bundle.bit(Section.PRODUCT_WITHDRAWN, p):
        return OfflineResult(OfflineVerdict.REVOKED, "stars_withdrawn", stars)
    if bundle.bit(Section.PRODUCT_BELOW_THREE, p):
        return OfflineResult(OfflineVerdict.REVOKED, "stars_below_three", stars)
    day = (today - EPOCH).days
    if day > valid_until:
        return OfflineResult(OfflineVerdict.EXPIRED, "certificate_expired", stars)
    if day > claims.expiry_day:
        return OfflineResult(OfflineVerdict.EXPIRED, "stamp_expired", stars)
    return OfflineResult(OfflineVerdict.GENUINE, None, stars)
