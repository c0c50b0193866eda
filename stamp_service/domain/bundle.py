"""The signed offline status bundle, format version 1 (docs/status-bundle.md is normative).

file    = header (29 bytes) || body (gzip, body_len bytes) || Ed25519 signature (64 bytes)
header  = magic "OCSB" | version u8 (=1) | kid 4 | seq u64 | issued_at u32 | refresh_after u32 | body_len u32
message = b"OCOP-STATUS-V1" || 0x00 || header || body          (what is signed: the exact file bytes)
body    = gzip of a run of sections: type u8 | length u32 | data   (unknown types are skipped)

Later additions are sections an older reader skips (VALIDITY, PENDING_KEYS, the name
tables and LINK_LOTS), so a version 1 scanner keeps reading every bundle built since.

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

from stamp_service.domain.digital_link import DigitalLinkStamp
from stamp_service.domain.stamp_format import EPOCH, StampClaims, day_number, parse_token
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
    VALIDITY = 0x03  # valid_until u32 (Unix seconds): after it the bundle gives no verdict
    PENDING_KEYS = 0x04  # as KEYS, keys published before they sign (state byte 4)
    PRODUCT_WITHDRAWN = 0x10  # bitset by product index
    PRODUCT_BELOW_THREE = 0x11  # bitset by product index
    LOT_RECALLED = 0x20  # bitset by lot index
    VOIDED_SERIALS = 0x30  # count u32, then sorted u64 serials
    PRODUCERS = 0x40  # count u32, then count NUL-terminated UTF-8 names
    PRODUCT_NAMES = 0x41  # n u32, n x producer u32 (position in PRODUCERS + 1, 0 = none), n names
    LOT_CODES = 0x42  # first u32, count u32, count NUL-terminated codes (lots first..first+count-1)
    # GTIN -> product index and (product, lot code) -> lot index of the lots with Digital Link
    # stamps: p u32, n u32, p x product u32, p x lot count u32, p varint GTIN deltas (ascending),
    # n varint lot index deltas (ascending within a GTIN), n codes ("" = the code is in LOT_CODES)
    LINK_LOTS = 0x43


BITSETS = (Section.PRODUCT_WITHDRAWN, Section.PRODUCT_BELOW_THREE, Section.LOT_RECALLED)
KEY_STATES = {1: "active", 2: "retired", 3: "compromised"}
PENDING = 4  # only in PENDING_KEYS: a version 1 reader refuses unknown states in KEYS
KEY_STATE_CODES = {v: k for k, v in KEY_STATES.items()} | {"pending": PENDING}


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


@dataclass(frozen=True)
class ProductName:
    """What an inspector compares with the package: the product's name and its producer's."""

    name: str
    producer: str


@dataclass(frozen=True)
class LinkLot:
    """A lot that may carry Digital Link stamps: what its link names, and the indexes it stands for."""

    gtin: str  # 8 to 14 digits, as registered (the bundle stores the number, GTIN-14 without zeros)
    product_index: int
    lot_code: str
    lot_index: int


@dataclass
class BundleContent:
    """What the service knows at build time (the services fill it from the database)."""

    keys: list[BundleKey] = field(default_factory=list)
    products: Mapping[int, ProductStatus] = field(default_factory=dict)  # by product index
    product_count: int = 0  # indices 0..product_count-1 (0 when empty)
    recalled_lots: Iterable[int] = ()
    lot_count: int = 0
    voided_serials: Iterable[int] = ()  # unsigned 64-bit
    valid_until: int = 0  # Unix seconds; 0 = no VALIDITY section (the bundle never runs out)
    names: Mapping[int, ProductName] = field(default_factory=dict)  # by product index
    lot_codes: Mapping[int, str] = field(default_factory=dict)  # by lot index (the newest lots)
    link_lots: Iterable[LinkLot] = ()  # every lot with Digital Link stamps (LINK_LOTS)


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
    valid_until: int = 0  # 0: the bundle carries no validity
    producers: tuple[str, ...] = ()
    product_producer: tuple[int, ...] = ()  # position in ``producers`` + 1, 0 = none
    product_names: tuple[str, ...] = ()
    lot_first: int = 0
    lot_codes: tuple[str, ...] = ()
    links: LinkTable | None = None

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

    def expired(self, now: int) -> bool:
        """True once the bundle's own validity has passed (it then gives no verdict)."""
        return bool(self.valid_until) and now > self.valid_until

    def name_of(self, product_index: int) -> ProductName | None:
        if not 0 <= product_index < len(self.product_names) or not self.product_names[product_index]:
            return None
        producer = self.product_producer[product_index]
        return ProductName(
            self.product_names[product_index], self.producers[producer - 1] if producer else ""
        )

    def lot_code(self, lot_index: int) -> str | None:
        i = lot_index - self.lot_first
        return (self.lot_codes[i] or None) if 0 <= i < len(self.lot_codes) else None

    def link_indexes(self, gtin: str, lot_code: str) -> tuple[int, int] | None:
        """(product index, lot index) of a Digital Link's GTIN and lot, None when not carried."""
        return self.links.find(gtin, lot_code, self.lot_code) if self.links else None


