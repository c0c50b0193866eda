"""Sign-in, sign-out and the person's own account: password, second factor, sessions, tokens.

Thin views over ``services.sign_in``, ``web_sessions``, ``second_factor`` and ``accounts``.
Between the password and the TOTP code, the half-signed-in account id waits in the signed form
cookie for at most five minutes; no session exists until both steps pass.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, flash, make_response, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from stamp_service.domain.access import Role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, RateLimited, Unauthenticated, ValidationFailed
from stamp_service.services import accounts, second_factor, sign_in, web_sessions
from stamp_service.storage.models.accounts import Account
from stamp_service.web.auth import (
    clear_session_cookie,
    cookie_name,
    page_person,
    page_principal,
    session_policy,
    set_session_cookie,
    sign_in_attempt,
)
from stamp_service.web.context import db, runtime
from stamp_service.web.people import home_for, lang, people_blueprint, render, safe_next, signed_in

bp = people_blueprint("signin_pages", __name__)
PENDING_SECONDS = 300


def field_errors(exc: ValidationFailed) -> dict[str, str]:
    return {e["field"]: e["message"] for e in exc.errors}


@bp.get("/account/start")
def home() -> BaseResponse:
    """The start page of whoever is signed in (the header's brand link)."""
    try:
        return redirect(home_for(page_principal()))
    except Unauthenticated:
        return redirect(url_for("signin_pages.signin"))


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    lang()
    target = safe_next(request.values.get("next"))
    errors: dict[str, str] = {}
    name = ""
    status = 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        if not name:
            errors["name"] = N_("Enter your user name.")
        if not password:
            errors["password"] = N_("Enter your password.")
        if not errors:
            try:
                accepted = sign_in.check_password(db(), sign_in_attempt(), name, password)
            except sign_in.SignInFailed:
                errors["password"] = N_("The user name or password is wrong.")
                status = 401
            except RateLimited as exc:
                errors["password"] = N_("Too many failed sign-ins. Try again in a few minutes.")
                return render(
                    "people/signin.html", 429, errors=errors, name=name, next=target, retry=exc.retry_after
                )
            else:
                if accepted.needs_code:
                    keep = session.get("lang")
                    session.clear()
                    if keep:
                        session["lang"] = keep
                    session["pending"] = {"id": accepted.account_id, "at": int(time.time()), "next": target}
                    return redirect(url_for("signin_pages.code"))
                account = db().get(Account, accepted.account_id)
                assert account is not None
                return _complete(account, target)
        else:
            status = 422
    return render("people/signin.html", status, errors=errors, name=name, next=target)


@bp.route("/signin/code", methods=["GET", "POST"])
def code() -> Any:
    lang()
    pending = session.get("pending")
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        return redirect(url_for("signin_pages.signin"))
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            account = sign_in.check_code(db(), sign_in_attempt(), pending["id"], request.form.get("code", ""))
        except sign_in.SignInFailed:
            errors["code"] = N_("The code is wrong or too old.")
            status = 401
        except RateLimited:
            session.pop("pending", None)
            errors["code"] = N_("Too many failed sign-ins. Try again in a few minutes.")
            status = 429
        else:
            return _complete(account, pending.get("next"))
    return render("people/signin_code.html", status, errors=errors)


def _complete(account: Account, target: str | None) -> Response:
    """Both steps passed: a brand-new session id, and a fresh form cookie (new CSRF token)."""
    started = sign_in.start_session(db(), sign_in_attempt(), account, session_policy(runtime().settings))
    keep = session.get("lang")
    session.clear()
    if keep:
        session["lang"] = keep
    principal = accounts.principal_of(account)
    destination = target or home_for(principal)
    if account.must_change_password:
        destination = url_for("signin_pages.password")
    response = make_response(redirect(destination))
    set_session_cookie(response, started)
    return response


@bp.post("/signout")
def signout() -> Response:
    value = request.cookies.get(cookie_name(runtime().settings))
    if value:
        web_sessions.end(db(), value)
    keep = session.get("lang")
    session.clear()
    if keep:
        session["lang"] = keep
    flash(N_("You are signed out."), "success")
    response = make_response(redirect(url_for("signin_pages.signin")))
    clear_session_cookie(response)
    return response


@bp.get("/account/")
@signed_in()
def account() -> Any:
    person = page_person()
    me = db().get(Account, person.principal.account_id)
    sessions = web_sessions.list_own(db(), person.principal, session_policy(runtime().settings))
    tokens = accounts.own_tokens(db(), person.principal)
    return render(
        "people/account.html",
        account=me,
        sessions=sessions,
        current_session=person.session_id,
        tokens=tokens,
        totp_required=_totp_required(person.principal.role),
    )


@bp.post("/account/sessions/end-all")
@signed_in()
def end_all() -> Response:
    web_sessions.end_all(db(), page_principal())
    flash(N_("All your sessions are signed out, this one included."), "success")
    response = make_response(redirect(url_for("signin_pages.signin")))
    clear_session_cookie(response)
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in()
def password() -> Any:
    person = page_person()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("confirm_password", ""):
            errors["confirm_password"] = N_("The two new passwords differ.")
            status = 422
        else:
            try:
                accounts.change_own_password(
                    db(), person.principal, request.form.get("current_password", ""), new
                )
            except ValidationFailed as exc:
                errors, status = field_errors(exc), 422
            else:
                flash(N_("Your password is changed."), "success")
                return redirect(url_for("signin_pages.account"))
    return render("people/password.html", status, errors=errors, must_change=person.must_change_password)


@bp.route("/account/totp", methods=["GET", "POST"])
@signed_in()
def totp() -> Any:
    """Enrol the second factor: a new secret shown as a QR code and as text, confirmed by a code."""
    person = page_person()
    if person.totp_enrolled:
        return render(
            "people/totp.html", enrolled=True, errors={}, required=_totp_required(person.principal.role)
        )
    secret = session.get("totp_secret") or second_factor.new_secret()
    session["totp_secret"] = secret
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            second_factor.enrol(db(), person.principal, secret, request.form.get("code", ""))
        except ValidationFailed as exc:
            errors, status = field_errors(exc), 422
        else:
            session.pop("totp_secret", None)
            flash(N_("The second factor is on. Sign-in now asks for a code."), "success")
            return redirect(url_for("signin_pages.account"))
    uri = second_factor.provisioning_uri(secret, person.principal.name)
    return render(
        "people/totp.html",
        status,
        enrolled=False,
        secret=secret,
        qr=second_factor.qr_svg(uri),
        errors=errors,
        required=_totp_required(person.principal.role),
    )


@bp.post("/account/totp/remove")
@signed_in()
def totp_remove() -> Any:
    person = page_person()
    try:
        second_factor.remove(
            db(),
            person.principal,
            request.form.get("code", ""),
            required=_totp_required(person.principal.role),
        )
    except (ValidationFailed, Conflict) as exc:
        message = field_errors(exc).get("code") if isinstance(exc, ValidationFailed) else None
        flash(message or N_("Office administrators must keep the second factor."), "error")
    else:
        flash(N_("The second factor is off."), "success")
    return redirect(url_for("signin_pages.account"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in()
def revoke_own_token(token_id: int) -> BaseResponse:
    try:
        accounts.revoke_token(db(), page_principal(), token_id)
    except Conflict:
        flash(N_("This token was already revoked."), "error")
    else:
        flash(N_("The token is revoked."), "success")
    return redirect(url_for("signin_pages.account"))


def _totp_required(role: Role) -> bool:
    return runtime().settings.require_totp_for_admins and role is Role.ADMIN


def init_app(app: Any) -> None:
    app.register_blueprint(bp)
