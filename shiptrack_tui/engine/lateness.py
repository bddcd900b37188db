"""How late checks start compared with their slot: the schedule-fidelity figure (DESIGN §8)."""

from __future__ import annotations

from array import array

from shiptrack_tui.core.stats import exact_percentile


class LatenessRecorder:
    """Keeps every start lateness in seconds in a compact array (8 bytes a check)."""

    def __init__(self) -> None:
        self._samples = array("d")

    def record(self, seconds: float) -> None:
        self._samples.append(max(0.0, seconds))

    def reset(self) -> None:
        self._samples = array("d")

    def __len__(self) -> int:
        return len(self._samples)

    def percentile(self, q: float) -> float | None:
        return exact_percentile(self._samples, q)
