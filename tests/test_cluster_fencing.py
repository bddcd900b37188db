"""The fence against a real pause: a writer process stopped (SIGSTOP) for twice its lease while
another node declares it dead and takes over writes nothing after it is continued (SIGCONT),
though it keeps trying, and keeps heartbeating under its old generation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import peewee
import psycopg
from cluster_helpers import cluster_schema, connect
from waiting import wait_for

from shiptrack_tui.storage.cluster import acquire

LEASE = 1.0
KEY = ("api", "")


def _take_over(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], int]:
    try:
        got = acquire(conn, "B", [KEY], LEASE)  # A is dead once its heartbeat is 0.6 s old
        conn.commit()
        return got
    except peewee.OperationalError:  # lock_timeout: the paused writer still holds its fence lock
        conn.rollback()
        return {}


def _count(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(sql, params).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


def test_a_writer_paused_past_its_lease_writes_nothing_when_it_wakes(pg_url: str) -> None:
    cluster_schema(pg_url)
    with connect(pg_url) as b:
        b.execute("CREATE TABLE attempts (n BIGINT NOT NULL)")
        b.execute("INSERT INTO attempts VALUES (0)")
        b.execute("CREATE TABLE fenced_write (node TEXT NOT NULL, epoch BIGINT NOT NULL)")
        b.execute("SET lock_timeout = '2s'")
        b.commit()
        script = Path(__file__).with_name("fenced_writer.py")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]),
                                                             os.environ.get("PYTHONPATH", "")])}
        writer = subprocess.Popen([sys.executable, str(script), pg_url, "A", str(LEASE)],
                                  stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert writer.stdout is not None
            assert writer.stdout.readline().split() == ["held", "1"]
            wait_for(lambda: _count(b, "SELECT count(*) FROM fenced_write") >= 5, 20, "A's first writes")
            os.kill(writer.pid, signal.SIGSTOP)
            stopped = time.monotonic()
            assert wait_for(lambda: _take_over(b), 30, "B to take the lease over") == {KEY: 2}
            written_by_a = _count(b, "SELECT count(*) FROM fenced_write WHERE node = 'A'")
            b.execute("INSERT INTO fenced_write (node, epoch) VALUES ('B', 2)")
            b.commit()
            wait_for(lambda: time.monotonic() - stopped >= 2 * LEASE, 10, "twice the lease")
            before = _count(b, "SELECT n FROM attempts")
            os.kill(writer.pid, signal.SIGCONT)
            wait_for(lambda: _count(b, "SELECT n FROM attempts") >= before + 20, 20, "A to try again")
            assert writer.poll() is None  # still running, still trying under its old generation
            after = _count(b, "SELECT count(*) FROM fenced_write WHERE node = 'A'")
            assert after == written_by_a, "the paused node wrote after the takeover"
            epochs = b.execute("SELECT node, array_agg(DISTINCT epoch) FROM fenced_write GROUP BY node "
                               "ORDER BY node").fetchall()
            assert epochs == [("A", [1]), ("B", [2])]
        finally:
            os.kill(writer.pid, signal.SIGCONT)
            writer.kill()
            writer.wait(10)
