"""Write the next migration from the difference between the models and the migrations so far.

Usage: .venv/bin/python scripts/new_migration.py "what changes and why"

Released migrations are never edited: each schema change is a new revision
(``tests/integration/test_migrations.py`` checks that the chain builds the models' schema on
SQLite and PostgreSQL). Review the generated file: autogenerate misses renames and data moves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from stamp_service.storage.db import make_engine
from stamp_service.storage.migrate import alembic_config, upgrade

if len(sys.argv) != 2 or not sys.argv[1].strip():
    raise SystemExit(__doc__)
with tempfile.TemporaryDirectory() as tmp:
    engine = make_engine(f"sqlite:///{tmp}/gen.sqlite3")
    config = alembic_config(engine)
    upgrade(engine)
    # Revision ids start with a number ("0004_gs1" from parallel branches): the next is one more
    # than the highest number used so far.
    scripts = ScriptDirectory.from_config(config)
    used = [int(r.revision.split("_")[0]) for r in scripts.walk_revisions()]
    rev_id = f"{max(used, default=0) + 1:04d}"
    script = command.revision(config, message=sys.argv[1], autogenerate=True, rev_id=rev_id)
print(f"wrote {Path(script.path).relative_to(Path.cwd())}" if script else "nothing to write")  # type: ignore[union-attr]
