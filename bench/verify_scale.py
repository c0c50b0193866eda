"""First scans at 100,000 and at 10,000,000 stamps, in one run (issue 13: 10M within 80 % of 100k).

    .venv/bin/python bench/verify_scale.py [--real 40000] [--small 100000] [--large 10000000]
                                           [--duration 5] [--rounds 3] [--connections 16]

The measurement is bench/verify.py's realistic mix (imported from it, not copied): first scans of
distinct stamps, lots of Zipf-like popularity, each request from its own client address in
``X-Forwarded-For``, gunicorn 2 gthread workers x 4 threads on PostgreSQL + Redis, wrk, interleaved
with the bare Flask route in adjacent pairs. It runs twice against the same database:

1. **100k**: ``--real`` signed stamps issued through ``minting.issue_all`` (the real issuance: keys,
   signatures, over ``--lots`` lots of ``--products`` products, Zipf sizes), plus rows made in bulk
   up to ``--small`` stamps; the mix scans the first part of a random permutation of the real ones;
2. **10M**: the table filled in bulk up to ``--large``; the mix scans the next, never-scanned part
   of the same permutation (so the same lots, the same popularity).

**How the table is filled.** Creating 10M signed stamps would take minutes of signing, so the rows
that are never scanned are made by SQL (``INSERT ... SELECT generate_series``) into the real
``stamps`` table: serials are 64-bit values from SHA-512 of a counter (random-looking, the same
signed-BIGINT form as ``domain.serials``), signatures 64 bytes of SHA-512, spread over bulk requests
of ``--bulk-per-request`` stamps, one lot each (copies of a real lot and request, round robin over
the products). The primary key on the serial, which the page's query uses, is maintained row by row
as in issuance (random keys: its pages split as in production). To fill in minutes, the unique
``(request_id, seq)``, the lot index and the composite foreign key are dropped during a fill and
re-created after it from their own catalogue definitions (their keys arrive in order in real
issuance, so a fresh build has their shape; the foreign key is checked for every row when it is
re-added). **Every stamp the benchmark scans is a real issued stamp with a valid signature**; the
bulk rows are never scanned. They were issued before the fill, so their heap rows sit together and
stay cached, which flatters the large table a little (docs/scale.md says so); the primary key's side is
realistic (their serials are random among all the entries).

Each phase starts fresh gunicorn processes (empty per-process caches), warms each route for 2 s,
and ends with ``stamp-service scans flush`` so the scan log's size is real. Printed per phase:
throughput and latency beside the bare route, buffer hits of the stamps table and indexes, and the
sizes (``pg_relation_size``, ``pg_indexes_size``) of stamps, scans, scan counters, requests and
lots, with bytes per row and per index entry. The database is created for the run and dropped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import verify as vb  # noqa: E402  (the mix, wrk, gunicorn: one implementation)
from tests.ports import free_port  # noqa: E402

PG = vb.PG
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
PORTS = range(
    int(os.environ.get("BENCH_PORT_FIRST", "9700")), int(os.environ.get("BENCH_PORT_LAST", "9799")) + 1
)
TABLES = ("stamps", "scans", "scan_counters", "stamp_requests", "lots")


def port_in_range() -> int:
    """A free port of this bench's range (never a random one another session may be using)."""
    return free_port(PORTS)


# --- filling the table --------------------------------------------------------------------------
def _clone_sql(conn: Any, table: str, overrides: dict[str, str], source: str, extra_from: str) -> str:
    """``INSERT INTO table (cols) SELECT ...`` copying every column of ``source`` rows but the id and
    the ``overrides`` (SQL expressions)."""
    import sqlalchemy as sa

    cols = [
        r[0]
        for r in conn.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :t AND column_name <> 'id' ORDER BY ordinal_position"
            ),
            {"t": table},
        )
    ]
    values = [overrides.get(c, f"src.{c}") for c in cols]
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} "
        f"FROM {table} src {extra_from} WHERE src.id = {source}"
    )


