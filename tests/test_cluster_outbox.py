"""The outbox shared by several nodes on a real PostgreSQL (storage/cluster_outbox.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from cluster_helpers import cluster_schema, connect, lapse, queue
from waiting import wait_for

from shiptrack_tui.storage.cluster_outbox import (
    Claim,
    claim_outbox,
    extend_claims,
    record_claimed_attempt,
    release_claims,
    still_claimed,
)

Conns = list[psycopg.Connection[Any]]


@pytest.fixture
def db(pg_url: str) -> str:
    cluster_schema(pg_url)
    return pg_url


@pytest.fixture
def conns(db: str) -> Iterator[list[psycopg.Connection[Any]]]:
    opened = [connect(db) for _ in range(3)]
    yield opened
    for conn in opened:
        conn.close()


def claim(conn: psycopg.Connection[Any], node: str, seconds: float = 60, limit: int = 100,
          **kwargs: Any) -> list[Claim]:
    claims = claim_outbox(conn, node, time.time(), seconds, limit, **kwargs)
    conn.commit()
    return claims


def deliver(conn: psycopg.Connection[Any], taken: Claim) -> bool:
    recorded = record_claimed_attempt(conn, taken, time.time(), True, detail="sent")
    conn.commit()
    return recorded


def ids(claims: list[Claim]) -> list[int]:
    return [c.id for c in claims]


def test_three_concurrent_claimers_never_share_a_row_and_keep_each_line_in_order(db: str) -> None:
    with connect(db) as conn:  # 500 rows: 100 (monitor, url) lines of 5, interleaved
        queue(conn, [(f"m{i % 20}", f"json://h/{i % 100 // 20}") for i in range(500)])
    claimed: dict[str, list[int]] = {}
    out_of_order: list[int] = []
    start = threading.Barrier(3)

    def node(name: str) -> None:
        mine: list[int] = []
        with connect(db) as conn:
            start.wait()
            deadline = time.monotonic() + 45
            # Until every row is delivered (a fixed idle time ended the loop early on a loaded
            # machine, where another node may hold the heads of every line for over a second).
            while time.monotonic() < deadline:
                taken = claim_outbox(conn, name, time.time(), 60, 7)
                for c in taken:  # every earlier row of its line is done, as committed now
                    row = conn.execute(
                        "SELECT count(*) FROM outbox WHERE monitor = %s AND url = %s AND id < %s "
                        "AND delivered_at IS NULL AND failed_at IS NULL",
                        (c.row.item.monitor, c.row.item.url, c.id)).fetchone()
                    if row is None or row[0]:
                        out_of_order.append(c.id)
                conn.commit()
                for c in taken:
                    assert deliver(conn, c)
                    mine.append(c.id)
                if not taken:
                    left = conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL "
                                        "AND failed_at IS NULL").fetchone()
                    conn.commit()
                    if left is not None and left[0] == 0:
                        break
                    time.sleep(0.01)
        claimed[name] = mine

    threads = [threading.Thread(target=node, args=(f"n{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everyone = [row_id for mine in claimed.values() for row_id in mine]
    assert len(everyone) == len(set(everyone)) == 500, "a row was claimed twice, or one was never claimed"
    assert out_of_order == []
    with connect(db) as conn:
        row = conn.execute("SELECT count(*), sum(attempts) FROM outbox WHERE delivered_at IS NOT NULL "
                           "AND claimed_by IS NULL").fetchone()
    assert row == (500, 500)


def test_a_row_being_claimed_is_skipped_not_waited_for(conns: Conns) -> None:
    a, b, _ = conns
    first, second, third = queue(a, [("api", "json://x"), ("web", "json://x"), ("db", "json://x")])
    held = claim_outbox(a, "A", time.time(), 60, 1)  # A's transaction is still open
    assert ids(held) == [first]
    assert ids(claim(b, "B")) == [second, third]  # at once: SKIP LOCKED
    a.rollback()  # A never committed its claim
    assert ids(claim(b, "B")) == [first]


def test_only_the_head_of_each_monitor_and_url_line_is_claimed(conns: Conns) -> None:
    a, b, _ = conns
    open_, ack, _resolve = queue(a, [("api", "json://x")] * 3)
    other = queue(a, [("api", "json://y")])[0]
    first = claim(a, "A")
    assert ids(first) == [open_, other]
    assert claim(b, "B") == []  # ACK waits for OPEN, even on another node, even while OPEN is in flight
    assert deliver(a, first[0])
    assert ids(claim(b, "B")) == [ack]
    assert claim(a, "A") == []


def test_a_failed_attempt_keeps_the_line_blocked_until_it_is_delivered_or_given_up(
        conns: Conns) -> None:
    a, b, _ = conns
    open_, ack, resolve = queue(a, [("api", "json://x")] * 3)
    (first,) = claim(a, "A")
    assert first.id == open_ and claim(b, "B") == []  # ACK waits for OPEN, on any node
    now = time.time()
    assert record_claimed_attempt(a, first, now, False, "HTTP 500", next_attempt_at=now + 3600)
    a.commit()
    assert claim(b, "B") == []  # OPEN is due in an hour; ACK still waits behind it
    (again,) = claim_outbox(b, "B", now + 3601, 60)
    b.commit()
    assert again.id == open_ and again.row.attempts == 1 and again.row.last_error == "HTTP 500"
    assert record_claimed_attempt(b, again, now, False, "unusable URL", give_up=True)
    b.commit()
    (next_,) = claim(a, "A")
    assert next_.id == ack
    assert deliver(a, next_)
    assert ids(claim(b, "B")) == [resolve]


def test_a_claim_left_by_a_dead_node_is_claimed_again_after_it_expires(db: str) -> None:
    with connect(db) as b:
        (row_id,) = queue(b, [("api", "json://x")])
        dead = connect(db)
        (lost,) = claim(dead, "A", seconds=120)
        dead.close()  # killed mid-send
        assert claim(b, "B") == []
        lapse(b, "outbox", "claimed_until", "id = %s", (row_id,), seconds=121)  # 2 minutes later
        (again,) = claim(b, "B")
        assert again.id == row_id and again.node == "B"
        with connect(db) as late:  # A comes back: its claim is gone, it sends and records nothing
            assert still_claimed(late, [lost]) == set()
            assert not record_claimed_attempt(late, lost, time.time(), True)
            late.commit()
        assert still_claimed(b, [again]) == {row_id}
        assert deliver(b, again)
        row = b.execute("SELECT attempts, delivered_at IS NOT NULL FROM outbox").fetchone()
        assert row == (1, True)


def test_an_expired_claim_nobody_took_can_still_be_recorded(conns: Conns) -> None:
    a, _, _ = conns
    queue(a, [("api", "json://x")])
    (taken,) = claim(a, "A", seconds=0.05)
    wait_for(lambda: committed_empty(a, taken), 10, "the claim to expire by the database clock")
    assert still_claimed(a, [taken]) == set()  # too late to start a send
    assert deliver(a, taken)  # but a send that finished is recorded: nobody else has the row


def committed_empty(conn: psycopg.Connection[Any], taken: Claim) -> bool:
    found = still_claimed(conn, [taken])
    conn.commit()
    return not found


def test_release_extend_and_margin(conns: Conns) -> None:
    a, b, _ = conns
    first, second = queue(a, [("api", "json://x"), ("web", "json://x")])
    taken = claim(a, "A", seconds=60)
    assert still_claimed(a, taken, margin_seconds=30) == {first, second}
    assert still_claimed(a, taken, margin_seconds=90) == set()
    longer = extend_claims(a, taken, 300)
    a.commit()
    assert still_claimed(a, longer, margin_seconds=200) == {first, second}
    assert still_claimed(a, taken) == set()  # the old token is spent
    assert release_claims(a, [c for c in longer if c.id == second]) == 1
    a.commit()
    assert ids(claim(b, "B")) == [second]
    assert release_claims(a, taken) == 0


def test_rows_wait_behind_a_placeholder_of_their_monitor_unless_their_url_is_plain(
        conns: Conns) -> None:
    a, _, _ = conns
    prefix = "apprise-config://"
    placeholder, entry, plain, elsewhere = queue(
        a, [("api", prefix + "/etc/apprise.yml"), ("api", "json://entry"), ("api", "json://plain"),
            ("web", "json://entry")])
    got = claim(a, "A", placeholder_prefix=prefix, plain_urls=["json://plain"])
    assert ids(got) == [placeholder, plain, elsewhere]
    release_claims(a, got)
    a.commit()
    assert ids(claim(a, "A")) == [placeholder, entry, plain, elsewhere]  # without the rule


def test_recording_notes_the_attempt_on_the_incident_timeline(conns: Conns) -> None:
    a, _, _ = conns
    row = a.execute("WITH m AS (INSERT INTO monitor (name) VALUES ('api') RETURNING id) "
                    "INSERT INTO incident (monitor_id, state, cause, started_at, opened_at) "
                    "SELECT id, 'open', 'HTTP 503', 0, 0 FROM m RETURNING id").fetchone()
    assert row is not None
    queue(a, [("api", "json://x")], incident_id=row[0])
    (taken,) = claim(a, "A")
    assert record_claimed_attempt(a, taken, 123.0, False, "HTTP 500", next_attempt_at=200.0)
    a.commit()
    (again,) = claim_outbox(a, "A", 200.0, 60)
    assert record_claimed_attempt(a, again, 201.0, True, detail="open → json://x: delivered (attempt 2)")
    a.commit()
    timeline = a.execute("SELECT at, kind, detail FROM timeline ORDER BY id").fetchall()
    assert timeline == [(123.0, "notify_retry", "open attempt failed: HTTP 500"),
                        (201.0, "notified", "open → json://x: delivered (attempt 2)")]
    state = a.execute("SELECT attempts, delivered_at, last_error, claimed_by FROM outbox").fetchone()
    assert state == (2, 201.0, None, None)


def test_a_claim_of_a_node_declared_dead_is_free_a_send_margin_later(db: str) -> None:
    """Declaring a node dead (storage/cluster.py `acquire`) cuts its claims to `claim_margin` from
    then: a send it started before that ends by then, and it can start none after. Its claimed but
    unsent row is claimed again that much later instead of at the claim's own expiry (2 minutes)."""
    from shiptrack_tui.storage.cluster import acquire
    from shiptrack_tui.storage.cluster_nodes import NodeInfo, heartbeat

    margin = 11.0
    with connect(db) as b, connect(db) as dead:
        (row_id, other_id) = queue(b, [("api", "json://x"), ("web", "json://x")])
        generation = heartbeat(dead, NodeInfo("A", "here", "cafe", ("api",))).generation
        assert acquire(dead, "A", [("api", "")], generation=generation) == {("api", ""): 1}
        dead.commit()
        lost, in_flight = claim(dead, "A", seconds=120)  # A starts sending the second one, then dies
        assert still_claimed(dead, [in_flight], margin) == {other_id}
        dead.commit()
        heartbeat(b, NodeInfo("B", "here", "cafe", ("api",)))
        lapse(b, "node", "heartbeat_at", "name = %s", ("A",))  # A's heartbeat is long gone
        assert acquire(b, "B", [("api", "")], claim_margin=margin) == {("api", ""): 2}
        b.commit()
        assert still_claimed(dead, [lost], margin) == set()  # A may start no send under it now
        dead.commit()
        assert claim(b, "B") == []  # but one it started may still be going on
        assert deliver(dead, in_flight)  # and when it ends (within the margin), it is recorded
        lapse(b, "outbox", "claimed_until", "id = %s", (row_id,), seconds=margin)
        (again,) = claim(b, "B")  # a margin later, not two minutes
        assert again.id == row_id and again.node == "B"
        assert deliver(b, again)
        assert b.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL").fetchone()[0] == 2
