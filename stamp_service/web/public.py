"""The consumer's pages: the verification page the QR opens, the typed-serial form, PIN and report forms.

No JavaScript, no session, no external asset: one HTML response with its CSS
inline (allowed by the CSP through its SHA-256 hash), gzip-compressed when the
browser accepts it. Every route is rate-limited per client; the PIN and report
forms carry a signed form token instead of a session (services.public_guard).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, render_template, request
from markupsafe import escape

from stamp_service.adapters.redis import Limit
from stamp_service.crypto.keyring import KeyRing, for_runtime
from stamp_service.domain import serials
from stamp_service.domain.i18n import N_
from stamp_service.domain.status import Cause
from stamp_service.domain.verification import browser_family, with_pin_reused
from stamp_service.errors import RateLimited, SerialTypo, ValidationFailed
from stamp_service.services import public_guard, reports, verification
from stamp_service.services.public_guard import RateCheck, check_rate
from stamp_service.services.scans import scan_log_for
from stamp_service.services.stamp_rows import StampRows
from stamp_service.services.verification import ScanInfo, Verification, VerifyEnv
from stamp_service.services.verify_config import VerifyConfig
from stamp_service.web.context import db, read_db, runtime
from stamp_service.web.i18n import format_day, format_moment, format_number, pick_language, translations
from stamp_service.web.verdict_text import VerdictText, scans_line, verdict_text

bp = Blueprint("public", __name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
CSS = (Path(__file__).resolve().parent.parent / "templates" / "verify" / "page.css").read_text().strip()
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{CSS_HASH}'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Every public page carries these.
PAGE_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
    ("Vary", "Accept-Encoding"),
    ("Vary", "Accept-Language"),
)
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 1  # a third of level 6's CPU; the page stays far inside its 30 KB budget


def verify_env() -> VerifyEnv:
    """The app's verification collaborators, built once per runtime (and the scan flusher started)."""
    rt = runtime()
    env = rt.services.get("verify_env")
    if env is None:
        config = rt.services.setdefault("verify_config", VerifyConfig.load(rt.settings))
        scan_log = scan_log_for(rt)
        rows = StampRows(rt.replica_session_factory)  # DATABASE_READ_URL, for stamp rows only
        env = rt.services.setdefault(
            "verify_env",
            VerifyEnv(for_runtime(rt), rt.store, config, scan_log, limiter=rt.limiter, stamp_rows=rows),
        )
        if not rt.settings.testing:
            scan_log.start_flusher(rt.session_factory, config.scan_flush_seconds)
    return env  # type: ignore[no-any-return]


def client_key(env: VerifyEnv) -> bytes:
    return _client_hash(env.keyring, request.remote_addr)


@lru_cache(maxsize=16384)
def _client_hash(keyring: KeyRing, address: str | None) -> bytes:
    """Remembered per process (bounded; never written anywhere): one HMAC less per repeat visitor."""
    return public_guard.client_hash(keyring, address)


def page_rate(env: VerifyEnv, client: bytes) -> RateCheck:
    return RateCheck(Limit("page", env.config.rate_page_per_minute, 60), client.hex())


def limit_page(env: VerifyEnv) -> bytes:
    client = client_key(env)
    check_rate(env.limiter, page_rate(env, client))
    return client


# --- rendering ----------------------------------------------------------------------------------
def _labels(t: Any) -> dict[str, Any]:
    _ = t.gettext
    return {
        "event_types": {  # "sourcing" is worded by product group (sourcing_label)
            "processing": _("Processing"),
            "testing": _("Testing"),
            "packing": _("Packing"),
            "stamping": _("Stamping"),
            "dispatch": _("Dispatch"),
        },
        "legal_types": {
            "enterprise": _("Enterprise"),
            "cooperative": _("Cooperative"),
            "cooperative_group": _("Cooperative group"),
            "household": _("Household business"),
        },
        "problems": [
            ("fake_stamp", _("The stamp looks fake")),
            ("fake_goods", _("The goods look fake or different")),
            ("expired_sold", _("Expired product sold as OCOP")),
            ("no_stamp", _("OCOP mark without a stamp")),
            ("recalled_sold", _("Recalled goods still on sale")),
            ("other", _("Something else")),
        ],
    }


