"""Regenerate migration 0001 from the models (only allowed before 0001 is released).

Usage: .venv/bin/python scripts/regen_initial_migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from stamp_service.storage.db import make_engine
from stamp_service.storage.migrate import MIGRATIONS_DIR, alembic_config

versions = MIGRATIONS_DIR / "versions"
for old in versions.glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{tmp}/gen.sqlite3")
    command.revision(alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001")
(path,) = versions.glob("0001_*.py")
text = path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
text = text.replace(
    "import stamp_service.storage.models.base\n", "import stamp_service.storage.models.base  # noqa: F401\n"
)
path.write_text(text)
print(f"wrote {path.relative_to(Path.cwd())}")
