"""`shiptrack monitor rename`: the file keeps its comments, and a real engine moves the history to
the new name; what cannot be renamed says why and writes nothing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from storage_helpers import Feed, check
from test_cli_commands import run
from waiting import wait_for

from shiptrack_tui.config import load_config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.storage import Store

CONFIG = """\
# Two monitors.
[[monitor]]
name = "api"   # the public API
url = "http://127.0.0.1:9/health"
interval = "1h"

[[monitor]]
name = "shop"
url = "http://127.0.0.1:9/shop"
interval = "1h"
"""


def _seed(db: Path, *names: str) -> None:
    """Three stored checks under each name, an hour ago."""
    store = Store.open(db)
    try:
        store.sync_monitors([MonitorSpec(name, f"http://127.0.0.1:9/{name}") for name in names], time.time())
        start = time.time() - 3600
        for name in names:
            feed = Feed(name)
            store.commit_batch([feed.write(check(name, start + i * 60.0)) for i in range(3)])
    finally:
        store.close()


def _rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


CHECKS_BY_NAME = ('SELECT m.name, count(*) FROM "check" c JOIN monitor m ON m.id = c.monitor_id '
                  "GROUP BY m.name")


def test_rename_keeps_the_comments_and_the_engine_moves_the_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = tmp_path / "config.toml", tmp_path / "st.db"
    cfg.write_text(CONFIG)
    _seed(db, "api", "shop")
    code, out, err = run(capsys, "monitor", "rename", "api", "public-api", "--config", str(cfg),
                         "--db", str(db))
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"renamed monitor 'api' to 'public-api' in {cfg}; its history goes with it"
    assert cfg.read_text() == CONFIG.replace('name = "api"   # the', 'name = "public-api"   # the')
    assert _rows(db, "SELECT kind, monitor, note, applied_at FROM action") == [
        ("rename", "api", "public-api", None)]

    store = Store.open(db)
    handle = EngineThread(Engine(load_config(cfg), store, send_notifications=False))
    handle.start()
    try:
        wait_for(lambda: _rows(db, "SELECT applied_at IS NOT NULL FROM action") == [(1,)])
    finally:
        handle.stop()
        store.close()
    counts = dict(_rows(db, CHECKS_BY_NAME))
    assert "api" not in counts and counts["public-api"] >= 3 and counts["shop"] >= 3


def test_a_new_name_with_a_history_of_its_own_keeps_both(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = tmp_path / "config.toml", tmp_path / "st.db"
    cfg.write_text(CONFIG)
    _seed(db, "api", "old-api")  # a monitor once called old-api, removed from the file since
    code, out, _ = run(capsys, "monitor", "rename", "api", "old-api", "--config", str(cfg), "--db", str(db))
    assert code == 0
    assert out.splitlines()[0] == (f"renamed monitor 'api' to 'old-api' in {cfg}; 'old-api' has a history "
                                   "of its own, so 'api''s stays under the old name")
    assert _rows(db, "SELECT count(*) FROM action") == [(0,)]


def test_what_cannot_be_renamed_says_why_and_writes_nothing(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg, db = tmp_path / "config.toml", tmp_path / "st.db"
    cfg.write_text(CONFIG)
    _seed(db, "api")
    code, out, err = run(capsys, "monitor", "rename", "zz", "yy", "--config", str(cfg), "--db", str(db))
    assert (code, out) == (2, "") and err.strip() == f'no monitor named "zz" in {cfg}'
    code, out, err = run(capsys, "monitor", "rename", "api", "shop", "--config", str(cfg), "--db", str(db))
    assert (code, out) == (2, "")
    assert err.strip() == f"shiptrack: {cfg} already has a monitor named 'shop'; names must be unique"
    code, _out, err = run(capsys, "monitor", "rename", "api", "api", "--config", str(cfg), "--db", str(db))
    assert code == 2 and err.strip() == "shiptrack: 'api' already has that name"
    assert cfg.read_text() == CONFIG
    assert _rows(db, "SELECT count(*) FROM action") == [(0,)]
