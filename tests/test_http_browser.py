"""The status page, a badge and the browser dashboard in headless Chromium (Debian's, via Playwright).

`sh tests/install-system-packages.sh` (part of the README's test command) installs Chromium.
Screenshots are kept as artefacts: in $SHIPTRACK_TEST_ARTIFACTS when set, else in a pytest temp
folder; each test prints where. One browser serves the whole module; every wait has a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
from playwright.sync_api import Browser, Page, WebSocket, sync_playwright
from waiting import wait_for

from shiptrack_tui.web.badges import badge_router
from shiptrack_tui.web.status_page import status_page_router

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `sh tests/install-system-packages.sh` "
                    "(the README's test command does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=TIMEOUT_MS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("SHIPTRACK_TEST_ARTIFACTS")
    base = Path(given) if given else tmp_path_factory.mktemp("artifacts")
    folder = base / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    db = tmp_path / "st.db"
    seed(db)
    api = incident_id(db, "api")
    post_update(db, api, NOW - 1800, "identified", "A bad deploy; rolling back")
    post_note(db, api, NOW - 1700, "internal: bob's deploy broke it")
    config = config_from(CONFIG, tmp_path / "shiptrack.toml")
    routers = (status_page_router, badge_router)
    with store_getter(db) as store, serve(*(r(store, lambda: config, lambda: NOW) for r in routers)) as url:
        yield url


def _check_status_page(page: Page) -> None:
    """What a reader sees, JavaScript or not."""
    assert "Outage" in page.locator("#overall").inner_text()
    assert page.locator("article.entry h3").all_inner_texts() == ["Website", "api"]
    assert [row.locator("li").count() for row in page.locator("ol.bars").all()] == [90, 90]
    assert page.get_by_text("A bad deploy; rolling back").is_visible()
    assert page.locator(".entry .status").all_inner_texts() == ["● Operational", "✖ Outage"]
    html = page.content()
    for private in ("secret-db", "db.internal.example", "api.internal.example", "bob", "HTTP 503"):
        assert private not in html, private


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_status_page_in_chromium(browser: Browser, site: str, artifacts: Path, javascript: bool) -> None:
    for scheme in ("light", "dark"):
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport, color_scheme=scheme,
                                          java_script_enabled=javascript)
            try:
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                assert page.goto(site + "/").status == 200  # type: ignore[union-attr]
                _check_status_page(page)
                # Phones show the last 30 days, so each bar stays wide enough to tap.
                shown = page.locator("ol.bars").first.locator("li:visible").count()
                assert shown == (90 if name == "desktop" else 30)
                # Tapping a bar shows its day in words under the bars (CSS only).
                page.locator("ol.bars").last.locator("li").last.click()
                page.screenshot(path=artifacts / f"status-{scheme}-{name}.png", full_page=True)
            finally:
                context.close()


def test_a_tapped_bar_and_the_members_show_their_detail(browser: Browser, site: str, artifacts: Path) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(site + "/")
        bar = page.locator("ol.bars").last.locator("li").last
        bar.tap()
        shown = bar.evaluate("el => getComputedStyle(el, '::after').content")
        assert shown == '"today so far: 72.72% up, 3 of 11 checks failed"'
        assert page.get_by_text("● web Operational").is_hidden()
        page.get_by_text("2 monitors").tap()
        assert page.get_by_text("web Operational").is_visible()
        page.screenshot(path=artifacts / "status-tapped.png", full_page=True)
    finally:
        context.close()


def test_a_badge_in_chromium(browser: Browser, site: str, artifacts: Path) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 120}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        response = page.goto(site + "/badge/api/status.svg")
        assert response is not None and response.status == 200
        assert page.locator("svg text:not([aria-hidden])").all_text_contents() == ["api", "down"]
        page.screenshot(path=artifacts / "badge-status.png")
        # Embedded as an image, the way a README shows it: it loads and has its own size.
        page = context.new_page()
        page.set_content(f'<img id="b" src="{site}/badge/web/uptime/24h.svg" alt="uptime">'
                         f'<img id="c" src="{site}/badge/cdn/latency/7d.svg" alt="latency">')
        page.wait_for_function("document.images[0].complete && document.images[1].complete")
        widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert all(width > 60 for width in widths), widths
        page.screenshot(path=artifacts / "badges-embedded.png")
    finally:
        context.close()


# -- the dashboard in a browser ---------------------------------------------------------------

def _shiptrack(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "shiptrack_tui", *args], cwd=log.parent, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"did not stop on SIGTERM: {log.read_text()}") from None
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


class Frames:
    """Everything the dashboard sent to the browser, decoded; the terminal draws on a canvas."""

    def __init__(self, page: Page) -> None:
        self.received: list[bytes] = []
        page.on("websocket", self._attach)

    def _attach(self, websocket: WebSocket) -> None:
        websocket.on("framereceived", lambda payload: self.received.append(
            payload if isinstance(payload, bytes) else payload.encode()))

    def text(self, since: int = 0) -> str:
        raw = b"".join(self.received[since:]).decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", " ", raw)


def _pump_until(page: Page, predicate: Callable[[], object], timeout: float, what: str) -> None:
    """`wait_for` for Playwright events: its sync API delivers them only while we call into it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        page.wait_for_timeout(50)


