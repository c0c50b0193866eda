"""Issuance benchmark: prints numbers beside their baseline from the same run; asserts nothing.

    .venv/bin/python bench/issue.py --db both --n 20000 --big 100000

* baseline: raw Ed25519 signatures/s of ``cryptography`` on a stamp-sized message;
* stamps allocated + signed + stored per second through ``minting.issue_all`` (SQLite, PostgreSQL);
* one ``--big`` request on PostgreSQL (goal: 100,000 stamps in < 30 s), with peak memory;
* streaming that request's PDF (stamps/s into the PDF, peak memory; goal: flat, < 250 MB).

Each measured phase runs in a fresh spawned process, so its peak RSS is its own. PostgreSQL is
``BENCH_DATABASE_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres); a scratch database
is created and dropped.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def rss_mb() -> float:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return rss_mb()


def raw_signing(n: int) -> float:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    msg = b"OCOP-STAMP-v1\x00" + os.urandom(30)
    start = time.perf_counter()
    for _ in range(n):
        key.sign(msg)
    return n / (time.perf_counter() - start)


def _pg(base: str, dbname: str) -> str:
    import sqlalchemy as sa

    url = sa.make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database=dbname).render_as_string(hide_password=False)


def prepare(db_url: str, keys_dir: Path, quantity: int) -> int:
    """A migrated database with one approved request of ``quantity`` stamps; returns its id."""
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import reference
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.migrate import upgrade
    from tests.issuance_helpers import certified
    from tests.stamp_factories import ensure_keyring, make_request

    engine = make_engine(db_url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
        ensure_keyring(session, keys_dir)
        s = certified(session, lot_quantity=quantity)
        rid = make_request(
            session,
            producer=s.producer,
            product=s.product,
            certificate=s.certificate,
            lot=s.lot,
            quantity=quantity,
        ).id
    engine.dispose()
    return rid


def _issue(db_url: str, keys_dir: str, rid: int, trace: bool, out: Any) -> None:
    from stamp_service.crypto.keyring import KeyRing
    from stamp_service.services import minting
    from stamp_service.storage.db import make_engine, make_session_factory

    engine = make_engine(db_url)
    ring = KeyRing(Path(keys_dir))
    with make_session_factory(engine)() as session:
        ring.signer(session)  # load the key outside the timing
        base = current_rss_mb()
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        result = minting.issue_all(session, request_id=rid, keyring=ring)
        elapsed = time.perf_counter() - start
        peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    engine.dispose()
    out.put(
        {
            "n": result.issued_total,
            "seconds": elapsed,
            "rss_mb": rss_mb(),
            "base_rss_mb": base,
            "tracemalloc_mb": peak_py,
        }
    )


def _pdf(db_url: str, keys_dir: str, rid: int, trace: bool, out: Any) -> None:
    from stamp_service.crypto.keyring import KeyRing
    from stamp_service.render.pdf import render_pdf
    from stamp_service.services import print_files
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.models.stamps import StampRequest

    engine = make_engine(db_url)
    ring = KeyRing(Path(keys_dir))
    factory = make_session_factory(engine)
    with factory() as session:
        request = session.get(StampRequest, rid)
        assert request is not None
        source = print_files._label_source(session, request, "https://TEM.OCOP.LOCAL")
        base = current_rss_mb()
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        size = 0
        for chunk in render_pdf(print_files.iter_labels(factory, source, ring)):
            size += len(chunk)
        elapsed = time.perf_counter() - start
        peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    engine.dispose()
    out.put(
        {
            "n": source.count,
            "seconds": elapsed,
            "bytes": size,
            "rss_mb": rss_mb(),
            "base_rss_mb": base,
            "tracemalloc_mb": peak_py,
        }
    )


def _memory(r: dict[str, Any]) -> str:
    text = f"peak RSS {r['rss_mb']:.0f} MB (before the run {r['base_rss_mb']:.0f} MB)"
    if r["tracemalloc_mb"]:
        text += f"; tracemalloc peak {r['tracemalloc_mb']:.1f} MB"
    return text


def in_child(fn: Any, *args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=fn, args=(*args, out))
    proc.start()
    result = out.get(timeout=900)
    proc.join()
    return result  # type: ignore[no-any-return]


class Scratch:
    """A throw-away database: an SQLite file or a PostgreSQL database created for the run."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.admin: Any = None
        if kind == "sqlite":
            self.url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}"
        else:
            import sqlalchemy as sa

            from stamp_service.storage.db import make_engine

            base = os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT)
            self.name = f"ocop_bench_{uuid.uuid4().hex[:8]}"
            self.admin = make_engine(_pg(base, "postgres"), isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
            self.url = _pg(base, self.name)

    def drop(self) -> None:
        if self.admin is not None:
            import sqlalchemy as sa

            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=20_000, help="stamps per throughput run")
    parser.add_argument("--big", type=int, default=100_000, help="the big PostgreSQL request (0: skip)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()

    raw = raw_signing(max(5000, args.n))
    print(f"baseline  raw Ed25519 signatures (cryptography): {raw:,.0f}/s per core")
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for kind in kinds:
            db = Scratch(kind, tmp)
            try:
                keys = tmp / f"keys-{kind}"
                rid = prepare(db.url, keys, args.n)
                r = in_child(_issue, db.url, str(keys), rid, False)
                rate = r["n"] / r["seconds"]
                print(
                    f"{kind:<9} issue_all {r['n']:,} stamps: {r['seconds']:.2f} s = {rate:,.0f} stamps/s "
                    f"({rate / raw:.0%} of raw signing)"
                )
                if kind == "postgres" and args.big:
                    rid = prepare(db.url, keys, args.big)
                    r = in_child(_issue, db.url, str(keys), rid, args.tracemalloc)
                    rate = r["n"] / r["seconds"]
                    print(
                        f"postgres  {r['n']:,}-stamp request: {r['seconds']:.1f} s (goal < 30 s) = "
                        f"{rate:,.0f} stamps/s ({rate / raw:.0%} of raw); {_memory(r)}"
                    )
                    p = in_child(_pdf, db.url, str(keys), rid, args.tracemalloc)
                    prate = p["n"] / p["seconds"]
                    print(
                        f"postgres  PDF of {p['n']:,} stamps (read+rendered): {p['seconds']:.1f} s = "
                        f"{prate:,.0f} stamps/s on one core, {p['bytes'] / 2**20:.0f} MB; {_memory(p)}"
                    )
            finally:
                db.drop()


if __name__ == "__main__":
    main()
