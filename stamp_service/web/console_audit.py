"""``/console/audit``: the audit log, searchable, with the hash chain's status (central office).

The chain is checked when asked (``?verify=1``: it reads every entry), never on each page view.

Entries are shown by a translated label of their action and record type ("Đăng nhập thành công
· tài khoản 6"), with the stored code kept in small type: auditors search by it. The labels are
here, in one place; an action or record type without a label shows its code (a new action is
readable, if not translated, until it gets one). The codes are the ``action=``/``entity=``
arguments of ``audit.record`` in stamp_service/services.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from stamp_service.domain.access import Role
from stamp_service.domain.i18n import N_
from stamp_service.services import audit_log
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format
from stamp_service.web.context import db
from stamp_service.web.people import _, page_number, people_blueprint, render, signed_in

bp = people_blueprint("console_audit", __name__, url_prefix="/console/audit")
add_number_format(bp)

ACTION_LABELS: dict[str, str] = {
    "account.change_password": N_("Password changed"),
    "account.create": N_("Account created"),
    "account.deactivate": N_("Account deactivated"),
    "account.reset_password": N_("Password reset by the office"),
    "account.set_password": N_("Password set"),
    "account.set_producer_admin": N_("Producer administrator right changed"),
    "auto_approval.delete": N_("Automatic approval removed"),
    "auto_approval.set": N_("Automatic approval set"),
    "certificate.create": N_("Certificate recorded"),
    "certificate.reduce": N_("Star rating reduced"),
    "certificate.supersede": N_("Certificate superseded"),
    "certificate.withdraw": N_("Certificate withdrawn"),
    "finding.create": N_("Inspection finding recorded"),
    "finding.propose_void": N_("Proposal from a finding: void the stamp"),
    "finding.propose_recall": N_("Proposal from a finding: recall the lot"),
    "finding.propose_withdrawal": N_("Proposal from a finding: withdraw the certificate"),
    "finding.accept_proposal": N_("Proposal from a finding accepted"),
    "finding.reject_proposal": N_("Proposal from a finding rejected"),
    "lot.create": N_("Lot created"),
    "lot.document": N_("Lot document added"),
    "lot.event": N_("Lot event recorded"),
    "lot.recall": N_("Lot recalled"),
    "producer.create": N_("Producer registered"),
    "producer.update": N_("Producer details changed"),
    "product.create": N_("Product created"),
    "product.image": N_("Product image changed"),
    "reference.load_product_groups": N_("Product groups loaded"),
    "reference.load_units": N_("Administrative units loaded"),
    "report.close": N_("Consumer report closed"),
    "session.end_all": N_("All sessions ended"),
    "signin.failure": N_("Sign-in failed"),
    "signin.lockout": N_("Sign-in locked after failed attempts"),
    "signin.success": N_("Signed in successfully"),
    "signing_key.create": N_("Signing key created"),
    "signing_key.publish": N_("Signing key published ahead of use"),
    "signing_key.rotate": N_("Signing key rotated"),
    "signing_key.retire": N_("Signing key retired"),
    "signing_key.compromise": N_("Signing key marked compromised"),
    "stamp_request.create": N_("Stamp request submitted"),
    "stamp_request.approve": N_("Stamp request approved"),
    "stamp_request.auto_approve": N_("Stamp request approved automatically"),
    "stamp_request.reject": N_("Stamp request rejected"),
    "stamp_request.stop": N_("Stamp request stopped"),
    "stamps.download": N_("Stamp print file downloaded"),
    "stamps.issue": N_("Stamps issued for a request"),
    "stamps.void": N_("Stamps voided"),
    "token.issue": N_("API token issued"),
    "token.revoke": N_("API token revoked"),
    "totp.enrol": N_("Two-step verification turned on"),
    "totp.remove": N_("Two-step verification turned off"),
}
ENTITY_LABELS: dict[str, str] = {
    "account": N_("account"),
    "administrative_units": N_("administrative units"),
    "api_token": N_("API token"),
    "certificate": N_("certificate"),
    "consumer_report": N_("consumer report"),
    "finding": N_("inspection finding"),
    "lot": N_("production lot"),
    "producer": N_("producer"),
    "product": N_("product"),
    "product_groups": N_("product groups"),
    "signing_key": N_("signing key"),
    "stamp": N_("stamp"),
    "stamp_request": N_("stamp request"),
    "stamp_void": N_("stamp voiding"),
}


def action_label(code: str) -> str:
    """The action in the page's language; an unknown code is shown as it is."""
    label = ACTION_LABELS.get(code)
    return _(label) if label else code


def entity_label(code: str) -> str:
    """The record type in the page's language; an unknown code is shown as it is."""
    label = ENTITY_LABELS.get(code)
    return _(label) if label else code


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
    named = sorted(((code, entity_label(code)) for code in ENTITY_LABELS), key=lambda item: item[1])
    entities = [("", _("Any")), *named]
    return render(
        "people/console_audit.html",
        listing=listing,
        filters=filters,
        chain=chain,
        action_label=action_label,
        entity_label=entity_label,
        entities=entities,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
