"""The monthly report page: figures by area within the province, CSV and XLSX downloads."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from tests.people_support import make_person, sign_in
from tests.province_world import build_world


@pytest.fixture()
def world(session, settings):
    return build_world(session, settings.keys_dir)


def _this_month() -> str:
    return local_today().strftime("%Y-%m")


def test_a_province_sees_its_communes_figures(client, session, world):
    make_person(session, Role.ADMIN, name="ht-stats", province_code="42")
    sign_in(client, "ht-stats")
    html = client.get(f"/console/statistics/?month={_this_month()}").get_data(as_text=True)
    assert "Xã Phúc Trạch" in html and "Xã Hà Trung" not in html  # Thanh Hóa's commune
    # 4-star product valid, 3 stamps issued, no scans, a lot recalled + a range voided this month.
    row = html.split("Xã Phúc Trạch</th>", 1)[1].split("</tr>", 1)[0]
    assert row.count("<td>") == 6
    assert [c.split("</td>")[0] for c in row.split("<td>")[1:]] == ["0", "1", "0", "3", "0", "2"]
    november = client.get("/console/statistics/?month=2026-11").get_data(as_text=True)
    row = november.split("Xã Phúc Trạch</th>", 1)[1].split("</tr>", 1)[0]
    assert [c.split("</td>")[0] for c in row.split("<td>")[1:]][-1] == "1"  # the withdrawal of 18/11
    bad = client.get("/console/statistics/?month=2026-13")
    assert bad.status_code == 422 and 'id="f-month-error"' in bad.get_data(as_text=True)


def test_downloads_in_csv_and_xlsx(client, session, world):
    make_person(session, Role.ADMIN, name="central-stats")
    sign_in(client, "central-stats")
    month = _this_month()
    resp = client.get(f"/console/statistics/?month={month}&format=csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Tỉnh" and rows[0][4] == "Tem đã cấp"
    assert [r[0] for r in rows[1:]] == ["Tỉnh Hà Tĩnh", "Tỉnh Thanh Hóa", "Tổng"]
    assert rows[-1][4] == "6"  # 3 stamps issued in each province
    xlsx = client.get(f"/console/statistics/?month={month}&level=commune&format=xlsx&lang=en")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:2] == ["Commune", "Products with 3 stars"]
    assert {r[0] for r in values[1:-1]} == {"Xã Phúc Trạch", "Xã Hà Trung"}
    assert values[-1][0] == "Total" and values[-1][4] == 6
