"""Charts for the people pages: a series of numbers turned into SVG geometry, drawn without script.

One place for every chart (the console home, the monthly report, a producer's scans): the views
give a series of (label, value) and this module computes the marks, axis and labels in a fixed
``viewBox`` about as wide as a 390 px phone, so the text stays readable there; the macro
``people/chart.html`` draws any ``Chart``. The numbers also come as rows of text (the table under
the picture) and each bar carries its label and value: the colour never carries meaning alone.
Numbers are grouped the reader's way (2.000 in Vietnamese) and days read dd/mm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from stamp_service.web.i18n import format_day, format_number
from stamp_service.web.people import _, lang

WIDTH = 360  # viewBox units: one unit is about one CSS pixel on a 390 px phone
PLOT_HEIGHT = 120
TOP = 16  # room for the largest value's label above the plot
LEFT = 8
FONT = 14
PAD = 6
ROW = 38  # horizontal bars: the area's name, then its bar
BAR = 14
VALUE_ROOM = 64
MONTH_DAYS = 31
HALF_TEXT = 20  # half the width of "04/12" at FONT  # horizontal bars: the value's text after the longest bar


@dataclass(frozen=True)
class Mark:
    """A bar, with the text a pointer shows over it (its label and value)."""

    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    title: str
    summary: str  # the picture in a sentence (the SVG's <desc>)
    width: int
    height: int
    marks: list[Mark]
    labels: list[Label]
    axis: tuple[float, float, float, float]  # the baseline (x1, y1, x2, y2)
    head: tuple[str, str]  # the text table's column titles
    rows: list[tuple[str, str]]  # the numbers as text, one row a point


def _num(value: int) -> str:
    return format_number(value, lang())


def _summary(points: Sequence[tuple[str, int]]) -> str:
    if not points:
        return _("Nothing this month.")
    total = sum(v for _label, v in points)
    if not total:
        return _("All zero.")
    label, top = max(points, key=lambda p: p[1])
    return _("Total %(total)s; the most: %(label)s, %(top)s.", total=_num(total), label=label, top=_num(top))


def _centre(i: int, pitch: float) -> float:
    """The middle of column ``i``, kept far enough from the edges for a centred dd/mm to fit."""
    return round(min(max(LEFT + (i + 0.5) * pitch, LEFT + HALF_TEXT), WIDTH - LEFT - HALF_TEXT), 1)


def daily_columns(title: str, value_title: str, series: Sequence[tuple[date, int]]) -> Chart:
    """One column a day, oldest first, a month wide at least (a month's first days stay narrow).

    Ticks read dd/mm on the last day and every 7th day from the first; the highest column carries
    its value (the others' are in the table and in each column's tooltip).
    """
    pitch = (WIDTH - 2 * LEFT) / max(len(series), MONTH_DAYS)
    top = max((v for _d, v in series), default=0)
    base = TOP + PLOT_HEIGHT
    marks, labels = [], []
    for i, (day, value) in enumerate(series):
        h = round(value * PLOT_HEIGHT / top, 1) if top else 0.0
        x = round(LEFT + i * pitch + pitch * 0.1, 1)
        marks.append(
            Mark(x, round(base - h, 1), round(pitch * 0.8, 1), h, f"{format_day(day, lang())}: {_num(value)}")
        )
        to_last = len(series) - 1 - i
        if to_last == 0 or (i % 7 == 0 and to_last >= 4):  # the last day always, with room between
            labels.append(Label(_centre(i, pitch), base + FONT + 4, day.strftime("%d/%m"), "middle"))
    if top:
        i = max(range(len(series)), key=lambda k: series[k][1])
        labels.append(Label(_centre(i, pitch), TOP - 4, _num(top), "middle"))
    return Chart(
        title=title,
        summary=_summary([(d.strftime("%d/%m"), v) for d, v in series]),
        width=WIDTH,
        height=base + FONT + 8,
        marks=marks,
        labels=labels,
        axis=(LEFT, base, WIDTH - LEFT, base),
        head=(_("Day"), value_title),
        rows=[(d.strftime("%d/%m"), _num(v)) for d, v in series],
    )


def bars(title: str, head: tuple[str, str], points: Sequence[tuple[str, int]]) -> Chart:
    """One horizontal bar a point, in the order given: its name above it, its value after it."""
    top = max((v for _l, v in points), default=0)
    room = WIDTH - 2 * LEFT - VALUE_ROOM
    marks, labels = [], []
    for i, (label, value) in enumerate(points):
        y = PAD + i * ROW
        length = round(value * room / top, 1) if top else 0.0
        marks.append(Mark(LEFT, y + FONT + 6, length, BAR, f"{label}: {_num(value)}"))
        labels.append(Label(LEFT, y + FONT, label))
        labels.append(Label(LEFT + length + 4, y + FONT + 6 + BAR - 3, _num(value)))
    if not points:
        labels.append(Label(LEFT + 8, PAD + FONT + 6, _("Nothing this month.")))
    height = PAD + max(len(points), 1) * ROW + 2
    return Chart(
        title=title,
        summary=_summary(points),
        width=WIDTH,
        height=height,
        marks=marks,
        labels=labels,
        axis=(LEFT, 0, LEFT, height),
        head=head,
        rows=[(label, _num(v)) for label, v in points],
    )
