"""The signing keys page: central administrators only (404 for everyone else), the same services
as the API and the CLI, the early rotation refused then forced with a reason, the two-step
compromise, every form CSRF-checked."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.access import Role
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.keys import SigningKey
from stamp_service.web.i18n import translations
from tests.people_support import csrf_token, make_person, post_form, sign_in
from tests.stamp_factories import ensure_keyring, make_issued_batch

DECISION = {
    "decision_number": "12/QĐ-BNN",
    "decided_on": "2026-11-30",
    "authority": "Bộ Nông nghiệp và Môi trường",
    "reason": "Máy chủ ký bị xâm nhập",
}


def _html(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def _vi(message: str) -> str:
    return translations("vi").gettext(message)


def _key(session, kid: str) -> SigningKey:
    session.expire_all()
    row = session.get(SigningKey, kid)
    assert row is not None
    return row


def _central(client, session, name: str = "central-keys") -> None:  # type: ignore[no-untyped-def]
    make_person(session, Role.ADMIN, name=name)
    sign_in(client, name)


def test_central_admin_sees_every_key_with_its_stamps(client, session, settings):
    ring = ensure_keyring(session, settings.keys_dir)
    make_issued_batch(session, ring, n=4)
    active = session.scalar(select(SigningKey).where(SigningKey.state == "active"))
    _central(client, session)
    resp = client.get("/console/keys/")
    html = _html(resp)
    assert resp.status_code == 200
    assert active.kid in html and "Ed25519" in html
    assert _vi("Stamps signed") in html and "<dd>4</dd>" in html
    assert _vi("Signing keys") in _html(client.get("/console/"))  # the menu entry
    assert _vi("No bundle has been built yet.") in html

    # The offline bundle: read back from the newest stored bundle, not assumed.
    assert client.get("/status/bundle.bin").status_code == 200
    assert "Có, gói số 1" in _html(client.get("/console/keys/"))
    post_form(client, "/console/keys/publish", {}, form_page="/console/keys/")
    html = _html(client.get("/console/keys/"))
    assert _vi("Not yet: the next bundle will carry it (within an hour).") in html
    assert client.get("/status/bundle.bin").status_code == 200
    html = _html(client.get("/console/keys/"))
    assert (
        html.count("Có, gói số 2") == 2
        and _vi("Not yet: the next bundle will carry it (within an hour).") not in html
    )


def test_publish_then_an_early_rotation_is_refused_and_forced_with_a_reason(client, session, settings):
    ensure_keyring(session, settings.keys_dir)
    old = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    _central(client, session)
    resp = post_form(client, "/console/keys/publish", {"note": "khóa 2027"}, form_page="/console/keys/")
    assert resp.status_code == 302
    new = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert _key(session, new).state == "pending" and _key(session, new).note == "khóa 2027"

    refused = post_form(client, "/console/keys/rotate", {}, form_page="/console/keys/")
    assert refused.status_code == 409
    html = _html(refused)
    assert "Yêu cầu chuyển khóa bị từ chối" in html and new in html
    assert 'name="force"' in html  # force is offered only now, with a reason
    assert _key(session, new).state == "pending" and _key(session, old).state == "active"

    no_reason = post_form(client, "/console/keys/rotate", {"force": "yes"}, form_page="/console/keys/")
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in _html(no_reason)
    assert _key(session, new).state == "pending"

    forced = post_form(
        client,
        "/console/keys/rotate",
        {"force": "yes", "reason": "Khóa cũ sắp hết hạn sử dụng"},
        form_page="/console/keys/",
    )
    assert forced.status_code == 302 and forced.headers["Location"].endswith(f"/console/keys/{new}")
    assert _key(session, new).state == "active" and _key(session, old).state == "retired"
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.action == "signing_key.rotate", AuditEntry.entity_id == new)
    )
    assert entry is not None and "Khóa cũ sắp hết hạn sử dụng" in (entry.reason or "")


def test_compromise_takes_two_steps_and_the_stamps_answer_with_a_warning(client, session, settings):
    ring = ensure_keyring(session, settings.keys_dir)
    batch = make_issued_batch(session, ring, n=3)
    kid = batch.stamps[0].kid
    _central(client, session)
    step1 = client.get(f"/console/keys/{kid}/compromise")
    assert step1.status_code == 200 and '<p class="count">3 tem</p>' in _html(step1)

    empty = post_form(client, f"/console/keys/{kid}/compromise", {})
    assert empty.status_code == 422 and 'id="f-decision_number-error"' in _html(empty)
    step2 = post_form(client, f"/console/keys/{kid}/compromise", DECISION)
    assert step2.status_code == 200 and 'name="confirm_kid"' in _html(step2)
    assert _key(session, kid).state == "active"  # nothing changes before the second step

    token = csrf_token(client, f"/console/keys/{kid}/compromise")
    confirm = f"/console/keys/{kid}/compromise/confirm"
    wrong = client.post(confirm, data={**DECISION, "confirm_kid": "00000000", "csrf_token": token})
    assert wrong.status_code == 422 and 'id="f-confirm_kid-error"' in _html(wrong)
    assert _key(session, kid).state == "active"

    done = client.post(confirm, data={**DECISION, "confirm_kid": kid.upper(), "csrf_token": token})
    assert done.status_code == 302
    assert _key(session, kid).state == "compromised"
    replacement = session.scalar(select(SigningKey).where(SigningKey.state == "active"))
    assert replacement is not None and replacement.kid != kid  # issuance signs with a new key
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "signing_key.compromise"))
    assert entry.decision["number"] == "12/QĐ-BNN" and entry.reason == "Máy chủ ký bị xâm nhập"
    result = _html(client.get(done.headers["Location"]))
    assert _vi("Compromised") in result and replacement.kid in result

    public = _html(client.get(urlsplit(batch.urls[0]).path))
    assert f"<h1>{_vi('Genuine OCOP stamp')}</h1>" in public or _vi("Genuine OCOP stamp") in public
    warning = _vi(
        "Note: the key that signed this stamp was reported compromised on %(date)s. This stamp was "
        "checked online against the office's records; copies made with the stolen key are rejected."
    )
    assert warning.split("%(date)s")[0] in public


def test_only_the_central_administrator_finds_the_page(client, session, settings):
    ensure_keyring(session, settings.keys_dir)
    kid = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    make_person(session, Role.ADMIN, name="ht-keys", province_code="42")
    make_person(session, Role.INSPECTOR, name="ht-inspector-keys", province_code="42")
    for name in ("ht-keys", "ht-inspector-keys"):
        client.post("/signout")
        sign_in(client, name)
        for path in ("/console/keys/", f"/console/keys/{kid}", f"/console/keys/{kid}/compromise"):
            assert client.get(path).status_code == 404, (name, path)
        token = csrf_token(client, "/account/")
        for path in (
            "/console/keys/publish",
            "/console/keys/rotate",
            f"/console/keys/{kid}/retire",
            f"/console/keys/{kid}/compromise",
            f"/console/keys/{kid}/compromise/confirm",
        ):
            resp = client.post(
                path, data={**DECISION, "confirm_kid": kid, "force": "yes", "csrf_token": token}
            )
            assert resp.status_code == 404, (name, path)
    assert "/console/keys/" not in _html(client.get("/account/"))
    assert session.scalar(select(SigningKey).where(SigningKey.kid == kid)).state == "active"
    assert session.query(SigningKey).count() == 1


def test_every_keys_form_is_refused_without_a_csrf_token(client, session, settings):
    ensure_keyring(session, settings.keys_dir)
    kid = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    _central(client, session)
    for path in (
        "/console/keys/publish",
        "/console/keys/rotate",
        f"/console/keys/{kid}/retire",
        f"/console/keys/{kid}/compromise",
        f"/console/keys/{kid}/compromise/confirm",
    ):
        resp = client.post(path, data={**DECISION, "confirm_kid": kid, "force": "yes"})
        assert resp.status_code == 400 and "Không thể nhận biểu mẫu" in _html(resp), path
    session.expire_all()
    assert [(k.kid, k.state) for k in session.query(SigningKey)] == [(kid, "active")]


def test_retire_the_active_key(client, session, settings):
    ensure_keyring(session, settings.keys_dir)
    kid = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    _central(client, session)
    missing = post_form(client, f"/console/keys/{kid}/retire", {})
    assert missing.status_code == 422 and 'id="f-reason-error"' in _html(missing)
    resp = post_form(client, f"/console/keys/{kid}/retire", {"reason": "Kết thúc kỳ sử dụng"})
    assert resp.status_code == 302 and _key(session, kid).state == "retired"


def test_a_server_without_its_keys_folder_says_where_keys_are_made(app, client, session, settings, tmp_path):
    """A web host without the private keys (no keys folder): a message on the page, nothing changed."""
    ring = ensure_keyring(session, settings.keys_dir)
    kid = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    _central(client, session)
    elsewhere = KeyRing(tmp_path / "no-keys-here")
    elsewhere._secret = ring.service_secret()  # sessions still resolve; only key files are missing
    app.extensions["ocop"].services["keyring"] = elsewhere
    message = _vi(
        "This server cannot write signing keys (its keys folder is missing or read-only): "
        "do it with the stamp-service keys command on the signing host."
    )
    resp = post_form(client, "/console/keys/publish", {}, form_page="/console/keys/")
    assert resp.status_code == 302 and message in _html(client.get(resp.headers["Location"]))
    data = {**DECISION, "confirm_kid": kid}
    resp = post_form(client, f"/console/keys/{kid}/compromise/confirm", data, form_page="/console/keys/")
    assert resp.status_code == 503 and message in _html(resp)
    session.expire_all()
    assert [(k.kid, k.state) for k in session.query(SigningKey)] == [(kid, "active")]


def test_a_compromise_decision_dated_in_the_future_is_refused_by_the_page_and_the_service(
    client, session, settings
):
    """The rule lived only in the page: the service (used by the CLI and API too) now checks it."""
    from datetime import date, timedelta

    import pytest

    from stamp_service.domain.access import SYSTEM
    from stamp_service.errors import ValidationFailed
    from stamp_service.schemas.revocation import DecisionIn
    from stamp_service.services import revocation

    ring = ensure_keyring(session, settings.keys_dir)
    kid = session.scalar(select(SigningKey).where(SigningKey.state == "active")).kid
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    _central(client, session)
    path = f"/console/keys/{kid}/compromise"
    token = csrf_token(client, path)
    refused = client.post(path, data={**DECISION, "decided_on": tomorrow, "csrf_token": token})
    assert refused.status_code == 422 and 'id="f-decided_on-error"' in _html(refused)
    future = DecisionIn(
        number="9/QĐ-BNNMT", decided_on=date.fromisoformat(tomorrow), authority="Bộ Nông nghiệp và Môi trường"
    )
    with pytest.raises(ValidationFailed):
        revocation.compromise_key(session, SYSTEM, keyring=ring, kid=kid, reason="lộ khóa", decision=future)
    session.rollback()
    assert _key(session, kid).state == "active"
