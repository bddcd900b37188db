"""The dashboard's log file rotates and every file it writes stays private (0600)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from shiptrack_tui.tui.log_file import log_to_file


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    old_umask = os.umask(0o022)  # the usual umask: plain open() would make 0644 files
    try:
        yield
    finally:
        os.umask(old_umask)
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_log_rotates_keeping_three_old_files_all_0600(tmp_path: Path, restore_logging: None) -> None:
    db = tmp_path / "st.db"
    old = tmp_path / "st.db.log"
    old.write_text("left by an older version\n")
    old.chmod(0o644)
    path = log_to_file(db, max_bytes=2_000, backups=3)
    assert path == old and mode(path) == 0o600
    log = logging.getLogger("shiptrack.test")
    for n in range(400):  # about 30 kB: many rotations
        log.info("check %d of a monitor named api went fine", n)
    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("st.db.log"))
    assert files == ["st.db.log", "st.db.log.1", "st.db.log.2", "st.db.log.3"]
    for name in files:
        assert mode(tmp_path / name) == 0o600, name
        assert (tmp_path / name).stat().st_size <= 2_000
    assert "check 399 " in path.read_text()  # the newest line is in the current file


def test_the_dashboard_log_has_the_default_limits(tmp_path: Path, restore_logging: None) -> None:
    path = log_to_file(tmp_path / "st.db")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (5 * 1024 * 1024, 3)
    logging.getLogger("shiptrack.engine").info("hello")
    handler.flush()
    assert "hello" in path.read_text() and mode(path) == 0o600


def test_a_directory_where_the_log_goes_is_one_line_and_exit_1(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from shiptrack_tui.cli import main

    config = tmp_path / "shiptrack.toml"
    config.write_text('[[monitor]]\nname = "a"\nurl = "http://127.0.0.1:9/"\n')
    (tmp_path / "st.db.log").mkdir()
    code = main(["--config", str(config), "--db", str(tmp_path / "st.db")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "st.db.log" in err and "Is a directory" in err