@dataclass(frozen=True)
class LinkTable:
    """LINK_LOTS decoded: GTINs ascending, each with its product index and its lots."""

    gtins: tuple[int, ...]
    products: tuple[int, ...]
    starts: tuple[int, ...]  # lots of gtins[i]: lot_indexes[starts[i] : starts[i + 1]]
    lot_indexes: tuple[int, ...]
    codes: tuple[str, ...]  # "": the lot's code is in LOT_CODES

    def find(
        self, gtin: str, lot_code: str, lot_codes: Callable[[int], str | None]
    ) -> tuple[int, int] | None:
        value = int(gtin)
        i = bisect.bisect_left(self.gtins, value)
        if i == len(self.gtins) or self.gtins[i] != value:
            return None
        for j in range(self.starts[i], self.starts[i + 1]):
            if (self.codes[j] or lot_codes(self.lot_indexes[j])) == lot_code:
                return self.products[i], self.lot_indexes[j]
        return None


# -- encoding ----------------------------------------------------------------------------------------


def _section(kind: Section, data: bytes) -> bytes:
    return _SECTION.pack(kind, len(data)) + data


def _key_data(keys: list[BundleKey]) -> bytes:
    return struct.pack(">H", len(keys)) + b"".join(
        _KEY.pack(
            k.kid, k.public_key, KEY_STATE_CODES[k.state], k.activated_at, k.retired_at, k.compromised_at
        )
        for k in sorted(keys, key=lambda k: k.kid)
    )


def _strings(values: Iterable[str]) -> bytes:
    """NUL-terminated UTF-8 strings; a NUL inside a value is dropped (never a field separator)."""
    return b"".join(v.replace("\x00", "").encode("utf-8") + b"\x00" for v in values)


def _name_sections(content: BundleContent) -> list[bytes]:
    parts = []
    if content.names:
        n = content.product_count
        producers: dict[str, int] = {}
        refs, names = [0] * n, [""] * n
        for index in sorted(content.names):
            entry = content.names[index]
            names[index] = entry.name
            if entry.producer:
                refs[index] = producers.setdefault(entry.producer, len(producers) + 1)
        parts.append(_section(Section.PRODUCERS, struct.pack(">I", len(producers)) + _strings(producers)))
        parts.append(_section(Section.PRODUCT_NAMES, struct.pack(f">I{n}I", n, *refs) + _strings(names)))
    if content.lot_codes:
        first, last = min(content.lot_codes), max(content.lot_codes)
        codes = [content.lot_codes.get(i, "") for i in range(first, last + 1)]
        parts.append(_section(Section.LOT_CODES, struct.pack(">II", first, len(codes)) + _strings(codes)))
    return parts


def _varints(values: Iterable[int]) -> bytes:
    """Unsigned LEB128: 7 bits a byte, least significant first, high bit = more bytes follow."""
    out = bytearray()
    for value in values:
        while value > 0x7F:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out)


def _link_section(link_lots: Iterable[LinkLot], lot_codes: Mapping[int, str]) -> list[bytes]:
    """LINK_LOTS: products by GTIN, each product's lots together, numbers as deltas (they then
    compress); a code LOT_CODES already carries for that lot is written as "" (not twice)."""
    by_gtin: dict[int, tuple[int, dict[str, int]]] = {}
    for lot in link_lots:
        product, codes = by_gtin.setdefault(int(lot.gtin), (lot.product_index, {}))
        if product != lot.product_index:
            raise ValueError(f"GTIN {lot.gtin} names two products")
        if codes.setdefault(lot.lot_code, lot.lot_index) != lot.lot_index:
            raise ValueError(f"lot code {lot.lot_code!r} names two lots of GTIN {lot.gtin}")
    if not by_gtin:
        return []
    gtins = sorted(by_gtin)
    groups = [sorted(by_gtin[g][1].items(), key=lambda item: item[1]) for g in gtins]
    p, n = len(gtins), sum(map(len, groups))
    deltas = [index - (group[j - 1][1] if j else 0) for group in groups for j, (_, index) in enumerate(group)]
    data = (
        struct.pack(f">II{p}I{p}I", p, n, *(by_gtin[g][0] for g in gtins), *map(len, groups))
        + _varints(g - (gtins[i - 1] if i else 0) for i, g in enumerate(gtins))
        + _varints(deltas)
        + _strings("" if lot_codes.get(index) == code else code for group in groups for code, index in group)
    )
    return [_section(Section.LINK_LOTS, data)]


