"""EPCIS export benchmark: a 100,000-stamp request's commissioning; prints numbers, asserts nothing.

    .venv/bin/python bench/epcis.py [--n 100000]

A real request of ``--n`` stamps is issued (SQLite in a temp dir), then the lot's events are
exported through ``services.epcis.query_events`` as the API serves them. Printed beside the
export: the size of the naive alternative, an event listing every serial (``epcList`` of
GS1 Digital Link instance URIs built from the stored serials) and the time to build it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sqlalchemy import select

    from stamp_service.crypto.keyring import KeyRing
    from stamp_service.domain import epcis, serials
    from stamp_service.domain.access import SYSTEM
    from stamp_service.services import epcis as epcis_service
    from stamp_service.services import minting, reference
    from stamp_service.storage.db import make_engine, make_session_factory
    from stamp_service.storage.migrate import upgrade
    from stamp_service.storage.models.stamps import Stamp
    from tests.issuance_helpers import certified
    from tests.stamp_factories import ensure_keyring, make_request

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        upgrade(engine)
        ids = epcis.Identifiers("https://TEM.OCOP.LOCAL")
        with make_session_factory(engine)() as session:
            reference.load_builtin(session, SYSTEM)
            ensure_keyring(session, Path(tmp) / "keys")
            setup = certified(session, lot_quantity=args.n)
            setup.product.gtin = "8936012345674"
            session.commit()
            request = make_request(
                session,
                producer=setup.producer,
                product=setup.product,
                certificate=setup.certificate,
                lot=setup.lot,
                quantity=args.n,
            )
            start = time.perf_counter()
            minting.issue_all(session, request_id=request.id, keyring=KeyRing(Path(tmp) / "keys"))
            print(f"issued {args.n:,} stamps in {time.perf_counter() - start:.1f} s (setup, not measured)")

            query = epcis_service.EventQuery(lot_id=setup.lot.id)
            times, size = [], 0
            for _ in range(args.repeat):
                start = time.perf_counter()
                page = epcis_service.query_events(session, SYSTEM, ids, query)
                body = json.dumps(epcis.query_document(ids, page.events, setup.lot.created_at)).encode()
                times.append(time.perf_counter() - start)
                size = len(body)
            commissioning = next(e for e in page.events if e.get("bizStep") == "commissioning")
            assert commissioning["quantityList"][0]["quantity"] == args.n

            start = time.perf_counter()
            serial_rows = session.scalars(select(Stamp.serial).where(Stamp.request_id == request.id))
            naive = dict(commissioning)
            naive.pop("quantityList")
            naive["epcList"] = [
                f"https://id.gs1.org/01/08936012345674/21/{serials.compact(serials.from_db(s))}"
                for s in serial_rows
            ]
            naive_size = len(json.dumps(naive).encode())
            naive_time = time.perf_counter() - start
        engine.dispose()

    times.sort()
    print(f"{'':34}{'time':>12}{'size':>14}")
    print(f"{'class-level export (this service)':34}{times[len(times) // 2] * 1000:>10.1f} ms{size:>12,} B")
    print(f"{'naive epcList of every serial':34}{naive_time * 1000:>10.1f} ms{naive_size:>12,} B")
    print(
        f"ratio: {naive_size / size:,.0f}x smaller; median of {args.repeat} exports (goal: < 1 s, a few KB)"
    )


if __name__ == "__main__":
    main()
