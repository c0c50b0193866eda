"""How fast *could* a first scan be on this stack and machine? The floor beside the bare route and the page.

    .venv/bin/python bench/verify_floor.py [--duration 5] [--rounds 3] [--stamps 50000]

Issue 13 asks for first scans of distinct stamps at >= 40 % of a bare Flask route's throughput.
This bench measures the ceiling any implementation on the fixed stack (Flask, gunicorn gthread
2 x 4, PostgreSQL, Redis, Ed25519) can reach here: a **floor app** that does only the work a first
scan cannot skip, and nothing else:

1. the token's Ed25519 signature (``stamp_format.verify``, the service's own parser);
2. one prepared PostgreSQL query for the stamp row (the service's own statement, one psycopg
   connection per thread, no pool, no ORM);
3. one Redis call (a script that counts the scan and returns the status generation: the least a
   scan record and a revocation check can be);
4. the service's real page for that stamp, made by one ``str.replace`` of the token into a page
   fetched from the service at start, and gzip level 1 (what the page sends).

It leaves out everything a real service needs around that work: rate limits, writing the scans to
the database (the flusher), logs, metrics, security headers, verdict logic, languages. So its
throughput is an **upper bound**. The same routine is served twice: as a Flask route
(``floor_app``) and as a plain WSGI callable (``floor_wsgi``, what dropping Flask from the hot path
could gain at most). Each round runs bare, floor (Flask), floor (WSGI) and the real page on
distinct unscanned stamps, adjacent in time; ratios are medians of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import create_database, drop_database  # noqa: E402
from bench.verify import (  # noqa: E402  (the page bench's setup: one way to make data and measure)
    LUA_TARGETS,
    REDIS,
    CpuMeter,
    Targets,
    client_address,
    gunicorn,
    make_data,
    median,
    show,
    stop_servers,
    wrk,
)
from tests.ports import free_port  # noqa: E402

PAGE_FILE = "FLOOR_PAGE_FILE"  # env: the real page of one stamp, its token replaced by TOKEN_MARK
TOKEN_MARK = "\x00TOKEN\x00"
SCAN_SCRIPT = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('GET', KEYS[2])
"""