def encode_body(content: BundleContent) -> bytes:
    """The uncompressed section run, in section order (deterministic).

    VALIDITY, PENDING_KEYS and the name tables are written only when there is something to
    say, so a bundle without them is byte for byte a plain version 1 body.
    """
    key_data = _key_data([k for k in content.keys if k.state != "pending"])
    pending = [k for k in content.keys if k.state == "pending"]
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
    parts = [_section(Section.KEYS, key_data), _section(Section.PRODUCTS, products)]
    if content.valid_until:
        parts.append(_section(Section.VALIDITY, struct.pack(">I", content.valid_until)))
    if pending:
        parts.append(_section(Section.PENDING_KEYS, _key_data(pending)))
    parts += [
        _section(Section.PRODUCT_WITHDRAWN, struct.pack(">I", n) + bytes(withdrawn.data)),
        _section(Section.PRODUCT_BELOW_THREE, struct.pack(">I", n) + bytes(below.data)),
        _section(Section.LOT_RECALLED, struct.pack(">I", recalled.size) + bytes(recalled.data)),
        _section(Section.VOIDED_SERIALS, struct.pack(f">I{len(voided)}Q", len(voided), *voided)),
    ]
    return b"".join(parts + _name_sections(content) + _link_section(content.link_lots, content.lot_codes))


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
        for kid, key in _keys(sections.get(Section.PENDING_KEYS, b"\x00\x00"), pending=True).items():
            keys.setdefault(kid, key)  # a key listed in both is decided by KEYS
        days, stars = _products(sections.get(Section.PRODUCTS, b"\x00\x00\x00\x00"))
        voided = _voided(sections.get(Section.VOIDED_SERIALS, b"\x00\x00\x00\x00"))
        valid_until = _validity(sections.get(Section.VALIDITY))
        producers = _string_table(sections.get(Section.PRODUCERS, b"\x00" * 4), 4)[1]
        refs, names = _product_names(sections.get(Section.PRODUCT_NAMES, b"\x00" * 4), len(producers))
        lot_first, lot_codes = _lot_codes(sections.get(Section.LOT_CODES, b"\x00" * 8))
        links = _link_table(sections[Section.LINK_LOTS]) if Section.LINK_LOTS in sections else None
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
        valid_until,
        producers,
        refs,
        names,
        lot_first,
        lot_codes,
        links,
    )


def _validity(data: bytes | None) -> int:
    if data is None:
        return 0
    if len(data) != 4:
        raise InvalidBundle("the validity section is not 4 bytes")
    (until,) = struct.unpack(">I", data)
    return int(until)


def _strings_from(data: bytes, start: int, count: int) -> tuple[str, ...]:
    """``count`` NUL-terminated UTF-8 strings from ``start`` that fill the rest of ``data`` exactly."""
    if count == 0 and start == len(data):
        return ()
    parts = data[start:].split(b"\x00")
    if len(parts) != count + 1 or parts[-1] != b"":
        raise InvalidBundle("a name table's length does not match its count")
    try:
        return tuple(p.decode("utf-8") for p in parts[:-1])
    except UnicodeDecodeError:
        raise InvalidBundle("a name table is not UTF-8") from None


def _string_table(data: bytes, start: int) -> tuple[int, tuple[str, ...]]:
    (count,) = struct.unpack_from(">I", data)
    return count, _strings_from(data, start, count)


