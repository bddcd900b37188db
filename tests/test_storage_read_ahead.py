"""Reads run ahead on PostgreSQL (storage/read_ahead.py): rows applied in submission order, on the
caller's thread, and only as far as the caller asks, while later statements still run."""

from __future__ import annotations

import threading
import time

import pytest

from shiptrack_tui.storage import Store
from shiptrack_tui.storage.read_ahead import ReadAhead


@pytest.fixture
def pg_conn(pg_url: str):
    store = Store.open(pg_url)
    try:
        yield store._conn()
    finally:
        store.close()


def test_settling_through_a_mark_applies_only_what_came_before_it(pg_conn) -> None:
    applied: list[tuple[int, str]] = []

    def note(rows) -> None:
        applied.append((rows[0][0], threading.current_thread().name))

    reads = ReadAhead(pg_conn, enabled=True)
    try:
        reads.submit("SELECT 1", (), note)
        first = reads.submitted
        reads.submit("SELECT 2 FROM pg_sleep(0.5)", (), note)
        reads.submit("SELECT 3", (), note)
        started = time.perf_counter()
        reads.settle(through=first)
        assert time.perf_counter() - started < 0.4  # did not wait for the slow one
        assert applied == [(1, threading.current_thread().name)]
        reads.settle(through=first)  # nothing more before that mark
        assert len(applied) == 1
        reads.settle()
        assert [value for value, _thread in applied] == [1, 2, 3]
        assert {thread for _value, thread in applied} == {threading.current_thread().name}
    finally:
        reads.close()


def test_a_failed_read_raises_at_settle_and_drops_the_rest(pg_conn) -> None:
    applied: list[int] = []
    reads = ReadAhead(pg_conn, enabled=True)
    try:
        reads.submit("SELECT 1", (), lambda rows: applied.append(rows[0][0]))
        reads.submit("SELECT no_such_column FROM monitor", (), lambda rows: applied.append(-1))
        reads.submit("SELECT 3", (), lambda rows: applied.append(rows[0][0]))
        with pytest.raises(Exception, match="no_such_column"):
            reads.settle()
        assert applied == [1]
        reads.settle()  # nothing left pending
        assert applied == [1]
    finally:
        reads.close()


def test_reads_ahead_arrive_in_the_binary_format_as_python_values(pg_conn) -> None:
    rows = []
    reads = ReadAhead(pg_conn, enabled=True)
    try:
        reads.submit("SELECT ?::bytea, ARRAY[1, 70000]::integer[], ?::bigint",
                     (b"\x00\x01\xff", 2**40), rows.extend)
        reads.settle()
    finally:
        reads.close()
    assert rows == [(b"\x00\x01\xff", [1, 70000], 2**40)]
