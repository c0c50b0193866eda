"""Where things go on one label, in millimetres from the label's top-left corner (y downwards).

Shared by the PDF, SVG and PNG writers so that every format shows the same stamp. Two shapes:
*side* (wide labels: QR on the left, text column on the right) and *stacked* (square or tall
labels: stars and name above the QR, serial and host below). The QR box always includes the
4-module quiet zone, and nothing else is drawn inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from stamp_service.render.fonts import Font, default_font
from stamp_service.render.labels import MAX_STARS, LabelData

LINE = 1.18  # line height / em size
MAX_MODULE_MM = 0.5
PIN_CAPTION = "PIN · cào lớp phủ"


@dataclass(frozen=True, slots=True)
class TextRun:
    text: str  # normalized for the font
    x: float  # left edge of the text
    baseline: float
    size: float  # em size, mm


@dataclass(frozen=True, slots=True)
class StarRun:
    x: float  # left edge of the star's square box
    y: float  # top edge
    size: float
    filled: bool


@dataclass(frozen=True, slots=True)
class LabelPlan:
    qr_x: float  # top-left corner of module (0, 0), inside the quiet zone
    qr_y: float
    module: float
    stars: tuple[StarRun, ...]
    texts: tuple[TextRun, ...]
    pin_box: tuple[float, float, float, float] | None  # x, y, w, h


@dataclass(frozen=True)
class _Slots:
    """Geometry that depends only on the label size, QR size, PIN presence and serial length."""

    side: bool
    qr_x: float
    qr_y: float
    module: float
    text_x0: float
    text_x1: float
    star_y: float
    star_size: float
    name_y: float  # baseline of the first name line
    name_size: float
    name_lines: int
    serial_y: float
    serial_size: float
    serial_lines: int
    host_y: float
    host_size: float
    pin_caption_y: float
    pin_caption_size: float
    pin_box: tuple[float, float, float, float] | None
    pin_size: float


def _split_serial(serial: str) -> tuple[str, str]:
    """Split a grouped serial near its middle separator."""
    seps = [i for i, ch in enumerate(serial) if ch in "- "]
    if not seps:
        mid = len(serial) // 2
        return serial[:mid], serial[mid:]
    cut = min(seps, key=lambda i: abs(i - len(serial) / 2))
    return serial[: cut + 1].rstrip(" "), serial[cut + 1 :]


def _serial_key(font: Font, serial: str) -> tuple[float, float]:
    """Unit widths of the serial on one line and of its longer half, rounded up to 1/4 em.

    Serials are unique, so keying the cached geometry on the text itself would never hit.
    """
    a, b = _split_serial(serial)
    return (
        math.ceil(font.unit_width(serial) * 4) / 4,
        math.ceil(max(font.unit_width(a), font.unit_width(b)) * 4) / 4,
    )


def _slots(width: float, height: float, qr_modules: int, has_pin: bool, serial: str) -> _Slots:
    font = default_font()
    return _cached_slots(width, height, qr_modules, has_pin, _serial_key(font, font.normalize(serial)))


@lru_cache(maxsize=256)
def _cached_slots(
    width: float, height: float, qr_modules: int, has_pin: bool, serial: tuple[float, float]
) -> _Slots:
    font = default_font()
    total_modules = qr_modules + 8
    if width >= 1.4 * height:
        return _side_slots(font, width, height, total_modules, has_pin, serial)
    return _stacked_slots(font, width, height, total_modules, has_pin, serial)


def _serial_fit(serial: tuple[float, float], avail: float, nominal: float) -> tuple[int, float]:
    one, half = serial
    if one * nominal <= avail:
        return 1, nominal
    if one * nominal * 0.72 <= avail:
        return 1, avail / one
    return 2, min(nominal, avail / half)


def _side_slots(
    font: Font, w: float, h: float, total_modules: int, has_pin: bool, serial: tuple[float, float]
) -> _Slots:
    pad = min(0.8, 0.04 * h)
    # a module of 0.5 mm (about 22 mm for version 7) scans easily; more space goes to the text
    box = min(h - 2 * pad, 0.55 * w, total_modules * MAX_MODULE_MM)
    module = box / total_modules
    qr_x = pad + 4 * module
    qr_y = (h - box) / 2 + 4 * module
    x0 = pad + box + 0.3
    x1 = w - min(1.2, 0.05 * h)
    avail = x1 - x0
    top, bottom = min(1.2, 0.05 * h), h - min(1.2, 0.05 * h)
    star = min(0.15 * h, 4.5, avail / (MAX_STARS * 1.1))
    name = min(0.095 * h, 3.0)
    host = min(0.08 * h, 2.4)
    serial_lines, serial_size = _serial_fit(serial, avail, min(0.11 * h, 3.4))
    cap = min(0.06 * h, 1.8)
    pin_box_h = min(0.17 * h, 5.5) if has_pin else 0.0
    name_lines = 2 if h >= 30 else 1

    def needed(f: float) -> float:
        return (
            star * f
            + LINE * f * (name * name_lines + serial_size * serial_lines + host)
            + ((LINE * cap + pin_box_h) * f if has_pin else 0.0)
        )

    f = min(1.0, (bottom - top) / needed(1.0))
    star, name, host, serial_size, cap, pin_box_h = (
        v * f for v in (star, name, host, serial_size, cap, pin_box_h)
    )
    slots = 4 + (1 if has_pin else 0)
    gap = max(0.0, (bottom - top - needed(1.0)) / (slots - 1))
    y = top
    star_y = y
    y += star + gap
    name_y = y + name * 0.93
    y += LINE * name * name_lines + gap
    serial_y = y + serial_size * 0.93
    y += LINE * serial_size * serial_lines + gap
    host_y = y + host * 0.93
    y += LINE * host + gap
    pin_caption_y = y + cap * 0.93
    y += LINE * cap
    pin_box = (
        (x0, y, min(avail, font.width("0000-0000", 1.0) * pin_box_h * 0.6 + 2.0), pin_box_h)
        if has_pin
        else None
    )
    return _Slots(
        True,
        qr_x,
        qr_y,
        module,
        x0,
        x1,
        star_y,
        star,
        name_y,
        name,
        name_lines,
        serial_y,
        serial_size,
        serial_lines,
        host_y,
        host,
        pin_caption_y,
        cap,
        pin_box,
        pin_box_h * 0.6,
    )


def _stacked_slots(
    font: Font, w: float, h: float, total_modules: int, has_pin: bool, serial: tuple[float, float]
) -> _Slots:
    pad = min(0.5, 0.02 * h)
    x0, x1 = pad, w - pad
    avail = x1 - x0
    star = min(0.075 * h, 3.0)
    name = star * 0.8
    serial_lines, serial_size = _serial_fit(serial, avail, min(0.075 * h, 3.0))
    host = min(0.055 * h, 2.2)
    pin_box_h = min(0.13 * h, 4.5) if has_pin else 0.0
    top_band = star + 0.2
    bottom_band = LINE * (serial_size * serial_lines + host) + (pin_box_h + 0.3 if has_pin else 0.0)
    box = min(w, h - 2 * pad - top_band - bottom_band, total_modules * MAX_MODULE_MM)
    module = box / total_modules
    qr_top = pad + top_band
    qr_x = (w - box) / 2 + 4 * module
    qr_y = qr_top + 4 * module
    y = qr_top + box
    serial_y = y + serial_size * 0.93
    y += LINE * serial_size * serial_lines
    host_y = y + host * 0.93
    y += LINE * host + 0.3
    pin_box = (x0 + avail * 0.25, y, avail * 0.5, pin_box_h) if has_pin else None
    return _Slots(
        False,
        qr_x,
        qr_y,
        module,
        x0,
        x1,
        pad,
        star,
        pad + star * 0.82,
        name,
        1,
        serial_y,
        serial_size,
        serial_lines,
        host_y,
        host,
        0.0,
        0.0,
        pin_box,
        pin_box_h * 0.62,
    )


def plan_label(label: LabelData, width: float, height: float, qr_modules: int) -> LabelPlan:
    """The drawing plan of one label of `width` x `height` mm whose QR has `qr_modules` per side."""
    font = default_font()
    s = _slots(width, height, qr_modules, label.pin is not None, label.serial_display)
    avail = s.text_x1 - s.text_x0
    stars_n = max(0, min(MAX_STARS, label.stars))
    texts: list[TextRun] = []
    serial = font.normalize(label.serial_display)
    host = font.normalize(label.host)
    name = font.normalize(" ".join(label.product_name.split()))
    centre = not s.side

    def put(
        text: str, baseline: float, size: float, *, x_left: float | None = None, shrink: float = 1.0
    ) -> None:
        """Place one line; shrink the font down to `shrink` x size before cutting with an ellipsis."""
        if not text:
            return
        left = s.text_x0 if x_left is None else x_left
        limit = s.text_x1 - left
        natural = font.unit_width(text)
        if natural * size > limit and shrink < 1.0:
            size = max(size * shrink, limit / natural)
        text = font.fit(text, limit, size)
        x = left
        if centre and x_left is None:
            x = left + (limit - font.width(text, size)) / 2
        texts.append(TextRun(text, x, baseline, size))

    star_gap = s.star_size * 0.1
    stars = tuple(
        StarRun(s.text_x0 + i * (s.star_size + star_gap), s.star_y, s.star_size, i < stars_n)
        for i in range(MAX_STARS)
    )
    if s.side:
        if s.name_lines == 2 and font.width(name, s.name_size) > avail:
            first, rest = _wrap_first(font, name, avail, s.name_size)
            put(first, s.name_y, s.name_size)
            put(rest, s.name_y + LINE * s.name_size, s.name_size)
        else:
            put(name, s.name_y, s.name_size)
    else:
        # name to the right of the stars, in the top band
        name_x = s.text_x0 + MAX_STARS * (s.star_size + star_gap) + star_gap
        put(name, s.name_y, s.name_size, x_left=name_x)
    if s.serial_lines == 1:
        put(serial, s.serial_y, s.serial_size, shrink=0.8)
    else:
        a, b = _split_serial(serial)
        put(a, s.serial_y, s.serial_size)
        put(b, s.serial_y + LINE * s.serial_size, s.serial_size)
    put(host, s.host_y, s.host_size, shrink=0.55)  # the host must stay readable in full
    if s.pin_box is not None and label.pin is not None:
        bx, by, bw, bh = s.pin_box
        if s.side:
            put(PIN_CAPTION, s.pin_caption_y, s.pin_caption_size)
        pin = font.normalize(label.pin)
        size = min(s.pin_size, (bw - 0.8) / max(font.width(pin, 1.0), 1e-6))
        texts.append(TextRun(pin, bx + (bw - font.width(pin, size)) / 2, by + bh / 2 + size * 0.36, size))
    return LabelPlan(s.qr_x, s.qr_y, s.module, stars, tuple(texts), s.pin_box)


def _wrap_first(font: Font, text: str, avail: float, size: float) -> tuple[str, str]:
    """Break `text` at the last space that keeps the first line within `avail`."""
    words = text.split(" ")
    line = words[0]
    for i in range(1, len(words)):
        candidate = f"{line} {words[i]}"
        if font.width(candidate, size) > avail:
            return line, " ".join(words[i:])
        line = candidate
    return line, ""


def qr_printed_size(
    width: float, height: float, qr_modules: int, *, has_pin: bool = False, serial: str = "ABCD-EFGH-JKMN-PQ"
) -> float:
    """Printed side of the QR symbol (quiet zone excluded) on such a label, in mm."""
    return _slots(width, height, qr_modules, has_pin, serial).module * qr_modules
