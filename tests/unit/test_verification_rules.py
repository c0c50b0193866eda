"""Pure rules of the verification page: clone thresholds, browser families, config, guards, catalogue."""

from __future__ import annotations

import ast
import functools
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from stamp_service.adapters.redis import Limit, RateLimiter, Store
from stamp_service.config import Settings
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain.status import Cause, Finding, Status, Verdict
from stamp_service.domain.verification import (
    CloneThresholds,
    ScanStats,
    browser_family,
    clone_reasons,
    with_clone_signal,
)
from stamp_service.errors import ConfigurationError, RateLimited, ValidationFailed
from stamp_service.services import public_guard
from stamp_service.services.verify_config import VerifyConfig
from stamp_service.web.errors import problem_msgids

ROOT = Path(__file__).resolve().parents[2] / "stamp_service"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_clone_rules():
    limits = CloneThresholds(max_scans=20, min_clients=3, min_provinces=3, max_span_days=180)
    assert clone_reasons(ScanStats(19, NOW, NOW, 19, 2), limits) == ()
    assert clone_reasons(ScanStats(20, NOW, NOW, 1, 0), limits) == ("scans",)
    assert clone_reasons(ScanStats(3, NOW, NOW, 3, 3), limits) == ("places",)
    assert clone_reasons(ScanStats(2, NOW - timedelta(days=181), NOW, 1, 1), limits) == ("span",)
    with pytest.raises(ValueError):
        CloneThresholds(max_scans=0)


def test_suspicion_never_hides_a_worse_verdict():
    genuine = Status(Verdict.GENUINE, (), (Finding(Cause.KEY_COMPROMISED),))
    suspicious = with_clone_signal(genuine, True)
    assert suspicious.verdict is Verdict.SUSPICIOUS and suspicious.warnings == genuine.warnings
    revoked = Status(Verdict.REVOKED, (Finding(Cause.LOT_RECALLED),))
    assert with_clone_signal(revoked, True) is revoked and with_clone_signal(genuine, False) is genuine


@pytest.mark.parametrize(
    ("ua", "family"),
    [
        ("Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36", "chrome"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1",
            "safari",
        ),
        ("Mozilla/5.0 (Android 13; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0", "firefox"),
        ("Mozilla/5.0 (Linux; Android 13) SamsungBrowser/23.0 Chrome/115.0 Mobile Safari/537.36", "samsung"),
        ("Mozilla/5.0 (Linux; Android 12) Chrome/112.0 Mobile Safari/537.36 Zalo android/12100", "zalo"),
        ("curl/8.0", "other"),
        (None, "other"),
    ],
)
def test_browser_family(ua, family):
    assert browser_family(ua) == family


def _settings(tmp_path, **extra) -> Settings:
    return Settings(
        database_url="sqlite://",
        redis_url=None,
        keys_dir=tmp_path,
        var_dir=tmp_path,
        public_base_url="https://TEM.OCOP.LOCAL",
        extra=extra,
    )


def test_config_from_extra_then_env_and_fails_fast(tmp_path):
    config = VerifyConfig.load(_settings(tmp_path, clone_max_scans=7), env={"OCOP_RATE_API_PER_MINUTE": "9"})
    assert config.clone.max_scans == 7 and config.rate_api_per_minute == 9 and config.clone.min_provinces == 3
    for bad in ("x", "-1", "0"):
        with pytest.raises(ConfigurationError):
            VerifyConfig.load(_settings(tmp_path), env={"OCOP_CLONE_MAX_SCANS": bad})


def test_the_one_limiter_is_a_moving_window_with_retry_after():
    limiter = RateLimiter(Store(None))
    limit = Limit("t", 2, 1)
    public_guard.hit(limiter, limit, "a")
    public_guard.hit(limiter, limit, "a")
    with pytest.raises(RateLimited) as exc:
        public_guard.hit(limiter, limit, "a")
    assert exc.value.retry_after == 1  # whole seconds, at least one
    public_guard.hit(limiter, limit, "b")  # another client
    time.sleep(1.05)  # the window has moved past both hits
    public_guard.hit(limiter, limit, "a")


def test_form_tokens(tmp_path):
    ring = KeyRing(tmp_path)
    ring.ensure_service_secret()
    token = public_guard.form_token(ring, "pin", "SERIAL", now=1000)
    public_guard.check_form(ring, "pin", "SERIAL", token, "null", "tem.ocop.local", now=2000)
    public_guard.check_form(
        ring, "pin", "SERIAL", token, "https://TEM.OCOP.LOCAL", "tem.ocop.local", now=2000
    )
    bad = [
        ("report", "SERIAL", token, None, 2000),  # another form
        ("pin", "OTHER", token, None, 2000),  # another stamp
        ("pin", "SERIAL", token, None, 1000 + 3 * 3600),  # too old
        ("pin", "SERIAL", token, "https://evil.example", 2000),  # foreign origin
        ("pin", "SERIAL", "1000.00", None, 2000),
        ("pin", "SERIAL", None, None, 2000),
    ]
    for purpose, subject, tok, origin, now in bad:
        with pytest.raises(ValidationFailed):
            public_guard.check_form(ring, purpose, subject, tok, origin, "tem.ocop.local", now=now)


