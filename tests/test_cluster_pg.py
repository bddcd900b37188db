"""Leases, fencing, heartbeats and location results on a real PostgreSQL (storage/cluster*.py).

Each connection stands for one node; they race in threads where the point is a race.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import peewee
import psycopg
import pytest
from cluster_helpers import cluster_schema, connect, lapse
from waiting import wait_for

from shiptrack_tui.storage import pg_schema
from shiptrack_tui.storage.cluster import (
    CLUSTER_DDL,
    LeaseKey,
    LocationResult,
    acquire,
    fence,
    leases,
    location_states,
    release,
    renew,
    write_location_state,
)
from shiptrack_tui.storage.cluster_nodes import NodeInfo, cluster_status, forget_node, heartbeat, nodes
from shiptrack_tui.storage.migrations import SCHEMA_VERSION
from shiptrack_tui.storage.postgres import PgDatabase

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


def committed(conn: psycopg.Connection[Any], value: Any) -> Any:
    conn.commit()
    return value


def expired(conn: psycopg.Connection[Any], key: LeaseKey) -> bool:
    return committed(conn, any(row.key == key and row.remaining < 0 for row in leases(conn, [key[0]])))


def test_cluster_ddl_runs_twice(db: str) -> None:
    with psycopg.connect(db) as conn:
        for statement in CLUSTER_DDL:
            conn.execute(statement)
        columns = {name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'")}
    assert {"claimed_by", "claimed_until"} <= columns


def test_concurrent_acquires_grant_each_key_to_exactly_one_node(db: str) -> None:
    keys = [(f"m{i:04d}", "") for i in range(1500)] + [(f"m{i:04d}", "eu") for i in range(500)]
    granted: dict[str, set[LeaseKey]] = {}
    start = threading.Barrier(3)

    def node(name: str, seed: int) -> None:
        rng = random.Random(seed)
        mine: set[LeaseKey] = set()
        with connect(db) as conn:
            start.wait()
            for _ in range(6):  # overlapping random batches, in random order, again and again
                batch = rng.sample(keys, 700)
                mine |= set(acquire(conn, name, batch, 30))
                conn.commit()
        granted[name] = mine

    threads = [threading.Thread(target=node, args=(f"n{i}", i)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(granted) == {"n0", "n1", "n2"}
    everyone = [key for mine in granted.values() for key in mine]
    assert len(everyone) == len(set(everyone)), "a key was granted to two nodes"
    with connect(db) as conn:
        stored = {row.key: (row.node, row.epoch) for row in leases(conn)}
    assert {key: node for key, (node, _) in stored.items()} == {
        key: name for name, mine in granted.items() for key in mine}
    assert {epoch for _, epoch in stored.values()} == {1}  # nothing changed hands: none expired


def test_a_takeover_bumps_the_epoch_and_a_release_keeps_it_growing(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "")
    assert committed(a, acquire(a, "A", [key], 30)) == {key: 1}
    assert committed(a, acquire(a, "A", [key], 30)) == {key: 1}  # already ours: same epoch, extended
    assert committed(b, acquire(b, "B", [key], 30)) == {}  # held by A, not expired
    lapse(a, "lease", "expires_at", "node = %s", ("A",))
    assert committed(b, acquire(b, "B", [key], 30)) == {key: 2}
    assert committed(a, acquire(a, "A", [key], 30)) == {}
    assert committed(b, release(b, "B", [key])) == 1
    assert leases(a) == []  # released: held by nobody
    assert committed(a, acquire(a, "A", [key], 30)) == {key: 3}
    assert committed(b, release(b, "B")) == 0  # not B's any more


def test_a_lease_expires_by_the_database_clock(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "")
    assert committed(a, acquire(a, "A", [key], 0.2)) == {key: 1}
    assert wait_for(lambda: committed(b, acquire(b, "B", [key], 30)), 10, "A's lease to expire") == {key: 2}


def test_renew_rides_out_expiry_unless_someone_took_over(conns: Conns) -> None:
    a, b, _ = conns
    one, two = ("api", ""), ("web", "eu-west")
    held = committed(a, acquire(a, "A", [one, two], 0.2))
    assert held == {one: 1, two: 1}
    wait_for(lambda: expired(a, one) and expired(a, two), 10, "both leases to expire")
    # The database was away, say: nobody took them, so they are still A's at the same epoch.
    assert committed(a, renew(a, "A", held, 0.2)) == held
    wait_for(lambda: expired(a, one), 10, "the lease to expire again")
    assert committed(b, acquire(b, "B", [one], 30)) == {one: 2}
    assert committed(a, renew(a, "A", held, 30)) == {two: 1}
    assert committed(a, renew(a, "A", {two: 7}, 30)) == {}  # a wrong epoch is not ours either
    assert committed(b, renew(b, "B", {one: 2}, 30)) == {one: 2}


def _waiting_on_a_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return committed(conn, row is not None and row[0] == "Lock")


def test_fence_keeps_only_the_keys_whose_epoch_still_matches(conns: Conns) -> None:
    a, b, _ = conns
    one, two = ("api", ""), ("web", "")
    held = committed(a, acquire(a, "A", [one, two], 0.2))
    wait_for(lambda: expired(a, one), 10, "A's leases to expire")
    # A was paused (SIGSTOP) past its lease; B took `one` over. A wakes and writes, fenced.
    assert committed(b, acquire(b, "B", [one], 30)) == {one: 2}
    assert fence(a, "A", held) == {two}  # inside A's transaction
    a.rollback()
    with connect(a.info.dsn, autocommit=True) as loose, pytest.raises(ValueError, match="transaction"):
        fence(loose, "A", held)


def test_a_takeover_waits_for_the_fenced_write_in_flight(conns: Conns) -> None:
    """The fence's row locks order the two: the write commits under epoch 1, then B gets epoch 2."""
    a, b, watcher = conns
    key = ("api", "")
    held = committed(a, acquire(a, "A", [key], 0.2))
    wait_for(lambda: expired(a, key), 10, "A's lease to expire")
    assert fence(a, "A", held) == {key}  # A's write transaction is open, its lease row locked
    got: dict[LeaseKey, int] = {}
    taker = threading.Thread(target=lambda: got.update(committed(b, acquire(b, "B", [key], 30))))
    taker.start()
    wait_for(lambda: _waiting_on_a_lock(watcher, b.info.backend_pid), 10, "B to wait for A's lock")
    assert not got
    a.commit()  # A's write lands under its epoch
    taker.join(10)
    assert got == {key: 2}
    assert fence(a, "A", held) == set()
    a.rollback()


