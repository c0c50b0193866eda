"""Languages of the public pages: Vietnamese by default, English on request.

Message ids are English; ``translations/vi/LC_MESSAGES/messages.po`` holds the
Vietnamese. Catalogues are compiled from the .po files in memory at first use
(Babel), so no generated .mo file can drift from its source.
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import request

from stamp_service.config import LANGUAGES
from stamp_service.domain.certification import VN_TZ, local_day

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DATE_FORMAT = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DATETIME_FORMAT = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the message ids themselves)."""
    path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def pick_language(default: str, explicit: str | None = None) -> str:
    """``?lang=`` (or a form's ``lang``) wins, then Accept-Language, then the configured default."""
    if explicit in LANGUAGES:
        return explicit  # type: ignore[return-value]
    header = request.headers.get("Accept-Language")
    if not header:
        return default
    return request.accept_languages.best_match(LANGUAGES, default=default) or default


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)  # parsing checks the locale data files: once per language


def format_day(value: date | str | None, lang: str) -> str:
    """A calendar day; a stored moment (a datetime, UTC) is shown as its day in Vietnam, as
    ``format_moment`` shows its time: 22:00 UTC is the next morning there."""
    if value is None:
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(day, datetime):
        day = local_day(day)
    return format_date(day, DATE_FORMAT[lang], locale=_locale(lang))


def format_moment(value: datetime | str | None, lang: str) -> str:
    """A time in Vietnam's zone (origin records happen there)."""
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, DATETIME_FORMAT[lang], tzinfo=VN_TZ, locale=_locale(lang))


def format_number(value: int | float | None, lang: str) -> str:
    """Grouped the reader's way: 2.000 in Vietnamese, 2,000 in English."""
    if value is None:
        return "—"
    return format_decimal(value, locale=_locale(lang))
