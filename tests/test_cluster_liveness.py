"""Node-level liveness with in-process engines on a real PostgreSQL (engine/cluster.py, DESIGN §12).

A node declared dead by another (its heartbeat older than the liveness timeout, 0.6 of the lease)
drops every lease at once and rejoins under a new generation; after a database outage, when every
heartbeat is old, the first node back declares nobody dead for a lease. Time passing for a
heartbeat is the row's `heartbeat_at` moved back, as in tests/cluster_helpers.py's `lapse`; a
hung node is an engine whose membership thread is kept busy (its checks go on, its rounds wait).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_server import PostgresServer
from waiting import wait_for

from shiptrack_tui.config import Config
from shiptrack_tui.config.cluster import cluster_config_hash
from shiptrack_tui.config.settings import ClusterSettings
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.engine.membership import ClusterLink
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.cluster import acquire
from shiptrack_tui.storage.cluster_nodes import NodeInfo, heartbeat

LEASE = 5.0  # liveness timeout 3 s, rounds every 1.25 s
NAMES = tuple(f"m{i}" for i in range(6))


def _config(tmp_path: Path, targets: DemoTargetsThread) -> Config:
    specs = tuple(MonitorSpec(name=n, url=f"{targets.base_url}/t/{n}", interval=0.5, timeout=0.4)
                  for n in NAMES)
    return Config(path=tmp_path / "none.toml", monitors=specs)


def _node(url: str, name: str, config: Config) -> tuple[EngineThread, ClusterLink]:
    store = Store.open(url)
    joined = ClusterLink(url, ClusterSettings(node=name, location="here", lease=LEASE), "cafe")
    joined.prepare()
    joined.claim_name()
    return EngineThread(Engine(config, store, cluster=joined, send_notifications=False)), joined


def _stop(nodes: list[tuple[EngineThread, ClusterLink]]) -> None:
    for thread, joined in nodes:
        thread.stop()
        thread.engine.store.close()
        joined.close()


def _sql(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def _generation(url: str, node: str) -> int:
    [(generation,)] = _sql(url, "SELECT generation FROM node WHERE name = %s", node)
    return int(generation)


def _said(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def test_a_node_declared_dead_drops_every_lease_at_once_and_rejoins(
        pg_url: str, targets: DemoTargetsThread, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shiptrack.cluster")
    config = _config(tmp_path, targets)
    nodes = [_node(pg_url, name, config) for name in ("a", "b")]
    for thread, _ in nodes:
        thread.start()
    try:
        (ta, la), (tb, _) = nodes
        a, b = ta.engine, tb.engine
        wait_for(lambda: bool(a.held_keys()) and bool(b.held_keys())
                 and len(set(a.held_keys()) | set(b.held_keys())) == len(NAMES) + 1,
                 timeout=20, what="the monitors shared by both engines")
        before = la.generation
        held = {m for m, _ in a.held_keys() if m in NAMES}
        # a's membership thread hangs for 2 lease: no heartbeat, while its checks go on until it
        # stops trusting its leases (0.6 lease after its last beat began).
        pool = a._cluster_pool
        assert pool is not None
        hung = pool.submit(time.sleep, 2 * LEASE)
        try:
            wait_for(lambda: {m for m, _ in b.held_keys()} >= set(NAMES), timeout=15,
                     what="b declaring a dead and taking every monitor")
            assert _generation(pg_url, "a") != before  # declared dead in the takeover's transaction
            assert not a.held_keys()  # and a no longer trusts its own: it checks nothing
            [dropped] = wait_for(lambda: _said(caplog, "this node was declared dead"), timeout=2 * LEASE,
                                 what="a finding out on its next beat")
            assert la.generation not in (None, before)  # rejoined under a new generation
            assert "lost its" in dropped.getMessage() and held  # every lease at once, checks stopped
            assert not {m for m, _ in a.held_keys()} & set(NAMES)  # nothing of b's while a looks dead
        finally:
            hung.result(3 * LEASE)
        # Alive again: b hands a its share back through the plan, and a checks it.
        wait_for(lambda: bool({m for m, _ in a.held_keys()} & set(NAMES))
                 and not set(a.held_keys()) & set(b.held_keys()), timeout=15, what="a back with a share")
        assert {m for m, _ in a.held_keys()} | {m for m, _ in b.held_keys()} >= set(NAMES)
    finally:
        _stop(nodes)


def test_after_an_outage_the_first_node_back_declares_nobody_dead_for_a_lease(
        pg_url: str, postgres_server: PostgresServer, targets: DemoTargetsThread, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Node b (plain SQL here) holds every monitor; node a runs. The database stops for longer
    than the liveness timeout, and b does not come back: for one lease after the database is
    back, a takes nothing of b's though b's heartbeat is old; then it declares b dead and takes
    over."""
    caplog.set_level(logging.INFO, logger="shiptrack.cluster")
    config = _config(tmp_path, targets)
    Store.open(pg_url).close()  # the schema, cluster tables included
    info = NodeInfo("b", "here", cluster_config_hash(config), NAMES, pid=1, host="b")
    with psycopg.connect(pg_url) as conn:
        gen_b = heartbeat(conn, info, LEASE).generation
        acquire(conn, "b", [(name, "") for name in NAMES], LEASE, generation=gen_b)
        conn.commit()
    beating = threading.Event()
    beating.set()

    def beat_b() -> None:
        with psycopg.connect(pg_url) as conn:
            while beating.is_set():
                heartbeat(conn, info, LEASE, gen_b)
                conn.commit()
                time.sleep(0.3)

    beater = threading.Thread(target=beat_b)
    beater.start()
    nodes = [_node(pg_url, "a", config)]
    nodes[0][0].start()
    a = nodes[0][0].engine
    try:
        wait_for(lambda: _said(caplog, "node b joined"), timeout=15, what="a joined, seeing b")
        time.sleep(2 * LEASE / 4)  # a few rounds: b is alive, so a takes none of its monitors
        assert not {m for m, _ in a.held_keys()} & set(NAMES)
        beating.clear()
        beater.join()
        postgres_server.stop()
        time.sleep(0.6 * LEASE + 1.0)  # b's heartbeat is now older than the liveness timeout
        postgres_server.start()
        [back] = wait_for(lambda: _said(caplog, "the database is back"), timeout=20, what="a back")
        moved_at = None
        deadline = back.created + 3 * LEASE
        while time.time() < deadline:
            owners = {node for (node,) in _sql(pg_url, "SELECT DISTINCT node FROM lease "
                                                         "WHERE slot = '' AND monitor <> '*cluster'")}
            if owners != {"b"}:
                moved_at = time.time()
                break
            time.sleep(0.1)
        assert moved_at is not None, "b's monitors were never taken over"
        assert moved_at - back.created >= LEASE - 0.2  # polite for a lease after the outage
        wait_for(lambda: {m for m, _ in a.held_keys()} >= set(NAMES), timeout=10,
                 what="a holding every monitor")
        assert _generation(pg_url, "b") != gen_b  # and now b was declared dead
    finally:
        beating.clear()
        if not postgres_server.running:
            postgres_server.start()
        _stop(nodes)
