"""One app server against two, side by side: the realistic mix with one and with two gunicorn masters.

    .venv/bin/python bench/masters.py [--stamps 50000] [--duration 5] [--rounds 4] [--connections 16]
                                      [--nginx]

Two masters (each 2 gthread workers x 4 threads, as bench/verify.py runs one) on the same
PostgreSQL and Redis, as two app nodes of docs/operations.md would be. The load is
bench/verify.py's realistic mix (first scans of distinct stamps, Zipf lots, one client address per
request, imported from it), with ``--connections`` in all:

- **one master**: one wrk with all the connections against master A;
- **two masters**: two wrk processes at once (one thread each, so the load generator has as many
  threads as with one master), half the connections each, one per master, each walking its own
  never-scanned stamps; throughput is the sum, latency the worse of the two;
- with ``--nginx``, the same through nginx (Debian's, the repository's site config) in front: one wrk
  with all the connections against an nginx with one upstream, then against an nginx with both
  masters as upstream servers (round robin). These masters trust two proxies (wrk's
  ``X-Forwarded-For`` plays the shopper's side, nginx appends its own).

Rounds alternate the order (one, two / two, one) next to the bare Flask route, and the ratio is
the median of the rounds' ratios. On this 2-core machine a second master adds processes that
share the same two cores (and more PostgreSQL connections), so it cannot be faster: what this
measures is that splitting the load over two app servers costs little; the gain of more nodes
needs more hardware and was not measured here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import verify as vb  # noqa: E402
from bench.verify_scale import REDIS, port_in_range  # noqa: E402


def nginx_in_front(upstreams: list[int], tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx with the repository's site config, ``upstreams`` as the servers of its upstream."""
    from tests import proxy_support

    port = port_in_range()
    proc = proxy_support.start_nginx(upstreams, port, tmp / f"nginx-{port}")
    proxy_support.wait_for(f"http://127.0.0.1:{port}/healthz", timeout=15)
    return proc, port


