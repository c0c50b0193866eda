"""The registry's facts as EPCIS 2.0 events (JSON-LD), and captured events back as origin records.

Pure mapping, no SQL (docs/interop.md has the table). Identifiers are GS1 Digital Link URIs
for products with a GTIN (``https://id.gs1.org/01/{gtin}/10/{lot}``), this service's own
URIs otherwise (``{base}/id/lot/{id}``). Stamps are counted at class level: a request of
100,000 stamps is one commissioning event with a quantity and its sequence range, never a
list of 100,000 serials. Every event carries its content hash as ``eventID``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

from stamp_service.domain.epcis_hash import event_id

CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
PREFIX = "ocop"
VN_OFFSET = "+07:00"
VN = timezone(timedelta(hours=7))
GS1_RESOLVER = "https://id.gs1.org"

# Origin record type -> (EPCIS event type, CBV business step). One-to-one, so a captured
# event comes back from the query unchanged.
TRACE_STEPS: dict[str, tuple[str, str]] = {
    "sourcing": ("ObjectEvent", "receiving"),
    "processing": ("TransformationEvent", "creating_class_instance"),
    "testing": ("ObjectEvent", "inspecting"),
    "packing": ("ObjectEvent", "packing"),
    "stamping": ("ObjectEvent", "encoding"),
    "dispatch": ("ObjectEvent", "shipping"),
}
_TRACE_BY_STEP = {step: (kind, etype) for etype, (kind, step) in TRACE_STEPS.items()}
# Keys a captured origin record may carry (extension keys by local name, in our namespace).
_CAPTURE_KEYS = frozenset(
    {"type", "eventTime", "eventTimeZoneOffset", "eventID", "recordTime", "action", "bizStep"}
)
_CAPTURE_EXTENSIONS = frozenset({"place", "actor", "note", "documents", "corrects"})


@dataclass(frozen=True)
class Identifiers:
    """The URIs of one deployment (its public base URL names its own identifiers)."""

    base_url: str

    @property
    def base(self) -> str:
        return self.base_url.rstrip("/").lower()

    @property
    def namespace(self) -> str:
        """The namespace of this service's extension fields (``ocop:place`` and so on)."""
        return f"{self.base}/epcis/ns/"

    @property
    def context(self) -> list[Any]:
        return [CONTEXT_URL, {PREFIX: self.namespace, "cbvmda": "urn:epcglobal:cbv:mda:"}]

    @property
    def namespaces(self) -> dict[str, str]:
        return {PREFIX: self.namespace, "cbvmda": "urn:epcglobal:cbv:mda:"}

    def lot_class(self, lot: LotFacts) -> str:
        if lot.gtin:
            return f"{GS1_RESOLVER}/01/{lot.gtin.zfill(14)}/10/{quote(lot.lot_code, safe='')}"
        return f"{self.base}/id/lot/{lot.lot_id}"

    def transformation(self, lot_id: int) -> str:
        """All processing steps of a lot are parts of one transformation (EPCIS §7.4.6)."""
        return f"{self.base}/id/lot/{lot_id}/processing"

    def product_class(self, product_id: int, gtin: str | None) -> str:
        if gtin:
            return f"{GS1_RESOLVER}/01/{gtin.zfill(14)}"
        return f"{self.base}/id/product/{product_id}"

    def parse_lot_class(self, uri: str) -> LotKey | None:
        """The lot a class URI names (by GTIN and lot code, or by our lot id), or None."""
        own = f"{self.base}/id/lot/"
        if uri.startswith(own) and uri[len(own) :].isdigit():
            return LotKey(lot_id=int(uri[len(own) :]))
        prefix = f"{GS1_RESOLVER}/01/"
        if uri.startswith(prefix):
            gtin, sep, lot = uri[len(prefix) :].partition("/10/")
            if sep and gtin.isdigit() and len(gtin) == 14 and lot and "/" not in lot:
                return LotKey(gtin=gtin, lot_code=unquote(lot))
        return None


