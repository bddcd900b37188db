"""wrk (the Debian package's `/usr/bin/wrk`) as the HTTP load generator of the http scenario.

One wrk process per path, each with its own connections, so each path gets its own figures. A Lua
`done()` hook prints wrk's own summary as one JSON line (requests, errors, latency percentiles),
so nothing depends on the layout of its human report.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

MARK: Final = "SHIPTRACK-WRK "
SCRIPT: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\\n',
    "MARK", summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
""".replace('"MARK"', f'"{MARK}"')


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass
class WrkRun:
    """One path's load: wrk's figures, or why there are none."""

    path: str
    connections: int
    figures: dict[str, Any] | None = None
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        if self.figures is None:
            return {"path": self.path, "connections": self.connections, "error": self.error}
        f = self.figures
        seconds = f["duration_us"] / 1e6
        lat = f["latency_us"]
        errors = sum(f["errors"].values())
        return {
            "path": self.path, "connections": self.connections, "requests": f["requests"],
            "requests_per_s": f["requests"] / seconds if seconds else 0.0,
            "mb_per_s": f["bytes"] / seconds / 1e6 if seconds else 0.0,
            "errors": errors, "error_kinds": {k: v for k, v in f["errors"].items() if v},
            "latency_ms": {key: lat[key] / 1000 for key in ("mean", "p50", "p90", "p99", "max")},
        }


async def hammer(base_url: str, paths: list[str], seconds: float, connections: int, workdir: Path,
                 headers: dict[str, str] | None = None, timeout: float = 10.0) -> list[WrkRun]:
    """Run one wrk per path for `seconds`, all at once; their figures when they end."""
    runs = [WrkRun(path, connections) for path in paths]
    wrk = wrk_path()
    if wrk is None:
        for run in runs:
            run.error = "wrk is not installed (Debian: apt-get install wrk)"
        return runs
    script = workdir / "summary.lua"
    script.write_text(SCRIPT)
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    procs = [await asyncio.create_subprocess_exec(
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout:g}s",
        "-s", str(script), *header_args, base_url + run.path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for run in runs]
    outputs = await asyncio.gather(*(proc.communicate() for proc in procs))
    for run, proc, (out, err) in zip(runs, procs, outputs, strict=True):
        line = next((ln for ln in out.decode().splitlines() if ln.startswith(MARK)), None)
        if proc.returncode != 0 or line is None:
            run.error = f"wrk exited {proc.returncode}: {err.decode().strip()[:200]}"
        else:
            run.figures = json.loads(line[len(MARK):])
    return runs
