"""``/console/accounts``: office administrators manage accounts and machines' API tokens.

Thin views over ``services.accounts`` (which checks the role and the province scope). A one-time
code or a new token is shown on the answer to the POST that made it, never again: that page is
``Cache-Control: no-store`` like every people page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, flash, redirect, request, url_for
from sqlalchemy import select

from stamp_service.domain.access import Principal, Role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.services import accounts
from stamp_service.storage.models.registry import Producer
from stamp_service.web.auth import page_principal
from stamp_service.web.context import db, runtime
from stamp_service.web.people import people_blueprint, province_choices, render, signed_in
from stamp_service.web.signin_pages import field_errors

bp = people_blueprint("accounts_pages", __name__, url_prefix="/console/accounts")
PER_PAGE = 50
ROLE_CHOICES = (
    ("admin", N_("Office administrator")),
    ("inspector", N_("Inspector")),
    ("producer", N_("Producer")),
)


def _producer_choices(principal: Principal) -> list[tuple[str, str]]:
    stmt = select(Producer.id, Producer.name).order_by(Producer.name).limit(1000)
    if principal.province_code is not None:
        stmt = stmt.where(Producer.province_code == principal.province_code)
    return [(str(pid), name) for pid, name in db().execute(stmt)]


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    role = request.args.get("role")
    page = max(1, _int_or_none(request.args.get("page")) or 1)
    listing = accounts.list_accounts(
        db(),
        page_principal(),
        role=Role(role) if role in {r.value for r in Role} else None,
        page=page,
        per_page=PER_PAGE,
    )
    return render("people/accounts_list.html", listing=listing, role=role, roles=ROLE_CHOICES)


@bp.route("/new", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def new() -> Any:
    me = page_principal()
    errors: dict[str, str] = {}
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        role = form.get("role", "")
        name = form.get("name", "").strip()
        if role not in {r.value for r in Role}:
            errors["role"] = N_("Choose a role.")
        if not accounts.NAME_PATTERN.fullmatch(name):
            errors["name"] = N_("Use 2 to 100 letters, digits, dots, dashes or @, without spaces.")
        producer_id = _int_or_none(form.get("producer_id")) if role == "producer" else None
        if role == "producer" and producer_id is None:
            errors["producer_id"] = N_("Choose the producer.")
        province = None
        if role in ("admin", "inspector"):
            province = me.province_code or (form.get("province_code") or None)
        if not errors:
            try:
                account, code = accounts.create_account_with_code(
                    db(), me, name=name, role=Role(role), producer_id=producer_id, province_code=province
                )
            except ValidationFailed as exc:
                errors = field_errors(exc)
            except Conflict:
                errors["name"] = N_("An account with this name exists.")
            except NotFound:
                errors["producer_id"] = N_("Choose the producer.")
            else:
                return render("people/one_time_code.html", account=account, code=code, created=True)
    return render(
        "people/account_new.html",
        422 if errors else 200,
        errors=errors,
        form=form,
        roles=ROLE_CHOICES,
        provinces=[("", N_("Central level")), *province_choices()] if me.province_code is None else None,
        producers=_producer_choices(me),
    )


@bp.get("/<int:account_id>")
@signed_in(Role.ADMIN)
def detail(account_id: int) -> Any:
    account = accounts.get_account(db(), page_principal(), account_id)
    tokens = accounts.account_tokens(db(), page_principal(), account_id)
    max_days = runtime().settings.token_max_days[account.role]
    return render(
        "people/account_detail.html", account=account, tokens=tokens, max_days=max_days, errors={}, form={}
    )


@bp.post("/<int:account_id>/reset-password")
@signed_in(Role.ADMIN)
def reset_password(account_id: int) -> Any:
    code = accounts.reset_password(db(), page_principal(), account_id)
    account = accounts.get_account(db(), page_principal(), account_id)
    return render("people/one_time_code.html", account=account, code=code, created=False)


@bp.post("/<int:account_id>/deactivate")
@signed_in(Role.ADMIN)
def deactivate(account_id: int) -> Any:
    if request.form.get("confirm") != "yes":
        flash(N_("Tick the box to confirm the deactivation."), "error")
        return redirect(url_for("accounts_pages.detail", account_id=account_id))
    try:
        accounts.deactivate_account(
            db(), page_principal(), account_id, reason=request.form.get("reason") or None
        )
    except Conflict as exc:
        flash(_conflict_message(exc), "error")
    else:
        flash(N_("The account is deactivated: its sessions and tokens stopped."), "success")
    return redirect(url_for("accounts_pages.detail", account_id=account_id))


@bp.post("/<int:account_id>/tokens")
@signed_in(Role.ADMIN)
def new_token(account_id: int) -> Any:
    account = accounts.get_account(db(), page_principal(), account_id)
    max_days = runtime().settings.token_max_days
    days = _int_or_none(request.form.get("days"))
    label = request.form.get("label", "").strip()[:200]
    errors: dict[str, str] = {}
    if days is None or not 1 <= days <= max_days[account.role]:
        errors["days"] = N_("Choose a number of days within the limit.")
    else:
        try:
            issued = accounts.issue_token(
                db(), page_principal(), account_id=account_id, label=label, days=days, max_days=max_days
            )
        except Conflict as exc:
            flash(_conflict_message(exc), "error")
            return redirect(url_for("accounts_pages.detail", account_id=account_id))
        return render("people/token_issued.html", account=account, issued=issued)
    tokens = accounts.account_tokens(db(), page_principal(), account_id)
    return render(
        "people/account_detail.html",
        422,
        account=account,
        tokens=tokens,
        max_days=max_days[account.role],
        errors=errors,
        form=request.form,
    )


@bp.post("/tokens/<int:token_id>/revoke")
@signed_in(Role.ADMIN)
def revoke_token(token_id: int) -> Any:
    try:
        row = accounts.revoke_token(db(), page_principal(), token_id)
    except Conflict:
        flash(N_("This token was already revoked."), "error")
        account_id = _int_or_none(request.form.get("account_id"))
        if account_id is None:
            abort(404)
        return redirect(url_for("accounts_pages.detail", account_id=account_id))
    flash(N_("The token is revoked."), "success")
    return redirect(url_for("accounts_pages.detail", account_id=row.account_id))


def _conflict_message(exc: Conflict) -> str:
    known = {
        "you cannot deactivate your own account": N_("You cannot deactivate your own account."),
        "this account is already deactivated": N_("This account is already deactivated."),
        "this account is deactivated": N_("This account is deactivated."),
    }
    return known.get(exc.detail, N_("That cannot be done now."))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
