"""A printer calibration page: rulers, a 100 mm bar, the 5 mm frame and one code per preset size.

A print shop prints it once at "actual size" and checks with a ruler that 100 mm is 100 mm, that
the 5 mm frame is not clipped, and that a phone reads each preset's code at its printed size. The
codes carry a test URL of the same length as a stamp's (so the same QR version and size), not a
signed stamp. One small page, so it is built in memory with the PDF writer's own parts.
"""

from __future__ import annotations

from stamp_service.render.fonts import Font, default_font
from stamp_service.render.layout import MIN_TEXT, plan_label, sample_label
from stamp_service.render.pdf import (
    A4,
    PAGE_CLEARANCE,
    PRESETS,
    PT_PER_MM,
    _font_objects,
    _n,
    _Writer,
    qr_path,
)
from stamp_service.render.presets import STAMP_MODULES
from stamp_service.render.qr import encode

TOKEN_LENGTH = 140  # characters of a stamp token: the test code gets a stamp's QR version


def calibration_url(host: str) -> str:
    """A test URL as long as a stamp URL for `host` (alphanumeric QR mode, same version)."""
    prefix = f"HTTPS://{host.upper()}/V/CALIBRATION-"
    return prefix + "0" * (len(f"HTTPS://{host}/V/") + TOKEN_LENGTH - len(prefix))


class _Page:
    """Content-stream operators in mm with y downwards (converted to PDF points)."""

    def __init__(self, font: Font, height: float) -> None:
        self.font, self.height, self.ops = font, height, [b"0 g 0 G\n"]

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.2) -> None:
        k = PT_PER_MM
        self.ops.append(
            b"%s w %s %s m %s %s l S\n"
            % (_n(width * k), _n(x1 * k), _n((self.height - y1) * k), _n(x2 * k), _n((self.height - y2) * k))
        )

    def text(self, x: float, baseline: float, text: str, size: float = MIN_TEXT * 1.4) -> None:
        k = PT_PER_MM
        glyphs = self.font.hex_glyphs(self.font.normalize(text))
        self.ops.append(
            b"BT /F1 %s Tf 1 0 0 1 %s %s Tm <%s> Tj ET\n"
            % (_n(size * k), _n(x * k), _n((self.height - baseline) * k), glyphs)
        )

    def qr(self, x: float, y: float, module: float, url: str) -> None:
        k = PT_PER_MM
        s = module * k
        symbol = encode(url)
        self.ops.append(b"q %s 0 0 %s %s %s cm\n" % (_n(s), _n(-s), _n(x * k), _n((self.height - y) * k)))
        self.ops.append(qr_path(symbol.modules) + b"f Q\n")