def test_a_fence_waits_for_a_takeover_in_flight_and_then_refuses(conns: Conns) -> None:
    a, b, watcher = conns
    key = ("api", "")
    held = committed(a, acquire(a, "A", [key], 0.2))
    wait_for(lambda: expired(a, key), 10, "A's lease to expire")
    assert acquire(b, "B", [key], 30) == {key: 2}  # not committed yet
    allowed: list[set[LeaseKey]] = []
    writer = threading.Thread(target=lambda: allowed.append(fence(a, "A", held)))
    writer.start()
    wait_for(lambda: _waiting_on_a_lock(watcher, a.info.backend_pid), 10, "A's fence to wait for B")
    b.commit()
    writer.join(10)
    assert allowed == [set()]
    a.rollback()


def test_a_read_only_fence_takes_no_lock(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "")
    held = committed(a, acquire(a, "A", [key], 0.2))
    wait_for(lambda: expired(a, key), 10, "A's lease to expire")
    assert fence(a, "A", held, lock=False) == {key}  # A's transaction stays open
    assert committed(b, acquire(b, "B", [key], 30)) == {key: 2}  # not held up by A
    assert fence(a, "A", held, lock=False) == set()
    a.rollback()


def test_with_a_holder_timeout_liveness_is_the_heartbeat(conns: Conns) -> None:
    a, b, _ = conns
    key, orphan = ("api", ""), ("web", "")
    heartbeat(a, NodeInfo("A", "eu", "h", ("api", "web")))
    assert committed(a, acquire(a, "A", [key], 300)) == {key: 1}
    assert committed(b, acquire(b, "Z", [orphan], 300)) == {orphan: 1}  # Z never heartbeats
    assert committed(b, acquire(b, "B", [key, orphan], 30, holder_timeout=20)) == {orphan: 2}
    lapse(a, "node", "heartbeat_at", "name = %s", ("A",), seconds=21)
    assert committed(b, acquire(b, "B", [key], 30)) == {}  # its lease alone has 300 s to run
    assert committed(b, acquire(b, "B", [key], 30, holder_timeout=20)) == {key: 2}


