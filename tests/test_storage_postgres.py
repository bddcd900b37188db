"""What only PostgreSQL has: URLs and their passwords, the shared SQL's placeholders, the schema
beside SQLite's, concurrent first opens, and a server that goes away and comes back."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from postgres_server import PostgresServer
from storage_helpers import T0, Feed, check, spec
from waiting import wait_for

from shiptrack_tui.core.dsn import is_postgres_url, redact
from shiptrack_tui.storage import SCHEMA_VERSION, StorageError, Store, Writer
from shiptrack_tui.storage.postgres import translate


def test_urls_are_told_from_paths_and_their_passwords_never_shown() -> None:
    assert is_postgres_url("postgresql://db.internal/shiptrack")
    assert is_postgres_url(" POSTGRES://u@h/d")
    assert not is_postgres_url("/var/lib/shiptrack.db") and not is_postgres_url(Path("postgresql:/x"))
    assert redact("postgresql://ship:s3cr%40t@db:5432/track?sslmode=require") == (
        "postgresql://ship:***@db:5432/track?sslmode=require")
    assert redact("postgresql://db/track?user=ship&password=s3cret") == (
        "postgresql://db/track?user=ship&password=***")
    assert redact("postgresql://ship@db/track") == "postgresql://ship@db/track"


def test_the_shared_placeholders_become_psycopg_ones() -> None:
    assert translate("SELECT ? WHERE a = ? AND b LIKE '%?%'") == (
        "SELECT %s WHERE a = %s AND b LIKE '%?%'", None)
    assert translate("UPDATE t SET x = CASE WHEN x < ?1 THEN ?1 ELSE x END WHERE id = ?2") == (
        "UPDATE t SET x = CASE WHEN x < %s THEN %s ELSE x END WHERE id = %s", (0, 0, 1))
    assert translate('SELECT 5 % 2, "we?ird"') == ('SELECT 5 %% 2, "we?ird"', None)


def test_a_batch_upsert_is_one_statement_whatever_its_size_and_keeps_every_value(pg_url: str) -> None:
    """Upserts of many rows go in as one array per column (one statement text, so psycopg and
    the server parse it once): NULLs, bytes, large ints, ints in a float column and booleans in
    an integer column all arrive as they would row by row, and the conflict clause still rules."""
    store = Store.open(pg_url)
    try:
        conn = store._conn()
        conn.execute("CREATE TABLE probe_upsert (k BIGINT PRIMARY KEY, f DOUBLE PRECISION, "
                     "n INTEGER, b BYTEA, t TEXT)")
        upsert = ("INSERT INTO probe_upsert (k, f, n, b, t) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (k) DO UPDATE SET f = excluded.f, t = excluded.t")
        texts = set()
        original = conn.raw.execute

        def seen(query, *args, **kwargs):
            texts.add(str(query))
            return original(query, *args, **kwargs)

        conn.raw.execute = seen
        try:
            conn.executemany(upsert, [(2**40, 1, True, b"\x00\xff", "a'b"), (2, None, None, None, None)])
            many = [(k, k / 2, k % 2 == 0, bytes([k % 256]), f"t{k}") for k in range(3, 300)]
            conn.executemany(upsert, [*many, (2, 2.5, 0, b"", "again")])
        finally:
            conn.raw.execute = original
        assert len([text for text in texts if "probe_upsert" in text]) == 1
        rows = dict((row[0], row[1:]) for row in conn.execute("SELECT * FROM probe_upsert").fetchall())
        assert rows[2**40] == (1.0, 1, b"\x00\xff", "a'b")
        assert rows[2] == (2.5, None, None, "again")  # the update touched f and t only
        assert rows[7] == (3.5, 0, b"\x07", "t7") and len(rows) == 299
    finally:
        store.close()


def test_display_name_hides_the_password_and_path_is_none(pg_url: str) -> None:
    with_password = pg_url.replace("shiptrack@", "shiptrack:s3cret@")  # trust auth ignores it
    store = Store.open(with_password)
    try:
        assert (store.backend, store.path, store.schema_version()) == ("postgresql", None, SCHEMA_VERSION)
        assert "s3cret" not in store.display_name and "shiptrack:***@" in store.display_name
    finally:
        store.close()


def test_an_unreachable_server_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StorageError) as raised:
        Store.open(f"postgresql://ship:s3cret@127.0.0.1:{port}/nothing", busy_timeout=1)
    message = str(raised.value)
    assert "s3cret" not in message and "ship:***@" in message and "\n" not in message
    with pytest.raises(StorageError, match="password file cannot be read"):
        Store.open(f"postgresql://ship@127.0.0.1:{port}/nothing", password_file=tmp_path / "missing")


def _columns_sqlite(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: sorted(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")'))
                for table in tables}
    finally:
        conn.close()


def test_both_backends_have_the_same_tables_columns_and_indexes(tmp_path: Path, pg_url: str) -> None:
    Store.open(tmp_path / "db.sqlite").close()
    Store.open(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public'").fetchall()
        indexes = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = "
                                                  "'public' AND indexname NOT LIKE '%_pkey'")}
    # The cluster's tables and the outbox's claim columns (schema 10) and the packed checks
    # (schema 12) are PostgreSQL's alone.
    cluster_only = {"node", "lease", "location_state", "outbox.claimed_by", "outbox.claimed_until",
                    "check_block"}
    found: dict[str, list[str]] = {}
    for table, column in rows:
        if table not in cluster_only and f"{table}.{column}" not in cluster_only:
            found.setdefault(table, []).append(column)
    lite_columns = _columns_sqlite(tmp_path / "db.sqlite")
    assert {table: sorted(columns) for table, columns in found.items()} == lite_columns
    with sqlite3.connect(tmp_path / "db.sqlite") as lite:
        named = {row[0] for row in lite.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                "AND name NOT LIKE 'sqlite_autoindex%'")}
    assert indexes - {"lease_node"} == named


def test_engines_opening_a_new_database_at_once_create_it_once(pg_url: str) -> None:
    opened: list[Store] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            opened.append(Store.open(pg_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(opened) == 4
    assert {store.schema_version() for store in opened} == {SCHEMA_VERSION}
    for store in opened:
        store.close()


@pytest.fixture
def private_server() -> Iterator[PostgresServer]:
    """A server of this test's own, to stop and restart."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


