"""End to end: a real `shiptrack --daemon` with a push monitor that misses its ping — an incident
opens and is announced, a curl-like ping resolves it — with `monitor show` giving the URL from
another process and the token nowhere in the daemon's log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from receiver import Receiver
from waiting import wait_for

CONFIG = """\
[http]
listen = "127.0.0.1:0"

[notify]
urls = ["{hook}"]

[[monitor]]
name = "nightly-backup"
push = true
interval = "1s"
grace = "1s"
"""


def test_the_daemon_opens_an_incident_on_a_missed_ping_and_a_ping_resolves_it(tmp_path: Path) -> None:
    config = tmp_path / "shiptrack.toml"
    where = ["--config", str(config), "--db", str(tmp_path / "st.db")]
    log_path = tmp_path / "daemon.log"
    with Receiver() as rx:
        config.write_text(CONFIG.format(hook=rx.url()))
        with log_path.open("w") as log:
            daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "-v", *where],
                                      stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
        try:
            serving = re.compile(r"serving HTTP on (http://127\.0\.0\.1:\d+)")
            base = wait_for(lambda: serving.search(log_path.read_text()), what="the HTTP line").group(1)
            show = [sys.executable, "-m", "shiptrack_tui", "monitor", "show", "nightly-backup", *where]
            shown = subprocess.run(show, capture_output=True, text=True, timeout=30, check=True).stdout
            token = re.search(r"push token  (\S+)", shown).group(1)  # type: ignore[union-attr]
            opened = rx.wait_for(1)[0]
            assert opened.title.startswith("[OPEN] nightly-backup")
            assert "no ping for 2s; expected every 1s" in opened.title + str(opened.payload["message"])
            answer = httpx.get(f"{base}/push/{token}", timeout=10)  # curl -fsS -m 10 --retry 3 ...
            assert answer.status_code == 200 and answer.json() == {"ok": True}
            assert rx.wait_for(2)[1].title.startswith("[RESOLVED] nightly-backup")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    listed = subprocess.run([sys.executable, "-m", "shiptrack_tui", "incidents", "--json", *where],
                            capture_output=True, text=True, timeout=30, check=True)
    first = json.loads(listed.stdout)[-1]
    assert first["cause"] == "no ping for 2s; expected every 1s" and first["state"] == "resolved"
    text = log_path.read_text()
    assert "GET /push/… 200" in text and token not in text