def test_without_take_expired_only_free_released_or_own_keys_are_taken(conns: Conns) -> None:
    a, b, _ = conns
    key, fresh = ("api", ""), ("new", "")
    held = committed(a, acquire(a, "A", [key], 0.2))
    wait_for(lambda: expired(a, key), 10, "A's lease to expire")
    assert committed(b, acquire(b, "B", [key, fresh], 30, take_expired=False)) == {fresh: 1}
    assert committed(a, renew(a, "A", held, 30)) == held  # A came back first and kept it
    committed(a, release(a, "A", [key]))
    assert committed(b, acquire(b, "B", [key], 30, take_expired=False)) == {key: 2}


def test_heartbeats_say_who_is_alive(conns: Conns) -> None:
    a, b, _ = conns
    fra = NodeInfo("fra-1", "eu-west", "h1", ("api", "web"), version="1.0", pid=10, host="fra")
    nyc = NodeInfo("nyc-1", "us-east", "h1", ("api", "web"), version="1.0", pid=20, host="nyc")
    assert committed(a, heartbeat(a, fra)) is None
    assert committed(b, heartbeat(b, nyc)) is None
    rows = {row.name: row for row in nodes(a)}
    assert sorted(rows) == ["fra-1", "nyc-1"]
    assert rows["fra-1"].alive and rows["fra-1"].location == "eu-west"
    assert rows["fra-1"].monitors == {"api", "web"} and 0 <= rows["fra-1"].age < 5
    started = rows["fra-1"].started_at
    lapse(a, "node", "heartbeat_at", "true", (), seconds=21)  # both miss their beats for 21 s
    assert not any(row.alive for row in committed(a, nodes(a, 20)))
    heartbeat(a, NodeInfo("fra-1", "eu-west", "h1", ("api", "web"), pid=10, host="fra", owned=2,
                          lateness_p99_ms=12.5))
    a.commit()
    rows = {row.name: row for row in nodes(a, 20)}
    assert rows["fra-1"].alive and not rows["nyc-1"].alive and rows["nyc-1"].age > 20
    assert (rows["fra-1"].owned, rows["fra-1"].lateness_p99_ms) == (2, 12.5)
    assert rows["fra-1"].started_at == started and rows["fra-1"].heartbeat_at > started
    wait_for(lambda: not committed(a, nodes(a, 0.2))[0].alive, 10, "fra-1's beat to age by the clock")
    # A new config is published with its monitors.
    heartbeat(a, NodeInfo("fra-1", "eu-west", "h2", ("api",), pid=10, host="fra"))
    a.commit()
    assert {r.name: r for r in nodes(a)}["fra-1"].monitors == {"api"}
    forget_node(a, "nyc-1")
    a.commit()
    assert [row.name for row in nodes(a)] == ["fra-1"]


def test_a_second_live_process_under_one_node_name_is_reported(conns: Conns) -> None:
    a, b, _ = conns
    assert committed(a, heartbeat(a, NodeInfo("fra-1", "eu", "h", (), pid=10, host="fra"))) is None
    clash = committed(b, heartbeat(b, NodeInfo("fra-1", "eu", "h", (), pid=11, host="fra")))
    assert clash is not None and "pid 10 on fra" in clash and "[cluster] node" in clash
    row = nodes(a)[0]
    assert row.pid == 11
    # A heartbeat long gone (a restart after a crash) is no clash.
    wait_for(lambda: not committed(a, nodes(a, 0.3))[0].alive, 10, "the old beat to age")
    assert committed(a, heartbeat(a, NodeInfo("fra-1", "eu", "h", (), pid=12, host="fra"), 0.3)) is None


