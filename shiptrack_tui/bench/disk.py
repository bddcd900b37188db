"""Bytes on disk per stored check: ShipTrack's packed tables against a naive schema, same rows.

The naive baseline is what a first version would write: one rowid table with the monitor's
name, a float time, the outcome as text, a float latency, the status and the error text, plus an
index on (monitor, at) for per-monitor queries.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.measure import db_files_bytes, table_bytes

NAIVE_SCHEMA = (
    "CREATE TABLE checks (id INTEGER PRIMARY KEY, monitor TEXT NOT NULL, at REAL NOT NULL, "
    "outcome TEXT NOT NULL, latency_ms REAL, status INTEGER, error TEXT)",
    "CREATE INDEX checks_monitor_at ON checks (monitor, at)",
)
_OUTCOMES = {0: "up", 1: "degraded", 2: "down"}
_COPY = (
    'SELECT m.name, c.at_ms, c.code, c.latency_us, c.status, r.text FROM "check" AS c '
    "JOIN monitor AS m ON m.id = c.monitor_id LEFT JOIN reason AS r ON r.id = c.error_id"
)


def checkpoint_truncate(path: Path) -> None:
    """Fold the WAL into the main file so file sizes say what the data costs."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def shiptrack_bytes(path: Path, checks: int) -> dict[str, Any]:
    """Per-check bytes of the `check` table (its primary key is the table: WITHOUT ROWID), of the
    rollups, and of the whole file, after a TRUNCATE checkpoint."""
    checkpoint_truncate(path)
    tables = table_bytes(path)
    files = db_files_bytes(path)
    per = max(1, checks)
    check_bytes = sum(size for name, size in tables.items() if name == "check" or name.startswith(
        "sqlite_autoindex_check"))
    return {
        "checks": checks,
        "check_table_bytes": check_bytes,
        "bytes_per_check": check_bytes / per,
        "rollup_bytes_per_check": tables.get("rollup", 0) / per,
        "file_bytes": files["db"],
        "file_bytes_per_check": files["db"] / per,
        "tables": tables,
    }


def naive_bytes(source: Path, workdir: Path) -> dict[str, Any]:
    """Copy every stored check into the naive schema in a fresh file and measure it the same way."""
    target = workdir / "naive.db"
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        dst.execute("PRAGMA journal_mode=wal")
        for statement in NAIVE_SCHEMA:
            dst.execute(statement)
        rows = (
            (name, at_ms / 1000, _OUTCOMES[code & 3], None if lat is None else lat / 1000, status, error)
            for name, at_ms, code, lat, status, error in src.execute(_COPY)
        )
        with dst:
            dst.executemany("INSERT INTO checks (monitor, at, outcome, latency_ms, status, error) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
        count = dst.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
    finally:
        src.close()
        dst.close()
    checkpoint_truncate(target)
    tables = table_bytes(target)
    per = max(1, count)
    data = tables.get("checks", 0) + tables.get("checks_monitor_at", 0)
    result = {"checks": count, "bytes_per_check": data / per,
              "file_bytes_per_check": db_files_bytes(target)["db"] / per, "tables": tables}
    target.unlink(missing_ok=True)
    return result
