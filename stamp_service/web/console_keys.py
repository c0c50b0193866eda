"""``/console/keys``: the signing keys, for central administrators (everyone else: the 404 page).

Thin views over the same services as the API and the CLI: publish (``keys.publish``), rotate
(``revocation.rotate_key``, or ``keys.rotate`` when no key is active), retire (``keys.retire``),
compromise (``revocation.compromise_key``); each checks the role and the central level, audits
and commits. The page is answered 404, not 403, to anyone else: a provincial office need not
learn that key management exists here.

Marking a key compromised takes two steps, no JavaScript: the first page says what happens and
asks for the decision and the reason; the second shows them back and asks the person to type the
key id; only then is the key marked, and the key's page shows the result.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import Principal, Role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, NotFound, SigningKeyUnavailable, ValidationFailed
from stamp_service.services import key_overview, keys, revocation
from stamp_service.web.auth import page_principal
from stamp_service.web.console_decision_form import (
    Errors,
    page_context,
    read,
    read_reason,
    service_errors,
    text,
)
from stamp_service.web.context import db, runtime
from stamp_service.web.people import people_blueprint, render, signed_in

bp = people_blueprint("console_keys", __name__, url_prefix="/console/keys")
bp.context_processor(page_context)

NO_KEY_FILES = (
    "This server cannot write signing keys (its keys folder is missing or read-only): "
    "do it with the stamp-service keys command on the signing host."
)
STATE_LABELS = {
    "pending": N_("Pending"),
    "active": N_("Active"),
    "retired": N_("Retired"),
    "compromised": N_("Compromised"),
}


def _me() -> Principal:
    """The central administrator; anyone else gets the 404 page (before any form is read)."""
    me = page_principal()
    if me.role is not Role.ADMIN or me.province_code is not None:
        raise NotFound("no such page")
    return me


def _period() -> timedelta:
    return timedelta(hours=runtime().settings.key_publish_hours)


def _kid(kid: str) -> str:
    """A key id from the path, or the 404 page (malformed ids are unknown keys)."""
    return keys.get_key(db(), kid, lock=False, malformed_is_unknown=True).kid


def _index(status: int = 200, **context: Any) -> Any:
    listing = key_overview.overview(db(), _me(), publish_period=_period())
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render(
        "people/console_keys.html",
        status,
        listing=listing,
        labels=STATE_LABELS,
        hours=runtime().settings.key_publish_hours,
        **context,
    )


@bp.get("/")
@signed_in()
def index() -> Any:
    return _index()


@bp.post("/publish")
@signed_in()
def publish() -> Any:
    me = _me()
    note = text(request.form.to_dict(), "note")[:500]
    try:
        row = keys.publish(db(), me, keyring=for_runtime(runtime()), note=note)
    except SigningKeyUnavailable:
        db().rollback()
        flash(NO_KEY_FILES, "error")
        return redirect(url_for(".index"))
    flash("A new key is published: scanners learn it now; it signs once it is activated.", "success")
    return redirect(url_for(".key", kid=row.kid))


@bp.post("/rotate")
@signed_in()
def rotate() -> Any:
    me = _me()
    form = request.form.to_dict()
    force = form.get("force") == "yes"
    errors: Errors = {}
    reason = read_reason(form, errors) if force else ""
    if errors:
        return _index(422, refusal=_refusal(), errors=errors, form=form)
    ring = for_runtime(runtime())
    active = keys.active_key(db(), lock=False)
    try:
        if active is not None:
            new = revocation.rotate_key(
                db(),
                me,
                keyring=ring,
                retire_kid=active.kid,
                force=force,
                publish_period=_period(),
                reason=reason,
            ).active
        else:
            new = keys.rotate(db(), me, keyring=ring, force=force, publish_period=_period(), reason=reason)
    except Conflict:
        db().rollback()
        return _index(409, refusal=_refusal(), form=form)
    except SigningKeyUnavailable:
        db().rollback()
        flash(NO_KEY_FILES, "error")
        return redirect(url_for(".index"))
    flash("The new key is active: it signs every new stamp; the previous key is retired.", "success")
    return redirect(url_for(".key", kid=new.kid) if new is not None else url_for(".index"))


def _refusal() -> dict[str, Any]:
    """Why a rotation is refused, for the page to say in the person's language."""
    waiting = keys.pending_keys(db())
    if not waiting:
        return {"kind": "none"}
    row = waiting[0]
    return {
        "kind": "early",
        "kid": row.kid,
        "published": row.created_at,
        "when": keys.activatable_at(row, _period()),
    }


