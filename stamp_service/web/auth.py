"""Who is calling: a bearer token (the JSON API, scanners) or a session cookie (pages for people).

Both paths end in ``services.accounts.principal_of`` on an active account, so a service sees the
same ``Principal`` whichever way the person came in. The API never reads the cookie: a request
is authenticated by what the caller chose to send (the bearer header), which is why the API needs
no CSRF token; the pages read only the cookie and check CSRF on every form.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, g, request

from stamp_service.config import Settings
from stamp_service.domain.access import Principal
from stamp_service.errors import Unauthenticated
from stamp_service.services import accounts, sign_in, web_sessions
from stamp_service.web.context import db, runtime


def current_principal() -> Principal:
    """The caller of this API request; raises Unauthenticated without a valid token."""
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated()
    g.principal = accounts.authenticate(db(), token.strip())
    return g.principal  # type: ignore[no-any-return]


def sign_in_attempt() -> sign_in.Attempt:
    """This request's sign-in attempt: the shared limiter, the settings' thresholds, the client."""
    settings = runtime().settings
    return sign_in.Attempt(
        limiter=runtime().limiter,
        throttle=sign_in.Throttle(
            account_failures=settings.signin_account_failures,
            client_failures=settings.signin_client_failures,
            window_seconds=settings.signin_window_minutes * 60,
        ),
        client=request.remote_addr or "unknown",
    )


def session_policy(settings: Settings) -> web_sessions.SessionPolicy:
    return web_sessions.SessionPolicy(
        lifetime=timedelta(minutes=settings.session_lifetime_minutes),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )


def cookie_name(settings: Settings) -> str:
    # "__Host-" makes the browser refuse the cookie unless Secure, host-only and Path=/.
    return "__Host-ocop_session" if settings.cookie_secure else "ocop_session"


def page_person() -> web_sessions.Resolved:
    """The signed-in person of this page request; raises Unauthenticated (checked once per request)."""
    if "person" in g:
        if g.person is None:
            raise Unauthenticated()
        return g.person  # type: ignore[no-any-return]
    settings = runtime().settings
    g.person = None
    value = request.cookies.get(cookie_name(settings), "")
    g.person = web_sessions.resolve(db(), value, session_policy(settings))
    g.principal = g.person.principal
    return g.person  # type: ignore[no-any-return]


def page_principal() -> Principal:
    """The signed-in person's principal: what every page passes to the services' access check."""
    return page_person().principal


def set_session_cookie(response: Response, started: web_sessions.Started) -> None:
    settings = runtime().settings
    response.set_cookie(
        cookie_name(settings),
        started.cookie_value,
        expires=started.expires_at,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(response: Response) -> None:
    settings = runtime().settings
    response.delete_cookie(
        cookie_name(settings), path="/", secure=settings.cookie_secure, httponly=True, samesite="Lax"
    )
