"""The people pages' chart geometry (web/charts.py): bars to scale, numbers grouped the reader's way,
days as dd/mm, every number also as text (the table under the picture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask, g

from stamp_service.web import charts


@pytest.fixture(params=["vi", "en"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    with Flask(__name__).test_request_context():
        g.lang = request.param
        yield request.param


def test_daily_columns_scale_to_the_highest_day_and_read_dd_mm(lang: str) -> None:
    first = date(2026, 12, 1)
    series = [(first + timedelta(days=i), n) for i, n in enumerate([0, 1000, 2000, 0, 500, 0, 0, 0, 0, 0])]
    chart = charts.daily_columns("Stamps issued per day", "Stamps issued", series)
    heights = [m.height for m in chart.marks]
    assert heights == [0.0, 60.0, 120.0, 0.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert all(m.y + m.height == chart.axis[1] for m in chart.marks)  # on the baseline
    assert chart.rows[2] == ("03/12", "2.000" if lang == "vi" else "2,000")
    assert [t.text for t in chart.labels] == ["01/12", "10/12", "2.000" if lang == "vi" else "2,000"]
    inside = charts.LEFT + charts.HALF_TEXT
    assert all(t.anchor == "middle" and inside <= t.x <= chart.width - inside for t in chart.labels)
    assert chart.marks[1].title == ("02/12/2026: 1.000" if lang == "vi" else "2 Dec 2026: 1,000")
    expected = {"vi": "Tổng 3.500; nhiều nhất: 03/12, 2.000.", "en": "Total 3,500; the most: 03/12, 2,000."}
    assert chart.summary == expected[lang]
    assert max(m.x + m.width for m in chart.marks) < chart.width / 2  # ten days: a third of a month wide


def test_bars_write_each_value_beside_its_bar_and_say_when_there_is_nothing(lang: str) -> None:
    chart = charts.bars(
        "Scans by area", ("Commune", "Scans"), [("Xã Phúc Trạch", 12000), ("Xã Hương Sơn", 3000)]
    )
    assert [m.width for m in chart.marks] == [280.0, 70.0]
    texts = [t.text for t in chart.labels]
    assert texts == [
        "Xã Phúc Trạch",
        "12.000" if lang == "vi" else "12,000",
        "Xã Hương Sơn",
        "3.000" if lang == "vi" else "3,000",
    ]
    assert all(t.x + 60 <= chart.width for t in chart.labels)
    empty = charts.bars("Revocations by area", ("Commune", "Revocations"), [])
    nothing = {"vi": "Không có trong tháng này.", "en": "Nothing this month."}[lang]
    assert empty.marks == [] and empty.rows == [] and [t.text for t in empty.labels] == [nothing]
    assert empty.summary == nothing
    zero = charts.daily_columns("Scans per day", "Scans", [(date(2026, 12, 1), 0)])
    assert (
        zero.summary == ("Tất cả đều bằng 0." if lang == "vi" else "All zero.") and zero.marks[0].height == 0
    )
