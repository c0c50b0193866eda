"""Slow clients against the production setup: nginx (deploy/nginx) -> gunicorn 2 x 4 -> PostgreSQL + Redis.

    .venv/bin/python bench/slow_clients.py [--slow 200] [--requests 400] [--direct]

Prints the p50/p99 of /healthz and of a stamp page through nginx, first unloaded (the baseline)
and then while ``--slow`` connections send one body byte every 2 s to /verify/report. The target is
p99 under 100 ms under load. ``--direct`` also runs the loaded case against gunicorn without nginx,
to show why the proxy is required (requests that time out count as 10 s).
Everything runs on 127.0.0.1; the database is created for the run and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import create_database, drop_database  # noqa: E402
from tests.ports import free_port  # noqa: E402
from tests.proxy_support import (  # noqa: E402
    SlowClients,
    p99,
    start_gunicorn,
    start_nginx,
    timed_get,
    wait_for,
)

REDIS = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")


def measure(urls: list[str], clients: int = 4) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, failures) of GETs of ``urls`` from ``clients`` threads."""
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda u: timed_get(u, timeout=10), urls))
    seconds = [s for _, s in results]
    return statistics.median(seconds) * 1000, p99(seconds) * 1000, sum(1 for st, _ in results if st != 200)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--direct", action="store_true", help="also hit gunicorn without nginx")
    args = parser.parse_args()

    from bench.verify import make_data

    scratch = create_database("ocop_bench")
    db_url = scratch.url
    procs = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            paths = make_data(db_url, tmp / "keys", stamps=20, lots=1, products=1).order
            env = {
                "DATABASE_URL": db_url,
                "REDIS_URL": REDIS,
                "OCOP_KEYS_DIR": str(tmp / "keys"),
                "OCOP_VAR_DIR": str(tmp / "var"),
                "OCOP_TRUSTED_PROXIES": "1",
                "OCOP_RATE_PAGE_PER_MINUTE": "1000000000",
                "PYTHONPATH": str(ROOT),
            }
            app_port, proxy_port = free_port(), free_port()
            procs.append(start_gunicorn(env, app_port, tmp / "gunicorn.log"))
            procs.append(start_nginx(app_port, proxy_port, tmp / "nginx"))
            proxy = f"http://127.0.0.1:{proxy_port}"
            wait_for(proxy + "/healthz")
            urls = [proxy + "/healthz", proxy + paths[0]] * (args.requests // 2)
            measure(urls[:40])  # warm-up
            print(f"through nginx, {args.requests} requests (healthz + stamp page), 4 clients")
            p50, p99_ms, bad = measure(urls)
            print(f"  unloaded (baseline):      p50 {p50:7.1f} ms  p99 {p99_ms:7.1f} ms  failed {bad}")
            with SlowClients(proxy_port, "/verify/report", args.slow) as slow:
                p50, p99_ms, bad = measure(urls)
            print(f"  {slow.open} slow clients:        p50 {p50:7.1f} ms  p99 {p99_ms:7.1f} ms  failed {bad}")
            if args.direct:
                direct = [u.replace(proxy, f"http://127.0.0.1:{app_port}") for u in urls[:40]]
                with SlowClients(app_port, "/verify/report", args.slow) as slow:
                    p50, p99_ms, bad = measure(direct)
                line = f"p50 {p50:7.1f} ms  p99 {p99_ms:7.1f} ms  failed {bad}"
                print(f"  without nginx, {slow.open} slow: {line}")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(20)
            drop_database(scratch)


if __name__ == "__main__":
    main()
