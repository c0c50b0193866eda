"""The verdict in plain words (page and API), from the status and the translations of one language.

Every sentence is a message id in the catalogue; the decision number, date,
authority and reason are filled in. Not-genuine answers never say why (a bad
signature and an unknown serial read the same).
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import datetime

from stamp_service.domain.status import Cause, Decision, Finding, Status, Verdict
from stamp_service.domain.verification import ScanStats
from stamp_service.web.i18n import format_day, format_moment, format_number

# What the page shows for each situation: (CSS kind, icon). The kind names the cause the
# shopper must tell apart (a recall is a health matter, withdrawn stars an administrative one).
ICON_FOR_KIND = {
    "genuine": "check",
    "stars_changed": "stars",
    "suspicious_scans": "alert",
    "suspicious_pin": "alert",
    "certificate_expired": "clock",
    "stamp_expired": "clock",
    "recalled": "alert",
    "voided_copied": "ban",
    "voided": "ban",
    "stars_withdrawn": "ban",
    "stars_below_three": "ban",
    "no_certificate": "ban",
    "not_genuine": "cross",
}
# Which revocation the box is named after when several hold: a health risk first, then the stamp.
_REVOKED_ORDER = (Cause.LOT_RECALLED, Cause.STAMP_VOIDED, Cause.STARS_WITHDRAWN, Cause.STARS_BELOW_THREE)


@dataclass(frozen=True)
class VerdictText:
    title: str
    lines: list[str]
    warnings: list[str]
    icon: str  # a name of the inline SVG icons in templates/verify/icons.html
    kind: str = ""  # the situation (ICON_FOR_KIND's keys): the box's colour
    action: str = ""  # what the shopper should do, in one plain sentence


def verdict_kind(status: Status, *, stars_now: int | None = None, stars_printed: int | None = None) -> str:
    """The situation the verdict box is named after (see ICON_FOR_KIND)."""
    v = status.verdict
    causes = {f.cause: f for f in status.findings}
    if v is Verdict.REVOKED:
        for cause in _REVOKED_ORDER:
            if cause in causes:
                if cause is Cause.STAMP_VOIDED:
                    decision = causes[cause].decision
                    return "voided_copied" if decision is not None and decision.kind == "copied" else "voided"
                return {
                    Cause.LOT_RECALLED: "recalled",
                    Cause.STARS_WITHDRAWN: "stars_withdrawn",
                    Cause.STARS_BELOW_THREE: "stars_below_three",
                }[cause]
        return "no_certificate"
    if v is Verdict.EXPIRED:
        return "certificate_expired" if Cause.CERTIFICATE_EXPIRED in causes else "stamp_expired"
    if v is Verdict.SUSPICIOUS:
        return "suspicious_pin" if Cause.PIN_REUSED in causes else "suspicious_scans"
    if v is Verdict.GENUINE:
        if stars_now is not None and stars_printed is not None and stars_now != stars_printed:
            return "stars_changed"
        return "genuine"
    return "not_genuine"


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
        "Verified %(num)s time, first on %(date)s.", "Verified %(num)s times, first on %(date)s.", stats.scans
    ) % {"num": format_number(stats.scans, lang), "date": format_day(stats.first_at, lang)}


def verdict_text(
    t: gettext.NullTranslations,
    status: Status,
    lang: str,
    stats: ScanStats | None = None,
    *,
    stars_now: int | None = None,
    stars_printed: int | None = None,
    pin_first_used_at: datetime | None = None,
) -> VerdictText:
    """Title, one action line and the details of a verdict, named after its cause.

    ``stars_now``/``stars_printed``: the current rating and the one printed on the stamp (a
    change is named in the box); ``pin_first_used_at``: when a reused PIN was first entered.
    """
    _ = t.gettext
    kind = verdict_kind(status, stars_now=stars_now, stars_printed=stars_printed)
    lines: list[str] = []
    if kind == "genuine":
        title = _("Genuine OCOP stamp")
        lines.append(_("This stamp was issued by the OCOP office and the product is OCOP-certified."))
        action = _("Check that the product in your hand matches the description below.")
    elif kind == "stars_changed":
        title = _("Genuine OCOP stamp: the rating has changed")
        lines.append(
            _("The product is rated %(now)d stars now; the stamp was printed with %(printed)d stars.")
            % {"now": stars_now, "printed": stars_printed}
        )
        action = _("The product is still OCOP-certified: trust the rating shown here, not the printed one.")
    elif kind == "suspicious_pin":
        title = _("PIN already used: possible copy")
        if pin_first_used_at is not None:
            lines.append(
                _(
                    "This PIN was already used on %(date)s. "
                    "If you did not enter it yourself, this item may be a copy."
                )
                % {"date": format_moment(pin_first_used_at, lang)}
            )
        action = _("If you did not enter this PIN before, do not trust this item: report the shop below.")
    elif kind == "suspicious_scans":
        title = _("Genuine code, but suspicious")
        if stats is not None and stats.first_at is not None:
            lines.append(
                _(
                    "This code has already been verified %(num)s times, first on %(date)s, "
                    "possibly in several places: the stamp may have been copied."
                )
                % {
                    "num": format_number(stats.scans, lang),
                    "date": format_day(stats.first_at, lang),
                }
            )
        action = _("If the label has a scratch PIN, check it below; otherwise report the shop.")
    elif kind == "certificate_expired":
        title = _("Certificate expired")
        action = _(
            "The product's OCOP certification has ended; the product itself may be genuine. "
            "It may no longer be sold as OCOP."
        )
    elif kind == "stamp_expired":
        title = _("Stamp expired")
        action = _("This stamp is no longer valid: check the expiry date on the pack before buying.")
    elif kind == "recalled":
        title = _("Lot recalled: do not use")
        action = _(
            "Do not use this product. Return it or tell the shop; if it is still on sale, report it below."
        )
    elif kind == "voided_copied":
        title = _("Stamp cancelled: it was copied")
        action = _("This stamp is not valid and the item may be fake: do not buy it, report the shop below.")
    elif kind == "voided":
        title = _("Stamp cancelled")
        action = _("This stamp is not valid on goods: report the shop below.")
    elif kind in ("stars_withdrawn", "no_certificate"):
        title = _("No longer OCOP-certified")
        action = _("The product may still be a real product, but it may no longer be sold as OCOP.")
    elif kind == "stars_below_three":
        title = _("Rating reduced below 3 stars")
        action = _("The product may still be a real product, but it may no longer be sold as OCOP.")
    else:
        title = _("Not a genuine stamp")
        lines.append(
            _(
                "This code was not issued by the OCOP office, or it has been altered. "
                "Do not trust the OCOP mark on this product."
            )
        )
        action = _("You can report it below.")
    if status.verdict in (Verdict.EXPIRED, Verdict.REVOKED):
        for finding in status.findings:
            lines.extend(_finding_lines(t, finding, lang))
    warnings = [line for w in status.warnings for line in _finding_lines(t, w, lang)]
    return VerdictText(title, lines, warnings, ICON_FOR_KIND[kind], kind, action)
