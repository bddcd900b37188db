"""The engine never hangs silently: checks go on while storage is stalled, and the stall is told."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback_http import LoopbackTarget

from shiptrack_tui.config import Config
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.engine import Engine
from shiptrack_tui.heartbeat import heartbeat_path, read_heartbeat
from shiptrack_tui.storage import Store


async def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def stored_checks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute('SELECT COUNT(*) FROM "check"').fetchone()[0]


async def test_the_engine_keeps_checking_while_storage_is_stalled(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "shiptrack.db"
    with LoopbackTarget() as target:
        specs = (MonitorSpec(name="a", url=target.url("a"), interval=1.0, timeout=0.8),
                 MonitorSpec(name="b", url=target.url("b"), interval=1.0, timeout=0.8),
                 MonitorSpec(name="gone", url="http://127.0.0.1:1/", interval=1.0, timeout=0.8))
        store = Store.open(db, busy_timeout=0.1)  # the engine's commits fail fast while locked
        # Five writes held in memory: the bound is reached within two seconds of the stall.
        engine = Engine(Config(path=tmp_path / "none.toml", monitors=specs), store, max_pending=5,
                        send_notifications=False)
        task = asyncio.create_task(engine.run())
        with caplog.at_level(logging.INFO):
            await until(lambda: stored_checks(db) >= 3, 10, "the first stored checks")
            hog = sqlite3.connect(db, isolation_level=None)
            hog.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            before = engine.counters.checks
            # 3 monitors at 1 s: about 12 checks in 4 s, far past the 5 writes the queue may hold.
            await until(lambda: engine.counters.checks >= before + 12, 10, "checks during the stall")
            await until(lambda: (b := read_heartbeat(heartbeat_path(db))) is not None and b.stall is not None,
                        5, "the stall in the heartbeat file")
            beat = read_heartbeat(heartbeat_path(db))
            assert beat is not None and beat.stall is not None and beat.stall.error == "database is locked"
            assert beat.monitors == 3 and beat.stall.waiting >= 1
            hog.execute("ROLLBACK")
            hog.close()
            recovered = "storage recovered after"
            await until(lambda: any(r.getMessage().startswith(recovered) for r in caplog.records),
                        10, "the recovery")
            engine.request_stop()
            await asyncio.wait_for(task, 15)
        store.close()
    messages = [r.getMessage() for r in caplog.records]
    stalls = [m for m in messages if m.startswith("storage stalled for")]
    assert stalls and "database is locked" in stalls[0] and "writes waiting" in stalls[0]
    dropped = engine._writer.dropped_checks if engine._writer is not None else 0
    assert dropped > 0 and any("check results" in m and "dropped" in m for m in messages)
    # Every check is stored or counted as dropped; the incident of "gone" opened all the same.
    assert stored_checks(db) + dropped == engine.counters.checks
    reopened = Store.open(db)
    incidents = reopened.incidents()
    reopened.close()
    assert [i.monitor for i in incidents] == ["gone"]
    assert not heartbeat_path(db).exists()  # a stopped engine leaves no heartbeat to mislead
