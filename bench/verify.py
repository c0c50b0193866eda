"""Verification page benchmark: gunicorn (2 gthread workers) on PostgreSQL + Redis, measured with wrk.

    .venv/bin/python bench/verify.py [--duration 5] [--rounds 5] [--connections 16]
                                     [--stamps 100000] [--lots 1000] [--products 200]

The headline is the **realistic mix** (issue 13): ``--stamps`` issued stamps over ``--lots``
lots of ``--products`` products; lot sizes follow a Zipf-like popularity (weight 1/rank), and
the requests walk a random permutation of all stamps, so every request is the *first scan of a
stamp never scanned before* and a lot is picked with a probability proportional to its size,
i.e. Zipf-like. Each request comes from its own client address, passed in ``X-Forwarded-For``
as the one trusted proxy would (``OCOP_TRUSTED_PROXIES=1``), and the page's real rate limits
stay on. No stamp is scanned twice within a run; when the stamps left would not cover the next
run, the benchmark says so and stops measuring the mix.

Prints, from one run: requests/s and p50/p99 of
1. a bare Flask route on the same gunicorn setup (the baseline), interleaved with
2. the realistic mix, as ``--rounds`` adjacent pairs (alternating which goes first); the ratio
   is the median of the pairs' ratios, so a slow phase of the shared machine hits both alike;
3. the mix at ~80% of its own peak (paced), for p99 under load;
4. the repeated-scan case: 1,000 stamps already scanned, re-opened by the same clients;
5. the cold case: single sequential requests, each the first scan of the first stamp of a lot
   nobody scanned yet (lots kept out of the mix for this), p50/p99 latency.

wrk2 (constant-rate wrk) is not in Debian, so step 3 paces plain wrk with its Lua ``delay()``
hook: every connection waits ``d`` ms before each request, and ``d`` is tuned so that
connections / (d + latency) is 80% of the peak. wrk measures latency from send to response, so
the pause is not counted. Everything runs on 127.0.0.1; the database is created for the run and
dropped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import PG, create_database, drop_database  # noqa: E402,F401  (PG: for the other benches)
from tests.ports import free_port  # noqa: E402  (one free-port helper for tests and benches)

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
WRK = "/usr/bin/wrk"
COLD_LOTS = 50  # lots kept out of the mix: each gives one cold first scan
WARM_PER_LOT = 4  # stamps per mix lot kept out of the mix for --warm-lots

# Lines of the targets file are "<path>\t<client address>". Thread k of T takes lines
# off + k, off + k + T, ... (``cycle`` > 0: modulo that many lines, for repeated scans).
LUA_TARGETS = """
id, i = 0, 0
local lines, n, T, off, cycle, pause = {}, 0, 1, 0, 0, 0
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  T, off, cycle, pause = tonumber(args[1]), tonumber(args[2]), tonumber(args[4]), tonumber(args[5])
  for line in io.lines(args[3]) do
    local path, ip = line:match("([^\\t]+)\\t(.+)")
    n = n + 1
    lines[n] = {path, ip}
  end
end
function request()
  local k = id + i * T
  i = i + 1
  if cycle > 0 then k = k % cycle end
  local e = lines[off + k + 1] or lines[n]
  return wrk.format("GET", e[1], {["X-Forwarded-For"] = e[2]})
end
function delay() return pause end
done = function(summary, latency, requests)
  local used = 0
  for _, t in ipairs(threads) do
    local ti = t:get("i")
    if ti and ti > used then used = ti end
  end
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "errors": %d, "non2xx": %d, '
    .. '"p50": %f, "p99": %f, "used": %d}\\n', summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000, used * #threads))
end
"""


def bare_app():  # type: ignore[no-untyped-def]
    """The baseline: a Flask app with one tiny route (gunicorn ``bench.verify:bare_app()``)."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/bare")
    def bare() -> str:
        return "ok"

    return app


@dataclass
class Mix:
    """The issued stamps: the mix's first scans in order, and the cold lots' first stamps."""

    order: list[str]  # URL paths, a random permutation of every stamp outside the cold lots
    cold: list[str]  # the first stamp of each cold lot
    lot_sizes: list[int]
    warm: list[str] = field(default_factory=list)  # WARM_PER_LOT stamps of each mix lot, not in ``order``


