"""Copy a whole history from one store to another (SQLite ↔ PostgreSQL), verified by row counts.

Every table of the history is copied with its ids, so incidents, timelines, actions and outbox rows
keep pointing at each other. The source is read inside one snapshot (a read transaction; REPEATABLE
READ on PostgreSQL) in batches of `batch` rows by primary key, so a history of any size never sits
in memory at once; the destination is written in one transaction (COPY on PostgreSQL), so a
failed copy leaves it as empty as it was. PostgreSQL's id sequences are moved past the copied ids.

Checks copied to PostgreSQL are packed into blocks by closed period (storage/compaction.py) as
they arrive; blocks copied from PostgreSQL to SQLite are unpacked into rows. Counts are of checks,
raw and packed.

A destination that holds any history already is refused (`DestinationNotEmpty`): merging two
histories would collide on ids and monitor names.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from peewee import DatabaseError as PeeweeDatabaseError

from shiptrack_tui.storage import compaction, packing
from shiptrack_tui.storage.db import StorageError

if TYPE_CHECKING:
    from shiptrack_tui.storage.dialect import Database
    from shiptrack_tui.storage.store import Store

BATCH_ROWS: Final = 5000

TABLES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    # (table, primary key), parents before children (foreign keys are checked as rows arrive).
    ("monitor", ("id",)),
    ("reason", ("id",)),
    ("check", ("monitor_id", "at_ms")),
    ("rollup", ("id",)),
    ("window_total", ("id",)),
    ("incident", ("id",)),
    ("timeline", ("id",)),
    ("action", ("id",)),
    ("outbox", ("id",)),
    ("silence", ("id",)),
    ("ping", ("id",)),
)
"""The history: every table but `meta` (each side keeps its own schema version)."""


class DestinationNotEmpty(StorageError):
    """The destination already holds history; `tables` names what it holds (table, rows)."""

    def __init__(self, tables: Sequence[tuple[str, int]]) -> None:
        self.tables = list(tables)
        held = ", ".join(f"{rows:,} {name}" for name, rows in self.tables[:4])
        more = ", ..." if len(tables) > 4 else ""
        super().__init__(f"the destination already holds history ({held}{more})")


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    destination: int

    @property
    def matches(self) -> bool:
        return self.source == self.destination


@dataclass(frozen=True, slots=True)
class CopyReport:
    counts: tuple[TableCount, ...]
    skipped_columns: tuple[str, ...]
    """`table.column` present in the source only (e.g. PostgreSQL's cluster columns), not copied."""

    @property
    def matches(self) -> bool:
        return all(count.matches for count in self.counts)


Progress = Callable[[str, int], None]
"""Called with (table, rows copied so far) after each batch."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_postgres(db: Database) -> bool:
    return db.dialect.name == "postgresql"


def _database(store: Store) -> Database:
    return store._db  # storage reading its own store's connection


def _columns(db: Database, table: str) -> dict[str, str]:
    """Column name → declared type (lower case), in table order."""
    if _is_postgres(db):
        rows = db.execute_sql("SELECT column_name, data_type FROM information_schema.columns WHERE "
                              "table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                              (table,)).fetchall()
        return {name: kind.lower() for name, kind in rows}
    return {row[1]: str(row[2]).lower() for row in db.execute_sql(f"PRAGMA table_info({_quote(table)})")}


def _count(db: Database, table: str) -> int:
    if table == "check":
        return packing.count_all(db)  # raw and packed (PostgreSQL's check_block)
    row = db.execute_sql(f"SELECT COUNT(*) FROM {_quote(table)}").fetchone()
    return int(row[0])


def _occupied(db: Database) -> list[tuple[str, int]]:
    return [(table, rows) for table, _key in TABLES if db.table_exists(table) and (rows := _count(db, table))]


def occupied(store: Store) -> list[tuple[str, int]]:
    """The history tables of `store` that hold rows, with their counts."""
    return _occupied(_database(store))


def _converter(source_type: str, data_type: str) -> Callable[[Any], Any] | None:
    """How a value read from a SQLite column is written into a PostgreSQL column of `data_type`
    (SQLite takes what PostgreSQL hands back as it is)."""
    if data_type in ("boolean", "bool"):  # SQLite keeps 0/1
        return lambda value: None if value is None else bool(value)
    if "int" in data_type and "int" not in source_type:  # a whole number SQLite kept as REAL
        return lambda value: int(value) if isinstance(value, float) and value.is_integer() else value
    return None


def _batches(db: Database, table: str, key: tuple[str, ...], columns: Sequence[str],
             batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in primary-key order, `batch` at a time (keyset pagination)."""
    selected = ", ".join(_quote(c) for c in columns)
    order = ", ".join(_quote(c) for c in key)
    head = f"SELECT {selected} FROM {_quote(table)}"
    after_sql = f"({order}) > ({', '.join('?' for _ in key)})"
    positions = [columns.index(c) for c in key]
    after: tuple[Any, ...] | None = None
    while True:
        if after is None:
            rows = db.execute_sql(f"{head} ORDER BY {order} LIMIT {int(batch)}").fetchall()
        else:
            rows = db.execute_sql(f"{head} WHERE {after_sql} ORDER BY {order} LIMIT {int(batch)}",
                                  after).fetchall()
        if not rows:
            return
        yield [tuple(row) for row in rows]
        last = rows[-1]
        after = tuple(last[i] for i in positions)
        if len(rows) < batch:
            return


def _writer(db: Database, table: str, columns: Sequence[str]) -> Callable[[list[tuple[Any, ...]]], None]:
    names = ", ".join(_quote(c) for c in columns)
    if _is_postgres(db):
        statement = f"COPY {_quote(table)} ({names}) FROM STDIN"

        def copy_rows(rows: list[tuple[Any, ...]]) -> None:
            raw = db.connection().raw  # COPY is psycopg's own; ids go in as given (BY DEFAULT identity)
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)

        return copy_rows
    sql = f"INSERT INTO {_quote(table)} ({names}) VALUES ({', '.join('?' for _ in columns)})"

    def insert_rows(rows: list[tuple[Any, ...]]) -> None:
        db.connection().executemany(sql, rows)

    return insert_rows


