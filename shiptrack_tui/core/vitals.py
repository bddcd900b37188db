"""What a running engine says about itself to its own process: the figures behind `/health` and
`/metrics` (DESIGN §11), read from another thread (the HTTP server's) without a lock.

`Buckets` counts observations into fixed upper bounds, Prometheus style: observing is one bisect
and one increment on the hot path; a snapshot copies the counts (a single list copy under the
GIL), so a reader on another thread never sees a count go down.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

LATENESS_BOUNDS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds a check started after its slot (the schedule-fidelity figure of DESIGN §8)."""
COMMIT_BOUNDS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds one storage transaction took, retries included."""
BATCH_BOUNDS: Final = (1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0)
"""Writes committed together in one storage transaction."""


@dataclass(frozen=True, slots=True)
class BucketCounts:
    """A histogram at one moment: `counts[i]` observations fell at or below `bounds[i]` and above
    the bound before it; the last count is above every bound (`+Inf`)."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it) pairs, ending with (inf, count)."""
        running, pairs = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


class Buckets:
    """Counts of observations per bucket, and their sum; written by one thread, read by any."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self._total = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self.bounds, value)] += 1
        self._total += value

    def snapshot(self) -> BucketCounts:
        return BucketCounts(self.bounds, tuple(self._counts), self._total)


@dataclass(frozen=True, slots=True)
class StorageVitals:
    """The engine's storage writer: what waits, what it shed, and how its commits went."""

    queued: int = 0
    dropped_checks: int = 0
    stalled_seconds: float | None = None  # the current stall's age; None while writes get through
    stall_error: str | None = None
    unreachable: bool = False  # the stall is a database server that cannot be reached (PostgreSQL)
    backend: str = "sqlite"
    batch_writes: BucketCounts | None = None
    commit_seconds: BucketCounts | None = None


@dataclass(frozen=True, slots=True)
class EngineVitals:
    """One engine's figures at `at` (monotonic). `last_tick` is when its scheduling loop last ran
    (monotonic; None before its first pass); `config_loaded` once it runs a config."""

    at: float
    started_at: float
    last_tick: float | None
    config_loaded: bool
    monitors: int
    checks: int
    outcomes: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    """Per monitor, checks since the engine started: (up, degraded, down)."""
    lateness: BucketCounts | None = None
    storage: StorageVitals = StorageVitals()

    @property
    def tick_age(self) -> float:
        """Seconds since the scheduling loop last ran (since the engine started, before its first pass)."""
        return self.at - (self.last_tick if self.last_tick is not None else self.started_at)


def database_label(backend: str) -> str:
    """How the log lines, /health and the dashboard name the database of `backend`."""
    return "PostgreSQL" if backend == "postgresql" else "the database"


def unreachable_text(backend: str, age: str, held: int, dropped: int = 0) -> str:
    """`PostgreSQL unreachable for 23s; 4,812 results held` (what /health and the header say)."""
    results = "result" if held == 1 else "results"
    text = f"{database_label(backend)} unreachable for {age}; {held:,} {results} held"
    if dropped:
        text += f"; {dropped:,} check results dropped to bound memory"
    return text
