"""The engine's retention run on a file made before incremental auto-vacuum: it says, once, what to do."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from shiptrack_tui.config import StorageSettings
from shiptrack_tui.engine.retention import STEP_PAGES, RetentionRun
from shiptrack_tui.storage import Store


def test_an_old_file_full_of_free_pages_is_told_to_vacuum_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)  # an older ShipTrack's file: auto_vacuum NONE, pages freed by a drop
    conn.execute("CREATE TABLE filler (b BLOB)")
    conn.executemany("INSERT INTO filler VALUES (zeroblob(4000))", [()] * (12 * STEP_PAGES))
    conn.commit()
    conn.execute("DROP TABLE filler")
    conn.commit()
    conn.close()
    store = Store.open(db)
    try:
        free, incremental = store.free_pages()
        assert not incremental and free > 10 * STEP_PAGES
        run = RetentionRun(store)
        with caplog.at_level(logging.WARNING, logger="shiptrack.engine"):
            for _ in range(2):
                asyncio.run(run.run(StorageSettings(), time.time()))
        told = [r.getMessage() for r in caplog.records if "shiptrack db vacuum" in r.getMessage()]
        assert len(told) == 1 and str(db) in told[0]
        assert store.free_pages()[0] == free  # nothing reclaimed behind the operator's back
    finally:
        store.close()


def test_the_retention_run_packs_closed_hours_on_postgresql(pg_url: str) -> None:
    from storage_helpers import Feed, check

    now = time.time() // 3600 * 3600 + 1800
    store = Store.open(pg_url)
    try:
        feed = Feed("api")
        store.commit_batch([feed.write(check("api", now - 5 * 3600 + 60 * i)) for i in range(5 * 60)])
        asyncio.run(RetentionRun(store).run(StorageSettings(), now))
        conn = store._db.connection()  # the test reads the tables themselves
        raw = conn.execute('SELECT count(*) FROM "check"').fetchone()[0]
        blocks, packed = conn.execute("SELECT count(*), sum(n) FROM check_block").fetchone()
        # Hours that ended an hour or more before `now` are packed, one block each; the rest wait.
        assert (raw, blocks, packed) == (90, 4, 210)
        assert store.history("api").checks == 300  # type: ignore[union-attr]
        asyncio.run(RetentionRun(store).run(StorageSettings(), now))  # nothing more to do
        assert conn.execute("SELECT count(*), sum(n) FROM check_block").fetchone() == (4, 210)
    finally:
        store.close()