@bp.get("/<kid>")
@signed_in()
def key(kid: str) -> Any:
    me = _me()
    return _key_page(me, _kid(kid))


def _key_page(me: Principal, kid: str, status: int = 200, errors: Errors | None = None) -> Any:
    view, listing = key_overview.key_view(db(), me, kid, publish_period=_period())
    return render(
        "people/console_key.html",
        status,
        view=view,
        listing=listing,
        labels=STATE_LABELS,
        errors=errors or {},
        form=request.form.to_dict() if request.method == "POST" else {},
    )


@bp.post("/<kid>/retire")
@signed_in()
def retire(kid: str) -> Any:
    me = _me()
    kid = _kid(kid)
    form = request.form.to_dict()
    errors: Errors = {}
    reason = read_reason(form, errors)
    if not errors:
        try:
            keys.retire(db(), me, keyring=for_runtime(runtime()), kid=kid, reason=reason)
        except Conflict:
            db().rollback()
            errors["reason"] = "Only the active key can be retired."
    if errors:
        return _key_page(me, kid, 422, errors)
    flash(
        "The key is retired: its stamps stay genuine; no new stamp is issued until a key is activated.",
        "success",
    )
    return redirect(url_for(".key", kid=kid))


# --- compromise: two steps ------------------------------------------------------------------------


def _compromise_page(kid: str, step: int, status: int = 200, errors: Errors | None = None) -> Any:
    view, listing = key_overview.key_view(db(), _me(), kid, publish_period=_period())
    return render(
        "people/console_key_compromise.html",
        status,
        view=view,
        listing=listing,
        labels=STATE_LABELS,
        step=step,
        errors=errors or {},
        form=request.form.to_dict() if request.method == "POST" else {},
    )


def _read_decision(form: dict[str, str]) -> tuple[Any, Errors]:
    """The form's decision, checked as the service will check it (step 1 changes nothing yet)."""
    parsed, errors = read(form, decision_required=True)
    if parsed is not None and parsed.decision is not None:
        try:
            revocation.check_decided_on(parsed.decision.decided_on)
        except ValidationFailed as exc:
            return None, {**errors, **service_errors(exc)}
    return parsed, errors


@bp.route("/<kid>/compromise", methods=["GET", "POST"])
@signed_in()
def compromise(kid: str) -> Any:
    """Step 1: what happens, and the decision; a valid POST shows step 2 (nothing changes yet)."""
    _me()
    kid = _kid(kid)
    if request.method == "GET":
        return _compromise_page(kid, 1)
    _parsed, errors = _read_decision(request.form.to_dict())
    if errors:
        return _compromise_page(kid, 1, 422, errors)
    return _compromise_page(kid, 2)


@bp.post("/<kid>/compromise/confirm")
@signed_in()
def compromise_confirm(kid: str) -> Any:
    """Step 2: the key id typed again, then the key is marked compromised."""
    me = _me()
    kid = _kid(kid)
    form = request.form.to_dict()
    parsed, errors = _read_decision(form)
    if errors:
        return _compromise_page(kid, 1, 422, errors)
    assert parsed is not None and parsed.decision is not None
    if text(form, "confirm_kid").lower() != kid:
        return _compromise_page(kid, 2, 422, {"confirm_kid": "Type the key id exactly as shown."})
    try:
        result = revocation.compromise_key(
            db(), me, keyring=for_runtime(runtime()), kid=kid, reason=parsed.reason, decision=parsed.decision
        )
    except ValidationFailed as exc:
        db().rollback()
        return _compromise_page(kid, 1, 422, service_errors(exc))
    except Conflict:
        db().rollback()
        return _compromise_page(kid, 2, 409, {"confirm_kid": "The key changed meanwhile: reload the page."})
    except SigningKeyUnavailable:
        db().rollback()
        return _compromise_page(kid, 2, 503, {"confirm_kid": NO_KEY_FILES})
    if result.changed:
        flash("The key is marked compromised.", "success")
    return redirect(url_for(".key", kid=kid))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
