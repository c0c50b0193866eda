"""Files the service writes on its own host: owner-only, whatever the process's umask.

The SQLite database holds accounts' token hashes and every stamp; the demo sheet holds scratch
PINs. Folders are created 0700 and files 0600, so another user of the host reads none of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only; an existing folder of ours is narrowed."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists owner-only before someone else's code (SQLite) creates it."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    if path.stat().st_uid == os.getuid():
        path.chmod(FILE_MODE)
    return path


def open_private(path: Path) -> BinaryIO:
    """Open ``path`` for writing (truncated), created owner-only."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "wb")
