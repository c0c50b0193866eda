"""Where things go on one label, in millimetres from the label's top-left corner (y downwards).

Shared by the PDF, SVG and PNG writers so that every format shows the same stamp. What every
label keeps (docs/print-files.md explains why):

- the OCOP wordmark (white "OCOP" on a black box, drawn as text: no logo file) and the stars,
  "Tem truy xuất nguồn gốc", "Quét mã để kiểm tra", the serial, the verification host, the
  stamp's sequence number within its request ("STT 12") and, when the request has them, the PIN;
- where there is room, in this order: the product name, the lot code, the expiry date (dd/mm/yyyy),
  a second line of the name;
- every text at least 6 pt, every QR symbol at least 18 mm, its 4-module quiet zone inside the
  label with nothing drawn in it, and no ink inside the label's `padding`.

A label too small for the required parts raises :class:`LabelTooSmall` (a ValidationFailed):
text is never shrunk below 6 pt nor the code below 18 mm to make it fit.

Two shapes: *side* (wide labels: QR top-left with the sequence number under it, a text column
on the right) and *stacked* (square or tall labels: wordmark and tagline above the QR, serial,
host and PIN below). Geometry depends on the label size and a few texts that repeat within a
request (name, lot, host), so it is computed once per request and cached; per label only the
serial, the sequence number and the PIN are placed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stamp_service.errors import ValidationFailed
from stamp_service.render.fonts import Font, default_font
from stamp_service.render.labels import MAX_STARS, LabelData

PT = 25.4 / 72  # one point in mm
MIN_TEXT = 6 * PT
SERIAL_TEXT = 7 * PT
PIN_TEXT = 7 * PT
WORDMARK_TEXT = 8 * PT
LINE = 1.18  # line height / em size
MAX_MODULE_MM = 0.5
MIN_CODE_MM = 18.0
QUIET = 4  # modules of quiet zone around the symbol
DEFAULT_PADDING = 1.5
PIN_GAP = 0.3  # above the PIN box, clear of the descenders of the line before

WORDMARK = "OCOP"
TAGLINE = "Tem truy xuất nguồn gốc"
SCAN_HINT = "Quét mã để kiểm tra"
PIN_CAPTION = "PIN · cào lớp phủ"
PIN_SAMPLE = "0000-0000"
SEQ_SAMPLE = "STT 0000000"  # widest sequence number we reserve room for


def seq_text(seq: int) -> str:
    return f"STT {seq}"


def lot_text(code: str) -> str:
    return f"Lô {code}"


def expiry_text(day: date) -> str:
    return f"HSD {day:%d/%m/%Y}"


class LabelTooSmall(ValidationFailed):
    """The label cannot hold the required parts at 6 pt with an 18 mm code."""

    def __init__(self, width: float, height: float, has_pin: bool) -> None:
        what = "with a PIN " if has_pin else ""
        super().__init__(
            [
                {
                    "field": "label_width",
                    "message": f"a {width:g} x {height:g} mm label {what}cannot hold the stamp's text "
                    "at 6 pt and an 18 mm code; choose a larger preset",
                }
            ],
            "The label is too small",
        )


@dataclass(frozen=True, slots=True)
class TextRun:
    text: str  # normalized for the font
    x: float  # left edge of the text
    baseline: float
    size: float  # em size, mm
    reverse: bool = False  # white on the wordmark box


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
    wordmark_box: tuple[float, float, float, float]  # black box behind the white "OCOP"


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a per-label text goes: between `left` and `right`, aligned 'l', 'c' or 'r'."""

    left: float
    right: float
    baseline: float
    size: float
    align: str

    def run(self, font: Font, text: str) -> TextRun:
        width = font.measure(text) * self.size  # per-label texts never repeat: no cache to fill
        if width > self.right - self.left:
            text = font.fit(text, self.right - self.left, self.size)
            width = font.measure(text) * self.size
        if self.align == "c":
            x = self.left + (self.right - self.left - width) / 2
        elif self.align == "r":
            x = self.right - width
        else:
            x = self.left
        return TextRun(text, x, self.baseline, self.size)


