"""Database outages: which errors are worth a retry, and one log line when the database goes away
and one when it is back (DESIGN §12).

Every storage user of the engine (the writer, the action and ping polls, the outbox sender,
retention, reads on worker threads) hands a failure to `Outage.failed(error)`: a transient one
(the server went away, restarted, failed over, refused the connection, a lock timed out) is
retried by the caller; the first "unreachable" failure of an outage logs one line, and the first
success after it (`Outage.ok()`) logs how long it lasted. The next call reconnects by itself
(storage/postgres.py drops a connection the server closed).

Errors arrive as peewee's (both backends raise them); on PostgreSQL the psycopg error they were
translated from hangs on `__cause__`, and its SQLSTATE says what happened.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Final

import peewee

from shiptrack_tui.core.durations import format_duration

log = logging.getLogger("shiptrack.storage")

UNREACHABLE_STATES: Final = ("08", "57P", "53300", "25006")
"""SQLSTATEs (or classes) of a server that went away or cannot take us: connection exceptions,
an administrator's or a crash's shutdown, "the database system is starting up", too many
connections, and a read-only server (a standby during a failover)."""
RETRY_STATES: Final = ("40001", "40P01", "55P03", "57014", "53")
"""Worth another try on the same server: serialization failures, deadlocks, lock timeouts, a
statement timeout, insufficient resources (disk full, out of memory)."""


def _psycopg_error(error: BaseException) -> BaseException | None:
    """The psycopg error behind `error` (itself, or one on its cause/context chain), if any."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        if type(current).__module__.startswith("psycopg"):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_unreachable(error: BaseException) -> bool:
    """The database server cannot be reached or cannot take writes now (PostgreSQL only: a local
    SQLite file is never "unreachable", it is locked or broken)."""
    raw = _psycopg_error(error)
    if raw is None:
        return False
    state = _sqlstate(raw)
    if state is None:  # no answer from a server at all: refused, reset, closed, timed out
        kind = type(raw).__name__
        return kind in ("OperationalError", "InterfaceError") or isinstance(raw, OSError)
    return state.startswith(UNREACHABLE_STATES)


def is_transient(error: BaseException) -> bool:
    """Worth retrying the same work: the database may take it later."""
    if is_unreachable(error):
        return True
    raw = _psycopg_error(error)
    if raw is not None:
        state = _sqlstate(raw)
        if state is not None and state.startswith(RETRY_STATES):
            return True
    return isinstance(error, sqlite3.OperationalError | peewee.OperationalError | peewee.InterfaceError)


def describe(error: BaseException) -> str:
    """The error's first line, without the noise libpq adds around it."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


class Outage:
    """One database's outages as its users see them; thread-safe; logs start and end once each."""

    def __init__(self, what: str = "the database") -> None:
        self.what = what  # "PostgreSQL" / "the database", for the log lines
        self._lock = threading.Lock()
        self._since: float | None = None  # wall clock when the current outage was first seen
        self._since_mono: float | None = None
        self._error: str | None = None
        self.outages = 0  # outages seen since start, for tests and the logs

    @property
    def since(self) -> float | None:
        return self._since

    @property
    def error(self) -> str | None:
        return self._error

    def seconds(self, now_mono: float | None = None) -> float | None:
        """How long the current outage has lasted (None when there is none)."""
        started = self._since_mono
        if started is None:
            return None
        return max(0.0, (time.monotonic() if now_mono is None else now_mono) - started)

    def failed(self, error: BaseException) -> bool:
        """Note a failed call; True when it is transient (the caller retries quietly)."""
        if not is_transient(error):
            return False
        if is_unreachable(error):
            with self._lock:
                self._error = describe(error)
                if self._since is not None:
                    return True
                self._since, self._since_mono = time.time(), time.monotonic()
                self.outages += 1
            log.error("%s unreachable: %s; checks go on, results are held in memory and written "
                      "when it is back", self.what, self._error)
        return True

    def ok(self) -> None:
        """A call went through: an outage in progress is over (cheap when there is none)."""
        if self._since_mono is None:
            return
        with self._lock:
            started = self._since_mono
            if started is None:
                return
            self._since = self._since_mono = None
            self._error = None
        lasted = time.monotonic() - started
        shown = format_duration(round(lasted)) if lasted >= 1 else f"{lasted:.1f}s"
        log.warning("%s reachable again after %s", self.what, shown)


def trouble(outage: Outage, error: BaseException, what: str, logger: logging.Logger) -> None:
    """A storage call failed and will be retried: quiet while the database is away or busy (the
    outage is logged once, at its start and end), loud (with the traceback) for anything else."""
    if outage.failed(error):
        logger.debug("%s: %s; retrying", what, error)
    else:
        logger.error("%s; retrying", what, exc_info=error)
