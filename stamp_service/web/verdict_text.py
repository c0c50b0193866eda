"""The verdict in plain words (page and API), from the status and the translations of one language.

Every sentence is a message id in the catalogue; the decision number, date,
authority and reason are filled in. Not-genuine answers never say why (a bad
signature and an unknown serial read the same).
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass

from stamp_service.domain.status import Cause, Decision, Finding, Status, Verdict
from stamp_service.domain.verification import ScanStats
from stamp_service.web.i18n import format_day

ICONS = {
    Verdict.GENUINE: "✓",
    Verdict.SUSPICIOUS: "!",
    Verdict.EXPIRED: "⌛",
    Verdict.REVOKED: "⊘",
    Verdict.NOT_GENUINE: "✗",
}


@dataclass(frozen=True)
class VerdictText:
    title: str
    lines: list[str]
    warnings: list[str]
    icon: str


def _decision_lines(t: gettext.NullTranslations, decision: Decision | None, lang: str) -> list[str]:
    _ = t.gettext
    if decision is None:
        return []
    lines = []
    if decision.number:
        lines.append(_("Decision number: %(number)s") % {"number": decision.number})
    if decision.authority:
        lines.append(_("Decided by: %(authority)s") % {"authority": decision.authority})
    if decision.reason:
        lines.append(_("Reason: %(reason)s") % {"reason": decision.reason})
    return lines


def _finding_lines(t: gettext.NullTranslations, f: Finding, lang: str) -> list[str]:
    _ = t.gettext
    on = {"date": format_day(f.since, lang)}
    dated = f.since is not None
    if f.cause is Cause.STAMP_VOIDED:
        first = _("This stamp was voided on %(date)s.") % on if dated else _("This stamp was voided.")
    elif f.cause is Cause.LOT_RECALLED:
        first = (
            _("This production lot was recalled on %(date)s.") % on
            if dated
            else _("This production lot was recalled.")
        )
    elif f.cause is Cause.STARS_WITHDRAWN:
        first = (
            _("The product's OCOP stars were withdrawn on %(date)s.") % on
            if dated
            else _("The product's OCOP stars were withdrawn.")
        )
    elif f.cause is Cause.STARS_BELOW_THREE:
        first = _("The product's rating was reduced below 3 stars: it is no longer OCOP-certified.")
    elif f.cause is Cause.NO_CERTIFICATE:
        first = _("The product has no OCOP certificate in force.")
    elif f.cause is Cause.CERTIFICATE_EXPIRED:
        first = (
            _("The OCOP certificate expired on %(date)s. The product may no longer carry the OCOP mark.") % on
        )
    elif f.cause is Cause.STAMP_EXPIRED:
        first = _("This stamp was valid until %(date)s.") % on
    elif f.cause is Cause.KEY_COMPROMISED:
        first = (
            _(
                "Note: the key that signed this stamp was reported compromised on %(date)s. This stamp was "
                "checked online against the office's records; copies made with the stolen key are rejected."
            )
            % on
        )
    else:
        first = ""
    return [first, *_decision_lines(t, f.decision, lang)] if first else []


def scans_line(t: gettext.NullTranslations, stats: ScanStats | None, lang: str) -> str | None:
    if stats is None or stats.scans < 1 or stats.first_at is None:
        return None
    return t.ngettext(
        "Verified %(num)d time, first on %(date)s.", "Verified %(num)d times, first on %(date)s.", stats.scans
    ) % {"num": stats.scans, "date": format_day(stats.first_at.date(), lang)}


def verdict_text(
    t: gettext.NullTranslations, status: Status, lang: str, stats: ScanStats | None = None
) -> VerdictText:
    _ = t.gettext
    v = status.verdict
    lines: list[str] = []
    if v is Verdict.GENUINE:
        title = _("Genuine OCOP stamp")
        lines.append(_("This stamp was issued by the OCOP office and the product is OCOP-certified."))
    elif v is Verdict.SUSPICIOUS:
        title = _("Genuine code, but suspicious")
        if stats is not None and stats.first_at is not None:
            lines.append(
                _(
                    "This code has already been verified %(num)d times, first on %(date)s, "
                    "possibly in several places: the stamp may have been copied."
                )
                % {"num": stats.scans, "date": format_day(stats.first_at.date(), lang)}
            )
        lines.append(_("If the label has a scratch PIN, check it below; otherwise report the shop."))
    elif v is Verdict.EXPIRED:
        title = _("Certificate expired")
    elif v is Verdict.REVOKED:
        title = _("Revoked")
    else:
        title = _("Not a genuine stamp")
        lines.append(
            _(
                "This code was not issued by the OCOP office, or it has been altered. "
                "Do not trust the OCOP mark on this product."
            )
        )
        lines.append(_("You can report it below."))
    if v in (Verdict.EXPIRED, Verdict.REVOKED):
        for finding in status.findings:
            lines.extend(_finding_lines(t, finding, lang))
    warnings = [line for w in status.warnings for line in _finding_lines(t, w, lang)]
    return VerdictText(title, lines, warnings, ICONS[v])
