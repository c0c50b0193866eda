"""QR matrices for stamp URLs, built in batches with numpy, bit for bit what segno makes.

segno picks the data mask by scoring all eight masks in pure Python (~90 codes/s per core here),
which is far too slow for 100,000-stamp print files. This module encodes the same codes itself
(alphanumeric mode, minimal version, no error boost), scores the eight masks vectorized on
bit-packed rows/columns with the penalty rules exactly as segno implements them (evaluated before
format/version information is written, N3 with segno's sequential search), and returns the matrix
segno would return for `segno.make_qr(url, error=..., boost_error=False, mode="alphanumeric")`.
The tests compare both on hundreds of stamp-like URLs. Versions above `MAX_FAST_VERSION` (never
used by stamps) fall back to segno itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import segno
from segno import consts as _segno_consts

consts: Any = _segno_consts  # segno's tables are untyped module attributes

__all__ = [
    "MAX_FAST_VERSION",
    "QrMatrix",
    "encode",
    "encode_batch",
    "encode_with_segno",
    "is_alphanumeric",
    "penalty_scores",
    "version_for",
    "version_for_length",
]

#: Largest version whose rows fit one uint64 word (61 modules) in the fast path.
MAX_FAST_VERSION = 11

_ERRORS = {
    "l": consts.ERROR_LEVEL_L,
    "m": consts.ERROR_LEVEL_M,
    "q": consts.ERROR_LEVEL_Q,
    "h": consts.ERROR_LEVEL_H,
}
_FORMAT_OFFSET = {
    consts.ERROR_LEVEL_M: 0x00,
    consts.ERROR_LEVEL_L: 0x08,
    consts.ERROR_LEVEL_H: 0x10,
    consts.ERROR_LEVEL_Q: 0x18,
}
_ALNUM = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(consts.ALPHANUMERIC_CHARS):
    _ALNUM[_c] = _i
_SHIFT11 = np.arange(10, -1, -1, dtype=np.uint16)
_SHIFT6 = np.arange(5, -1, -1, dtype=np.uint16)


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """One QR symbol: `modules[row, col]` is 1 for dark, without quiet zone."""

    version: int
    error: str
    mask: int
    modules: np.ndarray

    @property
    def size(self) -> int:
        return int(self.modules.shape[0])


# --- Reed-Solomon over GF(256), polynomial 0x11D ---------------------------------------------


def _gf_tables() -> tuple[np.ndarray, np.ndarray]:
    exp = [0] * 512
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    mul = np.zeros((256, 256), dtype=np.uint8)
    logs = np.array(log)
    exps = np.array(exp)
    nz = np.arange(1, 256)
    mul[1:, 1:] = exps[(logs[nz][:, None] + logs[nz][None, :])]
    return mul, exps


_GF_MUL, _GF_EXP = _gf_tables()


def _generator(e: int) -> list[int]:
    """Coefficients of prod(x + a^i, i < e), highest degree first (monic)."""
    g = [1]
    for i in range(e):
        a = int(_GF_EXP[i])
        nxt = [*g, 0]
        for j, c in enumerate(g):
            nxt[j + 1] ^= int(_GF_MUL[c, a])
        g = nxt
    return g


@lru_cache(maxsize=32)
def _parity_table(k: int, e: int) -> np.ndarray:
    """T[i, b] = EC codewords of a k-byte block holding only byte b at position i.

    RS parity is linear, so a block's parity is the XOR of T[i, data[i]] over i: one gather and
    one reduction per batch instead of a Python loop per byte.
    """
    g = _generator(e)[1:]  # x^e == sum(g[j] x^(e-1-j)) mod G
    rem = list(g)  # x^e mod G, highest degree first
    rows: list[list[int]] = [rem]
    for _ in range(k - 1):
        top = rem[0]
        rem = [*rem[1:], 0]
        if top:
            rem = [r ^ int(_GF_MUL[top, c]) for r, c in zip(rem, g, strict=True)]
        rows.append(rem)
    # position i carries x^(e + k - 1 - i)
    unit = np.array(rows[::-1], dtype=np.uint8)  # (k, e)
    return _GF_MUL[:, unit].transpose(1, 0, 2).copy()  # (k, 256, e)


# --- per-version plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    version: int
    error: int
    size: int
    num_data: int
    cci_bits: int
    template: np.ndarray  # (N, N) uint8, data cells 0
    place: np.ndarray  # flat indices of the data bits, in placement order
    blocks: tuple[tuple[int, int, int, int], ...]  # (data start, k, ec start, e)
    num_ec: int
    perm: np.ndarray  # interleaving: final codeword j = concat(data, ec)[perm[j]]
    mask_full: np.ndarray  # (8, N, N) uint8: mask pattern restricted to the data region
    mask_rows: np.ndarray  # (8, N) uint64
    mask_cols: np.ndarray  # (8, N) uint64
    fixed: np.ndarray  # (N, N) bool: format/version/dark cells written after masking
    overlay: np.ndarray  # (8, N, N) uint8: their values per mask


def _mask_fn(m: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if m == 0:
        return (i + j) % 2 == 0
    if m == 1:
        return i % 2 == 0
    if m == 2:
        return j % 3 == 0
    if m == 3:
        return (i + j) % 3 == 0
    if m == 4:
        return (i // 2 + j // 3) % 2 == 0
    if m == 5:
        return (i * j) % 2 + (i * j) % 3 == 0
    if m == 6:
        return ((i * j) % 2 + (i * j) % 3) % 2 == 0
    return (((i + j) % 2) + (i * j) % 3) % 2 == 0


def _pack(bits: np.ndarray) -> np.ndarray:
    """Pack the last axis (<= 64 modules) into one little-endian uint64: bit j = module j."""
    packed = np.packbits(bits, axis=-1, bitorder="little")
    pad = 8 - packed.shape[-1]
    if pad:
        packed = np.concatenate([packed, np.zeros((*packed.shape[:-1], pad), np.uint8)], axis=-1)
    return np.ascontiguousarray(packed).view("<u8")[..., 0]


@lru_cache(maxsize=16)
def _plan(version: int, error: int) -> _Plan:
    n = version * 4 + 17
    m = np.full((n, n), 2, dtype=np.uint8)
    if version >= 7:
        m[:6, n - 11 : n - 8] = 0
        m[n - 11 : n - 8, :6] = 0
    m[:9, 8] = 0
    m[8, :9] = 0
    m[n - 8 :, 8] = 0
    m[8, n - 8 :] = 0
    for i in range(8, n - 8):
        m[i, 6] = m[6, i] = 1 if i % 2 == 0 else 0
    finder = np.zeros((9, 9), np.uint8)
    finder[1:8, 1:8] = 1
    finder[2:7, 2:7] = 0
    finder[3:6, 3:6] = 1
    m[0:8, 0:8] = finder[1:9, 1:9]
    m[0:8, n - 8 : n] = finder[1:9, 0:8]
    m[n - 8 : n, 0:8] = finder[0:8, 1:9]
    if version >= 2:
        pos = consts.ALIGNMENT_POS[version - 2]
        corners = {(pos[0], pos[0]), (pos[0], pos[-1]), (pos[-1], pos[0])}
        align = np.ones((5, 5), np.uint8)
        align[1:4, 1:4] = 0
        align[2, 2] = 1
        for x in pos:
            for y in pos:
                if (x, y) not in corners:
                    m[x - 2 : x + 3, y - 2 : y + 3] = align
    data_region = m == 2
    order: list[int] = []
    for right in range(n - 1, 0, -2):
        if right <= 6:
            right -= 1
        upwards_col = (right & 2) == 0
        for vertical in range(n):
            for z in (0, 1):
                j = right - z
                upwards = upwards_col ^ (j < 6)
                i = (n - 1 - vertical) if upwards else vertical
                if data_region[i, j]:
                    order.append(i * n + j)
    template = np.where(data_region, 0, m).astype(np.uint8)

    ec_infos = consts.ECC[version][error]
    blocks = []
    dstart = estart = 0
    for info in ec_infos:
        e = info.num_total - info.num_data
        for _ in range(info.num_blocks):
            blocks.append((dstart, info.num_data, estart, e))
            dstart += info.num_data
            estart += e
    num_data, num_ec = dstart, estart
    perm: list[int] = []
    for idx in range(max(b[1] for b in blocks)):
        perm.extend(b[0] + idx for b in blocks if idx < b[1])
    for idx in range(max(b[3] for b in blocks)):
        perm.extend(num_data + b[2] + idx for b in blocks if idx < b[3])

    ii, jj = np.indices((n, n))
    mask_full = np.stack([(_mask_fn(k, ii, jj) & data_region).astype(np.uint8) for k in range(8)])

    fixed = np.zeros((n, n), bool)
    overlay = np.zeros((8, n, n), np.uint8)
    for k in range(8):
        fmt = consts.FORMAT_INFO[k + _FORMAT_OFFSET[error]]
        voffset = hoffset = 0
        for i in range(8):
            vbit = (fmt >> i) & 1
            hbit = (fmt >> (14 - i)) & 1
            if i == 6:
                voffset += 1
                hoffset = 1
            for r, c, bit in (
                (i + voffset, 8, vbit),
                (8, i + hoffset, hbit),
                (8, n - 1 - i, vbit),
                (n - 1 - i, 8, hbit),
            ):
                overlay[k, r, c] = bit
                fixed[r, c] = True
        overlay[k, n - 8, 8] = 1
        fixed[n - 8, 8] = True
        if version >= 7:
            vinfo = consts.VERSION_INFO[version - 7]
            for i in range(6):
                for t in range(3):
                    bit = (vinfo >> (i * 3 + t)) & 1
                    overlay[k, n - 11 + t, i] = overlay[k, i, n - 11 + t] = bit
                    fixed[n - 11 + t, i] = fixed[i, n - 11 + t] = True
    return _Plan(
        version=version,
        error=error,
        size=n,
        num_data=num_data,
        cci_bits=9 if version <= 9 else (11 if version <= 26 else 13),
        template=template,
        place=np.array(order, dtype=np.intp),
        blocks=tuple(blocks),
        num_ec=num_ec,
        perm=np.array(perm, dtype=np.intp),
        mask_full=mask_full,
        mask_rows=_pack(mask_full),
        mask_cols=_pack(mask_full.transpose(0, 2, 1)),
        fixed=fixed,
        overlay=overlay,
    )


def version_for(content: str, *, error: str = "m") -> int:
    """The version segno picks for `content` (alphanumeric mode when it fits, else byte mode)."""
    err = _ERRORS[error.lower()]
    if is_alphanumeric(content):
        return _version_for(len(content), err)
    return _byte_version_for(len(content.encode("utf-8")), err)


def is_alphanumeric(content: str) -> bool:
    """Whether every character is in the QR alphanumeric set (0-9 A-Z space $%*+-./:)."""
    return content.isascii() and bool((_ALNUM[np.frombuffer(content.encode("ascii"), np.uint8)] != 255).all())


def version_for_length(length: int, *, error: str = "m") -> int:
    """The version segno picks for `length` alphanumeric characters (no error boost)."""
    return _version_for(length, _ERRORS[error.lower()])


def _version_for(length: int, error: int) -> int:
    """Smallest version whose capacity holds an alphanumeric segment of `length` chars."""
    data_bits = 11 * (length // 2) + 6 * (length % 2)
    for version in range(1, 41):
        cci = 9 if version <= 9 else (11 if version <= 26 else 13)
        if consts.SYMBOL_CAPACITY[version][error] >= 4 + cci + data_bits:
            return version
    raise ValueError(f"{length} alphanumeric characters do not fit any QR version")


# --- mask penalties (segno's rules) -----------------------------------------------------------


def _line_scores(lines: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """N1 and N3 of packed lines (..., n) -> two arrays of shape (...)."""
    full = np.uint64((1 << n) - 1)
    s = [np.uint64(k) for k in range(11)]
    eq = ~(lines ^ (lines >> s[1])) & np.uint64((1 << (n - 1)) - 1)
    u5 = eq & (eq >> s[1]) & (eq >> s[2]) & (eq >> s[3])
    n1 = np.bitwise_count(u5).sum(axis=-1, dtype=np.int64)
    n1 += 2 * np.bitwise_count(u5 & ~(eq << s[1])).sum(axis=-1, dtype=np.int64)
    inv = ~lines & full
    match = (
        lines
        & (inv >> s[1])
        & (lines >> s[2])
        & (lines >> s[3])
        & (lines >> s[4])
        & (inv >> s[5])
        & (lines >> s[6])
    )
    match &= np.uint64((1 << (n - 6)) - 1)
    dark_before = (lines << s[1]) | (lines << s[2]) | (lines << s[3]) | (lines << s[4])
    dark_after = (lines >> s[7]) | (lines >> s[8]) | (lines >> s[9]) | (lines >> s[10])
    counted = match & ~(dark_before & dark_after)
    n3_lines = 40 * np.bitwise_count(counted).astype(np.int64)
    # segno resumes its search 7 modules after a counted match and 4 after an uncounted one, so a
    # candidate 4 or 6 modules after a *visited counted* match is skipped. Overlaps are not rare
    # (finder rows), so resolve them bit-parallel: the dependency only points backwards, hence
    # the iteration reaches the unique fixpoint within N/4 rounds.
    overlap = match & ((match >> s[4]) | (match >> s[6]))
    if overlap.any():
        where = np.nonzero(overlap)
        m_sel, c_sel = match[where], counted[where]
        visited = m_sel
        while True:
            vc = visited & c_sel
            nxt = m_sel & ~((vc << s[4]) | (vc << s[6]))
            if np.array_equal(nxt, visited):
                break
            visited = nxt
        n3_lines[where] = 40 * np.bitwise_count(visited & c_sel).astype(np.int64)
    return n1, n3_lines.sum(axis=-1)


def _penalties(rows: np.ndarray, cols: np.ndarray, n: int) -> np.ndarray:
    """Penalty components (..., 4) = N1, N2, N3, N4 from packed rows and columns."""
    n1r, n3r = _line_scores(rows, n)
    n1c, n3c = _line_scores(cols, n)
    one = np.uint64(1)
    eq = ~(rows[..., :-1] ^ (rows[..., :-1] >> one)) & np.uint64((1 << (n - 1)) - 1)
    same = ~(rows[..., :-1] ^ rows[..., 1:])
    n2 = 3 * np.bitwise_count(eq & same & (same >> one)).sum(axis=-1, dtype=np.int64)
    dark = np.bitwise_count(rows).sum(axis=-1, dtype=np.int64)
    percent = dark / float(n * n)
    n4 = (10 * np.floor(np.abs(percent * 100 - 50) / 5)).astype(np.int64)
    return np.stack([n1r + n1c, n2, n3r + n3c, n4], axis=-1)


def penalty_scores(modules: np.ndarray) -> np.ndarray:
    """(N1, N2, N3, N4) of square matrices (..., N, N) of 0/1, as segno's `mask_scores` computes them."""
    modules = np.asarray(modules, dtype=np.uint8)
    n = modules.shape[-1]
    if n > 64:
        raise ValueError("penalty_scores handles matrices up to 64 modules")
    return _penalties(_pack(modules), _pack(np.swapaxes(modules, -1, -2)), n)


