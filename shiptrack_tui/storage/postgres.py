"""The PostgreSQL backend: connections that speak the shared SQL, transactions, LISTEN/NOTIFY.

psycopg 3 directly (not peewee): the query modules hand SQL to a connection's `execute`, and a
thin wrapper (`PgConnection`) is all they need on PostgreSQL: it takes the shared `?` and `?N`
placeholders, says which dialect it speaks, and turns psycopg's errors into the peewee errors
the SQLite side raises (so the writer retries an `OperationalError`, whichever backend).

Every thread gets its own connection, in autocommit mode: a statement outside `writing()` or
`reading()` commits on its own, as on SQLite. `writing()` is a READ COMMITTED transaction that
ends with `NOTIFY shiptrack_changes`, so attached readers learn of it (`data_version`). A
connection the server dropped is discarded after the call that failed on it; the next call
connects again.
"""

from __future__ import annotations

import re
import select
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import peewee
import psycopg
from psycopg import pq

from shiptrack_tui.storage.connections import OpenConnections
from shiptrack_tui.storage.dialect import POSTGRESQL, Dialect

CHANNEL: Final = "shiptrack_changes"
CONNECT_TIMEOUT_SECONDS: Final = 10
DEAD_PEER: Final = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
                    "tcp_user_timeout": 30_000}
"""A server that vanished without closing (a dead host after a failover, a partition) is given up
on within about 30 s, idle or mid-query, rather than the kernel's 15 minutes: the writer then
retries on a new connection (libpq parameters)."""
_TOKENS: Final = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\?(\d*)|%""")
_UPSERT: Final = re.compile(r"^\s*(INSERT\s+INTO\s.*?\sVALUES)\s*(\([^()]*\))\s*(ON\s+CONFLICT\s.*)$",
                            re.IGNORECASE | re.DOTALL)
MAX_PARAMS: Final = 30_000  # per statement (the protocol's limit is 65,535)
_INSERT_INTO: Final = re.compile(r'^\s*INSERT\s+INTO\s+("?\w+"?)\s*\(([^()]*)\)\s*VALUES$', re.IGNORECASE)
_FLOAT_TYPES: Final = frozenset({"double precision", "real"})
_INTEGER_TYPES: Final = frozenset({"smallint", "integer", "bigint"})


@lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """The statement with `?` / `?N` as psycopg's `%s`; for `?N`, the parameter order to bind."""
    order: list[int] = []
    numbered = False

    def swap(match: re.Match[str]) -> str:
        nonlocal numbered
        text = match.group(0)
        if text == "%":
            return "%%"
        if not text.startswith("?"):
            return text  # a quoted string or identifier
        if match.group(1):
            numbered = True
            order.append(int(match.group(1)) - 1)
        else:
            order.append(len(order))
        return "%s"

    return _TOKENS.sub(swap, sql), tuple(order) if numbered else None


def _bind(order: tuple[int, ...] | None, params: Sequence[Any]) -> Sequence[Any]:
    return params if order is None else [params[index] for index in order]


