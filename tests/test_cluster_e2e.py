"""End to end: three `shiptrack --daemon` nodes share one PostgreSQL (DESIGN §12, issue #14).

Real processes, a real PostgreSQL server, loopback targets and real Apprise delivery to a
loopback receiver. The configs differ only in `[cluster] node`; the lease is 5 s (the shortest
allowed) and the monitors check every second, so the whole story fits in well under a minute:
(a) the monitors are spread over the nodes and each is checked by exactly one; (b) kill -9 of a
node whose monitor has an open incident and an undelivered OPEN: another node takes it over
within the lease (asserted), the incident goes on, the OPEN is delivered once; (c) SIGSTOP of a node for
twice the lease: once it wakes it writes no transition and sends nothing for the monitors taken
over, and it gets its share back.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.demo import DemoTargetsThread

LEASE = 5.0
NODES = ("n1", "n2", "n3")
MONITORS = tuple(f"m{i}" for i in range(9))  # 3 / 3 / 3 over n1, n2, n3 by core.cluster.assign

CONFIG = """\
[defaults]
interval = "1s"
timeout = "500ms"
failure_threshold = 2
recovery_threshold = 2

[storage]
url = "{url}"

[notify]
urls = ["{hook}"]

[cluster]
node = "{node}"
location = "here"
lease = "5s"
{monitors}
"""


class Node:
    """One daemon process; its stderr goes to a file the test reads."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.name = name
        self.config = workdir / f"{name}.toml"
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=self._log)

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
        code = self.proc.wait(20)
        self._log.close()
        return code


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, targets: DemoTargetsThread,
            receiver: Receiver) -> Iterator[dict[str, Node]]:
    monitors = "".join(f'\n[[monitor]]\nname = "{m}"\nurl = "{targets.base_url}/t/{m}"\n' for m in MONITORS)
    for name in NODES:
        (tmp_path / f"{name}.toml").write_text(CONFIG.format(url=pg_url, hook=receiver.url("hook"), node=name,
                                                             monitors=monitors))
    nodes: dict[str, Node] = {}
    try:
        for name in NODES:
            nodes[name] = Node(tmp_path, name)
        yield nodes
    finally:
        for node in nodes.values():
            if node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()
            print(f"--- {node.name}'s log (shown when the test fails) ---\n{node.log[-6000:]}")


# -- reading the shared database ---------------------------------------------------------------
def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def owners(url: str) -> dict[str, str]:
    """Monitor -> the node holding its owner lease, while that node is alive (its heartbeat within
    the liveness timeout, 0.6 of the lease)."""
    try:
        rows = query(url, "SELECT l.monitor, l.node FROM lease AS l JOIN node AS n ON n.name = l.node "
                          "WHERE l.slot = '' "
                          "AND n.heartbeat_at > clock_timestamp() - make_interval(secs => %s)", 0.6 * LEASE)
    except psycopg.errors.UndefinedTable:  # no node has joined yet
        return {}
    return {monitor: node for monitor, node in rows if monitor in MONITORS}


def check_times(url: str, since: float) -> dict[str, list[float]]:
    """Each monitor's check times (seconds) since `since`, in order."""
    rows = query(url, 'SELECT m.name, c.at_ms FROM "check" AS c JOIN monitor AS m ON m.id = c.monitor_id '
                      "WHERE c.at_ms >= %s ORDER BY c.at_ms", int(since * 1000))
    out: dict[str, list[float]] = {name: [] for name in MONITORS}
    for name, at_ms in rows:
        out[name].append(at_ms / 1000)
    return out


def doubled(times: list[float], interval: float = 1.0) -> int:
    """Checks within a quarter interval of the one before: two nodes checked in the same slot
    (every node puts a monitor on the same wall-clock grid, so such twins are milliseconds apart;
    a check started late on a busy machine is rarely 0.75 s late)."""
    return sum(1 for a, b in itertools.pairwise(times) if b - a < interval / 4)


def incidents_of(url: str, monitor: str) -> list[tuple[int, str]]:
    return query(url, "SELECT i.id, i.state FROM incident AS i JOIN monitor AS m ON m.id = i.monitor_id "
                      "WHERE m.name = %s ORDER BY i.id", monitor)


def opened_events(url: str, monitor: str) -> int:
    [(count,)] = query(url, "SELECT count(*) FROM timeline AS t JOIN incident AS i ON i.id = t.incident_id "
                            "JOIN monitor AS m ON m.id = i.monitor_id "
                            "WHERE m.name = %s AND t.kind = 'opened'", monitor)
    return int(count)


def outbox_rows(url: str, monitor: str) -> list[tuple[str, int, Any]]:
    return query(url, "SELECT transition, attempts, delivered_at FROM outbox WHERE monitor = %s ORDER BY id",
                 monitor)


def failures(url: str, monitor: str) -> int:
    [(count,)] = query(url, "SELECT consecutive_failures FROM monitor WHERE name = %s", monitor)
    return int(count or 0)


def told(receiver: Receiver, what: str) -> int:
    """How many messages titled `what` ("[OPEN] m1", then " — the cause") the receiver got."""
    return sum(1 for title in receiver.titles("hook") if title == what or title.startswith(what + " "))


