"""The seeded dashboard tests hold on any calendar day: the screen reads time only through the clock
the app is given (`ShipTrackApp(clock=...)`), never through the wall clock.

The proof moves the wall clock itself: the recorded snapshots (tests/test_tui_snapshots.py, fixed
clock at test_tui_seed.NOW, 2026-11-18) are compared again in a pytest run under Debian's libfaketime
on a day more than a year later. Any screen figure that followed the real date (a 24 h / 30 d window,
an age, retention, a relative time) would change the picture and fail the comparison.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAR_DAY = "2028-02-29 12:00:00"  # past every window and retention the dashboard reads, a leap day
# The snapshots that read the most time: ages, the timeline, the detail pane's checks and chart in two
# windows, and an attached dashboard (whose daemon watch reads the real clock beside the heartbeat).
SNAPSHOTS = ("test_attached_to_daemon", "test_small_terminal_detail",
             "test_small_terminal_detail_after_window_switch_and_help")


def _faketime() -> str:
    found = shutil.which("faketime")
    assert found is not None, "faketime is missing: run tests/install-system-packages.sh (Debian's faketime)"
    return found


def _under_faketime(*command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    # '@' starts the faked wall clock at that instant and lets it run (the app's timers need it to move).
    return subprocess.run([_faketime(), "-f", f"@{FAR_DAY}", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_faketime_moves_the_wall_clock_of_a_python_child() -> None:
    """Without this the test below could pass on a clock that never moved."""
    out = _under_faketime(sys.executable, "-c", "import time; print(time.time())", timeout=30)
    assert out.returncode == 0, out.stderr
    seen = datetime.fromtimestamp(float(out.stdout), UTC)
    assert seen.strftime("%Y-%m-%d %H") == FAR_DAY[:13], seen


def test_the_recorded_snapshots_hold_on_a_day_long_after_the_seed() -> None:
    out = _under_faketime(sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                          *(f"tests/test_tui_snapshots.py::{name}" for name in SNAPSHOTS), timeout=110)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(SNAPSHOTS)} passed" in out.stdout, out.stdout[-2000:]
