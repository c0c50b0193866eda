"""The vendored DejaVu Sans subset: metrics for layout and the PDF objects that embed it.

A tiny TrueType reader (cmap, hmtx, head, hhea, OS/2) is enough: text is drawn glyph by glyph
with Identity-H encoding, Vietnamese letters are precomposed after NFC normalisation, so no
shaping engine is needed. See fonts/README.md for where the font comes from and its licence.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

FONT_PATH = Path(__file__).with_name("fonts") / "DejaVuSans-vi.ttf"
ELLIPSIS = "…"
_CACHE_LIMIT = 20_000


@dataclass
class Font:
    """Metrics of one TrueType font; sizes are em sizes in any unit, widths come back in it."""

    name: str
    data: bytes
    units_per_em: int
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    advances: list[int]
    cmap: dict[int, int]
    _glyph_cache: dict[str, tuple[bytes, int]] = field(default_factory=dict, repr=False)
    _width_cache: dict[str, float] = field(default_factory=dict, repr=False)
    _fit_cache: dict[tuple[str, float, float], str] = field(default_factory=dict, repr=False)
    _hex_cache: dict[str, bytes] = field(default_factory=dict, repr=False)
    _ascii: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        self._ascii = frozenset(chr(cp) for cp in range(128) if cp in self.cmap)

    def _glyph(self, ch: str) -> tuple[bytes, int]:
        hit = self._glyph_cache.get(ch)
        if hit is None:
            gid = self.cmap.get(ord(ch))
            if gid is None:
                gid = self.cmap.get(ord("?"), 0)
            hit = (b"%04X" % gid, self.advances[min(gid, len(self.advances) - 1)])
            self._glyph_cache[ch] = hit
        return hit

    def normalize(self, text: str) -> str:
        """NFC, and for a character the font lacks, its decomposition when the font has the parts."""
        if text.isascii() and self._ascii.issuperset(text):  # serials, hosts, PINs: the common case
            return text
        text = unicodedata.normalize("NFC", text)
        if all(ord(ch) in self.cmap for ch in text):
            return text
        out = []
        for ch in text:
            if ord(ch) in self.cmap:
                out.append(ch)
                continue
            parts = unicodedata.normalize("NFD", ch)
            out.append(parts if all(ord(p) in self.cmap for p in parts) else "?")
        return "".join(out)

    def unit_width(self, text: str) -> float:
        """Advance width of already normalized `text` at em size 1 (cached: names and hosts repeat)."""
        cache = self._width_cache
        hit = cache.get(text)
        if hit is None:
            glyph = self._glyph
            hit = sum(glyph(ch)[1] for ch in text) / self.units_per_em
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            cache[text] = hit
        return hit

    def width(self, text: str, size: float) -> float:
        """Advance width of already normalized `text` at em `size`."""
        return self.unit_width(text) * size

    def hex_glyphs(self, text: str) -> bytes:
        """`text` as 2-byte glyph ids in hex, for a PDF `<...> Tj` with Identity-H encoding.

        Cached: most of a label's lines (tagline, name, host, lot) repeat on every label.
        """
        cache = self._hex_cache
        hit = cache.get(text)
        if hit is None:
            glyph = self._glyph
            hit = b"".join([glyph(ch)[0] for ch in text])
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            cache[text] = hit
        return hit

    def measure(self, text: str) -> float:
        """`unit_width` without caching, for texts that never repeat (serials)."""
        glyph = self._glyph
        return sum(glyph(ch)[1] for ch in text) / self.units_per_em

    def fit(self, text: str, max_width: float, size: float) -> str:
        """`text` cut with an ellipsis so that it fits `max_width` at `size`."""
        if self.unit_width(text) * size <= max_width:
            return text
        key = (text, round(max_width, 4), round(size, 4))
        hit = self._fit_cache.get(key)
        if hit is not None:
            return hit
        budget = max_width - self.width(ELLIPSIS, size)
        glyph = self._glyph
        used = 0.0
        cut = 0
        for i, ch in enumerate(text):
            used += glyph(ch)[1] * size / self.units_per_em
            if used > budget:
                break
            cut = i + 1
        hit = text[:cut].rstrip() + ELLIPSIS
        if len(self._fit_cache) > _CACHE_LIMIT:
            self._fit_cache.clear()
        self._fit_cache[key] = hit
        return hit


def _tables(data: bytes) -> dict[bytes, tuple[int, int]]:
    num = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for i in range(num):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag] = (offset, length)
    return tables


def _read_cmap(data: bytes, offset: int) -> dict[int, int]:
    num = struct.unpack_from(">H", data, offset + 2)[0]
    best = None
    for i in range(num):
        platform, encoding, sub = struct.unpack_from(">HHI", data, offset + 4 + 8 * i)
        fmt = struct.unpack_from(">H", data, offset + sub)[0]
        if platform == 3 and encoding in (1, 10) and fmt in (4, 12) and (best is None or fmt == 12):
            best = (offset + sub, fmt)
    if best is None:
        raise ValueError("font has no Unicode cmap")
    start, fmt = best
    cmap: dict[int, int] = {}
    if fmt == 12:
        groups = struct.unpack_from(">I", data, start + 12)[0]
        for g in range(groups):
            first, last, gid = struct.unpack_from(">III", data, start + 16 + 12 * g)
            for cp in range(first, last + 1):
                cmap[cp] = gid + cp - first
        return cmap
    segs = struct.unpack_from(">H", data, start + 6)[0] // 2
    ends = struct.unpack_from(f">{segs}H", data, start + 14)
    starts = struct.unpack_from(f">{segs}H", data, start + 16 + 2 * segs)
    deltas = struct.unpack_from(f">{segs}h", data, start + 16 + 4 * segs)
    ro_pos = start + 16 + 6 * segs
    range_offsets = struct.unpack_from(f">{segs}H", data, ro_pos)
    for s in range(segs):
        for cp in range(starts[s], ends[s] + 1):
            if cp == 0xFFFF:
                continue
            if range_offsets[s] == 0:
                gid = (cp + deltas[s]) & 0xFFFF
            else:
                pos = ro_pos + 2 * s + range_offsets[s] + 2 * (cp - starts[s])
                gid = struct.unpack_from(">H", data, pos)[0]
                if gid:
                    gid = (gid + deltas[s]) & 0xFFFF
            if gid:
                cmap[cp] = gid
    return cmap


def load_font(path: Path) -> Font:
    """Parse the tables the renderers need; raises ValueError for fonts it cannot use."""
    data = path.read_bytes()
    t = _tables(data)
    head = t[b"head"][0]
    upm = struct.unpack_from(">H", data, head + 18)[0]
    bbox = struct.unpack_from(">hhhh", data, head + 36)
    hhea = t[b"hhea"][0]
    ascent, descent = struct.unpack_from(">hh", data, hhea + 4)
    n_hmetrics = struct.unpack_from(">H", data, hhea + 34)[0]
    num_glyphs = struct.unpack_from(">H", data, t[b"maxp"][0] + 4)[0]
    hmtx = t[b"hmtx"][0]
    advances = [struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(n_hmetrics)]
    advances += [advances[-1]] * (num_glyphs - n_hmetrics)
    cap_height = int(ascent * 0.75)
    if b"OS/2" in t:
        os2 = t[b"OS/2"][0]
        if struct.unpack_from(">H", data, os2)[0] >= 2:
            cap_height = struct.unpack_from(">h", data, os2 + 88)[0]
    return Font(
        name="DejaVuSans",
        data=data,
        units_per_em=upm,
        ascent=ascent,
        descent=descent,
        cap_height=cap_height,
        bbox=bbox,
        advances=advances,
        cmap=_read_cmap(data, t[b"cmap"][0]),
    )


@lru_cache(maxsize=1)
def default_font() -> Font:
    """The vendored DejaVu Sans subset (Latin + Vietnamese), parsed once per process."""
    return load_font(FONT_PATH)
