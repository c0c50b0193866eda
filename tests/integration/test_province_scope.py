"""Province scope, driven from the OpenAPI document so that no operation escapes it.

For EVERY authenticated operation: a provincial account naming another province's record (in the
path, or in the body for the operations that act on a record named there) answers 404 (403 for
the central-only signing keys); its own province's office and a central account reach the record;
every listing shows a provincial account its province's rows only and a central account both.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from stamp_service import web
from stamp_service.domain.access import Role
from stamp_service.web.openapi import build_document
from tests.factories import (
    Caller,
    certificate_payload,
    event_payload,
    lot_payload,
    make_caller,
    producer_payload,
    product_payload,
)
from tests.province_world import HA_TINH, THANH_HOA, ProvinceData, World, build_world
from tests.revocation_support import decision

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f4c8f90000000049454e44ae426082"
)

# Operations outside the province rule, each with the reason. Anything else must pass the rule.
EXEMPT = {
    ("post", "/api/v1/findings"): "an inspector records what any stamp in a shop showed",
}
CENTRAL_ONLY = {"/api/v1/signing-keys/{kid}/compromise", "/api/v1/signing-keys/rotation"}
# Operations without a path id that act on a record named in the body.
BODY_TARGETS = {
    ("post", "/api/v1/products"),
    ("post", "/api/v1/certificates"),
    ("post", "/api/v1/lots"),
    ("post", "/api/v1/stamp-requests"),
    ("post", "/api/v1/voids"),
    ("post", "/api/v1/producers"),
    ("post", "/api/v1/accounts"),
}
# A provincial office registering a producer in another province: a field error, not a 404.
# An office creating an account of another province: refused outright (403).
# Creating a record for another province is a field error (422) on its province or commune.
OUTSIDE_STATUS = {("post", "/api/v1/producers"): 422, ("post", "/api/v1/accounts"): 422}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    # Operations are declared when their web modules are imported (as create_app does).
    for module in pkgutil.iter_modules(web.__path__):
        importlib.import_module(f"{web.__name__}.{module.name}")
    doc = build_document("test")
    return [
        (method, path, entry)
        for path, methods in doc["paths"].items()
        for method, entry in methods.items()
        if entry.get("security")
    ]


OPERATIONS = _operations()
TARGETED = [
    (m, p, e)
    for m, p, e in OPERATIONS
    if (m, p) not in EXEMPT and ("{" in p or (m, p) in BODY_TARGETS or p in CENTRAL_ONLY)
]
LISTINGS = [
    (m, p, e)
    for m, p, e in OPERATIONS
    if (m, p) not in EXEMPT and m == "get" and "{" not in p and "Page" in str(e["responses"])
]


def _path_value(name: str, path: str, target: ProvinceData, world: World) -> Any:
    if name == "request_id" and path.endswith(("/approve", "/reject")):
        return target.pending_request_id
    if name == "finding_id" and "/proposal/" in path:
        return target.proposed_finding_id
    values = {
        "producer_id": target.producer_id,
        "product_id": target.product_id,
        "certificate_id": target.certificate_id,
        "lot_id": target.lot_id,
        "request_id": target.request_id,
        "finding_id": target.finding_id,
        "report_id": target.report_id,
        "serial": target.serial,
        "kid": world.kid,
        "account_id": target.inspector.account_id,
        "token_id": target.inspector.token_id,
    }
    assert name in values, f"{path}: no record of the two provinces for path parameter {name!r}"
    return values[name]


REASON = "lý do kiểm tra phạm vi tỉnh"
BODIES: dict[str, Callable[[ProvinceData, World], dict[str, Any]]] = {
    "ProducerIn": lambda t, w: producer_payload(commune_code=t.commune),
    "ProducerPatch": lambda t, w: {"phone": "0237 3852 111"},
    "ProductIn": lambda t, w: product_payload(t.producer_id, raw_material_communes=[t.commune]),
    "CertificateIn": lambda t, w: certificate_payload(
        t.product_id, supersedes_id=t.certificate_id, signed_on="2025-10-01"
    ),
    "LotIn": lambda t, w: lot_payload(t.product_id),
    "TraceEventIn": lambda t, w: event_payload(),
    "StampRequestIn": lambda t, w: {"lot_id": t.lot_id, "quantity": 2},
    "ApproveIn": lambda t, w: {},
    "RejectIn": lambda t, w: {"reason": REASON},
    "PolicyIn": lambda t, w: {"max_quantity": 10},
    "WithdrawalIn": lambda t, w: {"decision": decision(), "reason": REASON},
    "ReductionIn": lambda t, w: {"stars": 3, "decision": decision(), "reason": REASON},
    "RecertificationIn": lambda t, w: {
        "stars": 4,
        "score": 80,
        "criteria_version": "148/QĐ-TTg",
        "authority_name": "UBND tỉnh",
        "authority_level": "province",
        "decision_number": f"{uuid.uuid4().int % 9000 + 100}/QĐ-UBND",
        "signed_on": "2025-10-01",
    },
    "RecallIn": lambda t, w: {"reason": REASON},
    "VoidIn": lambda t, w: {"serial": t.serial, "reason_code": "copied", "reason": REASON},
    "ProposalIn": lambda t, w: {"action": "void", "reason": REASON},
    "ProposalDecisionIn": lambda t, w: {"reason": REASON},
    "ReportClose": lambda t, w: {"note": REASON},
    "CompromiseIn": lambda t, w: {"reason": REASON},
    "RotationIn": lambda t, w: {"retire_kid": w.kid},
    "AccountIn": lambda t, w: {
        "name": f"tt-{uuid.uuid4().hex[:8]}",
        "role": "inspector",
        "province_code": t.code,
    },
    "TokenIn": lambda t, w: {"label": "máy quét"},
}


def _call(
    client: Any,
    caller: Caller,
    method: str,
    path: str,
    entry: dict[str, Any],
    target: ProvinceData,
    world: World,
) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: str(_path_value(m.group(1), path, target, world)), path)
    headers = dict(caller.headers)
    kwargs: dict[str, Any] = {"headers": headers}
    content = entry.get("requestBody", {}).get("content", {})
    if "image/png" in content and "application/json" not in content:  # a raw upload, not JSON
        kwargs.update(data=PNG, content_type="image/png")
    elif "requestBody" in entry:
        model = entry["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert model in BODIES, f"{method.upper()} {path}: add a sample {model} body to BODIES"
        kwargs["json"] = BODIES[model](target, world)
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return getattr(client, method)(url, **kwargs)


@pytest.fixture()
def world(session, settings) -> World:
    return build_world(session, settings.keys_dir)


def _ids(op: tuple[str, str, dict[str, Any]]) -> str:
    return f"{op[0].upper()} {op[1]}"


def test_the_rule_covers_the_operations_it_names():
    """The exemptions and body targets name real operations (a renamed route cannot slip out)."""
    known = {(m, p) for m, p, _ in OPERATIONS}
    assert set(EXEMPT) <= known
    assert known >= BODY_TARGETS
    assert len(TARGETED) >= 30 and len(LISTINGS) >= 9


@pytest.mark.parametrize("op", TARGETED, ids=_ids)
def test_another_provinces_record_is_not_found(client, world: World, op):
    method, path, entry = op
    ha_tinh, thanh_hoa = world.provinces[HA_TINH], world.provinces[THANH_HOA]
    for caller in (ha_tinh.admin, ha_tinh.inspector):
        response = _call(client, caller, method, path, entry, thanh_hoa, world)
        if path in CENTRAL_ONLY:
            expected: tuple[int, ...] = (403,)
        elif caller is ha_tinh.admin:
            expected = (OUTSIDE_STATUS.get((method, path), 404),)
        elif method == "get" and "inspector" in entry["x-roles"]:
            expected = (404,)
        else:
            expected = (403, 404)  # not an inspector's operation: 403 says nothing about the record
        assert response.status_code in expected, (caller, response.status_code, response.get_json())


@pytest.mark.parametrize("who", ["own-office", "central"])
@pytest.mark.parametrize("op", TARGETED, ids=_ids)
def test_own_province_and_central_reach_the_record(client, world: World, op, who):
    method, path, entry = op
    thanh_hoa = world.provinces[THANH_HOA]
    caller = thanh_hoa.admin if who == "own-office" else world.central
    response = _call(client, caller, method, path, entry, thanh_hoa, world)
    if path in CENTRAL_ONLY and who == "own-office":
        assert response.status_code == 403
        assert "central" in response.get_json()["detail"]
    else:
        assert response.status_code not in (403, 404), response.get_json()
        assert response.status_code < 500


_KINDS = {
    "producers": "producer",
    "products": "product",
    "certificates": "certificate",
    "lots": "lot",
    "stamp-requests": "request",
    "findings": "finding",
    "reports": "report",
    "accounts": "account",
}
_FIELDS = {
    "producer_id": "producer",
    "product_id": "product",
    "certificate_id": "certificate",
    "lot_id": "lot",
    "request_id": "request",
}


def _provinces_of(items: list[dict[str, Any]], path: str, world: World) -> set[str]:
    """The provinces each row of a listing belongs to, by any id or province it carries."""
    kind = _KINDS.get(path.rsplit("/", 1)[1])
    found: set[str] = set()
    for item in items:
        if kind == "account" and item.get("province_code") is None and item.get("producer_id") is None:
            found.add("central")  # a central-level account
            continue
        marks = set()
        for code, data in world.provinces.items():
            if item.get("province_code") == code:
                marks.add(code)
            if kind and item.get("id") in data.ids[kind]:
                marks.add(code)
            for field, field_kind in _FIELDS.items():
                if item.get(field) in data.ids[field_kind]:
                    marks.add(code)
        assert len(marks) == 1, f"{path}: cannot tell the province of {item}"
        found |= marks
    return found


@pytest.mark.parametrize("op", LISTINGS, ids=_ids)
def test_listings_show_a_province_only_its_rows(client, world: World, op):
    _method, path, _entry = op
    ha_tinh = world.provinces[HA_TINH]
    for caller in (ha_tinh.admin, ha_tinh.inspector, world.central):
        response = client.get(f"{path}?per_page=100", headers=caller.headers)
        if response.status_code == 403:
            assert caller is ha_tinh.inspector  # an office-only listing
            continue
        assert response.status_code == 200, response.get_json()
        provinces = _provinces_of(response.get_json()["items"], path, world)
        if caller is world.central:
            assert provinces - {"central"} == {HA_TINH, THANH_HOA}, path
        elif path.endswith("/findings") and caller is ha_tinh.inspector:
            assert provinces == {HA_TINH}  # the inspector's own finding
        else:
            assert provinces == {HA_TINH}, path


def _recert(target: ProvinceData, world: World) -> dict[str, Any]:
    return BODIES["RecertificationIn"](target, world)


def test_provincial_account_cannot_act_on_a_five_star_certificate(client, session, world: World):
    """Who certifies binds accounts: 5 stars are decided at the central level (docs/registry.md)."""
    ha_tinh = world.provinces[HA_TINH]
    five = certificate_payload(
        ha_tinh.product_id,
        stars=5,
        score=92,
        authority_level="central",
        authority_name="Bộ Nông nghiệp và Môi trường",
        supersedes_id=ha_tinh.certificate_id,
        signed_on="2025-10-01",
    )
    refused = client.post("/api/v1/certificates", json=five, headers=ha_tinh.admin.headers)
    assert refused.status_code == 403
    problem = refused.get_json()
    assert problem["type"] == "/problems/forbidden" and problem["rule"] == "certifying-authority-level"
    assert "central level" in problem["detail"]

    recorded = client.post("/api/v1/certificates", json=five, headers=world.central.headers)
    assert recorded.status_code == 201, recorded.get_json()
    five_id = recorded.get_json()["id"]
    base = f"/api/v1/certificates/{five_id}"
    for url, body in (
        (f"{base}/withdrawal", {"decision": decision(), "reason": REASON}),
        (f"{base}/reduction", {"stars": 4, "decision": decision(), "reason": REASON}),
        (
            f"/api/v1/products/{ha_tinh.product_id}/recertification",
            BODIES["RecertificationIn"](ha_tinh, world),
        ),
    ):
        response = client.post(url, json=body, headers=ha_tinh.admin.headers)
        assert response.status_code == 403, (url, response.get_json())
        assert response.get_json()["rule"] == "certifying-authority-level"
    # The central level reduces it; the province may then act on the 4-star decision.
    reduced = client.post(
        f"{base}/reduction",
        json={"stars": 4, "decision": decision(), "reason": REASON},
        headers=world.central.headers,
    )
    assert reduced.status_code == 200, reduced.get_json()
    four_id = reduced.get_json()["certificate"]["id"]
    withdrawn = client.post(
        f"/api/v1/certificates/{four_id}/withdrawal",
        json={"decision": decision(), "reason": REASON},
        headers=ha_tinh.admin.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()


def test_findings_go_to_the_inspectors_province(client, session, world: World):
    """A Thanh Hóa inspector's finding reaches the Thanh Hóa office, not Hà Tĩnh's, even about a
    Hà Tĩnh stamp; only the stamp's own office or the central level can propose acting on it."""
    ha_tinh, thanh_hoa = world.provinces[HA_TINH], world.provinces[THANH_HOA]
    body = {
        "client_id": uuid.uuid4().hex,
        "serial": ha_tinh.serial,
        "verdict": "suspicious",
        "shop": "Chợ Vườn Hoa, Thanh Hóa",
        "observed_at": datetime.now(UTC).isoformat(),
    }
    created = client.post("/api/v1/findings", json=body, headers=thanh_hoa.inspector.headers)
    assert created.status_code == 201
    finding_id = created.get_json()["id"]

    def listed(caller: Caller) -> set[int]:
        return {f["id"] for f in client.get("/api/v1/findings", headers=caller.headers).get_json()["items"]}

    assert finding_id in listed(thanh_hoa.admin) and finding_id in listed(world.central)
    assert finding_id not in listed(ha_tinh.admin)
    proposal = {"action": "void", "reason": REASON}
    url = f"/api/v1/findings/{finding_id}/propose"
    assert client.post(url, json=proposal, headers=ha_tinh.admin.headers).status_code == 404
    outside = client.post(url, json=proposal, headers=thanh_hoa.admin.headers)
    assert outside.status_code == 422 and outside.get_json()["rule"] == "stamp-outside-province"
    assert client.post(url, json=proposal, headers=world.central.headers).status_code == 201