def zipf_sizes(stamps: int, lots: int) -> list[int]:
    """Lot sizes proportional to 1/rank (at least 2 stamps each), summing to ``stamps``."""
    weights = [1 / r for r in range(1, lots + 1)]
    total = sum(weights)
    sizes = [max(2, int(stamps * w / total)) for w in weights]
    sizes[0] += stamps - sum(sizes)
    return sizes


def make_data(db_url: str, keys_dir: Path, *, stamps: int, lots: int, products: int) -> Mix:
    """A fresh database with ``products`` products (one producer and certificate each), ``lots``
    lots spread round robin over them, one approved request per lot, all stamps issued."""
    from sqlalchemy import select

    from stamp_service.domain.access import SYSTEM
    from stamp_service.domain.stamp_format import stamp_url
    from stamp_service.services import minting, reference
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.migrate import upgrade
    from stamp_service.storage.models.stamps import Stamp
    from tests.factories import make_certificate, make_lot, make_producer, make_product
    from tests.stamp_factories import BASE_URL, ensure_keyring, make_request
    from tests.verify_support import path_of

    engine = make_engine(db_url)
    upgrade(engine)
    sizes = zipf_sizes(stamps, lots)
    rng = random.Random(13)
    started = time.time()
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
        ring = ensure_keyring(session, keys_dir)
        made = []
        for _ in range(products):
            producer = make_producer(session)
            product = make_product(session, producer.id)
            made.append((producer, product, make_certificate(session, product.id)))
        by_lot: list[list[str]] = []
        for i, size in enumerate(sizes):
            producer, product, cert = made[i % products]
            lot = make_lot(session, product.id, quantity=size)
            request = make_request(
                session, producer=producer, product=product, certificate=cert, lot=lot, quantity=size
            )
            minting.issue_all(session, request_id=request.id, keyring=ring, chunk_size=5000)
            rows = session.scalars(select(Stamp).where(Stamp.request_id == request.id).order_by(Stamp.seq))
            by_lot.append([path_of(stamp_url(BASE_URL, minting.token_for(s))) for s in rows])
            session.expunge_all()
            if i % 100 == 99:
                print(f"  data: {i + 1} lots, {time.time() - started:.0f} s", file=sys.stderr)
    engine.dispose()
    cold_lots = set(rng.sample(range(lots // 2, lots), min(COLD_LOTS, lots // 4)))  # small lots, as most
    order = [p for i, paths in enumerate(by_lot) if i not in cold_lots for p in paths[WARM_PER_LOT:]]
    warm = [p for i, paths in enumerate(by_lot) if i not in cold_lots for p in paths[:WARM_PER_LOT]]
    rng.shuffle(order)
    rng.shuffle(warm)
    return Mix(order, [by_lot[i][0] for i in sorted(cold_lots)], sizes, warm)


def gunicorn(
    target: str, port: int, env: dict[str, str], log: Path, root: Path = ROOT
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        target,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--chdir",
        str(root),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:  # e.g. the port was taken: never measure someone else's server
            raise SystemExit(f"gunicorn {target} exited; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError as exc:
            if getattr(exc, "code", None) == 404:  # the bare app has no /healthz: it answers, so it is up
                return proc
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn {target} did not start; see {log}")


def stop_servers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop every server the bench started, killing the slow ones: never leave one behind."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine
            proc.kill()
            proc.wait(10)


WRK_THREADS = 2
WRK_CPUS = ""  # taskset CPU list for wrk (--wrk-cpus), the same for every run; "" = not pinned
CPU_GROUPS = ("gunicorn", "postgres", "redis")
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def user_system_ticks(pid: int) -> tuple[int, int]:
    """utime and stime of one process (all its threads), in clock ticks; (0, 0) when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return (0, 0)
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), after "pid (comm)"


def process_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks; 0 when it is gone."""
    return sum(user_system_ticks(pid))


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU time per process group around each wrk run: a noise-robust figure on a shared machine.

    Throughput depends on what else runs; the CPU milliseconds a request costs each group (the
    gunicorn master and workers serving the URL's port, the PostgreSQL backends connected to the
    bench database, the redis-server) hardly do. The redis-server is shared with whatever else
    uses it, so its figure is an upper bound on a busy machine.
    """

    def __init__(self, db_name: str, admin: object, redis_pid: int | None) -> None:
        self.db_name, self.admin, self.redis_pid = db_name, admin, redis_pid
        self.masters: dict[int, int] = {}  # port -> gunicorn master pid
        self.redis_pids: dict[
            int, int
        ] = {}  # port -> the redis-server of that route, when not the shared one

    def pids(self, port: int) -> dict[str, list[int]]:
        import sqlalchemy as sa

        master = self.masters.get(port)
        with self.admin.connect() as conn:  # type: ignore[attr-defined]
            pg = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.db_name}
            ).scalars()
            postgres = [int(p) for p in pg]
        return {
            "gunicorn": [master, *child_pids(master)] if master else [],
            "postgres": postgres,
            "redis": [p for p in [self.redis_pids.get(port, self.redis_pid)] if p],
        }

    def snapshot(self, port: int) -> dict[str, dict[int, int]]:
        return {g: {p: process_ticks(p) for p in pids} for g, pids in self.pids(port).items()}

    @staticmethod
    def per_request(
        before: dict[str, dict[int, int]], after: dict[str, dict[int, int]], requests: float
    ) -> dict[str, float]:
        """CPU ms per request of each group (a process that appeared meanwhile counts from 0)."""
        out = {}
        for group in CPU_GROUPS:
            ticks = sum(t - before.get(group, {}).get(p, 0) for p, t in after.get(group, {}).items())
            out[group] = ticks * TICK_MS / max(1.0, requests)
        return out


METER: CpuMeter | None = None  # set by main(): every wrk run then reports its CPU per request


def wrk(
    url: str, *, duration: int, connections: int, lua: str, args: list[str] | None = None
) -> dict[str, float]:
    pin = ["taskset", "-c", WRK_CPUS] if WRK_CPUS else []
    cmd = [*pin, WRK, "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{duration}s", "--timeout", "5s"]
    cmd += ["-s", lua, "-H", "Accept-Encoding: gzip", url]
    if args:
        cmd += ["--", *args]
    port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    before = METER.snapshot(port) if METER else None
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line[len("RESULT ") :])
    r["rps"] = r["requests"] / r["seconds"]
    if METER and before is not None:
        r.update(METER.per_request(before, METER.snapshot(port), r["requests"]))
    return r


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median throughput (its own latencies with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def cpu_text(r: dict[str, float]) -> str:
    """CPU ms per request by process group, when measured (``METER``)."""
    if "gunicorn" not in r:
        return ""
    total = sum(r[g] for g in CPU_GROUPS)
    return "   CPU ms/req " + " ".join(f"{g} {r[g]:.3f}" for g in CPU_GROUPS) + f" = {total:.3f}"


def show(name: str, r: dict[str, float]) -> None:
    bad = f"  errors={r['errors']} non-2xx={r['non2xx']}" if r["errors"] or r["non2xx"] else ""
    rate = f"{r['rps']:>8.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
    print(f"{name:<52} {rate}{cpu_text(r)}{bad}")


def median_cpu(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per group, the median CPU ms per request over ``runs`` (empty when not measured)."""
    if not runs or "gunicorn" not in runs[0]:
        return {}
    return {g: sorted(r[g] for r in runs)[len(runs) // 2] for g in CPU_GROUPS}


def client_address(n: int) -> str:
    """A distinct public-looking client address per request number (10.0.0.0/8 is private, so
    the 100.64.0.0/10 shared range: still one address per shopper)."""
    return f"100.{64 + (n >> 16) % 64}.{(n >> 8) % 256}.{n % 256}"


class Targets:
    """The mix's stamps, handed out once each across runs."""

    def __init__(self, order: list[str], file: Path, lua: Path) -> None:
        self.total = len(order)
        self.next = 0
        file.write_text("".join(f"{p}\t{client_address(n)}\n" for n, p in enumerate(order)))
        self.file, self.lua = file, lua

    def left(self) -> int:
        return self.total - self.next

    def run(self, url: str, *, duration: int, connections: int, pause_ms: float = 0) -> dict[str, float]:
        args = [str(WRK_THREADS), str(self.next), str(self.file), "0", str(max(0, int(pause_ms)))]
        r = wrk(url, duration=duration, connections=connections, lua=str(self.lua), args=args)
        self.next += int(r["used"])
        if self.next > self.total:
            raise SystemExit(
                f"ran out of unscanned stamps ({self.total}); use --stamps or a shorter --duration"
            )
        return r

    def enough_for(self, rps: float, duration: int) -> bool:
        return self.left() > 1.5 * rps * duration + 1000


def cold_latencies(port: int, paths: list[str]) -> dict[str, float]:
    """One request at a time, each the first scan of a lot nobody scanned: latency only."""
    times = []
    for n, path in enumerate(paths):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start = time.perf_counter()
        conn.request("GET", path, headers={"X-Forwarded-For": client_address(10_000_000 + n)})
        status = conn.getresponse()
        status.read()
        times.append((time.perf_counter() - start) * 1000)
        conn.close()
        if status.status != 200:
            raise SystemExit(f"cold scan answered {status.status}")
    times.sort()
    return {"p50": times[len(times) // 2], "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def profile_workers(
    label: str, master: int, run: Callable[[], dict[str, float]], seconds: int, extra: str, tmp: Path
) -> None:
    """py-spy ``record`` on every worker of ``master`` while ``run`` (a wrk run) loads it; prints
    the share of samples per thread, the top leaf frames (self) and the top frames (inclusive)."""
    import threading
    from collections import Counter

    spy = str(Path(sys.executable).with_name("py-spy"))
    result: dict[str, dict[str, float]] = {}
    load = threading.Thread(target=lambda: result.update(r=run()))
    load.start()
    time.sleep(1)
    recs = []
    workers = child_pids(master)
    ticks_before = {pid: user_system_ticks(pid) for pid in workers}
    for pid in workers:
        out = tmp / f"{label}-{pid}.txt"
        cmd = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
        cmd += ["--format", "raw", "--threads", "--nonblocking", "-o", str(out), *extra.split()]
        recs.append((out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    for _, rec in recs:
        rec.wait()
    ticks = [
        (user_system_ticks(p)[0] - ticks_before[p][0], user_system_ticks(p)[1] - ticks_before[p][1])
        for p in workers
    ]
    load.join()
    threads: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for out, _ in recs:
        for line in out.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            count = int(n)
            frames = stack.split(";")
            total += count
            threads[frames[0].split(" (")[0]] += count  # "thread (0x...)" as first frame with --threads
            self_[frames[-1]] += count
            for frame in set(frames[1:]):
                incl[frame] += count
    r = result.get("r", {})
    print(f"\n== py-spy {extra or '(on-CPU samples)'}: {label}, {r.get('rps', 0):.0f} req/s{cpu_text(r)}")
    user, system = sum(t[0] for t in ticks) * TICK_MS, sum(t[1] for t in ticks) * TICK_MS
    print(
        f"   {total} samples over {len(recs)} workers (raw stacks: BENCH_PROFILE_DIR keeps them); the "
        f"workers' CPU meanwhile: user {user:.0f} ms, system {system:.0f} ms "
        f"({system / max(1.0, user + system):.0%} in the kernel)"
    )
    for title, counter, n in (
        ("threads", threads, 10),
        ("self (leaf frames)", self_, 30),
        ("inclusive", incl, 45),
    ):
        print(f"  -- {title}")
        for frame, count in counter.most_common(n):
            print(f"  {count / max(1, total):6.1%}  {frame[:150]}")
    dest = os.environ.get("BENCH_PROFILE_DIR")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        for out, _ in recs:
            (Path(dest) / f"{label}-{out.name}").write_text(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved bare/mix pairs; medians shown")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stamps", type=int, default=100_000)
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="another checkout (e.g. `git archive <commit>`) served beside this one on the same data, "
        "interleaved in every round: before/after from one run",
    )
    parser.add_argument(
        "--hang-redis",
        action="store_true",
        help="serve from a redis-server of its own and measure the mix again while it is stopped (SIGSTOP)",
    )
    parser.add_argument(
        "--warm-lots",
        action="store_true",
        help=f"before measuring, scan {WARM_PER_LOT} stamps of every mix lot (kept out of the mix) on each "
        "tree: workers that know every lot, as after a while in production (the default measures workers "
        "that meet most lots for the first time during the run)",
    )
    parser.add_argument(
        "--profile-workers",
        type=int,
        default=0,
        metavar="SECONDS",
        help="after the warm-up, record each gunicorn worker with py-spy (pip install py-spy into the "
        "venv) for SECONDS while the mix and then the bare route run, print the top frames, and stop",
    )
    parser.add_argument("--profile-args", default="", help="extra py-spy record options, e.g. '--gil --idle'")
    parser.add_argument("--wrk-threads", type=int, default=WRK_THREADS)
    parser.add_argument("--wrk-cpus", default=WRK_CPUS, help="pin wrk with taskset, e.g. 1 (all runs alike)")
    args = parser.parse_args()
    globals().update(WRK_THREADS=args.wrk_threads, WRK_CPUS=args.wrk_cpus)

    import redis

    scratch = create_database("ocop_bench")
    name, db_url, admin = scratch.name, scratch.url, scratch.admin
    redis_url = REDIS
    procs: list[subprocess.Popen[bytes]] = []
    own_redis = None
    own_servers: list[subprocess.Popen[bytes]] = []  # redis-servers started for the baseline tree
    if args.hang_redis:  # never stop the machine's shared Redis: one of our own, on a free port
        port = free_port()
        own_redis = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        redis_url = f"redis://127.0.0.1:{port}/0"
    redis.Redis.from_url(redis_url).flushdb()
    redis_pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
    meter = CpuMeter(name, admin, redis_pid)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            keys = tmp / "keys"
            started = time.time()
            mix = make_data(db_url, keys, stamps=args.stamps, lots=args.lots, products=args.products)
            print(
                f"data: {args.stamps:,} stamps over {args.lots:,} lots of {args.products} products "
                f"(lot sizes 1/rank: largest {mix.lot_sizes[0]:,}, median "
                f"{sorted(mix.lot_sizes)[len(mix.lot_sizes) // 2]}, smallest {min(mix.lot_sizes)}), "
                f"made in {time.time() - started:.0f} s",
                file=sys.stderr,
            )
            lua = tmp / "targets.lua"
            lua.write_text(LUA_TARGETS)
            targets = Targets(mix.order, tmp / "mix.txt", lua)
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis_url,
                "OCOP_KEYS_DIR": str(keys),
                "OCOP_VAR_DIR": tmp_dir,
                "OCOP_TRUSTED_PROXIES": "1",
                "OCOP_LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT),
            }
            log = tmp / "gunicorn.log"
            app_port, bare_port = free_port(), free_port()
            procs.append(gunicorn("stamp_service.wsgi:app", app_port, env, log))
            procs.append(gunicorn("bench.verify:bare_app()", bare_port, env, log))
            meter.masters.update({app_port: procs[0].pid, bare_port: procs[1].pid})
            globals()["METER"] = meter  # from here on, every wrk run measures its CPU
            app = f"http://127.0.0.1:{app_port}/"
            old_app = None
            if args.baseline_tree:
                old_port = free_port()
                # A redis-server of its own: the trees must not share a scan queue (whichever tree's
                # flusher held the lock wrote both trees' scans, and its CPU counted for that tree).
                old_redis_port = int(os.environ.get("BENCH_BASELINE_REDIS_PORT", "0")) or free_port()
                old_redis = subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(old_redis_port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                )
                own_servers.append(old_redis)
                time.sleep(0.5)
                meter.redis_pids[old_port] = old_redis.pid
                old_env = {
                    **env,
                    "PYTHONPATH": str(args.baseline_tree.resolve()),
                    "REDIS_URL": f"redis://127.0.0.1:{old_redis_port}/0",
                }
                tree = args.baseline_tree.resolve()
                procs.append(gunicorn("stamp_service.wsgi:app", old_port, old_env, log, root=tree))
                meter.masters[old_port] = procs[-1].pid
                old_app = f"http://127.0.0.1:{old_port}/"
            d, c = args.duration, args.connections
            pinned = f" pinned to CPU {WRK_CPUS}" if WRK_CPUS else ""
            print(
                f"gunicorn 2 workers x 4 threads (gthread), PostgreSQL + Redis, "
                f"wrk -t{WRK_THREADS} -c{c} -d{d}s{pinned} after a 2 s warm-up of each route, "
                f"{os.cpu_count()} CPUs shared by everything"
            )
            bare_lua = tmp / "bare.lua"
            bare_lua.write_text(LUA_TARGETS)
            (tmp / "bare.txt").write_text("/bare\t127.0.0.1\n")
            bare_args = [str(WRK_THREADS), "0", str(tmp / "bare.txt"), "1", "0"]
            bare_url = f"http://127.0.0.1:{bare_port}/bare"

            def bare_run(duration: int) -> dict[str, float]:
                return wrk(bare_url, duration=duration, connections=c, lua=str(bare_lua), args=bare_args)

            bare_run(2)  # warm-up: every worker thread has served requests
            warm = targets.run(app, duration=2, connections=c)
            if old_app:
                targets.run(old_app, duration=2, connections=c)
            if args.warm_lots:
                warm_file = tmp / "warm.txt"
                warm_file.write_text(
                    "".join(f"{p}\t{client_address(20_000_000 + n)}\n" for n, p in enumerate(mix.warm))
                )
                for url in (app, old_app) if old_app else (app,):
                    started, used = time.time(), 0
                    while used < len(mix.warm) and time.time() - started < 90:  # each stamp once, <= 90 s
                        warm_args = [str(WRK_THREADS), str(used), str(warm_file), "0", "0"]
                        r = wrk(url, duration=max(2, d), connections=c, lua=str(lua), args=warm_args)
                        used += int(r["used"])
                    print(
                        f"  warm: {url} scanned {min(used, len(mix.warm)):,} of {len(mix.warm):,} warm-up "
                        f"stamps ({WARM_PER_LOT} per lot)",
                        file=sys.stderr,
                    )
            if args.profile_workers:
                for label, _url, port, run in (
                    (
                        "mix",
                        app,
                        app_port,
                        lambda: targets.run(app, duration=args.profile_workers + 2, connections=c),
                    ),
                    ("bare", bare_url, bare_port, lambda: bare_run(args.profile_workers + 2)),
                ):
                    profile_workers(
                        label, meter.masters[port], run, args.profile_workers, args.profile_args, tmp
                    )
                return
            bares, mixes, ratios, olds, old_ratios = [], [], [], [], []
            for i in range(args.rounds):  # interleaved, so a noisy neighbour hits both routes alike
                expected = max([warm["rps"], *(m["rps"] for m in mixes)])
                if not targets.enough_for(expected, d):
                    print(
                        f"stopping after {i} rounds: {targets.left():,} unscanned stamps left "
                        "would not cover a run"
                    )
                    break
                if i % 2:
                    mixes.append(targets.run(app, duration=d, connections=c))
                    bares.append(bare_run(d))
                else:
                    bares.append(bare_run(d))
                    mixes.append(targets.run(app, duration=d, connections=c))
                ratios.append(mixes[-1]["rps"] / bares[-1]["rps"])
                if old_app:
                    olds.append(targets.run(old_app, duration=d, connections=c))
                    old_ratios.append(olds[-1]["rps"] / bares[-1]["rps"])
                print(
                    f"  round: bare {bares[-1]['rps']:.0f} req/s, mix {mixes[-1]['rps']:.0f} req/s "
                    f"({ratios[-1]:.0%})"
                    + (f", baseline {olds[-1]['rps']:.0f} req/s ({old_ratios[-1]:.0%})" if old_app else ""),
                    file=sys.stderr,
                )
            bare, one = median(bares), median(mixes)
            show("bare Flask route (baseline)", bare)
            show("realistic mix: first scans of distinct stamps", one)
            if olds:
                show("the same mix, --baseline-tree", median(olds))
            target = 0.8 * one["rps"]
            delay = max(0.0, c / target * 1000 - one["p50"])
            tries = []
            for _ in range(4):  # tune the pause until the rate is within 7% of the target; keep the closest
                if not targets.enough_for(target, d):
                    print(f"pacing stopped: {targets.left():,} unscanned stamps left would not cover a run")
                    break
                paced = targets.run(app, duration=d, connections=c, pause_ms=delay)
                tries.append(paced)
                print(f"  pacing: pause {delay:6.1f} ms -> {paced['rps']:.0f} req/s", file=sys.stderr)
                if abs(paced["rps"] - target) / target < 0.07:
                    break
                latency = c / paced["rps"] * 1000 - delay  # what each request took, pause excluded
                delay = max(0.0, c / target * 1000 - latency)
            paced = min(tries, key=lambda r: abs(r["rps"] - target)) if tries else None
            if paced:
                show(f"mix at {paced['rps'] / one['rps']:.0%} of its peak (paced)", paced)
            # Repeated scans: the first 1,000 stamps of the mix (all scanned above), same clients.
            repeat_args = [str(WRK_THREADS), "0", str(targets.file), "1000", "0"]
            repeat = wrk(app, duration=d, connections=c, lua=str(lua), args=repeat_args)
            bare_again = bare_run(d)
            show("repeated scans (1,000 scanned stamps, same clients)", repeat)
            show("bare Flask route, right after", bare_again)
            if own_redis is not None:
                normal = targets.run(app, duration=d, connections=c)
                os.kill(own_redis.pid, signal.SIGSTOP)
                try:
                    hung = targets.run(app, duration=d, connections=c)
                finally:
                    os.kill(own_redis.pid, signal.SIGCONT)
                show("mix, Redis answering (its own redis-server)", normal)
                show("mix, Redis hung (SIGSTOP)", hung)
                print(f"hung / answering: {hung['rps'] / normal['rps']:.0%} (goal >= 50 %, p99 < 200 ms)")
            cold = cold_latencies(app_port, mix.cold)
            print(
                f"{'cold: first scan of a lot nobody scanned (1 at a time)':<52} {'':>8}         "
                f"p50 {cold['p50']:6.2f} ms   p99 {cold['p99']:6.2f} ms  ({len(mix.cold)} lots)"
            )
            ratio = sorted(ratios)[len(ratios) // 2]
            print(
                f"\nmix / bare throughput: {ratio:.0%} (median of {len(ratios)} adjacent pairs, range "
                f"{min(ratios):.0%}-{max(ratios):.0%}; goal >= 40%); "
                f"repeated / bare {repeat['rps'] / bare_again['rps']:.0%}; "
                + (f"p99 at ~80% load: {paced['p99']:.1f} ms (goal < 50 ms); " if paced else "")
                + f"{targets.next:,} of {targets.total:,} stamps scanned"
            )
            bare_cpu = sum(median_cpu(bares).values()) or 1.0
            print("\nCPU ms per request by process group (median of the rounds; robust to a busy machine):")
            for label, runs in (
                ("bare Flask route", bares),
                ("realistic mix (first scans)", mixes),
                ("the same mix, --baseline-tree", olds),
                ("repeated scans", [repeat]),
            ):
                cpu = median_cpu(runs)
                if cpu:
                    total = sum(cpu.values())
                    print(
                        f"  {label:<32} "
                        + "  ".join(f"{g} {cpu[g]:6.3f}" for g in CPU_GROUPS)
                        + f"  total {total:6.3f} ms"
                        + (f"  ({total / bare_cpu:.1f}x bare)" if runs is not bares else "")
                    )
            if old_ratios:
                r = sorted(old_ratios)[len(old_ratios) // 2]
                gains = sorted(m["rps"] / o["rps"] for m, o in zip(mixes, olds, strict=True))
                print(
                    f"baseline tree mix / bare: {r:.0%} (range {min(old_ratios):.0%}-{max(old_ratios):.0%}); "
                    f"this tree / baseline tree, median of pairs: "
                    f"{gains[len(gains) // 2]:.2f}x (range {gains[0]:.2f}-{gains[-1]:.2f})"
                )
        finally:
            stop_servers(procs)
            for server in [*own_servers, *([own_redis] if own_redis is not None else [])]:
                server.kill()
                server.wait(10)
            drop_database(scratch)


if __name__ == "__main__":
    main()
