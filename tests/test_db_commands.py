"""`shiptrack db info` and `shiptrack db vacuum` on real database files."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
from storage_helpers import Feed, check

from shiptrack_tui.cli import main
from shiptrack_tui.lock import EngineLock
from shiptrack_tui.report import iso
from shiptrack_tui.storage import Retention, Store
from shiptrack_tui.storage.codec import to_ms

DAY = 86400.0
FIXTURES = Path(__file__).parent / "fixtures"


def _config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _seed(path: Path, days: int, every: float = 600.0) -> float:
    """`days` of checks ending now for one monitor; returns the first check's time."""
    store = Store.open(path)
    feed = Feed("api")
    first = (time.time() - days * DAY) // 3600 * 3600
    store.commit_batch([feed.write(check("api", first + i * every)) for i in range(int(days * DAY / every))])
    store.close()
    return first


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_db_info_reads_beside_a_writer_and_says_what_retention_removes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shiptrack.db"
    first = _seed(db, days=5)
    config = _config(tmp_path, '[storage]\nkeep_raw = "2d"\n')
    daemon = sqlite3.connect(db, isolation_level=None)
    daemon.execute("BEGIN IMMEDIATE")  # a daemon in the middle of a write
    daemon.execute("UPDATE monitor SET last_error = 'x'")
    before = _digest(db)
    assert main(["db", "info", "--json", "--db", str(db), "--config", str(config)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert _digest(db) == before  # read-only: the file is untouched
    daemon.execute("ROLLBACK")
    daemon.close()

    assert info["auto_vacuum"] == "incremental" and info["schema_version"] >= 3
    assert info["retention_s"]["keep_raw"] == 2 * DAY
    checks = info["tables"]["check"]
    assert checks["rows"] == 5 * 144
    assert checks["oldest"] == iso(first)
    store = Store.open(db)
    cutoff = Retention(raw=2 * DAY).raw_cutoff_ms(time.time())
    expected = store._conn().execute('SELECT COUNT(*) FROM "check" WHERE at_ms < ?', (cutoff,)).fetchone()[0]
    assert checks["prune_removes"] == expected > 0
    assert store.prune(time.time(), Retention(raw=2 * DAY), max_rows=100_000) >= expected
    store.close()
    assert set(info["tables"]) >= {"check", "rollup (hourly)", "rollup (daily)", "incident", "outbox"}


def test_db_info_text_names_free_pages_and_the_way_to_reclaim_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shiptrack.db"
    _seed(db, days=1)
    assert main(["db", "info", "--db", str(db), "--config", str(tmp_path / "none.toml")]) == 0
    out = capsys.readouterr().out
    assert "auto_vacuum incremental: the engine returns them" in out
    assert "retention: raw checks 2d, hourly rollups 32d, daily rollups 180d, resolved incidents 180d" in out
    assert any(line.startswith("check ") and " 144 " in line for line in out.splitlines())


def test_db_info_text_shows_the_oldest_data_in_the_display_zone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shiptrack.db"
    _seed(db, days=1)
    config = tmp_path / "shiptrack.toml"
    config.write_text('[display]\ntimezone = "Asia/Tokyo"\n')
    assert main(["db", "info", "--db", str(db), "--config", str(config)]) == 0
    check_row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("check "))
    assert check_row.split()[-2] == "JST"  # the table is local time; `--json` stays UTC with Z


@pytest.mark.parametrize("kind", ["missing", "garbage", "version 1"])
def test_db_info_on_an_unusable_file_is_one_line_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    db = tmp_path / "shiptrack.db"
    if kind == "garbage":
        db.write_bytes(os.urandom(8192))
    elif kind == "version 1":  # read-only: it says how to upgrade rather than failing on a table
        conn = sqlite3.connect(db)
        conn.executescript((FIXTURES / "schema_v1.sql").read_text())
        conn.close()
    assert main(["db", "info", "--db", str(db), "--config", str(tmp_path / "none.toml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(db) in err[0]


def test_db_vacuum_switches_an_old_file_to_incremental_reclaim(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())  # made before auto_vacuum
    conn.close()
    _seed(db, days=3, every=60.0)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA auto_vacuum").fetchone() == (0,)
    conn.execute('DELETE FROM "check" WHERE at_ms < ?', (to_ms(time.time() - DAY),))
    conn.commit()
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] > 0
    conn.close()
    kept = _digest_rows(db)
    size = db.stat().st_size
    assert main(["db", "vacuum", "--db", str(db), "--config", str(tmp_path / "none.toml")]) == 0
    assert "auto_vacuum incremental" in capsys.readouterr().out
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)
    assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
    conn.close()
    assert db.stat().st_size < size and _digest_rows(db) == kept


def _digest_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute('SELECT * FROM "check" ORDER BY monitor_id, at_ms').fetchall()
    finally:
        conn.close()


def test_db_vacuum_refuses_while_an_engine_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shiptrack.db"
    _seed(db, days=1)
    with EngineLock(db):
        assert main(["db", "vacuum", "--db", str(db), "--config", str(tmp_path / "none.toml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"pid {os.getpid()}" in err[0] and "stop it first" in err[0]
