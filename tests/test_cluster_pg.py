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
    CLUSTER_SCHEMA,
    LeaseKey,
    LocationResult,
    acquire,
    fence,
    fence_node,
    leases,
    location_states,
    release,
    write_location_state,
)
from shiptrack_tui.storage.cluster_nodes import NodeInfo, cluster_status, forget_node, heartbeat, nodes
from shiptrack_tui.storage.migrations import SCHEMA_VERSION
from shiptrack_tui.storage.postgres import PgDatabase

Conns = list[psycopg.Connection[Any]]
LEASE = 20.0  # the liveness timeout is 0.6 of it: 12 s


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


def join(conn: psycopg.Connection[Any], name: str, generation: int | None = None) -> int:
    """`name` beats (joins when `generation` is None); its generation now, committed."""
    beat = heartbeat(conn, NodeInfo(name, "eu", "h", ("api", "web"), pid=1, host=name), LEASE, generation)
    return committed(conn, beat.generation)


def dies(conn: psycopg.Connection[Any], name: str) -> None:
    """`name` misses its heartbeats for longer than the liveness timeout (13 s of 12)."""
    lapse(conn, "node", "heartbeat_at", "name = %s", (name,), seconds=13)


def generation(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute("SELECT generation FROM node WHERE name = %s", (name,)).fetchone()
    conn.commit()
    assert row is not None
    return int(row[0])


def test_cluster_ddl_runs_twice(db: str) -> None:
    with psycopg.connect(db) as conn:
        for statement in CLUSTER_SCHEMA:
            conn.execute(statement)
        columns = {(table, name) for table, name in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_name IN ('outbox', 'node', 'lease')")}
    assert {("outbox", "claimed_by"), ("outbox", "claimed_until"), ("node", "generation")} <= columns
    assert ("lease", "expires_at") not in columns  # leases no longer expire


def test_concurrent_acquires_grant_each_key_to_exactly_one_node(db: str) -> None:
    keys = [(f"m{i:04d}", "") for i in range(1500)] + [(f"m{i:04d}", "eu") for i in range(500)]
    granted: dict[str, set[LeaseKey]] = {}
    start = threading.Barrier(3)

    def node(name: str, seed: int) -> None:
        rng = random.Random(seed)
        mine: set[LeaseKey] = set()
        with connect(db) as conn:
            own = join(conn, name)
            start.wait()
            for _ in range(6):  # overlapping random batches, in random order, again and again
                batch = rng.sample(keys, 700)
                mine |= set(acquire(conn, name, batch, LEASE, generation=own))
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
    assert {epoch for _, epoch in stored.values()} == {1}  # nothing changed hands: everyone alive


def test_a_takeover_from_a_dead_holder_bumps_the_epoch_and_the_holder_s_generation(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    assert committed(a, acquire(a, "A", [key], LEASE, generation=gen_a)) == {key: 1}
    assert committed(a, acquire(a, "A", [key], LEASE, generation=gen_a)) == {key: 1}  # ours: same epoch
    assert committed(b, acquire(b, "B", [key], LEASE, generation=gen_b)) == {}  # A is alive
    assert generation(a, "A") == gen_a
    dies(a, "A")
    assert [row.holder_alive for row in committed(a, leases(a))] == [False]
    assert committed(b, acquire(b, "B", [key], LEASE, generation=gen_b)) == {key: 2}
    assert generation(a, "A") != gen_a  # declared dead in the same transaction
    assert not committed(a, fence_node(a, "A", gen_a))  # every commit of A's is fenced from now on
    assert committed(a, acquire(a, "A", [key], LEASE, generation=gen_a)) == {}  # nor may it take keys
    assert committed(b, release(b, "B", [key])) == 1
    assert leases(a) == []  # released: held by nobody
    assert committed(b, acquire(b, "B", [key], LEASE, generation=gen_b)) == {key: 3}
    assert committed(a, release(a, "A")) == 0  # not A's


def test_a_node_declared_dead_finds_out_on_its_next_beat_and_rejoins(conns: Conns) -> None:
    a, b, _ = conns
    own, orphan = ("api", ""), ("web", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    committed(a, acquire(a, "A", [own, orphan], LEASE, generation=gen_a))
    dies(a, "A")
    assert committed(b, acquire(b, "B", [own], LEASE, generation=gen_b)) == {own: 2}
    beat = heartbeat(a, NodeInfo("A", "eu", "h", ("api", "web"), pid=1, host="A"), LEASE, gen_a)
    a.commit()
    assert beat.lost and beat.generation not in (gen_a, generation(a, "B"))
    assert generation(a, "A") == beat.generation
    # Under its new generation it takes keys again through the plan: what nobody took is still its
    # own (same epoch); the taken one is B's while B lives.
    assert committed(a, acquire(a, "A", [own, orphan], LEASE, generation=beat.generation)) == {orphan: 1}
    again = heartbeat(a, NodeInfo("A", "eu", "h", ("api", "web"), pid=1, host="A"), LEASE, beat.generation)
    assert committed(a, again).generation == beat.generation and not again.lost


def test_two_nodes_declaring_one_holder_dead_both_get_its_keys_once(conns: Conns) -> None:
    a, b, c = conns
    one, two = ("api", ""), ("web", "")
    gen_a, gen_b, gen_c = join(a, "A"), join(b, "B"), join(c, "C")
    committed(a, acquire(a, "A", [one, two], LEASE, generation=gen_a))
    dies(a, "A")
    assert acquire(b, "B", [one], LEASE, generation=gen_b) == {one: 2}  # B's transaction stays open
    got: dict[LeaseKey, int] = {}
    taker = threading.Thread(target=lambda: got.update(committed(c, acquire(c, "C", [two], LEASE,
                                                                            generation=gen_c))))
    taker.start()
    wait_for(lambda: _waiting_on_a_lock(a, c.info.backend_pid), 10, "C to wait for B's lock on A's row")
    b.commit()
    taker.join(10)
    assert got == {two: 2}
    assert {row.key: row.node for row in committed(a, leases(a))} == {one: "B", two: "C"}


def test_without_take_dead_only_free_released_or_own_keys_are_taken(conns: Conns) -> None:
    a, b, _ = conns
    key, fresh, orphan = ("api", ""), ("new", ""), ("old", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    committed(a, acquire(a, "A", [key], LEASE, generation=gen_a))
    committed(a, acquire(a, "Z", [orphan], LEASE))  # Z has no node row at all
    dies(a, "A")  # (just after a database outage every heartbeat is old)
    assert committed(b, acquire(b, "B", [key, fresh, orphan], LEASE, generation=gen_b,
                                take_dead=False)) == {fresh: 1}
    assert generation(a, "A") == gen_a  # nobody was declared dead
    assert join(a, "A", gen_a) == gen_a  # A beats again first and keeps its keys
    assert committed(a, acquire(a, "A", [key], LEASE, generation=gen_a)) == {key: 1}
    committed(a, release(a, "A", [key]))
    assert committed(b, acquire(b, "B", [key], LEASE, generation=gen_b, take_dead=False)) == {key: 2}
    assert committed(b, acquire(b, "B", [orphan], LEASE, generation=gen_b)) == {orphan: 2}  # no row: dead


def _waiting_on_a_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return committed(conn, row is not None and row[0] == "Lock")


def test_a_takeover_waits_for_the_fenced_commit_in_flight(conns: Conns) -> None:
    """The fence's lock on the writer's node row orders the two: the write commits under its
    generation, then B declares A dead and gets the key at epoch 2."""
    a, b, watcher = conns
    key = ("api", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    committed(a, acquire(a, "A", [key], LEASE, generation=gen_a))
    dies(a, "A")
    assert fence_node(a, "A", gen_a)  # A's write transaction is open, its node row locked
    got: dict[LeaseKey, int] = {}
    taker = threading.Thread(target=lambda: got.update(committed(b, acquire(b, "B", [key], LEASE,
                                                                            generation=gen_b))))
    taker.start()
    wait_for(lambda: _waiting_on_a_lock(watcher, b.info.backend_pid), 10, "B to wait for A's lock")
    assert not got
    a.commit()  # A's write lands under its generation
    taker.join(10)
    assert got == {key: 2}
    assert not fence_node(a, "A", gen_a)
    a.rollback()
    with connect(a.info.dsn, autocommit=True) as loose, pytest.raises(ValueError, match="transaction"):
        fence_node(loose, "A", gen_a)


def test_a_fence_waits_for_a_takeover_in_flight_and_then_refuses(conns: Conns) -> None:
    a, b, watcher = conns
    key = ("api", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    committed(a, acquire(a, "A", [key], LEASE, generation=gen_a))
    dies(a, "A")
    assert acquire(b, "B", [key], LEASE, generation=gen_b) == {key: 2}  # not committed yet
    allowed: list[bool] = []
    writer = threading.Thread(target=lambda: allowed.append(fence_node(a, "A", gen_a)))
    writer.start()
    wait_for(lambda: _waiting_on_a_lock(watcher, a.info.backend_pid), 10, "A's fence to wait for B")
    b.commit()
    writer.join(10)
    assert allowed == [False]
    a.rollback()


def test_a_read_only_fence_takes_no_lock(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    committed(a, acquire(a, "A", [key], LEASE, generation=gen_a))
    dies(a, "A")
    assert fence_node(a, "A", gen_a, lock=False)  # A's transaction stays open
    assert committed(b, acquire(b, "B", [key], LEASE, generation=gen_b)) == {key: 2}  # not held up by A
    assert not fence_node(a, "A", gen_a, lock=False)
    a.rollback()


def test_the_per_key_fence_keeps_only_the_keys_whose_epoch_still_matches(conns: Conns) -> None:
    a, b, _ = conns
    one, two = ("api", "eu"), ("web", "eu")
    gen_a, gen_b = join(a, "A"), join(b, "B")
    held = committed(a, acquire(a, "A", [one, two], LEASE, generation=gen_a))
    dies(a, "A")
    assert committed(b, acquire(b, "B", [one], LEASE, generation=gen_b)) == {one: 2}
    assert fence(a, "A", held) == {two}  # inside A's transaction
    a.rollback()
    with connect(a.info.dsn, autocommit=True) as loose, pytest.raises(ValueError, match="transaction"):
        fence(loose, "A", held)


def test_heartbeats_say_who_is_alive(conns: Conns) -> None:
    a, b, _ = conns
    fra = NodeInfo("fra-1", "eu-west", "h1", ("api", "web"), version="1.0", pid=10, host="fra")
    nyc = NodeInfo("nyc-1", "us-east", "h1", ("api", "web"), version="1.0", pid=20, host="nyc")
    assert committed(a, heartbeat(a, fra)).clash is None
    assert committed(b, heartbeat(b, nyc)).clash is None
    rows = {row.name: row for row in nodes(a)}
    assert sorted(rows) == ["fra-1", "nyc-1"]
    assert rows["fra-1"].alive and rows["fra-1"].location == "eu-west"
    assert rows["fra-1"].monitors == {"api", "web"} and 0 <= rows["fra-1"].age < 5
    started = rows["fra-1"].started_at
    lapse(a, "node", "heartbeat_at", "true", (), seconds=13)  # both miss their beats for 13 s
    assert not any(row.alive for row in committed(a, nodes(a, 20)))  # dead after 0.6 of the lease
    heartbeat(a, NodeInfo("fra-1", "eu-west", "h1", ("api", "web"), pid=10, host="fra", owned=2,
                          lateness_p99_ms=12.5), 20, rows["fra-1"].generation)
    a.commit()
    rows = {row.name: row for row in nodes(a, 20)}
    assert rows["fra-1"].alive and not rows["nyc-1"].alive and rows["nyc-1"].age > 12
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
    assert committed(a, heartbeat(a, NodeInfo("fra-1", "eu", "h", (), pid=10, host="fra"))).clash is None
    clash = committed(b, heartbeat(b, NodeInfo("fra-1", "eu", "h", (), pid=11, host="fra"))).clash
    assert clash is not None and "pid 10 on fra" in clash and "[cluster] node" in clash
    row = nodes(a)[0]
    assert row.pid == 11
    # A heartbeat long gone (a restart after a crash) is no clash.
    wait_for(lambda: not committed(a, nodes(a, 0.3))[0].alive, 10, "the old beat to age")
    assert committed(a, heartbeat(a, NodeInfo("fra-1", "eu", "h", (), pid=12, host="fra"), 0.3)).clash is None


def test_cluster_status_counts_leases_and_flags_a_different_config(conns: Conns) -> None:
    a, _, _ = conns
    for name, config in (("n1", "same"), ("n2", "same"), ("n3", "other"), ("n4", "same")):
        heartbeat(a, NodeInfo(name, f"loc-{name}", config, ("api", "web"), pid=1, host=name))
    acquire(a, "n1", [("api", ""), ("web", ""), ("api", "loc-n1")], LEASE)
    acquire(a, "n2", [("db", ""), ("api", "loc-n2")], LEASE)
    acquire(a, "n4", [("cache", "")], LEASE)
    a.commit()
    dies(a, "n4")  # its lease is not counted: nobody checks that monitor until it is taken over
    status = {row.node.name: row for row in cluster_status(a)}
    assert {name: (row.owning, row.checking, row.config_differs) for name, row in status.items()} == {
        "n1": (2, 1, False), "n2": (1, 1, False), "n3": (0, 0, True), "n4": (0, 0, False)}
    assert not status["n4"].node.alive
    assert status["n1"].node.location == "loc-n1" and status["n1"].node.alive


def test_location_results_are_written_only_under_the_location_lease(conns: Conns) -> None:
    a, b, _ = conns
    key = ("api", "eu-west")
    join(a, "A")
    join(b, "B")
    held_a = committed(a, acquire(a, "A", [key, ("api", "us-east")], LEASE))
    failing = LocationResult("api", "eu-west", False, 2, "HTTP 503", 40.0, 1000.0)
    assert committed(a, write_location_state(a, "A", held_a, [failing])) == {key}
    dies(a, "A")
    held_b = committed(b, acquire(b, "B", [key], LEASE))
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
    gen_a, gen_b = join(a, "A"), join(b, "B")
    held = acquire(a, "A", keys, LEASE, generation=gen_a)
    a.commit()
    timings["acquire"] = time.perf_counter() - began
    began = time.perf_counter()
    assert len(fence(a, "A", held)) == 10_000
    a.commit()
    timings["per-key fence"] = time.perf_counter() - began
    began = time.perf_counter()
    assert fence_node(a, "A", gen_a)  # what a commit of the engine checks, however many keys
    a.commit()
    timings["node fence"] = time.perf_counter() - began
    began = time.perf_counter()
    assert acquire(b, "B", keys, LEASE, generation=gen_b) == {}
    b.commit()
    timings["refused acquire"] = time.perf_counter() - began
    print("10,000 keys: " + ", ".join(f"{what} {seconds * 1000:.0f} ms" for what, seconds in timings.items()))
    assert len(held) == 10_000 and set(held.values()) == {1}
    assert timings["acquire"] < 5.0  # well under a second here; generous for a loaded machine


def test_the_store_s_own_connections_work_inside_its_write_transactions(pg_url: str) -> None:
    """The engine hands these functions the store's PostgreSQL connection (autocommit, BEGIN by
    `writing()`); the store's migration is the whole schema, CLUSTER_SCHEMA again changes nothing."""
    db = PgDatabase(pg_url)
    try:
        pg_schema.migrate(db, pg_url, SCHEMA_VERSION)
        with db.writing():
            for statement in CLUSTER_SCHEMA:
                db.execute_sql(statement)
        key = ("api", "")
        with db.writing():
            own = heartbeat(db.connection(), NodeInfo("A", "eu", "h", ("api",))).generation
        with db.writing():
            held = acquire(db.connection(), "A", [key], LEASE, generation=own)
        assert held == {key: 1}
        with db.writing():
            assert fence_node(db.connection(), "A", own)
            db.execute_sql("UPDATE monitor SET status = 'down' WHERE name = 'api'")  # the fenced write
        with pytest.raises(ValueError, match="transaction"):
            fence_node(db.connection(), "A", own)  # outside writing(): no transaction to hold the lock
        with pytest.raises(peewee.DatabaseError, match="interval"), db.writing():
            acquire(db.connection(), "A", [key], float("nan"))  # psycopg's errors come out as the store's
    finally:
        db.close_all()


def test_a_database_at_schema_10_gets_node_generations_and_keeps_its_leases(pg_url: str) -> None:
    """Migration 11 on a cluster that ran at 10: each node row gets its own generation, leases stay
    with their epochs and lose their expiry."""
    db = PgDatabase(pg_url)
    try:
        pg_schema.migrate(db, pg_url, 10)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for name in ("n1", "n2"):
                conn.execute("INSERT INTO node (name) VALUES (%s)", (name,))
            conn.execute("INSERT INTO lease (monitor, slot, node, epoch, expires_at) "
                         "VALUES ('api', '', 'n1', 4, clock_timestamp())")
        assert pg_schema.migrate(db, pg_url, SCHEMA_VERSION) == 10
        with psycopg.connect(pg_url) as conn:
            generations = [g for (g,) in conn.execute("SELECT generation FROM node ORDER BY name")]
            assert len(set(generations)) == 2
            assert [(row.key, row.node, row.epoch) for row in leases(conn)] == [(("api", ""), "n1", 4)]
            fresh = heartbeat(conn, NodeInfo("n3", "eu", "h", ("api",))).generation
            assert fresh not in generations
    finally:
        db.close_all()
