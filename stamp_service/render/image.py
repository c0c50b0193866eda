"""One stamp as a PNG (Pillow), with QR modules snapped to whole pixels so it scans sharply."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from stamp_service.render.fonts import FONT_PATH
from stamp_service.render.labels import LabelData, row_runs, star_points
from stamp_service.render.layout import DEFAULT_PADDING, plan_label
from stamp_service.render.qr import QrMatrix, encode

DEFAULT_SIZE_MM = (50.0, 30.0)


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size=max(1, px))


def render_image(
    label: LabelData,
    *,
    width_mm: float = DEFAULT_SIZE_MM[0],
    height_mm: float = DEFAULT_SIZE_MM[1],
    dpi: int = 600,
    qr: QrMatrix | None = None,
    padding: float = DEFAULT_PADDING,
) -> Image.Image:
    """The stamp as a greyscale Pillow image at `dpi`. Raises ValueError for a bad URL or dpi."""
    if not 72 <= dpi <= 2400:
        raise ValueError("dpi must be between 72 and 2400")
    qr = qr or encode(label.url)
    plan = plan_label(label, width_mm, height_mm, qr.size, padding=padding)
    px = dpi / 25.4
    img = Image.new("L", (round(width_mm * px), round(height_mm * px)), 255)
    draw = ImageDraw.Draw(img)
    # module edges rounded to whole pixels (modules differ by at most one pixel), so the symbol keeps
    # its planned size at any dpi; flooring the module instead shrank an 18 mm code to 15 mm at 300 dpi
    m = plan.module * px
    x0, y0 = plan.qr_x * px, plan.qr_y * px
    for r, c, ln in row_runs(qr.modules):
        draw.rectangle(
            (round(x0 + c * m), round(y0 + r * m), round(x0 + (c + ln) * m) - 1, round(y0 + (r + 1) * m) - 1),
            fill=0,
        )
    for st in plan.stars:
        pts = [(x * px, y * px) for x, y in star_points(st.x + st.size / 2, st.y + st.size / 2, st.size / 2)]
        if st.filled:
            draw.polygon(pts, fill=0)
        else:
            draw.polygon(pts, outline=0, width=max(1, round(st.size * 0.06 * px)))
    if plan.pin_box is not None:
        bx, by, bw, bh = plan.pin_box
        draw.rectangle(
            (bx * px, by * px, (bx + bw) * px, (by + bh) * px), outline=0, width=max(1, round(0.1 * px))
        )
    wx, wy, ww, wh = plan.wordmark_box
    draw.rectangle((wx * px, wy * px, (wx + ww) * px, (wy + wh) * px), fill=0)
    for t in plan.texts:
        fill = 255 if t.reverse else 0
        draw.text((t.x * px, t.baseline * px), t.text, fill=fill, font=_font(round(t.size * px)), anchor="ls")
    return img


def render_png(
    label: LabelData,
    *,
    width_mm: float = DEFAULT_SIZE_MM[0],
    height_mm: float = DEFAULT_SIZE_MM[1],
    dpi: int = 600,
    padding: float = DEFAULT_PADDING,
) -> bytes:
    """PNG bytes of one stamp, with its dpi recorded so it prints at the intended size."""
    buf = io.BytesIO()
    render_image(label, width_mm=width_mm, height_mm=height_mm, dpi=dpi, padding=padding).save(
        buf, format="PNG", dpi=(dpi, dpi), optimize=False
    )
    return buf.getvalue()
