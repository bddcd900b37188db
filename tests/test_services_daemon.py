"""End to end (DESIGN §10, issue #12's proof): a real daemon, loopback targets, a loopback Apprise
receiver. A member going down turns `shiptrack services --json` to `outage` for a high-severity
member and `degraded` for a medium one; status updates posted from the CLI reach the receiver and
`incidents --json` in order; recovery writes `resolved`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from receiver import Receiver
from test_daemon_logging import FlappingTarget
from waiting import wait_for

from shiptrack_tui.cli import main
from shiptrack_tui.config import operator


def services(capsys: pytest.CaptureFixture[str], config: Path, db: Path) -> dict[str, str]:
    if main(["services", "--json", "--config", str(config), "--db", str(db)]) != 0:
        return {}
    return {row["name"]: row["status"] for row in json.loads(capsys.readouterr().out)}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_outage_in_a_service_is_told_updated_and_resolved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing, healthy = FlappingTarget(), FlappingTarget()
    config, db = tmp_path / "shiptrack.toml", tmp_path / "st.db"
    rx = Receiver()
    timing = 'interval = "1s"\ntimeout = "900ms"\nfailure_threshold = 1\nrecovery_threshold = 1\n'
    config.write_text(
        f'[defaults]\n{timing}'
        f'[notify]\nurls = ["{rx.url()}"]\n'
        f'[[monitor]]\nname = "web"\nurl = "{failing.url}"\nseverity = "high"\n'
        f'[[monitor]]\nname = "cache"\nurl = "{failing.url}?cache"\nseverity = "medium"\n'
        f'[[monitor]]\nname = "ok"\nurl = "{healthy.url}"\n'
        '[[service]]\nname = "Checkout"\nmonitors = ["web", "ok"]\n'
        '[[service]]\nname = "Cache"\nmonitors = ["cache", "ok"]\n'
    )
    on = ("--config", str(config), "--db", str(db))
    daemon = subprocess.Popen([sys.executable, "-m", "shiptrack_tui", "--daemon", *on],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def told(number: str) -> list[str]:
        """What the receiver heard about one incident (`cache` fails alongside `web`, and a loaded
        machine may flap either of them on a slow answer: each message names its incident)."""
        mark = re.compile(rf"^Incident: #{number}\b", re.MULTILINE)
        return [p.title for p in list(rx.posts) if mark.search(str(p.payload.get("message", "")))]

    try:
        wait_for(lambda: db.exists() and services(capsys, config, db) == {
            "Checkout": "operational", "Cache": "operational"}, what="both services operational")
        failing.down = True
        wait_for(lambda: services(capsys, config, db) == {"Checkout": "outage", "Cache": "degraded"},
                 what="Checkout an outage (high) and Cache degraded (medium)")
        code, out, _ = cli(capsys, "incidents", "--open", "--monitor", "web", "--json", *on)
        [incident] = json.loads(out)
        number = str(incident["id"])
        assert (incident["status"], incident["severity"]) == ("investigating", "high")
        assert incident["updates"] == []

        # Two updates from the CLI, which waits for the daemon to apply each; a backwards one is refused.
        for status, message in [("identified", "bad deploy, rolling back"), ("monitoring", "v41 is back")]:
            code, out, err = cli(capsys, "update", number, status, message, *on)
            assert (code, out, err) == (0, f"posted {status} on incident #{number}\n", "")
        code, out, err = cli(capsys, "update", number, "identified", "wait, no", *on)
        assert (code, out) == (2, "")
        assert err == f"shiptrack: incident {number} is monitoring and cannot go back to identified\n"

        failing.down = False
        wait_for(lambda: len(told(number)) == 4, what="OPEN, two updates and RESOLVED for web")
        code, out, _ = cli(capsys, "incidents", "--monitor", "web", "--json", *on)
        [incident] = [i for i in json.loads(out) if str(i["id"]) == number]
    finally:
        daemon.terminate()
        _, err = daemon.communicate(timeout=10)
        rx.close()
        for target in (failing, healthy):
            target.server.shutdown()
            target.server.server_close()
    assert daemon.returncode == 0 and b"Traceback" not in err

    titles = told(number)
    assert titles[0].startswith("[OPEN] web — HTTP 503")
    assert titles[1:3] == ["[IDENTIFIED] Checkout (high) — bad deploy, rolling back",
                           "[MONITORING] Checkout (high) — v41 is back"]
    assert titles[3].startswith("[RESOLVED] web — down for ")
    by = operator("cli")
    assert (incident["state"], incident["status"]) == ("resolved", "resolved")
    assert [(u["status"], u["message"], u["by"]) for u in incident["updates"]] == [
        ("identified", "bad deploy, rolling back", by), ("monitoring", "v41 is back", by)]
    story = [(e["kind"], e["status"]) for e in incident["events"]
             if e["kind"] in ("opened", "update", "resolved")]
    assert story == [("opened", None), ("update", "identified"), ("update", "monitoring"), ("resolved", None)]
    # The postmortem of that incident, from the same database, carries every entry of its story.
    code, postmortem, err = cli(capsys, "postmortem", number, *on)
    assert (code, err) == (0, "")
    assert f"incident #{number}" in postmortem.splitlines()[0] and "Checkout" in postmortem.splitlines()[0]
    for needed in ("bad deploy, rolling back", "v41 is back", by, "Severity", "high", "HTTP 503",
                   "## Cause", "## Follow-ups"):
        assert needed in postmortem, needed
    for kind in ("Opened", "Resolved"):
        assert kind.lower() in postmortem.lower()
    assert postmortem.index("bad deploy, rolling back") < postmortem.index("v41 is back")