def _ruler(page: _Page, x0: float, y0: float, length: int, *, vertical: bool) -> None:
    """A millimetre ruler: ticks every mm, longer every 5 and 10, numbered in cm."""
    for mm in range(length + 1):
        tick = 4.0 if mm % 10 == 0 else 2.5 if mm % 5 == 0 else 1.5
        if vertical:
            page.line(x0, y0 + mm, x0 + tick, y0 + mm, 0.15)
            if mm % 10 == 0:
                page.text(x0 + 4.6, y0 + mm + 0.8, str(mm // 10), MIN_TEXT)
        else:
            page.line(x0 + mm, y0, x0 + mm, y0 + tick, 0.15)
            if mm % 10 == 0:
                page.text(x0 + mm - 0.6, y0 + 4.0 + MIN_TEXT, str(mm // 10), MIN_TEXT)
    if vertical:
        page.line(x0, y0, x0, y0 + length, 0.25)
    else:
        page.line(x0, y0, x0 + length, y0, 0.25)


def _dashed_frame(page: _Page, inset: float, width: float, height: float) -> None:
    page.ops.append(b"[%s %s] 0 d\n" % (_n(2 * PT_PER_MM), _n(1.5 * PT_PER_MM)))
    x1, y1 = width - inset, height - inset
    for a, b, c, d in (
        (inset, inset, x1, inset),
        (x1, inset, x1, y1),
        (x1, y1, inset, y1),
        (inset, y1, inset, inset),
    ):
        page.line(a, b, c, d, 0.2)
    page.ops.append(b"[] 0 d\n")


def _draw(page: _Page, host: str) -> None:
    width, height = A4
    _dashed_frame(page, PAGE_CLEARANCE, width, height)
    page.text(15, 14, "Trang hiệu chỉnh máy in / Printer calibration page", MIN_TEXT * 2)
    page.text(15, 20, "In ở tỉ lệ 100 % (Actual size), không chọn “Vừa trang / Fit to page”.")
    page.text(15, 24, "Print at 100 % (Actual size), not “Fit to page”.")
    _ruler(page, 15, 30, 180, vertical=False)
    _ruler(page, 10, 45, 240, vertical=True)
    page.line(25, 48, 125, 48, 0.6)
    page.line(25, 46, 25, 50, 0.3)
    page.line(125, 46, 125, 50, 0.3)
    page.text(25, 54, "Đoạn này phải dài đúng 100 mm / This bar must measure exactly 100 mm")
    page.text(25, 58, f"Khung nét đứt cách mép giấy {PAGE_CLEARANCE:g} mm: phải in đủ bốn cạnh.")
    page.text(
        25, 62, f"The dashed frame is {PAGE_CLEARANCE:g} mm inside the page edge: all four sides must print."
    )
    page.text(
        25,
        70,
        "Mã thử, không phải tem: mỗi mẫu tem một mã đúng cỡ in / Test codes (not stamps), one per preset:",
    )
    url = calibration_url(host)
    slot_w, columns = 56.0, 3
    cell = 0
    y, row_h = 78.0, 0.0
    for name, layout in PRESETS.items():
        for pin in (False, True):
            try:
                plan = plan_label(
                    sample_label(host, pin=pin),
                    layout.label_width,
                    layout.label_height,
                    STAMP_MODULES,
                    padding=layout.padding,
                )
            except ValueError:
                continue  # this stock holds no PIN
            if cell and cell % columns == 0:
                y, row_h = y + row_h, 0.0
            x = 25.0 + (cell % columns) * slot_w
            size = plan.module * STAMP_MODULES
            quiet = 4 * plan.module
            page.qr(x + quiet, y + quiet, plan.module, url)
            base = y + size + 2 * quiet
            page.text(x + quiet, base + 2.0, f"{size:.1f} mm".replace(".", ","))
            page.text(x + quiet, base + 5.0, name + (" + PIN" if pin else ""), MIN_TEXT)
            row_h = max(row_h, size + 2 * quiet + 9.0)
            cell += 1


def render_calibration_pdf(host: str) -> bytes:
    """The calibration page as PDF bytes (one A4 page, the label font embedded)."""
    font = default_font()
    page = _Page(font, A4[1])
    _draw(page, host)
    w = _Writer()
    catalog, pages, resources = w.reserve(), w.reserve(), w.reserve()
    out = [w.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")]
    font_num, font_chunks = _font_objects(w, font)
    out.extend(font_chunks)
    out.append(w.obj(resources, b"<< /Font << /F1 %d 0 R >> >>" % font_num))
    content, page_num = w.reserve(), w.reserve()
    media = b"0 0 %s %s" % (_n(A4[0] * PT_PER_MM), _n(A4[1] * PT_PER_MM))
    out.append(w.stream(content, b"".join(page.ops)))
    out.append(
        w.obj(
            page_num,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [%s] /Resources %d 0 R /Contents %d 0 R >>"
            % (pages, media, resources, content),
        )
    )
    out.append(w.obj(pages, b"<< /Type /Pages /Count 1 /Kids [%d 0 R] >>" % page_num))
    out.append(w.obj(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages))
    xref_at = w.offset
    total = w.next_num
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % total]
    xref.extend(b"%010d 00000 n \n" % w.offsets[i] for i in range(1, total))
    out.append(
        w.raw(
            b"".join(xref)
            + b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (total, catalog, xref_at)
        )
    )
    return b"".join(out)
