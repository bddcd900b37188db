"""What `shiptrack db info` and `shiptrack db vacuum` do to a database file.

`inspect` opens the file read-only (`mode=ro`), so it runs beside a daemon and never takes the
write lock; its counts come from one read snapshot. `vacuum` rewrites the whole file and must run
with no engine on it (the caller holds the engine lock).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shiptrack_tui.storage import retention
from shiptrack_tui.storage.codec import HOUR
from shiptrack_tui.storage.db import BUSY_TIMEOUT_SECONDS, StorageError
from shiptrack_tui.storage.migrations import SCHEMA_VERSION
from shiptrack_tui.storage.retention import Retention

AUTO_VACUUM: Final = {0: "none", 1: "full", 2: "incremental"}

# (label, count query, oldest query giving POSIX seconds or None); per-monitor subqueries walk the
# primary keys instead of scanning the big tables.
_PER_MONITOR_OLDEST: Final = ('SELECT MIN((SELECT at_ms FROM "check" WHERE monitor_id = m.id ORDER BY at_ms '
                              "LIMIT 1)) / 1000.0 FROM monitor AS m")
_ROLLUP_OLDEST: Final = ("SELECT MIN((SELECT hour FROM rollup WHERE monitor_id = m.id AND span = {span} "
                         "ORDER BY hour LIMIT 1)) * " + str(HOUR) + ".0 FROM monitor AS m")
TABLES: Final = (
    ("monitor", "SELECT COUNT(*) FROM monitor", None),
    ("check", 'SELECT COUNT(*) FROM "check"', _PER_MONITOR_OLDEST),
    ("rollup (hourly)", "SELECT COUNT(*) FROM rollup WHERE span = 1", _ROLLUP_OLDEST.format(span=1)),
    ("rollup (daily)", "SELECT COUNT(*) FROM rollup WHERE span = 24", _ROLLUP_OLDEST.format(span=24)),
    ("rollup (weekly)", "SELECT COUNT(*) FROM rollup WHERE span = 168", _ROLLUP_OLDEST.format(span=168)),
    ("window_total", "SELECT COUNT(*) FROM window_total", None),
    ("incident", "SELECT COUNT(*) FROM incident", "SELECT MIN(opened_at) FROM incident"),
    ("timeline", "SELECT COUNT(*) FROM timeline", "SELECT MIN(at) FROM timeline"),
    ("outbox", "SELECT COUNT(*) FROM outbox", "SELECT MIN(created_at) FROM outbox"),
    ("action", "SELECT COUNT(*) FROM action", "SELECT MIN(at) FROM action"),
    ("silence", "SELECT COUNT(*) FROM silence", "SELECT MIN(created_at) FROM silence"),
    ("reason", "SELECT COUNT(*) FROM reason", None),
)


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    rows: int
    oldest: float | None  # POSIX seconds of the oldest row's time; None without rows or times
    prune_removes: int | None  # rows the next retention run removes; None where retention keeps all


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    path: Path
    file_bytes: int
    wal_bytes: int
    page_size: int
    pages: int
    free_pages: int
    auto_vacuum: str  # "none", "full" or "incremental"
    schema_version: int
    retention: Retention
    tables: tuple[TableInfo, ...]


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StorageError(f"{path}: no ShipTrack database here; check the --db path.")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                           isolation_level=None)


def inspect(path: Path, keep: Retention, now: float) -> DatabaseInfo:
    """Sizes, rows and oldest data per table, and what retention would remove at `now`."""
    conn = _connect_read_only(path)
    try:
        conn.execute("BEGIN")  # one snapshot for every count
        try:
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None or int(version[0]) < SCHEMA_VERSION:
                raise StorageError(f"{path} has an older schema; open it with ShipTrack once (any "
                                   "command that reads it, e.g. `shiptrack status`) to upgrade it.")
            due = retention.due(conn, now, keep)
            tables = []
            for name, count_sql, oldest_sql in TABLES:
                oldest = conn.execute(oldest_sql).fetchone()[0] if oldest_sql else None
                tables.append(TableInfo(name, int(conn.execute(count_sql).fetchone()[0]),
                                        None if oldest is None else float(oldest), due.get(name)))
            page_size, pages, free, mode = (int(conn.execute(f"PRAGMA {pragma}").fetchone()[0]) for pragma in
                                            ("page_size", "page_count", "freelist_count", "auto_vacuum"))
        finally:
            conn.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path} cannot be read as a ShipTrack database ({error}); "
                           "check the --db path.") from error
    finally:
        conn.close()
    return DatabaseInfo(path=path, file_bytes=_file_size(path), wal_bytes=_file_size(Path(f"{path}-wal")),
                        page_size=page_size, pages=pages, free_pages=free,
                        auto_vacuum=AUTO_VACUUM.get(mode, "?"), retention=keep,
                        schema_version=int(version[0]) if version else 0, tables=tuple(tables))


def vacuum(path: Path) -> tuple[int, int]:
    """Rewrite the file compactly with `auto_vacuum = INCREMENTAL`; (bytes before, bytes after).

    Needs about the file's size free on disk meanwhile. Run it with no engine on the database.
    """
    if not path.is_file():
        raise StorageError(f"{path}: no ShipTrack database here; check the --db path.")
    before = _file_size(path) + _file_size(Path(f"{path}-wal"))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # a VACUUM is what makes it take on a used file
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path} could not be vacuumed ({error}); check the --db path and the free "
                           "disk space (a vacuum needs about the file's size).") from error
    finally:
        conn.close()
    return before, _file_size(path) + _file_size(Path(f"{path}-wal"))
