"""A maintenance window never swallows the RESOLVED of an incident whose OPEN was announced.

A real daemon, killed with SIGKILL and restarted inside the window, real Apprise delivery.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

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
"""
WINDOW = """
[[maintenance]]
name = "deploy"
start = {start}
end = {end}
"""




def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def daemon(workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(workdir / "st.toml"),
         "--db", str(workdir / "st.db")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_an_incident_announced_before_a_window_resolves_inside_it_across_a_kill_9(
    tmp_path: Path, targets: DemoTargetsThread
) -> None:
    with Receiver() as rx:
        config = tmp_path / "st.toml"
        config.write_text(CONFIG.format(hook=rx.url(), base=targets.base_url))
        targets.set_down("t/api")
        first = daemon(tmp_path)
        try:
            assert rx.wait_for(1, timeout=30)[0].title.startswith("[OPEN] api")
            # Only then the window, starting after the OPEN went out (TOML datetimes here are whole
            # seconds); a fixed lead from start-up was too short for a busy machine's daemon start.
            start = int(time.time()) + 1
            config.write_text(config.read_text() + WINDOW.format(start=stamp(start), end=stamp(start + 300)))
            first.send_signal(signal.SIGHUP)  # the first daemon, too, knows the window it dies in
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
