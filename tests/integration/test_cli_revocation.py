"""The revocation CLI on its own SQLite database: expiry notice, withdrawal (idempotent), errors, bundle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from stamp_service.cli import main
from stamp_service.domain.certification import local_today
from stamp_service.storage.db import make_engine, make_session_factory
from tests.factories import make_certificate, make_lot, make_producer, make_product


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    (tmp_path / "keys").mkdir()
    for name, value in {
        "DATABASE_URL": url,
        "OCOP_VAR_DIR": str(tmp_path),
        "OCOP_KEYS_DIR": str(tmp_path / "keys"),
        "OCOP_LOG_FORMAT": "text",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    for args in (["migrate"], ["reference", "load"], ["keys", "create"]):
        assert runner.invoke(main, args).exit_code == 0
    engine = make_engine(url)
    yield runner, make_session_factory(engine)
    engine.dispose()


def test_expiring_withdraw_recall_and_bundle(cli_env):
    runner, factory = cli_env
    with factory() as session:
        product = make_product(session, make_producer(session).id)
        soon = (local_today() + timedelta(days=20)).isoformat()
        cert = make_certificate(session, product.id, decision_number="2154/QĐ-UBND", valid_until=soon)
        lot = make_lot(session, product.id)
        cert_id, lot_id = cert.id, lot.id
    out = runner.invoke(main, ["revocation", "expiring"])
    assert out.exit_code == 0 and "2154/QĐ-UBND" in out.output and "1 certificate(s)" in out.output
    assert "2154/QĐ-UBND" not in runner.invoke(main, ["revocation", "expiring", "--days", "10"]).output
    args = [
        "revocation",
        "withdraw",
        str(cert_id),
        "--decision-number",
        "3763/QĐ-UBND",
        "--decided-on",
        "2026-11-18",
        "--authority",
        "UBND tỉnh Hà Tĩnh",
        "--reason",
        "vi phạm chất lượng",
    ]
    first = runner.invoke(main, args)
    assert first.exit_code == 0 and f"certificate {cert_id} withdrawn" in first.output
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "nothing changed" in again.output
    bad = runner.invoke(main, [*args[:3], "--decision-number", "x", *args[5:]])
    assert bad.exit_code != 0 and "error:" in bad.output
    recall = runner.invoke(main, ["revocation", "recall", str(lot_id), "--reason", "nghi nhiễm khuẩn"])
    assert recall.exit_code == 0 and "recalled" in recall.output
    built = runner.invoke(main, ["revocation", "bundle"])
    assert built.exit_code == 0 and built.output.startswith("status bundle 1:")
    assert runner.invoke(main, ["revocation", "bundle"]).output.startswith("status bundle 2:")


def test_recall_and_lift_recall_are_one_command_shape(cli_env):
    runner, factory = cli_env
    with factory() as session:
        lot_id = make_lot(session, make_product(session, make_producer(session).id).id).id
    decided = ["--decision-number", "15/QĐ-CCATTP", "--decided-on", "2026-11-20", "--authority", "Chi cục"]
    steps = [
        (["recall", str(lot_id), "--reason", "nhiễm khuẩn", *decided], f"lot {lot_id} recalled"),
        (["recall", str(lot_id), "--reason", "nhiễm khuẩn"], "already recalled (nothing changed)"),
        (["lift-recall", str(lot_id), "--reason", "đạt khi kiểm lại"], f"lot {lot_id} recall lifted"),
        (["lift-recall", str(lot_id), "--reason", "đạt"], "not recalled (nothing changed)"),
    ]
    for args, said in steps:
        out = runner.invoke(main, ["revocation", *args])
        assert out.exit_code == 0 and said in out.output, out.output
    half = runner.invoke(
        main, ["revocation", "recall", str(lot_id), "--reason", "x", "--decided-on", "2026-11-20"]
    )
    assert half.exit_code != 0 and "--decision-number" in half.output
    for name, text in (("recall", "Recall a lot"), ("lift-recall", "Lift a lot's recall")):
        assert text in runner.invoke(main, ["revocation", name, "--help"]).output
    assert runner.invoke(main, ["revocation", "lift-recall", "999999", "--reason", "x"]).exit_code != 0