# --- encoding ---------------------------------------------------------------------------------


def _data_codewords(chars: np.ndarray, plan: _Plan) -> np.ndarray:
    """Data codewords (B, num_data) of equal-length alphanumeric strings, as segno pads them."""
    batch, length = chars.shape
    vals = _ALNUM[chars]
    if (vals == 255).any():
        raise ValueError("content is not QR alphanumeric (0-9 A-Z space $%*+-./:)")
    half = length // 2
    parts = [_header(consts.MODE_ALPHANUMERIC, length, plan.cci_bits, batch)]
    if half:
        pairs = vals[:, 0 : 2 * half : 2].astype(np.uint16) * 45 + vals[:, 1 : 2 * half : 2]
        parts.append(((pairs[:, :, None] >> _SHIFT11) & 1).astype(np.uint8).reshape(batch, -1))
    if length % 2:
        parts.append(
            ((vals[:, -1:].astype(np.uint16)[:, :, None] >> _SHIFT6) & 1).astype(np.uint8).reshape(batch, -1)
        )
    return _terminate_and_pad(parts, 4 + plan.cci_bits + 11 * half + 6 * (length % 2), plan)


def _byte_codewords(chars: np.ndarray, plan: _Plan) -> np.ndarray:
    """Data codewords (B, num_data) of equal-length byte-mode contents (Digital Link stamps)."""
    batch, length = chars.shape
    cci = _byte_cci_bits(plan.version)
    parts = [_header(consts.MODE_BYTE, length, cci, batch), np.unpackbits(chars, axis=1)]
    return _terminate_and_pad(parts, 4 + cci + 8 * length, plan)


