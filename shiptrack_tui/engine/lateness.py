"""How late checks start compared with their slot: the schedule-fidelity figure (DESIGN §8)."""

from __future__ import annotations

from array import array
from typing import Final

from shiptrack_tui.core.stats import exact_percentile
from shiptrack_tui.core.vitals import LATENESS_BOUNDS, BucketCounts, Buckets

MAX_SAMPLES: Final = 1_000_000
"""Exact samples kept (8 MB): a daemon checking 10,000 monitors at 30 s would otherwise grow by
230 MB a day. Past it the older half goes, so percentiles cover the latest checks."""


class LatenessRecorder:
    """Every recent start lateness in seconds, in a compact array (8 bytes a check), for exact
    percentiles; and a bucketed histogram since the start, for `/metrics`."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._samples = array("d")
        self._max = max(2, max_samples)
        self._recorded = 0  # since the last reset, kept or not
        self._buckets = Buckets(LATENESS_BOUNDS)

    def record(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if len(self._samples) >= self._max:
            del self._samples[: self._max // 2]
        self._samples.append(seconds)
        self._recorded += 1
        self._buckets.observe(seconds)

    def reset(self) -> None:
        """Forget the exact samples (the benchmark's warm-up); the histogram keeps counting."""
        self._samples = array("d")
        self._recorded = 0

    def __len__(self) -> int:
        """Checks recorded since the last reset (the percentiles cover the latest `MAX_SAMPLES`)."""
        return self._recorded

    def percentile(self, q: float) -> float | None:
        return exact_percentile(self._samples, q)

    def samples(self) -> list[float]:
        """The exact samples kept since the last reset, in seconds (a benchmark merges several)."""
        return list(self._samples)

    def histogram(self) -> BucketCounts:
        """Safe to call from another thread."""
        return self._buckets.snapshot()
