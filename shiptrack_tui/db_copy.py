"""`shiptrack db copy --to TARGET [--from TARGET]`: move a whole history between databases.

SQLite → PostgreSQL and back, ids kept, streamed in batches (storage/copy.py), then verified by
counting each table's rows on both sides. The destination must hold no history yet: there is no
`--force` (merging two histories would collide on ids and names; emptying a database is a
decision for its owner, with `rm` or `dropdb`/`createdb`).

Exit codes: 0 copied and every count matches; 1 a database cannot be used or the counts differ;
2 usage (the same database twice, a destination that already holds history).
"""

from __future__ import annotations

import argparse
import sys
import time

from shiptrack_tui.config.redact import scrub_secrets
from shiptrack_tui.storage import StorageError
from shiptrack_tui.storage.copy import CopyReport, DestinationNotEmpty, copy_history
from shiptrack_tui.store_target import StoreTarget, resolve

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROGRESS_EVERY = 2.0  # seconds between progress lines on stderr


def report_lines(source: StoreTarget, destination: StoreTarget, report: CopyReport) -> list[str]:
    lines = [f"copied {source} → {destination}", "",
             f"{'table':<14} {'source':>12} {'destination':>12}"]
    for count in report.counts:
        mark = "" if count.matches else "  MISMATCH"
        lines.append(f"{count.table:<14} {count.source:>12,} {count.destination:>12,}{mark}")
    if report.skipped_columns:
        lines.append(f"not copied (the destination has no such column): {', '.join(report.skipped_columns)}")
    total = sum(count.source for count in report.counts)
    lines.append("")
    ok = f"ok: {total:,} rows; every table has the same number of rows on both sides"
    failed = "FAILED: the row counts differ (marked above); do not use the destination"
    lines.append(ok if report.matches else failed)
    return lines


class _Progress:
    """A line on stderr every few seconds, so a long copy shows it is moving."""

    def __init__(self) -> None:
        self._next = time.monotonic() + PROGRESS_EVERY

    def __call__(self, table: str, rows: int) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + PROGRESS_EVERY
            print(f"  {table}: {rows:,} rows so far", file=sys.stderr, flush=True)


def cmd_db_copy(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_common import config_if_any, db_for_reading, open_store
    from shiptrack_tui.lock import running_engine_pid

    config = config_if_any(args)  # for password_file; a broken config does not stop a copy
    source = resolve(args.source, config) if args.source else db_for_reading(args)
    destination = resolve(args.to, config)
    if source == destination:
        print(f"shiptrack: --to names the database copied from ({source}); name another one",
              file=sys.stderr)
        return EXIT_USAGE
    pid = running_engine_pid(source.local)
    if pid is not None:
        print(f"shiptrack: warning: an engine (pid {pid}) runs on {source}: the copy holds what it had "
              "written when the copy began; stop it first to copy everything", file=sys.stderr)
    reader = open_store(source)
    try:
        writer = destination.open()
        try:
            report = copy_history(reader, writer, progress=_Progress())
        except DestinationNotEmpty as full:
            print(f"shiptrack: {destination} already holds history ({_held(full)}); copy into an empty "
                  "database: a new file, or a freshly created PostgreSQL database (createdb)",
                  file=sys.stderr)
            return EXIT_USAGE
        finally:
            writer.close()
    except StorageError as error:
        print(f"shiptrack: {scrub_secrets(scrub_secrets(str(error), source.url), destination.url)}",
              file=sys.stderr)
        return EXIT_FAILURE
    finally:
        reader.close()
    print("\n".join(report_lines(source, destination, report)))
    return EXIT_OK if report.matches else EXIT_FAILURE


def _held(full: DestinationNotEmpty) -> str:
    shown = ", ".join(f"{rows:,} {'row' if rows == 1 else 'rows'} in {table}"
                      for table, rows in full.tables[:3])
    return shown + (", ..." if len(full.tables) > 3 else "")
