"""The public status page over real HTTP (uvicorn on loopback) on a store filled by the real pipeline.

What must hold: every listed service and monitor with its status in words and symbols, 90 daily
bars each, open incidents with their published updates, recent resolved ones; and nothing that
is not public: no other monitor, no target, no tag, no internal note, no error unless configured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from http_helpers import (
    CONFIG,
    NOW,
    config_from,
    incident_id,
    post_note,
    post_update,
    seed,
    serve,
    store_getter,
)

from shiptrack_tui.config import Config
from shiptrack_tui.storage import Store
from shiptrack_tui.web.status_page import status_page_router

PRIVATE = ("secret-db", "db.internal.example", "api.internal.example", "www.example.com", "cdn.example.com",
           "tcp://", "https://")


class Page(HTMLParser):
    """The parts of the page the tests look at: its text, and every bar row with its bars."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text_parts: list[str] = []
        self.rows: list[list[dict[str, str]]] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None
        self.feed(html)
        self.text = " ".join("".join(self.text_parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "ol" and found.get("class") == "bars":
            self.rows.append([])
        elif tag == "li" and self.rows and found.get("class", "").startswith("d-") and "title" in found:
            self.rows[-1].append(found)
        elif tag == "h3":
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._heading is not None:
            self._heading.append(data)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "st.db"
    seed(path)
    api = incident_id(path, "api")
    post_update(path, api, NOW - 1800, "identified", "A bad deploy; rolling back")
    post_update(path, api, NOW - 600, "monitoring", "Error rate is back to normal <b>so far</b>")
    post_note(path, api, NOW - 1700, "internal: bob's deploy broke it")
    secret = incident_id(path, "secret-db")
    post_update(path, secret, NOW - 900, "identified", "Disk full on the secret database")
    return path


def _get(url: str) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.get(url)


@pytest.fixture
def site(db: Path, tmp_path: Path) -> Iterator[tuple[str, list[Config]]]:
    """The page served for CONFIG; the list holds the config the server reads (tests may swap it)."""
    current = [config_from(CONFIG, tmp_path / "shiptrack.toml")]
    with store_getter(db) as store, serve(status_page_router(store, lambda: current[0], lambda: NOW)) as url:
        yield url, current


def test_the_page_shows_every_public_entry_and_nothing_private(site: tuple[str, list[Config]]) -> None:
    url, _ = site
    response = _get(url + "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "max-age" in response.headers["cache-control"]
    html = response.text
    page = Page(html)
    assert '<meta http-equiv="refresh" content="60">' in html
    assert "<script" not in html.lower()  # no JavaScript at all
    assert "Example status" in page.text and "Live status of Example's public services" in page.text
    # The banner: the worst status, in words and a symbol, naming what it affects.
    assert re.search(r"✖ Outage: api", page.text)
    # The open incident, the entries in config order (the listed service, then the listed
    # monitor) with their members, then the resolved incident.
    assert page.headings == ["Monitoring api", "Website", "api", "Resolved web"]
    assert "● Operational" in page.text and "✖ Outage" in page.text
    assert "2 monitors" in page.text and "● web Operational" in page.text and "● cdn Operational" in page.text
    # 90 daily bars per entry; today's last, days before the history began say "no data".
    assert [len(row) for row in page.rows] == [90, 90]
    website, api = page.rows
    assert api[-1] == {"class": "d-outage", "tabindex": "0",
                       "title": "today so far: 72.72% up, 3 of 11 checks failed"}
    assert api[0] == {"class": "d-none", "tabindex": "0", "title": "Fri 21 Aug 2026: no data"}
    assert api[-2]["class"] == "d-ok" and api[-2]["title"] == "Tue 17 Nov 2026: 100% up, 24 checks"
    # Website pools web's and cdn's checks: web's four failures fell on two days.
    assert [(bar["class"], bar["title"]) for bar in website[-4:-2]] == [
        ("d-outage", "Sun 15 Nov 2026: 97.91% up, 1 of 48 checks failed"),
        ("d-outage", "Mon 16 Nov 2026: 93.75% up, 3 of 48 checks failed")]
    assert "97.5% uptime over 90 days" in page.text
    # The open incident with its published updates, newest first; never the internal note.
    assert "Current incidents" in page.text
    assert re.search(r"Monitoring .* Error rate is back to normal <b>so far</b> Identified .* A bad deploy",
                     page.text)
    assert "&lt;b&gt;so far&lt;/b&gt;" in html  # escaped, not markup
    assert "bob" not in html and "internal:" not in html and "alice" not in html
    # web's incident two days ago, resolved, under the last 7 days, naming the service it affects.
    assert "Resolved in the last 7 days" in page.text
    assert re.search(r"Resolved web Affects Website · Started .* resolved .* after 5h", page.text)
    # Nothing that is not public: no private monitor or its incident, no target, no tag, no error.
    for secret in PRIVATE:
        assert secret not in html, secret
    assert "Disk full" not in html
    assert not re.search(r"\b(prod|internal)\b", html)
    assert "HTTP 503" not in html


def test_show_errors_adds_each_incident_cause(db: Path, tmp_path: Path) -> None:
    config = config_from(CONFIG.replace('monitors = ["api"]\n', 'monitors = ["api"]\nshow_errors = true\n'),
                         tmp_path / "errors.toml")
    with store_getter(db) as store, serve(status_page_router(store, lambda: config, lambda: NOW)) as url:
        page = Page(_get(url + "/").text)
    assert "Cause: HTTP 503 (expected 200-399)" in page.text
    assert "secret-db" not in page.text


def test_a_reload_is_on_the_next_request_and_names_are_escaped(site: tuple[str, list[Config]],
                                                              tmp_path: Path) -> None:
    url, current = site
    text = CONFIG.replace('name = "cdn"', 'name = "<i>cdn</i>"').replace(
        'title = "Example status"', 'title = "Ex & <Co>"').replace('services = ["Website"]\n', "").replace(
        'monitors = ["api"]', 'monitors = ["<i>cdn</i>", "web"]')
    current[0] = config_from(text, tmp_path / "reloaded.toml")
    html = _get(url + "/").text
    page = Page(html)
    assert "<i>" not in html and "&lt;i&gt;cdn&lt;/i&gt;" in html
    assert "<title>Ex &amp; &lt;Co&gt;</title>" in html
    assert [len(row) for row in page.rows] == [90, 90]
    assert "api" not in page.headings and "Website" not in page.text
    assert "All systems operational" in page.text  # api's outage is not public any more
    assert "No incidents in the last 7 days" not in page.text  # web's resolved one still is


def test_without_a_status_page_the_root_is_a_404_and_says_nothing(db: Path, tmp_path: Path) -> None:
    config = config_from(CONFIG.split("[status_page]")[0], tmp_path / "none.toml")
    with store_getter(db) as store, serve(status_page_router(store, lambda: config, lambda: NOW)) as url:
        response = _get(url + "/")
    assert response.status_code == 404
    assert "No status page here" in response.text
    for secret in ("api", "Website", "secret-db"):
        assert secret not in Page(response.text).text


def test_an_unreadable_database_is_a_503_page_not_a_traceback(tmp_path: Path) -> None:
    config = config_from(CONFIG, tmp_path / "shiptrack.toml")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with serve(status_page_router(lambda: Store.open(garbage), lambda: config, lambda: NOW)) as url:
        response = _get(url + "/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert "cannot be read right now" in response.text and "Traceback" not in response.text
    assert str(garbage) not in response.text


def test_the_stylesheet_is_served(site: tuple[str, list[Config]]) -> None:
    url, _ = site
    response = _get(url + "/static/status.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in response.text


def test_a_monitor_never_checked_says_so(db: Path, tmp_path: Path) -> None:
    text = ('[[monitor]]\nname = "fresh"\nurl = "https://fresh.example.com/"\n\n'
            '[status_page]\nmonitors = ["fresh"]\n')
    config = config_from(text, tmp_path / "fresh.toml")
    with store_getter(db) as store, serve(status_page_router(store, lambda: config, lambda: NOW)) as url:
        page = Page(_get(url + "/").text)
    assert "○ No data yet" in page.text  # the banner and the entry: not "operational"
    assert "Operational" not in page.text, page.text
    assert "no data yet Today" in page.text
    assert [{bar["class"] for bar in row} for row in page.rows] == [{"d-none"}]
    assert page.rows[0][-1]["title"] == "today so far: no data"
