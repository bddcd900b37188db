"""End to end: a real daemon, a loopback target going down, and `shiptrack services --json`
turning `outage` for a high-severity member and `degraded` for a medium one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_daemon_logging import FlappingTarget
from waiting import wait_for

from shiptrack_tui.cli import main


def services(capsys: pytest.CaptureFixture[str], config: Path, db: Path) -> dict[str, str]:
    if main(["services", "--json", "--config", str(config), "--db", str(db)]) != 0:
        return {}
    return {row["name"]: row["status"] for row in json.loads(capsys.readouterr().out)}


def test_a_member_going_down_makes_its_service_an_outage_or_degraded_by_severity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing, healthy = FlappingTarget(), FlappingTarget()
    config, db = tmp_path / "shiptrack.toml", tmp_path / "st.db"
    timing = 'interval = "1s"\ntimeout = "900ms"\nfailure_threshold = 1\n'
    config.write_text(
        f'[defaults]\n{timing}'
        f'[[monitor]]\nname = "web"\nurl = "{failing.url}"\nseverity = "high"\n'
        f'[[monitor]]\nname = "cache"\nurl = "{failing.url}?cache"\nseverity = "medium"\n'
        f'[[monitor]]\nname = "ok"\nurl = "{healthy.url}"\n'
        '[[service]]\nname = "Checkout"\nmonitors = ["web", "ok"]\n'
        '[[service]]\nname = "Cache"\nmonitors = ["cache", "ok"]\n'
    )
    daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
                               "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: db.exists() and services(capsys, config, db) == {
            "Checkout": "operational", "Cache": "operational"}, what="both services operational")
        failing.down = True
        wait_for(lambda: services(capsys, config, db) == {"Checkout": "outage", "Cache": "degraded"},
                 what="Checkout an outage (high) and Cache degraded (medium)")
    finally:
        daemon.terminate()
        _, err = daemon.communicate(timeout=10)
        for target in (failing, healthy):
            target.server.shutdown()
            target.server.server_close()
    assert daemon.returncode == 0 and b"Traceback" not in err