def _product_names(data: bytes, producers: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    (n,) = struct.unpack_from(">I", data)
    refs = struct.unpack_from(f">{n}I", data, 4)
    if any(r > producers for r in refs):
        raise InvalidBundle("a product names a producer that is not in the table")
    return refs, _strings_from(data, 4 + 4 * n, n)


def _lot_codes(data: bytes) -> tuple[int, tuple[str, ...]]:
    first, count = struct.unpack_from(">II", data)
    return first, _strings_from(data, 8, count)


def _read_varints(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    out = []
    for _ in range(count):
        value = shift = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise InvalidBundle("a number in LINK_LOTS runs past its section")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out.append(value)
    return out, pos


def _link_table(data: bytes) -> LinkTable:
    p, n = struct.unpack_from(">II", data)
    products = struct.unpack_from(f">{p}I", data, 8)
    counts = struct.unpack_from(f">{p}I", data, 8 + 4 * p)
    starts = (0, *itertools.accumulate(counts))
    if starts[-1] != n:
        raise InvalidBundle("the lot counts of LINK_LOTS do not add up")
    gtin_deltas, pos = _read_varints(data, 8 + 8 * p, p)
    lot_deltas, pos = _read_varints(data, pos, n)
    if any(d == 0 for d in gtin_deltas[1:]):
        raise InvalidBundle("the Digital Link GTINs are not strictly ascending")
    gtins = tuple(itertools.accumulate(gtin_deltas))
    if gtins and gtins[-1] >= 10**14:
        raise InvalidBundle("a Digital Link GTIN is longer than 14 digits")
    lot_indexes: list[int] = []
    for a, b in itertools.pairwise(starts):
        if any(d == 0 for d in lot_deltas[a + 1 : b]):
            raise InvalidBundle("a GTIN's lots are not strictly ascending")
        lot_indexes += itertools.accumulate(lot_deltas[a:b])
    if any(i > 0xFFFFFFFF for i in lot_indexes):
        raise InvalidBundle("a lot index is larger than 32 bits")
    codes = _strings_from(data, pos, n)
    for a, b in itertools.pairwise(starts):
        named = [c for c in codes[a:b] if c]
        if len(set(named)) != len(named):
            raise InvalidBundle("a lot code appears twice for one GTIN")
    return LinkTable(gtins, products, starts, tuple(lot_indexes), codes)


def _keys(data: bytes, *, pending: bool = False) -> dict[bytes, BundleKey]:
    (count,) = struct.unpack_from(">H", data)
    if len(data) != 2 + count * _KEY.size:
        raise InvalidBundle("the key section's length does not match its count")
    out = {}
    for i in range(count):
        kid, public, state, activated, retired, compromised = _KEY.unpack_from(data, 2 + i * _KEY.size)
        if (state != PENDING) if pending else (state not in KEY_STATES):
            raise InvalidBundle(f"unknown key state {state}")
        name = "pending" if pending else KEY_STATES[state]
        out[kid] = BundleKey(kid, public, name, activated, retired, compromised)
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
    CHECK_ONLINE = "check_online"  # compromised key, a product newer than the bundle, bundle out of date
    UNKNOWN_KEY = "unknown_key"
    NOT_GENUINE = "not_genuine"  # bad signature


@dataclass(frozen=True)
class OfflineResult:
    verdict: OfflineVerdict
    cause: str | None = None
    stars: int | None = None  # the product's rating now, when known


def offline_verdict(
    bundle: StatusBundle,
    claims: StampClaims,
    signature: bytes,
    message: bytes,
    *,
    today: date,
    now: int | None = None,
) -> OfflineResult:
    """Decide a parsed stamp's verdict from the bundle alone (docs/status-bundle.md, "Verdict").

    ``now`` (Unix seconds) is checked against the bundle's own validity; None skips that check.
    A pending key verifies like an active one: the server activated it after this bundle.
    """
    out_of_date = now is not None and bundle.expired(now)
    key = bundle.keys.get(claims.kid)
    if key is None:  # an out-of-date bundle cannot know a key activated since
        if out_of_date:
            return OfflineResult(OfflineVerdict.CHECK_ONLINE, "bundle_expired")
        return OfflineResult(OfflineVerdict.UNKNOWN_KEY, "unknown_key")
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, message)
    except InvalidSignature:
        return OfflineResult(OfflineVerdict.NOT_GENUINE, "bad_signature")
    if key.state == "compromised":
        return OfflineResult(OfflineVerdict.CHECK_ONLINE, "key_compromised")
    if out_of_date:
        return OfflineResult(OfflineVerdict.CHECK_ONLINE, "bundle_expired")
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


def link_verdict(
    bundle: StatusBundle, stamp: DigitalLinkStamp, *, today: date, now: int | None = None
) -> OfflineResult:
    """A Digital Link stamp's offline verdict: resolve its GTIN and lot with LINK_LOTS, rebuild
    the token and decide it as any other. A GTIN or lot the bundle does not carry cannot be
    checked here (the signed bytes need its indexes): "confirm online", never "not genuine"."""
    found = bundle.link_indexes(stamp.gtin, stamp.lot_code)
    if found is None:
        out_of_date = now is not None and bundle.expired(now)
        return OfflineResult(OfflineVerdict.CHECK_ONLINE, "bundle_expired" if out_of_date else "link_unknown")
    claims, signature, message = parse_token(stamp.token(product_index=found[0], lot_index=found[1]))
    return offline_verdict(bundle, claims, signature, message, today=today, now=now)