def _msgids() -> set[str | tuple[str, str]]:
    """Every message id the code marks: templates (``_``, ``gettext``, ``ngettext``) and Python
    (the same, and ``N_`` for ids marked where they are defined, domain/i18n.py)."""
    ids: set = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for path in sorted(ROOT.rglob("*.py")):
        ids |= {msg for _l, msg, _c, _x in extract_from_file("python", path, keywords=keywords)}
    for path in sorted(ROOT.glob("templates/**/*.html")):
        with path.open("rb") as fh:
            for _l, func, msg, _c in babel_extract(fh, ["_", "gettext", "ngettext"], [], {}):
                if func == "ngettext" and isinstance(msg, tuple) and all(isinstance(m, str) for m in msg[:2]):
                    ids.add((msg[0], msg[1]))  # (singular, plural, the count and keyword arguments: None)
                    continue
                first = msg[0] if isinstance(msg, tuple) else msg  # _("... %(n)d", n=...): the id
                if first:  # _(variable): an id marked where the variable is set
                    ids.add(first)
    return ids | problem_msgids()  # API problem details (web/errors.py)


@functools.cache
def _code_strings() -> tuple[frozenset[str], str]:
    """Every string constant of the Python code (implicit concatenation joined, as ast does) and
    the text of every template: ids kept in constants (``REQUIRED = "Fill in this field."``) and
    translated through a variable still count as used."""
    constants: set[str] = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
    templates = "\n".join(p.read_text(encoding="utf-8") for p in ROOT.glob("templates/**/*.html"))
    return frozenset(constants), templates


def _occurs_in_code(msgid: str | tuple[str, str]) -> bool:
    text = msgid[0] if isinstance(msgid, tuple) else msgid
    constants, templates = _code_strings()
    return text in constants or text in templates


