"""A producer's staff accounts (issue 11): the producer's administrator invites staff with a
one-time code, resets and deactivates them; staff do the daily work but cannot void stamps or
manage staff, in the pages (404) and in the API (403 problem+json); another producer's
administrator cannot see or touch them (404); the last administrator stays; CSRF on every form."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.errors import Conflict, NotFound
from stamp_service.services import accounts, reference
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import downgrade, upgrade
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.stamps import StampVoid
from tests.factories import make_producer
from tests.integration.test_migrations import empty_url  # noqa: F401  (fixture)
from tests.issuance_helpers import approve
from tests.people_support import csrf_token, make_person, post_form, sign_in
from tests.producer_support import World, producer_world, signed_in_client
from tests.stamp_factories import ensure_keyring

NEW_PASSWORD = "mật khẩu của Lan 2026"
_CODE = re.compile(r'<p class="secret">([A-Z0-9-]+)</p>')


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


def _account(session, name: str) -> Account:
    session.expire_all()
    return session.scalars(select(Account).where(Account.name == name)).one()


def _invite(admin: FlaskClient, name: str, display_name: str = "Nguyễn Thị Lan") -> str:
    resp = post_form(admin, "/producer/staff/new", {"name": name, "display_name": display_name})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    found = _CODE.search(resp.get_data(as_text=True))
    assert found, "no one-time code on the answer"
    return found.group(1)


def _first_sign_in(app, name: str, code: str) -> FlaskClient:
    """Sign in with the one-time code and choose a password, as the invited person does."""
    client = app.test_client()
    assert sign_in(client, name, code).status_code == 302
    assert client.get("/producer/lots/").headers["Location"].endswith("/account/password")
    resp = post_form(
        client,
        "/account/password",
        {"current_password": code, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def _staff(app, session, world: World, name: str = "lan") -> tuple[FlaskClient, FlaskClient, Account]:
    admin = signed_in_client(app, world.account)
    staff = _first_sign_in(app, name, _invite(admin, name))
    return admin, staff, _account(session, name)


def test_the_administrator_invites_staff_who_sign_in_with_the_one_time_code(app, session):
    world = producer_world(session, "htx-team")
    assert _account(session, "htx-team").producer_admin  # made by the office: the administrator
    admin, staff, lan = _staff(app, session, world)
    assert (lan.role, lan.producer_id, lan.producer_admin) == ("producer", world.producer.id, False)
    assert lan.display_name == "Nguyễn Thị Lan" and not lan.must_change_password
    listing = admin.get("/producer/staff/").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in listing and "Quản trị viên" in listing and "Nhân viên" in listing
    assert "Lần đăng nhập gần nhất" in listing and "chưa bao giờ" not in listing  # both signed in
    english = admin.get("/producer/staff/?lang=en").get_data(as_text=True)
    assert "Invite a staff member" in english and "Staff member" in english and "Last sign-in" in english
    created = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "account.create", AuditEntry.entity_id == str(lan.id))
    ).one()
    assert created.actor_account_id == _account(session, "htx-team").id
    assert created.after is not None and created.after["producer_admin"] is False
    mine = staff.get("/account/").get_data(as_text=True).split("<main")[1]
    assert "Chủ thể sản xuất · Nhân viên" in mine
    # The office sees who is who on its account page
    make_person(session, Role.ADMIN, name="office-team")
    office = signed_in_client(app, "office-team")
    seen = office.get(f"/console/accounts/{lan.id}").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in seen and "Nhân viên" in seen.split("<main")[1]
    # The staff member does the daily work...
    assert staff.get("/producer/").status_code == 200
    assert staff.get("/producer/lots/new").status_code == 200
    resp = post_form(
        staff,
        "/producer/lots/new",
        {
            "product_id": str(world.product.id),
            "lot_code": "NV-01",
            "production_date": "2026-11-20",
            "quantity": "100",
            "unit": "hộp",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    # ...but has no staff page, and no staff link in the menu
    home = staff.get("/producer/").get_data(as_text=True)
    assert "/producer/staff/" not in home and "/producer/staff/" in admin.get("/producer/").get_data(
        as_text=True
    )
    for path in ("/producer/staff/", "/producer/staff/new", f"/producer/staff/{lan.id}"):
        assert staff.get(path).status_code == 404, path
    token = csrf_token(staff, "/producer/lots/new")
    admin_id = _account(session, "htx-team").id
    for path in (f"/producer/staff/{admin_id}/deactivate", f"/producer/staff/{admin_id}/reset-password"):
        assert staff.post(path, data={"csrf_token": token, "confirm": "yes"}).status_code == 404, path
    assert _account(session, "htx-team").active


def test_staff_cannot_void_stamps_in_the_pages_or_the_api(app, client, session, admin, keyring):
    world = producer_world(session, "htx-void-team")
    boss, staff, lan = _staff(app, session, world, "lan-void")
    token = csrf_token(staff, "/producer/requests/new")
    page = staff.get(f"/producer/requests/new?lot_id={world.lot.id}").get_data(as_text=True)
    key = page.split('name="key" value="')[1].split('"')[0]
    resp = staff.post(
        "/producer/requests/new",
        data={"csrf_token": token, "key": key, "lot_id": str(world.lot.id), "quantity": "10"},
    )
    assert resp.status_code == 302  # staff request stamps
    request_id = int(resp.headers["Location"].split("/producer/requests/")[1].split("?")[0])
    assert approve(client, admin, request_id).get_json()["state"] == "issued"
    detail = staff.get(f"/producer/requests/{request_id}").get_data(as_text=True)
    assert "labels.pdf" in detail and f"/producer/requests/{request_id}/void" not in detail
    assert "Chỉ quản trị viên của cơ sở được huỷ tem" in detail
    assert staff.get(f"/producer/requests/{request_id}/labels.csv").status_code == 200  # staff download
    void = {"csrf_token": token, "seq_from": "1", "seq_to": "2", "confirm": "yes"}
    assert staff.post(f"/producer/requests/{request_id}/void", data=void).status_code == 404
    # The API applies the same rule: a staff member's token is refused with a 403 problem
    issued = accounts.issue_token(session, SYSTEM, account_id=lan.id, label="máy đóng gói")
    body = {
        "request_id": request_id,
        "seq_from": 1,
        "seq_to": 2,
        "reason_code": "spoiled",
        "reason": "in hỏng",
    }
    resp = client.post("/api/v1/voids", json=body, headers={"Authorization": f"Bearer {issued.token}"})
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["rule"] == "producer-administrator-only"
    assert session.scalars(select(StampVoid)).first() is None
    # and refuses it the accounts listing (only administrators manage accounts)
    listed = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {issued.token}"})
    assert listed.status_code == 403 and listed.mimetype == "application/problem+json"
    # The administrator voids
    boss_token = csrf_token(boss, f"/producer/requests/{request_id}")
    voided = boss.post(f"/producer/requests/{request_id}/void", data={**void, "csrf_token": boss_token})
    assert voided.status_code == 302
    assert [(v.seq_from, v.seq_to) for v in session.scalars(select(StampVoid))] == [(1, 2)]


def test_deactivation_stops_the_open_session_and_tokens_at_the_next_request(app, client, session):
    world = producer_world(session, "htx-stop")
    admin, staff, lan = _staff(app, session, world, "lan-stop")
    issued = accounts.issue_token(session, SYSTEM, account_id=lan.id)
    bearer = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/lots", headers=bearer).status_code == 200
    assert staff.get("/producer/lots/").status_code == 200
    refused = post_form(
        admin, f"/producer/staff/{lan.id}/deactivate", {}, form_page=f"/producer/staff/{lan.id}"
    )
    assert refused.status_code == 302 and _account(session, "lan-stop").active  # the box was not ticked
    resp = post_form(
        admin,
        f"/producer/staff/{lan.id}/deactivate",
        {"confirm": "yes"},
        form_page=f"/producer/staff/{lan.id}",
    )
    assert resp.status_code == 302
    assert "Tài khoản đã bị vô hiệu hóa" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert not _account(session, "lan-stop").active
    assert staff.get("/producer/lots/").headers["Location"].startswith("/signin")
    assert client.get("/api/v1/lots", headers=bearer).status_code == 401
    assert sign_in(app.test_client(), "lan-stop", NEW_PASSWORD).status_code != 302
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "account.deactivate", AuditEntry.entity_id == str(lan.id)
        )
    ).one()
    assert entry.actor_account_id == _account(session, "htx-stop").id
    assert entry.after == {"active": False, "sessions_ended": 1, "tokens_revoked": 1}


def test_reset_gives_a_new_one_time_code_and_ends_the_sessions(app, session):
    world = producer_world(session, "htx-reset")
    admin, staff, lan = _staff(app, session, world, "lan-reset")
    resp = post_form(
        admin, f"/producer/staff/{lan.id}/reset-password", {}, form_page=f"/producer/staff/{lan.id}"
    )
    found = _CODE.search(resp.get_data(as_text=True))
    assert resp.status_code == 200 and found
    assert f'href="/producer/staff/{lan.id}"' in resp.get_data(as_text=True)  # "Done" goes back here
    assert staff.get("/producer/lots/").headers["Location"].startswith("/signin")
    _first_sign_in(app, "lan-reset", found.group(1))
    assert (
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "account.reset_password", AuditEntry.entity_id == str(lan.id)
            )
        )
        .one()
        .actor_account_id
        == _account(session, "htx-reset").id
    )


def test_another_producers_administrator_cannot_see_or_touch_my_staff(app, client, session):
    mine = producer_world(session, "htx-mine")
    producer_world(session, "htx-other")
    _admin, _staff_client, lan = _staff(app, session, mine, "lan-mine")
    other = signed_in_client(app, "htx-other")
    assert "lan-mine" not in other.get("/producer/staff/").get_data(as_text=True)
    assert other.get(f"/producer/staff/{lan.id}").status_code == 404
    token = csrf_token(other, "/producer/staff/")
    for action in ("reset-password", "deactivate", "role"):
        resp = other.post(
            f"/producer/staff/{lan.id}/{action}",
            data={"csrf_token": token, "confirm": "yes", "producer_admin": "yes"},
        )
        assert resp.status_code == 404, action
    lan_now = _account(session, "lan-mine")
    assert lan_now.active and not lan_now.producer_admin and not lan_now.must_change_password
    # The API: the other administrator's token lists its own producer's accounts only
    other_token = accounts.issue_token(session, SYSTEM, account_id=_account(session, "htx-other").id)
    listed = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {other_token.token}"})
    assert [a["name"] for a in listed.get_json()["items"]] == ["htx-other"]
    assert listed.get_json()["items"][0]["producer_admin"] is True
    # and the service answers not found for the other producer's account, whatever the way in
    other_admin = accounts.principal_of(_account(session, "htx-other"))
    for call in (
        lambda: accounts.get_account(session, other_admin, lan.id),
        lambda: accounts.deactivate_account(session, other_admin, lan.id),
        lambda: accounts.reset_password(session, other_admin, lan.id),
        lambda: accounts.set_producer_admin(session, other_admin, lan.id, admin=True),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):  # nor invite staff into another producer
        accounts.create_account_with_code(
            session, other_admin, name="intruder", role=Role.PRODUCER, producer_id=mine.producer.id
        )


def test_the_last_administrator_stays(app, client, session, admin):
    world = producer_world(session, "htx-last")
    boss, staff, lan = _staff(app, session, world, "lan-last")
    me = _account(session, "htx-last")
    form = f"/producer/staff/{me.id}"
    resp = post_form(boss, f"/producer/staff/{me.id}/role", {"producer_admin": "no"}, form_page=form)
    assert "Đây là quản trị viên cuối cùng" in boss.get(resp.headers["Location"]).get_data(as_text=True)
    assert _account(session, "htx-last").producer_admin
    resp = post_form(boss, f"/producer/staff/{me.id}/deactivate", {"confirm": "yes"}, form_page=form)
    assert "Bạn không thể tự vô hiệu hóa tài khoản của mình" in boss.get(resp.headers["Location"]).get_data(
        as_text=True
    )
    assert _account(session, "htx-last").active
    # The office cannot demote the last administrator either (it may deactivate the account)
    office = accounts.principal_of(session.get(Account, admin.account_id))
    with pytest.raises(Conflict):
        accounts.set_producer_admin(session, office, me.id, admin=False)
    # With a second administrator, the first may step down; the second is then the last one
    post_form(
        boss,
        f"/producer/staff/{lan.id}/role",
        {"producer_admin": "yes"},
        form_page=f"/producer/staff/{lan.id}",
    )
    assert _account(session, "lan-last").producer_admin
    assert staff.get("/producer/staff/").status_code == 200  # the next request sees the new role
    resp = post_form(boss, f"/producer/staff/{me.id}/role", {"producer_admin": "no"}, form_page=form)
    assert resp.headers["Location"] == "/producer/" and not _account(session, "htx-last").producer_admin
    assert boss.get("/producer/staff/").status_code == 404
    lan_admin = accounts.principal_of(_account(session, "lan-last"))
    with pytest.raises(Conflict):
        accounts.set_producer_admin(session, lan_admin, lan.id, admin=False)
    changes = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "account.set_producer_admin").order_by(AuditEntry.id)
    ).all()
    assert [c.after for c in changes] == [{"producer_admin": True}, {"producer_admin": False}]


def test_staff_forms_refuse_a_missing_or_foreign_csrf_token(app, session):
    world = producer_world(session, "htx-csrf")
    admin, _staff_client, lan = _staff(app, session, world, "lan-csrf")
    stranger = signed_in_client(app, world.account)  # another browser of the same person
    foreign = csrf_token(stranger, "/producer/staff/")
    for data in ({}, {"csrf_token": foreign}):
        assert (
            admin.post("/producer/staff/new", data={**data, "name": "x-nv", "display_name": "X"}).status_code
            == 400
        )
        assert (
            admin.post(f"/producer/staff/{lan.id}/deactivate", data={**data, "confirm": "yes"}).status_code
            == 400
        )
        assert admin.post(f"/producer/staff/{lan.id}/reset-password", data=data).status_code == 400
        role = {**data, "producer_admin": "yes"}
        assert admin.post(f"/producer/staff/{lan.id}/role", data=role).status_code == 400
    assert session.scalars(select(Account).where(Account.name == "x-nv")).first() is None
    lan_now = _account(session, "lan-csrf")
    assert lan_now.active and not lan_now.producer_admin and not lan_now.must_change_password


def test_invite_form_errors_are_next_to_their_fields(app, session):
    world = producer_world(session, "htx-form")
    admin = signed_in_client(app, world.account)
    resp = post_form(admin, "/producer/staff/new", {"name": "có dấu cách", "display_name": " "})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="f-name-error"' in html and 'id="f-display_name-error"' in html
    resp = post_form(admin, "/producer/staff/new", {"name": "htx-form", "display_name": "Trùng tên"})
    assert resp.status_code == 422 and "Đã có tài khoản với tên này" in resp.get_data(as_text=True)


def test_existing_producer_accounts_become_administrators_in_the_migration(empty_url, tmp_path):  # noqa: F811
    """0011_producer_team: producer accounts made before it keep every right they had."""
    engine = make_engine(empty_url)
    try:
        upgrade(engine)  # today's models write the accounts, then the schema goes back to 0009
        with make_session_factory(engine)() as s:
            reference.load_builtin(s, SYSTEM)
            producer = make_producer(s)
            make_person(s, Role.PRODUCER, name="htx-old", producer_id=producer.id)
            make_person(s, Role.ADMIN, name="office-old")
        downgrade(engine, "0009_producer")
        upgrade(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT name, producer_admin FROM accounts")).all())
        assert {name: bool(flag) for name, flag in rows.items()} == {"htx-old": True, "office-old": False}
        with engine.begin() as conn, pytest.raises(IntegrityError):  # only producer accounts
            conn.execute(
                sa.text("UPDATE accounts SET producer_admin = :y WHERE name = 'office-old'"), {"y": True}
            )
    finally:
        engine.dispose()
