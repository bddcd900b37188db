"""A stalled database: the writer says so (since when, why, what waits), never blocks a shedding
producer, and drops only plain check results, loudly, when its bound is reached."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_helpers import T0, Feed, check
from waiting import wait_for

from shiptrack_tui.core.model import Outcome
from shiptrack_tui.storage import Store, Writer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "shiptrack.db")
    yield opened
    opened.close()




def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection in the middle of a write transaction, as another process would be."""
    hog = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    hog.execute("BEGIN IMMEDIATE")
    return hog


def test_a_locked_database_is_reported_as_a_stall_with_its_cause(store: Store) -> None:
    fast = Store.open(store.path, busy_timeout=0.05)  # its commits fail fast instead of waiting 10 s
    writer = Writer(fast)
    hog = hold_write_lock(store.path)
    assert writer.stall() is None
    writer.submit(Feed("api").write(check("api", T0)))
    wait_for(lambda: writer.stall() is not None)
    stall = writer.stall()
    assert stall is not None and stall.error == "database is locked" and stall.waiting == 1
    time.sleep(0.2)
    later = writer.stall()
    assert later is not None and later.seconds >= stall.seconds + 0.15  # its age grows
    hog.execute("ROLLBACK")
    writer.flush(timeout=10)
    assert writer.stall() is None
    writer.close()
    fast.close()
    hog.close()
    assert len(store.recent_checks("api")) == 1


def test_a_shedding_writer_never_blocks_and_drops_only_check_results(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    fast = Store.open(store.path, busy_timeout=0.05)
    writer = Writer(fast, max_pending=20, when_full="shed", gather_seconds=0.0)
    hog = hold_write_lock(store.path)
    feed = Feed("api")  # failure_threshold 2, recovery 2: a cycle of 6 checks opens and resolves
    outcomes = [Outcome.DOWN, Outcome.DOWN, Outcome.UP, Outcome.UP, Outcome.UP, Outcome.UP] * 50
    writes = [feed.write(check("api", T0 + i, outcome)) for i, outcome in enumerate(outcomes)]
    transitions = sum(1 for w in writes if w.events)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="shiptrack.storage"):
        for write in writes:
            writer.submit(write)
        submitting = time.monotonic() - started
        assert submitting < 0.5  # 300 submits against a locked database: none waited
        assert writer.dropped_checks > 0 and writer.pending <= 20 + transitions
        hog.execute("ROLLBACK")
        writer.close(timeout=10)
    dropped = writer.dropped_checks
    lines = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert lines and f"{dropped:,} in all" in lines[-1]  # the closing line counts every drop
    stored = store.recent_checks("api", limit=1000)
    assert len(stored) + dropped == len(writes)
    incidents = store.incidents()
    assert len(incidents) == 50 and all(i.resolved_at is not None for i in incidents)  # no transition lost
    fast.close()
    hog.close()
