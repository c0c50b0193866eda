"""Run Alembic migrations from code (no alembic.ini needed): ``stamp-service migrate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def prepare(runtime: "Runtime") -> "Iterator[str]":  # noqa: UP037
    """Embedded start-up step: migrate the SQLite file."""
    upgrade(runtime.engine)
    yield f"database ready ({runtime.engine.url.render_as_string(hide_password=True)})"


if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator

    from stamp_service.runtime import Runtime
