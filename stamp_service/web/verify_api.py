"""JSON verification API (public, rate-limited) and the consumer-report admin API, under /api/v1.

The verification answers are those of the page (same service, same texts);
API calls do not count as consumer scans (inspector apps call them in bulk).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from stamp_service.adapters.redis import Limit
from stamp_service.domain.access import Principal
from stamp_service.schemas.common import Page
from stamp_service.schemas.verification import (
    DecisionOut,
    FindingOut,
    ReportClose,
    ReportOut,
    ReportQuery,
    ScansOut,
    StampOut,
    VerifyOut,
    VerifyQuery,
)
from stamp_service.services import public_guard, reports, verification
from stamp_service.services.verification import Verification
from stamp_service.web.api import operation
from stamp_service.web.context import db, runtime
from stamp_service.web.i18n import pick_language, translations
from stamp_service.web.public import client_key, verify_env
from stamp_service.web.verdict_text import verdict_text

bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")


def _limit() -> None:
    env = verify_env()
    limit = Limit("api", env.config.rate_api_per_minute, 60)
    public_guard.hit(env.limiter, limit, client_key(env).hex())


def _out(result: Verification, lang: str) -> VerifyOut:
    text = verdict_text(
        translations(lang),
        result.status,
        lang,
        result.scans,
        stars_now=verification.stars_now(result),
        stars_printed=result.stamp.stars_at_issue,
    )
    status_json = verification.status_json(result.status)
    findings = [
        FindingOut(
            cause=f["cause"],
            since=f["since"],
            decision=DecisionOut(**f["decision"]) if f["decision"] else None,
        )
        for f in status_json["findings"]
    ]
    warnings = [FindingOut(cause=f["cause"], since=f["since"]) for f in status_json["warnings"]]
    out = VerifyOut(
        verdict=result.status.verdict.value,
        message=" ".join([text.title + ".", *text.lines, text.action]),
        lang=lang,
        findings=findings,
        warnings=warnings,
    )  # type: ignore[arg-type]
    if result.known and result.serial_text:
        out.stamp = StampOut(
            serial=result.serial_text,
            expiry_day=result.stamp.expiry_day,
            stars_at_issue=result.stamp.stars_at_issue,
            has_pin=result.stamp.has_pin,
        )
        stats = result.scans
        out.scans = ScansOut(
            count=stats.scans if stats else 0,
            first_at=stats.first_at if stats else None,
            clone_signals=list(result.clone_reasons),
        )
        out.facts = result.facts
    return out


def _lang(query: VerifyQuery) -> str:
    return pick_language(runtime().settings.default_language, query.lang)


@operation(
    bp,
    "/verify/<token>",
    method="GET",
    summary="Verify a scanned stamp code (the token of the QR URL, or the whole URL escaped)",
    tag="public",
    query=VerifyQuery,
    response=VerifyOut,
    auth=False,
    errors=(429,),
)
def verify_token(*, token: str, query: VerifyQuery) -> VerifyOut:
    """Forged, tampered, truncated and unknown codes all answer ``not_genuine`` with no reason."""
    _limit()
    lang = _lang(query)
    return _out(verification.verify_code(db(), verify_env(), token, lang=lang), lang)


# docs/stamp-format.md allows one trailing slash after a code, as the page route does.
bp.add_url_rule("/verify/<token>/", endpoint="verify_token_slash", view_func=verify_token, methods=["GET"])


@operation(
    bp,
    "/verify/serial/<serial>",
    method="GET",
    summary="Verify a typed serial (printed form, any case, hyphens optional)",
    tag="public",
    query=VerifyQuery,
    response=VerifyOut,
    auth=False,
    errors=(422, 429),
)
def verify_serial(*, serial: str, query: VerifyQuery) -> VerifyOut:
    """A serial whose check character disagrees is a 422 ``serial-typo`` problem (nothing was looked up)."""
    _limit()
    lang = _lang(query)
    return _out(verification.verify_serial(db(), verify_env(), serial[:40], lang=lang), lang)


@operation(
    bp,
    "/reports",
    method="GET",
    summary="List consumer reports of suspected fakes",
    tag="reports",
    query=ReportQuery,
    response=Page[ReportOut],
    roles=("admin", "inspector"),
)
def list_reports(*, principal: Principal, query: ReportQuery) -> Page[ReportOut]:
    return reports.list_reports(db(), principal, query)


@operation(
    bp,
    "/reports/<int:report_id>/close",
    method="POST",
    summary="Close a consumer report with a note on what was done",
    tag="reports",
    body=ReportClose,
    response=ReportOut,
    roles=("admin",),
    errors=(404, 409),
)
def close_report(*, principal: Principal, report_id: int, body: ReportClose) -> ReportOut:
    return reports.close_report(db(), principal, report_id, body.note)


@bp.after_request
def _headers(response: Response) -> Response:
    h = response.headers
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    h["Cache-Control"] = "no-store"
    if request.path.startswith("/api/v1/verify/"):
        h["Access-Control-Allow-Origin"] = "*"  # public data; the inspector scanner may be served elsewhere
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
