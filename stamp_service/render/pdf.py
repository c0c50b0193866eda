"""A4 PDF label sheets, written page by page as a stream of bytes chunks.

General PDF libraries keep the whole document in memory until it is saved; a stamp run can be
100,000 labels, so this module writes the (small) subset of PDF it needs itself: one shared
resource dictionary (the embedded font, two star forms, the crop-mark form), then per page a
Flate-compressed content stream and a page object, and at the end the page tree, the xref table
and the trailer. Only byte offsets and page object numbers are kept, so memory stays flat.
Each QR is one path of merged run-length rectangles in module units under one `cm`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from stamp_service.errors import ValidationFailed
from stamp_service.render.fonts import Font, default_font
from stamp_service.render.labels import LabelData, star_points, with_matrices
from stamp_service.render.layout import DEFAULT_PADDING, LabelPlan, plan_label

PT_PER_MM = 72 / 25.4
A4 = (210.0, 297.0)


@dataclass(frozen=True)
class SheetLayout:
    """Label stock geometry in mm. `columns`/`rows` None: as many as fit; margins None: centred."""

    label_width: float
    label_height: float
    columns: int | None = None
    rows: int | None = None
    h_gap: float = 0.0
    v_gap: float = 0.0
    margin_left: float | None = None
    margin_top: float | None = None
    page_width: float = A4[0]
    page_height: float = A4[1]
    crop_marks: bool = True
    min_margin: float = 5.0
    padding: float = DEFAULT_PADDING  # kept free of ink inside every label

    def clearance(self) -> float:
        """The smallest distance from ink to a page edge, in mm (office printers need 5)."""
        grid = self.resolve()
        grid_w = grid.columns * self.label_width + (grid.columns - 1) * self.h_gap
        grid_h = grid.rows * self.label_height + (grid.rows - 1) * self.v_gap
        right = self.page_width - grid.left - grid_w
        bottom = self.page_height - grid.top - grid_h
        return min(grid.left, grid.top, right, bottom) + self.padding

    def resolve(self) -> Grid:
        """Columns, rows and the grid's top-left corner; raises ValidationFailed if it cannot fit."""
        errors = []
        if not (5.0 <= self.label_width <= self.page_width):
            errors.append({"field": "label_width", "message": "must be between 5 mm and the page width"})
        if not (5.0 <= self.label_height <= self.page_height):
            errors.append({"field": "label_height", "message": "must be between 5 mm and the page height"})
        if self.h_gap < 0 or self.v_gap < 0:
            errors.append({"field": "gap", "message": "gaps cannot be negative"})
        if errors:
            raise ValidationFailed(errors, "The label sheet layout is not possible")

        def count(given: int | None, page: float, size: float, gap: float, margin: float | None) -> int:
            if given is not None:
                return given
            usable = page - 2 * (self.min_margin if margin is None else margin)
            return max(0, int((usable + gap + 1e-9) // (size + gap)))

        cols = count(self.columns, self.page_width, self.label_width, self.h_gap, self.margin_left)
        rows = count(self.rows, self.page_height, self.label_height, self.v_gap, self.margin_top)
        grid_w = cols * self.label_width + (cols - 1) * self.h_gap
        grid_h = rows * self.label_height + (rows - 1) * self.v_gap
        left = (self.page_width - grid_w) / 2 if self.margin_left is None else self.margin_left
        top = (self.page_height - grid_h) / 2 if self.margin_top is None else self.margin_top
        if cols < 1 or rows < 1:
            errors.append({"field": "columns", "message": "not even one label fits on the page"})
        if left < -1e-6 or left + grid_w > self.page_width + 1e-6:
            errors.append({"field": "columns", "message": "the labels are wider than the page"})
        if top < -1e-6 or top + grid_h > self.page_height + 1e-6:
            errors.append({"field": "rows", "message": "the labels are taller than the page"})
        if errors:
            raise ValidationFailed(errors, "The label sheet layout is not possible")
        return Grid(cols, rows, left, top)


@dataclass(frozen=True)
class Grid:
    columns: int
    rows: int
    left: float
    top: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


PAGE_CLEARANCE = 5.0  # mm: office printers leave about 4 mm unprinted at each edge

#: Label stock. "-diecut" presets match pre-cut label sheets (no crop marks; the stock's own
#: geometry); the others print on plain paper with crop marks to cut along. Every preset keeps
#: ink at least PAGE_CLEARANCE from the page edge (docs/print-files.md has the table).
PRESETS: dict[str, SheetLayout] = {
    "a4-3x8-70x37-diecut": SheetLayout(
        70.0, 37.0, 3, 8, margin_left=0.0, margin_top=0.5, crop_marks=False, padding=5.2
    ),
    "a4-3x7-63.5x38.1-diecut": SheetLayout(
        63.5, 38.1, 3, 7, h_gap=2.54, margin_left=7.21, margin_top=15.15, crop_marks=False
    ),
    "a4-4x10-48.5x25.4-diecut": SheetLayout(48.5, 25.4, 4, 10, crop_marks=False),
    "a4-square-42mm": SheetLayout(42.0, 42.0, h_gap=3.0, v_gap=3.0),
}
#: Old preset names still accepted (the stock is the same; the 25 mm square became 42 mm so that
#: its code is at least 18 mm and its text at least 6 pt).
PRESET_ALIASES: dict[str, str] = {
    "a4-3x8-70x37": "a4-3x8-70x37-diecut",
    "avery-l7160-like": "a4-3x7-63.5x38.1-diecut",
    "a4-4x10-48.5x25.4": "a4-4x10-48.5x25.4-diecut",
    "a4-square-25mm": "a4-square-42mm",
}
DEFAULT_PRESET = "a4-3x8-70x37-diecut"


def layout_for(preset: str | None = None, **overrides: object) -> SheetLayout:
    """A preset with some fields changed; raises ValidationFailed for an unknown preset."""
    name = preset or DEFAULT_PRESET
    name = PRESET_ALIASES.get(name, name)
    if name not in PRESETS:
        raise ValidationFailed([{"field": "preset", "message": f"unknown preset; one of {sorted(PRESETS)}"}])
    return replace(PRESETS[name], **overrides)  # type: ignore[arg-type]


# --- drawing helpers --------------------------------------------------------------------------


def _n(v: float) -> bytes:
    """A compact PDF number (2 decimals in points is 0.007 mm)."""
    return (b"%.2f" % v).rstrip(b"0").rstrip(b".") or b"0"


_FAST_PATH_MAX = 99  # modules per side whose rectangle records fit the fixed-width table


@lru_cache(maxsize=4)
def _rect_table(n: int) -> np.ndarray:
    """Fixed-width `cc rr ll 1 re` records for every (row, column, run length) of an n-module symbol.

    Numbers are space-padded to two characters (whitespace is free in PDF), so a whole path is one
    numpy gather plus `tobytes()` instead of a Python join over ~500 runs.
    """
    rows, cols, lens = np.meshgrid(np.arange(n), np.arange(n), np.arange(n + 1), indexing="ij")
    out = np.empty((n, n, n + 1, 14), np.uint8)
    out[...] = np.frombuffer(b"00 00 00 1 re\n", np.uint8)
    for pos, v in ((0, cols), (3, rows), (6, lens)):
        tens = v // 10
        out[..., pos] = np.where(tens > 0, 48 + tens, 32)
        out[..., pos + 1] = 48 + v % 10
    return out.reshape(-1, 14)


def qr_path(modules: np.ndarray) -> bytes:
    """One fill path of merged horizontal runs, in module units (row 0 at the top after the flip)."""
    n = modules.shape[0]
    padded = np.zeros((n, n + 2), dtype=np.int8)
    padded[:, 1:-1] = modules
    d = padded[:, 1:] - padded[:, :-1]
    rows, starts = np.nonzero(d == 1)
    ends = np.nonzero(d == -1)[1]
    if n > _FAST_PATH_MAX:
        return b"".join(
            b"%d %d %d 1 re\n" % t
            for t in zip(starts.tolist(), rows.tolist(), (ends - starts).tolist(), strict=True)
        )
    keys = (rows * n + starts) * (n + 1) + (ends - starts)
    return _rect_table(n)[keys].tobytes()


def _star_form(filled: bool) -> bytes:
    pts = star_points(0.5, 0.5, 0.5)
    path = b"".join(b"%.4f %.4f %s\n" % (x, 1 - y, b"m" if i == 0 else b"l") for i, (x, y) in enumerate(pts))
    return path + (b"h f\n" if filled else b"0.06 w 1 j h S\n")


def _crop_marks(layout: SheetLayout, grid: Grid) -> bytes:
    """Short hairlines in the page margins at every column and row edge (none if no margin)."""
    page_h = layout.page_height
    xs: set[float] = set()
    ys: set[float] = set()
    for c in range(grid.columns):
        x = grid.left + c * (layout.label_width + layout.h_gap)
        xs.update((round(x, 3), round(x + layout.label_width, 3)))
    for r in range(grid.rows):
        y = grid.top + r * (layout.label_height + layout.v_gap)
        ys.update((round(y, 3), round(y + layout.label_height, 3)))
    grid_bottom = max(ys)
    grid_right = max(xs)
    out = [b"0.25 w 0 G\n"]
    k = PT_PER_MM

    def seg(x1: float, y1: float, x2: float, y2: float) -> None:
        out.append(
            b"%s %s m %s %s l S\n" % (_n(x1 * k), _n((page_h - y1) * k), _n(x2 * k), _n((page_h - y2) * k))
        )

    # marks stop PAGE_CLEARANCE short of the page edge (office printers clip there)
    top_room = grid.top - 1.0 - PAGE_CLEARANCE
    bottom_room = layout.page_height - grid_bottom - 1.0 - PAGE_CLEARANCE
    left_room = grid.left - 1.0 - PAGE_CLEARANCE
    right_room = layout.page_width - grid_right - 1.0 - PAGE_CLEARANCE
    for x in sorted(xs):
        if top_room >= 2:
            seg(x, grid.top - 1.0 - min(5.0, top_room), x, grid.top - 1.0)
        if bottom_room >= 2:
            seg(x, grid_bottom + 1.0, x, grid_bottom + 1.0 + min(5.0, bottom_room))
    for y in sorted(ys):
        if left_room >= 2:
            seg(grid.left - 1.0 - min(5.0, left_room), y, grid.left - 1.0, y)
        if right_room >= 2:
            seg(grid_right + 1.0, y, grid_right + 1.0 + min(5.0, right_room), y)
    return b"".join(out)


@lru_cache(maxsize=4096)
def _static_ops(qr_x: float, qr_y: float, module: float, height: float) -> bytes:
    """The QR's `cm` in label coordinates (origin at the label's bottom-left corner)."""
    k = PT_PER_MM
    s = module * k
    return b"q %s 0 0 %s %s %s cm\n" % (_n(s), _n(-s), _n(qr_x * k), _n((height - qr_y) * k))


@lru_cache(maxsize=4096)
def _stars_ops(stars: tuple, height: float) -> bytes:  # type: ignore[type-arg]
    k = PT_PER_MM
    return b"".join(
        b"q %s 0 0 %s %s %s cm /%s Do Q\n"
        % (
            _n(st.size * k),
            _n(st.size * k),
            _n(st.x * k),
            _n((height - st.y - st.size) * k),
            b"SF" if st.filled else b"SO",
        )
        for st in stars
    )


@lru_cache(maxsize=4096)
def _pin_box_ops(box: tuple[float, float, float, float], height: float) -> bytes:
    k = PT_PER_MM
    bx, by, bw, bh = box
    return b"0.3 w %s %s %s %s re S\n" % (_n(bx * k), _n((height - by - bh) * k), _n(bw * k), _n(bh * k))


@lru_cache(maxsize=4096)
def _wordmark_box_ops(box: tuple[float, float, float, float], height: float) -> bytes:
    """The black box behind the white "OCOP" wordmark (filled, corners slightly rounded by the join)."""
    k = PT_PER_MM
    bx, by, bw, bh = box
    return b"%s %s %s %s re f\n" % (_n(bx * k), _n((height - by - bh) * k), _n(bw * k), _n(bh * k))


@lru_cache(maxsize=4096)
def _text_prefix(x: float, baseline: float, size: float, height: float) -> bytes:
    k = PT_PER_MM
    return b"/F1 %s Tf 1 0 0 1 %s %s Tm <" % (_n(size * k), _n(x * k), _n((height - baseline) * k))


def _label_ops(
    plan: LabelPlan, modules: np.ndarray, ox: float, oy: float, height: float, font: Font
) -> bytes:
    """Content-stream operators of one label whose bottom-left corner is at (ox, oy) in points."""
    parts = [
        b"q 1 0 0 1 %s %s cm\n" % (_n(ox), _n(oy)),
        _static_ops(plan.qr_x, plan.qr_y, plan.module, height),
        qr_path(modules),
        b"f Q\n",
        _stars_ops(plan.stars, height),
    ]
    if plan.pin_box is not None:
        parts.append(_pin_box_ops(plan.pin_box, height))
    parts.append(_wordmark_box_ops(plan.wordmark_box, height))
    parts.append(b"BT\n")
    for t in plan.texts:
        if t.reverse:
            parts.append(b"1 g ")
        parts.append(_text_prefix(t.x, t.baseline, t.size, height))
        parts.append(font.hex_glyphs(t.text))
        parts.append(b"> Tj\n0 g\n" if t.reverse else b"> Tj\n")
    parts.append(b"ET Q\n")
    return b"".join(parts)


# --- the writer -------------------------------------------------------------------------------


class _Writer:
    """Tracks byte offsets of numbered objects while the caller yields the bytes."""

    def __init__(self) -> None:
        self.offset = 0
        self.offsets: dict[int, int] = {}
        self.next_num = 1

    def reserve(self) -> int:
        num = self.next_num
        self.next_num += 1
        return num

    def obj(self, num: int, body: bytes) -> bytes:
        self.offsets[num] = self.offset
        chunk = b"%d 0 obj\n%s\nendobj\n" % (num, body)
        self.offset += len(chunk)
        return chunk

    def stream(self, num: int, data: bytes, extra: bytes = b"", *, compress: int | None = 6) -> bytes:
        if compress is not None:
            data = zlib.compress(data, compress)
            extra += b" /Filter /FlateDecode"
        return self.obj(num, b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), extra, data))

    def raw(self, data: bytes) -> bytes:
        self.offset += len(data)
        return data


