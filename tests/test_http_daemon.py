"""End to end: a real `shiptrack --daemon` serving `[http]` on loopback — ready, metrics, an
acknowledgement over HTTP that the CLI then shows, an access log without the token, a clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from waiting import wait_for

from shiptrack_tui.demo import DemoTargetsThread

TOKEN = "daemon-test-token-7f3a"
CONFIG = """\
[defaults]
interval = "1s"
timeout = "500ms"
failure_threshold = 1
recovery_threshold = 1

[http]
listen = "127.0.0.1:0"

[[monitor]]
name = "api"
url = "{base}/t/api"
"""


def test_the_daemon_serves_health_metrics_and_the_api(tmp_path: Path, targets: DemoTargetsThread) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(CONFIG.format(base=targets.base_url))
    where = ["--config", str(config), "--db", str(tmp_path / "st.db")]
    log_path = tmp_path / "daemon.log"
    env = {**os.environ, "SHIPTRACK_HTTP_TOKEN": TOKEN}
    with log_path.open("w") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "-v", *where],
                                  stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        serving = re.compile(r"serving HTTP on (http://127\.0\.0\.1:\d+)")
        found = wait_for(lambda: serving.search(log_path.read_text()), what="the daemon's HTTP line")
        client = httpx.Client(base_url=found.group(1), timeout=10)
        wait_for(lambda: client.get("/health/ready").status_code == 200, what="ready")
        targets.set_down("t/api")
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def open_incident() -> int | None:
            rows = client.get("/api/v1/monitors", headers=auth).json()
            return rows[0]["open_incident"]

        incident = wait_for(open_incident, what="an incident opened")
        assert client.post(f"/api/v1/incidents/{incident}/ack").status_code == 401
        acked = client.post(f"/api/v1/incidents/{incident}/ack", json={"note": "from a script"}, headers=auth)
        assert acked.status_code == 200 and acked.json()["state"] == "applied"
        cli = subprocess.run([sys.executable, "-m", "shiptrack_tui", "incidents", "--json", *where],
                             capture_output=True, text=True, timeout=30, check=True)
        [shown] = json.loads(cli.stdout)
        assert shown["state"] == "acknowledged"
        ack = {"kind": "acknowledged", "detail": "from a script", "by": "api"}
        assert [{k: e[k] for k in ack} for e in shown["events"] if e["kind"] == "acknowledged"] == [ack]
        metrics = client.get("/metrics", headers=auth).text
        names = {f.name for f in text_string_to_metric_families(metrics)}
        assert {"shiptrack_monitor_up", "shiptrack_incidents_open", "shiptrack_storage_queue_writes"} <= names
        client.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(30)
    text = log_path.read_text()
    assert code == 0, text
    assert "Traceback" not in text and TOKEN not in text
    assert f"POST /api/v1/incidents/{incident}/ack 200" in text  # the access log, through our logging
    assert "stopped cleanly" in text
