"""What a real daemon writes to stderr at its default level: incident transitions and problems,
not every state change, and a bad config on reload once."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from waiting import wait_for

from shiptrack_tui.core.incidents import StatusChanged
from shiptrack_tui.core.model import MonitorSpec, MonitorStatus
from shiptrack_tui.engine.transitions import log_event


class FlappingTarget:
    """Every other answer is slow (degraded); `down` makes every answer a 503."""

    def __init__(self) -> None:
        self.requests = 0
        self.down = False
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                target.requests += 1
                if target.down:
                    self.send_response(503)
                else:
                    if target.requests % 2:
                        time.sleep(0.3)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def flapping() -> Iterator[FlappingTarget]:
    target = FlappingTarget()
    yield target
    target.server.shutdown()
    target.server.server_close()




def test_default_log_has_transitions_and_problems_and_a_bad_reload_once(
    tmp_path: Path, flapping: FlappingTarget
) -> None:
    config = tmp_path / "shiptrack.toml"
    good = (f'[[monitor]]\nname = "slow"\nurl = "{flapping.url}"\ninterval = "1s"\ntimeout = "900ms"\n'
            'degraded_after = "150ms"\nfailure_threshold = 2\n')
    config.write_text(good)
    err = tmp_path / "daemon.err"
    with err.open("w") as stderr:
        daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                                   "--db", str(tmp_path / "st.db")], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_for(lambda: flapping.requests >= 5, what="five checks: up and degraded in turn")
        config.write_text(good + 'intreval = "5s"\n')  # a typo: the file watch finds it by itself
        wait_for(lambda: "config not reloaded" in err.read_text(), what="the reload error")
        daemon.send_signal(signal.SIGHUP)  # what `shiptrack monitor add` suggests after an edit
        wait_for(lambda: "unchanged since the errors above" in err.read_text(), what="the SIGHUP answered")
        flapping.down = True
        wait_for(lambda: "[OPEN] slow" in err.read_text(), what="the incident opened")
    finally:
        daemon.terminate()
        assert daemon.wait(10) == 0
    log = err.read_text()
    assert "(was " not in log, log  # no "slow is degraded (was up)" line per flap
    assert log.count("config not reloaded") == 1, log
    assert "intreval" in log and log.count(": still running the previous config") == 1
    assert log.count("[OPEN] slow") == 1
    assert "Traceback" not in log


def test_state_changes_are_debug_lines_shown_with_verbose(caplog: pytest.LogCaptureFixture) -> None:
    spec = MonitorSpec(name="slow", url="http://127.0.0.1:1/")
    with caplog.at_level(logging.DEBUG, logger="shiptrack.incidents"):
        log_event(StatusChanged("slow", 0.0, MonitorStatus.UP, MonitorStatus.DEGRADED), spec)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "slow is degraded (was up)")]
