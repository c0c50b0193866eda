"""The monthly report page: figures by area within the province, its charts, CSV and XLSX downloads;
the console home's days add up to the report's month."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from stamp_service.domain.access import Role
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.services import accounts, console_home, monthly_reports
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.scans import Scan
from stamp_service.storage.models.stamps import Stamp
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


def test_scans_count_in_the_report_and_add_up_to_the_homes_days(client, session, world):
    """Counted scans of the month in the province (a repeat, last month's and another province's
    not), the same figure on the report and summed over the console home's days."""

    def first_stamp(province: str) -> int:
        request_id = world.provinces[province].request_id
        return session.scalar(select(Stamp.serial).where(Stamp.request_id == request_id, Stamp.seq == 1))

    today = local_today()
    this_morning = datetime.combine(today, time(8), VN_TZ)
    month_start = datetime.combine(today.replace(day=1), time.min, VN_TZ)
    ha_tinh, thanh_hoa = first_stamp("42"), first_stamp("38")
    for serial, when, counted in [
        (ha_tinh, this_morning, True),
        (ha_tinh, month_start, True),  # the month's first moment counts
        (ha_tinh, this_morning, False),  # a repeat from the same client
        (ha_tinh, month_start - timedelta(seconds=1), True),  # last month
        (thanh_hoa, this_morning, True),  # another province
    ]:
        session.add(
            Scan(serial=serial, scanned_at=when, client_hash=b"c" * 16, browser="chrome", counted=counted)
        )
    session.commit()

    account_id = make_person(session, Role.ADMIN, name="ht-scans", province_code="42")
    sign_in(client, "ht-scans")
    html = client.get(f"/console/statistics/?month={_this_month()}").get_data(as_text=True)
    row = html.split("Xã Phúc Trạch</th>", 1)[1].split("</tr>", 1)[0]
    assert [c.split("</td>")[0] for c in row.split("<td>")[1:]][4] == "2"
    assert "<title>Xã Phúc Trạch: 2</title>" in html  # the scans chart's bar

    office = accounts.principal_of(session.get(Account, account_id))
    report = monthly_reports.monthly_report(
        session, office, year=today.year, month=today.month, level="commune"
    )
    month = console_home.month_activity(session, office, today)
    assert sum(n for _d, n in month.scans) == report.totals["scans"] == 2
    assert sum(n for _d, n in month.stamps_issued) == report.totals["stamps_issued"] == 3
    assert month.scans[0][0] == today.replace(day=1) and month.scans[-1][0] == today
    expected = {today.replace(day=1): 1} if today.day > 1 else {}
    expected[today] = expected.get(today, 0) + 1
    assert {d: n for d, n in month.scans if n} == expected