# The first stage of an origin record, worded by product group (decision 148/QĐ-TTg codes): fruit is
# picked, fish caught, honey taken from hives; crafts and drinks start from raw materials.
_SOURCING_BY_GROUP = (
    (("1.1.2", "1.3.5", "1.4.1"), "catch"),
    (("1.3.6",), "honey"),
    (("1.1.1", "1.2", "1.5", "1.6", "3.1"), "harvest"),
    (("5",), "growing"),
)


def sourcing_label(t: Any, group_code: str | None) -> str:
    """The name of the ``sourcing`` stage for a product of this group ("raw materials" by default)."""
    _ = t.gettext
    kind = next(
        (k for prefixes, k in _SOURCING_BY_GROUP for p in prefixes if (group_code or "").startswith(p)), ""
    )
    if kind == "catch":
        return _("Catch / aquaculture")  # type: ignore[no-any-return]
    if kind == "honey":
        return _("Honey harvest")  # type: ignore[no-any-return]
    if kind == "harvest":
        return _("Harvest / raw materials")  # type: ignore[no-any-return]
    if kind == "growing":
        return _("Growing / breeding")  # type: ignore[no-any-return]
    return _("Raw materials")  # type: ignore[no-any-return]


# The report form opens on pages that ask the shopper to report, with the problem that fits.
_REPORT_PROBLEM = {
    "not_genuine": "fake_stamp",
    "suspicious_scans": "fake_stamp",
    "suspicious_pin": "fake_goods",
    "voided_copied": "fake_stamp",
    "voided": "fake_stamp",
    "recalled": "recalled_sold",
    "stars_withdrawn": "expired_sold",
    "stars_below_three": "expired_sold",
    "no_certificate": "expired_sold",
    "certificate_expired": "expired_sold",
    "stamp_expired": "expired_sold",
}


def render_page(
    lang: str,
    *,
    result: Verification | None = None,
    here: str,
    switch_args: dict[str, str],
    channel: str = "qr",
    notice: str | None = None,
    notice_error: bool = False,
    typed: str | None = None,
    status: int = 200,
    pin_first_used_at: Any = None,
    template: str = "verify/page.html",
) -> Response:
    env = verify_env()
    t = translations(lang)
    ctx = _page_context(lang, here, switch_args, channel, notice, notice_error, typed)
    if result is not None:
        text = _verdict_text(t, lang, result, pin_first_used_at)
        serial_compact = serials.compact(result.stamp.serial) if result.stamp.serial else None
        ctx.update(
            _result_context(t, env, result, text),
            title=text.title,
            action=text.action,
            lines=text.lines,
            warnings=text.warnings,
            page_title=text.title,
            serial_text=result.serial_text,
            serial_compact=serial_compact,
            scans_line=scans_line(t, result.scans, lang),
            pin_token=public_guard.form_token(env.keyring, "pin", serial_compact or ""),
            report_token=public_guard.form_token(env.keyring, "report", serial_compact or ""),
        )
    return Response(render_template(template, **ctx), status=status, mimetype="text/html")


def _page_context(
    lang: str,
    here: str,
    switch_args: dict[str, str],
    channel: str,
    notice: str | None,
    notice_error: bool,
    typed: str | None,
) -> dict[str, Any]:
    """What every public page's template gets, before any verdict."""
    t = translations(lang)
    other = "en" if lang == "vi" else "vi"
    return {
        "lang": lang,
        "other_lang": other,
        "switch_url": f"{here}?{urlencode({**switch_args, 'lang': other})}",
        "css": CSS,
        "_": t.gettext,
        "ngettext": t.ngettext,
        "fd": lambda d: format_day(d, lang),
        "fdt": lambda d: format_moment(d, lang),
        "fn": lambda n: format_number(n, lang),
        "here": here,
        "channel": channel,
        "notice": notice,
        "notice_error": notice_error,
        "typed": typed,
        "verdict": None,
        "page_title": t.gettext("OCOP stamp check"),
        **_labels(t),
    }


