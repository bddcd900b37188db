"""`shiptrack serve-dashboard`: what it refuses, what it warns about, and how it stops.

The browser side (a tab running the real dashboard, a key press) is tests/test_http_browser.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.lock import EngineLock
from shiptrack_tui.storage import Store
from shiptrack_tui.web.browser_dashboard import is_loopback, parse_listen, tab_command

ROOT = Path(__file__).resolve().parents[1]


def test_listen_addresses_are_parsed_and_loopback_is_recognised() -> None:
    assert parse_listen("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("localhost:9") == ("localhost", 9)
    for bad in ("8000", "127.0.0.1", ":80", "host:http", "127.0.0.1:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)
    assert [is_loopback(h) for h in ("127.0.0.1", "127.3.0.1", "::1", "localhost", "0.0.0.0", "::",
                                      "192.168.1.4", "example.com")] == [True] * 4 + [False] * 4


def test_each_tab_runs_this_shiptrack_on_the_same_files(tmp_path: Path) -> None:
    command = tab_command(tmp_path / "my db.db", tmp_path / "c.toml")
    assert command == (f"{sys.executable} -m shiptrack_tui --db '{tmp_path}/my db.db' "
                       f"--config {tmp_path}/c.toml")
    assert tab_command(Path("/d.db"), None).endswith(" -m shiptrack_tui --db /d.db")


def test_without_a_running_engine_it_refuses_in_one_line(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "st.db"
    assert main(["serve-dashboard", "--db", str(db)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"no ShipTrack engine runs on {db}; start one first" in err


@pytest.mark.parametrize(("argv", "says"), [
    (["--listen", "8000"], "--listen '8000' is not HOST:PORT"),
    (["--public-url", "example.com/x"], "must start with http:// or https://"),
])
def test_bad_options_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                      says: str) -> None:
    assert main(["serve-dashboard", "--db", str(tmp_path / "st.db"), *argv]) == 2
    _, err = capsys.readouterr()
    assert says in err and err.count("\n") == 1


def test_a_wider_address_is_served_with_a_warning_and_sigterm_stops_it(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    Store.open(db).close()
    with EngineLock(db):  # an engine "runs" on the database: this process holds its lock
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out, err = tmp_path / "out.log", tmp_path / "err.log"
        with out.open("w") as stdout, err.open("w") as stderr:
            argv = [sys.executable, "-m", "shiptrack_tui", "serve-dashboard", "--db", str(db),
                    "--listen", "0.0.0.0:0"]
            served = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        try:
            found = wait_for(lambda: re.search(r"on http://0\.0\.0\.0:(\d+)/ — each browser tab attaches to "
                                               rf"the engine \(pid {os.getpid()}\) on {re.escape(str(db))}",
                                               out.read_text()), timeout=30, what="serve-dashboard to listen")
            warning = err.read_text()
            assert warning.count("\n") == 1 and "warning: 0.0.0.0:" in warning
            assert "no authentication" in warning and "reverse proxy" in warning
            page = httpx.get(f"http://127.0.0.1:{found.group(1)}/", timeout=10)
            assert page.status_code == 200
            # The page's own URLs follow the address the browser used, not the bind address.
            assert f'data-session-websocket-url="ws://127.0.0.1:{found.group(1)}/ws"' in page.text
            assert "fonts.googleapis.com" not in page.text  # nothing is fetched from elsewhere
            proxied = httpx.get(f"http://127.0.0.1:{found.group(1)}/", timeout=10,
                                headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ops.example.com"})
            assert 'data-session-websocket-url="wss://ops.example.com/ws"' in proxied.text
            served.send_signal(signal.SIGTERM)
            assert served.wait(15) == 0
            assert "Traceback" not in err.read_text()
        finally:
            if served.poll() is None:
                served.kill()
                served.wait()