@dataclass(frozen=True)
class _Template:
    qr_x: float
    qr_y: float
    module: float
    stars: tuple[StarRun, ...]
    wordmark_box: tuple[float, float, float, float]
    texts: tuple[TextRun, ...]
    serial: tuple[_Slot, ...]  # one slot, or two when the serial wraps at a group dash
    seq: _Slot
    pin_box: tuple[float, float, float, float] | None
    pin_size: float


@dataclass(frozen=True)
class _Content:
    """The texts that shape a label (all normalized); the same for every label of a request."""

    name: str
    lot: str
    expiry: str
    stars: int
    host: str
    serial: tuple[float, float]  # unit widths: whole serial, longer half
    has_pin: bool


# --- text helpers ----------------------------------------------------------------------------------


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
    wa, wb = font.measure(a), font.measure(b)
    one = wa + wb if a + b == serial else font.measure(serial)
    return math.ceil(one * 4) / 4, math.ceil(max(wa, wb) * 4) / 4


def _wrap(font: Font, text: str, avail: float, size: float, max_lines: int) -> list[str] | None:
    """`text` broken at spaces into at most `max_lines` lines within `avail`; None if it cannot."""
    if not text:
        return []
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if font.width(candidate, size) <= avail:
            line = candidate
            continue
        if not line or font.width(word, size) > avail:
            return None
        lines.append(line)
        line = word
    lines.append(line)
    if len(lines) > max_lines:
        return None
    if len(lines) == 2:  # balance the two lines ("Tem truy xuất / nguồn gốc", not "... nguồn / gốc")
        words = text.split(" ")
        splits: list[tuple[str, str]] = [
            (" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))
        ]

        def longer(pair: tuple[str, str]) -> float:
            return max(font.width(pair[0], size), font.width(pair[1], size))

        first, second = min((p for p in splits if longer(p) <= avail), key=longer)
        lines = [first, second]
    return lines


def _host_lines(font: Font, host: str, avail: float) -> list[str] | None:
    """The host on one line, or on two broken after a dot (never shrunk below 6 pt); None if not."""
    if font.width(host, MIN_TEXT) <= avail:
        return [host]
    cuts = [i + 1 for i, ch in enumerate(host) if ch == "." and 0 < i < len(host) - 1]
    fitting = [
        (host[:i], host[i:])
        for i in cuts
        if max(font.width(host[:i], MIN_TEXT), font.width(host[i:], MIN_TEXT)) <= avail
    ]
    if not fitting:
        return None
    first, second = min(fitting, key=lambda p: abs(len(p[0]) - len(p[1])))
    return [first, second]


def _first_line(font: Font, text: str, avail: float, size: float) -> tuple[str, str]:
    """The longest run of whole words that fits `avail` (cut with "…" if one word is too long)."""
    words = text.split(" ")
    line = ""
    for i, word in enumerate(words):
        candidate = f"{line} {word}" if line else word
        if font.width(candidate, size) > avail:
            if not line:
                return font.fit(text, avail, size), ""
            return line, " ".join(words[i:])
        line = candidate
    return line, ""


# --- the column of text blocks -------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    kind: str  # wordmark, text, serial, seq, pin_caption, pin_box, pin_row
    height: float
    lines: tuple[str, ...] = ()
    size: float = MIN_TEXT


def _line(text: str, size: float = MIN_TEXT) -> _Block:
    return _Block("text", LINE * size, (text,), size)


def _wordmark_width(font: Font) -> tuple[float, float]:
    """Width and height of the black wordmark box."""
    return font.width(WORDMARK, WORDMARK_TEXT) + 0.5 * WORDMARK_TEXT, WORDMARK_TEXT * 1.1


def _serial_block(c: _Content, avail: float) -> _Block | None:
    one, half = c.serial
    if one * SERIAL_TEXT <= avail:
        return _Block("serial", LINE * SERIAL_TEXT, ("1",), SERIAL_TEXT)
    if one * MIN_TEXT <= avail:
        size = avail / one
        return _Block("serial", LINE * size, ("1",), size)
    size = min(SERIAL_TEXT, avail / half)
    if size < MIN_TEXT - 1e-9:
        return None
    return _Block("serial", 2 * LINE * size, ("1", "2"), size)


def _pin_blocks(font: Font, avail: float, stacked: bool) -> list[_Block] | None:
    box_w = font.width(PIN_SAMPLE, PIN_TEXT) + 1.6
    box_h = PIN_TEXT * 1.4 + PIN_GAP
    if box_w > avail:
        return None
    caption_w = font.width(PIN_CAPTION, MIN_TEXT)
    if stacked and caption_w + 1.0 + box_w <= avail:
        return [_Block("pin_row", box_h)]
    if caption_w > avail:
        return None
    return [_Block("pin_caption", LINE * MIN_TEXT, (PIN_CAPTION,)), _Block("pin_box", box_h)]


def _required(
    font: Font, c: _Content, avail: float, *, seq_in_column: bool, stacked: bool
) -> dict[str, list[_Block]] | None:
    """The blocks every label must show, by name, or None if one does not fit `avail` wide."""
    box_w, box_h = _wordmark_width(font)
    blocks: dict[str, list[_Block]] = {"wordmark": [_Block("wordmark", box_h)]}
    if box_w + 0.6 + MAX_STARS * 1.5 > avail:
        return None
    for name, text in (("tagline", TAGLINE), ("hint", SCAN_HINT)):
        lines = _wrap(font, text, avail, MIN_TEXT, 2)
        if lines is None:
            return None
        blocks[name] = [_line(t) for t in lines]
    serial = _serial_block(c, avail)
    host = _host_lines(font, c.host, avail)
    if serial is None or host is None:
        return None
    blocks["serial"] = [serial]
    blocks["host"] = [_line(line) for line in host]
    if seq_in_column:
        if font.width(SEQ_SAMPLE, MIN_TEXT) > avail:
            return None
        blocks["seq"] = [_Block("seq", LINE * MIN_TEXT)]
    if c.has_pin:
        pin = _pin_blocks(font, avail, stacked)
        if pin is None:
            return None
        blocks["pin"] = pin
    return blocks


def _optional(font: Font, c: _Content, avail: float) -> list[tuple[str, _Block]]:
    """Blocks shown where there is room, in priority order (name, lot, expiry, more name)."""
    out: list[tuple[str, _Block]] = []
    if c.name:
        first, rest = _first_line(font, c.name, avail, MIN_TEXT)
        out.append(("name", _line(first)))
    if c.lot:
        out.append(("lot", _line(font.fit(c.lot, avail, MIN_TEXT))))
    if c.expiry:
        out.append(("expiry", _line(c.expiry)))
    if c.name and rest:
        out.append(("name2", _line(font.fit(rest, avail, MIN_TEXT))))
    return out


def _height(blocks: list[_Block]) -> float:
    return sum(b.height for b in blocks)


def _add_optional(
    font: Font, c: _Content, avail: float, room: float, chosen: dict[str, list[_Block]]
) -> dict[str, list[_Block]]:
    """`chosen` plus the optional blocks that fit in `room` (mm of height), by priority."""
    out = dict(chosen)
    for name, block in _optional(font, c, avail):
        if block.height <= room + 1e-9:
            out[name.rstrip("2")] = [*out.get(name.rstrip("2"), []), block]
            room -= block.height
    return _ellipsis_name(font, c, avail, out)


def _ellipsis_name(
    font: Font, c: _Content, avail: float, blocks: dict[str, list[_Block]]
) -> dict[str, list[_Block]]:
    """A name shown on one line only ends with "…" when words were left out."""
    if len(blocks.get("name", [])) == 1:
        return {**blocks, "name": [_line(font.fit(c.name, avail, MIN_TEXT))]}
    return blocks


_SIDE_ORDER = ("wordmark", "tagline", "name", "lot", "expiry", "hint", "serial", "host", "seq", "pin")
_TOP_ORDER = ("wordmark", "tagline", "name")
_BOTTOM_ORDER = ("hint", "serial", "host", "seq", "pin", "lot", "expiry")


def _ordered(blocks: dict[str, list[_Block]], order: tuple[str, ...]) -> list[_Block]:
    return [b for name in order for b in blocks.get(name, [])]


class _Placer:
    """Puts blocks down a column from `y`, collecting static texts and per-label slots."""

    def __init__(self, font: Font, c: _Content, x0: float, x1: float, centre: bool) -> None:
        self.font, self.c, self.x0, self.x1, self.centre = font, c, x0, x1, centre
        self.texts: list[TextRun] = []
        self.stars: tuple[StarRun, ...] = ()
        self.wordmark: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.serial: list[_Slot] = []
        self.seq: _Slot | None = None
        self.pin_box: tuple[float, float, float, float] | None = None
        self.seq_on_wordmark_row = False

    def _text(self, text: str, baseline: float, size: float) -> None:
        self.texts.append(
            _Slot(self.x0, self.x1, baseline, size, "c" if self.centre else "l").run(self.font, text)
        )

    def _wordmark_row(self, y: float, h: float) -> None:
        font = self.font
        box_w, _ = _wordmark_width(font)
        avail = self.x1 - self.x0
        reserve = font.width(SEQ_SAMPLE, MIN_TEXT) + 1.0 if self.seq_on_wordmark_row else 0.0
        star = min(h * 0.95, (avail - box_w - 0.6 - reserve) / (MAX_STARS * 1.1))
        row_w = box_w + 0.6 + MAX_STARS * star * 1.1
        left = self.x0
        if self.centre and not self.seq_on_wordmark_row:
            left = self.x0 + (avail - row_w) / 2
        self.wordmark = (left, y, box_w, h)
        text_x = left + (box_w - font.width(WORDMARK, WORDMARK_TEXT)) / 2
        cap = font.cap_height / font.units_per_em * WORDMARK_TEXT
        self.texts.append(TextRun(WORDMARK, text_x, y + (h + cap) / 2, WORDMARK_TEXT, reverse=True))
        stars_n = max(0, min(MAX_STARS, self.c.stars))
        sx = left + box_w + 0.6
        sy = y + (h - star) / 2
        self.stars = tuple(StarRun(sx + i * star * 1.1, sy, star, i < stars_n) for i in range(MAX_STARS))
        if self.seq_on_wordmark_row:
            cap_t = font.cap_height / font.units_per_em * MIN_TEXT
            self.seq = _Slot(self.x0, self.x1, y + (h + cap_t) / 2, MIN_TEXT, "r")

    def place(self, blocks: list[_Block], y: float, gap: float) -> float:
        font = self.font
        for block in blocks:
            if block.kind == "wordmark":
                self._wordmark_row(y, block.height)
            elif block.kind == "text":
                for i, text in enumerate(block.lines):
                    self._text(text, y + block.size * (0.93 + LINE * i), block.size)
            elif block.kind == "serial":
                align = "c" if self.centre else "l"
                for i in range(len(block.lines)):
                    base = y + block.size * (0.93 + LINE * i)
                    self.serial.append(_Slot(self.x0, self.x1, base, block.size, align))
            elif block.kind == "seq":
                self.seq = _Slot(self.x0, self.x1, y + MIN_TEXT * 0.93, MIN_TEXT, "c" if self.centre else "l")
            elif block.kind == "pin_caption":
                self._text(PIN_CAPTION, y + MIN_TEXT * 0.93, MIN_TEXT)
            elif block.kind == "pin_box":
                box_w = font.width(PIN_SAMPLE, PIN_TEXT) + 1.6
                left = self.x0 + ((self.x1 - self.x0 - box_w) / 2 if self.centre else 0.0)
                self.pin_box = (left, y + PIN_GAP, box_w, block.height - PIN_GAP)
            elif block.kind == "pin_row":
                box_w = font.width(PIN_SAMPLE, PIN_TEXT) + 1.6
                cap_w = font.width(PIN_CAPTION, MIN_TEXT)
                left = self.x0 + (self.x1 - self.x0 - (cap_w + 1.0 + box_w)) / 2
                cap_t = font.cap_height / font.units_per_em * MIN_TEXT
                box_h = block.height - PIN_GAP
                self.texts.append(TextRun(PIN_CAPTION, left, y + PIN_GAP + (box_h + cap_t) / 2, MIN_TEXT))
                self.pin_box = (left + cap_w + 1.0, y + PIN_GAP, box_w, box_h)
            y += block.height + gap
        return y


def _gap(room: float, count: int) -> float:
    return max(0.0, min(0.8, room / max(1, count - 1)))


def _side(font: Font, w: float, h: float, pad: float, n: int, c: _Content) -> _Template:
    m_max = min(MAX_MODULE_MM, h / (n + 2 * QUIET), (h - 2 * pad) / n)
    m_min = MIN_CODE_MM / n
    if m_max < m_min - 1e-9:
        raise LabelTooSmall(w, h, c.has_pin)
    top, bottom = pad, h - pad
    steps = 8
    # largest code first; a serial on one line (easier to type) beats a slightly larger code
    for serial_wraps in (False, True):
        for i in range(steps + 1):
            m = m_max - (m_max - m_min) * i / steps
            size, q = m * n, QUIET * m
            qr_x = max(pad, q)
            qr_y = max(pad, q)
            seq_under = qr_y + size + q + LINE * MIN_TEXT <= bottom + 1e-9
            if not seq_under:
                qr_y = (h - size) / 2
            x0, x1 = qr_x + size + q, w - pad
            if x1 - x0 < 5:
                continue
            req = _required(font, c, x1 - x0, seq_in_column=not seq_under, stacked=False)
            if req is None or (not serial_wraps and len(req["serial"][0].lines) > 1):
                continue
            room = bottom - top - _height(_ordered(req, _SIDE_ORDER))
            if room < -1e-9:
                continue
            blocks = _ordered(_add_optional(font, c, x1 - x0, room, req), _SIDE_ORDER)
            placer = _Placer(font, c, x0, x1, centre=False)
            placer.place(blocks, top, _gap(bottom - top - _height(blocks), len(blocks)))
            if seq_under:
                base = qr_y + size + q + MIN_TEXT * 0.93
                placer.seq = _Slot(qr_x - q, qr_x + size + q, base, MIN_TEXT, "c")
            return _template(placer, qr_x, qr_y, m)
    raise LabelTooSmall(w, h, c.has_pin)


def _stacked(font: Font, w: float, h: float, pad: float, n: int, c: _Content) -> _Template:
    x0, x1 = pad, w - pad
    avail = x1 - x0
    seq_w = font.width(SEQ_SAMPLE, MIN_TEXT) + 1.0
    box_w, _ = _wordmark_width(font)
    seq_on_row = box_w + 0.6 + MAX_STARS * 1.8 + seq_w <= avail
    req = _required(font, c, avail, seq_in_column=not seq_on_row, stacked=True)
    m_min = MIN_CODE_MM / n
    if req is None:
        raise LabelTooSmall(w, h, c.has_pin)

    def module_for(blocks: dict[str, list[_Block]]) -> float:
        text_h = _height(_ordered(blocks, _TOP_ORDER)) + _height(_ordered(blocks, _BOTTOM_ORDER))
        return min(MAX_MODULE_MM, w / (n + 2 * QUIET), (h - 2 * pad - text_h) / (n + 2 * QUIET))

    m_req = module_for(req)
    if m_req < m_min - 1e-9:
        raise LabelTooSmall(w, h, c.has_pin)
    # optional text only where the code stays within 10 % of the size it has without it
    floor = max(m_min, 0.9 * m_req)
    chosen = req
    for name, block in _optional(font, c, avail):
        trial = dict(chosen)
        trial[name.rstrip("2")] = [*trial.get(name.rstrip("2"), []), block]
        if module_for(trial) >= floor - 1e-9:
            chosen = trial
    chosen = _ellipsis_name(font, c, avail, chosen)
    m = module_for(chosen)
    size, q = m * n, QUIET * m
    top_blocks, bottom_blocks = _ordered(chosen, _TOP_ORDER), _ordered(chosen, _BOTTOM_ORDER)
    spare = h - 2 * pad - _height(top_blocks) - _height(bottom_blocks) - size - 2 * q
    count = len(top_blocks) + len(bottom_blocks)
    gap = min(0.6, max(0.0, spare / max(1, count)))
    placer = _Placer(font, c, x0, x1, centre=True)
    placer.seq_on_wordmark_row = seq_on_row
    y = placer.place(top_blocks, pad + max(0.0, spare - gap * count) / 2, gap)
    qr_y = y - gap + q
    qr_x = (w - size) / 2
    placer.place(bottom_blocks, qr_y + size + q, gap)
    return _template(placer, qr_x, qr_y, m)


def _template(placer: _Placer, qr_x: float, qr_y: float, module: float) -> _Template:
    assert placer.seq is not None
    return _Template(
        qr_x=qr_x,
        qr_y=qr_y,
        module=module,
        stars=placer.stars,
        wordmark_box=placer.wordmark,
        texts=tuple(placer.texts),
        serial=tuple(placer.serial),
        seq=placer.seq,
        pin_box=placer.pin_box,
        pin_size=PIN_TEXT,
    )


@lru_cache(maxsize=1024)
def _cached_template(w: float, h: float, pad: float, qr_modules: int, content: _Content) -> _Template:
    font = default_font()
    if w >= 1.4 * h:
        return _side(font, w, h, pad, qr_modules, content)
    return _stacked(font, w, h, pad, qr_modules, content)


@lru_cache(maxsize=256)
def _request_texts(
    name: str, lot_code: str | None, expiry: date | None, host: str
) -> tuple[str, str, str, str]:
    """Normalized texts that repeat on every label of a request (normalizing per label is slow)."""
    font = default_font()
    return (
        font.normalize(" ".join(name.split())),
        font.normalize(lot_text(lot_code)) if lot_code else "",
        expiry_text(expiry) if expiry else "",
        font.normalize(host),
    )


def _content(font: Font, label: LabelData) -> _Content:
    name, lot, expiry, host = _request_texts(label.product_name, label.lot_code, label.expiry, label.host)
    return _Content(
        name=name,
        lot=lot,
        expiry=expiry,
        stars=max(0, min(MAX_STARS, label.stars)),
        host=host,
        serial=_serial_key(font, font.normalize(label.serial_display)),
        has_pin=label.pin is not None,
    )


def plan_label(
    label: LabelData, width: float, height: float, qr_modules: int, *, padding: float = DEFAULT_PADDING
) -> LabelPlan:
    """The drawing plan of one label of `width` x `height` mm whose QR has `qr_modules` per side.

    Raises LabelTooSmall when the label cannot hold the required parts (see the module docstring).
    """
    font = default_font()
    t = _cached_template(width, height, padding, qr_modules, _content(font, label))
    texts = list(t.texts)
    serial = font.normalize(label.serial_display)
    if len(t.serial) == 1:
        texts.append(t.serial[0].run(font, serial))
    else:
        for slot, part in zip(t.serial, _split_serial(serial), strict=True):
            texts.append(slot.run(font, part))
    if label.seq is not None:
        texts.append(t.seq.run(font, seq_text(label.seq)))
    if t.pin_box is not None and label.pin is not None:
        bx, by, bw, bh = t.pin_box
        pin = font.normalize(label.pin)
        size = min(t.pin_size, (bw - 0.8) / max(font.width(pin, 1.0), 1e-6))
        texts.append(TextRun(pin, bx + (bw - font.width(pin, size)) / 2, by + bh / 2 + size * 0.36, size))
    return LabelPlan(t.qr_x, t.qr_y, t.module, t.stars, tuple(texts), t.pin_box, t.wordmark_box)


def sample_label(host: str, *, pin: bool) -> LabelData:
    """A label with the longest usual texts, to check a preset fits and to draw its preview."""
    return LabelData(
        url="HTTPS://" + host.upper() + "/V/" + "A" * 140,
        serial_display="ABCD-EFGH-JKMN-PQ",
        stars=4,
        product_name="Sản phẩm mẫu: mật ong bạc hà Đồng Văn",
        host=host.lower(),
        pin="0000-0000" if pin else None,
        seq=1234,
        lot_code="LO-2026-001",
        expiry=date(2027, 12, 31),
    )


def qr_printed_size(
    width: float,
    height: float,
    qr_modules: int,
    *,
    has_pin: bool = False,
    padding: float = DEFAULT_PADDING,
    host: str = "tem.ocop.gov.vn",
) -> float:
    """Printed side of the QR symbol (quiet zone excluded) on such a label, in mm."""
    return plan_label(sample_label(host, pin=has_pin), width, height, qr_modules, padding=padding).module * (
        qr_modules
    )
