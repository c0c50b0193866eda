"""Where a first scan's CPU goes: first scans through the WSGI app, in process, against PostgreSQL + Redis.

    .venv/bin/python bench/verify_profile.py [--requests 3000] [--stamps 20000] [--top 35]
                                             [--profile cprofile|none]

(the stamp lookup, a psycopg prepared statement, is not among the counted ORM statements)
No HTTP server and no wrk: the requests are WSGI calls in this process (one thread), so the
figures are CPU of the app itself: CPU ms per request (``time.process_time``) and database
statements per request for the realistic mix's first scans and for repeats, then the
cProfile table (cumulative time) of the first scans. The CPU figures are not thread-timing
dependent, so they stay comparable on a shared machine (under load they rise a little, as the
caches are shared). Data as bench/verify.py makes it (``make_data``), in a database created
for the run and dropped; Redis: ``BENCH_REDIS_URL`` (flushed).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import create_database, drop_database  # noqa: E402
from bench.verify import REDIS, client_address, make_data  # noqa: E402


def wsgi_get(app, path: str, client: str) -> int:  # type: ignore[no-untyped-def]
    """One GET through the whole WSGI stack (proxy fix included), body consumed; the status."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        path=path, headers={"X-Forwarded-For": client, "Accept-Encoding": "gzip"}
    ).get_environ()
    out: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: out.append(status))
    for _chunk in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return int(out[0].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--stamps", type=int, default=20_000)
    parser.add_argument("--lots", type=int, default=200)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--profile", choices=["cprofile", "none"], default="cprofile")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="profile the cold case instead: the first scan of each lot nobody scanned yet (what a "
        "fresh worker, or every worker after a status change, pays once per lot and language)",
    )
    args = parser.parse_args()

    import redis
    from sqlalchemy import event

    scratch = create_database("ocop_prof")
    db_url = scratch.url
    redis.Redis.from_url(REDIS).flushdb()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            mix = make_data(
                db_url, Path(tmp) / "keys", stamps=args.stamps, lots=args.lots, products=args.products
            )
            os.environ.update(
                DATABASE_URL=db_url,
                REDIS_URL=REDIS,
                OCOP_KEYS_DIR=str(Path(tmp) / "keys"),
                OCOP_VAR_DIR=tmp,
                OCOP_TRUSTED_PROXIES="1",
                OCOP_LOG_FORMAT="json",
                OCOP_SCAN_FLUSH_SECONDS="0",  # flushed below, in this thread, to measure it
                OCOP_SCAN_FLUSH_BATCH="1000000",
            )
            from stamp_service import create_app
            from stamp_service.config import load_settings
            from stamp_service.logs import configure_logging

            settings = load_settings()
            configure_logging(json_format=settings.log_json)
            logging_off = open(os.devnull, "w")  # noqa: SIM115 - the access lines are formatted, then dropped
            import logging

            for handler in logging.getLogger().handlers:
                handler.stream = logging_off  # type: ignore[attr-defined]
            flask_app = create_app(settings)
            app = flask_app
            statements = [0]
            rt = flask_app.extensions["ocop"]
            for factory in (rt.session_factory, rt.read_session_factory):
                if factory is not None:
                    event.listen(
                        factory.kw["bind"],
                        "before_cursor_execute",
                        lambda *a, **k: statements.__setitem__(0, statements[0] + 1),
                    )
            n = min(args.requests, len(mix.order) - 1000)
            warm = mix.order[:300]
            for i, path in enumerate(warm):  # every lot's facts cached, connections open
                wsgi_get(app, path, client_address(i))
            todo = mix.order[300 : 300 + n]

            def run(paths: list[str], offset: int) -> tuple[float, float]:
                statements[0] = 0
                cpu, wall = time.process_time(), time.perf_counter()
                for i, path in enumerate(paths):
                    status = wsgi_get(app, path, client_address(offset + i))
                    if status != 200:
                        raise SystemExit(f"{path} answered {status}")
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                return cpu * 1000 / len(paths), wall * 1000 / len(paths)

            profiler = cProfile.Profile() if args.profile == "cprofile" else None
            if args.cold:
                half = len(mix.cold) // 2
                cold_cpu, cold_wall = run(mix.cold[:half], 5_000_000)
                print(
                    f"cold first scans (in process, {half} lots): CPU {cold_cpu:.2f} ms/request, "
                    f"wall {cold_wall:.2f} ms, {statements[0] / half:.2f} ORM statements/request"
                )
                if profiler is not None:
                    profiler.enable()
                    run(mix.cold[half:], 6_000_000)
                    profiler.disable()
                    for order in ("cumulative", "tottime"):
                        out = io.StringIO()
                        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                        print(out.getvalue())
                rt.close()
                return
            first_cpu, first_wall = run(todo[: n // 2], 300)
            first_statements = statements[0] / (n // 2)
            repeat_cpu, repeat_wall = run(todo[: n // 2], 300)  # the same stamps, same clients
            repeat_statements = statements[0] / (n // 2)
            print(
                f"first scans (in process, {n // 2} requests): CPU {first_cpu:.2f} ms/request, "
                f"wall {first_wall:.2f} ms, {first_statements:.2f} ORM statements/request"
            )
            print(
                f"repeats      (the same stamps and clients):   CPU {repeat_cpu:.2f} ms/request, "
                f"wall {repeat_wall:.2f} ms, {repeat_statements:.2f} ORM statements/request"
            )
            cache = rt.services["verify_env"].cache
            print(f"generation cache: {len(cache)} items, {cache.hits} hits, {cache.misses} misses")
            scan_log = rt.services["scan_log"]
            cpu = time.process_time()
            flushed = scan_log.flush(rt.session_factory)
            cpu = time.process_time() - cpu
            print(
                f"flush (in process, {flushed} queued scans): CPU {cpu * 1000 / max(1, flushed):.2f} ms/scan"
            )
            if profiler is not None:
                profiler.enable()
                run(todo[n // 2 :], 300 + n)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
                print(out.getvalue())
            rt.close()
    finally:
        drop_database(scratch)


if __name__ == "__main__":
    main()
