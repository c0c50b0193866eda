"""The production server's own limits answer in the API's shape (issue 14: gunicorn's 414 was HTML).

Runs the real ``serve.run_gunicorn`` configuration on a free port of this helper's range.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stamp_service.web.errors import GUNICORN_REQUEST_LINE, MAX_REQUEST_TARGET
from tests.ports import free_port

PORTS = range(
    int(os.environ.get("OCOP_TEST_PORT_FROM", "8600")), int(os.environ.get("OCOP_TEST_PORT_TO", "8700"))
)


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("gunicorn")
    port = free_port(PORTS)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'ocop.sqlite3'}",
        "OCOP_VAR_DIR": str(tmp / "var"),
        "OCOP_KEYS_DIR": str(tmp / "keys"),
        "OCOP_LOG_FORMAT": "text",
    }
    env.pop("REDIS_URL", None)
    code = (
        "from stamp_service.serve import run_gunicorn; "
        f"run_gunicorn(host='127.0.0.1', port={port}, workers=1, threads=2)"
    )
    log = (tmp / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, Path(log.name).read_text()
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _get(port: int, target: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", target, headers={"Accept": "text/html"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_a_long_request_target_is_a_414_problem_from_gunicorn(gunicorn):
    assert _get(gunicorn, "/healthz").status == 200
    for length in (MAX_REQUEST_TARGET + 1, 5000, GUNICORN_REQUEST_LINE - 100):
        target = "/api/v1/producers?q=" + "x" * (length - len("/api/v1/producers?q="))
        response = _get(gunicorn, target)
        assert response.status == 414, length
        assert response.getheader("Content-Type") == "application/problem+json"
    page = _get(gunicorn, "/V/" + "A" * 6000)
    assert page.status == 414 and "Content-Security-Policy" in dict(page.getheaders())