def _verdict_text(t: Any, lang: str, result: Verification, pin_first_used_at: Any = None) -> VerdictText:
    return verdict_text(
        t,
        result.status,
        lang,
        result.scans,
        stars_now=verification.stars_now(result),
        stars_printed=result.stamp.stars_at_issue,
        pin_first_used_at=pin_first_used_at,
    )


def _result_context(t: Any, env: VerifyEnv, result: Verification, text: VerdictText) -> dict[str, Any]:
    """The parts of a verdict page that follow from the verdict's kind and the product facts."""
    facts = result.facts
    out: dict[str, Any] = {
        "verdict": result.status.verdict.value,
        "kind": text.kind,
        "icon": text.icon,
        # A stamp voided as copied names a product the item in hand may not be: no product sheet.
        "facts": None if text.kind == "voided_copied" else facts,
        "facts_hidden": bool(facts) and text.kind == "voided_copied",
        "report_problem": _REPORT_PROBLEM.get(text.kind),
        "part": result.stamp,
        "provinces": verification.provinces(read_db(), env.memo) if facts else [],
        # The certificate box says when the stars were withdrawn (the date is the verdict's, so a
        # page skeleton, cached per verdict, cannot show another).
        "stars_withdrawn_on": next(
            (f.since for f in result.status.findings if f.cause is Cause.STARS_WITHDRAWN), None
        ),
    }
    if facts:
        labels = _labels(t)["event_types"]
        out["event_types"] = {**labels, "sourcing": sourcing_label(t, facts["product"].get("group_code"))}
    return out


# --- the QR page from a pre-rendered skeleton ---------------------------------------------------
# The QR page of two stamps of one lot differs only in a few values: the serial, the form tokens,
# the verdict's sentences and the scan line. Its HTML is rendered once per (status generation,
# lot, language, verdict situation) with markers in their place, kept in the process's
# GenerationCache, and each request joins the pieces with its own (escaped) values: Jinja ran
# the whole page per scan before, a third of a first scan's CPU.
_FIELDS = (
    "token",
    "title",
    "action",
    "lines",
    "warnings",
    "serial_text",
    "serial_compact",
    "scans_line",
    "pin_token",
    "report_token",
)
_JOINERS = {"lines": "</p><p>", "warnings": '</p><p class="warn">'}


def _mark(name: str) -> str:
    return f"\x00{name}\x00"  # escaping leaves NUL alone; no value of the page contains one


def _skeleton(lang: str, result: Verification, text: VerdictText, has_scans_line: bool) -> list[str]:
    """The page split at its markers: literal HTML at even indexes, field names at odd ones."""
    env = verify_env()
    t = translations(lang)
    here = "/V/" + _mark("token")
    ctx = _page_context(lang, here, {}, "qr", None, False, None)
    ctx.update(
        _result_context(t, env, result, text),
        title=_mark("title"),
        action=_mark("action"),
        lines=[_mark("lines")] if text.lines else [],
        warnings=[_mark("warnings")] if text.warnings else [],
        page_title=_mark("title"),
        serial_text=_mark("serial_text"),
        serial_compact=_mark("serial_compact"),
        scans_line=_mark("scans_line") if has_scans_line else None,
        pin_token=_mark("pin_token"),
        report_token=_mark("report_token"),
    )
    parts = render_template("verify/page.html", **ctx).split("\x00")
    assert set(parts[1::2]) <= set(_FIELDS), "a marker was changed by the template"
    return parts