def _header(mode: int, length: int, cci_bits: int, batch: int) -> np.ndarray:
    bits = [int(b) for b in format(mode, "04b") + format(length, f"0{cci_bits}b")]
    return np.broadcast_to(np.array(bits, dtype=np.uint8), (batch, 4 + cci_bits))


def _terminate_and_pad(parts: list[np.ndarray], bit_len: int, plan: _Plan) -> np.ndarray:
    batch = parts[0].shape[0]
    capacity = plan.num_data * 8
    after = bit_len + min(capacity - bit_len, 4)
    # segno always pads 1..8 zero bits (a whole zero byte when already on a byte boundary)
    total = after + 8 - (after % 8)
    parts.append(np.zeros((batch, total - bit_len), np.uint8))
    data = np.packbits(np.concatenate(parts, axis=1), axis=1)
    n_pad = plan.num_data - total // 8
    if n_pad > 0:
        pad = np.resize(np.array([0xEC, 0x11], np.uint8), n_pad)
        data = np.concatenate([data, np.broadcast_to(pad, (batch, n_pad))], axis=1)
    return data[:, : plan.num_data]


def _byte_cci_bits(version: int) -> int:
    return 8 if version <= 9 else 16


def _byte_version_for(length: int, error: int) -> int:
    """Smallest version whose capacity holds a byte segment of `length` bytes."""
    for version in range(1, 41):
        if consts.SYMBOL_CAPACITY[version][error] >= 4 + _byte_cci_bits(version) + 8 * length:
            return version
    raise ValueError(f"{length} bytes do not fit any QR version")