@dataclass(frozen=True)
class LotFacts:
    lot_id: int
    lot_code: str
    product_id: int
    gtin: str | None


@dataclass(frozen=True)
class LotKey:
    """A lot named by a captured event: our id, or a product's GTIN and the lot code."""

    lot_id: int | None = None
    gtin: str | None = None
    lot_code: str | None = None


@dataclass(frozen=True)
class TraceFacts:
    seq: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    place: str | None
    actor: str | None
    note: str | None
    documents: list[dict[str, Any]]
    corrects_seq: int | None


@dataclass(frozen=True)
class Decision:
    number: str | None
    decided_on: date
    authority: str | None
    reason: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Decision:
        return cls(
            number=record.get("number"),
            decided_on=date.fromisoformat(str(record["decided_on"])),
            authority=record.get("authority"),
            reason=record.get("reason"),
        )


def timestamp(moment: datetime) -> str:
    """Vietnam time with its offset; milliseconds unless the value is finer."""
    local = moment.astimezone(VN)
    spec = "milliseconds" if local.microsecond % 1000 == 0 else "microseconds"
    return local.isoformat(timespec=spec)


def _day(day: date) -> datetime:
    return datetime.combine(day, time(0), VN)


def _ext(name: str) -> str:
    return f"{PREFIX}:{name}"