class Floor:
    """The irreducible work of one first scan (see the module docstring), shared by both apps."""

    def __init__(self) -> None:
        import psycopg
        import redis
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        self._psycopg = psycopg
        self.db_url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(self.db_url) as conn:
            rows = conn.execute("SELECT kid, public_key FROM signing_keys").fetchall()
        self.keys = {bytes.fromhex(kid): Ed25519PublicKey.from_public_bytes(bytes(pk)) for kid, pk in rows}
        self.redis = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=0.2)
        self.scan = self.redis.register_script(SCAN_SCRIPT)
        self.page = Path(os.environ[PAGE_FILE]).read_text()
        self.local = threading.local()

    def _conn(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self._psycopg.connect(self.db_url, autocommit=True)
        return conn

    def answer(self, token: str) -> bytes | None:
        """The gzipped page of a genuine, issued stamp; None for anything else."""
        from stamp_service.domain import serials
        from stamp_service.domain.stamp_format import verify
        from stamp_service.errors import InvalidStamp
        from stamp_service.services.stamp_status import _PG_STAMP_ROW

        try:
            claims = verify(token, public_key_lookup=self.keys.get)
        except InvalidStamp:
            return None
        row = self._conn().execute(_PG_STAMP_ROW, {"serial": serials.to_db(claims.serial)}, prepare=True)
        if row.fetchone() is None:
            return None
        self.scan(keys=["floor:scans", "status:generation"], args=[claims.serial])
        return gzip.compress(self.page.replace(TOKEN_MARK, token.upper()).encode(), compresslevel=1, mtime=0)


def floor_app():  # type: ignore[no-untyped-def]
    """The floor as a Flask route (gunicorn ``bench.verify_floor:floor_app()``)."""
    from flask import Flask, Response, abort

    app = Flask("floor")
    floor = Floor()

    @app.get("/V/<token>")
    def page(token: str) -> Response:
        body = floor.answer(token)
        if body is None:
            abort(404)
        return Response(body, mimetype="text/html", headers={"Content-Encoding": "gzip"})

    return app


def floor_wsgi():  # type: ignore[no-untyped-def]
    """The same floor as a plain WSGI callable: what the hot path could gain without Flask at most."""
    floor = Floor()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        body = floor.answer(path[3:]) if path.startswith("/V/") else None
        if body is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return app


def page_template(port: int, path: str) -> str:
    """The service's real page of one stamp (uncompressed), its token replaced by ``TOKEN_MARK``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"X-Forwarded-For": client_address(30_000_000)})
    response = conn.getresponse()
    html = response.read().decode()
    if response.status != 200:
        raise SystemExit(f"the page answered {response.status}")
    token = path.rstrip("/").rsplit("/", 1)[1].upper()
    return html.replace(token, TOKEN_MARK)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stamps", type=int, default=50_000)
    parser.add_argument("--lots", type=int, default=200)
    parser.add_argument("--products", type=int, default=50)
    args = parser.parse_args()

    import redis

    scratch = create_database("ocop_floor")
    db_url = scratch.url
    redis.Redis.from_url(REDIS).flushdb()
    redis_pid = int(redis.Redis.from_url(REDIS).info("server")["process_id"])
    meter = CpuMeter(scratch.name, scratch.admin, redis_pid)
    procs: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            keys = tmp / "keys"
            mix = make_data(db_url, keys, stamps=args.stamps, lots=args.lots, products=args.products)
            lua = tmp / "targets.lua"
            lua.write_text(LUA_TARGETS)
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": REDIS,
                "OCOP_KEYS_DIR": str(keys),
                "OCOP_VAR_DIR": tmp_dir,
                "OCOP_TRUSTED_PROXIES": "1",
                "OCOP_LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT),
                PAGE_FILE: str(tmp / "page.html"),
            }
            log = tmp / "gunicorn.log"
            ports = {n: free_port() for n in ("page", "bare", "flask", "wsgi")}
            procs.append(gunicorn("stamp_service.wsgi:app", ports["page"], env, log))
            page = page_template(ports["page"], mix.cold[0])
            (tmp / "page.html").write_text(page)
            print(
                f"the page the floor sends: {len(page.encode()):,} bytes, "
                f"{len(gzip.compress(page.encode(), compresslevel=1)):,} gzipped",
                file=sys.stderr,
            )
            procs.append(gunicorn("bench.verify:bare_app()", ports["bare"], env, log))
            procs.append(gunicorn("bench.verify_floor:floor_app()", ports["flask"], env, log))
            procs.append(gunicorn("bench.verify_floor:floor_wsgi()", ports["wsgi"], env, log))
            meter.masters.update({ports[n]: p.pid for n, p in zip(ports, procs, strict=True)})
            import bench.verify as page_bench

            page_bench.METER = meter
            # The page scans each stamp once; the floor apps keep no state, so they walk the other
            # third of the stamps over and over (the same one query and Redis call per request).
            third = len(mix.order) // 3
            page_targets = Targets(mix.order[third:], tmp / "page.txt", lua)
            floor_file = tmp / "floor.txt"
            floor_file.write_text(
                "".join(f"{p}\t{client_address(n)}\n" for n, p in enumerate(mix.order[:third]))
            )
            floor_args = ["2", "0", str(floor_file), str(third), "0"]
            (tmp / "bare.txt").write_text("/bare\t127.0.0.1\n")
            bare_args = ["2", "0", str(tmp / "bare.txt"), "1", "0"]
            d, c = args.duration, args.connections

            def url(n: str) -> str:
                return f"http://127.0.0.1:{ports[n]}/"

            def bare() -> dict[str, float]:
                return wrk(url("bare") + "bare", duration=d, connections=c, lua=str(lua), args=bare_args)

            runs: dict[str, list[dict[str, float]]] = {n: [] for n in ports}
            steps = {
                "bare": bare,
                "flask": lambda: wrk(url("flask"), duration=d, connections=c, lua=str(lua), args=floor_args),
                "wsgi": lambda: wrk(url("wsgi"), duration=d, connections=c, lua=str(lua), args=floor_args),
                "page": lambda: page_targets.run(url("page"), duration=d, connections=c),
            }
            for step in steps.values():  # warm-up: every worker thread has served its route
                step()
            print(
                f"gunicorn 2 workers x 4 threads (gthread) each, wrk -t2 -c{c} -d{d}s, {args.stamps:,} "
                f"stamps, {os.cpu_count()} CPUs shared by everything; every scan a first scan",
                file=sys.stderr,
            )
            for i in range(args.rounds):
                order = list(steps) if i % 2 == 0 else list(reversed(steps))
                for n in order:
                    runs[n].append(steps[n]())
                print(
                    "  round: " + ", ".join(f"{n} {runs[n][-1]['rps']:.0f}" for n in steps) + " req/s",
                    file=sys.stderr,
                )
            labels = {
                "bare": "bare Flask route (baseline)",
                "flask": "floor, Flask route (upper bound)",
                "wsgi": "floor, plain WSGI (upper bound)",
                "page": "the page: first scans of distinct stamps",
            }
            for n, label in labels.items():
                show(label, median(runs[n]))

            def ratio(n: str) -> str:
                rs = sorted(r["rps"] / b["rps"] for r, b in zip(runs[n], runs["bare"], strict=True))
                return f"{rs[len(rs) // 2]:.0%} (range {rs[0]:.0%}-{rs[-1]:.0%})"

            print(
                f"\nof the bare route's throughput (median of {args.rounds} rounds): floor, Flask "
                f"{ratio('flask')}; floor, plain WSGI {ratio('wsgi')}; the page {ratio('page')}. "
                "Goal of issue 13: the page >= 40 %."
            )
        finally:
            stop_servers(procs)
            drop_database(scratch)


if __name__ == "__main__":
    main()
