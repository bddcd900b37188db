"""Badges over real HTTP: shields-style SVG for public monitors, the same 404 for every other name."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from http_helpers import CONFIG, HOUR, NOW, PLANS, config_from, seed, serve, store_getter
from test_tui_seed import Plan

from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.web.badge_svg import _VERDANA_UNITS, render_badge, text_width
from shiptrack_tui.web.badges import badge_router, latency_colour, uptime_colour

SVG = "{http://www.w3.org/2000/svg}"
ODD = 'team/a<b>&"c'  # a legal monitor name with a slash and markup in it

EXTRA = f"""
[[monitor]]
name = '{ODD}'
url = "https://odd.example.com/"
degraded_after = "10ms"

[[monitor]]
name = "never"
url = "https://never.example.com/"
"""


def _badge(client: httpx.Client, url: str) -> tuple[httpx.Response, ET.Element | None]:
    response = client.get(url)
    tree = ET.fromstring(response.text) if response.headers["content-type"].startswith("image/svg") else None
    return response, tree


def _texts(tree: ET.Element) -> list[str]:
    """The visible texts (not the drop shadows): label, value."""
    return [t.text or "" for t in tree.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]


@pytest.fixture
def base(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "st.db"
    seed(db, (*PLANS, Plan(ODD, "u" * 20, interval=HOUR)))
    text = CONFIG.replace("[[service]]", EXTRA + "\n[[service]]").replace(
        'monitors = ["api"]', f'monitors = ["api", \'{ODD}\', "never"]')
    config = config_from(text, tmp_path / "shiptrack.toml")
    with store_getter(db) as store, serve(badge_router(store, lambda: config, lambda: NOW)) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        yield client


def test_status_badges_say_the_public_status_in_words(base: httpx.Client) -> None:
    response, tree = _badge(base, "/badge/api/status.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert tree is not None and _texts(tree) == ["api", "down"]
    assert tree.get("aria-label") == "api: down" and tree.find(f"{SVG}title").text == "api: down"  # type: ignore[union-attr]
    assert '#e05d44' in response.text  # red
    for name, value in (("web", "up"), ("cdn", "up"), ("never", "no data")):
        _, tree = _badge(base, f"/badge/{name}/status.svg")
        assert tree is not None and _texts(tree) == [name, value]


def test_uptime_and_latency_badges_read_the_window(base: httpx.Client) -> None:
    _, tree = _badge(base, "/badge/web/uptime/24h.svg")
    assert tree is not None and _texts(tree) == ["uptime 24h", "100%"]
    _, tree = _badge(base, "/badge/api/uptime/90d.svg")
    assert tree is not None and _texts(tree) == ["uptime 90d", "97.5%"]  # 117 of 120 checks
    _, tree = _badge(base, "/badge/api/uptime/24h.svg")
    assert tree is not None and _texts(tree)[1] == "87.5%"  # 21 of 24
    _, tree = _badge(base, "/badge/cdn/latency/7d.svg")
    assert tree is not None and _texts(tree)[0] == "latency 7d" and _texts(tree)[1].endswith(" ms")
    _, tree = _badge(base, "/badge/never/latency/30d.svg")
    assert tree is not None and _texts(tree) == ["latency 30d", "no data"]


def test_a_name_with_a_slash_and_markup_is_found_and_escaped(base: httpx.Client) -> None:
    response, tree = _badge(base, f"/badge/{quote(ODD, safe='')}/status.svg")
    assert response.status_code == 200 and tree is not None  # well-formed XML despite the name
    assert _texts(tree) == [ODD, "up"]
    assert "<b>" not in response.text
    response, tree = _badge(base, f"/badge/{quote(ODD, safe='/')}/latency/24h.svg")
    assert response.status_code == 200 and tree is not None
    assert "#fe7d37" in response.text  # p50 above twice its 10 ms degraded_after: orange


def test_private_and_unknown_monitors_get_the_same_404(base: httpx.Client) -> None:
    private = base.get("/badge/secret-db/status.svg")
    unknown = base.get("/badge/no-such-monitor/status.svg")
    assert private.status_code == unknown.status_code == 404
    assert private.text == unknown.text and "secret" not in private.text
    for path in ("/badge/secret-db/uptime/24h.svg", "/badge/secret-db/latency/7d.svg",
                 "/badge/secret-db/uptime/5y.svg"):
        assert base.get(path).text == unknown.text, path
    assert base.get("/badge/api/uptime/5y.svg").status_code == 404
    assert "1h, 24h, 7d, 30d, 90d" in base.get("/badge/api/latency/2w.svg").text


def test_widths_follow_the_text() -> None:
    assert len(_VERDANA_UNITS) == 126 - 32 + 1
    assert text_width("mmmm") > text_width("iiii") > 0
    assert text_width("up") < text_width("maintenance")
    assert 15 < text_width("api") < 20  # shields.io measures "api" at about 17 px
    narrow = ET.fromstring(render_badge("a", "up", "green"))
    wide = ET.fromstring(render_badge("a", "a" * 30, "red"))
    assert int(narrow.get("width", "0")) < int(wide.get("width", "0"))
    long = ET.fromstring(render_badge("x" * 200, "up", "green"))
    assert _texts(long)[0].endswith("…") and len(_texts(long)[0]) == 48


def test_colours_follow_the_thresholds() -> None:
    assert [uptime_colour(v) for v in (None, 100.0, 99.5, 98.0, 96.0, 92.0, 50.0)] == [
        "lightgrey", "brightgreen", "green", "yellowgreen", "yellow", "orange", "red"]
    assert [latency_colour(v, None) for v in (None, 50.0, 300.0, 800.0, 1500.0, 5000.0)] == [
        "lightgrey", "brightgreen", "green", "yellow", "orange", "red"]
    slow_ok = MonitorSpec("a", "http://x/", degraded_after=2.0)
    assert [latency_colour(v, slow_ok) for v in (1900.0, 3000.0, 4500.0)] == [
        "brightgreen", "yellow", "orange"]
