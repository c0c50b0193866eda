"""``/console/audit``: the audit log, searchable, with the hash chain's status (central office).

The chain is checked when asked (``?verify=1``: it reads every entry), never on each page view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from stamp_service.domain.access import Role
from stamp_service.services import audit_log
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format, page_number
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint, render, signed_in

bp = people_blueprint("console_audit", __name__, url_prefix="/console/audit")
add_number_format(bp)


def _arg(name: str, limit: int = 64) -> str | None:
    return request.args.get(name, "").strip()[:limit].replace("\x00", "") or None


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    me = page_principal()
    filters = audit_log.AuditFilters(
        action=_arg("action"),
        actor=_arg("actor"),
        entity=_arg("entity"),
        entity_id=_arg("entity_id"),
        page=page_number(),
    )
    listing = audit_log.search_entries(db(), me, filters)
    chain = audit_log.chain_status(db(), me) if request.args.get("verify") == "1" else None
    return render("people/console_audit.html", listing=listing, filters=filters, chain=chain)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
