"""One stamp as SVG (vector, for packaging designers) in millimetre units.

Same layout as the PDF label. Text uses the font family "DejaVu Sans" with generic fallbacks:
an SVG cannot carry the embedded font portably, so for artwork that must be exact use the PDF.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from stamp_service.render.labels import LabelData, row_runs, star_points
from stamp_service.render.layout import DEFAULT_PADDING, plan_label
from stamp_service.render.qr import QrMatrix, encode

DEFAULT_SIZE_MM = (50.0, 30.0)


def _f(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def qr_path_data(qr: QrMatrix) -> str:
    """SVG path data of the dark modules (module units), one closed rectangle per horizontal run."""
    return "".join(f"M{c} {r}h{ln}v1h-{ln}z" for r, c, ln in row_runs(qr.modules))


def render_svg(
    label: LabelData,
    *,
    width_mm: float = DEFAULT_SIZE_MM[0],
    height_mm: float = DEFAULT_SIZE_MM[1],
    qr: QrMatrix | None = None,
    padding: float = DEFAULT_PADDING,
) -> bytes:
    """The stamp as a standalone SVG document (UTF-8 bytes). Raises ValueError for a bad URL."""
    qr = qr or encode(label.url)
    plan = plan_label(label, width_mm, height_mm, qr.size, padding=padding)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width_mm)}mm" height="{_f(height_mm)}mm" '
        f'viewBox="0 0 {_f(width_mm)} {_f(height_mm)}">\n',
        f'<rect width="{_f(width_mm)}" height="{_f(height_mm)}" fill="#fff"/>\n',
        f'<path id="qr" transform="translate({_f(plan.qr_x)} {_f(plan.qr_y)}) scale({plan.module:.5f})" '
        f'fill="#000" shape-rendering="crispEdges" d="{qr_path_data(qr)}"/>\n',
    ]
    for st in plan.stars:
        pts = " ".join(
            f"{_f(x)},{_f(y)}" for x, y in star_points(st.x + st.size / 2, st.y + st.size / 2, st.size / 2)
        )
        outline = f'fill="none" stroke="#000" stroke-width="{_f(st.size * 0.06)}"'
        style = 'fill="#000"' if st.filled else outline
        out.append(f'<polygon points="{pts}" {style}/>\n')
    if plan.pin_box is not None:
        bx, by, bw, bh = plan.pin_box
        out.append(
            f'<rect x="{_f(bx)}" y="{_f(by)}" width="{_f(bw)}" height="{_f(bh)}" fill="none" '
            f'stroke="#000" stroke-width="0.1"/>\n'
        )
    wx, wy, ww, wh = plan.wordmark_box
    out.append(f'<rect x="{_f(wx)}" y="{_f(wy)}" width="{_f(ww)}" height="{_f(wh)}" fill="#000"/>\n')
    for t in plan.texts:
        fill = "#fff" if t.reverse else "#000"
        out.append(
            f'<text x="{_f(t.x)}" y="{_f(t.baseline)}" font-size="{_f(t.size)}" fill="{fill}" '
            f'font-family="DejaVu Sans, Verdana, Arial, sans-serif">{escape(t.text)}</text>\n'
        )
    out.append("</svg>\n")
    return "".join(out).encode("utf-8")