def _detach_secondary(conn: Any) -> list[str]:
    """Drop the stamps table's unique (request_id, seq), lot index and composite foreign key for the
    fill; returns the SQL that re-creates them exactly (definitions read from the catalogue).

    The primary key on the random serial stays and is maintained row by row, so its size and shape
    are those of real issuance (random inserts split pages); the other two indexes receive their keys
    in order in real issuance too, so a fresh build has their shape, and re-adding the foreign key
    checks every row once."""
    import sqlalchemy as sa

    constraints = conn.execute(
        sa.text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'stamps'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC"
        )
    ).all()
    indexes = conn.execute(
        sa.text(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = 'stamps'::regclass AND NOT indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = pg_index.indexrelid)"
        )
    ).all()
    for name, _kind, _definition in constraints:
        conn.execute(sa.text(f'ALTER TABLE stamps DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    conn.commit()
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE stamps ADD CONSTRAINT "{name}" {definition}' for name, _kind, definition in constraints
    ]


@dataclass
class Filler:
    """Bulk rows in the real tables: lots and requests copied from real ones, stamps by SQL."""

    db_url: str
    per_request: int
    made: int = 0  # bulk stamps so far
    requests: int = 0  # bulk requests (and lots) so far

    def fill_to(self, total: int) -> float:
        """Add bulk stamps until the table holds ``total``; returns the seconds it took."""
        import sqlalchemy as sa

        from stamp_service.storage.db import make_engine

        engine = make_engine(self.db_url)
        started = time.time()
        with engine.connect() as conn:
            conn.execute(sa.text("SET synchronous_commit = off"))
            conn.execute(sa.text("SET maintenance_work_mem = '256MB'"))
            recreate = _detach_secondary(conn)
            have = conn.execute(sa.text("SELECT count(*) FROM stamps")).scalar_one()
            missing = total - have
            lot_id, request_id, kid = conn.execute(
                sa.text("SELECT lot_id, request_id, kid FROM stamps ORDER BY request_id LIMIT 1")
            ).one()
            products = [r[0] for r in conn.execute(sa.text("SELECT id FROM products ORDER BY id"))]
            conn.commit()
            reported = time.time()
            while missing > 0:
                n = min(self.per_request, missing)
                product = products[self.requests % len(products)]
                tag = f"BULK-{self.requests}"
                self.requests += 1
                new_lot = conn.execute(
                    sa.text(
                        _clone_sql(
                            conn,
                            "lots",
                            {"product_id": str(product), "lot_code": f"'{tag}'", "quantity": str(n)},
                            str(lot_id),
                            "",
                        )
                        + " RETURNING id"
                    )
                ).scalar_one()
                producer = conn.execute(
                    sa.text("SELECT producer_id FROM products WHERE id = :p"), {"p": product}
                ).scalar_one()
                certificate = conn.execute(
                    sa.text("SELECT id FROM certificates WHERE product_id = :p ORDER BY id LIMIT 1"),
                    {"p": product},
                ).scalar_one()
                overrides = {
                    "producer_id": str(producer),
                    "product_id": str(product),
                    "lot_id": str(new_lot),
                    "certificate_id": str(certificate),
                    "quantity_requested": str(n),
                    "quantity_approved": str(n),
                    "issued_count": str(n),
                    "idempotency_key": "NULL",
                }
                clone = _clone_sql(conn, "stamp_requests", overrides, str(request_id), "")
                new_request = conn.execute(sa.text(clone + " RETURNING id")).scalar_one()
                conn.execute(
                    sa.text(
                        "INSERT INTO stamps (serial, request_id, seq, product_id, lot_id, kid, expiry_day, "
                        "signature, pin_hash, pin_first_used_at, issued_at) "
                        "SELECT ('x' || encode(substring(sha512(('s' || :req || '.' || g)::bytea) "
                        "from 1 for 8), 'hex'))::bit(64)::bigint, "
                        ":req, g, :product, :lot, :kid, CURRENT_DATE + 730, "
                        "sha512(('sig' || :req || '.' || g)::bytea), NULL, NULL, now() "
                        "FROM generate_series(1, :n) AS g ON CONFLICT (serial) DO NOTHING"
                    ),
                    {"req": new_request, "product": product, "lot": new_lot, "kid": kid, "n": n},
                )
                conn.commit()
                self.made += n
                missing -= n
                if time.time() - reported > 30:
                    reported = time.time()
                    print(
                        f"  fill: {total - missing:,} stamps, {time.time() - started:.0f} s",
                        file=sys.stderr,
                    )
            for sql in recreate:  # the same definitions, read from the catalogue before the drop
                conn.execute(sa.text(sql))
            conn.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE stamps"))  # as autovacuum would after a large load
            conn.execute(sa.text("ANALYZE stamp_requests"))
            conn.execute(sa.text("ANALYZE lots"))
        engine.dispose()
        return time.time() - started


# --- sizes --------------------------------------------------------------------------------------
def sizes(db_url: str) -> dict[str, Any]:
    """Exact row counts and on-disk sizes of the tables the page reads and the scan log writes."""
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    engine = make_engine(db_url)
    out: dict[str, Any] = {"tables": {}, "indexes": []}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            heap, idx = conn.execute(
                sa.text("SELECT pg_relation_size(:t), pg_indexes_size(:t)"), {"t": table}
            ).one()
            out["tables"][table] = (rows, heap, idx)
        out["indexes"] = conn.execute(
            sa.text(
                "SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = ANY(:tables) ORDER BY t.relname, i.relname"
            ),
            {"tables": list(TABLES[:3])},
        ).all()
    engine.dispose()
    return out


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def show_sizes(label: str, s: dict[str, Any]) -> None:
    print(f"\nsizes at {label}:")
    print(f"  {'table':<16} {'rows':>12} {'heap':>12} {'indexes':>12} {'heap B/row':>11} {'index B/row':>12}")
    for table, (rows, heap, idx) in s["tables"].items():
        per_heap, per_idx = (f"{heap / rows:,.0f}", f"{idx / rows:,.0f}") if rows else ("-", "-")
        print(f"  {table:<16} {rows:>12,} {mb(heap):>12} {mb(idx):>12} {per_heap:>11} {per_idx:>12}")
    for table, index, size in s["indexes"]:
        rows = s["tables"][table][0]
        entry = f"{size / rows:,.1f} B/entry" if rows else ""
        print(f"    index {index:<40} {mb(size):>12}  {entry}")


def buffer_counts(db_url: str) -> tuple[int, int, int, int]:
    """(heap hits, heap reads, index hits, index reads) of the stamps table so far."""
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT heap_blks_hit, heap_blks_read, idx_blks_hit, idx_blks_read "
                "FROM pg_statio_user_tables WHERE relname = 'stamps'"
            )
        ).one()
    engine.dispose()
    return tuple(int(v or 0) for v in row)  # type: ignore[return-value]


