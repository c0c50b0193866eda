"""The EPCIS event hash (CBV 2.0 §8.9): a content-derived ``eventID`` for an EPCIS 2.0 event.

Two systems that hold the same event compute the same id without coordination, so the
national portal or a distributor can tell a re-sent event from a new one. The id is
``ni:///sha-256;<hex>?ver=CBV2.0`` over a *pre-hash string*: ``eventType=<type>``, then the
standard fields in the order the algorithm fixes (each ``name=value``, repeated elements
sorted), then everything else (ILMD, extensions) as sorted ``name=value`` strings, with
timestamps in UTC at millisecond precision, bare CBV values as their web vocabulary URIs,
numbers without superfluous zeros and extension names as ``{namespace}local``.

This implementation covers the fields this service exports and accepts (docs/interop.md);
the tests compare it with the reference implementation (``epcis-event-hash-generator``)
on every kind of event we produce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

CBV_PREFIX = "https://ref.gs1.org/cbv/"
_BARE_VOCABULARY = {"bizStep": "BizStep-", "disposition": "Disp-"}
_OLD_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", CBV_PREFIX + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", CBV_PREFIX + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV_PREFIX + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", CBV_PREFIX + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV_PREFIX + "ER-"),
)
_QUANTITY = (("epcClass", None), ("quantity", None), ("uom", None))
# (field, children's order) in the order the algorithm concatenates them; only the fields
# this service reads or writes (capture refuses the others before hashing).
_ORDER: tuple[tuple[str, Any], ...] = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", (("epc", None),)),
    ("inputEPCList", (("epc", None),)),
    ("quantityList", (("quantityElement", _QUANTITY),)),
    ("inputQuantityList", (("quantityElement", _QUANTITY),)),
    ("outputEPCList", (("epc", None),)),
    ("outputQuantityList", (("quantityElement", _QUANTITY),)),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
)
_ORDERED = {name for name, _ in _ORDER}
_NOT_HASHED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context"})
_LIST_ITEM = {"epcList": "epc", "inputEPCList": "epc", "outputEPCList": "epc"}


def event_id(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The ``ni:`` event id of ``event``; ``namespaces`` maps the document's extension prefixes."""
    digest = hashlib.sha256(prehash(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def prehash(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The canonical pre-hash string of one event (exposed for tests and debugging)."""
    vocabulary = {
        CBV_PREFIX + prefix + event[name]
        for name, prefix in _BARE_VOCABULARY.items()
        if isinstance(event.get(name), str) and ":" not in event[name]
    }
    canon = _Canon(namespaces, vocabulary)
    ordered = "".join(canon.field(name, event[name], order) for name, order in _ORDER if name in event)
    rest = sorted(
        text
        for name, value in event.items()
        if name not in _ORDERED and name not in _NOT_HASHED
        for text in canon.generic(canon.key(name), value)
    )
    return f"eventType={event['type']}" + ordered + "".join(rest)


class _Canon:
    def __init__(self, namespaces: Mapping[str, str], vocabulary: set[str]) -> None:
        self.namespaces = namespaces
        self.vocabulary = vocabulary

    def key(self, name: str) -> str:
        prefix, sep, local = name.partition(":")
        if sep and prefix in self.namespaces:
            return "{" + self.namespaces[prefix] + "}" + local
        return name

    def value(self, text: str, *, is_time: bool = False) -> str:
        text = text.strip()
        if is_time:
            return _utc_millis(text)
        matches = [v for v in self.vocabulary if v.endswith("-" + text) or v.endswith("/" + text)]
        if len(matches) == 1:  # a bare CBV value (the reference expands these document-wide)
            text = matches[0]
        for old, new in _OLD_CBV_URNS:
            text = text.replace(old, new)
        return _numeric(text)

    def field(self, name: str, value: Any, order: Any) -> str:
        """One ordered field: ``name=value`` for a leaf, ``name`` + sorted children otherwise."""
        if order is None:
            is_time = "time" in name.lower() and "offset" not in name.lower()
            text = self.value(_text(value), is_time=is_time)
            return f"{name}={text}" if text else ""
        if name in _LIST_ITEM:
            item = _LIST_ITEM[name]
            children = [self.field(item, v, None) for v in value]
        elif name.endswith("QuantityList") or name == "quantityList":
            children = [self._element("quantityElement", q, order[0][1]) for q in value]
        else:  # readPoint, bizLocation
            children = [self.field(sub, value[sub], None) for sub, _ in order if sub in value]
        body = "".join(sorted(c for c in children if c))
        return name + body if body else ""

    def _element(self, name: str, value: Mapping[str, Any], order: Sequence[tuple[str, Any]]) -> str:
        body = "".join(self.field(sub, value[sub], None) for sub, _ in order if sub in value)
        return name + body if body else ""

    def generic(self, name: str, value: Any) -> list[str]:
        """A field outside the fixed order (ILMD, extensions), one string per element.

        A list contributes one sibling per item (sorted with the other siblings by the
        caller); an object is its name followed by its own sorted children.
        """
        if isinstance(value, list):
            return [text for item in value for text in self.generic(name, item)]
        if isinstance(value, Mapping):
            children = sorted(t for k, v in value.items() for t in self.generic(self.key(k), v))
            return [name + "".join(children)]
        text = self.value(_text(value))
        return [f"{name}={text}" if text else name]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric(text: str) -> str:
    """Numbers without superfluous zeros or sign, as the algorithm writes them (1.50 -> 1.5, 007 -> 7)."""
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return str(int(number)) if int(number) == number else str(number)


def _utc_millis(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    millis = round(moment.microsecond, -3)
    if millis >= 1_000_000:  # the reference cannot represent this; nor do we produce it
        raise ValueError("timestamps are written at millisecond precision")
    moment = moment.replace(microsecond=millis)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