def _encode_group(data: np.ndarray, plan: _Plan, error_name: str) -> list[QrMatrix]:
    batch = data.shape[0]
    n = plan.size
    ec = np.empty((batch, plan.num_ec), np.uint8)
    for dstart, k, estart, e in plan.blocks:
        table = _parity_table(k, e)
        gathered = table[np.arange(k), data[:, dstart : dstart + k]]  # (B, k, e)
        ec[:, estart : estart + e] = np.bitwise_xor.reduce(gathered, axis=1)
    final = np.concatenate([data, ec], axis=1)[:, plan.perm]
    bits = np.unpackbits(final, axis=1)
    flat = np.broadcast_to(plan.template.reshape(-1), (batch, n * n)).copy()
    flat[:, plan.place[: bits.shape[1]]] = bits
    base = flat.reshape(batch, n, n)
    rows = _pack(base)[:, None, :] ^ plan.mask_rows[None]
    cols = _pack(base.transpose(0, 2, 1))[:, None, :] ^ plan.mask_cols[None]
    scores = _penalties(rows, cols, n).sum(axis=-1)  # (B, 8)
    best = np.argmin(scores, axis=1)  # first minimum, like segno's strict "<"
    out = np.where(plan.fixed[None], plan.overlay[best], base ^ plan.mask_full[best])
    return [QrMatrix(plan.version, error_name, int(best[b]), out[b]) for b in range(batch)]


