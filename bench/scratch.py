"""A PostgreSQL database of its own for one bench run, dropped after it: one place for every bench.

scratch = create_database("ocop_bench")
try:
    ... scratch.url ...
finally:
    drop_database(scratch)
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

PG = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Scratch:
    """The run's database: its name, its URL (psycopg driver) and an AUTOCOMMIT engine on the
    server's own database (for ``pg_stat_activity``, sizes and the final ``DROP``)."""

    name: str
    url: str
    admin: Any  # sqlalchemy Engine (imported lazily, as every bench does)


def create_database(prefix: str) -> Scratch:
    """A new, empty database named ``<prefix>_<8 hex>`` on ``BENCH_DATABASE_URL``'s server."""
    import sqlalchemy as sa

    from stamp_service.storage.db import make_engine

    base = sa.make_url(PG.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return Scratch(name, base.set(database=name).render_as_string(hide_password=False), admin)


def drop_database(scratch: Scratch) -> None:
    """Drop the run's database, whoever is still connected to it."""
    import sqlalchemy as sa

    with scratch.admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.name}" WITH (FORCE)'))
    scratch.admin.dispose()