def test_the_dashboard_in_chromium(browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    db = tmp_path / "demo.db"
    daemon_log, serve_log = tmp_path / "daemon.log", tmp_path / "serve.log"
    daemon = _shiptrack("--demo", "--daemon", "--db", str(db), log=daemon_log)
    served = None
    try:
        wait_for(lambda: "daemon started" in daemon_log.read_text() or daemon.poll() is not None,
                 timeout=30, what="the demo daemon")
        served = _shiptrack("serve-dashboard", "--db", str(db), "--listen", "127.0.0.1:0", log=serve_log)
        line = wait_for(lambda: re.search(r"serving the dashboard on (http://127\.0\.0\.1:\d+/)",
                                          serve_log.read_text()) or served.poll() is not None,
                        timeout=30, what="serve-dashboard to listen")
        assert served.poll() is None, serve_log.read_text()
        url = line.group(1)
        assert f"attaches to the engine (pid {daemon.pid})" in serve_log.read_text()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            frames = Frames(page)
            page.goto(url)
            page.wait_for_selector("body.-first-byte", timeout=30_000)
            # The tab runs the real dashboard, attached to the daemon like a second terminal.
            _pump_until(page, lambda: "steady" in frames.text() and "attached to daemon" in frames.text(),
                        timeout=30, what="the dashboard to draw its monitors")
            page.wait_for_timeout(500)  # let the canvas catch up with the frames it was sent
            before = page.screenshot(path=artifacts / "dashboard.png")
            seen = len(frames.received)
            page.locator("#terminal").click()
            page.keyboard.press("?")
            _pump_until(page, lambda: "list every key" in frames.text(seen), timeout=15,
                        what="the help screen")
            page.wait_for_timeout(500)
            after = page.screenshot(path=artifacts / "dashboard-help.png")
            assert before != after
        finally:
            context.close()
        # Without an engine a new tab says so instead of starting one of its own.
        _stop(daemon, daemon_log)
        context = browser.new_context(viewport={"width": 1024, "height": 600})
        try:
            page = context.new_page()
            frames = Frames(page)
            page.goto(url)
            _pump_until(page, lambda: "No ShipTrack engine runs" in frames.text(), timeout=15,
                        what="the no-engine notice")
            page.wait_for_selector("body.-closed", timeout=TIMEOUT_MS)
            page.screenshot(path=artifacts / "dashboard-no-engine.png")
        finally:
            context.close()
    finally:
        if served is not None:
            _stop(served, serve_log)
        _stop(daemon, daemon_log)
