"""`shiptrack db migrate` and `shiptrack db copy` on a real PostgreSQL server and real SQLite files,
and every command reaching PostgreSQL through `--db postgresql://...`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from postgres_server import PostgresServer
from storage_helpers import Feed, check, spec

from shiptrack_tui.cli import main
from shiptrack_tui.core.model import ActionKind, Outcome, Silence, SilenceScope
from shiptrack_tui.storage import Store
from shiptrack_tui.storage.copy import TABLES, copy_history

HOOK = "json://127.0.0.1:9/hook"


def build_history(store: Store, monitors: int = 3, checks: int = 120) -> float:
    """Checks for several monitors (with rollups), incidents with timelines and outbox rows,
    a delivered and a pending notification, a silence, actions and a ping; returns "now"."""
    now = time.time() // 60 * 60
    first = now - checks * 60
    store.sync_monitors([spec(f"m{i}") for i in range(monitors)], first)
    for i in range(monitors):
        feed = Feed(f"m{i}", urls=(HOOK,))
        writes = []
        for n in range(checks):
            failing = i == 0 and (20 <= n < 30 or n >= checks - 5)  # one resolved, one open incident
            outcome = Outcome.DOWN if failing else Outcome.UP
            writes.append(feed.write(check(f"m{i}", first + n * 60, outcome, latency_ms=10.0 + n % 7)))
        store.commit_batch(writes)
    pending = store.due_outbox(now + 3600)
    assert pending, "the incidents wrote outbox rows"
    store.record_attempt(pending[0].id, now - 30, delivered=True)
    incident = store.incidents(monitor="m0")[0]
    store.add_action(ActionKind.NOTE, now - 20, incident_id=incident.id, note="looking", source="alice (cli)")
    last = f"m{monitors - 1}"
    store.add_action(ActionKind.PAUSE, now - 10, monitor=last)
    store.start_silence(Silence(0, SilenceScope.TAG, "prod", now - 100, until=now + 3600))
    store.add_pings([(last, now - 5, "success", "ran")])
    return now


def _reads(store: Store, now: float) -> tuple[object, ...]:
    return (store.monitor_summaries(now), store.incidents(), store.active_silences(),
            store.pending_actions(), store.due_outbox(now + 86400), store.recent_checks("m0", limit=500))


def _counts(store: Store) -> dict[str, int]:
    conn = store._db
    return {table: conn.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table, _ in TABLES}


def test_a_history_goes_to_postgres_and_back_with_every_row_and_every_read(tmp_path: Path,
                                                                           pg_url: str) -> None:
    sqlite = Store.open(tmp_path / "a.db")
    now = build_history(sqlite)
    before = _reads(sqlite, now)
    counts = _counts(sqlite)
    assert all(counts[t] for t in ("monitor", "check", "rollup", "incident", "timeline", "action", "outbox",
                                   "silence", "ping", "reason"))
    pg = Store.open(pg_url)
    report = copy_history(sqlite, pg, batch=37)  # many small batches: the keyset paging is exercised
    assert report.matches and {c.table: c.destination for c in report.counts} == counts
    assert _reads(pg, now) == before
    # Ids were kept and the sequences moved past them: new rows do not collide.
    new_id = pg.add_action(ActionKind.CHECK_NOW, now, monitor="m2")
    assert new_id == max(a.id for a in sqlite.pending_actions()) + 1
    back = Store.open(tmp_path / "b.db")
    assert copy_history(pg, back, batch=1000).matches
    assert _reads(back, now)[:3] == before[:3]
    assert _counts(back) == {**counts, "action": counts["action"] + 1}
    for store in (sqlite, pg, back):
        store.close()


def test_db_copy_cli_round_trip_prints_the_counts(tmp_path: Path, pg_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "a.db"
    store = Store.open(source)
    now = build_history(store, monitors=2, checks=40)
    status_before = store.monitor_summaries(now)
    store.close()
    assert main(["db", "copy", "--db", str(source), "--to", pg_url]) == 0
    out, _err = capsys.readouterr()
    assert f"copied {source} → {pg_url}" in out
    assert "ok: " in out and "every table has the same number of rows" in out
    check_row = next(line.split() for line in out.splitlines() if line.startswith("check "))
    assert check_row[1] == check_row[2] != "0"
    # `status` reads PostgreSQL as it read the file.
    assert main(["status", "--json", "--db", pg_url]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [s.name for s in status_before]
    assert rows[0]["open_incident"] is not None
    assert main(["incidents", "--json", "--db", pg_url]) == 0
    pg_incidents = json.loads(capsys.readouterr().out)
    assert main(["incidents", "--json", "--db", str(source)]) == 0
    assert json.loads(capsys.readouterr().out) == pg_incidents
    # ... and back to a new file, from PostgreSQL.
    back = tmp_path / "back.db"
    assert main(["db", "copy", "--from", pg_url, "--to", str(back), "--db", str(tmp_path / "unused.db")]) == 0
    assert "ok: " in capsys.readouterr().out
    assert main(["incidents", "--json", "--db", str(back)]) == 0
    assert json.loads(capsys.readouterr().out) == pg_incidents


def test_db_copy_refuses_a_destination_with_history(tmp_path: Path, pg_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "a.db"
    store = Store.open(source)
    build_history(store, monitors=1, checks=10)
    store.close()
    assert main(["db", "copy", "--db", str(source), "--to", pg_url]) == 0
    capsys.readouterr()
    pg = Store.open(pg_url)
    before = _counts(pg)
    pg.close()
    assert main(["db", "copy", "--db", str(source), "--to", pg_url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"shiptrack: {pg_url} already holds history (1 row in monitor, ")
    pg = Store.open(pg_url)
    assert _counts(pg) == before  # nothing written
    pg.close()
    assert main(["db", "copy", "--db", str(source), "--to", str(source)]) == 2
    assert "--to names the database copied from" in capsys.readouterr().err


def test_db_migrate_creates_then_finds_nothing_to_do(pg_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from shiptrack_tui.storage.migrations import SCHEMA_VERSION

    assert main(["db", "migrate", "--db", pg_url]) == 0
    assert capsys.readouterr().out == f"{pg_url}: created the schema, version {SCHEMA_VERSION}\n"
    assert main(["db", "migrate", "--db", pg_url]) == 0
    assert capsys.readouterr().out == f"{pg_url}: schema {SCHEMA_VERSION} is current; nothing to do\n"
    db = tmp_path / "new.db"
    assert main(["db", "migrate", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"{db}: created the schema, version {SCHEMA_VERSION}\n"


def test_db_migrate_from_the_config_url_with_a_password_file(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    server, url = _password_server("correct horse")
    try:
        (tmp_path / "pw").write_text("correct horse\n")
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\nurl = "{url}"\npassword_file = "pw"\n')
        assert main(["db", "migrate", "--config", str(config)]) == 0
        assert "created the schema" in capsys.readouterr().out
        assert main(["status", "--config", str(config)]) == 0
        (tmp_path / "pw").write_text("wrong horse\n")
        assert main(["status", "--config", str(config)]) == 1
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and "horse" not in out + err and "Traceback" not in err
        assert "password authentication failed" in err
        # A password in the URL itself (here on the command line) is never printed either.
        secret_url = url.replace("shiptrack@", "shiptrack:wrong-horse@", 1)
        assert main(["status", "--db", secret_url]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "wrong-horse" not in err and "shiptrack:***@" in err
    finally:
        server.destroy()


def _password_server(password: str) -> tuple[PostgresServer, str]:
    """A private server that asks TCP clients for a password (the shared one trusts everyone),
    and the URL (without the password) of an empty database on it."""
    import psycopg

    server = PostgresServer()
    hba = server.data / "pg_hba.conf"
    server.start()
    url = server.create_database()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"ALTER USER shiptrack PASSWORD '{password}'")
    lines = [line.replace("trust", "scram-sha-256") if line.startswith("host") else line
             for line in hba.read_text().splitlines()]
    hba.write_text("\n".join(lines) + "\n")
    server.restart()
    return server, url


def test_a_server_that_is_down_is_one_line_and_exit_1(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    server = PostgresServer()  # initialised, never started: nothing listens on its port
    try:
        url = server.url("shiptrack").replace("shiptrack@", "shiptrack:hunter2@", 1)
        config = tmp_path / "shiptrack.toml"
        config.write_text(f'[storage]\nurl = "{url}"\n[[monitor]]\nname = "a"\nurl = "tcp://127.0.0.1:9"\n')
        for argv in (["status", "--db", url], ["db", "migrate", "--db", url],
                     ["db", "copy", "--to", url, "--db", url + "x"],
                     ["--daemon", "--config", str(config)]):
            root = logging.getLogger()
            handlers, level = root.handlers[:], root.level  # the daemon sets up its own logging
            try:
                assert main(argv) == 1, argv
            finally:
                root.handlers[:], root.level = handlers, level
            out, err = capsys.readouterr()
            assert err.count("\n") == 1, err
            assert "hunter2" not in out + err and "Traceback" not in err
            assert err.startswith("shiptrack: ")
    finally:
        server.destroy()