def _translated_error(error: psycopg.Error) -> peewee.PeeweeException:
    """The peewee error the SQLite side would raise for this kind of failure."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, psycopg.IntegrityError):
        return peewee.IntegrityError(text)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return peewee.OperationalError(text)  # the server went away, a lock timed out, a deadlock
    if isinstance(error, psycopg.ProgrammingError):
        return peewee.ProgrammingError(text)
    return peewee.DatabaseError(text)


class PgConnection:
    """One psycopg connection with sqlite3's calling convention (`?` placeholders)."""

    dialect: Final[Dialect] = POSTGRESQL

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.backend_pid = raw.info.backend_pid
        self._types: dict[str, dict[str, str]] = {}

    @property
    def usable(self) -> bool:
        return not (self.raw.closed or self.raw.broken) and self.raw.pgconn.status == pq.ConnStatus.OK

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def dropped_while_idle(self) -> bool:
        """The server closed (or is closing) this idle connection: a restart, a failover, an
        administrator. Its socket has something to read although no query is out and it LISTENs
        to nothing: the server's goodbye. One poll, no wait; such a connection is replaced."""
        try:
            poller = select.poll()
            poller.register(self.raw.pgconn.socket, select.POLLIN)
            return bool(poller.poll(0))
        except (psycopg.Error, OSError, ValueError):
            return True

    def execute(self, sql: str, params: Sequence[Any] = (), binary: bool = False) -> psycopg.Cursor[Any]:
        query, order = translate(sql)
        try:
            return self.raw.execute(query, _bind(order, params), binary=binary)  # type: ignore[arg-type]
        except psycopg.Error as error:
            raise _translated_error(error) from error

    def fetch_binary(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a read, in the binary format: bytea and arrays arrive without being
        encoded as text and parsed back (about half the client time of rollup and total rows)."""
        cursor = self.execute(sql, params, binary=True)
        try:
            return cursor.fetchall()
        except psycopg.Error as error:  # the server went away while the rows came
            raise _translated_error(error) from error

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> psycopg.Cursor[Any]:
        """Run `sql` once per row. An upsert (INSERT ... VALUES (...) ON CONFLICT ...) is one
        statement: a single round trip (each batch upserts checks, rollups and totals); its rows
        must have distinct keys, as every caller's do. With only placeholders for values it
        inserts from one array per column (`unnest`): the statement's text is the same whatever
        the number of rows, so psycopg parses it once and the server prepares it once (a multi-row
        VALUES list was parsed again on every batch: half the writer's CPU on a cluster node)."""
        rows = list(rows)
        upsert = _UPSERT.match(sql)
        if upsert is not None and len(rows) > 1 and not re.search(r"\?\d", upsert.group(2)):
            head, values, tail = upsert.groups()
            into = _INSERT_INTO.match(head)
            if into is not None and re.fullmatch(r"\(\s*\?(\s*,\s*\?)*\s*\)", values):
                return self._insert_unnested(into.group(1), into.group(2), tail, rows)
            step = max(1, MAX_PARAMS // max(1, values.count("?")))
            cursor = None
            for start in range(0, len(rows), step):
                chunk = rows[start:start + step]
                cursor = self.execute(f"{head} {', '.join([values] * len(chunk))} {tail}",
                                      [value for row in chunk for value in row])
            assert cursor is not None
            return cursor
        query, order = translate(sql)
        cursor = self.raw.cursor()
        if rows:
            try:
                cursor.executemany(query, [_bind(order, row) for row in rows])  # type: ignore[arg-type]
            except psycopg.Error as error:
                raise _translated_error(error) from error
        return cursor

    def _insert_unnested(self, table: str, column_list: str, tail: str,
                         rows: Sequence[Sequence[Any]]) -> psycopg.Cursor[Any]:
        columns = [column.strip().strip('"') for column in column_list.split(",")]
        types = [self._column_types(table)[column] for column in columns]
        arrays = []
        for index, kind in enumerate(types):
            values = [row[index] for row in rows]
            # One array type per column: psycopg picks it from the values, which may mix ints
            # and floats (a timestamp) or hold booleans (a flag).
            if kind in _FLOAT_TYPES:
                values = [None if value is None else float(value) for value in values]
            elif kind in _INTEGER_TYPES:
                values = [None if value is None else int(value) for value in values]
            arrays.append(values)
        unnest = ", ".join(f"?::{kind}[]" for kind in types)
        return self.execute(f"INSERT INTO {table} ({column_list}) SELECT * FROM unnest({unnest}) {tail}",
                            arrays)

    def _column_types(self, table: str) -> dict[str, str]:
        """Column name -> SQL type of one of our tables (read once per connection)."""
        found = self._types.get(table)
        if found is None:
            rows = self.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                                "WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped",
                                (table,)).fetchall()
            found = self._types[table] = {name: kind for name, kind in rows}
        return found

    def rollback_quietly(self) -> None:
        """End a failed transaction; nothing to do on a connection the server dropped."""
        if self.usable and self.in_transaction:
            with suppress(psycopg.Error):
                self.raw.execute("ROLLBACK")

    def close(self) -> None:
        with suppress(psycopg.Error):
            self.raw.close()


def read_password(password_file: Path | None) -> str | None:
    """The first line of `password_file` (None without one: libpq's usual places apply)."""
    if password_file is None:
        return None
    lines = Path(password_file).expanduser().read_text().splitlines()
    return lines[0].strip() if lines else ""


class PgDatabase:
    """Per-thread PostgreSQL connections to one database, with the surface `Store` uses."""

    backend: Final = "postgresql"
    dialect: Final[Dialect] = POSTGRESQL

    def __init__(self, url: str, password: str | None = None,
                 busy_timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        self.url = url
        self._password = password
        # As SQLite's busy timeout: how long connecting, or a write waiting for a lock, may take
        # before the call fails (OperationalError: the writer retries).
        self._connect_timeout = max(1, round(busy_timeout))
        self._lock_timeout_ms = max(1, round(busy_timeout * 1000))
        self._local = threading.local()
        self._opened: OpenConnections[PgConnection] = OpenConnections()
        self._listen_lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        self._version = 0
        self._depth = threading.local()

    # -- connections ------------------------------------------------------------------------------
    def _connect(self) -> PgConnection:
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": self._connect_timeout,
                                  "options": f"-c lock_timeout={self._lock_timeout_ms}",
                                  "application_name": "shiptrack", **DEAD_PEER}
        if "options=" in self.url:
            del kwargs["options"]  # the URL's own server options win
        if self._password is not None:
            kwargs["password"] = self._password
        try:
            raw = psycopg.connect(self.url, **kwargs)
        except psycopg.Error as error:
            raise _translated_error(error) from error
        return PgConnection(raw)

    def connection(self) -> PgConnection:
        """This thread's connection, (re)connecting when it has none or the server dropped it."""
        conn: PgConnection | None = getattr(self._local, "conn", None)
        # Between transactions, a connection the server dropped since its last use is replaced
        # before it fails a call: the first call after an outage succeeds.
        if conn is not None and conn.usable and (conn.in_transaction or not conn.dropped_while_idle()):
            return conn
        if conn is not None:
            self._forget(conn)
        conn = self._connect()
        self._local.conn = conn
        self._opened.add(conn)
        return conn

    def _forget(self, conn: PgConnection) -> None:
        self._opened.close(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    @contextmanager
    def connection_context(self) -> Iterator[None]:
        """This thread's connection for a block of work, closed after (thread workers)."""
        try:
            yield
        finally:
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                self._forget(conn)

    def close_all(self) -> None:
        """Close every connection still open, whichever thread opened it, and the listener."""
        self._opened.close_all()
        self._local = threading.local()
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    @property
    def open_connections(self) -> int:
        return len(self._opened)

    def execute_sql(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.connection().execute(sql, params)

    def table_exists(self, name: str) -> bool:
        row = self.execute_sql("SELECT to_regclass(?) IS NOT NULL", (f'public."{name}"',)).fetchone()
        return bool(row and row[0])

    # -- transactions -----------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """A READ COMMITTED write transaction that tells listeners when it commits (nests as a
        savepoint). Races are settled by ON CONFLICT and row locks in the statements themselves."""
        conn = self.connection()
        depth = getattr(self._depth, "value", 0)
        if conn.in_transaction:
            name = f"shiptrack_{depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._depth.value = depth + 1
            try:
                yield
            except BaseException:
                if conn.usable:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._depth.value = depth
            return
        conn.execute("BEGIN")
        self._depth.value = 1
        try:
            yield
            conn.execute(f"NOTIFY {CHANNEL}")
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback_quietly()
            raise
        finally:
            self._depth.value = 0
            if not conn.usable:
                self._forget(conn)

    def atomic(self, _mode: str | None = None) -> Any:
        """`writing()` under peewee's name, for callers written against SQLite."""
        return self.writing()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One snapshot for the statements inside (REPEATABLE READ, read only)."""
        conn = self.connection()
        if conn.in_transaction:
            yield
            return
        conn.execute(POSTGRESQL.begin_read)
        try:
            yield
        finally:
            if conn.usable:
                conn.execute("COMMIT")
            else:
                self._forget(conn)

    # -- change notifications ---------------------------------------------------------------------
    def _listening(self) -> psycopg.Connection[Any]:
        """The listener connection (listen lock held), (re)connected when needed."""
        listener = self._listener
        if listener is not None and not (listener.closed or listener.broken):
            return listener
        if listener is not None:
            listener.close()
        self._listener = None
        listener = self._connect().raw
        listener.execute(f"LISTEN {CHANNEL}")
        self._listener = listener
        self._version += 1  # anything may have changed while nobody listened
        return listener

    def _drain(self, timeout: float) -> int:
        """Count notifications from other connections, waiting up to `timeout` for the first."""
        own = getattr(self._local, "conn", None)
        own_pid = own.backend_pid if own is not None else None
        try:
            listener = self._listening()
            if timeout <= 0:
                # A round trip: whatever was committed before this call has reached us after it
                # (the committer signals listeners before its COMMIT returns).
                listener.execute("SELECT 1")
            seen = 0
            for notify in listener.notifies(timeout=timeout, stop_after=1):
                if notify.pid != own_pid:
                    seen += 1
            if seen:  # take whatever else is already waiting, without blocking
                seen += sum(1 for notify in listener.notifies(timeout=0) if notify.pid != own_pid)
        except psycopg.Error:
            # The server dropped the listener (a restart, a failover): listen again at once. What
            # happened meanwhile is unknown, so the version moves (`_listening`).
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._listening()
            return 1
        self._version += seen
        return seen

    def data_version(self) -> int:
        """A number that changes when another connection commits a write (LISTEN/NOTIFY)."""
        with self._listen_lock:
            self._drain(0)
            return self._version

    def wait_for_change(self, timeout: float) -> bool:
        """Block until another connection commits a write (True) or `timeout` passes (False)."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._listen_lock:
            self._listening()
            before = self._version
            while self._version == before:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._drain(remaining)
            return True
