"""Whether the daemon an attached dashboard reads from still runs, and which one it is.

An attached dashboard has no engine of its own: a stopped daemon would otherwise look alive for
ever (the data simply stops changing). Once a second the dashboard reads who holds the database's
lock and the engine's heartbeat (heartbeat.py); `DaemonWatch` turns that into what the header says,
whether actions are applied now or queued, and when a new daemon has started and is followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import ActionKind
from shiptrack_tui.heartbeat import EngineHealth

NO_ENGINE: Final = "no engine: actions are queued"


def attached_mode(pid: int) -> str:
    return f"attached to daemon (pid {pid})" if pid else "attached to daemon"


@dataclass(frozen=True, slots=True)
class EngineView:
    """What the header shows about the engine, and what the screen does about it."""

    mode: str
    """"attached to daemon (pid N)" or "daemon stopped 3m ago"."""
    problem: str
    """"" when all is well; else one line, shown in the trouble colour."""
    live: bool
    """An engine applies operator actions now (else they wait in the database)."""
    followed: bool = False
    """A daemon (re)appeared since the last look: everything is re-read."""


class DaemonWatch:
    """Follows the engines that come and go on one database; fed once a second."""

    def __init__(self, pid: int | None, now: float) -> None:
        self.pid = pid
        """The daemon last seen running (None: none was, since this dashboard started)."""
        self._seen_at: float | None = now if pid is not None else None
        self._stopped_at: float | None = None if pid is not None else now

    def observe(self, health: EngineHealth | None, now: float) -> EngineView:
        """`health` is None when no process holds the database's lock (heartbeat.engine_health)."""
        if health is None:
            if self._stopped_at is None:
                # Its last heartbeat is the closest we know to when it stopped (at most 2 s off).
                self._stopped_at = self._seen_at if self._seen_at is not None else now
            ago = format_duration(round(max(0.0, now - self._stopped_at)))
            mode = f"daemon stopped {ago} ago" if self.pid is not None else "no daemon running"
            return EngineView(mode, NO_ENGINE, live=False)
        followed = self._stopped_at is not None or health.pid != self.pid
        self.pid, self._stopped_at = health.pid, None
        self._seen_at = health.beat.at if health.beat is not None else now
        problem = health.problem() or ""
        # A heartbeat gone stale means the loop is stuck: it applies nothing either.
        return EngineView(attached_mode(health.pid), problem, live=health.stale_for is None,
                          followed=followed)


def queued_summary(kind: ActionKind, monitor: str | None, incident_id: int | None) -> str:
    """What the operator is told when an action is written while no engine runs."""
    what = {
        ActionKind.ACK: f"the acknowledgement of incident #{incident_id}",
        ActionKind.NOTE: f"the note on incident #{incident_id}",
        ActionKind.UPDATE: f"the status update on incident #{incident_id}",
        ActionKind.SEVERITY: f"the severity change of incident #{incident_id}",
        ActionKind.CHECK_NOW: f"the check of {monitor}",
        ActionKind.PAUSE: f"pausing {monitor}",
        ActionKind.RESUME: f"resuming {monitor}",
        ActionKind.SILENCE: "the silence",
        ActionKind.UNSILENCE: "lifting the silence",
    }.get(kind, str(kind))
    return f"No engine is running: {what} is queued; it applies when the daemon or `shiptrack` starts."