def test_cluster_status_counts_leases_and_flags_a_different_config(conns: Conns) -> None:
    a, _, _ = conns
    for name, config in (("n1", "same"), ("n2", "same"), ("n3", "other")):
        heartbeat(a, NodeInfo(name, f"loc-{name}", config, ("api", "web"), pid=1, host=name))
    acquire(a, "n1", [("api", ""), ("web", ""), ("api", "loc-n1")], 30)
    acquire(a, "n2", [("db", ""), ("api", "loc-n2")], 30)
    acquire(a, "n3", [("cache", "")], 0.001)  # expires at once: not counted
    a.commit()
    wait_for(lambda: expired(a, ("cache", "")), 10, "n3's lease to expire")
    status = {row.node.name: row for row in cluster_status(a)}
    assert {name: (row.owning, row.checking, row.config_differs) for name, row in status.items()} == {
        "n1": (2, 1, False), "n2": (1, 1, False), "n3": (0, 0, True)}
    assert status["n1"].node.location == "loc-n1" and status["n1"].node.alive


def test_location_results_are_written_only_under_the_location_lease(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "eu-west")
    held_a = committed(a, acquire(a, "A", [key, ("api", "us-east")], 0.2))
    failing = LocationResult("api", "eu-west", False, 2, "HTTP 503", 40.0, 1000.0)
    assert committed(a, write_location_state(a, "A", held_a, [failing])) == {key}
    wait_for(lambda: expired(a, key), 10, "A's lease to expire")
    held_b = committed(b, acquire(b, "B", [key], 30))
    assert held_b == {key: 2}
    late = LocationResult("api", "eu-west", False, 3, "HTTP 503", 41.0, 1010.0)
    assert committed(a, write_location_state(a, "A", held_a, [late])) == set()  # fenced out
    ok = LocationResult("api", "eu-west", True, 0, None, 12.0, 1020.0)
    assert committed(b, write_location_state(b, "B", held_b, [ok])) == {key}
    stale = LocationResult("api", "eu-west", False, 1, "timeout", None, 1005.0)
    committed(b, write_location_state(b, "B", held_b, [stale]))  # older than the stored result
    states = location_states(a, ["api"])
    assert [(s.result, s.node, s.epoch) for s in states] == [(ok, "B", 2)]
    assert location_states(a, ["other"]) == [] and len(location_states(a)) == 1
    a.commit()


def test_ten_thousand_keys_in_one_statement_each(conns: Conns) -> None:
    a, b, _ = conns
    keys = [(f"monitor-{i:05d}", "") for i in range(10_000)]
    timings = {}
    began = time.perf_counter()
    held = acquire(a, "A", keys, 30)
    a.commit()
    timings["acquire"] = time.perf_counter() - began
    began = time.perf_counter()
    assert renew(a, "A", held, 30) == held
    a.commit()
    timings["renew"] = time.perf_counter() - began
    began = time.perf_counter()
    assert len(fence(a, "A", held)) == 10_000
    a.commit()
    timings["fence"] = time.perf_counter() - began
    began = time.perf_counter()
    assert acquire(b, "B", keys, 30) == {}
    b.commit()
    timings["refused acquire"] = time.perf_counter() - began
    print("10,000 keys: " + ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in timings.items()))
    assert len(held) == 10_000 and set(held.values()) == {1}
    assert timings["acquire"] < 5.0  # well under a second here; generous for a loaded machine


def test_the_store_s_own_connections_work_inside_its_write_transactions(pg_url: str) -> None:
    """The engine hands these functions the store's PostgreSQL connection (autocommit, BEGIN by
    `writing()`); the store's migration plus CLUSTER_DDL is the whole schema."""
    db = PgDatabase(pg_url)
    try:
        pg_schema.migrate(db, pg_url, SCHEMA_VERSION)
        with db.writing():
            for statement in CLUSTER_DDL:
                db.execute_sql(statement)
        key = ("api", "")
        with db.writing():
            held = acquire(db.connection(), "A", [key], 30)
        assert held == {key: 1}
        with db.writing():
            assert fence(db.connection(), "A", held) == {key}
            db.execute_sql("UPDATE monitor SET status = 'down' WHERE name = 'api'")  # the fenced write
        with pytest.raises(ValueError, match="transaction"):
            fence(db.connection(), "A", held)  # outside writing(): no transaction to hold the lock
        with pytest.raises(peewee.DatabaseError, match="interval"), db.writing():
            acquire(db.connection(), "A", [key], float("nan"))  # psycopg's errors come out as the store's
    finally:
        db.close_all()