def together(jobs: list[tuple[vb.Targets, str, int]], duration: int) -> dict[str, float]:
    """Run one wrk per (targets, url, connections) at the same time; the summed throughput."""
    results: list[dict[str, float]] = []

    def run(targets: vb.Targets, url: str, connections: int) -> None:
        results.append(targets.run(url, duration=duration, connections=connections))

    threads_each = vb.WRK_THREADS
    vb.WRK_THREADS = max(1, threads_each // len(jobs))  # the load generator's threads: as many in all
    try:
        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        vb.WRK_THREADS = threads_each
    if len(results) != len(jobs):
        raise SystemExit("a wrk run failed")
    return {
        "rps": sum(r["rps"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "non2xx": sum(r["non2xx"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stamps", type=int, default=50_000)
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--nginx", action="store_true", help="also through nginx (one vs two upstreams)")
    args = parser.parse_args()

    import redis

    scratch = vb.create_database("ocop_masters")
    db_url = scratch.url
    redis.Redis.from_url(REDIS).flushdb()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            started = time.time()
            mix = vb.make_data(
                db_url, tmp / "keys", stamps=args.stamps, lots=args.lots, products=args.products
            )
            print(
                f"data: {args.stamps:,} issued stamps over {args.lots:,} lots of {args.products} products "
                f"in {time.time() - started:.0f} s",
                file=sys.stderr,
            )
            lua = tmp / "targets.lua"
            lua.write_text(vb.LUA_TARGETS)
            split = len(mix.order) * 3 // 5  # the one-master runs all draw on the first part
            first = vb.Targets(mix.order[:split], tmp / "first.txt", lua)
            second = vb.Targets(mix.order[split:], tmp / "second.txt", lua)
            env: dict[str, Any] = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": REDIS,
                "OCOP_KEYS_DIR": str(tmp / "keys"),
                "OCOP_VAR_DIR": tmp_dir,
                "OCOP_TRUSTED_PROXIES": "1",
                "OCOP_LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT),
            }
            log = tmp / "gunicorn.log"

            def master(trusted: int) -> str:
                port = port_in_range()
                procs.append(
                    vb.gunicorn(
                        "stamp_service.wsgi:app", port, {**env, "OCOP_TRUSTED_PROXIES": str(trusted)}, log
                    )
                )
                return f"http://127.0.0.1:{port}/"

            a, b = master(1), master(1)
            bare_port = port_in_range()
            procs.append(vb.gunicorn("bench.verify:bare_app()", bare_port, env, log))
            (tmp / "bare.txt").write_text("/bare\t127.0.0.1\n")
            bare_args = [str(vb.WRK_THREADS), "0", str(tmp / "bare.txt"), "1", "0"]
            c, d = args.connections, args.duration

            def bare() -> dict[str, float]:
                url = f"http://127.0.0.1:{bare_port}/bare"
                return vb.wrk(url, duration=d, connections=c, lua=str(lua), args=bare_args)

            setups = {
                "direct": (
                    lambda: together([(first, a, c)], d),
                    lambda: together([(first, a, c // 2), (second, b, c - c // 2)], d),
                )
            }
            if args.nginx:
                na, nb = master(2), master(2)
                port_of = [int(u.rsplit(":", 1)[1].strip("/")) for u in (na, nb)]
                one_proc, one_port = nginx_in_front(port_of[:1], tmp)
                two_proc, two_port = nginx_in_front(port_of, tmp)
                procs += [one_proc, two_proc]
                one_url, two_url = f"http://127.0.0.1:{one_port}/", f"http://127.0.0.1:{two_port}/"
                setups["through nginx"] = (  # one wrk each: nginx spreads the second over both masters
                    lambda: together([(first, one_url, c)], d),
                    lambda: together([(second, two_url, c)], d),
                )
            print(
                f"gunicorn masters of 2 workers x 4 threads (gthread), PostgreSQL + Redis, "
                f"wrk -t{vb.WRK_THREADS}, {c} connections in all, -d{d}s, {args.rounds} rounds, "
                f"{os.cpu_count()} CPUs shared by everything"
            )
            bare()
            for one, two in setups.values():  # warm-up: every worker of every master has served
                one(), two()
            results: dict[str, dict[str, list[dict[str, float]]]] = {
                k: {"one": [], "two": [], "bare": []} for k in setups
            }
            for i in range(args.rounds):
                for label, (one, two) in setups.items():
                    if not (first.enough_for(400, d) and second.enough_for(400, d)):
                        print(f"stopping: {first.left():,} + {second.left():,} unscanned stamps left")
                        break
                    r = results[label]
                    r["bare"].append(bare())
                    order = [("one", one), ("two", two)] if i % 2 == 0 else [("two", two), ("one", one)]
                    for key, fn in order:
                        r[key].append(fn())
                    print(
                        f"  round {i + 1} {label}: bare {r['bare'][-1]['rps']:.0f}, one master "
                        f"{r['one'][-1]['rps']:.0f}, two masters {r['two'][-1]['rps']:.0f} req/s",
                        file=sys.stderr,
                    )
            for label, r in results.items():
                if not r["one"]:
                    continue
                print(f"\n{label}:")
                vb.show("  bare Flask route (baseline)", vb.median(r["bare"]))
                vb.show(f"  one master, wrk -c{c}", vb.median(r["one"]))
                how = f"two wrk -c{c // 2} at once (sum)" if label == "direct" else f"one wrk -c{c} via nginx"
                vb.show(f"  two masters, {how}", vb.median(r["two"]))
                ratios = sorted(t["rps"] / o["rps"] for t, o in zip(r["two"], r["one"], strict=True))
                print(
                    f"  two / one master: {ratios[len(ratios) // 2]:.2f}x (median of {len(ratios)} rounds, "
                    f"{ratios[0]:.2f}-{ratios[-1]:.2f}x)"
                )
            print(
                "\nOn this machine both setups share the same 2 CPUs (and one PostgreSQL and Redis): a "
                "second master adds processes and database connections, not capacity, so it cannot be "
                "faster here; and each process warms its own per-generation cache of lot and product facts, "
                "so with four processes instead of two the long tail of small lots is loaded twice as often. "
                "More app nodes pay off only on more hardware."
            )
    finally:
        vb.stop_servers(procs)
        vb.drop_database(scratch)


if __name__ == "__main__":
    main()