def encode_with_segno(
    url: str, *, error: str = "m", mask: int | None = None, mode: str = "alphanumeric"
) -> QrMatrix:
    """The reference: segno's own encoder (automatic mask unless `mask` is given)."""
    code = segno.make_qr(url, error=error, boost_error=False, mode=mode, mask=mask)
    modules = np.array([list(row) for row in code.matrix], dtype=np.uint8)
    return QrMatrix(int(code.version), error.upper(), int(code.mask), modules)


def encode_batch(urls: Sequence[str] | Iterable[str], *, error: str = "m") -> list[QrMatrix]:
    """Encode many URLs; result order follows the input.

    Stamp URLs (upper case) use alphanumeric mode; other ASCII content (the GS1 Digital Link
    form, with its lower-case signature and query string) uses byte mode, as segno would.
    Raises ValueError for non-ASCII content or content too long for any version.
    """
    urls = list(urls)
    err = _ERRORS[error.lower()]
    error_name = error.upper()
    results: list[QrMatrix | None] = [None] * len(urls)
    groups: dict[tuple[bool, int], list[int]] = {}
    for idx, url in enumerate(urls):
        if not url:
            raise ValueError("empty QR content")
        if not url.isascii():
            raise ValueError("QR content must be ASCII")
        alnum = is_alphanumeric(url)
        groups.setdefault((alnum, len(url)), []).append(idx)
    for (alnum, length), indices in groups.items():
        version = _version_for(length, err) if alnum else _byte_version_for(length, err)
        mode = "alphanumeric" if alnum else "byte"
        if version > MAX_FAST_VERSION:
            for idx in indices:
                results[idx] = encode_with_segno(urls[idx], error=error, mode=mode)
            continue
        raw = "".join(urls[i] for i in indices).encode("ascii")
        chars = np.frombuffer(raw, dtype=np.uint8).reshape(len(indices), length)
        plan = _plan(version, err)
        data = _data_codewords(chars, plan) if alnum else _byte_codewords(chars, plan)
        for idx, qr in zip(indices, _encode_group(data, plan, error_name), strict=True):
            results[idx] = qr
    return results  # type: ignore[return-value]


def encode(url: str, *, error: str = "m") -> QrMatrix:
    """Encode one URL (see `encode_batch`)."""
    return encode_batch([url], error=error)[0]