def _rows(src: Database, dst: Database, table: str, key: tuple[str, ...], columns: Sequence[str],
          batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows, `batch` at a time; for `check` on PostgreSQL, with the packed ones unpacked
    after the raw ones (unless the destination is PostgreSQL too: then the blocks go as they are)."""
    yield from _batches(src, table, key, columns, batch)
    if table == "check" and packing.packs(src.dialect) and not packing.packs(dst.dialect):
        order = [packing.COLUMNS.index(column) for column in columns]
        for blocks in packing.blocks_in_order(src, max(1, batch // 60)):
            yield [tuple(row[i] for i in order) for block in blocks for row in block.rows]


def _checks_writer(src: Database, dst: Database, write_raw: Callable[[list[tuple[Any, ...]]], None],
                   ) -> tuple[Callable[[list[tuple[Any, ...]]], None], Callable[[], None] | None]:
    """How checks arriving in primary-key order are written: packed into blocks for the closed
    periods when the destination packs (compaction.BlockWriter); as they are otherwise."""
    if not packing.packs(dst.dialect):
        return write_raw, None
    if packing.packs(src.dialect):  # PostgreSQL to PostgreSQL: the blocks are copied as they are
        block_write = _writer(dst, "check_block", packing.BLOCK_COLUMNS.split(", "))

        def copy_blocks() -> None:
            for blocks in packing.blocks_in_order(src, BATCH_ROWS // 60):
                block_write([block.columns() for block in blocks])

        return write_raw, copy_blocks
    writer = compaction.BlockWriter(dst.connection, time.time(), write_raw)
    return writer.add, writer.flush


def _reset_sequences(db: Database, tables: Sequence[str]) -> None:
    """PostgreSQL: the next id of each table follows the largest copied one."""
    for table in tables:
        db.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('{_quote(table)}', 'id'), COALESCE(MAX(id), 1), "
            f"MAX(id) IS NOT NULL) FROM {_quote(table)}")


def copy_history(source: Store, destination: Store, batch: int = BATCH_ROWS,
                 progress: Progress | None = None) -> CopyReport:
    """Copy every history table from `source` to the empty `destination`; compare the counts.

    Raises DestinationNotEmpty (nothing written) or StorageError (the two schemas differ).
    """
    try:
        return _copy(source, destination, batch, progress)
    except StorageError:
        raise
    except (PeeweeDatabaseError, sqlite3.Error) as error:
        raise StorageError(f"the copy stopped ({_first_line(error)}); the destination was left as it was "
                           "(one transaction)") from error
    except Exception as error:
        if not type(error).__module__.startswith("psycopg"):
            raise
        raise StorageError(f"the copy stopped ({_first_line(error)}); the destination was left as it was "
                           "(one transaction)") from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _copy(source: Store, destination: Store, batch: int, progress: Progress | None) -> CopyReport:
    src, dst = _database(source), _database(destination)
    counts: list[TableCount] = []
    skipped: list[str] = []
    with src.reading(), dst.writing():
        held = _occupied(dst)
        if held:
            raise DestinationNotEmpty(held)
        copied: list[tuple[str, int]] = []
        for table, key in TABLES:
            if not (src.table_exists(table) and dst.table_exists(table)):
                side = "destination" if src.table_exists(table) else "source"
                raise StorageError(f"the {side} has no {table} table; run `shiptrack db migrate` on both "
                                   "with the same ShipTrack version")
            src_columns, dst_columns = _columns(src, table), _columns(dst, table)
            columns = [c for c in src_columns if c in dst_columns]
            skipped += [f"{table}.{c}" for c in src_columns if c not in dst_columns]
            missing_key = [c for c in key if c not in columns]
            if missing_key:
                raise StorageError(f"{table} lacks its key column {missing_key[0]} on one side; run "
                                   "`shiptrack db migrate` on both with the same ShipTrack version")
            across = _is_postgres(dst) and not _is_postgres(src)
            converters = [_converter(src_columns[c], dst_columns[c]) if across else None for c in columns]
            write, finish = _writer(dst, table, columns), None
            if table == "check" and tuple(columns) == packing.COLUMNS:
                write, finish = _checks_writer(src, dst, write)
            done = 0
            for rows in _rows(src, dst, table, key, columns, batch):
                if any(converters):
                    rows = [tuple(value if convert is None else convert(value)
                                  for value, convert in zip(row, converters, strict=True)) for row in rows]
                write(rows)
                done += len(rows)
                if progress is not None:
                    progress(table, done)
            if finish is not None:
                finish()
            copied.append((table, _count(src, table)))
        if _is_postgres(dst):
            _reset_sequences(dst, [table for table, key in TABLES if key == ("id",)])
            dst.execute_sql("ANALYZE")  # the planner's statistics, before autovacuum gets to it
    for table, source_rows in copied:
        counts.append(TableCount(table, source_rows, _count(dst, table)))
    return CopyReport(tuple(counts), tuple(skipped))
