"""The engine's heartbeat: a small JSON file beside the database that other processes read.

A stalled database cannot carry news of its own stall, so the engine writes what `shiptrack
status` and an attached dashboard need to know (monitors up and down, writes waiting, a storage
stall and its cause) to `<db>.heartbeat` every few seconds, atomically (temp file + rename). A
reader trusts it only while an engine holds the database's lock; a heartbeat older than
`STALE_SECONDS` then means the engine's loop is not running.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.messages import iso_utc
from shiptrack_tui.core.vitals import unreachable_text
from shiptrack_tui.lock import running_engine_pid

STALE_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class StorageStall:
    """Writes are not reaching the database: since when (wall clock), why, and what waits."""

    since: float
    error: str | None
    waiting: int
    dropped: int = 0
    unreachable: bool = False  # the database server cannot be reached (PostgreSQL)
    backend: str = "sqlite"

    def describe(self, now: float) -> str:
        """`storage stalled for 45s: database is locked; 1,234 writes waiting`, or
        `PostgreSQL unreachable for 23s; 4,812 results held`."""
        if self.unreachable:
            age = format_duration(round(max(0.0, now - self.since)))
            return unreachable_text(self.backend, age, self.waiting, self.dropped)
        cause = self.error or "a commit has not finished"
        text = f"storage stalled for {format_duration(round(max(0.0, now - self.since)))}: {cause}; "
        text += f"{self.waiting:,} {'write' if self.waiting == 1 else 'writes'} waiting"
        if self.dropped:
            text += f"; {self.dropped:,} check results dropped to bound memory"
        return text

    def as_json(self, now: float) -> dict[str, Any]:
        return {"since": iso_utc(self.since), "seconds": round(max(0.0, now - self.since), 1),
                "error": self.error, "writes_waiting": self.waiting, "dropped": self.dropped,
                "unreachable": self.unreachable}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the engine says about itself at `at` (wall clock)."""

    pid: int
    at: float
    monitors: int
    up: int
    down: int
    queue: int
    stall: StorageStall | None = None

    def summary(self, now: float) -> str:
        """One line for systemd's STATUS=: `12 monitors: 10 up, 1 down; 3 writes queued`."""
        text = f"{self.monitors} monitors: {self.up} up, {self.down} down; {self.queue:,} writes queued"
        return text if self.stall is None else f"{text}; {self.stall.describe(now)}"


def heartbeat_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".heartbeat")


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the file atomically: a reader sees the old beat or the new one, never half."""
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(beat), out)
    os.replace(temp, path)


def remove_heartbeat(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def read_heartbeat(path: Path) -> Heartbeat | None:
    """The last beat written, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text())
        stall = data.pop("stall", None)
        return Heartbeat(**data, stall=StorageStall(**stall) if stall else None)
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class EngineHealth:
    """A running engine's health as another process sees it (status, an attached dashboard)."""

    pid: int
    beat: Heartbeat | None
    now: float

    @property
    def stale_for(self) -> float | None:
        """Seconds since the last heartbeat, when that is longer than `STALE_SECONDS`."""
        age = None if self.beat is None else self.now - self.beat.at
        return age if age is not None and age > STALE_SECONDS else None

    def problem(self) -> str | None:
        """One line when something is wrong, else None."""
        if self.stale_for is not None:
            return (f"engine (pid {self.pid}) has not written a heartbeat for "
                    f"{format_duration(round(self.stale_for))}: its loop may be stuck")
        if self.beat is not None and self.beat.stall is not None:
            return self.beat.stall.describe(self.now)
        return None

    def as_json(self) -> dict[str, Any]:
        stall = self.beat.stall if self.beat is not None and self.stale_for is None else None
        return {"pid": self.pid, "heartbeat_at": None if self.beat is None else iso_utc(self.beat.at),
                "stale": self.stale_for is not None,
                "storage_stall": None if stall is None else stall.as_json(self.now)}


def engine_health(db_path: Path, now: float) -> EngineHealth | None:
    """The health of the engine running on this database; None when no engine runs on it."""
    pid = running_engine_pid(db_path)
    if pid is None:
        return None
    return EngineHealth(pid, read_heartbeat(heartbeat_path(db_path)), now)
