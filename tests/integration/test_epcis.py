"""EPCIS 2.0: export of the registry's events, capture of origin records, and their round trip.

Independent checks: GS1's EPCIS 2.0 JSON schema validates every document, and the reference
event-hash implementation (``epcis-event-hash-generator``) recomputes every ``eventID``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from epcis_event_hash_generator.hash_generator import epcis_hashes_from_events
from epcis_event_hash_generator.json_to_py import event_list_from_epcis_document_json
from sqlalchemy import func, select

from stamp_service.domain.access import Role
from stamp_service.services.epcis import schema_errors
from stamp_service.storage.models.registry import TraceEvent
from tests.factories import make_caller
from tests.revocation_support import decision
from tests.stamp_factories import ensure_keyring, make_issued_batch
from tests.verify_support import add_events, path_of

EVENTS = "/api/v1/epcis/events"
CAPTURE = "/api/v1/epcis/capture"
NS = "https://tem.ocop.local/epcis/ns/"


@pytest.fixture()
def keyring(session, settings):
    return ensure_keyring(session, settings.keys_dir)


@pytest.fixture()
def batch(session, keyring):
    gtin = "8936012345674"
    return make_issued_batch(session, keyring, n=6, product_overrides={"gtin": gtin})


@pytest.fixture()
def owner(session, batch):
    return make_caller(session, Role.PRODUCER, batch.producer.id)


def events_of(client, caller, **params: Any) -> list[dict[str, Any]]:
    resp = client.get(EVENTS, query_string=params, headers=caller.headers)
    assert resp.status_code == 200, resp.get_json()
    document = resp.get_json()
    assert schema_errors(document) == []
    return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def reference_event_id(event: dict[str, Any], context: list[Any]) -> str:
    document = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-12-01T00:00:00.000Z",
        "epcisBody": {"eventList": [copy.deepcopy(event)]},
    }
    return epcis_hashes_from_events(event_list_from_epcis_document_json(document))[0]


def test_a_lots_history_exports_as_schema_valid_events_with_reference_hashes(
    client, session, admin, owner, batch
):
    add_events(session, batch, n=6)
    resp = client.post(
        "/api/v1/voids",
        json={
            "request_id": batch.request.id,
            "seq_from": 2,
            "seq_to": 3,
            "reason_code": "spoiled",
            "reason": "in lỗi",
        },
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(
        f"/api/v1/lots/{batch.lot.id}/recall",
        json={"decision": decision("12/QĐ-UBND"), "reason": "dư lượng thuốc BVTV"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(
        f"/api/v1/certificates/{batch.certificate.id}/withdrawal",
        json={"decision": decision(), "reason": "không duy trì chất lượng"},
        headers=admin.headers,
    )
    assert resp.status_code == 200, resp.get_json()

    document = client.get(EVENTS, query_string={"producer_id": batch.producer.id}, headers=owner.headers)
    context = document.get_json()["@context"]
    events = document.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert schema_errors(document.get_json()) == []

    steps = [(e["type"], e.get("bizStep"), e.get("disposition")) for e in events]
    assert steps.count(("ObjectEvent", "receiving", None)) == 1
    assert ("TransformationEvent", "creating_class_instance", None) in steps
    assert ("ObjectEvent", "commissioning", "active") in steps
    assert ("ObjectEvent", "decommissioning", "inactive") in steps
    assert ("ObjectEvent", None, "recalled") in steps
    assert ("ObjectEvent", None, "non_conformant") in steps
    lot_class = f"https://id.gs1.org/01/08936012345674/10/{batch.lot.lot_code}"
    commissioning = next(e for e in events if e.get("bizStep") == "commissioning")
    assert commissioning["quantityList"] == [{"epcClass": lot_class, "quantity": 6}]
    assert (commissioning["ocop:firstSeq"], commissioning["ocop:lastSeq"]) == (1, 6)
    assert commissioning["ilmd"]["cbvmda:lotNumber"] == batch.lot.lot_code
    void = next(e for e in events if e.get("bizStep") == "decommissioning")
    assert void["action"] == "DELETE" and void["quantityList"][0]["quantity"] == 2
    assert (void["ocop:firstSeq"], void["ocop:lastSeq"]) == (2, 3)
    withdrawal = next(e for e in events if e.get("disposition") == "non_conformant")
    assert withdrawal["quantityList"] == [{"epcClass": "https://id.gs1.org/01/08936012345674"}]
    assert withdrawal["certificationInfo"] == batch.certificate.decision_number
    times = [e["eventTime"] for e in events]
    assert len(set(e["eventID"] for e in events)) == len(events)
    assert times == sorted(times, key=lambda t: __import__("datetime").datetime.fromisoformat(t))
    for event in events:
        assert event["eventID"] == reference_event_id(event, context), event


def test_filters_and_pages_follow_the_epcis_query_parameters(client, session, owner, batch):
    add_events(session, batch, n=6)
    everything = events_of(client, owner, lot_id=batch.lot.id)
    assert len(everything) == 7  # six origin records and one commissioning
    shipped = events_of(client, owner, lot_id=batch.lot.id, EQ_bizStep="shipping")
    assert [e["bizStep"] for e in shipped] == ["shipping"]
    early = events_of(client, owner, lot_id=batch.lot.id, LT_eventTime="2025-09-12T00:00:00+07:00")
    assert len(early) == 2
    first = client.get(EVENTS, query_string={"lot_id": batch.lot.id, "perPage": 4}, headers=owner.headers)
    link = first.headers["Link"]
    assert link.startswith("<?nextPageToken=4>") and 'rel="next"' in link
    second = client.get(
        EVENTS,
        query_string={"lot_id": batch.lot.id, "perPage": 4, "nextPageToken": "4"},
        headers=owner.headers,
    )
    assert "Link" not in second.headers
    pages = [
        *first.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"],
        *second.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"],
    ]
    assert [e["eventID"] for e in pages] == [e["eventID"] for e in everything]


def test_another_producer_sees_nothing_of_the_lot(client, session, keyring, batch):
    other = make_issued_batch(session, keyring, n=1)
    stranger = make_caller(session, Role.PRODUCER, other.producer.id)
    for params in (
        {"lot_id": batch.lot.id},
        {"product_id": batch.product.id},
        {"producer_id": batch.producer.id},
    ):
        resp = client.get(EVENTS, query_string=params, headers=stranger.headers)
        assert resp.status_code == 404, params
    mine = events_of(client, stranger)
    assert {e["quantityList"][0]["epcClass"] for e in mine} == {
        f"https://tem.ocop.local/id/lot/{other.lot.id}"
    }


def _captured(lot_class: str) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"htx": NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-30T10:00:00.000Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-11-20T06:15:00.000+07:00",
                    "eventTimeZoneOffset": "+07:00",
                    "quantityList": [{"epcClass": lot_class}],
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "htx:place": "Vườn bưởi thôn 5, xã Phúc Trạch",
                    "htx:actor": "Tổ thu hái số 2",
                    "htx:documents": [{"htx:name": "phieu-nhap.jpg", "htx:sha256": "b" * 64}],
                },
                {
                    "type": "TransformationEvent",
                    "eventTime": "2026-11-21T09:00:00.000+07:00",
                    "eventTimeZoneOffset": "+07:00",
                    "outputQuantityList": [{"epcClass": lot_class}],
                    "transformationID": None,  # filled per lot below
                    "bizStep": "creating_class_instance",
                    "htx:note": "Sơ chế, phân loại",
                },
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-11-22T14:30:00.000+07:00",
                    "eventTimeZoneOffset": "+07:00",
                    "quantityList": [{"epcClass": lot_class}],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "htx:place": "Kho HTX",
                },
            ]
        },
    }


def _without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in keys}


def test_captured_events_come_back_equal_and_show_on_the_public_page(client, session, owner, batch):
    lot_class = f"https://id.gs1.org/01/08936012345674/10/{batch.lot.lot_code}"
    document = _captured(lot_class)
    document["epcisBody"]["eventList"][1]["transformationID"] = (
        f"https://tem.ocop.local/id/lot/{batch.lot.id}/processing"
    )
    resp = client.post(CAPTURE, json=document, headers=owner.headers)
    assert resp.status_code == 201, resp.get_json()
    recorded = resp.get_json()["recorded"]
    assert len(recorded) == 3

    exported = [
        e for e in events_of(client, owner, lot_id=batch.lot.id) if e.get("bizStep") != "commissioning"
    ]
    assert [e["eventID"] for e in exported] == recorded
    for sent, back in zip(document["epcisBody"]["eventList"], exported, strict=True):
        renamed = {k.replace("htx:", "ocop:"): v for k, v in sent.items()}
        if "ocop:documents" in renamed:
            renamed["ocop:documents"] = [
                {k.replace("htx:", "ocop:"): v for k, v in d.items()} for d in renamed["ocop:documents"]
            ]
        assert _without(back, "recordTime", "eventID") == renamed

    again = client.post(CAPTURE, json=document, headers=owner.headers)
    assert again.status_code == 201
    assert again.get_json() == {"recorded": [], "already_recorded": recorded}

    page = client.get(path_of(batch.urls[0]))
    text = page.get_data(as_text=True)
    assert "Vườn bưởi thôn 5, xã Phúc Trạch" in text and "Sơ chế, phân loại" in text


def test_a_correction_names_the_event_it_corrects(client, session, owner, batch):
    own_uri = f"https://tem.ocop.local/id/lot/{batch.lot.id}"
    refused = _captured(own_uri)
    refused["epcisBody"]["eventList"] = refused["epcisBody"]["eventList"][:1]
    resp = client.post(CAPTURE, json=refused, headers=owner.headers)
    assert resp.status_code == 422  # a GTIN product's lot has one name: its Digital Link
    assert "https://id.gs1.org/01/" in resp.get_json()["errors"][0]["message"]
    lot_class = f"https://id.gs1.org/01/08936012345674/10/{batch.lot.lot_code}"
    first = _captured(lot_class)
    first["epcisBody"]["eventList"] = first["epcisBody"]["eventList"][:1]
    resp = client.post(CAPTURE, json=first, headers=owner.headers)
    (original,) = resp.get_json()["recorded"]
    correction = copy.deepcopy(first)
    event = correction["epcisBody"]["eventList"][0]
    event["htx:place"] = "Vườn bưởi thôn 6, xã Phúc Trạch"
    event["htx:corrects"] = original
    resp = client.post(CAPTURE, json=correction, headers=owner.headers)
    assert resp.status_code == 201, resp.get_json()
    rows = session.scalars(
        select(TraceEvent).where(TraceEvent.lot_id == batch.lot.id).order_by(TraceEvent.seq)
    )
    assert [(r.seq, r.corrects_seq, r.place) for r in rows] == [
        (1, None, "Vườn bưởi thôn 5, xã Phúc Trạch"),
        (2, 1, "Vườn bưởi thôn 6, xã Phúc Trạch"),
    ]


def _trace_count(session, lot_id: int) -> int:
    return session.scalar(select(func.count()).select_from(TraceEvent).where(TraceEvent.lot_id == lot_id))


def test_one_bad_event_stores_nothing_and_every_refusal_is_named(client, session, keyring, owner, batch):
    other = make_issued_batch(session, keyring, n=1)
    lot_class = f"https://id.gs1.org/01/08936012345674/10/{batch.lot.lot_code}"
    document = _captured(lot_class)
    events = document["epcisBody"]["eventList"]
    events[1]["transformationID"] = "https://tem.ocop.local/id/lot/999/processing"
    events[2]["bizStep"] = "retail_selling"
    events.append(
        copy.deepcopy(events[0])
        | {"quantityList": [{"epcClass": f"https://tem.ocop.local/id/lot/{other.lot.id}"}]}
    )
    events.append(
        copy.deepcopy(events[0])
        | {"sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4}]}]}
    )
    events.append(
        copy.deepcopy(events[0])
        | {"eventTimeZoneOffset": "+01:00", "eventTime": "2026-11-20T00:15:00.000+01:00"}
    )
    before = _trace_count(session, batch.lot.id)
    resp = client.post(CAPTURE, json=document, headers=owner.headers)
    assert resp.status_code == 422
    assert resp.content_type.startswith("application/problem+json")
    fields = {e["field"] for e in resp.get_json()["errors"]}
    assert fields == {
        "epcisBody.eventList.1.transformationID",
        "epcisBody.eventList.2.bizStep",
        "epcisBody.eventList.3.epcClass",
        "epcisBody.eventList.4.sensorElementList",
        "epcisBody.eventList.5.eventTimeZoneOffset",
    }
    assert _trace_count(session, batch.lot.id) == before


def test_a_document_that_breaks_the_schema_is_refused_with_its_paths(client, session, owner, batch):
    document = _captured(f"https://tem.ocop.local/id/lot/{batch.lot.id}")
    del document["epcisBody"]["eventList"][0]["eventTime"]
    document["epcisBody"]["eventList"][2]["action"] = "SHIP"
    resp = client.post(CAPTURE, json=document, headers=owner.headers)
    assert resp.status_code == 422
    fields = [e["field"] for e in resp.get_json()["errors"]]
    assert "epcisBody.eventList.0" in fields and any(f.startswith("epcisBody.eventList.2") for f in fields)
    assert client.post(CAPTURE, json=[1, 2], headers=owner.headers).status_code == 422


def test_inspectors_cannot_capture(client, session, inspector, batch):
    document = _captured(f"https://tem.ocop.local/id/lot/{batch.lot.id}")
    assert client.post(CAPTURE, json=document, headers=inspector.headers).status_code == 403


def test_the_bundled_schema_is_gs1s_epcis_2_schema():
    from importlib import resources

    schema = json.loads(
        resources.files("stamp_service.reference").joinpath("epcis/EPCIS-JSON-Schema.json").read_text()
    )
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"] == "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"


def test_event_times_in_the_query_are_iso_8601_not_timestamps(client, owner, batch):
    for bad in ("0.5", "1700000000", "yesterday"):
        resp = client.get(
            EVENTS, query_string={"lot_id": batch.lot.id, "LT_eventTime": bad}, headers=owner.headers
        )
        assert resp.status_code == 422, bad
        assert resp.get_json()["errors"][0]["field"] == "query.LT_eventTime"