def test_vietnamese_catalogue_translates_every_message_with_the_same_placeholders():
    with (ROOT / "translations/vi/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    messages = {m.id: m for m in catalog if m.id}
    wanted = _msgids()
    missing = [m for m in wanted if m not in messages]
    assert not missing, missing
    stale = [m for m in messages if m not in wanted and not _occurs_in_code(m)]
    assert not stale, "stale entries in the catalogue"
    for msgid, message in messages.items():
        assert message.string and not message.fuzzy, msgid
        source = msgid[0] if isinstance(msgid, tuple) else msgid
        target = message.string[0] if isinstance(message.string, tuple) else message.string
        assert sorted(re.findall(r"%\(\w+\)[sd]", source)) == sorted(re.findall(r"%\(\w+\)[sd]", target)), (
            msgid
        )


def _decision(kind: str | None = None):
    from stamp_service.domain.status import Decision

    return Decision(number="1/QĐ", kind=kind)


@pytest.mark.parametrize(
    ("findings", "verdict", "kind"),
    [
        ((Cause.STAMP_EXPIRED,), Verdict.EXPIRED, "stamp_expired"),
        ((Cause.CERTIFICATE_EXPIRED, Cause.STAMP_EXPIRED), Verdict.EXPIRED, "certificate_expired"),
        ((Cause.NO_CERTIFICATE,), Verdict.REVOKED, "no_certificate"),
        ((Cause.STARS_BELOW_THREE,), Verdict.REVOKED, "stars_below_three"),
        ((Cause.STAMP_VOIDED, Cause.STARS_WITHDRAWN), Verdict.REVOKED, "voided"),
        ((Cause.STAMP_VOIDED, Cause.LOT_RECALLED), Verdict.REVOKED, "recalled"),  # a health risk first
        ((Cause.MANY_SCANS,), Verdict.SUSPICIOUS, "suspicious_scans"),
        ((Cause.PIN_REUSED,), Verdict.SUSPICIOUS, "suspicious_pin"),
        ((Cause.BAD_CODE,), Verdict.NOT_GENUINE, "not_genuine"),
    ],
)
def test_each_situation_has_its_own_title_and_action_in_both_languages(findings, verdict, kind):
    from stamp_service.web.i18n import translations
    from stamp_service.web.verdict_text import verdict_kind, verdict_text

    status = Status(verdict, tuple(Finding(c, datetime(2026, 1, 1).date()) for c in findings))
    assert verdict_kind(status) == kind
    vi, en = verdict_text(translations("vi"), status, "vi"), verdict_text(translations("en"), status, "en")
    assert vi.kind == en.kind == kind and vi.title != en.title and vi.action and vi.action != en.action


def test_titles_tell_the_situations_apart():
    from stamp_service.web.i18n import translations
    from stamp_service.web.verdict_text import ICON_FOR_KIND, verdict_text

    t = translations("vi")
    statuses = {
        "genuine": Status(Verdict.GENUINE),
        "recalled": Status(Verdict.REVOKED, (Finding(Cause.LOT_RECALLED),)),
        "voided": Status(Verdict.REVOKED, (Finding(Cause.STAMP_VOIDED, None, _decision("lost")),)),
        "voided_copied": Status(Verdict.REVOKED, (Finding(Cause.STAMP_VOIDED, None, _decision("copied")),)),
        "stars_withdrawn": Status(Verdict.REVOKED, (Finding(Cause.STARS_WITHDRAWN),)),
        "stars_below_three": Status(Verdict.REVOKED, (Finding(Cause.STARS_BELOW_THREE),)),
        "certificate_expired": Status(Verdict.EXPIRED, (Finding(Cause.CERTIFICATE_EXPIRED),)),
        "stamp_expired": Status(Verdict.EXPIRED, (Finding(Cause.STAMP_EXPIRED),)),
        "suspicious_scans": Status(Verdict.SUSPICIOUS, (Finding(Cause.MANY_SCANS),)),
        "suspicious_pin": Status(Verdict.SUSPICIOUS, (Finding(Cause.PIN_REUSED),)),
        "not_genuine": Status(Verdict.NOT_GENUINE, (Finding(Cause.BAD_CODE),)),
    }
    texts = {k: verdict_text(t, s, "vi") for k, s in statuses.items()}
    changed = verdict_text(t, Status(Verdict.GENUINE), "vi", stars_now=3, stars_printed=4)
    assert changed.kind == "stars_changed" and "4 sao" in changed.lines[0]
    assert {k: v.kind for k, v in texts.items()} == {k: k for k in statuses}
    titles = [v.title for v in texts.values()] + [changed.title]
    assert len(set(titles)) == len(titles) and set(ICON_FOR_KIND) >= {*statuses, "stars_changed"}
    assert not any(
        "thu hồi" in v.title for k, v in texts.items() if k != "recalled"
    )  # "recall" = recall only


def test_a_reused_pin_never_hides_a_worse_verdict():
    from stamp_service.domain.verification import with_pin_reused

    genuine = Status(Verdict.GENUINE, (), (Finding(Cause.KEY_COMPROMISED),))
    reused = with_pin_reused(genuine)
    assert reused.verdict is Verdict.SUSPICIOUS and reused.primary == Finding(Cause.PIN_REUSED)
    assert reused.warnings == genuine.warnings
    revoked = Status(Verdict.REVOKED, (Finding(Cause.LOT_RECALLED),))
    assert with_pin_reused(revoked) is revoked


def test_scan_counts_are_grouped_the_readers_way():
    from stamp_service.domain.verification import ScanStats
    from stamp_service.web.i18n import translations
    from stamp_service.web.verdict_text import scans_line

    stats = ScanStats(scans=2000, first_at=datetime(2026, 1, 2, tzinfo=UTC))
    assert (
        scans_line(translations("vi"), stats, "vi") == "Đã được kiểm tra 2.000 lần, lần đầu ngày 02/01/2026."
    )
    assert scans_line(translations("en"), stats, "en") == "Verified 2,000 times, first on 2 Jan 2026."


def test_the_first_scan_day_is_the_vietnamese_day():
    from stamp_service.domain.verification import ScanStats
    from stamp_service.web.i18n import translations
    from stamp_service.web.verdict_text import scans_line

    stats = ScanStats(scans=1, first_at=datetime(2026, 1, 1, 18, 0, tzinfo=UTC))  # 01:00 on 2 Jan in Vietnam
    assert scans_line(translations("en"), stats, "en") == "Verified 1 time, first on 2 Jan 2026."


def test_pages_print_a_stored_moment_as_its_day_in_vietnam():
    """The console printed the UTC day: a producer registered at 05:20 on 4 December in Hà Tĩnh
    (22:20 UTC on the 3rd) showed "03/12/2026" while the producer's own page said 04/12/2026."""
    from datetime import date

    from stamp_service.web.i18n import format_day, format_moment

    evening_utc = datetime(2026, 12, 3, 22, 20, tzinfo=UTC)
    assert format_day(evening_utc, "vi") == "04/12/2026"
    assert format_day(evening_utc, "en") == "4 Dec 2026"
    assert format_moment(evening_utc, "vi").endswith("04/12/2026")
    assert format_day(date(2026, 12, 3), "vi") == "03/12/2026"  # a calendar day stays itself
    assert format_day("2026-12-03", "vi") == "03/12/2026"