LOOKUP_SQL = (  # stamp_status.load_stamp, as the page sends it
    "SELECT s.request_id, s.seq, s.product_id, s.lot_id, s.kid, s.expiry_day, s.issued_at, "
    "s.pin_hash IS NOT NULL, r.stars_at_request, s.signature, c.scans, c.first_at, c.last_at, c.clients, "
    "c.provinces FROM stamps s JOIN stamp_requests r ON r.id = s.request_id "
    "LEFT JOIN scan_counters c ON c.serial = s.serial WHERE s.serial = {serial}"
)


def sample_serials(db_url: str, last_real_request: int, n: int = 300) -> list[int]:
    """``n`` real stamps' serials (the same ones are looked up at every size)."""
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT serial FROM stamps WHERE request_id <= :r ORDER BY md5(serial::text) LIMIT :n"),
            {"r": last_real_request, "n": n},
        )
        out = [r[0] for r in rows]
    engine.dispose()
    return out


def lookup_cost(db_url: str, serials: list[int]) -> dict[str, float]:
    """The page's stamp-row query alone, by EXPLAIN (ANALYZE, BUFFERS): buffers touched and server
    time per lookup (median), and the primary key's B-tree depth (pageinspect). Less disturbed by the
    machine's load than a throughput run: the structural cost of a larger table."""
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    engine = make_engine(db_url)
    times, buffers, reads = [], [], []
    with engine.connect() as conn:
        for serial in serials:
            plan = conn.execute(
                sa.text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + LOOKUP_SQL.format(serial=int(serial)))
            ).scalar_one()[0]
            times.append(float(plan["Execution Time"]))
            buffers.append(int(plan["Plan"]["Shared Hit Blocks"]) + int(plan["Plan"]["Shared Read Blocks"]))
            reads.append(int(plan["Plan"]["Shared Read Blocks"]))
        try:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            depth = conn.execute(sa.text("SELECT level FROM bt_metap('pk_stamps')")).scalar_one() + 1
        except sa.exc.DBAPIError:
            conn.rollback()
            depth = 0
        conn.commit()
    engine.dispose()
    times.sort()
    return {
        "ms": times[len(times) // 2],
        "p90": times[int(len(times) * 0.9)],
        "buffers": sum(buffers) / len(buffers),
        "reads": sum(reads) / len(reads),
        "depth": depth,
    }


def show_lookup(label: str, c: dict[str, float]) -> None:
    depth = f"primary key B-tree {c['depth']:.0f} levels; " if c["depth"] else ""
    print(
        f"{label}: the stamp-row query alone (EXPLAIN ANALYZE, 300 real stamps): {depth}"
        f"{c['buffers']:.1f} buffers per lookup ({c['reads']:.2f} not in shared_buffers), "
        f"server time median {c['ms']:.3f} ms, p90 {c['p90']:.3f} ms"
    )


# --- one phase ----------------------------------------------------------------------------------
@dataclass
class Phase:
    label: str
    bare: dict[str, float]
    mix: dict[str, float]
    ratios: list[float]
    buffers: tuple[int, int, int, int]

    @property
    def ratio(self) -> float:
        return sorted(self.ratios)[len(self.ratios) // 2]


def run_phase(
    label: str, targets: vb.Targets, env: dict[str, str], tmp: Path, args: argparse.Namespace
) -> Phase | None:
    """Fresh servers, warm-up, ``--rounds`` interleaved bare/mix pairs, then the scans flushed."""
    log = tmp / "gunicorn.log"
    procs = []
    before = buffer_counts(env["DATABASE_URL"])
    try:
        app_port = port_in_range()
        procs.append(vb.gunicorn("stamp_service.wsgi:app", app_port, env, log))
        bare_port = port_in_range()
        procs.append(vb.gunicorn("bench.verify:bare_app()", bare_port, env, log))
        app, c, d = f"http://127.0.0.1:{app_port}/", args.connections, args.duration
        bare_args = [str(vb.WRK_THREADS), "0", str(tmp / "bare.txt"), "1", "0"]

        def bare_run(duration: int) -> dict[str, float]:
            url = f"http://127.0.0.1:{bare_port}/bare"
            return vb.wrk(url, duration=duration, connections=c, lua=str(tmp / "targets.lua"), args=bare_args)

        bare_run(2)
        warm = targets.run(app, duration=2, connections=c)
        bares, mixes, ratios = [], [], []
        for i in range(args.rounds):
            expected = max([warm["rps"], *(m["rps"] for m in mixes)])
            if not targets.enough_for(expected, d):
                print(f"{label}: stopping after {i} rounds, {targets.left():,} unscanned real stamps left")
                break
            if i % 2:
                mixes.append(targets.run(app, duration=d, connections=c))
                bares.append(bare_run(d))
            else:
                bares.append(bare_run(d))
                mixes.append(targets.run(app, duration=d, connections=c))
            ratios.append(mixes[-1]["rps"] / bares[-1]["rps"])
            print(
                f"  {label} round: bare {bares[-1]['rps']:.0f} req/s, mix {mixes[-1]['rps']:.0f} req/s "
                f"({ratios[-1]:.0%})",
                file=sys.stderr,
            )
    finally:
        vb.stop_servers(procs)
    after = buffer_counts(env["DATABASE_URL"])
    # A worker stopped in the middle of its flush leaves the flush lock for its 120 s expiry; the
    # servers are gone, so nobody else flushes: free it, and write what they queued.
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).delete("ocop:scan:flush-lock")
    flush = [sys.executable, "-m", "stamp_service", "scans", "flush"]
    out = subprocess.run(flush, env=env, check=True, capture_output=True, text=True, timeout=300)
    print(f"  {label}: stamp-service scans flush: {out.stdout.strip()}", file=sys.stderr)
    if not mixes:
        return None
    counts = tuple(a - b for a, b in zip(after, before, strict=True))
    return Phase(label, vb.median(bares), vb.median(mixes), ratios, counts)  # type: ignore[arg-type]


def show_phase(p: Phase) -> None:
    vb.show(f"{p.label}: bare Flask route (baseline)", p.bare)
    vb.show(f"{p.label}: first scans of distinct stamps", p.mix)
    hh, hr, ih, ir = p.buffers
    print(
        f"{p.label}: mix / bare {p.ratio:.0%} (median of {len(p.ratios)} pairs, "
        f"{min(p.ratios):.0%}-{max(p.ratios):.0%}); stamps buffers during the phase: "
        f"heap {hh:,} hits / {hr:,} reads, indexes {ih:,} hits / {ir:,} reads "
        "(reads = not in shared_buffers: the OS page cache or the disk)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", type=int, default=40_000, help="signed stamps issued for real (scanned)")
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--bulk-per-request", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not args.real < args.small < args.large:
        raise SystemExit("--real < --small < --large")

    import redis
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    scratch = vb.create_database("ocop_scale")
    db_url = scratch.url
    redis.Redis.from_url(REDIS).flushdb()
    run_started = time.time()
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            started = time.time()
            mix = vb.make_data(db_url, tmp / "keys", stamps=args.real, lots=args.lots, products=args.products)
            issued_s = time.time() - started
            engine = make_engine(db_url)
            with engine.connect() as conn:
                last_real_request = conn.execute(sa.text("SELECT max(id) FROM stamp_requests")).scalar_one()
            engine.dispose()
            sample = sample_serials(db_url, last_real_request)
            (tmp / "targets.lua").write_text(vb.LUA_TARGETS)
            (tmp / "bare.txt").write_text("/bare\t127.0.0.1\n")
            targets = vb.Targets(mix.order, tmp / "mix.txt", tmp / "targets.lua")
            filler = Filler(db_url, args.bulk_per_request)
            small_s = filler.fill_to(args.small)
            print(
                f"data: {args.real:,} real signed stamps issued over {args.lots:,} lots of {args.products} "
                f"products (Zipf sizes, largest lot {mix.lot_sizes[0]:,}) in {issued_s:.0f} s; "
                f"filled in bulk by SQL to {args.small:,} in {small_s:.0f} s "
                f"({args.small - args.real:,} bulk rows in requests of {args.bulk_per_request:,})"
            )
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "REDIS_URL": REDIS,
                "OCOP_KEYS_DIR": str(tmp / "keys"),
                "OCOP_VAR_DIR": tmp_dir,
                "OCOP_TRUSTED_PROXIES": "1",
                "OCOP_LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT),
            }
            print(
                f"gunicorn 2 workers x 4 threads (gthread), PostgreSQL + Redis, wrk -t{vb.WRK_THREADS} "
                f"-c{args.connections} -d{args.duration}s, {args.rounds} interleaved pairs per size, "
                f"fresh servers per size, {os.cpu_count()} CPUs shared by everything"
            )
            small = run_phase(f"{args.small // 1000:,}k", targets, env, tmp, args)
            show_sizes(f"{args.small:,} stamps", sizes(db_url))
            small_lookup = lookup_cost(db_url, sample)
            large_s = filler.fill_to(args.large)
            print(
                f"\nfilled in bulk by SQL from {args.small:,} to {args.large:,} stamps in {large_s:.0f} s "
                f"({(args.large - args.small) / large_s:,.0f} rows/s: primary key maintained row by row, "
                "the (request_id, seq) and lot indexes rebuilt and the foreign key re-checked after, "
                "then VACUUM ANALYZE)"
            )
            large = run_phase(f"{args.large / 1e6:g}M", targets, env, tmp, args)
            show_sizes(f"{args.large:,} stamps", sizes(db_url))
            large_lookup = lookup_cost(db_url, sample)
            print()
            for phase in (small, large):
                if phase:
                    show_phase(phase)
            show_lookup(f"{args.small // 1000:,}k", small_lookup)
            show_lookup(f"{args.large / 1e6:g}M", large_lookup)
            if small and large:
                raw = large.mix["rps"] / small.mix["rps"]
                norm = large.ratio / small.ratio
                print(
                    f"\n10M / 100k first-scan throughput: {raw:.0%} raw, {norm:.0%} as a share of each "
                    "phase's own bare route (the fairer figure on a shared machine); goal >= 80%. "
                    f"p50 {small.mix['p50']:.1f} -> {large.mix['p50']:.1f} ms, "
                    f"p99 {small.mix['p99']:.1f} -> {large.mix['p99']:.1f} ms. "
                    f"{targets.next:,} of {targets.total:,} real stamps scanned, each once."
                )
            print(f"total run time {time.time() - run_started:.0f} s")
    finally:
        vb.drop_database(scratch)


if __name__ == "__main__":
    main()
