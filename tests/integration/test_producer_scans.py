"""Scans of my products: per day (the SVG chart) and per province, clone alerts with the rule
that fired, and consumers' reports (without their contact); another producer's scans never show."""

from __future__ import annotations

import re
from datetime import timedelta

from stamp_service.domain import serials
from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.scans import ConsumerReport, Scan, ScanCounter
from stamp_service.web.i18n import translations
from tests.people_support import make_person
from tests.producer_support import signed_in_client
from tests.stamp_factories import ensure_keyring, make_issued_batch


def _scan(session, serial: int, when, province: str | None) -> None:
    session.add(
        Scan(serial=serial, scanned_at=when, client_hash=b"0" * 16, province_code=province, browser="chrome")
    )


def test_scans_chart_alerts_and_reports_are_the_producers_own(app, session, settings):
    keyring = ensure_keyring(session, settings.keys_dir)
    mine = make_issued_batch(session, keyring, n=3)
    theirs = make_issued_batch(session, keyring, n=2)
    make_person(session, Role.PRODUCER, name="htx-scans", producer_id=mine.producer.id)
    now = utcnow()
    for _ in range(4):
        _scan(session, mine.stamps[0].serial, now, "42")
    _scan(session, mine.stamps[1].serial, now - timedelta(days=2), None)
    for _ in range(7):
        _scan(session, theirs.stamps[0].serial, now, "01")
    session.add(
        ScanCounter(
            serial=mine.stamps[2].serial,
            scans=25,
            first_at=now - timedelta(days=3),
            last_at=now,
            clients=9,
            provinces=4,
        )
    )
    session.add(
        ScanCounter(
            serial=theirs.stamps[1].serial, scans=99, first_at=now, last_at=now, clients=9, provinces=9
        )
    )
    session.add(
        ConsumerReport(
            serial=mine.stamps[0].serial,
            problem="fake_goods",
            shop_name="Tạp hoá Minh Anh",
            contact="0912 345 678",
            client_hash=b"1" * 16,
        )
    )
    session.add(
        ConsumerReport(
            serial=theirs.stamps[0].serial,
            problem="no_stamp",
            shop_name="Cửa hàng khác",
            client_hash=b"2" * 16,
        )
    )
    session.commit()

    page = signed_in_client(app, "htx-scans").get("/producer/scans/").get_data(as_text=True)
    assert "5 lượt quét trong 30 ngày" in page  # 4 today + 1 two days ago; the other producer's 7 not
    today = local_today()
    assert f"<title>{today.strftime('%d/%m/%Y')}: 4</title>" in page
    assert f"<title>{(today - timedelta(days=2)).strftime('%d/%m/%Y')}: 1</title>" in page
    provinces = page[page.index('id="per-province"') : page.index('id="first-places"')]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', provinces)
    assert sorted(rows) == [("Không chia sẻ", "1"), ("Tỉnh Hà Tĩnh", "4")], rows  # not their 7 in 01
    assert 'role="img" aria-labelledby="chart-provinces-title"' in provinces
    mine_serial = serials.format_serial(serials.from_db(mine.stamps[2].serial))
    theirs_serial = serials.format_serial(serials.from_db(theirs.stamps[1].serial))
    assert (
        mine_serial in page and "Bị quét quá nhiều lần" in page and "Bị nhiều người quét ở nhiều tỉnh" in page
    )
    assert theirs_serial not in page
    fake = translations("vi").gettext("The goods look fake")  # the console shows the same words
    assert "Tạp hoá Minh Anh" in page and fake in page
    assert "0912 345 678" not in page and "Cửa hàng khác" not in page


def test_first_scan_places_count_each_stamp_once_where_it_was_first_scanned(app, session, settings):
    keyring = ensure_keyring(session, settings.keys_dir)
    mine = make_issued_batch(session, keyring, n=5)
    theirs = make_issued_batch(session, keyring, n=1)
    make_person(session, Role.PRODUCER, name="htx-first", producer_id=mine.producer.id)
    now = utcnow()
    # Stamp 0: first in Hà Tĩnh (42), later many times in Thanh Hóa (38): one stamp for Hà Tĩnh.
    _scan(session, mine.stamps[0].serial, now - timedelta(days=40), "42")
    for _ in range(5):
        _scan(session, mine.stamps[0].serial, now, "38")
    _scan(session, mine.stamps[1].serial, now - timedelta(days=1), "42")
    _scan(session, mine.stamps[2].serial, now, "38")
    _scan(session, mine.stamps[3].serial, now, None)  # the shopper did not share a province
    # Stamp 4: opened without a province, shared (Thanh Hóa) a minute later: counted there.
    _scan(session, mine.stamps[4].serial, now - timedelta(minutes=1), None)
    _scan(session, mine.stamps[4].serial, now, "38")
    for _ in range(3):
        _scan(session, theirs.stamps[0].serial, now, "99")
    session.commit()

    page = signed_in_client(app, "htx-first").get("/producer/scans/").get_data(as_text=True)
    places = page[page.index('id="first-places"') : page.index('id="alerts"')]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', places)
    assert rows == [
        ("Tỉnh Thanh Hóa", "2"),  # a tie: by province code (38 before 42)
        ("Tỉnh Hà Tĩnh", "2"),
        ("Không chia sẻ", "1"),
    ], rows
    assert ">99<" not in places  # the other producer's stamp
    widths = re.findall(r'<rect class="bar" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', places)
    assert widths[0] == widths[1] and float(widths[2]) == float(widths[0]) / 2, widths