def test_a_provincial_account_may_not_manage_signing_keys(client, session, world: World):
    office = make_caller(session, Role.ADMIN, province_code=HA_TINH)
    response = client.post(
        "/api/v1/signing-keys/rotation", json={"retire_kid": world.kid}, headers=office.headers
    )
    assert response.status_code == 403


def test_a_provincial_office_cannot_reach_central_accounts(client, session, world: World):
    """No way up: creating a central-level account, or a token for one, is refused."""
    office = world.provinces[HA_TINH].admin
    central_admin = client.post(
        "/api/v1/accounts", json={"name": "tw-moi", "role": "admin"}, headers=office.headers
    )
    assert central_admin.status_code == 422  # province_code: outside your province
    assert central_admin.get_json()["errors"][0]["field"] == "province_code"
    token = client.post(
        f"/api/v1/accounts/{world.central.account_id}/tokens", json={"label": "x"}, headers=office.headers
    )
    assert token.status_code == 404
    revoke = client.delete(f"/api/v1/tokens/{world.central.token_id}", headers=office.headers)
    assert revoke.status_code == 404
    own = client.post(
        "/api/v1/accounts",
        json={"name": "tt-ha-tinh-2", "role": "inspector", "province_code": HA_TINH},
        headers=office.headers,
    )
    assert own.status_code == 201, own.get_json()
