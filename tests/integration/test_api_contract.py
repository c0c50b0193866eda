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
