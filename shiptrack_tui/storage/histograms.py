"""The rollup histogram blob: small on disk, and merged many at a time without a loop per bucket.

Buckets are core.stats buckets (`bucket_of`, `bucket_value`: 2 % wide, so a percentile read back
is within 1 % of exact). The first byte says the layout; everything is little-endian.
- dense  (0x10 | w): uint16 first bucket, then one count per bucket up to the last occupied one;
- sparse (0x20 | w): n uint16 bucket numbers, then their n counts;
where w (0, 1, 2) makes every count 1, 2 or 4 bytes wide: the narrowest that holds the largest.
An hour of 60 checks is about 100 bytes, a third of the old fixed uint32 layouts (first byte 1:
dense, 0: sparse), which are still read for databases written before schema 3.

Reading, a blob becomes a "packed" histogram: one Python integer with 32 bits per bucket, so that
adding two adds every bucket at once, in C; a dense blob is widened with `array` conversions.
A status call merges several thousand blobs; a Python loop per bucket took longer than the whole
300 ms budget (DESIGN §8).
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

SPARSE: Final = 0  # legacy (schema < 3): uint16 buckets, uint32 counts
DENSE: Final = 1  # legacy (schema < 3): uint16 first bucket, uint32 counts
DENSE_NARROW: Final = 0x10
SPARSE_NARROW: Final = 0x20
WIDTHS: Final = ((1, "B"), (2, "H"), (4, "I"))  # index = the low bits of the first byte
LANE_BITS: Final = 32  # a window holds far fewer than 2**32 checks per bucket
LANE_BYTES: Final = LANE_BITS // 8
_SWAP: Final = sys.byteorder != "little"
assert array("I").itemsize == 4 and array("H").itemsize == 2


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


def _width(largest: int) -> int:
    return 0 if largest < 0x100 else 1 if largest < 0x10000 else 2


def _encode_lanes(low: int, lanes: array, wide: bool = False) -> bytes:
    """A blob for counts `lanes` (uint32, first and last non-zero) from bucket `low` on; `wide`
    keeps 4-byte counts (fastest to read, for the few rows read on every status call)."""
    if not lanes:
        return b""
    code = 2 if wide else _width(max(lanes))
    size, typecode = WIDTHS[code]
    occupied = len(lanes) - lanes.count(0)
    if not wide and 2 + occupied * (2 + size) < 2 + len(lanes) * size:
        keys = [low + offset for offset, count in enumerate(lanes) if count]
        counts = [count for count in lanes if count]
        return (bytes((SPARSE_NARROW | code,)) + _little(array("H", keys))
                + _little(array(typecode, counts)))
    narrow = lanes if typecode == "I" else array(typecode, lanes)
    return bytes((DENSE_NARROW | code,)) + low.to_bytes(2, "little") + _little(narrow)


def encode(counts: Mapping[int, int]) -> bytes:
    """A blob for the positive counts of a histogram (b"" when there are none)."""
    keys = [bucket for bucket, count in counts.items() if count > 0]
    if not keys:
        return b""
    low, high = min(keys), max(keys)
    return _encode_lanes(low, array("I", (max(0, counts.get(b, 0)) for b in range(low, high + 1))))


def encode_packed(packed: int, wide: bool = False) -> bytes:
    """A blob for a packed histogram (every lane must be in 0 .. 2**32 - 1)."""
    if packed <= 0:
        return b""
    data = packed.to_bytes(-(-packed.bit_length() // LANE_BITS) * LANE_BYTES, "little")
    low = (len(data) - len(data.lstrip(b"\0"))) // LANE_BYTES
    return _encode_lanes(low, _read("I", data[low * LANE_BYTES:]), wide)


def to_packed(blob: bytes | None) -> int:
    """A blob as one packed integer, 32 bits per bucket."""
    if not blob:
        return 0
    kind = blob[0]
    if kind == DENSE:
        return int.from_bytes(blob[3:], "little") << (LANE_BITS * int.from_bytes(blob[1:3], "little"))
    if kind & 0xF0 == DENSE_NARROW:
        low = int.from_bytes(blob[1:3], "little")
        size, _typecode = WIDTHS[kind & 0x0F]
        counts = blob[3:]
        if size == LANE_BYTES:
            lanes = counts
        else:  # widen each little-endian count into its 4-byte lane by strided copies, in C
            lanes = bytearray(len(counts) // size * LANE_BYTES)
            for byte in range(size):
                lanes[byte::LANE_BYTES] = counts[byte::size]
        return int.from_bytes(lanes, "little") << (LANE_BITS * low)
    found = decode(blob)
    if not found:
        return 0
    low = min(found)
    dense = array("I", bytes(LANE_BYTES * (max(found) - low + 1)))
    for bucket, count in found.items():
        dense[bucket - low] = count
    return int.from_bytes(_little(dense), "little") << (LANE_BITS * low)


def decode(blob: bytes | None) -> dict[int, int]:
    if not blob:
        return {}
    kind = blob[0]
    if kind == DENSE or kind & 0xF0 == DENSE_NARROW:
        low = int.from_bytes(blob[1:3], "little")
        typecode = "I" if kind == DENSE else WIDTHS[kind & 0x0F][1]
        return {low + offset: count for offset, count in enumerate(_read(typecode, blob[3:])) if count}
    size, typecode = (4, "I") if kind == SPARSE else WIDTHS[kind & 0x0F]
    n = (len(blob) - 1) // (2 + size)
    return dict(zip(_read("H", blob[1:1 + 2 * n]), _read(typecode, blob[1 + 2 * n:]), strict=True))


def reencode(blob: bytes | None) -> bytes:
    """Any blob in today's layout (for the schema 3 migration)."""
    return encode(decode(blob))


