"""The readers of a cluster on a real PostgreSQL: `shiptrack cluster status`, `/api/v1/cluster`, and
the dashboard (its header, its detail pane, and news of other connections' commits by NOTIFY)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from test_tui_seed import ALL_UP, NOW, Plan, fold, open_store, seed, settled, wait_until
from textual.message import Message

from shiptrack_tui.cli import main
from shiptrack_tui.config import Config
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import MonitorSpec, MonitorStatus
from shiptrack_tui.storage.cluster import CLUSTER_SCHEMA, acquire
from shiptrack_tui.storage.cluster_nodes import NodeInfo, heartbeat
from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.tui import ShipTrackApp
from shiptrack_tui.tui.app import CLUSTER_MODE
from shiptrack_tui.tui.launch import attach_cluster
from shiptrack_tui.tui.messages import DataChanged
from shiptrack_tui.tui.widgets.detail_pane import DetailPane
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.status_bar import StatusBar
from shiptrack_tui.web import bind, start_http

MONITORS = ("api", "web", "search", "tcp-db")


def cluster_nodes(url: str) -> None:
    """fra-1, fra-2 and fra-3 alive, fra-2 on another config; nyc-1 silent for a minute. fra-1 owns
    api and web, fra-2 search and checks api from eu-west; nyc-1 holds tcp-db but is dead: nobody
    checks it."""
    with psycopg.connect(url, autocommit=True) as conn:
        for ddl in CLUSTER_SCHEMA:
            conn.execute(ddl)
        beats = (NodeInfo("fra-1", "eu-west", "aaaaaaaaaaaa", MONITORS, lateness_p99_ms=14.2),
                 NodeInfo("fra-2", "eu-west", "bbbbbbbbbbbb", MONITORS, lateness_p99_ms=9.0),
                 NodeInfo("fra-3", "eu-west", "aaaaaaaaaaaa", MONITORS),
                 NodeInfo("nyc-1", "us-east", "aaaaaaaaaaaa", MONITORS))
        for info in beats:
            heartbeat(conn, info)
        acquire(conn, "fra-1", [("api", ""), ("web", "")])
        acquire(conn, "fra-2", [("search", ""), ("api", "eu-west")])
        acquire(conn, "nyc-1", [("tcp-db", "")])
        conn.execute("UPDATE node SET heartbeat_at = clock_timestamp() - interval '65 seconds' "
                      "WHERE name = 'nyc-1'")


@pytest.fixture
def cluster_url(pg_url: str) -> str:
    seed(pg_url, ALL_UP)  # Store.open migrates: the monitors and their history, then the nodes
    cluster_nodes(pg_url)
    return pg_url


# -- shiptrack cluster status ------------------------------------------------------------------

def test_cluster_status_lists_nodes_marks_skew_and_stale(cluster_url: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "status", "--db", cluster_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["NODE", "LOCATION", "HEARTBEAT", "MONITORS", "CONFIG"]
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert rows["fra-1"][:5] == ["fra-1", "eu-west", "alive,", rows["fra-1"][3], "ago"]
    assert rows["fra-1"][5:] == ["2", "aaaaaaaaaaaa", "14", "ms"]
    assert rows["fra-2"][5:] == ["1", "bbbbbbbbbbbb", "≠", "9.0", "ms"]
    assert rows["nyc-1"][:4] == ["nyc-1", "us-east", "dead,", "1m"]
    assert rows["nyc-1"][-3:] == ["0", "aaaaaaaaaaaa", "—"]
    assert list(rows) == ["fra-1", "fra-2", "fra-3", "nyc-1"]
    assert lines[-1] == ("3 of 4 nodes alive · 3 monitors owned · ≠ config differs on fra-2 (bbbbbbbbbbbb); "
                         "the others run aaaaaaaaaaaa")

    assert main(["cluster", "status", "--json", "--db", cluster_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["alive"], shown["total"], shown["skewed"]) == (3, 4, ["fra-2"])
    by_name = {node["name"]: node for node in shown["nodes"]}
    assert by_name["fra-1"]["monitors_owned"] == 2 and by_name["fra-1"]["lateness_p99_ms"] == 14.2
    assert by_name["nyc-1"]["alive"] is False and by_name["nyc-1"]["monitors_owned"] == 0
    assert by_name["fra-2"]["config_skew"] and not by_name["fra-1"]["config_skew"]
    assert all(node["last_heartbeat_at"].endswith("Z") for node in shown["nodes"])


def test_cluster_status_on_sqlite_says_what_to_configure(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "st.db"
    assert main(["cluster", "status", "--db", str(db)]) == 2
    assert capsys.readouterr().err.strip() == "cluster status needs PostgreSQL storage ([storage] url)"
    assert not db.exists()  # nothing was created to say so


def test_cluster_status_with_the_database_away_is_one_line_without_the_password(
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://shiptrack:hunter2secret@127.0.0.1:{port}/shiptrack"
    assert main(["cluster", "status", "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hunter2secret" not in err and "Traceback" not in err
    assert f"127.0.0.1:{port}" in err


# -- /api/v1/cluster ---------------------------------------------------------------------------

def test_the_api_lists_the_nodes(cluster_url: str, tmp_path: Path) -> None:
    settings = HttpSettings(host="127.0.0.1", port=0, token=None, token_source="test", public_api=True)
    located = MonitorSpec("api", "http://127.0.0.1:9/", locations=("eu-west", "us-east"))
    server = start_http(bind("127.0.0.1", 0), settings, StoreTarget(cluster_url),
                        config=lambda: Config(path=tmp_path / "none.toml", monitors=(located,)),
                        vitals=None, wake=None)
    try:
        answer = httpx.get(f"{server.url}/api/v1/cluster", timeout=10)
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert [node["name"] for node in shown["nodes"]] == ["fra-1", "fra-2", "fra-3", "nyc-1"]
        assert (shown["alive"], shown["skewed"]) == (3, ["fra-2"])
        assert shown["unserved_locations"] == [{"location": "us-east", "monitors": 1}]  # nyc-1 is dead
        monitors = httpx.get(f"{server.url}/api/v1/monitors", timeout=10).json()  # reads work on PG
        assert sorted(row["name"] for row in monitors) == sorted(MONITORS)
    finally:
        server.stop()


# -- the dashboard -----------------------------------------------------------------------------

@pytest.fixture
def pg_app(cluster_url: str) -> Iterator[tuple[ShipTrackApp, list[Message]]]:
    # The clock stands still: the dashboard's once-a-second re-read of quiet figures never fires,
    # so whatever it learns of another connection's commit came by NOTIFY.
    app = ShipTrackApp(StoreTarget(cluster_url), clock=lambda: NOW)
    yield app, []


async def test_the_dashboard_hears_another_connections_commit_by_notify(
        pg_app: tuple[ShipTrackApp, list[Message]], cluster_url: str) -> None:
    app, seen = pg_app
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        dashboard = await settled(pilot)
        assert dashboard.backend == "postgresql"
        names = {worker.name for worker in app.workers} | {worker.name for worker in dashboard.workers}
        assert "_poll_data_version" not in names  # no data_version poll on PostgreSQL
        before = sum(1 for m in seen if isinstance(m, DataChanged))
        with open_store(cluster_url) as other:  # another connection, as a daemon's would be
            other.commit_batch(fold(Plan("api", "u" * 40 + "x" * 3), end=NOW + 180)[-3:])
        await wait_until(pilot, lambda: dashboard.overview is not None and any(
            s.name == "api" and s.state.status.value == "down" for s in dashboard.overview.summaries))
        assert sum(1 for m in seen if isinstance(m, DataChanged)) > before
        bar = dashboard.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.counts.get(MonitorStatus.DOWN) == 1 and bar.incidents == 1)


async def test_the_header_counts_nodes_and_the_detail_names_the_checker(
        pg_app: tuple[ShipTrackApp, list[Message]]) -> None:
    app, _seen = pg_app
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = await settled(pilot)
        bar = dashboard.query_one(StatusBar)
        await wait_until(pilot, lambda: "3 of 4 nodes alive" in str(bar.render()))
        assert "config skew: fra-2" in str(bar.render())
        assert bar.cluster is not None and bar.cluster.missing
        dashboard.query_one(MonitorTable).select_monitor("api")
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.summary.name == "api")
        assert pane.detail is not None
        assert pane.detail.checked_by == "fra-1 (eu-west); from eu-west by fra-2"
        body = str(pane.query_one("#detail-body").render())
        assert "checked by  fra-1 (eu-west)" in body
        dashboard.query_one(MonitorTable).select_monitor("tcp-db")
        await wait_until(pilot, lambda: pane.detail is not None and pane.detail.summary.name == "tcp-db")
        assert "checked by  no node holds its lease now" in str(pane.query_one("#detail-body").render())


async def test_a_postgresql_store_without_nodes_shows_no_cluster(pg_url: str) -> None:
    seed(pg_url, ALL_UP)  # an engine on PostgreSQL without [cluster]: no node rows (no tables even)
    app = ShipTrackApp(StoreTarget(pg_url), clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        dashboard = await settled(pilot)
        await wait_until(pilot, lambda: dashboard.cluster_reads >= 2)  # the nodes were read, twice
        pane = dashboard.query_one(DetailPane)
        await wait_until(pilot, lambda: pane.detail is not None)
        assert dashboard.query_one(StatusBar).cluster is None
        assert "nodes alive" not in str(dashboard.query_one(StatusBar).render())
        assert pane.detail is not None and pane.detail.checked_by is None
        assert "checked by" not in str(pane.query_one("#detail-body").render())


def test_metrics_say_which_nodes_are_up_and_skewed(cluster_url: str, tmp_path: Path) -> None:
    settings = HttpSettings(host="127.0.0.1", port=0, token=None, token_source="test", public_api=True)
    server = start_http(bind("127.0.0.1", 0), settings, StoreTarget(cluster_url),
                        config=lambda: Config(path=tmp_path / "none.toml"), vitals=None, wake=None)
    try:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
    finally:
        server.stop()
    assert 'shiptrack_cluster_node_up{location="eu-west",node="fra-1"} 1.0' in text
    assert 'shiptrack_cluster_node_up{location="us-east",node="nyc-1"} 0.0' in text
    assert 'shiptrack_cluster_node_monitors_owned{node="fra-1"} 2.0' in text
    assert 'shiptrack_cluster_node_config_skew{node="fra-2"} 1.0' in text
    assert 'shiptrack_cluster_node_config_skew{node="fra-3"} 0.0' in text


def test_the_dashboard_without_config_on_a_database_no_node_runs_on_says_how_to_start(
        pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed(pg_url, ALL_UP)
    assert attach_cluster(StoreTarget(pg_url)) is None  # no live node: nothing to attach to
    assert main(["--db", pg_url]) == 2
    assert "nothing to watch yet" in capsys.readouterr().err


async def test_a_cluster_viewer_says_so_in_the_header(cluster_url: str) -> None:
    app = ShipTrackApp(StoreTarget(cluster_url), clock=lambda: NOW, viewer_mode=CLUSTER_MODE)
    async with app.run_test(size=(160, 40)) as pilot:
        dashboard = await settled(pilot)
        bar = dashboard.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.cluster is not None)
        assert "│ attached to cluster  │ 3 of 4 nodes alive  │ config skew: fra-2" in str(bar.render())


async def test_the_header_names_a_location_no_live_node_is_in(cluster_url: str, tmp_path: Path) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(f'[storage]\nurl = "{cluster_url}"\n\n'
                      '[cluster]\nnode = "viewer"\nlocation = "eu-west"\n\n[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n'
                      'locations = ["eu-west", "ap-south"]\n')
    config.chmod(0o600)
    app = ShipTrackApp(StoreTarget(cluster_url), clock=lambda: NOW, viewer_mode=CLUSTER_MODE,
                       config_path=config)
    async with app.run_test(size=(200, 40)) as pilot:
        dashboard = await settled(pilot)
        bar = dashboard.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.cluster is not None and bar.cluster.unserved == ("ap-south",))
        assert "│ no node in ap-south" in str(bar.render())
