"""Console list pages benchmark: producers and lots lists over 20,000 producers and 100,000 lots.

    .venv/bin/python bench/console.py [--producers 20000] [--lots 100000] [--repeat 60]
    .venv/bin/python bench/console.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The registry is bulk-inserted (SQLite in a temp dir, or a fresh PostgreSQL database created and
dropped on the server given), then the pages are rendered through the Flask app as a signed-in
Hà Tĩnh office (all records in its province, so the scope filter keeps every row): first, a middle
and a filtered page of each list, server-paged. Printed beside them, from the same run: a bare page
for people (``/account/``: the layout, the session check, one small query). Target: p95 within
150 ms. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMUNES = ("18418", "18352", "18073")
LEGAL = ("enterprise", "cooperative", "cooperative_group", "household")


def _fill(session, producers: int, lots: int) -> None:  # type: ignore[no-untyped-def]
    """Bulk rows through SQLAlchemy Core (one product per producer, lots spread over products)."""
    from sqlalchemy import insert

    from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product

    snapshot = {"text": "Thôn 1, Xã Phúc Trạch, Tỉnh Hà Tĩnh", "province_code": "42"}
    session.execute(
        insert(Producer),
        [
            {
                "id": i,
                "name": f"Hợp tác xã số {i}",
                "legal_type": LEGAL[i % 4],
                "registration_number": f"B{i:08d}",
                "commune_code": COMMUNES[i % 3],
                "province_code": "42",
                "address_snapshot": snapshot,
            }
            for i in range(1, producers + 1)
        ],
    )
    session.execute(
        insert(Product),
        [
            {"id": i, "producer_id": i, "name": f"Sản phẩm {i}", "group_code": "1.2", "standards": []}
            for i in range(1, producers + 1)
        ],
    )
    session.execute(
        insert(Certificate),
        [
            {
                "product_id": i,
                "stars": 3 + i % 3,
                "criteria_version": "148/QĐ-TTg",
                "authority_name": "UBND tỉnh Hà Tĩnh",
                "authority_level": "province",
                "decision_number": f"{i}/QĐ-UBND",
                "signed_on": date(2025, 9, 15),
                "valid_until": date(2028, 9, 15),
                "state": "active",
            }
            for i in range(1, producers + 1)
        ],
    )
    day = date(2025, 1, 1)
    for start in range(1, lots + 1, 20_000):
        session.execute(
            insert(Lot),
            [
                {
                    "product_id": 1 + i % producers,
                    "lot_code": f"L{i:07d}",
                    "production_date": day + timedelta(days=i % 300),
                    "quantity": 1000 + i % 500,
                    "unit": "hộp",
                    "input_lots": [],
                }
                for i in range(start, min(start + 20_000, lots + 1))
            ],
        )
    session.commit()


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--producers", type=int, default=20_000)
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()

    import sqlalchemy as sa

    from stamp_service import create_app
    from stamp_service.config import Settings
    from stamp_service.domain.access import SYSTEM, Role
    from stamp_service.services import accounts, reference
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        admin_engine = None
        if args.database_url:
            base = args.database_url.rsplit("/", 1)[0]
            name = f"ocop_bench_{uuid.uuid4().hex[:8]}"
            admin_engine = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = f"{base}/{name}"
        else:
            url = f"sqlite:///{tmp}/bench.sqlite3"
        try:
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            with make_session_factory(engine)() as session:
                reference.load_builtin(session, SYSTEM)
                _fill(session, args.producers, args.lots)
                accounts.create_account(
                    session,
                    SYSTEM,
                    name="bench-ht",
                    role=Role.ADMIN,
                    province_code="42",
                    password="bench password 1",
                )
            if engine.dialect.name == "postgresql":
                with engine.connect() as conn:  # statistics, as a live database has them
                    conn.execute(sa.text("ANALYZE"))
                    conn.commit()
            engine.dispose()
            print(
                f"{args.producers:,} producers, {args.lots:,} lots on {url.split(':')[0]} "
                f"(loaded in {time.perf_counter() - started:.1f} s)"
            )
            keys = Path(tmp) / "keys"
            keys.mkdir()
            settings = Settings(
                database_url=url.replace("postgresql://", "postgresql+psycopg://"),
                redis_url=None,
                keys_dir=keys,
                var_dir=Path(tmp) / "var",
                public_base_url="https://TEM.OCOP.LOCAL",
                log_json=False,
                testing=True,
            )
            app = create_app(settings)
            client = app.test_client()
            page = client.get("/signin").get_data(as_text=True)
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post(
                "/signin", data={"name": "bench-ht", "password": "bench password 1", "csrf_token": token}
            )
            assert signed.status_code == 302, signed.status_code
            pages = {
                "bare page (/account/)": "/account/",
                "producers, page 1": "/console/producers/",
                "producers, page 400": "/console/producers/?page=400",
                "producers, commune + 4 stars": "/console/producers/?commune=18418&stars=4",
                "producers, name search": "/console/producers/?q=s%E1%BB%91+1999",
                "lots, page 1": "/console/lots/",
                "lots, 50,000 lots in (keyset)": "/console/lots/?after=50000",
                "lots, code search": "/console/lots/?q=L00999",
            }
            for path in pages.values():  # warm up (templates, statement caches)
                assert client.get(path).status_code == 200, path
            samples: dict[str, list[float]] = {label: [] for label in pages}
            for _ in range(args.repeat):  # interleaved, so load on the machine hits all alike
                for label, path in pages.items():
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    samples[label].append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code == 200
            print(f"{'page':<32} {'median ms':>10} {'p95 ms':>8}")
            for label, values in samples.items():
                print(f"{label:<32} {statistics.median(values):>10.1f} {_p95(values):>8.1f}")
            print("target: list pages p95 <= 150 ms")
            app.extensions["ocop"].close()
        finally:
            if admin_engine is not None:
                with admin_engine.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin_engine.dispose()


if __name__ == "__main__":
    main()
