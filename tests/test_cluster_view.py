"""What readers say about a cluster (core/cluster_view.py, cluster_report.py): pure, no database."""

from __future__ import annotations

import re
from pathlib import Path

from shiptrack_tui.cluster_report import cluster_json, cluster_table
from shiptrack_tui.core.cluster_view import (
    Checker,
    ClusterHeader,
    ClusterNode,
    checkers_text,
    unserved_locations,
    wanted_locations,
)
from shiptrack_tui.core.model import MonitorSpec

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_790_000_000.0


def node(name: str, *, alive: bool = True, age: float = 2.0, owned: int = 0, config: str = "aaaaaaaaaaaa",
         location: str = "eu-west", lateness: float | None = 12.0) -> ClusterNode:
    return ClusterNode(name=name, location=location, last_heartbeat=T0 - age, heartbeat_age=age, alive=alive,
                       monitors_owned=owned, config_hash=config, lateness_p99_ms=lateness,
                       started_at=T0 - 3600)


NODES = (node("fra-1", owned=5000), node("fra-2", owned=4999, config="bbbbbbbbbbbb", age=1.4),
         node("fra-3", owned=1), node("nyc-1", alive=False, age=65.0, location="us-east", lateness=None,
                                      config="cccccccccccc"))


def test_the_header_counts_live_nodes_and_names_skewed_ones() -> None:
    header = ClusterHeader.of(NODES)
    assert (header.nodes_text, header.missing, header.skew_text) == ("3 of 4 nodes alive", True,
                                                                     "config skew: fra-2")
    calm = ClusterHeader.of((node("a"), node("b")))
    assert (calm.nodes_text, calm.missing, calm.skew_text) == ("2 nodes alive", False, "")
    assert ClusterHeader.of(NODES[:1]).nodes_text == "1 node alive"
    # a dead node's other config is no skew (nyc-1 above): it runs nothing; with no majority,
    # every live node is out of step, as the engines log it
    assert ClusterHeader.of(NODES[:2]).skew_text == "config skew: fra-1, fra-2"


def test_who_checks_a_monitor() -> None:
    owner = Checker("fra-1", "eu-west")
    located = (Checker("nyc-1", "us-east", "us-east"), Checker("fra-2", "eu-west", "eu-west"))
    assert checkers_text([owner]) == "fra-1 (eu-west)"
    assert checkers_text([*located, owner]) == "fra-1 (eu-west); from eu-west by fra-2, us-east by nyc-1"
    assert checkers_text(located[:1]) == "from us-east by nyc-1"  # the owner's lease lapsed
    assert checkers_text([]) == ""


def test_the_table_marks_skew_and_ends_with_a_summary() -> None:
    lines = cluster_table(NODES).splitlines()
    assert lines[0].split() == ["NODE", "LOCATION", "HEARTBEAT", "MONITORS", "CONFIG", "LATENESS", "P99"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert re.search(r"fra-1 +eu-west +alive, 2s ago +5,000 +aaaaaaaaaaaa +12 ms$", rows["fra-1"])
    assert re.search(r"alive, 1s ago +4,999 +bbbbbbbbbbbb ≠ +12 ms$", rows["fra-2"])
    assert re.search(r"nyc-1 +us-east +dead, 1m 5s ago +0 +cccccccccccc +—$", rows["nyc-1"])
    assert list(rows) == ["fra-1", "fra-2", "fra-3", "nyc-1"]  # live ones first
    assert lines[-1] == ("3 of 4 nodes alive · 10,000 monitors owned · ≠ config differs on fra-2 "
                         "(bbbbbbbbbbbb); the others run aaaaaaaaaaaa")
    assert "start `shiptrack --daemon`" in cluster_table([])


def test_the_json_is_utc_and_documented() -> None:
    shown = cluster_json(NODES)
    assert (shown["alive"], shown["total"], shown["skewed"]) == (3, 4, ["fra-2"])
    first = shown["nodes"][0]
    assert first["last_heartbeat_at"].endswith("Z") and first["started_at"].endswith("Z")
    assert [n["config_skew"] for n in shown["nodes"]] == [False, True, False, False]
    text = (ROOT / "docs" / "json.md").read_text().split("## `shiptrack cluster status --json`", 1)[1]
    documented = set(re.findall(r"^\| `([a-z0-9_]+)`", text, flags=re.MULTILINE))
    documented |= set(re.findall(r"^\| `[a-z0-9_]+`, `([a-z0-9_]+)`", text, flags=re.MULTILINE))
    assert set(shown) | set(first) <= documented


def test_a_location_no_live_node_is_in_is_named_wherever_the_nodes_are_shown() -> None:
    wanted = wanted_locations([MonitorSpec("api", "http://127.0.0.1:9/", locations=("eu-west", "us-east")),
                               MonitorSpec("web", "http://127.0.0.1:9/", locations=("us-east", "ap-south")),
                               MonitorSpec("db", "http://127.0.0.1:9/")])
    assert wanted == {"eu-west": 1, "us-east": 2, "ap-south": 1}
    # nyc-1, the only node in us-east, is dead: us-east is as unserved as ap-south, which has none
    assert unserved_locations(NODES, wanted) == (("ap-south", 1), ("us-east", 2))
    assert cluster_table(NODES, wanted).splitlines()[-1] == (
        "⚠ no live node in ap-south (1 monitor asks for it), us-east (2 monitors ask for it): "
        "nobody checks them from there")
    assert cluster_json(NODES, wanted)["unserved_locations"] == [
        {"location": "ap-south", "monitors": 1}, {"location": "us-east", "monitors": 2}]
    header = ClusterHeader.of(NODES, wanted)
    assert header.unserved == ("ap-south", "us-east")
    assert header.unserved_text == "no node in ap-south, us-east"
    served = {"eu-west": 3}
    assert "⚠" not in cluster_table(NODES, served) and cluster_json(NODES, served)["unserved_locations"] == []
    assert ClusterHeader.of(NODES, served).unserved_text == ""
