"""Sign-in, sessions, CSRF, lockout, deactivation, token expiry and the second factor, through the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import accounts
from stamp_service.storage.models.accounts import Account, ApiToken, WebSession
from stamp_service.storage.models.audit import AuditEntry
from tests.factories import make_caller, make_producer
from tests.people_support import PASSWORD, csrf_token, make_person, post_form, sign_in

COOKIE = "__Host-ocop_session"


@pytest.fixture()
def settings(settings):
    return settings.with_overrides(signin_account_failures=3, signin_client_failures=6)


def _cookie(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def _audit(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return session.query(AuditEntry).filter_by(action=action).order_by(AuditEntry.id).all()


def test_sign_in_lands_on_the_console_and_sign_out_ends_the_session(client, session):
    make_person(session, Role.ADMIN, name="lan")
    assert client.get("/console/").status_code == 302  # not signed in: to the sign-in page
    resp = sign_in(client, "lan")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"
    header = resp.headers.getlist("Set-Cookie")
    session_cookie = next(h for h in header if h.startswith(COOKIE))
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in session_cookie
    page = client.get("/console/")
    assert page.status_code == 200 and "Bảng điều khiển" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    value = _cookie(client)
    out = post_form(client, "/signout", {}, form_page="/account/")
    assert out.status_code == 302 and out.headers["Location"] == "/signin"
    assert client.get("/console/").status_code == 302
    client.set_cookie(COOKIE, value)  # the old cookie, replayed: the session is gone
    assert client.get("/console/").headers["Location"].startswith("/signin")
    assert [e.actor for e in _audit(session, "signin.success")] == ["admin:lan"]


def test_producer_lands_on_the_producer_home_and_may_not_open_the_console(client, session):
    producer = make_producer(session)
    make_person(session, Role.PRODUCER, name="htx-a", producer_id=producer.id)
    assert sign_in(client, "htx-a").headers["Location"] == "/producer/"
    home = client.get("/producer/")
    assert home.status_code == 200 and producer.name in home.get_data(as_text=True)
    refused = client.get("/console/")
    assert refused.status_code == 403 and "Bạn không được mở trang này" in refused.get_data(as_text=True)


def test_wrong_password_is_shown_next_to_the_field_in_vietnamese_and_english(client, session):
    make_person(session, Role.ADMIN, name="minh")
    resp = sign_in(client, "minh", "wrong password!")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert 'id="f-password-error"' in html and "Tên đăng nhập hoặc mật khẩu không đúng." in html
    client.get("/signin?lang=en")
    english = sign_in(client, "minh", "wrong password!").get_data(as_text=True)
    assert "The user name or password is wrong." in english


def test_forms_without_a_csrf_token_are_refused(client, session):
    make_person(session, Role.ADMIN, name="quang")
    refused = client.post("/signin", data={"name": "quang", "password": PASSWORD})
    assert refused.status_code == 400 and _cookie(client) is None
    assert "Không thể nhận biểu mẫu" in refused.get_data(as_text=True)
    sign_in(client, "quang")
    assert client.post("/account/sessions/end-all").status_code == 400
    assert client.post("/signout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/console/").status_code == 200  # still signed in


def test_the_json_api_is_not_csrf_checked_and_ignores_the_session_cookie(client, session):
    make_person(session, Role.ADMIN, name="api-person")
    sign_in(client, "api-person")
    # A signed-in browser's cookie is no credential for the API: only the bearer header is.
    assert client.get("/api/v1/accounts").status_code == 401
    admin = make_caller(session, Role.ADMIN)
    assert client.post("/api/v1/accounts/999999/tokens", json={}, headers=admin.headers).status_code == 404


def test_sign_in_starts_a_new_session_id_never_a_planted_one(client, session):
    make_person(session, Role.ADMIN, name="fix")
    client.set_cookie(COOKIE, "planted-by-an-attacker")
    before_form = client.get_cookie("ocop_form")
    sign_in(client, "fix")
    first = _cookie(client)
    assert first and first != "planted-by-an-attacker"
    assert client.get("/console/").status_code == 200
    sign_in(client, "fix")
    assert _cookie(client) != first  # every sign-in is a new id
    assert before_form is None or client.get_cookie("ocop_form").value != before_form.value
    session.expire_all()
    assert session.query(WebSession).filter(WebSession.id_hash == first).count() == 0  # only hashes


def test_sign_out_everywhere_ends_every_browser(app, session):
    make_person(session, Role.ADMIN, name="nga")
    phone, desk = app.test_client(), app.test_client()
    sign_in(phone, "nga")
    sign_in(desk, "nga")
    assert desk.get("/account/").get_data(as_text=True).count("lần cuối") == 2  # both sessions listed
    resp = post_form(phone, "/account/sessions/end-all", {}, form_page="/account/")
    assert resp.headers["Location"] == "/signin"
    assert desk.get("/console/").status_code == 302 and phone.get("/console/").status_code == 302
    assert _audit(session, "session.end_all")[-1].after["sessions_ended"] == 2


def test_idle_and_absolute_lifetime_end_a_session(client, session):
    make_person(session, Role.ADMIN, name="idle")
    sign_in(client, "idle")
    session.expire_all()
    row = session.query(WebSession).order_by(WebSession.id.desc()).first()
    row.last_seen_at = datetime.now(UTC) - timedelta(minutes=31)
    session.commit()
    assert client.get("/console/").status_code == 302
    sign_in(client, "idle")
    session.expire_all()
    row = session.query(WebSession).order_by(WebSession.id.desc()).first()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    assert client.get("/console/").status_code == 302


def test_lockout_after_repeated_failures_is_audited(client, session):
    make_person(session, Role.ADMIN, name="locked")
    for _ in range(2):
        assert sign_in(client, "locked", "not the password").status_code == 401
    assert sign_in(client, "locked", "not the password").status_code == 429  # the third one locks
    refused = sign_in(client, "locked")  # even the right password, while locked
    assert refused.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in refused.get_data(as_text=True)
    assert client.get_cookie(COOKIE) is None
    assert len(_audit(session, "signin.failure")) == 3
    lockouts = _audit(session, "signin.lockout")
    assert len(lockouts) == 1 and lockouts[0].after["locked"] == ["account"]
    assert _audit(session, "signin.success") == []


def test_a_client_address_is_locked_across_account_names(client, session):
    make_person(session, Role.ADMIN, name="victim")
    for n in range(6):
        sign_in(client, f"guess-{n}", "whatever-123")
    assert sign_in(client, "victim").status_code == 429
    assert _audit(session, "signin.lockout")[-1].after["locked"] == ["client"]


def test_deactivation_stops_the_session_and_the_tokens_at_once(app, session):
    office, target = app.test_client(), app.test_client()
    make_person(session, Role.ADMIN, name="boss")
    target_id = make_person(session, Role.INSPECTOR, name="leaving", province_code="42")
    issued = accounts.issue_token(session, SYSTEM, account_id=target_id)
    bearer = {"Authorization": f"Bearer {issued.token}"}
    sign_in(target, "leaving")
    assert target.get("/account/").status_code == 200
    assert target.get("/api/v1/products", headers=bearer).status_code == 200
    sign_in(office, "boss")
    page = f"/console/accounts/{target_id}"
    resp = post_form(office, f"{page}/deactivate", {"confirm": "yes", "reason": "left"}, form_page=page)
    assert resp.status_code == 302
    assert target.get("/account/").headers["Location"].startswith("/signin")
    assert target.get("/api/v1/products", headers=bearer).status_code == 401
    assert sign_in(target, "leaving").status_code == 401
    entry = _audit(session, "account.deactivate")[-1]
    assert entry.after == {"active": False, "sessions_ended": 1, "tokens_revoked": 1}


def test_an_expired_token_answers_401(client, session):
    caller = make_caller(session, Role.ADMIN)
    assert client.get("/api/v1/accounts", headers=caller.headers).status_code == 200
    session.expire_all()
    row = session.query(ApiToken).filter_by(account_id=caller.account_id).one()
    assert row.expires_at is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    resp = client.get("/api/v1/accounts", headers=caller.headers)
    assert (resp.status_code, resp.get_json()["type"]) == (401, "/problems/unauthenticated")


def test_an_account_name_with_markup_is_shown_as_text(client, session):
    make_person(session, Role.ADMIN, name="xss-admin")
    evil = accounts.create_account(
        session, SYSTEM, name="<script>alert(1)</script>", role=Role.INSPECTOR, password=PASSWORD
    )
    sign_in(client, "xss-admin")
    for path in ("/console/accounts/", f"/console/accounts/{evil.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    other = client.application.test_client()
    sign_in(other, "<script>alert(1)</script>")
    html = other.get("/account/").get_data(as_text=True)
    assert "&lt;script&gt;" in html and "<script>alert" not in html


def test_totp_enrolment_then_sign_in_asks_for_a_fresh_code(client, session):
    make_person(session, Role.ADMIN, name="totp")
    sign_in(client, "totp")
    page = client.get("/account/totp").get_data(as_text=True)
    assert "<svg" in page
    secret = page.split('class="secret">')[1].split("<")[0].strip()
    wrong = post_form(client, "/account/totp", {"code": "000000"})
    assert wrong.status_code == 422 and "Mã không đúng hoặc đã quá hạn." in wrong.get_data(as_text=True)
    totp = pyotp.TOTP(secret)
    assert post_form(client, "/account/totp", {"code": totp.now()}).status_code == 302
    post_form(client, "/signout", {}, form_page="/account/")
    step_one = sign_in(client, "totp")
    assert step_one.headers["Location"] == "/signin/code" and _cookie(client) is None
    assert client.get("/console/").status_code == 302  # half signed in is not signed in
    replay = post_form(client, "/signin/code", {"code": totp.now()})  # the code used at enrolment
    assert replay.status_code == 401
    session.expire_all()
    account = session.query(Account).filter_by(name="totp").one()
    next_code = totp.at(datetime.now(UTC) + timedelta(seconds=30))
    done = post_form(client, "/signin/code", {"code": next_code})
    assert done.status_code == 302 and done.headers["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert account.totp_secret == secret and _audit(session, "totp.enrol")


def test_totp_required_for_office_administrators(client, session, app):
    app.extensions["ocop"].settings = app.extensions["ocop"].settings.with_overrides(
        require_totp_for_admins=True
    )
    make_person(session, Role.ADMIN, name="must-enrol")
    sign_in(client, "must-enrol")
    assert client.get("/console/").headers["Location"] == "/account/totp"


def test_reset_password_gives_a_one_time_code_and_forces_a_new_password(app, session):
    office, person = app.test_client(), app.test_client()
    make_person(session, Role.ADMIN, name="resetter", province_code="42")
    target = make_person(session, Role.INSPECTOR, name="forgetful", province_code="42")
    sign_in(office, "resetter")
    page = f"/console/accounts/{target}"
    shown = post_form(office, f"{page}/reset-password", {}, form_page=page).get_data(as_text=True)
    code = shown.split('class="secret">')[1].split("<")[0].strip()
    assert len(code) == 19
    assert sign_in(person, "forgetful").status_code == 401  # the old password is gone
    assert sign_in(person, "forgetful", code).headers["Location"] == "/account/password"
    assert person.get("/account/").headers["Location"] == "/account/password"
    short = post_form(
        person,
        "/account/password",
        {"current_password": code, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 422 and "Dùng ít nhất 10 ký tự." in short.get_data(as_text=True)
    new = "a new long password"
    ok = post_form(
        person, "/account/password", {"current_password": code, "new_password": new, "confirm_password": new}
    )
    assert ok.status_code == 302 and person.get("/account/").status_code == 200
    assert sign_in(app.test_client(), "forgetful", new).status_code == 302


def test_a_provincial_administrator_manages_only_its_province(client, session):
    make_person(session, Role.ADMIN, name="ht-admin", province_code="42")
    other = make_person(session, Role.ADMIN, name="th-admin", province_code="38")
    mine = make_person(session, Role.INSPECTOR, name="ht-inspector", province_code="42")
    sign_in(client, "ht-admin")
    listing = client.get("/console/accounts/").get_data(as_text=True)
    assert "ht-inspector" in listing and "th-admin" not in listing
    assert client.get(f"/console/accounts/{mine}").status_code == 200
    refused = client.get(f"/console/accounts/{other}")
    assert refused.status_code == 404 and "Không tìm thấy trang" in refused.get_data(as_text=True)
    form = "/console/accounts/new"
    created = post_form(client, form, {"name": "ht-new", "role": "inspector", "province_code": "38"})
    assert created.status_code == 200 and "ht-new" in created.get_data(as_text=True)
    session.expire_all()
    assert session.query(Account).filter_by(name="ht-new").one().province_code == "42"  # its own, always
    deactivate = post_form(
        client, f"/console/accounts/{other}/deactivate", {"confirm": "yes"}, form_page=form
    )
    assert deactivate.status_code == 404


def test_account_form_errors_are_shown_next_to_the_fields(client, session):
    make_person(session, Role.ADMIN, name="central")
    sign_in(client, "central")
    resp = post_form(client, "/console/accounts/new", {"name": "a b", "role": "producer"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="f-name-error"' in html and 'id="f-producer_id-error"' in html
    assert "Chọn cơ sở sản xuất." in html


def test_tokens_from_the_pages_expire_within_the_role_maximum_and_are_revoked(client, session):
    make_person(session, Role.ADMIN, name="tok-admin")
    target = make_person(session, Role.INSPECTOR, name="tok-inspector")
    sign_in(client, "tok-admin")
    page = f"/console/accounts/{target}"
    too_long = post_form(client, f"{page}/tokens", {"label": "x", "days": "31"}, form_page=page)
    assert too_long.status_code == 422
    shown = post_form(client, f"{page}/tokens", {"label": "gate", "days": "7"}, form_page=page)
    token = shown.get_data(as_text=True).split('class="secret">')[1].split("<")[0].strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/products", headers=bearer).status_code == 200
    session.expire_all()
    row = session.query(ApiToken).filter_by(account_id=target).one()
    assert timedelta(days=6) < row.expires_at - datetime.now(UTC) <= timedelta(days=7)
    resp = post_form(
        client, f"/console/accounts/tokens/{row.id}/revoke", {"account_id": str(target)}, form_page=page
    )
    assert resp.status_code == 302
    assert client.get("/api/v1/products", headers=bearer).status_code == 401


def test_a_password_hashed_with_old_parameters_is_rehashed_at_sign_in(client, session):
    account_id = make_person(session, Role.ADMIN, name="old-hash")
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    session.get(Account, account_id).password_hash = old
    session.commit()
    assert sign_in(client, "old-hash").status_code == 302
    session.expire_all()
    new = session.get(Account, account_id).password_hash
    assert new != old and "m=65536" in new


def test_anyone_revokes_their_own_token_through_the_api(client, session):
    caller = make_caller(session, Role.INSPECTOR)
    mine = client.get("/api/v1/tokens", headers=caller.headers)
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store"
    [token] = mine.get_json()
    assert token["expires_at"] and token["kind"] == "api"
    other = make_caller(session, Role.INSPECTOR)
    theirs = client.get("/api/v1/tokens", headers=other.headers).get_json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{theirs}", headers=caller.headers).status_code == 403
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=caller.headers).status_code == 204
    assert client.get("/api/v1/tokens", headers=caller.headers).status_code == 401


def test_the_scanner_signs_in_for_a_device_token(client, session):
    make_person(session, Role.INSPECTOR, name="field-inspector", province_code="42")
    producer = make_producer(session)
    make_person(session, Role.PRODUCER, name="not-an-inspector", producer_id=producer.id)
    resp = client.post("/api/v1/device-tokens", json={"name": "field-inspector", "password": PASSWORD})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=13) < expires - datetime.now(UTC) <= timedelta(days=14)
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/products", headers=bearer).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer).get_json()[0]["kind"] == "device"
    wrong = client.post("/api/v1/device-tokens", json={"name": "field-inspector", "password": "nope"})
    assert (wrong.status_code, wrong.get_json()["type"]) == (401, "/problems/sign-in-failed")
    producer_try = client.post(
        "/api/v1/device-tokens", json={"name": "not-an-inspector", "password": PASSWORD}
    )
    assert producer_try.status_code == 403
    assert _audit(session, "signin.success")[-1].after["channel"] == "device"


def test_the_scanner_sign_in_needs_the_code_when_enrolled(client, session):
    account_id = make_person(session, Role.INSPECTOR, name="totp-inspector", province_code="42")
    secret = pyotp.random_base32()
    session.get(Account, account_id).totp_secret = secret
    session.commit()
    body = {"name": "totp-inspector", "password": PASSWORD}
    asked = client.post("/api/v1/device-tokens", json=body)
    assert asked.status_code == 401 and asked.get_json()["code_required"] is True
    wrong = client.post("/api/v1/device-tokens", json={**body, "password": "wrong!"})
    assert "code_required" not in wrong.get_json()  # only after the right password
    ok = client.post("/api/v1/device-tokens", json={**body, "code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 201


def test_csrf_token_is_per_form_cookie(client, session):
    make_person(session, Role.ADMIN, name="csrf-two")
    token = csrf_token(client, "/signin")
    other = client.application.test_client()
    stolen = other.post("/signin", data={"name": "csrf-two", "password": PASSWORD, "csrf_token": token})
    assert stolen.status_code == 400  # a token is bound to the browser's own form cookie


def test_error_pages_of_the_people_paths_are_pages_in_the_persons_language(app, session):
    @app.get("/console/boom")
    def boom():  # a bug in a page
        raise RuntimeError("secret detail")

    client = app.test_client()
    missing = client.get("/console/no-such-page")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "Không tìm thấy trang" in html
    assert missing.mimetype == "text/html"
    assert "default-src 'none'" in missing.headers["Content-Security-Policy"]
    assert "Page not found" in client.get("/console/no-such-page?lang=en").get_data(as_text=True)

    crashed = client.get("/console/boom?lang=vi")
    text = crashed.get_data(as_text=True)
    assert crashed.status_code == 500 and "Đã xảy ra lỗi" in text and "secret detail" not in text
    assert client.get("/api/v1/no-such").mimetype == "application/problem+json"  # the API keeps JSON
