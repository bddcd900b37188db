"""A membership round that loses a lock race (nodes joining at once can deadlock on lease rows)
is not a failure: the server rolled one side back, and the round goes again at once."""

from __future__ import annotations

import threading

import psycopg
import pytest

from shiptrack_tui.engine.membership import ClusterLink
from shiptrack_tui.storage.cluster import run


def _deadlock(url: str) -> BaseException:
    """Two real transactions locking two rows in opposite orders: the error the loser gets, as
    storage/cluster.run raises it."""
    setup = psycopg.connect(url, autocommit=True)
    setup.execute("CREATE TABLE race (id INT PRIMARY KEY)")
    setup.execute("INSERT INTO race VALUES (1), (2)")
    errors: list[BaseException] = []
    first_locked = threading.Barrier(2)

    def side(mine: int, theirs: int) -> None:
        with psycopg.connect(url) as conn:
            try:
                run(conn, "SELECT id FROM race WHERE id = %s FOR UPDATE", (mine,))
                first_locked.wait(10)
                run(conn, "SELECT id FROM race WHERE id = %s FOR UPDATE", (theirs,))
                conn.commit()
            except Exception as error:  # the loser: the server broke the deadlock on its side
                errors.append(error)
                conn.rollback()

    threads = [threading.Thread(target=side, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    setup.close()
    assert len(errors) == 1, errors
    return errors[0]


def test_a_deadlock_is_a_lost_race_not_an_outage(pg_url: str) -> None:
    error = _deadlock(pg_url)
    assert "deadlock detected" in str(error)
    assert ClusterLink.contended(error)


def test_other_errors_are_not_lost_races(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn, pytest.raises(Exception) as raised:
        run(conn, "SELECT * FROM no_such_table")
    assert not ClusterLink.contended(raised.value)
    assert not ClusterLink.contended(ValueError("not a database error"))
