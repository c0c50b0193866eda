"""Alembic environment: the engine comes from ``stamp_service.storage.migrate``.

SQLite alters a table by copying it into a new one and dropping the old (Alembic's batch
mode); with foreign keys enforced, dropping a referenced table fails. So on SQLite the
migrations run with enforcement off and ``PRAGMA foreign_key_check`` must find nothing
before the transaction commits (the documented SQLite procedure for schema changes).
"""

from __future__ import annotations

from typing import Any

from alembic import context

from stamp_service.storage.models import Base

config = context.config
engine = config.attributes["engine"]


def _sqlite_foreign_keys(connection: Any, on: bool) -> None:
    """Must run outside a transaction: SQLite ignores this pragma inside one."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, True)