def _font_objects(w: _Writer, font: Font) -> tuple[int, list[bytes]]:
    type0, cid, desc, file_, tounicode = (w.reserve() for _ in range(5))
    scale = 1000 / font.units_per_em
    widths = b" ".join(b"%d" % round(a * scale) for a in font.advances)
    inverse: dict[int, int] = {}
    for cp, gid in sorted(font.cmap.items()):
        inverse.setdefault(gid, cp)
    entries = sorted(inverse.items())
    cmap = [
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
    ]
    for i in range(0, len(entries), 100):
        chunk = entries[i : i + 100]
        cmap.append(b"%d beginbfchar\n" % len(chunk))
        cmap.extend(
            b"<%04X> <%s>\n" % (gid, chr(cp).encode("utf-16-be").hex().upper().encode()) for gid, cp in chunk
        )
        cmap.append(b"endbfchar\n")
    cmap.append(b"endcmap CMapName currentdict /CMap defineresource pop end end\n")
    base = b"/OCOPVN+" + font.name.encode()
    x0, y0, x1, y1 = (round(v * scale) for v in font.bbox)
    chunks = [
        w.obj(
            type0,
            b"<< /Type /Font /Subtype /Type0 /BaseFont %s /Encoding /Identity-H "
            b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (base, cid, tounicode),
        ),
        w.obj(
            cid,
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont %s "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor %d 0 R /CIDToGIDMap /Identity /DW 1000 /W [0 [%s]] >>" % (base, desc, widths),
        ),
        w.obj(
            desc,
            b"<< /Type /FontDescriptor /FontName %s /Flags 32 /FontBBox [%d %d %d %d] /ItalicAngle 0 "
            b"/Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>"
            % (
                base,
                x0,
                y0,
                x1,
                y1,
                round(font.ascent * scale),
                round(font.descent * scale),
                round(font.cap_height * scale),
                file_,
            ),
        ),
        w.stream(file_, font.data, b" /Length1 %d" % len(font.data)),
        w.stream(tounicode, b"".join(cmap)),
    ]
    return type0, chunks