def _finish(ids: Identifiers, event: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields and put the content hash in front as ``eventID``."""
    clean = {k: v for k, v in event.items() if v not in (None, "", [])}
    return {"type": clean["type"], "eventID": event_id(clean, ids.namespaces), **clean}


def trace_event(
    ids: Identifiers, lot: LotFacts, fact: TraceFacts, corrects_id: str | None = None
) -> dict[str, Any]:
    """One origin record: its business step, the lot at class level, our fields as extensions."""
    kind, step = TRACE_STEPS[fact.event_type]
    quantities = [{"epcClass": ids.lot_class(lot)}]
    event: dict[str, Any] = {
        "type": kind,
        "eventTime": timestamp(fact.occurred_at),
        "eventTimeZoneOffset": VN_OFFSET,
        "recordTime": timestamp(fact.recorded_at),
    }
    if kind == "ObjectEvent":
        event |= {"quantityList": quantities, "action": "OBSERVE"}
    else:
        event |= {"outputQuantityList": quantities, "transformationID": ids.transformation(lot.lot_id)}
    event |= {
        "bizStep": step,
        _ext("place"): fact.place,
        _ext("actor"): fact.actor,
        _ext("note"): fact.note,
        _ext("documents"): [{_ext("name"): d["name"], _ext("sha256"): d["sha256"]} for d in fact.documents],
        _ext("corrects"): corrects_id,
    }
    return _finish(ids, event)


def commissioning_event(
    ids: Identifiers,
    lot: LotFacts,
    *,
    request_id: int,
    issued: int,
    at: datetime,
    stamp_expiry: date | None,
    lot_expiry: date | None,
) -> dict[str, Any]:
    """A request's stamps, commissioned: one class-level event with the count and the sequence range."""
    return _finish(
        ids,
        {
            "type": "ObjectEvent",
            "eventTime": timestamp(at),
            "eventTimeZoneOffset": VN_OFFSET,
            "quantityList": [{"epcClass": ids.lot_class(lot), "quantity": issued}],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "ilmd": {
                k: v
                for k, v in {
                    "cbvmda:lotNumber": lot.lot_code,
                    "cbvmda:itemExpirationDate": lot_expiry.isoformat() if lot_expiry else None,
                }.items()
                if v
            },
            _ext("stampRequest"): request_id,
            _ext("firstSeq"): 1,
            _ext("lastSeq"): issued,
            _ext("stampExpiry"): stamp_expiry.isoformat() if stamp_expiry else None,
        },
    )


def void_event(
    ids: Identifiers,
    lot: LotFacts,
    *,
    request_id: int,
    seq_from: int,
    seq_to: int,
    reason_code: str,
    at: datetime,
) -> dict[str, Any]:
    """Stamps voided (lost, spoiled, copied): decommissioned, by sequence range."""
    return _finish(
        ids,
        {
            "type": "ObjectEvent",
            "eventTime": timestamp(at),
            "eventTimeZoneOffset": VN_OFFSET,
            "quantityList": [{"epcClass": ids.lot_class(lot), "quantity": seq_to - seq_from + 1}],
            "action": "DELETE",
            "bizStep": "decommissioning",
            "disposition": "inactive",
            _ext("stampRequest"): request_id,
            _ext("firstSeq"): seq_from,
            _ext("lastSeq"): seq_to,
            _ext("voidReason"): reason_code,
        },
    )


def recall_event(ids: Identifiers, lot: LotFacts, decision: Decision) -> dict[str, Any]:
    """A lot recalled by the office: disposition ``recalled`` for the whole lot."""
    return _finish(
        ids,
        {
            "type": "ObjectEvent",
            "eventTime": timestamp(_day(decision.decided_on)),
            "eventTimeZoneOffset": VN_OFFSET,
            "quantityList": [{"epcClass": ids.lot_class(lot)}],
            "action": "OBSERVE",
            "disposition": "recalled",
            **_decision_fields(decision),
        },
    )


def withdrawal_event(
    ids: Identifiers, *, product_id: int, gtin: str | None, certificate: str, decision: Decision
) -> dict[str, Any]:
    """OCOP stars withdrawn: the product class becomes ``non_conformant`` under that certificate."""
    return _finish(
        ids,
        {
            "type": "ObjectEvent",
            "eventTime": timestamp(_day(decision.decided_on)),
            "eventTimeZoneOffset": VN_OFFSET,
            "certificationInfo": certificate,
            "quantityList": [{"epcClass": ids.product_class(product_id, gtin)}],
            "action": "OBSERVE",
            "disposition": "non_conformant",
            **_decision_fields(decision),
        },
    )


def _decision_fields(decision: Decision) -> dict[str, Any]:
    return {
        _ext("decisionNumber"): decision.number,
        _ext("authority"): decision.authority,
        _ext("reason"): decision.reason,
    }


def query_document(ids: Identifiers, events: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The answer of ``GET /epcis/events``: an EPCIS 2.0 query document."""
    return {
        "@context": ids.context,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
        },
    }


@dataclass(frozen=True)
class CapturedRecord:
    """A captured event as an origin record, before the lot is looked up."""

    lot: LotKey
    lot_class: str
    event_type: str
    occurred_at: datetime
    place: str | None
    actor: str | None
    note: str | None
    documents: list[dict[str, Any]]
    corrects_id: str | None
    transformation_id: str | None
    event_id: str


def read_captured(
    ids: Identifiers, event: Mapping[str, Any], prefixes: Mapping[str, str], where: str
) -> tuple[CapturedRecord | None, list[dict[str, str]]]:
    """Map one schema-valid captured event to an origin record, or say per field why not.

    Only what the registry stores is accepted, so that the event comes back from the
    query as it was sent (fields this service would drop are refused, not lost).
    """
    errors: list[dict[str, str]] = []

    def fail(field: str, message: str) -> None:
        errors.append({"field": f"{where}.{field}" if field else where, "message": message})

    ours = {p for p, uri in prefixes.items() if uri == ids.namespace}
    extensions: dict[str, Any] = {}
    for key, value in event.items():
        prefix, sep, local = key.partition(":")
        if sep and prefix in ours and local in _CAPTURE_EXTENSIONS:
            extensions[local] = value
        elif key not in _CAPTURE_KEYS and key not in (
            "quantityList",
            "outputQuantityList",
            "transformationID",
        ):
            fail(key, "this field is not stored by the service; send it elsewhere or leave it out")
    kind, step = event.get("type"), event.get("bizStep")
    mapped = _TRACE_BY_STEP.get(step) if isinstance(step, str) else None
    if mapped is None or mapped[0] != kind:
        accepted = ", ".join(f"{k}/{s}" for s, (k, _) in sorted(_TRACE_BY_STEP.items()))
        fail("bizStep", f"accepted event type / business step pairs: {accepted}")
    if kind == "ObjectEvent" and event.get("action") != "OBSERVE":
        fail("action", "origin records are OBSERVE events")
    if kind == "TransformationEvent" and "action" in event:
        fail("action", "a transformation has no action")
    if event.get("eventTimeZoneOffset") != VN_OFFSET:
        fail("eventTimeZoneOffset", f"origin records are kept in Vietnam time ({VN_OFFSET})")
    quantities_key = "quantityList" if kind == "ObjectEvent" else "outputQuantityList"
    lot = _one_lot(ids, event.get(quantities_key), quantities_key, fail)
    documents = _documents(extensions.get("documents", []), ours, fail)
    for name in ("place", "actor", "note", "corrects"):
        if name in extensions and not isinstance(extensions[name], str):
            fail(f"{PREFIX}:{name}", "must be text")
    occurred_at = _parse_time(event.get("eventTime"), fail)
    if errors or lot is None or occurred_at is None or mapped is None:
        return None, errors
    computed = event_id(event, prefixes)  # the hash reads {namespace}local: prefixes may differ
    if "eventID" in event and event["eventID"] != computed:
        fail("eventID", f"is not this event's hash (CBV 2.0 event hash: {computed})")
        return None, errors
    return (
        CapturedRecord(
            lot=lot,
            lot_class=str(event[quantities_key][0]["epcClass"]),
            event_type=mapped[1],
            occurred_at=occurred_at,
            place=extensions.get("place"),
            actor=extensions.get("actor"),
            note=extensions.get("note"),
            documents=documents,
            corrects_id=extensions.get("corrects"),
            transformation_id=event.get("transformationID"),
            event_id=computed,
        ),
        errors,
    )


def _one_lot(ids: Identifiers, quantities: Any, key: str, fail: Any) -> LotKey | None:
    if not isinstance(quantities, list) or len(quantities) != 1:
        fail(key, "name exactly one lot, as {epcClass}")
        return None
    element = quantities[0]
    if set(element) != {"epcClass"}:
        fail(f"{key}.0", "only epcClass is stored (the lot's quantity is recorded on the lot)")
        return None
    lot = ids.parse_lot_class(str(element["epcClass"]))
    if lot is None:
        fail(f"{key}.0.epcClass", "not a lot of this registry (GS1 Digital Link 01/…/10/… or our lot URI)")
    return lot


def _documents(value: Any, ours: set[str], fail: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        fail(f"{PREFIX}:documents", "must be a list of {name, sha256}")
        return []
    out = []
    for i, item in enumerate(value):
        fields = {k.partition(":")[2]: v for k, v in item.items()} if isinstance(item, dict) else {}
        if (
            not isinstance(item, dict)
            or set(fields) != {"name", "sha256"}
            or any(k.partition(":")[0] not in ours for k in item)
        ):
            fail(f"{PREFIX}:documents.{i}", "each document has exactly name and sha256")
            continue
        digest = fields["sha256"]
        if not (
            isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
        ):
            fail(f"{PREFIX}:documents.{i}.{PREFIX}:sha256", "64 lower-case hexadecimal digits (SHA-256)")
            continue
        out.append({"name": fields["name"], "sha256": digest})
    return out


def _parse_time(value: Any, fail: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        fail("eventTime", "an ISO 8601 date and time with an offset")
        return None
    if moment.tzinfo is None:
        fail("eventTime", "needs an offset")
        return None
    return moment.astimezone(UTC)