def stamp_html(env: VerifyEnv, lang: str, result: Verification, token: str) -> str:
    """The QR page of a known stamp: its lot's skeleton, filled in with this stamp's values."""
    t = translations(lang)
    text = _verdict_text(t, lang, result)
    line = scans_line(t, result.scans, lang)
    part = result.stamp
    key = (
        "page",
        part.product_id,
        part.lot_id,
        lang,
        result.status,
        text.kind,
        text.icon,
        bool(text.lines),
        bool(text.warnings),
        bool(line),
        part.has_pin,
        part.stars_at_issue,
        part.expiry_day,
        id(verification.provinces(read_db(), env.memo)),  # a refreshed list renders anew
    )
    parts = env.cache.get_or_load(result.generation, key, lambda: _skeleton(lang, result, text, bool(line)))
    compact = serials.compact(part.serial) if part.serial else ""
    values = {
        "token": token.upper(),
        "title": text.title,
        "action": text.action,
        "lines": text.lines,
        "warnings": text.warnings,
        "serial_text": result.serial_text or "",
        "serial_compact": compact,
        "scans_line": line or "",
        "pin_token": public_guard.form_token(env.keyring, "pin", compact),
        "report_token": public_guard.form_token(env.keyring, "report", compact),
    }
    out = []
    for i, piece in enumerate(parts):
        if i % 2 == 0:
            out.append(piece)
        elif piece in _JOINERS:
            out.append(_JOINERS[piece].join(escape(v) for v in values[piece]))
        else:
            out.append(escape(values[piece]))
    return "".join(out)


def _scan(env: VerifyEnv, client: bytes, channel: str) -> ScanInfo:
    province = request.args.get("p") or None
    if province is not None and province not in {c for c, _ in verification.provinces(read_db(), env.memo)}:
        province = None
    return ScanInfo(client, _browser(request.headers.get("User-Agent", "")), province, channel)


_browser = lru_cache(maxsize=1024)(browser_family)


# --- routes -------------------------------------------------------------------------------------
@bp.get("/V/<token>")
@bp.get("/V/<token>/")
@bp.get("/v/<token>")
@bp.get("/v/<token>/")
def stamp_page(token: str) -> Response:
    """The page the QR code opens (any letter case, trailing slash tolerated)."""
    env = verify_env()
    lang = pick_language(runtime().settings.default_language, request.args.get("lang"))
    client = client_key(env)
    result = verification.verify_code(
        read_db(),
        env,
        token,
        lang=lang,
        scan=_scan(env, client, "qr"),
        rate=page_rate(env, client),
        with_facts=False,
    )
    if not result.known:
        return render_page(lang, result=result, here=f"/V/{token.upper()}", switch_args={})
    result = verification.with_product_facts(read_db(), env, result, lang)
    return _compressed(Response(stamp_html(env, lang, result, token), mimetype="text/html"))


@bp.get("/")
def home() -> Response:
    """The service's host is printed on every stamp: what an OCOP stamp is, how to check one."""
    env = verify_env()
    check_rate(env.limiter, page_rate(env, client_key(env)))
    lang = pick_language(runtime().settings.default_language, request.args.get("lang"))
    return render_page(lang, here="/", switch_args={}, template="verify/home.html")


