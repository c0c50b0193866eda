"""What every page for people shares (office console, producer pages, my account, sign-in).

- Sign-in state: the session cookie resolves to the same ``Principal`` the bearer API builds
  (``web.auth.page_principal``), so every service applies one access check.
- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST of these blueprints (the JSON API is not
  checked: it authenticates with a bearer header only, which a browser never adds by itself, so a
  forged cross-site request carries no credentials; see docs/accounts.md).
- Language: Vietnamese by default, English on request (``?lang=`` or the switch, remembered).
- Headers: a strict CSP (no script at all, styles from this origin), no caching, no framing.
- Errors: a 400/403/404/500 on these paths is a page in the person's language.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from stamp_service.config import LANGUAGES, Settings
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.access import Principal, Role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Forbidden, ServiceError, Unauthenticated
from stamp_service.services.web_sessions import Resolved
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.web.auth import page_person
from stamp_service.web.context import db, runtime
from stamp_service.web.i18n import format_day, format_moment, pick_language, translations

log = logging.getLogger(__name__)
PREFIXES = ("/console", "/producer", "/account", "/signin", "/signout")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
csrf = CSRFProtect()


def people_blueprint(name: str, import_name: str, url_prefix: str | None = None) -> Blueprint:
    """A blueprint whose POSTs are CSRF-checked and whose responses carry the people headers."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(_check_csrf)
    bp.after_request(_page_headers)
    return bp


def _check_csrf() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def lang() -> str:
    """The page language: ``?lang=`` (remembered in the form cookie), else remembered, else default."""
    if "lang" in g:
        return g.lang  # type: ignore[no-any-return]
    explicit = request.args.get("lang")
    if explicit in LANGUAGES:
        session["lang"] = explicit
    g.lang = pick_language(runtime().settings.default_language, session.get("lang"))
    return g.lang  # type: ignore[no-any-return]


def _(message: str, **values: Any) -> str:
    text = translations(lang()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: Any) -> str:
    """The singular or plural form for ``count`` ("1 stamp", "2 stamps"; Vietnamese has one form)."""
    return translations(lang()).ngettext(singular, plural, count) % values


def home_for(principal: Principal) -> str:
    if principal.role is Role.ADMIN:
        return url_for("console_home.home")
    if principal.role is Role.PRODUCER:
        return url_for("producer_home.home")
    return url_for("signin_pages.account")


def page_number() -> int:
    """The list page asked for by ``?page=``: 1 unless it is a positive plain number (at most 100,000)."""
    raw = request.args.get("page", "")
    return min(int(raw), 100_000) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in, never another host (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


# Pages a person who must change their password (or must enrol TOTP) may still open.
_ALWAYS_ALLOWED = {"signin_pages.password", "signin_pages.signout", "signin_pages.totp"}


def signed_in(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The view needs a signed-in person (of one of ``roles``, if given); else the sign-in page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            try:
                person = page_person()
            except Unauthenticated:
                target = request.full_path if request.method == "GET" else None
                return redirect(url_for("signin_pages.signin", next=target and target.rstrip("?")))
            endpoint = request.endpoint or ""
            if endpoint not in _ALWAYS_ALLOWED:
                if person.must_change_password:
                    return redirect(url_for("signin_pages.password"))
                if _needs_totp(person):
                    return redirect(url_for("signin_pages.totp"))
            if roles and person.principal.role not in roles:
                raise Forbidden("this page is not for your role")
            return view(**kwargs)

        return wrapper

    return decorate


def _needs_totp(person: Resolved) -> bool:
    return (
        runtime().settings.require_totp_for_admins
        and person.principal.role is Role.ADMIN
        and not person.totp_enrolled
    )


def person() -> Resolved | None:
    """The signed-in person of this request, if any (for the layout's header)."""
    try:
        return page_person()
    except (ServiceError, SQLAlchemyError):  # an error page must render even when the database cannot
        return None


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def _switch_url(other: str) -> str:
    args: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict(), "lang": other}
    return url_for(request.endpoint or "signin_pages.signin", **args)


def _template_context() -> dict[str, Any]:
    if not request.path.startswith(PREFIXES):
        return {}
    current = lang()
    other = "en" if current == "vi" else "vi"
    who = person()
    return {
        "lang": current,
        "other_lang": other,
        "switch_url": _switch_url(other) if request.endpoint else f"{request.path}?lang={other}",
        "_": _,
        "ngettext": ngettext,
        "me": who.principal if who else None,
        "Role": Role,
        "role_label": role_label,
        "province_name": province_name,
        "fmt_day": lambda v: format_day(v, current),
        "fmt_moment": lambda v: format_moment(v, current),
    }


ROLE_LABELS = {"admin": N_("Office administrator"), "producer": N_("Producer"), "inspector": N_("Inspector")}


def role_label(role: str) -> str:
    """The English message id of a role's name (translated by the template)."""
    return ROLE_LABELS.get(role, role)


def province_name(code: str | None) -> str:
    if code is None:
        return _("Central level")
    unit = db().get(AdministrativeUnit, code)
    return unit.name if unit is not None else code


def province_choices() -> list[tuple[str, str]]:
    rows = db().scalars(
        select(AdministrativeUnit)
        .where(AdministrativeUnit.level == "province")
        .order_by(AdministrativeUnit.name)
    )
    return [(u.code, u.name) for u in rows]


def error_page(status: int, title: str, detail: str) -> Response:
    """The people pages' error page (400/403/404/500...), in the person's language."""
    titles = {
        400: N_("The form could not be accepted"),
        403: N_("You may not open this page"),
        404: N_("Page not found"),
        429: N_("Too many attempts"),
        500: N_("Something went wrong"),
    }
    details = {
        400: N_("The form was too old or came from elsewhere. Go back, reload the page and try again."),
        403: N_("Your account does not have access to this page."),
        404: N_("There is no such page, or it is not in your area."),
        429: N_("Wait a little and try again."),
        500: N_("The error was recorded. Try again in a moment."),
    }
    html = render_template(
        "people/error.html",
        status=status,
        title=_(titles.get(status, title)),
        detail=_(details.get(status, detail)),
    )
    return _page_headers(Response(html, status=status, mimetype="text/html"))


def _form_secret(settings: Settings) -> str:
    """The key that signs the form cookie (CSRF token, flashes): the same in every worker.

    OCOP_SECRET_KEY if set; else derived from the service secret in keys/ (which every worker and
    restart shares); else, only where no secret exists yet (a fresh test directory), a random one.
    """
    if settings.secret_key:
        return settings.secret_key
    ring = KeyRing(settings.keys_dir)
    if ring.secret_path.exists():
        return ring.keyed_hash(purpose="form-cookie", data=b"").hex()
    log.warning("no OCOP_SECRET_KEY and no service secret: forms signed with a per-process key")
    return secrets.token_hex(32)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for requests that carry no
    cookie (every shopper's scan of the public page: 0.1-0.2 ms of CPU each, for nothing)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    settings = app.extensions["ocop"].settings
    app.session_interface = CookieSessions()
    app.config.update(
        SECRET_KEY=_form_secret(settings),
        SESSION_COOKIE_NAME="ocop_form",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        # Every POST is checked by the people blueprints themselves (see _check_csrf); the JSON
        # API and the public pages (their own signed form tokens) are not cookie-authenticated.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    csrf.init_app(app)
    app.context_processor(_template_context)
    from stamp_service.web import errors

    errors.register_page_renderer(PREFIXES, error_page)