def test_a_restarted_server_costs_no_failed_call_and_the_writer_loses_nothing(
        private_server: PostgresServer) -> None:
    store = Store.open(private_server.create_database())
    writer = Writer(store, gather_seconds=0.0)
    feed = Feed("api")
    try:
        store.sync_monitors([spec("api")], T0)
        writer.submit(feed.write(check("api", T0)))
        writer.flush(timeout=10)
        seen = store.data_version()

        private_server.stop()
        writer.submit(feed.write(check("api", T0 + 60)))
        wait_for(lambda: writer.stall() is not None, timeout=20)  # retrying, not dropping
        private_server.start()
        writer.flush(timeout=30)
        assert writer.retries >= 1 and writer.dropped == 0
        writer.submit(feed.write(check("api", T0 + 120)))
        writer.flush(timeout=30)

        # This thread's connection died with the server while idle: it is replaced before use, so
        # the first call after the restart already succeeds (PgConnection.dropped_while_idle).
        assert store.load_states()["api"].last_check_at == T0 + 120
        assert [c.at for c in store.recent_checks("api")] == [T0 + 120, T0 + 60, T0]
        assert store.data_version() != seen  # the listener came back too, and says to re-read
    finally:
        writer.close(timeout=30)
        store.close()


def test_rows_copied_in_with_their_ids_leave_the_id_generators_behind_them(pg_url: str) -> None:
    from shiptrack_tui.storage import pg_schema

    store = Store.open(pg_url)
    try:
        # What `db copy` does: rows arrive with the ids they had in the other database.
        store._conn().execute("INSERT INTO monitor (id, name) VALUES (41, 'copied')")
        store._conn().execute("INSERT INTO ping (id, monitor, at, kind) VALUES (7, 'copied', 1.0, 'success')")
        pg_schema.reset_identities(store._db)  # type: ignore[arg-type]
        store.sync_monitors([spec("api")], T0)
        assert store._conn().execute("SELECT id FROM monitor WHERE name = 'api'").fetchone() == (42,)
        store.add_pings([("api", T0, "success", None)])
        assert [ping.id for ping in store.pending_pings(after=7)] == [8]
    finally:
        store.close()
