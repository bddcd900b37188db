"""The engine as a cluster node, in-process against a real PostgreSQL server (DESIGN §12).

Fencing at the commit, the claimed outbox, the node-name lock, and two engines sharing monitors
and handing them over. The three-process story (kill -9, SIGSTOP) is tests/test_cluster_e2e.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.config import Config, NotifySettings
from shiptrack_tui.config.cluster import cluster_config_hash
from shiptrack_tui.config.settings import ClusterSettings
from shiptrack_tui.core.model import CheckResult, MonitorSpec, MonitorState, Outcome
from shiptrack_tui.demo import DemoTargetsThread
from shiptrack_tui.engine import Engine, EngineThread
from shiptrack_tui.engine.membership import ClusterLink, NodeTaken, claim_single_engine
from shiptrack_tui.storage import PipelineWrite, Store


def link(url: str, node: str, lease: float = 5.0) -> ClusterLink:
    joined = ClusterLink(url, ClusterSettings(node=node, location="here", lease=lease), "cafe")
    joined.prepare()
    return joined


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    opened = Store.open(pg_url)
    yield opened
    opened.close()


def checks(url: str, monitor: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute('SELECT count(*) FROM "check" AS c JOIN monitor AS m ON m.id = c.monitor_id '
                           "WHERE m.name = %s", (monitor,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_cluster_on_sqlite_is_refused_in_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text('[cluster]\nnode = "fra-1"\n\n[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n')
    out = subprocess.run([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                          "--db", str(tmp_path / "st.db")], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "[cluster] needs a PostgreSQL store" in out.stderr and "[storage] url" in out.stderr


def test_a_second_process_claiming_the_same_node_name_is_refused(store: Store, pg_url: str) -> None:
    first = link(pg_url, "fra-1")
    first.claim_name()
    second = link(pg_url, "fra-1")
    try:
        with pytest.raises(NodeTaken) as refused:
            second.claim_name()
        assert "already runs as cluster node 'fra-1'" in str(refused.value)
        assert "\n" not in str(refused.value)
        other = link(pg_url, "fra-2")
        other.claim_name()  # another name is welcome
        other.close()
    finally:
        first.close()
        second.close()


def test_a_lone_engine_and_cluster_nodes_never_share_a_database(store: Store, pg_url: str) -> None:
    alone = claim_single_engine(pg_url, None, "the test database")
    node = link(pg_url, "fra-1")
    with pytest.raises(NodeTaken, match="an engine without \\[cluster\\] runs on"):
        node.claim_name()
    with pytest.raises(RuntimeError, match="another ShipTrack engine already run"):
        claim_single_engine(pg_url, None, "the test database")
    alone.close()
    node.claim_name()  # the lone engine stopped: nodes may join
    node.beat(["api"], 0, None)
    with pytest.raises(RuntimeError) as refused:
        claim_single_engine(pg_url, None, "the test database")
    assert str(refused.value).startswith("cluster nodes (fra-1) already run on the test database; ")
    node.close()


def test_fencing_drops_the_writes_of_a_node_declared_dead(store: Store, pg_url: str) -> None:
    spec = MonitorSpec(name="api", url="http://127.0.0.1:9/")
    store.sync_monitors([spec], time.time())
    slow, fast = link(pg_url, "paused"), link(pg_url, "awake")
    slow.beat(["api"], 0, None)
    fast.beat(["api"], 0, None)
    old = slow.generation
    epoch = slow.acquire([("api", "")])[("api", "")]
    assert fast.acquire([("api", "")]) == {}  # the holder is alive
    with psycopg.connect(pg_url, autocommit=True) as conn:  # paused past the liveness timeout (3 s)
        conn.execute("UPDATE node SET heartbeat_at = heartbeat_at - interval '4 s' WHERE name = 'paused'")
    assert fast.acquire([("api", "")]) == {("api", ""): epoch + 1}  # declared dead, taken over

    def write(at: float, generation: int | None, transition: bool) -> PipelineWrite:
        result = CheckResult(monitor="api", at=at, outcome=Outcome.UP, latency_ms=1.0, status_code=200)
        notes = ((at, "a decisive write: its fence locks the node row"),) if transition else ()
        return PipelineWrite("api", MonitorState(), result=result, timeline_notes=notes, epoch=generation)

    store.fence = slow.fence
    store.commit_batch([write(time.time(), old, False)])
    store.commit_batch([write(time.time() + 1, old, True)])
    assert checks(pg_url, "api") == 0 and slow.fenced == 2  # the woken node wrote nothing
    assert slow.acquire([("api", "")]) == {}  # nor takes keys under its old generation
    seen = slow.beat(["api"], 0, None)  # its next beat finds out, and it rejoins
    assert seen.lost and seen.generation == slow.generation != old
    store.fence = fast.fence
    store.commit_batch([write(time.time() + 2, fast.generation, True)])
    assert checks(pg_url, "api") == 1 and fast.fenced == 0
    slow.close()
    fast.close()


def test_the_claimed_outbox_sends_each_row_from_one_node_only(store: Store, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, "
                     "created_at, attempts, next_attempt_at) VALUES (NULL, 'api', 'open', 'json://x', "
                     "'[OPEN] api', 'down', 'failure', %s, 0, 0.0)", (time.time(),))
    awake = {"a": True}
    a = link(pg_url, "a").outbox(store, lambda: awake["a"], send_timeout=1.0)
    b = link(pg_url, "b").outbox(store, lambda: True, send_timeout=1.0)
    [row] = a.due_outbox(time.time())
    assert b.due_outbox(time.time()) == []  # claimed: nobody else gets it
    awake["a"] = False
    assert not a.still_ours(row)  # a node whose leases lapsed does not send
    a.release_unsent([row])
    [again] = b.due_outbox(time.time())
    assert again.id == row.id and b.still_ours(again)
    b.record_attempt(again.id, time.time(), True, detail="delivered")
    a.record_attempt(row.id, time.time(), True)  # not ours any more: nothing recorded
    with psycopg.connect(pg_url, autocommit=True) as conn:
        attempts, delivered = conn.execute("SELECT attempts, delivered_at FROM outbox").fetchone()
    assert attempts == 1 and delivered is not None
    assert a.due_outbox(time.time()) == [] and b.due_outbox(time.time()) == []
    a.close()
    b.close()


def test_a_row_claimed_by_a_node_that_died_mid_send_is_claimed_again(store: Store, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, "
                     "created_at, attempts, next_attempt_at) VALUES (NULL, 'api', 'open', 'json://x', "
                     "'[OPEN] api', 'down', 'failure', %s, 0, 0.0)", (time.time(),))
    dead = link(pg_url, "dead", lease=0.3).outbox(store, lambda: True, send_timeout=0.1)
    alive = link(pg_url, "alive", lease=0.3).outbox(store, lambda: True, send_timeout=0.1)
    [row] = dead.due_outbox(time.time())  # ... and then it is killed, sending: nothing recorded
    assert alive.due_outbox(time.time()) == []
    [again] = wait_for(lambda: alive.due_outbox(time.time()), timeout=10, what="the claim expiring")
    assert again.id == row.id and alive.still_ours(again)
    assert not dead.still_ours(row)  # had it only been paused, it would not send now
    alive.record_attempt(again.id, time.time(), True)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT attempts FROM outbox").fetchone() == (1,)
    dead.close()
    alive.close()


def test_the_node_declaring_another_dead_frees_its_claims_a_send_margin_later(store: Store,
                                                                              pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO outbox (incident_id, monitor, transition, url, title, body, notify_type, "
                     "created_at, attempts, next_attempt_at) VALUES (NULL, 'api', 'open', 'json://x', "
                     "'[OPEN] api', 'down', 'failure', %s, 0, 0.0)", (time.time(),))
    dead_link, alive_link = link(pg_url, "dead"), link(pg_url, "alive")
    dead = dead_link.outbox(store, lambda: True, send_timeout=10.0)  # a claim lasts 27 s: 2 x 11 s + 5 s
    alive = alive_link.outbox(store, lambda: True, send_timeout=10.0)
    dead_link.beat(["api"], 0, None)
    assert dead_link.acquire([("api", "")]) == {("api", ""): 1}
    [row] = dead.due_outbox(time.time())  # ... and then it is killed before sending
    alive_link.beat(["api"], 0, None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE node SET heartbeat_at = heartbeat_at - interval '1 hour' WHERE name = 'dead'")
        assert alive_link.acquire([("api", "")]) == {("api", ""): 2}  # declared dead: claims cut to 11 s
        left = conn.execute("SELECT extract(epoch FROM claimed_until - clock_timestamp())::float8 "
                            "FROM outbox").fetchone()
        assert left is not None and 0 < left[0] <= 11.0
        assert alive.due_outbox(time.time()) == []
        conn.execute("UPDATE outbox SET claimed_until = claimed_until - interval '11 seconds'")
    [again] = alive.due_outbox(time.time())
    assert again.id == row.id and alive.still_ours(again)
    dead.close()
    alive.close()
    dead_link.close()
    alive_link.close()


def test_two_engines_share_the_monitors_and_hand_them_over_on_stop(pg_url: str, targets: DemoTargetsThread,
                                                                   tmp_path: Path) -> None:
    names = [f"m{i}" for i in range(6)]
    specs = tuple(MonitorSpec(name=n, url=f"{targets.base_url}/t/{n}", interval=0.5, timeout=0.4)
                  for n in names)
    with Receiver() as rx:
        config = Config(path=tmp_path / "none.toml", monitors=specs, notify=NotifySettings(urls=(rx.url(),)))
        engines = {}
        for node in ("a", "b"):
            opened = Store.open(pg_url)  # the schema first, as the daemon does
            joined = link(pg_url, node, lease=5.0)
            joined.claim_name()
            engines[node] = (EngineThread(Engine(config, opened, cluster=joined)), joined)
        for thread, _ in engines.values():
            thread.start()
        try:
            a, b = engines["a"][0].engine, engines["b"][0].engine

            def shared() -> bool:
                mine, theirs = set(a.held_keys()), set(b.held_keys())
                return (not (mine & theirs) and len(mine | theirs) == len(names) + 1
                        and bool(mine) and bool(theirs))

            wait_for(shared, timeout=20, what="the monitors shared by both engines")
            held_by_a = {m for m, _ in a.held_keys() if m in names}
            before = {n: checks(pg_url, n) for n in held_by_a}
            wait_for(lambda: all(checks(pg_url, n) > before[n] for n in held_by_a),
                     what="a checking its share")
            stopped = time.monotonic()
            engines["a"][0].stop()
            wait_for(lambda: {m for m, _ in b.held_keys()} >= set(names), timeout=10,
                     what="b holding every monitor")
            assert time.monotonic() - stopped < 5.0  # a handed its leases back: no lease wait
            after = {n: checks(pg_url, n) for n in held_by_a}
            wait_for(lambda: all(checks(pg_url, n) > after[n] for n in held_by_a),
                     what="b checking a's share")
        finally:
            for thread, joined in engines.values():
                thread.stop()
                thread.engine.store.close()
                joined.close()


def test_a_node_with_another_config_says_so_and_owns_only_monitors_its_config_has(
        pg_url: str, targets: DemoTargetsThread, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shiptrack.cluster")
    common = tuple(MonitorSpec(name=f"m{i}", url=f"{targets.base_url}/t/m{i}", interval=0.5, timeout=0.4)
                   for i in range(4))
    extra = MonitorSpec(name="only-on-b", url=f"{targets.base_url}/t/extra", interval=0.5, timeout=0.4)
    configs = {"a": Config(path=tmp_path / "a.toml", monitors=common),
               "b": Config(path=tmp_path / "b.toml", monitors=(*common, extra))}
    engines = {}
    for node, config in configs.items():
        opened = Store.open(pg_url)
        joined = ClusterLink(pg_url, ClusterSettings(node=node, location="here", lease=5.0),
                             cluster_config_hash(config))
        joined.prepare()
        joined.claim_name()
        engine = Engine(config, opened, cluster=joined, send_notifications=False)
        engines[node] = (EngineThread(engine), joined)
    for thread, _ in engines.values():
        thread.start()
    try:
        a, b = engines["a"][0].engine, engines["b"][0].engine
        wait_for(lambda: ("only-on-b", "") in b.held_keys() and len(a.held_keys()) + len(b.held_keys()) == 6,
                 timeout=20, what="every lease held, the extra monitor by b")
        for _ in range(3):  # it stays so, round after round
            assert ("only-on-b", "") not in a.held_keys()
            time.sleep(0.5)
        wait_for(lambda: checks(pg_url, "only-on-b") > 0, what="b checking its extra monitor")
        with psycopg.connect(pg_url, autocommit=True) as conn:  # a's config sync retired nothing of b's
            listed = conn.execute("SELECT name FROM monitor WHERE removed = 0 ORDER BY name").fetchall()
        assert [name for (name,) in listed] == ["m0", "m1", "m2", "m3", "only-on-b"]
        said = [r.getMessage() for r in caplog.records if "runs a different config" in r.getMessage()]
        assert any(line.startswith("node b runs a different config (hash ") for line in said), said
        assert any(line.startswith("node a runs a different config (hash ") for line in said), said
        assert all("it owns only monitors its config has" in line for line in said)

        def removed(name: str) -> bool:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                row = conn.execute("SELECT removed FROM monitor WHERE name = %s", (name,)).fetchone()
            return bool(row and row[0])

        engines["b"][0].stop()  # b leaves cleanly: no node runs its extra monitor any more
        wait_for(lambda: removed("only-on-b"), timeout=15, what="the extra monitor retired")
        assert not any(removed(f"m{i}") for i in range(4))
    finally:
        for thread, joined in engines.values():
            thread.stop()
            thread.engine.store.close()
            joined.close()