def _packed_loose(loose: Mapping[int, int]) -> int:
    """Loose counts (some maybe negative) as one packed integer, built with two big shifts."""
    if not loose:
        return 0
    low = min(loose)
    plus = array("I", bytes(LANE_BYTES * (max(loose) - low + 1)))
    minus = array("I", plus)
    for bucket, count in loose.items():
        if count >= 0:
            plus[bucket - low] = count
        else:
            minus[bucket - low] = -count
    packed = int.from_bytes(_little(plus), "little")
    if any(minus):
        packed -= int.from_bytes(_little(minus), "little")
    return packed << (LANE_BITS * low)


_top_bits_mask = 0  # the top bit of every lane, over as many lanes as the widest histogram yet


def _top_bits(bits: int) -> int:
    """An integer with each 32-bit lane's top bit set, over at least `bits` bits."""
    global _top_bits_mask
    if _top_bits_mask.bit_length() < bits:
        lanes = -(-bits // LANE_BITS) * 2  # grow ahead: most histograms are about the same size
        _top_bits_mask = int.from_bytes(b"\0\0\0\x80" * lanes, "little")
    return _top_bits_mask


class WindowHistogram:
    """The latency histogram of one window: blobs summed as packed integers, the rest (raw
    checks, anything subtracted) kept bucket by bucket."""

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
        if sign > 0:
            self.packed += to_packed(blob)
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
        counts = list(_read("I", self.packed.to_bytes(lanes * LANE_BYTES, "little")))
        if self.loose:
            top = max(self.loose) + 1
            if top > len(counts):
                counts.extend([0] * (top - len(counts)))
            for bucket, count in self.loose.items():
                counts[bucket] += count
        return counts

    def percentiles(self, *qs: float) -> list[float | None]:
        """Nearest-rank percentiles (as core.stats.histogram_percentile); None when empty."""
        combined = self.packed + _packed_loose(self.loose) if self.loose else self.packed
        if combined == 0:
            return [None for _ in qs]
        # The usual case: every bucket non-negative (no lane's top bit set: a negative bucket
        # borrows from the next one), read in C from the lowest occupied lane.
        if combined > 0 and not combined & _top_bits(combined.bit_length()):
            low = ((combined & -combined).bit_length() - 1) // LANE_BITS
            occupied = combined >> (LANE_BITS * low)
            lanes = _read("I", occupied.to_bytes(-(-occupied.bit_length() // LANE_BITS) * LANE_BYTES,
                                                 "little"))
            cumulative = list(accumulate(lanes))
            total = cumulative[-1]
            return [bucket_value(low + bisect_left(cumulative, max(1, math.ceil(q * total))))
                    for q in qs]
        counts = self.counts()
        if any(count < 0 for count in self.loose.values()) and min(counts) < 0:
            # Raw rows pruned under a subtracted edge: never let a bucket hold negative mass.
            counts = [max(0, count) for count in counts]
        cumulative = list(accumulate(counts))
        total = cumulative[-1] if cumulative else 0
        if total <= 0:
            return [None for _ in qs]
        return [bucket_value(bisect_left(cumulative, max(1, math.ceil(q * total)))) for q in qs]