# -- the story -----------------------------------------------------------------------------------
@pytest.mark.timeout(300)  # ~50 s alone; more on a machine busy with the rest of the suite
def test_three_nodes_share_kill_9_takeover_and_sigstop_fencing(cluster: dict[str, Node], pg_url: str,
                                                              targets: DemoTargetsThread,
                                                              receiver: Receiver) -> None:
    begun = time.monotonic()
    # (a) Spread: every monitor has one live owner, and all three nodes own some.
    spread = wait_for(lambda: (o := owners(pg_url)) and len(o) == len(MONITORS)
                      and set(o.values()) == set(NODES) and o,
                      timeout=60, what="the monitors spread over three nodes", poll=0.2)
    window_start = time.time()
    time.sleep(4.0)
    counts = {name: len(times) for name, times in check_times(pg_url, window_start).items()}
    print(f"\nspread: {sorted(spread.items())}; checks per monitor in 4 s: {counts}")
    assert all(3 <= n <= 5 for n in counts.values()), counts  # ~one a second: one node each, never two

    # (b) Kill -9 the owner of m1 while m1 has an open incident and an undelivered OPEN.
    victim_name = spread["m1"]
    victim = cluster[victim_name]
    receiver.down()
    targets.set_down("t/m1")
    wait_for(lambda: any(state == "open" for _id, state in incidents_of(pg_url, "m1")),
             what="m1 incident open")
    wait_for(lambda: any(t == "open" and attempts >= 1 and at is None
                         for t, attempts, at in outbox_rows(pg_url, "m1")),
             what="the OPEN attempted and not delivered (receiver down)")
    killed_at = time.time()
    victim.proc.kill()
    victim.proc.wait()
    receiver.up()
    new_owner = wait_for(lambda: (o := owners(pg_url).get("m1")) not in (None, victim_name) and o,
                         timeout=LEASE + 15, what="m1 taken over", poll=0.05)
    leased = time.time() - killed_at
    first_check = wait_for(lambda: check_times(pg_url, killed_at)["m1"][:1], timeout=10,
                           what="m1 checked again")
    takeover = first_check[0] - killed_at
    print(f"kill -9 of {victim_name}: m1's lease taken by {new_owner} {leased:.1f} s after the kill, "
          f"checked again after {takeover:.1f} s (lease {LEASE:g} s, rounds every {LEASE / 4:g} s)")
    assert leased <= LEASE  # liveness timeout 0.6 lease + a round (0.25 lease) + the takeover itself
    assert takeover <= leased + 3.0  # then at its next slot on the grid (every second)
    wait_for(lambda: told(receiver, "[OPEN] m1") == 1, timeout=20, what="the OPEN delivered")
    [(incident_id, state)] = incidents_of(pg_url, "m1")
    assert state == "open" and opened_events(pg_url, "m1") == 1  # continued, never re-opened
    targets.set_up("t/m1")
    wait_for(lambda: told(receiver, "[RESOLVED] m1") == 1, timeout=25, what="m1 resolved")
    assert incidents_of(pg_url, "m1") == [(incident_id, "resolved")]
    assert told(receiver, "[OPEN] m1") == 1
    left = [n for n in NODES if n != victim_name]
    wait_for(lambda: set(owners(pg_url).values()) == set(left) and len(owners(pg_url)) == len(MONITORS),
             what="the victim's monitors shared by the two others", poll=0.2)

    # (c) SIGSTOP the owner of another monitor for twice the lease, right after that monitor's
    # first failure: one more failing check would open its incident. Unfenced, the sleeper would
    # open a second one on waking (its memory says one failure so far); the other node opens one.
    now_owners = owners(pg_url)
    sleeper_name = next(n for n in left if n in now_owners.values())
    watched = next(m for m, n in sorted(now_owners.items()) if n == sleeper_name and m != "m1")
    sleeper = cluster[sleeper_name]
    targets.set_down(f"t/{watched}")
    wait_for(lambda: failures(pg_url, watched) >= 1, what=f"{watched}'s first failure stored")
    sleeper.proc.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    wait_for(lambda: told(receiver, f"[OPEN] {watched}") == 1, timeout=LEASE + 20,
             what=f"{watched} taken over while {sleeper_name} sleeps and its incident told")
    time.sleep(max(0.0, stopped_at + 2 * LEASE - time.time()))
    woke_at = time.time()
    sleeper.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: sleeper_name in owners(pg_url).values(), timeout=LEASE + 15,
             what=f"{sleeper_name} back with a share", poll=0.2)
    targets.set_up(f"t/{watched}")
    wait_for(lambda: told(receiver, f"[RESOLVED] {watched}") == 1, timeout=25,
             what=f"{watched} resolved")
    assert [state for _id, state in incidents_of(pg_url, watched)] == ["resolved"]
    assert opened_events(pg_url, watched) == 1
    assert told(receiver, f"[OPEN] {watched}") == 1
    assert "this node was declared dead" in sleeper.log  # it learnt on waking, dropped its leases, rejoined
    print(f"SIGSTOP of {sleeper_name} for {woke_at - stopped_at:.1f} s: {watched} opened and resolved once")

    # Over the whole run: no monitor was checked twice at once more than once (the overlaps).
    times = check_times(pg_url, window_start)
    overlaps = {name: doubled(t) for name, t in times.items()}
    print(f"doubled checks per monitor: {overlaps}")
    assert all(n <= 1 for n in overlaps.values()), overlaps
    for name in left:
        assert cluster[name].stop() == 0
    every_open = [t.split(" — ")[0] for t in receiver.titles("hook") if t.startswith("[OPEN]")]
    assert sorted(every_open) == sorted({*every_open}), every_open  # one OPEN per incident
    print(f"e2e took {time.monotonic() - begun:.1f} s")
