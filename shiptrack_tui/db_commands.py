"""`shiptrack db info|vacuum|migrate|copy`: what the database holds, compacting it, its schema, and
copying its history to another database.

`info` is read-only and runs beside a daemon. `vacuum` rewrites the file once (needed to turn on
incremental space reclaim in a database made before it, and to shrink a file at once after
lowering retention); it refuses while an engine runs on the database. Both describe a SQLite
file: on PostgreSQL they say so in one line (the server keeps its own statistics and vacuums
itself). `migrate` and `copy` work on both (see db_copy.py for `copy`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import fmt_datetime
from shiptrack_tui.report import iso
from shiptrack_tui.storage import Retention, StorageError
from shiptrack_tui.storage.inspection import DatabaseInfo, inspect, vacuum

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _retention(args: argparse.Namespace) -> Retention:
    """The `[storage]` retention of the config file when there is one, else the defaults."""
    from shiptrack_tui.cli_common import config_path, load_args_config

    if not config_path(args).exists():
        return Retention()
    settings = load_args_config(args, check_urls=False).storage
    return Retention(raw=settings.keep_raw, hourly=settings.keep_hourly, daily=settings.keep_daily,
                     incidents=settings.keep_incidents)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def info_json(info: DatabaseInfo) -> dict[str, Any]:
    keep = info.retention
    return {
        "path": str(info.path),
        "file_bytes": info.file_bytes,
        "wal_bytes": info.wal_bytes,
        "page_size": info.page_size,
        "pages": info.pages,
        "free_pages": info.free_pages,
        "auto_vacuum": info.auto_vacuum,
        "schema_version": info.schema_version,
        "retention_s": {"keep_raw": keep.raw, "keep_hourly": keep.hourly, "keep_daily": keep.daily,
                        "keep_incidents": keep.incidents},
        "tables": {t.name: {"rows": t.rows, "oldest": iso(t.oldest), "prune_removes": t.prune_removes}
                   for t in info.tables},
    }


def info_text(info: DatabaseInfo) -> str:
    keep = info.retention
    free_bytes = info.free_pages * info.page_size
    if info.auto_vacuum == "incremental":
        reclaim = "the engine returns them to the file system a few at a time"
    else:
        reclaim = "they stay in the file: stop the engine and run `shiptrack db vacuum` once"
    lines = [
        f"{info.path}: {_megabytes(info.file_bytes)} (+ WAL {_megabytes(info.wal_bytes)}), "
        f"schema {info.schema_version}, {info.pages:,} pages of {info.page_size} B",
        f"free pages: {info.free_pages:,} ({_megabytes(free_bytes)}); "
        f"auto_vacuum {info.auto_vacuum}: {reclaim}",
        f"retention: raw checks {format_duration(keep.raw)}, hourly rollups {format_duration(keep.hourly)}, "
        f"daily rollups {format_duration(keep.daily)}, resolved incidents {format_duration(keep.incidents)}",
        "",
        f"{'table':<16} {'rows':>14}  {'oldest':<25} {'next prune removes':>18}",
    ]
    for table in info.tables:
        removes = "—" if table.prune_removes is None else f"{table.prune_removes:,}"
        oldest = fmt_datetime(table.oldest)  # local time, as every CLI table; --json stays UTC
        lines.append(f"{table.name:<16} {table.rows:>14,}  {oldest:<25} {removes:>18}")
    return "\n".join(lines)


def cmd_db_info(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_common import db_for_reading

    target = db_for_reading(args)
    if target.path is None:
        print(f"shiptrack: `db info` describes a SQLite file; {target} is PostgreSQL, whose server keeps "
              "these figures (psql: \\dt+); `shiptrack status` reads it as usual", file=sys.stderr)
        return EXIT_USAGE
    path = target.path
    try:
        info = inspect(path, _retention(args), time.time())
    except StorageError as error:
        print(f"shiptrack: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps(info_json(info), indent=2) if args.json else info_text(info))
    return EXIT_OK


def cmd_db_vacuum(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_common import db_for_reading
    from shiptrack_tui.lock import EngineLock, LockHeld

    target = db_for_reading(args)
    if target.path is None:
        print(f"shiptrack: `db vacuum` compacts a SQLite file; {target} is PostgreSQL, which reclaims "
              "space itself (autovacuum)", file=sys.stderr)
        return EXIT_USAGE
    path = target.path
    if not path.is_file():
        print(f"shiptrack: {path}: no ShipTrack database here; check the --db path", file=sys.stderr)
        return EXIT_FAILURE
    try:
        with EngineLock(path):  # no engine may start meanwhile
            before, after = vacuum(path)
    except LockHeld as held:
        who = f"pid {held.pid}" if held.pid else "another process"
        print(f"shiptrack: an engine ({who}) runs on {path}; stop it first (a vacuum rewrites the whole "
              "file)", file=sys.stderr)
        return EXIT_FAILURE
    except StorageError as error:
        print(f"shiptrack: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{path}: {_megabytes(before)} → {_megabytes(after)}; free pages are now returned as retention "
          "frees them (auto_vacuum incremental)")
    return EXIT_OK


def cmd_db_migrate(args: argparse.Namespace) -> int:
    """Create the schema or upgrade it; say from which version to which."""
    from shiptrack_tui.cli_common import config_if_any_strict, store_target_of

    target = store_target_of(args, config_if_any_strict(args))
    store = target.open()  # migrates; an unreachable or unusable database is one line, exit 1
    try:
        before, after = store.migrated_from, store.schema_version()
    finally:
        store.close()
    if before == after:
        print(f"{target}: schema {after} is current; nothing to do")
    elif not before:
        print(f"{target}: created the schema, version {after}")
    else:
        print(f"{target}: upgraded the schema from version {before} to {after}")
    return EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    if args.db_command == "migrate":
        return cmd_db_migrate(args)
    if args.db_command == "copy":
        from shiptrack_tui.db_copy import cmd_db_copy

        return cmd_db_copy(args)
    return cmd_db_info(args) if args.db_command == "info" else cmd_db_vacuum(args)
