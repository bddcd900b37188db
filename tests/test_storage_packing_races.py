"""The packer racing the writer on PostgreSQL (storage/compaction.py, storage/pipeline.py).

A check written again long after it ran (a batch held through an outage) may meet the packer
moving that check's hour into a block. Whichever of the two the database lets go first, the check
must land once, with its new values, the rollups must agree with the stored checks, and neither
side may deadlock. Each race is set up deterministically, not by timing luck: a third connection
("the gate") holds a lock the writer's batch needs part way through; the packer runs while the
batch waits there (it finishes, or waits itself); then the gate lets go.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from storage_helpers import Feed, check
from waiting import wait_for

from shiptrack_tui.core.model import Outcome, Policy
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.codec import to_ms

HOUR = 3600.0
NOW = math.floor(time.time() / HOUR) * HOUR - 48 * HOUR  # every check here is long packable
POLICY = Policy(failure_threshold=2, recovery_threshold=2)
LATE = NOW - 4 * HOUR + 0.5  # K: a late check, raw, in a packed hour
PACKED = NOW - 5 * HOUR + 60.0  # K2: a packed check in another hour
PACKED_SAME_HOUR = NOW - 4 * HOUR + 120.0  # K2': a packed check in K's hour
NEW_LATE = NOW - 3 * HOUR + 0.25  # K3: a check written late for the first time


def _pack(store: Store) -> int:
    packed, after = 0, 0
    while after is not None:
        count, after = store.pack_checks(NOW, 700, after)
        packed += count
    return packed


def _waiting(watch: psycopg.Connection) -> int:
    """Backends of this database waiting for a lock (a row's, a transaction's or an advisory one)."""
    return int(watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND wait_event_type = 'Lock'").fetchone()[0])


def _in_thread(target: Callable[[], Any], failures: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as error:  # reported by the test's assertion
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _gate_block(gate: psycopg.Connection, monitor_id: int, at: float) -> None:
    """Hold the block holding `at` FOR UPDATE: the writer waits taking that check out of it."""
    gate.execute("SELECT 1 FROM check_block WHERE monitor_id = %s AND start_ms <= %s AND end_ms > %s "
                 "FOR UPDATE", (monitor_id, to_ms(at), to_ms(at)))


def _gate_insert(gate: psycopg.Connection, monitor_id: int, at: float) -> None:
    """Insert (uncommitted) the raw row the writer is about to insert: it waits on this transaction."""
    gate.execute('INSERT INTO "check" (monitor_id, at_ms, code, latency_us, status, error_id) '
                 "VALUES (%s, %s, 0, 1, 200, NULL)", (monitor_id, to_ms(at)))


# lost update: the writer reads K raw, the packer moves K into its block, the writer's UPDATE of K
#   then finds no row. deadlock: the writer locks K's block (taking K2' out of it) and then updates
#   K; the packer deletes K and then wants the block.
RACES = {
    "lost-update": (PACKED, lambda gate, monitor_id: _gate_block(gate, monitor_id, PACKED)),
    "deadlock": (PACKED_SAME_HOUR, lambda gate, monitor_id: _gate_insert(gate, monitor_id, NEW_LATE)),
}


@pytest.mark.parametrize("race", sorted(RACES))
def test_a_check_rewritten_while_the_packer_moves_its_hour_lands_once(pg_url: str, race: str) -> None:
    packed_at, close_gate = RACES[race]
    store = Store.open(pg_url)
    try:
        feed = Feed("api", POLICY)
        store.commit_batch([feed.write(check("api", NOW - 7 * HOUR + 60 * i, latency_ms=50.0))
                            for i in range(6 * 60)])
        assert _pack(store) == 360  # every hour packed; the late check comes after: K stays raw
        store.commit_batch([feed.write(check("api", LATE, Outcome.DOWN, reason="HTTP 500", status=500))])
        with psycopg.connect(pg_url, autocommit=True) as watch:
            monitor_id = watch.execute("SELECT id FROM monitor WHERE name = 'api'").fetchone()[0]
            assert watch.execute('SELECT at_ms FROM "check"').fetchall() == [(to_ms(LATE),)]
            # The batch written again (K raw, K2 packed) and, for the deadlock, one check new to the store.
            batch = [feed.write(check("api", LATE, latency_ms=5.0)),
                     feed.write(check("api", packed_at, latency_ms=7.0))]
            if race == "deadlock":
                batch.append(feed.write(check("api", NEW_LATE, latency_ms=9.0)))
            failures: list[BaseException] = []
            with psycopg.connect(pg_url) as gate:
                close_gate(gate, monitor_id)
                writer = _in_thread(lambda: store.commit_batch(batch), failures)
                wait_for(lambda: _waiting(watch) == 1, 10, "the writer's batch to wait at the gate")
                packer = _in_thread(lambda: _pack(store), failures)
                wait_for(lambda: not packer.is_alive() or _waiting(watch) == 2, 10,
                         "the packer to finish or to wait")
                gate.rollback()
            writer.join(30)
            packer.join(30)
            assert not writer.is_alive() and not packer.is_alive()
            assert not failures, failures  # a deadlock aborts one side
            _pack(store)
            assert watch.execute('SELECT count(*) FROM "check" WHERE at_ms < %s',
                                 (to_ms(NOW - HOUR),)).fetchone()[0] == 0
            hours = dict(((hour, (up, down)) for hour, up, down in watch.execute(
                "SELECT hour, up, down FROM rollup WHERE span = 1 AND monitor_id = %s", (monitor_id,))))
        stored = store.recent_checks("api", 100_000)
        expected = {LATE: 5.0, packed_at: 7.0} | ({NEW_LATE: 9.0} if race == "deadlock" else {})
        for at, latency in expected.items():
            found = [c for c in stored if c.at == at]
            assert [(c.outcome, c.latency_ms) for c in found] == [(Outcome.UP, latency)], (at, found)
        assert len(stored) == 360 + len(expected) - 1
        # The rollups took the old value out and the new one in, exactly once.
        counted: dict[int, tuple[int, int]] = {}
        for c in stored:
            up, down = counted.get(int(c.at // HOUR), (0, 0))
            counted[int(c.at // HOUR)] = (up + (c.outcome is Outcome.UP), down + (c.outcome is Outcome.DOWN))
        assert hours == counted
    finally:
        store.close()
