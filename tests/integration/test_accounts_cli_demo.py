"""The accounts CLI (one-time codes, typed passwords, tokens) and the demo sign-ins ``make run`` prints."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from stamp_service import demo, demo_people
from stamp_service.cli import main
from stamp_service.crypto import passwords
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.models.accounts import Account
from tests.people_support import sign_in


@pytest.fixture()
def cli(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    for name, value in {
        "DATABASE_URL": url,
        "OCOP_VAR_DIR": str(tmp_path),
        "OCOP_KEYS_DIR": str(tmp_path),
        "OCOP_LOG_FORMAT": "text",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    for args in (["migrate"], ["reference", "load"]):
        assert runner.invoke(main, args).exit_code == 0
    engine = make_engine(url)
    yield runner, make_session_factory(engine)
    engine.dispose()


def test_create_with_a_one_time_code_or_a_typed_password(cli):
    runner, factory = cli
    made = runner.invoke(main, ["accounts", "create", "ha-tinh-clerk", "--role", "admin", "--province", "42"])
    assert made.exit_code == 0, made.output
    code = made.output.strip().splitlines()[-1]
    with factory() as session:
        account = session.query(Account).filter_by(name="ha-tinh-clerk").one()
        assert account.must_change_password and passwords.verify(account.password_hash, code).ok
    typed = runner.invoke(
        main,
        ["accounts", "create", "inspector-1", "--role", "inspector", "--password-prompt", "--token"],
        input="a long password 1\na long password 1\n",
    )
    assert typed.exit_code == 0, typed.output
    assert "ocop_" in typed.output and "a long password 1" not in typed.output  # never echoed
    short = runner.invoke(main, ["accounts", "set-password", str(account.id)], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 10" in short.output
    ok = runner.invoke(
        main, ["accounts", "set-password", str(account.id)], input="x" * 12 + "\n" + "x" * 12 + "\n"
    )
    assert ok.exit_code == 0
    with factory() as session:
        inspector = session.query(Account).filter_by(name="inspector-1").one()
    listed = runner.invoke(main, ["accounts", "tokens", str(inspector.id)])
    token_id = listed.output.split("\t")[0]
    assert listed.exit_code == 0 and "active" in listed.output and "expires 20" in listed.output
    assert runner.invoke(main, ["accounts", "revoke-token", token_id]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["accounts", "tokens", str(inspector.id)]).output
    again = runner.invoke(main, ["accounts", "revoke-token", token_id])
    assert again.exit_code == 2 and "already revoked" in again.output


def test_demo_sign_ins_work_on_the_pages(app, session_factory):
    runtime = SimpleNamespace(session_factory=session_factory)
    list(demo.prepare(runtime))  # type: ignore[arg-type]
    lines = list(demo_people.prepare(runtime))  # type: ignore[arg-type]
    people = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    assert set(people) == {
        "hatinh-admin",
        "thanhhoa-admin",
        "central-admin",
        "hatinh-inspector",
        demo.DEMO_PRODUCER_ACCOUNT,
        demo_people.DEMO_PRODUCER_STAFF,
    }
    with session_factory() as session:
        provinces = {a.name: a.province_code for a in session.query(Account).filter(Account.name.in_(people))}
    assert provinces["hatinh-admin"] == "42" and provinces["thanhhoa-admin"] == "38"
    assert provinces["central-admin"] is None and provinces["hatinh-inspector"] == "42"
    with session_factory() as session:
        admins = {a.name: a.producer_admin for a in session.query(Account).filter(Account.role == "producer")}
    assert admins == {demo.DEMO_PRODUCER_ACCOUNT: True, demo_people.DEMO_PRODUCER_STAFF: False}
    for name, home in (
        ("hatinh-admin", "/console/"),
        (demo.DEMO_PRODUCER_ACCOUNT, "/producer/"),
        (demo_people.DEMO_PRODUCER_STAFF, "/producer/"),
    ):
        client = app.test_client()
        assert sign_in(client, name, people[name]).headers["Location"] == home
        assert client.get(home).status_code == 200
        staff_page = client.get("/producer/staff/").status_code
        assert staff_page == {"hatinh-admin": 403, demo.DEMO_PRODUCER_ACCOUNT: 200}.get(name, 404), name
    again = {
        line.split()[0]: line.split()[1] for line in demo_people.prepare(runtime) if line.startswith("  ")
    }  # type: ignore[arg-type]
    assert again["hatinh-admin"] != people["hatinh-admin"]  # new on each start