@bp.get("/favicon.svg")
@bp.get("/favicon.ico")
def favicon() -> Response:
    """A small local icon (SVG; browsers that ask for /favicon.ico accept it too): no 404 per visit."""
    response = Response(_favicon(), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 86400
    return response


@lru_cache(maxsize=1)
def _favicon() -> bytes:
    return (STATIC / "favicon.svg").read_bytes()


@bp.route("/verify", methods=["GET", "POST"])
def verify_form() -> Response:
    """Type the printed serial: the check character catches typos before any lookup."""
    env = verify_env()
    client = client_key(env)
    source = request.form if request.method == "POST" else request.args
    lang = pick_language(runtime().settings.default_language, source.get("lang"))
    typed = (source.get("serial") or "").strip()[:40]
    t = translations(lang)
    if not typed:
        check_rate(env.limiter, page_rate(env, client))
        # The form sent empty says so; the plain page (no "serial" at all) just shows the form.
        empty = t.gettext("Type the serial printed under the QR code.") if "serial" in source else None
        return render_page(lang, here="/verify", switch_args={}, notice=empty, notice_error=bool(empty))
    try:
        result = verification.verify_serial(
            db(), env, typed, lang=lang, scan=_scan(env, client, "serial"), rate=page_rate(env, client)
        )
    except SerialTypo as exc:
        return render_page(
            lang,
            here="/verify",
            switch_args={"serial": typed},
            notice=_typo_notice(t, lang, exc),
            notice_error=True,
            typed=typed,
        )
    # A typed serial can pass the check character with two characters wrong (about 1 in 32 of
    # such typos): before "not genuine" accuses the shop, ask to compare it with the label.
    notice = None if result.known else t.gettext(TYPED_UNKNOWN)
    return render_page(
        lang,
        result=result,
        here="/verify",
        switch_args={"serial": typed},
        channel="serial",
        typed=typed,
        notice=notice,
    )


TYPED_UNKNOWN = N_(
    "No stamp has the serial you typed. Compare it with the label character by character: if it "
    "matches, the stamp is not genuine."
)


def _typo_notice(t: Any, lang: str, exc: SerialTypo) -> str:
    """What is wrong with a typed serial, as far as the serial itself tells (nothing looked up)."""
    reason = exc.extra.get("reason")
    if reason == "length":
        return t.gettext(  # type: ignore[no-any-return]
            "A serial has %(expected)d letters and digits; you typed %(num)d. Check that none is missing "
            "or extra."
        ) % {"expected": serials.DATA_CHARS + 1, "num": exc.extra["length"]}
    if reason == "character":
        return t.gettext("Check the serial: it has a character that is not printed on labels.")
    return t.gettext("Check the serial: a character is wrong.")


def _form_result(env: VerifyEnv, lang: str, serial_text: str) -> Verification | None:
    try:
        return verification.verify_serial(db(), env, serial_text, lang=lang) if serial_text else None
    except SerialTypo:
        return None


@bp.post("/verify/pin")
def pin() -> Response:
    env = verify_env()
    client = limit_page(env)
    lang = pick_language(runtime().settings.default_language, request.form.get("lang"))
    t = translations(lang)
    serial_text = (request.form.get("serial") or "").strip()[:40]
    args = {"serial": serial_text}
    try:
        public_guard.check_form(
            env.keyring,
            "pin",
            serial_text,
            request.form.get("form_token"),
            request.headers.get("Origin"),
            request.host,
        )
        outcome = verification.check_pin(db(), env, serial_text, request.form.get("pin", "")[:32], client)
    except ValidationFailed:
        return render_page(
            lang,
            result=_form_result(env, lang, serial_text),
            here="/verify",
            switch_args=args,
            channel="serial",
            notice=t.gettext("The form has expired; open the page again."),
            notice_error=True,
            status=400,
        )
    except SerialTypo:
        outcome = verification.PinOutcome("wrong")
    result = _form_result(env, lang, serial_text)
    used_at = None
    notice: str | None
    if outcome.result == "first":
        notice, error = t.gettext("First verification of this PIN: the item is genuine."), False
    elif outcome.result == "used":
        notice = t.gettext(
            "This PIN was already used on %(date)s. "
            "If you did not enter it yourself, this item may be a copy."
        ) % {"date": format_moment(outcome.first_used_at, lang)}
        error = True
        if result is not None and result.status.verdict is not with_pin_reused(result.status).verdict:
            # The verdict itself turns "suspicious" and says why; no second, contradicting note.
            result = replace(result, status=with_pin_reused(result.status))
            notice, used_at = None, outcome.first_used_at
    else:
        notice, error = t.gettext("Wrong PIN. Check the digits and try again."), True
    return render_page(
        lang,
        result=result,
        here="/verify",
        switch_args=args,
        channel="serial",
        notice=notice,
        notice_error=error,
        pin_first_used_at=used_at,
    )


@bp.post("/verify/report")
def report() -> Response:
    env = verify_env()
    client = limit_page(env)
    public_guard.hit(
        env.limiter, Limit("report", env.config.rate_reports_per_client_hour, 3600), client.hex()
    )
    lang = pick_language(runtime().settings.default_language, request.form.get("lang"))
    t = translations(lang)
    serial_text = (request.form.get("serial") or "").strip()[:40]
    result = _form_result(env, lang, serial_text)
    args = {"serial": serial_text} if serial_text else {}
    form = reports.ReportForm(
        problem=request.form.get("problem", ""),
        details=request.form.get("details"),
        shop_name=request.form.get("shop_name"),
        place=request.form.get("place"),
        province_code=request.form.get("province_code"),
        contact=request.form.get("contact"),
    )
    try:
        public_guard.check_form(
            env.keyring,
            "report",
            serial_text,
            request.form.get("form_token"),
            request.headers.get("Origin"),
            request.host,
        )
        verdict = result.status.verdict.value if result else (request.form.get("verdict") or "")[:16] or None
        reports.submit_report(
            db(), form, client=client, serial=result.stamp.serial if result else None, verdict=verdict
        )
    except ValidationFailed as exc:
        expired = any(e["field"] == "form_token" for e in exc.errors)
        notice = (
            t.gettext("The form has expired; open the page again.")
            if expired
            else t.gettext("The report could not be sent: please check the fields.")
        )
        return render_page(
            lang,
            result=result,
            here="/verify",
            switch_args=args,
            channel="serial",
            notice=notice,
            notice_error=True,
            status=400,
        )
    return render_page(
        lang,
        result=result,
        here="/verify",
        switch_args=args,
        channel="serial",
        notice=t.gettext("Thank you. Your report was sent to the OCOP office."),
    )


@bp.errorhandler(RateLimited)
def _too_many(exc: RateLimited) -> Response:
    lang = pick_language(runtime().settings.default_language, request.args.get("lang"))
    t = translations(lang)
    notice = t.gettext("Too many requests. Please wait %(seconds)d seconds and try again.") % {
        "seconds": exc.retry_after
    }
    response = render_page(lang, here="/verify", switch_args={}, notice=notice, notice_error=True, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def error_page(status: int, title: str, detail: str | None) -> Response:
    """An error answered to a person (web.errors decides when): the public pages' look, Vietnamese first.

    A 404 gets its own words and the ways on (home, type a serial); other errors show their
    title and detail. No database and no rate limit here: this must work while things fail.
    """
    lang = pick_language(runtime().settings.default_language, request.args.get("lang"))
    t = translations(lang)
    other = "en" if lang == "vi" else "vi"
    if status == 404:
        title = t.gettext("Page not found")
        detail = t.gettext(
            "This address is not a page of the OCOP stamp check. To check a stamp, scan its QR code "
            "again or type the serial printed next to it."
        )
    ctx = {
        "lang": lang,
        "other_lang": other,
        "switch_url": f"{request.path}?{urlencode({'lang': other})}",
        "css": CSS,
        "_": t.gettext,
        "ngettext": t.ngettext,
        "page_title": title,
        "title": title,
        "detail": detail or "",
        "status": status,
    }
    response = Response(render_template("verify/error.html", **ctx), status=status, mimetype="text/html")
    return _with_page_headers(response)


@bp.after_request
def page_headers(response: Response) -> Response:
    """Security headers on every public page, and gzip: the 30 KB budget is for the transferred bytes."""
    if request.endpoint == "public.favicon":
        return response
    return _compressed(_with_page_headers(response))


def _with_page_headers(response: Response) -> Response:
    h = response.headers
    for name, value in PAGE_HEADERS:
        if name == "Vary":
            h.add(name, value)
        else:
            h[name] = value
    return response


def _compressed(response: Response) -> Response:
    if (
        "gzip" in request.headers.get("Accept-Encoding", "")
        and not response.direct_passthrough
        and response.mimetype == "text/html"
        and "Content-Encoding" not in response.headers
    ):
        body = response.get_data()
        if len(body) >= GZIP_MIN_BYTES:
            response.set_data(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
