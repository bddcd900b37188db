"""Reading each location's latest check (DESIGN §12): `Store.location_states` on PostgreSQL and
SQLite, the `locations` field of `status --json` (and its API shape), and the detail pane's lines."""

from __future__ import annotations

from pathlib import Path

import psycopg
from rich.text import Text

from shiptrack_tui.core.location_view import LocationView, in_config_order
from shiptrack_tui.core.model import MonitorState, MonitorSummary
from shiptrack_tui.report import status_json
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.cluster import CLUSTER_SCHEMA, LocationResult, acquire, write_location_state
from shiptrack_tui.tui.data import MonitorDetail
from shiptrack_tui.tui.widgets.detail_pane import locations_text
from shiptrack_tui.web.shapes import Monitor

NOW = 1_800_000_000.0


def _write(url: str, node: str, results: list[LocationResult]) -> None:
    with psycopg.connect(url) as conn:
        held = acquire(conn, node, [(r.monitor, r.location) for r in results], 30.0)
        assert write_location_state(conn, node, held, results) == set(held)
        conn.commit()


def test_the_store_reads_each_location_and_status_json_shows_them(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        assert store.location_states() == {}  # no node has made the cluster tables yet
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for statement in CLUSTER_SCHEMA:
                conn.execute(statement)
        _write(pg_url, "bom-1", [LocationResult("api", "ap-south", False, 3, "HTTP 503", 12.345, NOW - 2)])
        _write(pg_url, "fra-1", [LocationResult("api", "eu-west", True, 0, None, 4.0, NOW - 1),
                                 LocationResult("web", "eu-west", True, 0, None, 1.0, NOW)])
        found = store.location_states()
        assert set(found) == {"api", "web"}
        assert store.location_states(["web"]).keys() == {"web"}
        south, west = found["api"]  # by location name
        assert south == LocationView("api", "ap-south", False, 3, "HTTP 503", NOW - 2, "bom-1", 12.345)
        assert (west.location, west.ok, west.node) == ("eu-west", True, "fra-1")
        ordered = in_config_order(found, {"api": ("eu-west", "us-east", "ap-south")})
        summary = MonitorSummary(name="api", target="http://x/", tags=(), state=MonitorState())
        plain = MonitorSummary(name="plain", target="http://y/", tags=(), state=MonitorState())
        api_row, plain_row = status_json([summary, plain], locations=ordered)
    finally:
        store.close()
    assert plain_row["locations"] == []
    assert api_row["locations"] == [
        {"location": "eu-west", "ok": True, "failures": 0, "reason": None,
         "checked_at": "2027-01-15T07:59:59Z", "node": "fra-1", "latency_ms": 4.0},
        {"location": "ap-south", "ok": False, "failures": 3, "reason": "HTTP 503",
         "checked_at": "2027-01-15T07:59:58Z", "node": "bom-1", "latency_ms": 12.35},
    ]
    Monitor.model_validate(api_row)  # the API's documented shape, extra fields forbidden


def test_sqlite_has_no_locations(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "st.db")
    try:
        assert store.location_states() == {} and store.location_states(["api"]) == {}
    finally:
        store.close()


def _detail(*views: LocationView) -> MonitorDetail:
    summary = MonitorSummary(name="api", target="http://x/", tags=(), state=MonitorState())
    return MonitorDetail(now=NOW, summary=summary, window="1h", series=(), stats={}, checks=(),
                         locations=views)


def test_the_detail_pane_has_a_line_per_location_cut_not_wrapped() -> None:
    text = locations_text(_detail(
        LocationView("api", "ap-south", False, 49, "HTTP 503", NOW - 2, "bom-1"),
        LocationView("api", "eu-west", True, 0, None, NOW - 65, "fra-1"),
        LocationView("api", "us-east", False, 1, None, NOW, "nyc-1"),
    ))
    assert isinstance(text, Text) and text.no_wrap and text.overflow == "ellipsis"
    assert text.plain.splitlines() == [
        "locations",
        "ap-south  ✖ HTTP 503 ×49     2s ago · bom-1",
        "eu-west   ● ok            1m 5s ago · fra-1",
        "us-east   ✖ failing          0s ago · nyc-1",
    ]
