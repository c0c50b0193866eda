"""The office's stamp request queue at scale (issue 10: list pages within 150 ms at p95).

A temporary SQLite database gets 20,000 producers (one province), 20,000 products with a
certificate, 100,000 lots and 100,000 stamp requests (2 % waiting), inserted in bulk. Then the
signed-in queue page (waiting first), a state filter and a late page are requested through the
real app, beside a bare page (the sign-in form) from the same run. Prints p50 and p95 in ms.

Usage: .venv/bin/python bench/console_queue.py [--producers 20000 --lots-per-product 5 --runs 40]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from stamp_service import create_app
from stamp_service.config import Settings
from stamp_service.domain.access import SYSTEM, Role
from stamp_service.services import accounts, reference
from stamp_service.storage.db import make_engine, make_session_factory
from stamp_service.storage.migrate import upgrade
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest

PROVINCE, COMMUNE = "42", "18418"
PASSWORD = "bench password 1"


def load(url: str, producers: int, lots_per_product: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session:
        reference.load_builtin(session, SYSTEM)
        accounts.create_account(
            session, SYSTEM, name="bench-office", role=Role.ADMIN, province_code=PROVINCE, password=PASSWORD
        )
        rows = range(1, producers + 1)
        session.execute(
            insert(Producer),
            [
                {
                    "id": i,
                    "name": f"HTX số {i}",
                    "legal_type": "cooperative",
                    "commune_code": COMMUNE,
                    "province_code": PROVINCE,
                    "address_snapshot": {},
                    "created_at": now,
                }
                for i in rows
            ],
        )
        session.execute(
            insert(Product),
            [
                {"id": i, "producer_id": i, "name": f"Sản phẩm {i}", "group_code": "1.1", "created_at": now}
                for i in rows
            ],
        )
        session.execute(
            insert(Certificate),
            [
                {
                    "id": i,
                    "product_id": i,
                    "stars": 4,
                    "criteria_version": "148/QĐ-TTg",
                    "authority_name": "UBND tỉnh Hà Tĩnh",
                    "authority_level": "province",
                    "decision_number": f"{i}/QĐ-UBND",
                    "signed_on": date(2025, 9, 15),
                    "valid_until": date(2028, 9, 15),
                    "state": "active",
                    "created_at": now,
                }
                for i in rows
            ],
        )
        lot_rows, request_rows = [], []
        for i in rows:
            for k in range(lots_per_product):
                lot_id = (i - 1) * lots_per_product + k + 1
                lot_rows.append(
                    {
                        "id": lot_id,
                        "product_id": i,
                        "lot_code": f"L{lot_id}",
                        "production_date": date(2026, 1, 1),
                        "quantity": 100,
                        "unit": "hộp",
                        "input_lots": [],
                        "created_at": now,
                    }
                )
                waiting = lot_id % 50 == 0
                request_rows.append(
                    {
                        "id": lot_id,
                        "producer_id": i,
                        "product_id": i,
                        "lot_id": lot_id,
                        "certificate_id": i,
                        "stars_at_request": 4,
                        "quantity_requested": 100,
                        "quantity_approved": None if waiting else 100,
                        "with_pin": False,
                        "form": "opaque",
                        "state": "requested" if waiting else "issued",
                        "issued_count": 0 if waiting else 100,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Lot), lot_rows)
        session.execute(insert(StampRequest), request_rows)
        session.commit()
    engine.dispose()


def timed(client, path: str, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        resp = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, (path, resp.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, default=20_000)
    parser.add_argument("--lots-per-product", type=int, default=5)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        start = time.perf_counter()
        load(url, args.producers, args.lots_per_product)
        total = args.producers * args.lots_per_product
        took = time.perf_counter() - start
        print(f"loaded {args.producers} producers, {total} lots and requests in {took:.1f} s")
        (Path(tmp) / "keys").mkdir()
        app = create_app(
            Settings(
                database_url=url,
                redis_url=None,
                public_base_url="https://tem.ocop.local",
                keys_dir=Path(tmp) / "keys",
                var_dir=Path(tmp) / "var",
                testing=True,
            )
        )
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").get_data(as_text=True))
        assert token is not None
        client.post(
            "/signin", data={"name": "bench-office", "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert client.get("/console/").status_code == 200
        pages = {
            "bare page (/signin)": "/signin",
            "queue, waiting first": "/console/requests/",
            "queue, state=issued": "/console/requests/?state=issued",
            "queue, page 100": "/console/requests/?page=100",
            "request page": "/console/requests/50",
        }
        print(f"{'page':<28}{'p50 ms':>10}{'p95 ms':>10}   ({args.runs} runs each)")
        for label, path in pages.items():
            timed(client, path, 3)  # warm up
            p50, p95 = timed(client, path, args.runs)
            print(f"{label:<28}{p50:>10.1f}{p95:>10.1f}")


if __name__ == "__main__":
    main()
