"""The API contract: an OpenAPI document whose references resolve, and answers that match it
(issue 14, "The API contract")."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from stamp_service.web.openapi import REF_PREFIX


def _refs(node: Any, where: str = "#") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(node["$ref"], where)] if isinstance(node.get("$ref"), str) else []
        for key, value in node.items():
            found += _refs(value, f"{where}/{key}")
        return found
    if isinstance(node, list):
        return [r for i, value in enumerate(node) for r in _refs(value, f"{where}/{i}")]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve (stops at {part!r})"
        node = node[part]
    return node


def test_every_reference_in_the_openapi_document_resolves(client):
    doc = client.get("/api/openapi.json").get_json()
    refs = _refs(doc)
    assert len(refs) > 100  # the walk really saw the document
    dangling = [(ref, where) for ref, where in refs if not _try(doc, ref)]
    assert dangling == []
    # The shapes that dangled before: list pages, enum query parameters, the two FindingOut models.
    page = _resolve(
        doc,
        doc["paths"]["/api/v1/products"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
            "$ref"
        ],
    )
    assert set(page["required"]) >= {"items", "page", "per_page", "total"}
    role = next(p for p in doc["paths"]["/api/v1/accounts"]["get"]["parameters"] if p["name"] == "role")
    assert "enum" in _resolve(doc, _refs(role["schema"])[0][0])
    finding = doc["paths"]["/api/v1/findings"]["post"]["responses"]["201"]["content"]["application/json"]
    assert "properties" in _resolve(doc, finding["schema"]["$ref"])


def _try(doc: dict[str, Any], ref: str) -> bool:
    try:
        _resolve(doc, ref)
    except AssertionError:
        return False
    return True


def test_api_docs_link_each_operation_to_real_schemas_under_a_csp(client):
    doc = client.get("/api/openapi.json").get_json()
    r = client.get("/api/docs")
    html = r.get_data(as_text=True)
    anchors = set(re.findall(r'id="schema-([^"]+)"', html))
    links = set(re.findall(r'href="#schema-([^"]+)"', html))
    assert links and links <= anchors
    assert {ref.removeprefix(REF_PREFIX) for ref, _ in _refs(doc["paths"])} <= links
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp


def test_a_401_names_the_bearer_scheme(client):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        r = client.get("/api/v1/producers", headers=headers)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.content_type == "application/problem+json"


def test_a_204_has_no_content_type(client, session, admin):
    from tests.factories import make_producer

    producer = make_producer(session)
    url = f"/api/v1/producers/{producer.id}/auto-approval"
    assert client.put(url, json={"max_quantity": 100}, headers=admin.headers).status_code == 200
    r = client.delete(url, headers=admin.headers)
    assert r.status_code == 204
    assert "Content-Type" not in r.headers and r.get_data() == b""


def test_media_not_found_is_problem_json_even_for_a_browser(client):
    r = client.get("/media/products/null%2Cnull", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.content_type == "application/problem+json"
    assert r.get_json()["type"] == "/problems/not-found"


def test_html_error_pages_carry_a_csp_that_allows_their_style_only(client):
    r = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.mimetype == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    html = r.get_data(as_text=True)
    assert "style=" not in html  # inline style attributes would need 'unsafe-inline'
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)  # type: ignore[union-attr]
    assert f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'" in csp


def test_the_role_is_checked_before_the_body(client, inspector):
    """docs/registry.md: an inspector learns nothing of an office-only write's field rules."""
    for url, body in (
        ("/api/v1/producers", {"name": 5}),
        ("/api/v1/products", {}),
        ("/api/v1/certificates", {"stars": "many"}),
    ):
        r = client.post(url, json=body, headers=inspector.headers)
        assert r.status_code == 403, url
        assert r.get_json()["type"] == "/problems/forbidden"
        assert "errors" not in r.get_json()
    headers = {**inspector.headers, "Content-Type": "application/json"}
    r = client.post("/api/v1/producers", data="{not json", headers=headers)
    assert r.status_code == 403


def test_ids_above_the_32_bit_range_are_404_on_every_method(client, admin):
    from stamp_service.web.api import OPERATIONS

    checked = 0
    for op in OPERATIONS:
        if "<int:" not in op.rule:
            continue
        for too_big in (2**31, 10**12):
            url = re.sub(r"<int:\w+>", str(too_big), op.rule)
            r = client.open(url, method=op.method.upper(), json={}, headers=admin.headers)
            assert r.status_code == 404, (op.method, url, r.status_code)
            assert r.content_type == "application/problem+json"
        checked += 1
    assert checked > 20
    assert client.get("/api/v1/producers/2147483647", headers=admin.headers).status_code == 404


def test_hsts_on_every_answer_when_the_public_address_is_https(client, settings, session_factory):
    from stamp_service import create_app

    assert settings.public_base_url.startswith("https://")
    for path in ("/healthz", "/api/docs", "/api/v1/producers", "/no-such-page", "/V/NOTACODE", "/verify"):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000", path
    plain = create_app(settings.with_overrides(public_base_url="http://localhost:8000"))
    try:
        assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    finally:
        plain.extensions["ocop"].close()


def test_report_dates_outside_the_storable_range_or_not_iso_are_422(client, admin):
    """Issue 14: since=0001-01-01 and until=9999-12-31 answered 500 (year 10000 out of range)."""
    for path in (
        "/api/v1/reports/voided-ranges",
        "/api/v1/reports/recalled-lots",
        "/api/v1/reports/revoked-products",
    ):
        for query in ("since=0001-01-01", "until=9999-12-31", "until=0", "since=1700000000"):
            r = client.get(f"{path}?{query}", headers=admin.headers)
            assert r.status_code == 422, (path, query, r.status_code)
            assert r.get_json()["errors"][0]["field"] == f"query.{query.split('=')[0]}"
        assert (
            client.get(f"{path}?since=2025-01-01&until=2025-12-31", headers=admin.headers).status_code == 200
        )


def test_recertification_with_validity_ending_before_signing_is_422_like_certificates(client, session, admin):
    from tests.factories import certificate_payload, make_certificate, make_producer, make_product

    product = make_product(session, make_producer(session).id)
    make_certificate(session, product.id)
    body = certificate_payload(product.id, signed_on="2026-01-10", valid_until="2026-01-10")
    del body["product_id"]
    for url, payload in (
        (f"/api/v1/products/{product.id}/recertification", body),
        ("/api/v1/certificates", {**body, "product_id": product.id}),
    ):
        r = client.post(url, json=payload, headers=admin.headers)
        assert r.status_code == 422, (url, r.get_json())
        assert "valid_until must be after signed_on" in r.get_json()["errors"][0]["message"]


def test_a_too_long_request_target_is_a_414_problem_with_its_request_id(client):
    r = client.get("/api/v1/producers?q=" + "x" * 5000, headers={"X-Request-ID": "abcdef0123456789"})
    assert r.status_code == 414 and r.content_type == "application/problem+json"
    assert r.get_json()["type"] == "/problems/uri-too-long"
    assert r.get_json()["request_id"] == r.headers["X-Request-ID"] == "abcdef0123456789"
