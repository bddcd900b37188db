"""The rollup histogram blob, laid out so that Python can read it at C speed.

Buckets are core.stats buckets (`bucket_of`, `bucket_value`: 2 % wide, so any percentile read
back is within 1 % of exact). A blob is n little-endian uint16 bucket numbers followed by their n
uint32 counts. Unlike core.stats.encode_histogram's varints it decodes without a Python loop over
bytes: a 30-day window merges ~20 blobs per monitor, and for 1,000 monitors that loop alone took
longer than the whole 300 ms budget (DESIGN §8).
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from itertools import accumulate
from typing import Final

from shiptrack_tui.core.stats import bucket_of, bucket_value

_SWAP: Final = sys.byteorder != "little"
_INITIAL_BUCKETS: Final = 1024


def _arrays(blob: bytes) -> tuple[array, array]:
    n = len(blob) // 6
    buckets, counts = array("H"), array("I")
    buckets.frombytes(blob[: 2 * n])
    counts.frombytes(blob[2 * n:])
    if _SWAP:
        buckets.byteswap()
        counts.byteswap()
    return buckets, counts


def encode(counts: Mapping[int, int]) -> bytes:
    """A blob for the positive counts of a sparse histogram."""
    keys = sorted(bucket for bucket, count in counts.items() if count > 0)
    buckets, values = array("H", keys), array("I", (counts[bucket] for bucket in keys))
    if _SWAP:
        buckets.byteswap()
        values.byteswap()
    return buckets.tobytes() + values.tobytes()


def decode(blob: bytes | None) -> dict[int, int]:
    if not blob:
        return {}
    buckets, counts = _arrays(blob)
    return dict(zip(buckets, counts, strict=True))


class DenseHistogram:
    """A histogram as a list indexed by bucket: merging many blobs is one tight loop each."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = [0] * _INITIAL_BUCKETS

    def _grow(self, bucket: int) -> None:
        self.counts.extend([0] * (bucket + 1 - len(self.counts) + _INITIAL_BUCKETS))

    def add_latency(self, latency_ms: float, sign: int = 1) -> None:
        bucket = bucket_of(latency_ms)
        if bucket >= len(self.counts):
            self._grow(bucket)
        self.counts[bucket] += sign

    def add_blob(self, blob: bytes | None, sign: int = 1) -> None:
        if not blob:
            return
        buckets, values = _arrays(blob)
        if buckets and buckets[-1] >= len(self.counts):
            self._grow(buckets[-1])
        counts = self.counts
        if sign == 1:
            for bucket, count in zip(buckets, values, strict=True):
                counts[bucket] += count
        else:
            for bucket, count in zip(buckets, values, strict=True):
                counts[bucket] -= count

    def percentiles(self, *qs: float) -> list[float | None]:
        """Nearest-rank percentiles (as core.stats.histogram_percentile); None when empty."""
        counts = self.counts
        if min(counts) < 0:  # raw rows pruned under a subtracted edge: never report negative mass
            counts = [max(0, count) for count in counts]
        cumulative = list(accumulate(counts))
        total = cumulative[-1]
        if total <= 0:
            return [None for _ in qs]
        return [bucket_value(bisect_left(cumulative, max(1, math.ceil(q * total)))) for q in qs]
