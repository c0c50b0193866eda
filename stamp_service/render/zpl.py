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
from stamp_service.render.layout import PIN_CAPTION, SCAN_HINT, TAGLINE, expiry_text, lot_text
from stamp_service.render.qr import is_alphanumeric, version_for

DOTS_PER_MM = {203: 8, 300: 12, 600: 24}
LABELS_PER_CHUNK = 500


@dataclass(frozen=True)
class ZplOptions:
    dpi: int = 203
    width_mm: float = 60.0  # 60 x 40 mm holds every part at 6 pt, PIN included (50 x 30: no PIN)
    height_mm: float = 40.0
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
    text = text.replace("Đ", "D").replace("đ", "d").replace("·", "-")
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


def _lines(text: str, width: int, height: int) -> int:
    """Lines `text` needs in a ^FB of `width` dots with ^A0 at `height` (about 0.6 em per char)."""
    per_line = max(1, int(width / (0.6 * height)))
    return max(1, -(-len(text) // per_line))


def label_zpl(label: LabelData, opts: ZplOptions) -> str:
    """The ZPL format for one stamp: the same parts as the PDF label (docs/print-files.md).

    Required parts first (wordmark and stars, tagline, scan hint, serial, host, sequence number
    under the code, PIN); the product name, lot and expiry only where the height leaves room.
    """
    dpm = DOTS_PER_MM[opts.dpi]
    width, height = round(opts.width_mm * dpm), round(opts.height_mm * dpm)
    mag, qx, qy, box = _qr_geometry(label.url, opts)
    text = ascii_fold if opts.ascii_text else (lambda s: unicodedata.normalize("NFC", s))
    tx = dpm + box + dpm // 2
    tw = max(dpm * 5, width - tx - dpm)
    body = round(2.2 * dpm)  # about 6 pt: the smallest printed text
    mark = round(2.8 * dpm)
    line = body + dpm // 3
    stars = max(0, min(MAX_STARS, label.stars))
    lines = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{qx},{qy}^BQN,2,{mag}{_qr_data(label.url)}^FS",
    ]
    seq_under = qy + box - 4 * mag + line <= height - dpm // 2
    if label.seq is not None and seq_under:
        lines.append(f"^FO{qx},{qy + box - 8 * mag + dpm // 2}^A0N,{body},{body}^FDSTT {label.seq}^FS")
    y = dpm
    mark_w = round(4 * 0.62 * mark) + dpm
    lines.append(f"^FO{tx},{y}^GB{mark_w},{mark + dpm // 2},{mark + dpm // 2}^FS")
    lines.append(f"^FO{tx + dpm // 2},{y + dpm // 3}^A0N,{mark},{mark}^FR^FDOCOP^FS")
    lines.append(
        f"^FO{tx + mark_w + dpm // 2},{y + dpm // 3}^A0N,{mark},{mark}^FD{'*' * stars} ({stars}/5)^FS"
    )
    y += mark + dpm
    blocks: list[tuple[str, int, bool]] = [  # text, em height, required
        (text(TAGLINE), body, True),
        (text(label.product_name), body, False),
        (text(SCAN_HINT), body, True),
        (label.serial_display, round(2.6 * dpm), True),
        (text(label.host), body, True),
    ]
    if label.lot_code:
        blocks.append((text(lot_text(label.lot_code)), body, False))
    if label.expiry:
        blocks.append((expiry_text(label.expiry), body, False))
    if label.seq is not None and not seq_under:
        blocks.insert(5, (f"STT {label.seq}", body, True))
    pin_h = (line + 4 * dpm) if label.pin is not None else 0
    need = sum(min(2, _lines(t, tw, h)) * (h + dpm // 3) for t, h, req in blocks if req) + pin_h
    room = height - dpm - y - need
    if room < 0:
        what = "with a PIN " if label.pin is not None else ""
        raise ValidationFailed(
            [
                {
                    "field": "height_mm",
                    "message": f"a {opts.width_mm:g} x {opts.height_mm:g} mm label {what}cannot hold the "
                    "stamp's text at 6 pt; choose a larger label (60 x 40 mm holds everything)",
                }
            ],
            "The label is too small",
        )
    for t, h, required in blocks:
        n = min(2, _lines(t, tw, h))
        step = n * (h + dpm // 3)
        if not required:
            if step > room:
                continue
            room -= step
        lines.append(f"^FO{tx},{y}^A0N,{h},{h}^FB{tw},{n},0,L,0^FH_^FD{_field(t)}^FS")
        y += step
    if label.pin is not None:
        lines.append(f"^FO{tx},{y}^A0N,{body},{body}^FH_^FD{_field(text(PIN_CAPTION))}^FS")
        y += line
        lines.append(f"^FO{tx},{y}^GB{min(tw, 24 * dpm)},{4 * dpm},2^FS")
        lines.append(
            f"^FO{tx + dpm},{y + dpm}^A0N,{round(2.6 * dpm)},{round(2.6 * dpm)}^FH_^FD{_field(label.pin)}^FS"
        )
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
