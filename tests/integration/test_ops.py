from __future__ import annotations


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"]["database"] == "ok"


def test_request_id_is_echoed_or_made(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abcdef0123456789"})
    assert r.headers["X-Request-ID"] == "abcdef0123456789"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(r.headers["X-Request-ID"]) == 32


def test_unknown_routes_and_methods_are_problems(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    r = client.delete("/api/v1/producers")
    assert r.status_code == 405 and r.get_json()["type"] == "/problems/method-not-allowed"


def test_openapi_document_lists_every_operation(client, app):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    from stamp_service.web.api import OPERATIONS

    for op in OPERATIONS:
        path = op.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert op.method in doc["paths"][path], (op.method, path)
    assert client.get("/api/docs").status_code == 200


def test_a_locked_or_restarting_database_is_a_503_problem_not_a_500(app, client):
    """Regression: two racing SQLite writers made the second answer 500 'database is locked'."""
    from sqlalchemy.exc import OperationalError

    @app.get("/api/v1/_test_locked")
    def _locked():
        raise OperationalError("UPDATE lots ...", {}, Exception("database is locked"))

    r = client.get("/api/v1/_test_locked")
    assert r.status_code == 503
    assert r.get_json()["type"] == "/problems/database-busy"
    assert r.headers["Retry-After"] == "2"
    assert "UPDATE" not in r.get_data(as_text=True)


def test_server_side_errors_do_not_reveal_host_paths(app, client):
    from stamp_service.errors import SigningKeyUnavailable

    @app.get("/api/v1/_test_missing_key")
    def _missing():
        raise SigningKeyUnavailable("the key file /srv/keys/0a1b2c3d.pem is missing")

    r = client.get("/api/v1/_test_missing_key")
    assert r.status_code == 503
    assert "/srv/keys" not in r.get_data(as_text=True)
    assert r.get_json()["type"] == "/problems/signing-key-unavailable"


def test_every_json_answer_carries_the_baseline_security_headers(client):
    for path in ("/api/v1/producers", "/api/openapi.json", "/healthz", "/.well-known/jwks.json"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] == "no-referrer", path
        assert "default-src 'none'" in r.headers["Content-Security-Policy"], path


def test_the_client_address_comes_from_the_trusted_proxy_only_when_configured(settings, session_factory):
    from flask import request

    from stamp_service import create_app

    for proxies, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        app = create_app(settings.with_overrides(trusted_proxies=proxies))
        app.add_url_rule("/_addr", "addr", lambda: request.remote_addr or "")
        got = app.test_client().get(
            "/_addr", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
        )
        assert got.get_data(as_text=True) == expected
        app.extensions["ocop"].engine.dispose()


def test_metrics_count_requests_and_need_an_admin(client, session):
    from stamp_service.domain.access import Role
    from tests.factories import make_caller

    admin, inspector = make_caller(session, Role.ADMIN), make_caller(session, Role.INSPECTOR)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=inspector.headers).status_code == 403
    client.get("/healthz")
    body = client.get("/metrics", headers=admin.headers).get_data(as_text=True)
    assert 'ocop_http_requests_total{route="/healthz",status="2xx"}' in body
    assert 'ocop_http_request_duration_seconds_bucket{le="0.05",route="/healthz"}' in body
    assert "ocop_status_generation" in body and "ocop_store_fallbacks_total" in body
