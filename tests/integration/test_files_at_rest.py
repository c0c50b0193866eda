"""Files the service writes are owner-only; a key write that fails leaves no temporary file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from stamp_service import create_app
from stamp_service.cli import main
from stamp_service.config import Settings
from stamp_service.serve import prepare_embedded


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)  # the usual default: without care, files come out world-readable
    yield
    os.umask(old)


def test_the_embedded_default_writes_owner_only_files(tmp_path: Path, umask_022):
    var = tmp_path / "var"
    settings = Settings(
        database_url=f"sqlite:///{var / 'ocop.sqlite3'}",
        redis_url=None,
        keys_dir=tmp_path / "keys",
        var_dir=var,
        public_base_url="https://TEM.OCOP.LOCAL",
        log_json=False,
    )
    (tmp_path / "keys").mkdir()
    app = create_app(settings)
    rt = app.extensions["ocop"]
    try:
        lines = list(prepare_embedded(rt))
    finally:
        rt.close()
    assert (var / "demo-sheet.pdf").exists(), lines
    assert (var / "ocop.sqlite3").exists()
    written = [var, *var.rglob("*")]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, loose
    assert modes["var"] == 0o700 and modes["demo-sheet.pdf"] == 0o600 and modes["ocop.sqlite3"] == 0o600
    keys = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in (tmp_path / "keys").iterdir()}
    assert keys and all(mode == "0o600" for mode in keys.values()), keys


def test_keys_rotate_on_a_full_disk_fails_cleanly_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    env = {
        "OCOP_KEYS_DIR": str(keys_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "OCOP_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": "",
    }
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"], env=env).exit_code == 0
    assert runner.invoke(main, ["keys", "create"], env=env).exit_code == 0
    before = sorted(p.name for p in keys_dir.iterdir())

    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(keys_dir)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full)
    for _ in range(3):
        result = runner.invoke(main, ["keys", "rotate", "--force"], env=env)
        assert result.exit_code != 0
        assert "No space left on device" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    assert sorted(p.name for p in keys_dir.iterdir()) == before
