"""A bounded schemathesis run over the whole OpenAPI document (issue 14, "The API contract").

PostgreSQL + Redis pass only: the service runs on a committed database of its own (a real
threaded server, so schemathesis drives it over HTTP as any client would), with an office
account and a producer account whose producer has a certified product and a lot. Each account
gets one run: every check, positive and negative data, every phase, a fixed seed and a small
number of examples per operation, so the run is repeatable and takes a few minutes on 2 cores.
The configuration (tests/schemathesis.toml) says why each check is tuned the way it is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import Role
from stamp_service.storage.db import make_session_factory
from tests.conftest import PG_URL, REDIS_URL
from tests.factories import Caller, make_caller
from tests.issuance_helpers import certified
from tests.ports import free_port

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="PostgreSQL + Redis pass"),
]

SEED = 20261203
MAX_EXAMPLES = int(os.environ.get("OCOP_SCHEMATHESIS_EXAMPLES", "5"))
CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"
PORTS = range(8600, 8700)


@pytest.fixture(scope="module")
def served(committed_db, tmp_path_factory) -> Iterator[tuple[str, dict[str, Caller]]]:  # type: ignore[no-untyped-def]
    with make_session_factory(committed_db.engine)() as session:
        producer = certified(session).caller
        office = make_caller(session, Role.ADMIN)
        session.commit()
    settings = Settings(
        database_url=committed_db.url,
        redis_url=REDIS_URL,
        keys_dir=committed_db.keys_dir,
        var_dir=tmp_path_factory.mktemp("var"),
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
        testing=True,
    )
    app = create_app(settings)
    server = make_server("127.0.0.1", free_port(PORTS), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", {"admin": office, "producer": producer}
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["ocop"].close()


@pytest.mark.parametrize("who", ["admin", "producer"])
def test_the_service_conforms_to_its_openapi_document(served, who, tmp_path):
    base, callers = served
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/api/openapi.json",
        "--checks=all",
        "--mode=all",
        f"--max-examples={MAX_EXAMPLES}",
        f"--seed={SEED}",
        "--workers=1",
        "--suppress-health-check=all",
        "--output-truncate=false",
        "--no-color",
        "-H",
        f"Authorization: Bearer {callers[who].token}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = run.stdout + run.stderr
    failures = output[output.find("=== FAILURES") :] if "=== FAILURES" in output else output[-6000:]
    assert run.returncode == 0, f"schemathesis ({who}) found:\n{failures[:20000]}"
    counts = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) > 40, output[-3000:]
