"""A database ShipTrack cannot use is one line naming the path and what to do, exit 1: never a traceback.

Every command runs in its own process, as an operator would run it, against each kind of unusable
database. Tests run as root here, so "a folder that cannot be created" is a regular file where a
parent folder should be (root ignores permission bits).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from receiver import Receiver

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.storage import Store


def garbage(tmp: Path) -> Path:
    path = tmp / "st.db"
    path.write_bytes(os.urandom(8192))
    return path


def directory(tmp: Path) -> Path:
    path = tmp / "st.db"
    path.mkdir()
    return path


def folder_cannot_be_created(tmp: Path) -> Path:
    (tmp / "data").write_text("a file where the database's folder should be\n")
    return tmp / "data" / "shiptrack" / "st.db"


def lock_cannot_be_made(tmp: Path) -> Path:
    """A good database whose lock file's place is taken by a folder."""
    path = tmp / "st.db"
    store = Store.open(path)
    try:
        store.sync_monitors([MonitorSpec(name="api", url="http://127.0.0.1:9/")], 0.0)
    finally:
        store.close()
    (tmp / "st.db.lock").mkdir()
    return path


DB_KINDS: dict[str, Callable[[Path], Path]] = {
    "random-bytes": garbage,
    "directory": directory,
    "folder-cannot-be-created": folder_cannot_be_created,
}
KINDS = {**DB_KINDS, "lock-cannot-be-made": lock_cannot_be_made}

# Commands that read or write the database; they never take the engine's lock.
DB_COMMANDS = {
    "status": ["status"],
    "status-json": ["status", "--json"],
    "incidents": ["incidents"],
    "ack": ["ack", "1", "--note", "on it"],
    "note": ["note", "1", "looking"],
    "silence": ["silence", "api", "--for", "1h"],
    "unsilence": ["unsilence", "api"],
}
# Commands that run an engine: they take the lock, then open the database.
ENGINE_COMMANDS = {
    "daemon": ["--daemon"],
    "dashboard": [],
    "demo-daemon": ["--demo", "--daemon"],
    "demo-dashboard": ["--demo"],
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture
def config(tmp_path: Path, receiver: Receiver) -> Path:
    path = tmp_path / "shiptrack.toml"
    path.write_text(f'[notify]\nurls = ["{receiver.url("hook")}"]\n\n'
                    '[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    return path


def shiptrack(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # stdin is not a terminal: a dashboard that got as far as starting would hang until the timeout.
    return subprocess.run(
        [sys.executable, "-m", "shiptrack_tui", *args, "--config", str(config), "--db", str(db)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=config.parent,
    )


def assert_one_line_naming(result: subprocess.CompletedProcess[str], db: Path) -> None:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert result.returncode == 1, result.stderr
    line = lines[0]
    assert line.startswith("shiptrack: ") and str(db) in line
    assert "--db" in line or "remove or rename" in line  # says what to do


@pytest.mark.parametrize("kind", DB_KINDS)
@pytest.mark.parametrize("command", DB_COMMANDS)
def test_database_commands_say_one_line_and_exit_1(tmp_path: Path, config: Path, command: str,
                                                   kind: str) -> None:
    db = DB_KINDS[kind](tmp_path)
    assert_one_line_naming(shiptrack(config, db, *DB_COMMANDS[command]), db)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ENGINE_COMMANDS)
def test_engine_commands_say_one_line_and_exit_1(tmp_path: Path, config: Path, command: str,
                                                 kind: str) -> None:
    db = KINDS[kind](tmp_path)
    assert_one_line_naming(shiptrack(config, db, *ENGINE_COMMANDS[command]), db)


def test_a_lock_file_that_cannot_be_made_does_not_stop_reading(tmp_path: Path, config: Path) -> None:
    """Only an engine takes the lock: status still reads the (good) database beside it."""
    db = lock_cannot_be_made(tmp_path)
    result = shiptrack(config, db, "status")
    assert (result.returncode, result.stderr) == (0, "")
    assert "api" in result.stdout


def test_an_attached_dashboard_says_one_line_too(tmp_path: Path, config: Path) -> None:
    """A daemon holds the lock (here: this test), so the dashboard would attach as a viewer."""
    from shiptrack_tui.lock import EngineLock

    db = garbage(tmp_path)
    with EngineLock(db):
        result = shiptrack(config, db)
    assert_one_line_naming(result, db)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "args",
    [["check-config"], ["notify-test"], ["monitor", "add", "--name", "web", "--url", "http://127.0.0.1:9/w"]],
    ids=["check-config", "notify-test", "monitor-add"],
)
def test_commands_that_never_open_the_database_are_unaffected(tmp_path: Path, config: Path,
                                                              receiver: Receiver, args: list[str],
                                                              kind: str) -> None:
    db = KINDS[kind](tmp_path)
    result = shiptrack(config, db, *args)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
