"""``/producer/staff``: the producer's administrator invites staff, resets their passwords,
deactivates them and makes them administrators (or staff again).

Thin views over the office's own account functions (``services.accounts``: create with a
one-time code, reset, deactivate) with the producer's administrator as the actor, so the scope
rule (only its own producer's accounts; another producer's answer 404), the last-administrator
rule and the audit entries are the office's. A staff member gets 404 on every page here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.domain.access import ProducerDuty, Role
from stamp_service.domain.i18n import N_
from stamp_service.errors import Conflict, ValidationFailed
from stamp_service.services import accounts, producer_staff
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint
from stamp_service.web.producer_common import me, page, producer_page
from stamp_service.web.signin_pages import field_errors

bp = people_blueprint("producer_staff", __name__, url_prefix="/producer/staff")
staff_page = producer_page(ProducerDuty.MANAGE_STAFF)
CONFLICTS = {
    "you cannot deactivate your own account": N_("You cannot deactivate your own account."),
    "this account is already deactivated": N_("This account is already deactivated."),
    "this account is deactivated": N_("This account is deactivated."),
    "the account already has this role": N_("The account already has this role."),
    "the producer's last administrator cannot be removed": N_(
        "This is the last administrator: make another person an administrator first."
    ),
}


@bp.get("/")
@staff_page
def index() -> Any:
    return page("people/producer_staff.html", members=producer_staff.team(db(), me()))


@bp.route("/new", methods=["GET", "POST"])
@staff_page
def new() -> Any:
    errors: dict[str, str] = {}
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        name = form.get("name", "").strip()
        display_name = " ".join(form.get("display_name", "").split())
        if not accounts.NAME_PATTERN.fullmatch(name):
            errors["name"] = N_("Use 2 to 100 letters, digits, dots, dashes or @, without spaces.")
        if not 1 <= len(display_name) <= 200:
            errors["display_name"] = N_("Enter the person's name (at most 200 characters).")
        if not errors:
            try:
                account, code = accounts.create_account_with_code(
                    db(),
                    me(),
                    name=name,
                    role=Role.PRODUCER,
                    producer_id=me().producer_id,
                    display_name=display_name,
                )
            except ValidationFailed as exc:
                errors = field_errors(exc)
            except Conflict:
                errors["name"] = N_("An account with this name exists.")
            else:
                return _code_page(account, code, created=True)
    return page("people/producer_staff_new.html", 422 if errors else 200, errors=errors, form=form)


@bp.get("/<int:account_id>")
@staff_page
def detail(account_id: int) -> Any:
    return page("people/producer_staff_member.html", member=producer_staff.member(db(), me(), account_id))


@bp.post("/<int:account_id>/reset-password")
@staff_page
def reset_password(account_id: int) -> Any:
    try:
        code = accounts.reset_password(db(), me(), account_id)
    except Conflict as exc:
        return _back(account_id, exc)
    return _code_page(accounts.get_account(db(), me(), account_id), code, created=False)


@bp.post("/<int:account_id>/deactivate")
@staff_page
def deactivate(account_id: int) -> Any:
    accounts.get_account(db(), me(), account_id)  # another producer's: 404 before anything else
    if request.form.get("confirm") != "yes":
        flash(N_("Tick the box to confirm the deactivation."), "error")
        return redirect(url_for(".detail", account_id=account_id))
    try:
        accounts.deactivate_account(db(), me(), account_id)
    except Conflict as exc:
        return _back(account_id, exc)
    flash(N_("The account is deactivated: its sessions and tokens stopped."), "success")
    return redirect(url_for(".detail", account_id=account_id))


@bp.post("/<int:account_id>/role")
@staff_page
def set_role(account_id: int) -> Any:
    admin = request.form.get("producer_admin") == "yes"
    try:
        accounts.set_producer_admin(db(), me(), account_id, admin=admin)
    except Conflict as exc:
        return _back(account_id, exc)
    if account_id == me().account_id:  # no longer an administrator: the staff pages are gone
        flash(N_("You are now a staff member."), "success")
        return redirect(url_for("producer_home.home"))
    flash(N_("The role is changed."), "success")
    return redirect(url_for(".detail", account_id=account_id))


def _code_page(account: Any, code: str, *, created: bool) -> Any:
    return page(
        "people/one_time_code.html",
        account=account,
        code=code,
        created=created,
        done_url=url_for(".detail", account_id=account.id),
    )


def _back(account_id: int, exc: Conflict) -> Any:
    flash(CONFLICTS.get(exc.detail, N_("That cannot be done now.")), "error")
    return redirect(url_for(".detail", account_id=account_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
