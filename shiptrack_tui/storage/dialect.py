"""What differs between the two backends' SQL, as one small object per backend.

Every query module writes the shared form (`?` parameters, `ON CONFLICT`, `RETURNING id`, CASE
instead of scalar MAX) and asks the connection it was handed (`conn.dialect`) for the few
fragments that differ. The SQLite dialect lives in storage/db.py, the PostgreSQL one in
storage/postgres.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: Backend
    list_membership: str
    """`{column}` is in the list bound to the one `{param}` placeholder (see `in_list`)."""
    begin_read: str
    """Starts a read transaction that sees one snapshot for all its statements."""
    json_lists: bool
    """Lists are bound as one JSON text (SQLite's json_each) rather than as an array."""
    file_pages: bool
    """The database is a file with pages to reclaim and a WAL to checkpoint (SQLite)."""
    ordered_inserts: str
    """Run first in a transaction whose new ids must commit in id order (readers take "every id
    after the last one seen"): nothing on SQLite, whose writers already take turns; a table lock
    on PostgreSQL, where concurrent transactions could commit ids out of order. `{table}`."""
    gather_seconds: float
    """How long the batching writer gathers writes before committing (storage/writer.py). A
    PostgreSQL transaction costs ~14 round trips, ~2 ms of client CPU whatever its size, against
    ~0.1 ms for SQLite in-process: gathering 250 ms instead of 20 ms turns ~3 checks a commit into
    ~20 at 80 checks/s and cuts the client CPU per check by ~0.6 ms (commits carrying a
    transition are not held back, see Writer)."""

    def in_list(self, column: str, param: str = "?") -> str:
        """SQL that holds when `column` is one of the values bound to `param` (see `values`)."""
        return self.list_membership.format(column=column, param=param)

    def serialize_inserts(self, conn: Connection, table: str) -> None:
        """Make this transaction's inserts into `table` commit in id order (see `ordered_inserts`)."""
        if self.ordered_inserts:
            conn.execute(self.ordered_inserts.format(table=table))

    def values(self, items: Iterable[object]) -> object:
        """The parameter to bind for an `in_list` placeholder."""
        return json.dumps(list(items)) if self.json_lists else list(items)


SQLITE = Dialect("sqlite", "{column} IN (SELECT value FROM json_each({param}))", "BEGIN", True, True, "",
                 0.02)
POSTGRESQL = Dialect("postgresql", "{column} = ANY({param})",
                     "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", False, False,
                     'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE', 0.25)


class Connection(Protocol):
    """What the query modules use of a connection: sqlite3's, or postgres.PgConnection."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...


@contextmanager
def snapshot(conn: Connection) -> Iterator[None]:
    """Run the statements inside in one read snapshot (the caller's, when a transaction is open)."""
    if conn.in_transaction:
        yield
        return
    conn.execute(conn.dialect.begin_read)
    try:
        yield
    finally:
        conn.execute("COMMIT")


class Database(Protocol):
    """What query modules use of a whole database: db.TrackedDatabase or postgres.PgDatabase."""

    @property
    def dialect(self) -> Dialect: ...

    def execute_sql(self, sql: str, params: Any = ...) -> Any: ...

    def connection(self) -> Any: ...

    def writing(self) -> AbstractContextManager[Any]: ...

    def reading(self) -> AbstractContextManager[Any]: ...
