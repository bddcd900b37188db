"""Schedule arithmetic: stable per-monitor phases and due times that never drift."""

from __future__ import annotations

import hashlib
import math


def stable_offset(name: str, interval: float) -> float:
    """A phase in [0, interval) that depends only on the monitor's name.

    It spreads 1,000 monitors over their interval instead of firing them in one millisecond, and
    stays the same across restarts (Python's own hash() is salted per process).
    """
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64) * interval


def first_due(name: str, interval: float, now: float) -> float:
    """The first slot at or after `now` on this monitor's grid of `offset + k * interval`."""
    offset = stable_offset(name, interval)
    k = math.ceil((now - offset) / interval)
    return offset + k * interval


def next_due(due: float, interval: float, now: float) -> tuple[float, int]:
    """The slot after `due`, and how many slots were skipped because the engine fell behind.

    Due times advance by the interval, not by "finished + interval", so checks do not drift. A
    slot more than a whole interval in the past is skipped rather than run in a burst.
    """
    following = due + interval
    if following >= now - interval:
        return following, 0
    skipped = math.floor((now - following) / interval)
    return following + skipped * interval, skipped