def render_pdf(
    labels: Iterable[LabelData],
    layout: SheetLayout | None = None,
    *,
    title: str = "OCOP stamps",
    compress_level: int = 1,
) -> Iterator[bytes]:
    """Yield a PDF of label sheets for `labels`, one chunk per page (plus header and trailer).

    Raises ValidationFailed for a layout that does not fit the page (before yielding anything)
    and ValueError for a URL that is not QR alphanumeric.
    """
    layout = layout or PRESETS[DEFAULT_PRESET]
    grid = layout.resolve()
    font = default_font()
    w = _Writer()
    catalog, pages, resources = w.reserve(), w.reserve(), w.reserve()
    yield w.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    font_num, font_chunks = _font_objects(w, font)
    yield from font_chunks
    star_f, star_o = w.reserve(), w.reserve()
    form = b" /Type /XObject /Subtype /Form /BBox [%s]"
    yield w.stream(star_f, _star_form(True), form % b"0 0 1 1")
    yield w.stream(star_o, _star_form(False), form % b"0 0 1 1")
    page_w, page_h = layout.page_width * PT_PER_MM, layout.page_height * PT_PER_MM
    media = b"0 0 %s %s" % (_n(page_w), _n(page_h))
    with_marks = layout.crop_marks
    marks = w.reserve() if with_marks else 0
    if with_marks:
        yield w.stream(marks, _crop_marks(layout, grid), form % media)
    xobjects = b"/SF %d 0 R /SO %d 0 R" % (star_f, star_o) + (b" /CM %d 0 R" % marks if with_marks else b"")
    yield w.obj(resources, b"<< /Font << /F1 %d 0 R >> /XObject << %s >> >>" % (font_num, xobjects))
    info = w.reserve()
    title_hex = ("\ufeff" + title).encode("utf-16-be").hex().encode()
    yield w.obj(info, b"<< /Title <%s> /Producer (stamp_service.render.pdf) >>" % title_hex)
    yield w.obj(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)

    k = PT_PER_MM
    pitch_x = (layout.label_width + layout.h_gap) * k
    pitch_y = (layout.label_height + layout.v_gap) * k
    left, top = grid.left * k, page_h - grid.top * k
    label_h = layout.label_height * k
    page_nums: list[int] = []
    parts: list[bytes] = []
    slot = 0

    def flush() -> bytes:
        content, page = w.reserve(), w.reserve()
        page_nums.append(page)
        body = (b"q /CM Do Q\n" if with_marks else b"") + b"0 g\n" + b"".join(parts)
        return w.stream(content, body, compress=compress_level) + w.obj(
            page,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [%s] /Resources %d 0 R /Contents %d 0 R >>"
            % (pages, media, resources, content),
        )

    for label, qr in with_matrices(labels):
        plan = plan_label(label, layout.label_width, layout.label_height, qr.size, padding=layout.padding)
        col, row = slot % grid.columns, slot // grid.columns
        parts.append(
            _label_ops(
                plan,
                qr.modules,
                left + col * pitch_x,
                top - row * pitch_y - label_h,
                layout.label_height,
                font,
            )
        )
        slot += 1
        if slot == grid.per_page:
            yield flush()
            parts.clear()
            slot = 0
    if parts or not page_nums:
        yield flush()
    kids = b" ".join(b"%d 0 R" % p for p in page_nums)
    yield w.obj(pages, b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(page_nums), kids))
    xref_at = w.offset
    total = w.next_num
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % total]
    xref.extend(b"%010d 00000 n \n" % w.offsets[i] for i in range(1, total))
    trailer = b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    yield w.raw(b"".join(xref) + trailer % (total, catalog, info, xref_at))


def label_count_per_page(layout: SheetLayout) -> int:
    """How many labels one sheet of `layout` holds."""
    return layout.resolve().per_page
