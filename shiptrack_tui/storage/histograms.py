"""The rollup histogram blob, laid out so that merging many of them costs almost nothing.

Buckets are core.stats buckets (`bucket_of`, `bucket_value`: 2 % wide, so a percentile read back
is within 1 % of exact). A blob is whichever of two layouts is smaller:
- dense  (first byte 1): uint16 first bucket, then one uint32 count per bucket from there on;
- sparse (first byte 0): n uint16 bucket numbers, then their n uint32 counts;
all little-endian. A dense blob read as one little-endian integer and shifted by 32 bits per
bucket is a "packed" histogram: adding two such integers adds every bucket at once, in C.
A 30-day window merges about 20 blobs per monitor; for 1,000 monitors a Python loop per bucket
took longer than the whole 300 ms budget (DESIGN §8), and core.stats' varints need one per byte.
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

SPARSE: Final = 0
DENSE: Final = 1
LANE_BITS: Final = 32  # a window holds far fewer than 2**32 checks per bucket
_SWAP: Final = sys.byteorder != "little"


def _little(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _read(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if _SWAP:
        values.byteswap()
    return values


def encode(counts: Mapping[int, int]) -> bytes:
    """A blob for the positive counts of a histogram (b"" when there are none)."""
    keys = sorted(bucket for bucket, count in counts.items() if count > 0)
    if not keys:
        return b""
    low, high = keys[0], keys[-1]
    # Dense even when somewhat larger: only dense blobs merge without a loop.
    if 3 + 4 * (high - low + 1) <= 2 * (1 + 6 * len(keys)):
        dense = array("I", (max(0, counts.get(bucket, 0)) for bucket in range(low, high + 1)))
        return bytes((DENSE,)) + low.to_bytes(2, "little") + _little(dense)
    return bytes((SPARSE,)) + _little(array("H", keys)) + _little(array("I", (counts[k] for k in keys)))


def decode(blob: bytes | None) -> dict[int, int]:
    if not blob:
        return {}
    if blob[0] == DENSE:
        low = int.from_bytes(blob[1:3], "little")
        counts = _read("I", blob[3:])
        return {low + offset: count for offset, count in enumerate(counts) if count}
    n = (len(blob) - 1) // 6
    return dict(zip(_read("H", blob[1:1 + 2 * n]), _read("I", blob[1 + 2 * n:]), strict=True))


class WindowHistogram:
    """The latency histogram of one window: dense blobs summed as packed integers, the rest
    (sparse blobs, raw checks, anything subtracted) kept bucket by bucket."""

    __slots__ = ("loose", "packed")

    def __init__(self) -> None:
        self.packed = 0
        self.loose: dict[int, int] = {}

    def copy(self) -> WindowHistogram:
        twin = WindowHistogram()
        twin.packed, twin.loose = self.packed, dict(self.loose)
        return twin

    def add_latency(self, latency_ms: float, sign: int = 1) -> None:
        bucket = bucket_of(latency_ms)
        self.loose[bucket] = self.loose.get(bucket, 0) + sign

    def add_blob(self, blob: bytes | None, sign: int = 1) -> None:
        if not blob:
            return
        if blob[0] == DENSE and sign > 0:
            low = int.from_bytes(blob[1:3], "little")
            self.packed += int.from_bytes(blob[3:], "little") << (LANE_BITS * low)
            return
        loose = self.loose
        for bucket, count in decode(blob).items():
            loose[bucket] = loose.get(bucket, 0) + sign * count

    def packed_all(self) -> int:
        """Everything as one packed integer (negative loose counts are dropped)."""
        packed = self.packed
        for bucket, count in self.loose.items():
            if count > 0:
                packed += count << (LANE_BITS * bucket)
        return packed

    def counts(self) -> list[int]:
        """Count per bucket, from bucket 0 up."""
        lanes = -(-self.packed.bit_length() // LANE_BITS)
        counts = list(_read("I", self.packed.to_bytes(lanes * LANE_BITS // 8, "little")))
        if self.loose:
            top = max(self.loose) + 1
            if top > len(counts):
                counts.extend([0] * (top - len(counts)))
            for bucket, count in self.loose.items():
                counts[bucket] += count
        return counts

    def percentiles(self, *qs: float) -> list[float | None]:
        """Nearest-rank percentiles (as core.stats.histogram_percentile); None when empty."""
        counts = self.counts()
        if any(count < 0 for count in self.loose.values()) and min(counts) < 0:
            # Raw rows pruned under a subtracted edge: never let a bucket hold negative mass.
            counts = [max(0, count) for count in counts]
        cumulative = list(accumulate(counts))
        total = cumulative[-1] if cumulative else 0
        if total <= 0:
            return [None for _ in qs]
        return [bucket_value(bisect_left(cumulative, max(1, math.ceil(q * total)))) for q in qs]
