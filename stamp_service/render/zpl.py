"""ZPL II for thermal label printers (Zebra and compatibles), one ^XA..^XZ format per stamp.

The printer draws the QR itself (^BQ, model 2, error level M, manual input in alphanumeric
mode, so it encodes exactly what the PDF encodes); we only size and place it: the largest whole
magnification whose symbol plus 4-module quiet zone fits the label height. Printer-resident
fonts rarely cover Vietnamese, so by default text is folded to ASCII (đ -> d, tone marks dropped);
`ascii_text=False` sends UTF-8 (^CI28) for printers with a suitable downloaded font.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from stamp_service.errors import ValidationFailed
from stamp_service.render.labels import MAX_STARS, LabelData
from stamp_service.render.qr import is_alphanumeric, version_for

DOTS_PER_MM = {203: 8, 300: 12, 600: 24}
LABELS_PER_CHUNK = 500


@dataclass(frozen=True)
class ZplOptions:
    dpi: int = 203
    width_mm: float = 50.0
    height_mm: float = 30.0
    ascii_text: bool = True

    def validate(self) -> None:
        errors = []
        if self.dpi not in DOTS_PER_MM:
            errors.append({"field": "dpi", "message": f"one of {sorted(DOTS_PER_MM)}"})
        if not 15 <= self.width_mm <= 120:
            errors.append({"field": "width_mm", "message": "between 15 and 120 mm"})
        if not 15 <= self.height_mm <= 200:
            errors.append({"field": "height_mm", "message": "between 15 and 200 mm"})
        if errors:
            raise ValidationFailed(errors, "The label printer settings are not possible")


def ascii_fold(text: str) -> str:
    """Vietnamese text without diacritics (Đ -> D), for printer-resident fonts."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.encode("ascii", "replace").decode()


def _field(text: str) -> str:
    """Field data safe for ^FH_ (caret, tilde and underscore hex-escaped)."""
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def _qr_data(url: str) -> str:
    """The ^BQ field data: manual alphanumeric mode for stamp URLs, manual byte mode (with its
    byte count, hex-escaped under ^FH) for the Digital Link form's lower case and query string."""
    if is_alphanumeric(url):
        return f"^FDMM,A{url}"
    return f"^FH_^FDMM,B{len(url.encode('ascii')):04d}{_field(url)}"


def _qr_geometry(url: str, opts: ZplOptions) -> tuple[int, int, int, int]:
    """(magnification, x, y, box side) in dots for the QR of `url`."""
    dpm = DOTS_PER_MM[opts.dpi]
    modules = version_for(url) * 4 + 17
    height = round(opts.height_mm * dpm)
    margin = dpm  # 1 mm
    mag = max(1, min(10, (height - 2 * margin) // (modules + 8)))
    box = (modules + 8) * mag
    return mag, margin + 4 * mag, (height - box) // 2 + 4 * mag, box


def label_zpl(label: LabelData, opts: ZplOptions) -> str:
    """The ZPL format for one stamp."""
    dpm = DOTS_PER_MM[opts.dpi]
    width, height = round(opts.width_mm * dpm), round(opts.height_mm * dpm)
    mag, qx, qy, box = _qr_geometry(label.url, opts)
    text = ascii_fold if opts.ascii_text else (lambda s: unicodedata.normalize("NFC", s))
    tx = dpm + box + dpm // 2
    tw = max(dpm * 5, width - tx - dpm)
    big, mid, small = round(2.6 * dpm), round(2.2 * dpm), round(1.8 * dpm)
    stars = max(0, min(MAX_STARS, label.stars))
    y = dpm
    lines = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{qx},{qy}^BQN,2,{mag}{_qr_data(label.url)}^FS",
        f"^FO{tx},{y}^A0N,{big},{big}^FDOCOP {'*' * stars} ({stars}/5)^FS",
    ]
    y += big + dpm // 2
    lines.append(f"^FO{tx},{y}^A0N,{mid},{mid}^FB{tw},2,0,L,0^FH_^FD{_field(text(label.product_name))}^FS")
    y += 2 * mid + dpm // 2
    lines.append(f"^FO{tx},{y}^A0N,{big},{big}^FB{tw},2,0,L,0^FH_^FD{_field(label.serial_display)}^FS")
    y += 2 * big + dpm // 2
    lines.append(f"^FO{tx},{y}^A0N,{small},{small}^FH_^FD{_field(text(label.host))}^FS")
    y += small + dpm // 2
    if label.pin is not None and y + 5 * dpm <= height:
        lines.append(f"^FO{tx},{y}^A0N,{small},{small}^FDPIN (scratch):^FS")
        y += small + dpm // 4
        lines.append(f"^FO{tx},{y}^GB{min(tw, 24 * dpm)},{4 * dpm},2^FS")
        lines.append(f"^FO{tx + dpm},{y + dpm}^A0N,{mid},{mid}^FH_^FD{_field(label.pin)}^FS")
    lines.append("^XZ")
    return "\n".join(lines) + "\n"


def render_zpl(labels: Iterable[LabelData], options: ZplOptions | None = None) -> Iterator[bytes]:
    """Yield ZPL for every label (UTF-8), in chunks. Raises ValidationFailed for bad options."""
    opts = options or ZplOptions()
    opts.validate()
    chunk: list[str] = []
    for label in labels:
        chunk.append(label_zpl(label, opts))
        if len(chunk) >= LABELS_PER_CHUNK:
            yield "".join(chunk).encode("utf-8")
            chunk.clear()
    if chunk:
        yield "".join(chunk).encode("utf-8")
