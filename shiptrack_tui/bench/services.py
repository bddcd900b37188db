"""Services scenario: derive every service's status after one monitor changes (DESIGN §10).

100 services over 10,000 monitors (each service 100 monitors by name, plus every monitor sharing
one tag, so members overlap). After each change (a monitor's state, or an incident opening or
resolving), the product's `core.services.ServiceIndex.recompute` derives again the services that
monitor belongs to (the figure), and, for comparison, `derive_all` every service
(`derive_every_service_ms`). The baseline is the same-run plain scan: the same member lists
walked with one dict lookup each.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.bench.measure import median, ratio
from shiptrack_tui.core.model import MonitorStatus, Severity
from shiptrack_tui.core.services import ServiceIndex, ServiceSpec

TARGETS: Final = {"derive_per_change_p99_ms": 5.0}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(*, monitors: int, services: int, changes: int, workdir: Path) -> dict[str, Any]:
    del workdir  # nothing is written: derivation is pure
    started = time.perf_counter()
    rng = random.Random(12)
    names = [f"m{i:05d}" for i in range(monitors)]
    tags = {name: (f"t{i % 50}",) for i, name in enumerate(names)}
    per = max(1, monitors // max(1, services))
    specs = [ServiceSpec(f"s{j}", monitors=tuple(names[j * per:(j + 1) * per]), tags=(f"t{j % 50}",))
             for j in range(services)]
    t_index = time.perf_counter()
    index = ServiceIndex(specs, tags)  # what `shiptrack` builds once per config load
    index_ms = (time.perf_counter() - t_index) * 1000
    members = list(index.members.values())
    states = {name: MonitorStatus.UP for name in names}
    severities: dict[str, Severity] = {}
    status = index.derive_all(states, severities)
    derive_ms: list[float] = []
    every_ms: list[float] = []
    scan_ms: list[float] = []
    for _ in range(changes):
        name = rng.choice(names)
        roll = rng.random()
        if roll < 0.4:
            states[name] = rng.choice([MonitorStatus.UP, MonitorStatus.DEGRADED, MonitorStatus.MAINTENANCE])
        elif roll < 0.7:
            states[name] = MonitorStatus.DOWN
            severities[name] = rng.choice(list(Severity))
        else:
            states[name] = MonitorStatus.UP
            severities.pop(name, None)
        t0 = time.perf_counter()
        status.update(index.recompute((name,), states, severities))
        t1 = time.perf_counter()
        for service in index.services_of(name):
            sum(1 for m in index.members[service] if states.get(m) is MonitorStatus.DOWN)
        t2 = time.perf_counter()
        every = index.derive_all(states, severities)
        t3 = time.perf_counter()
        derive_ms.append((t1 - t0) * 1000)
        scan_ms.append((t2 - t1) * 1000)
        every_ms.append((t3 - t2) * 1000)
        if every != status:
            raise AssertionError("re-deriving only the changed monitor's services disagreed with all")
    figure, base = median(derive_ms), median(scan_ms)
    p99 = _percentile(derive_ms, 0.99)
    return {
        "scenario": "services",
        "params": {"monitors": monitors, "services": services, "changes": changes,
                   "members_per_service": round(sum(map(len, members)) / max(1, len(members)), 1)},
        "figures": {"derive_per_change_ms": figure, "derive_per_change_p99_ms": p99,
                    "derive_per_change_max_ms": max(derive_ms),
                    "derive_every_service_ms": median(every_ms),
                    "derive_every_service_p99_ms": _percentile(every_ms, 0.99),
                    "build_index_ms": index_ms},
        "baseline": {"what": "plain scan: the same member lists, one dict lookup per member",
                     "scan_ms": base, "scan_p99_ms": _percentile(scan_ms, 0.99)},
        "ratio": ratio(figure, base),
        "target": TARGETS,
        "pass": {"derive_per_change_p99_ms": p99 < TARGETS["derive_per_change_p99_ms"]},
        "notes": ["per change, ServiceIndex.recompute derives again the services holding the changed "
                  "monitor; each result is checked against derive_all"],
        "elapsed_s": time.perf_counter() - started,
    }
