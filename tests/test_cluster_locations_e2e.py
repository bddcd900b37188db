"""End to end: confirmation from several locations (DESIGN §12, issue #14).

Three `shiptrack --daemon` nodes on one real PostgreSQL, in eu-west, us-east and ap-south, each
leaving from its own loopback address (127.0.0.2, .3, .4: `[cluster] source_address`), share one
monitor checked from all three with `confirm = 2`, against a loopback target that answers by
client address. Refused from one location: nothing opens, and `status --json` shows that
location failing with its reason. Refused everywhere: exactly one incident and one OPEN at the
Apprise receiver, naming the locations. Answered again: one RESOLVED.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from address_target import AddressTarget
from receiver import Receiver
from waiting import wait_for

PLACES = {"eu-west": ("fra-1", "127.0.0.2"), "us-east": ("nyc-1", "127.0.0.3"),
          "ap-south": ("bom-1", "127.0.0.4")}

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
location = "{location}"
lease = "5s"
source_address = "{address}"

[[monitor]]
name = "api"
url = "{target}"
locations = ["eu-west", "us-east", "ap-south"]
confirm = 2
"""


@pytest.fixture
def target() -> Iterator[AddressTarget]:
    with AddressTarget() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str, target: AddressTarget, receiver: Receiver
          ) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = []
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        for location, (node, address) in PLACES.items():
            config = tmp_path / f"{node}.toml"
            config.write_text(CONFIG.format(url=pg_url, hook=receiver.url("hook"), node=node,
                                            location=location, address=address, target=target.url))
            log = (tmp_path / f"{node}.log").open("w")
            logs.append(log)
            procs[node] = subprocess.Popen(
                [sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config)],
                stdout=subprocess.DEVNULL, stderr=log, env=env)
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
        for node in procs:
            text = (tmp_path / f"{node}.log").read_text()
            assert "Traceback" not in text, f"{node}:\n{text}"


def status(tmp_path: Path) -> dict[str, Any]:
    """`shiptrack status --json` of the one monitor, as any node's config reads it ({} before the
    nodes stored it)."""
    out = subprocess.run([sys.executable, "-m", "shiptrack_tui", "--config", str(tmp_path / "fra-1.toml"),
                          "status", "--json"], capture_output=True, text=True, timeout=30, check=True)
    rows = json.loads(out.stdout)
    assert len(rows) <= 1, rows
    return rows[0] if rows else {}


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def told(receiver: Receiver, transition: str) -> list[str]:
    """The titles of the notifications of one transition ("[OPEN] api — HTTP 503 from ...")."""
    return [title for title in receiver.titles("hook") if title.startswith(f"[{transition}] api")]


def incidents(url: str) -> list[tuple[str, str]]:
    return [(state, cause) for state, cause in query(url, "SELECT state, cause FROM incident ORDER BY id")]


def folded_checks(url: str) -> int:
    [(count,)] = query(url, 'SELECT count(*) FROM "check"')
    return int(count)


def test_confirm_two_of_three_locations(nodes: dict[str, subprocess.Popen[bytes]], tmp_path: Path,
                                        pg_url: str, target: AddressTarget, receiver: Receiver) -> None:
    begun = time.monotonic()
    eu, us, ap = (PLACES[place][1] for place in ("eu-west", "us-east", "ap-south"))
    target.set_refused(ap)

    def ap_south_failing() -> bool:
        try:
            found = query(pg_url, "SELECT location, ok, failures FROM location_state WHERE monitor = 'api'")
        except psycopg.errors.UndefinedTable:  # no node has made the cluster tables yet
            return False
        rows = {place: (ok, failures) for place, ok, failures in found}
        return len(rows) == 3 and rows["ap-south"][1] >= 2 and rows["eu-west"][0] and rows["us-east"][0]

    # Watched in the table (cheap), then read as a user would: `status --json`.
    wait_for(ap_south_failing, timeout=30, what="ap-south failing, the others ok", poll=0.2)
    row = status(tmp_path)
    by_place = {item["location"]: item for item in row["locations"]}
    assert [item["location"] for item in row["locations"]] == ["eu-west", "us-east", "ap-south"]
    south = by_place["ap-south"]
    assert south["failures"] >= 2
    assert south["ok"] is False and south["reason"].startswith("HTTP 503") and south["node"] == "bom-1"
    assert south["checked_at"].endswith("Z")
    assert {place: (item["ok"], item["node"]) for place, item in by_place.items() if place != "ap-south"} == {
        "eu-west": (True, "fra-1"), "us-east": (True, "nyc-1")}
    assert target.clients() == {eu, us, ap}  # each node from its own address, and only those

    # One location failing is not confirmed: the owner's folded checks go on, nothing opens, and the
    # monitor shows degraded (reachable from two places, not from the third), counted as up.
    seen = folded_checks(pg_url)
    wait_for(lambda: folded_checks(pg_url) >= seen + 2, timeout=10, what="two more folded checks")
    assert incidents(pg_url) == [] and receiver.titles() == []
    row = status(tmp_path)
    assert row["state"] == "degraded" and row["open_incident"] is None

    # Refused everywhere: exactly one incident, one OPEN, naming the locations.
    target.set_refused("*")
    [opened] = wait_for(lambda: told(receiver, "OPEN"), timeout=20, what="the OPEN")
    [(state, cause)] = incidents(pg_url)
    assert state == "open"
    assert cause.startswith("HTTP 503 from ") and all(place in cause for place in PLACES), cause
    assert cause in opened
    row = status(tmp_path)
    assert row["state"] == "down" and row["open_incident"] is not None
    assert all(not item["ok"] for item in row["locations"])

    # Recovered: one RESOLVED, and still the one incident and the one OPEN.
    target.set_refused()
    wait_for(lambda: told(receiver, "RESOLVED"), timeout=20, what="the RESOLVED")
    [(state, _cause)] = incidents(pg_url)
    assert state == "resolved"
    assert len(told(receiver, "OPEN")) == 1 and len(told(receiver, "RESOLVED")) == 1
    assert len(receiver.titles()) == 2, receiver.titles()
    print(f"\nmulti-location story in {time.monotonic() - begun:.1f} s")
