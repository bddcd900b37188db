"""Never hang silently: what the engine's loop says about its own health, every tick.

The scheduling loop calls `tick()` at least once a second. It
- logs a step of the wall clock (the schedule runs on the monotonic clock and is not affected);
- logs a storage stall with its age when it starts, every 30 s while it lasts, and when it ends;
- writes the heartbeat file that `shiptrack status` and an attached dashboard read (heartbeat.py);
- speaks systemd's notify protocol: READY=1 on the first tick, STATUS= with a summary, and
  WATCHDOG=1 only while healthy. Sent from this loop, a ping proves the scheduler ticks; it also
  stops once storage has been stalled for longer than the watchdog interval itself, after which
  systemd restarts the daemon — except while the database server is unreachable (a PostgreSQL
  restart or failover): a restart would only lose the results held for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final, Protocol

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import MonitorState, MonitorStatus
from shiptrack_tui.heartbeat import Heartbeat, StorageStall, remove_heartbeat, write_heartbeat
from shiptrack_tui.storage.writer import Writer, WriterStall

log = logging.getLogger("shiptrack.engine")

JUMP_SECONDS: Final = 1.0
"""Wall and monotonic time disagreeing by more than this between two ticks is a clock step."""
HEARTBEAT_SECONDS: Final = 2.0
STALL_LOG_SECONDS: Final = 30.0
STALL_LIMIT: Final = 60.0
"""Without a systemd watchdog interval: how long a stall may last before the engine is unhealthy."""
UP: Final = frozenset({MonitorStatus.UP, MonitorStatus.DEGRADED})


class Notifier(Protocol):
    """systemd's notify socket (systemd.SystemdNotifier), or anything that takes its messages."""

    watchdog_seconds: float | None

    def send(self, *assignments: str) -> None: ...


class Liveness:
    """Clock steps, storage stalls, the heartbeat file and systemd, driven by the engine's loop."""

    def __init__(self, heartbeat: Path | None, notifier: Notifier | None,
                 states: Callable[[], Iterable[MonitorState]]) -> None:
        self._heartbeat = heartbeat
        self._notifier = notifier
        self._states = states
        self._writer: Writer | None = None
        watchdog = notifier.watchdog_seconds if notifier is not None else None
        self._watchdog = watchdog
        self._stall_limit = watchdog if watchdog is not None else STALL_LIMIT
        self._every = min(1.0, watchdog / 3) if watchdog else 1.0
        self._last: tuple[float, float] | None = None  # (monotonic, wall) at the previous tick
        self._next_check = 0.0
        self._next_beat = 0.0
        self._ready = False
        self._stall_started: float | None = None  # wall time the current stall began
        self._stall_logged = 0.0  # monotonic time of the last stall line
        self._stall_unreachable = False  # the current stall is an unreachable database
        self._withheld = False
        self._files = ThreadPoolExecutor(1, thread_name_prefix="shiptrack-heartbeat") if heartbeat else None
        self._writing: Future[None] | None = None

    def attach(self, writer: Writer) -> None:
        self._writer = writer

    @property
    def healthy(self) -> bool:
        return not self._withheld

    @property
    def last_tick(self) -> float | None:
        """The monotonic time of the scheduling loop's latest pass (None before the first); any thread."""
        last = self._last
        return None if last is None else last[0]

    def tick(self, mono: float, wall: float) -> None:
        """Called by the scheduling loop on every pass; cheap unless a second has gone by."""
        if self._last is not None:
            stepped = (wall - self._last[1]) - (mono - self._last[0])
            if abs(stepped) > JUMP_SECONDS:
                way = "forward" if stepped > 0 else "back"
                log.warning("the wall clock jumped %s by %s; checks stay on their monotonic schedule and "
                            "results carry the new time", way, format_duration(abs(stepped)))
        self._last = (mono, wall)
        if mono < self._next_check:
            return
        self._next_check = mono + self._every
        stall = self._writer.stall() if self._writer is not None else None
        news = (stall is None) != (self._stall_started is None)  # a stall began or ended: tell at once
        self._report_stall(stall, mono, wall)
        # An unreachable database server is not the engine's illness: a restart would lose the
        # writes it holds (bounded) and could not reach the server either. It stays not ready.
        unhealthy = stall is not None and not stall.unreachable and stall.seconds > self._stall_limit
        if unhealthy != self._withheld:
            self._withheld = unhealthy
            if unhealthy:
                log.error("storage stalled for more than %s: the engine reports itself unhealthy%s",
                          format_duration(self._stall_limit),
                          " (no more systemd watchdog pings: systemd will restart the daemon)"
                          if self._watchdog else "")
        notify: list[str] = []
        first = not self._ready
        if first:
            self._ready = True
            notify.append("READY=1")
        if self._watchdog and not unhealthy:
            notify.append("WATCHDOG=1")
        if first or news or mono >= self._next_beat:
            self._next_beat = mono + HEARTBEAT_SECONDS
            beat = self._beat(stall, wall)
            notify.append(f"STATUS={beat.summary(wall)}")
            self._write(beat)
        if notify and self._notifier is not None:
            self._notifier.send(*notify)

    def _report_stall(self, stall: WriterStall | None, mono: float, wall: float) -> None:
        # An unreachable database logs its own start and end (storage/outage.py); this loop adds
        # the running figures every 30 s.
        if stall is None:
            if self._stall_started is not None and not self._stall_unreachable:
                log.warning("storage recovered after %s", format_duration(round(wall - self._stall_started)))
            self._stall_started = None
            return
        if self._stall_started is None:
            self._stall_started = wall - stall.seconds
            self._stall_unreachable = stall.unreachable
            if stall.unreachable:
                self._stall_logged = mono
                return
        elif mono - self._stall_logged < STALL_LOG_SECONDS:
            return
        self._stall_logged = mono
        log.warning("%s", self._storage_stall(stall, wall).describe(wall))

    @staticmethod
    def _storage_stall(stall: WriterStall, wall: float) -> StorageStall:
        return StorageStall(since=wall - stall.seconds, error=stall.error, waiting=stall.waiting,
                            dropped=stall.dropped, unreachable=stall.unreachable, backend=stall.backend)

    def _beat(self, stall: WriterStall | None, wall: float) -> Heartbeat:
        monitors = up = down = 0
        for state in self._states():
            monitors += 1
            up += state.status in UP
            down += state.status is MonitorStatus.DOWN
        queue = self._writer.pending if self._writer is not None else 0
        return Heartbeat(pid=os.getpid(), at=wall, monitors=monitors, up=up, down=down, queue=queue,
                         stall=None if stall is None else self._storage_stall(stall, wall))

    def _write(self, beat: Heartbeat) -> None:
        """On its own thread: the disk that stalls the database must not stall this loop too."""
        if self._files is None or self._heartbeat is None:
            return
        if self._writing is not None and not self._writing.done():
            return  # the previous beat is still being written; the next one carries newer news
        self._writing = self._files.submit(self._write_file, self._heartbeat, beat)

    @staticmethod
    def _write_file(path: Path, beat: Heartbeat) -> None:
        try:
            write_heartbeat(path, beat)
        except OSError as error:
            log.debug("heartbeat not written: %s", error)

    def stopping(self) -> None:
        if self._notifier is not None:
            self._notifier.send("STOPPING=1")

    def close(self) -> None:
        """The engine has stopped: no heartbeat is better than a stale one."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                self._writing.result(timeout=2.0)
        if self._files is not None:
            self._files.shutdown(wait=False)
        if self._heartbeat is not None:
            remove_heartbeat(self._heartbeat)
