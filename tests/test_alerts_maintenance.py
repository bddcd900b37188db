"""A maintenance window never swallows the RESOLVED of an incident whose OPEN was announced.

A real daemon, killed with SIGKILL and restarted inside the window, real Apprise delivery.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from receiver import Receiver
from waiting import wait_for

from shiptrack_tui.demo import DemoTargetsThread

CONFIG = """\
[defaults]
interval = "1s"
timeout = "500ms"
failure_threshold = 1
recovery_threshold = 1

[notify]
urls = ["{hook}"]

[[monitor]]
name = "api"
url = "{base}/t/api"

[[maintenance]]
name = "deploy"
start = {start}
end = {end}
"""




def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def targets() -> Iterator[DemoTargetsThread]:
    server = DemoTargetsThread()
    server.start()
    yield server
    server.stop()


def daemon(workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(workdir / "st.toml"),
         "--db", str(workdir / "st.db")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_an_incident_announced_before_a_window_resolves_inside_it_across_a_kill_9(
    tmp_path: Path, targets: DemoTargetsThread
) -> None:
    with Receiver() as rx:
        start = int(time.time()) + 10  # the OPEN goes out first; TOML datetimes here are whole seconds
        config = CONFIG.format(hook=rx.url(), base=targets.base_url, start=stamp(start),
                               end=stamp(start + 300))
        (tmp_path / "st.toml").write_text(config)
        targets.set_down("t/api")
        first = daemon(tmp_path)
        try:
            assert rx.wait_for(1, timeout=15)[0].title.startswith("[OPEN] api")
            wait_for(lambda: time.time() > start + 0.5, what="the window to open")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            second = daemon(tmp_path)  # a fresh engine that only knows what the database says
            try:
                targets.set_up("t/api")
                posts = rx.wait_for(2, timeout=20)
                time.sleep(1.0)  # and nothing more may follow
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    assert [p.title.split(" — ")[0] for p in rx.posts] == ["[OPEN] api", "[RESOLVED] api"]
    assert posts[1].type == "success"
