"""The daemon, `status` and `serve-dashboard` on PostgreSQL, found through `[storage] url`."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from postgres_server import PostgresServer
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.web.browser_dashboard import tab_command


def _status(config: Path) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["status", "--json", "--config", str(config)])
    return json.loads(out.getvalue()) if code == 0 else []


def test_a_daemon_on_postgres_is_seen_by_status_and_keeps_one_engine_per_machine(
        tmp_path: Path, pg_url: str, postgres_server: PostgresServer) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(f'[storage]\nurl = "{pg_url}"\n[[monitor]]\nname = "pg"\n'
                      f'url = "tcp://127.0.0.1:{postgres_server.port}"\ninterval = "1s"\ntimeout = "500ms"\n')
    log = tmp_path / "daemon.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        rows = wait_for(lambda: [r for r in _status(config) if r["state"] == "up" and r["engine"]],
                        what="the daemon's first check, read from PostgreSQL")
        assert rows[0]["engine"]["pid"] == proc.pid  # its heartbeat, in the data folder
        second = subprocess.run([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config)],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 1
        assert f"another ShipTrack engine (pid {proc.pid}) already runs" in second.stderr
        lock_name = "postgresql-" + pg_url.split("://")[1].replace(":", "-").replace("/", "-") + ".lock"
        assert lock_name in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert f"database {pg_url}" in log.read_text()


def test_serve_dashboard_tabs_never_carry_a_database_url_on_their_command_line() -> None:
    target = StoreTarget("postgresql://bob:hunter2@db.internal/ship")
    command = tab_command(target, Path("/etc/shiptrack.toml"))
    assert "postgresql" not in command and "hunter2" not in command
    assert command.endswith("--config /etc/shiptrack.toml")
    assert "--db /tmp/x.db" in tab_command(StoreTarget("/tmp/x.db"), None)
