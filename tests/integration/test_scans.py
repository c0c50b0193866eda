"""Scan log: live counters in the store, batch flush to the database, seeding, clone signals, CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from stamp_service.adapters.redis import Store
from stamp_service.domain import serials
from stamp_service.services.scans import ScanEvent, ScanLog
from stamp_service.storage.models.scans import Scan, ScanCounter
from tests import verify_support as vs
from tests.conftest import REDIS_URL
from tests.stamp_factories import ensure_keyring, make_issued_batch


@pytest.fixture()
def store():
    s = Store(REDIS_URL)
    if s.redis is not None:
        s.redis.flushdb()
    return s


def ev(serial: int, client: int, *, at: datetime | None = None, province: str | None = None) -> ScanEvent:
    return ScanEvent(serial, at or datetime.now(UTC), bytes([client]) * 16, province, "chrome")


def test_counts_dedupes_and_flushes_in_batches(session, session_factory, store):
    log = ScanLog(store, flush_batch=3)
    serial = serials.generate()
    first = log.record(ev(serial, 1), None)
    assert first.counted and first.stats.scans == 1 and first.stats.clients == 1
    assert not log.record(ev(serial, 1), None).counted  # same client again: logged, not counted
    rec = log.record(ev(serial, 2, province="42"), None)
    rec = log.record(ev(serial, 3, province="44"), None)
    assert (rec.stats.scans, rec.stats.clients, rec.stats.provinces) == (3, 3, 2)
    assert log.flush(session_factory) == 4
    rows = session.query(Scan).filter_by(serial=serials.to_db(serial)).all()
    assert (
        len(rows) == 4 and sum(r.counted for r in rows) == 3 and all(len(r.client_hash) == 16 for r in rows)
    )
    counter = session.get(ScanCounter, serials.to_db(serial))
    assert (counter.scans, counter.clients, counter.provinces) == (3, 3, 2)
    assert log.flush(session_factory) == 0


def test_a_later_flush_updates_the_totals_of_a_stamp_already_in_the_database(session, session_factory, store):
    """The flusher's two writes of the totals: an INSERT for a stamp new to ``scan_counters``, an
    UPDATE for one already there (the live counters grow; the first time stays, the last moves)."""
    log = ScanLog(store)
    serial = serials.generate()
    early = datetime.now(UTC) - timedelta(minutes=5)
    log.record(ev(serial, 1, at=early), None)
    assert log.flush(session_factory) == 1
    log.record(ev(serial, 2, province="42"), None)
    log.record(ev(serial, 3, province="44"), None)
    assert log.flush(session_factory) == 2
    session.expire_all()
    counter = session.get(ScanCounter, serials.to_db(serial))
    assert (counter.scans, counter.clients, counter.provinces) == (3, 3, 2)
    assert abs(counter.first_at - early) < timedelta(seconds=1) and counter.last_at > early + timedelta(
        minutes=4
    )


def test_a_store_that_lost_its_counters_is_seeded_from_the_database(session, session_factory, store):
    serial = serials.generate()
    start = datetime.now(UTC) - timedelta(days=30)
    session.add(
        ScanCounter(
            serial=serials.to_db(serial), scans=40, first_at=start, last_at=start, clients=7, provinces=4
        )
    )
    session.commit()
    fresh = ScanLog(store)
    stored = session.get(ScanCounter, serials.to_db(serial))  # read with the stamp on the page
    rec = fresh.record(ev(serial, 9), stored)
    assert (
        rec.stats.scans == 41
        and rec.stats.clients == 7
        and rec.stats.first_at <= start + timedelta(seconds=1)
    )
    assert fresh.record(ev(serial, 10), stored).stats.scans == 42  # seeded once only


def test_stats_without_counting(session, store):
    log = ScanLog(store)
    serial = serials.generate()
    assert log.stats(session, serial).scans == 0
    log.record(ev(serial, 1), None)
    assert log.stats(session, serial).scans == 1


def test_page_scans_reach_the_database_and_the_cli_flush(app, client, session, settings, monkeypatch):
    from stamp_service.cli import main
    from stamp_service.services.scans import scan_log_for

    keyring = ensure_keyring(session, settings.keys_dir)
    batch = make_issued_batch(session, keyring, n=1)
    path = vs.path_of(batch.urls[0])
    for i in range(3):
        client.get(
            path + "?p=42",
            headers={"User-Agent": "Mozilla/5.0 Zalo/23"},
            environ_base={"REMOTE_ADDR": f"10.2.0.{i}"},
        )
    rt = app.extensions["ocop"]
    if rt.store.redis is not None:  # the CLI is another process: it sees the queue only through Redis
        monkeypatch.setattr("stamp_service.cli.Context.runtime", property(lambda self: rt))
        result = CliRunner().invoke(main, ["scans", "flush"])
        assert result.exit_code == 0 and result.output.startswith("3 scans written"), result.output
    else:
        assert scan_log_for(rt).flush(rt.session_factory) == 3
    rows = session.query(Scan).filter_by(serial=batch.stamps[0].serial).all()
    assert {r.browser for r in rows} == {"zalo"} and {r.province_code for r in rows} == {"42"}
    assert all(b"10.2.0" not in r.client_hash for r in rows)
    html = client.get(path).get_data(as_text=True)
    assert "Đã được kiểm tra 4 lần" in html


def test_places_rule_makes_a_stamp_suspicious(app, client, session, settings):
    from stamp_service.storage.models.reference import AdministrativeUnit

    session.add(AdministrativeUnit(code="40", name="Tỉnh Nghệ An", level="province", province_code="40"))
    session.commit()
    keyring = ensure_keyring(session, settings.keys_dir)
    batch = make_issued_batch(session, keyring, n=1)
    path = vs.path_of(batch.urls[0])
    for i, province in enumerate(("42", "38", "40")):
        html = client.get(f"{path}?p={province}", environ_base={"REMOTE_ADDR": f"10.3.0.{i}"}).get_data(
            as_text=True
        )
    assert 'class="v suspicious"' in html
    body = client.get(f"/api/v1/verify/{batch.tokens[0]}").json
    assert body["verdict"] == "suspicious" and body["scans"]["clone_signals"] == ["places"]
