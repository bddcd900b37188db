"""A config with no monitors is valid (a fresh install starts from one) but never passes silently."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import wait_for

from shiptrack_tui.cli import main

WARNING = "warning: no monitors configured, so nothing will be checked"
ONE_MONITOR = '[[monitor]]\nname = "api"\nurl = "http://127.0.0.1:9/"\n'


@pytest.mark.parametrize("text", ["", '[defaults]\ninterval = "30s"\n\n[notify]\nurls = []\n'],
                         ids=["empty-file", "no-monitor-tables"])
def test_check_config_warns_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        text: str) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text(text)
    assert main(["check-config", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{config}: ok — 0 monitors")
    assert err.splitlines() == [
        f"{config}: {WARNING}; add a [[monitor]] table or run `shiptrack monitor add --name N --url U`"
    ]


def test_monitor_add_works_on_an_empty_file_and_the_warning_goes(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text("")
    add = ["monitor", "add", "--name", "api", "--url", "http://127.0.0.1:9/", "--config", str(config)]
    assert main(add) == 0
    capsys.readouterr()
    assert main(["check-config", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{config}: ok — 1 monitor,") and err == ""




def test_daemon_warns_at_start_and_on_each_reload_that_empties_it(tmp_path: Path) -> None:
    config = tmp_path / "shiptrack.toml"
    config.write_text("")
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shiptrack_tui", "--daemon", "--config", str(config),
             "--db", str(tmp_path / "st.db")],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        def log() -> str:
            return log_path.read_text()

        wait_for(lambda: "daemon started: 0 monitors" in log() and WARNING in log(),
                 what="the start-up warning")
        assert f"WARNING shiptrack.daemon: {config}: {WARNING}" in log()

        config.write_text(ONE_MONITOR)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded: 1 monitors" in log() or "reloading 1 monitors" in log(),
                 what="the reload")
        assert log().count(WARNING) == 1  # a config with a monitor does not warn

        config.write_text("# every monitor removed\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log().count(WARNING) >= 2, what="the warning on reload")
        assert proc.poll() is None  # a warning, not a refusal: the daemon keeps running
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
