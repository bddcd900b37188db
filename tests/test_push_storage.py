"""Push monitors in the database (schema 8; SQLite and PostgreSQL): generated tokens that last, pings
deleted in the transaction that stores what they caused, a run's start kept with the state, and
the migration from schema 7 (SQLite)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from pathlib import Path

from storage_helpers import T0, check, spec

from shiptrack_tui.core.model import MonitorSpec, MonitorState
from shiptrack_tui.core.push import PingKind
from shiptrack_tui.storage import SCHEMA_VERSION, PipelineWrite, Store, migrations
from shiptrack_tui.storage.db import open_database

CONFIGURED = "configured-token-0123456789"


def push(name: str, token: str | None = None) -> MonitorSpec:
    return MonitorSpec(name=name, url="push", push=True, interval=60.0, grace=60.0, push_token=token)


def test_tokens_are_generated_once_and_a_configured_one_wins(store_target: str | Path) -> None:
    path = store_target
    store = Store.open(path)
    store.sync_monitors([push("backup"), push("report", CONFIGURED), spec("api")], T0)
    tokens = store.push_tokens()
    assert set(tokens) == {"backup", "report"} and tokens["report"] == CONFIGURED
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", tokens["backup"])  # 192 random bits
    store.close()
    store = Store.open(path)  # a restart, another sync: the same token
    store.sync_monitors([push("backup"), push("report")], T0 + 60)
    # The configured token left the config: the URL keeps working with the token it had.
    assert store.push_tokens() == tokens
    assert store.ensure_push_token(push("backup")) == tokens["backup"]
    store.close()


def test_a_token_shown_before_any_engine_ran_is_the_one_the_engine_uses(store_target: str | Path) -> None:
    store = Store.open(store_target)
    shown = store.ensure_push_token(push("backup"))  # `shiptrack monitor show` on a fresh database
    states = store.sync_monitors([push("backup")], T0)
    assert store.push_token("backup") == shown and states == {"backup": MonitorState()}
    store.close()


def test_pings_wait_until_the_write_that_applies_them_commits(store_target: str | Path) -> None:
    store = Store.open(store_target)
    store.sync_monitors([push("backup")], T0)
    store.add_pings([("backup", T0, "start", None), ("backup", T0 + 5, "success", "12 files")])
    start, success = store.pending_pings()
    assert (start.kind, success.kind, success.message, success.at) == (
        PingKind.START, PingKind.SUCCESS, "12 files", T0 + 5)
    assert store.pending_pings(after=start.id) == [success]
    running = MonitorState(run_started_at=T0)
    store.commit_batch([PipelineWrite("backup", running, ping_ids=(start.id,))])
    assert store.pending_pings() == [success]
    assert store.load_states()["backup"].run_started_at == T0  # a start survives a restart
    done = replace(running, last_check_at=T0 + 5, run_started_at=None)
    store.commit_batch([PipelineWrite("backup", done, result=check("backup", T0 + 5),
                                      ping_ids=(success.id,))])
    assert store.pending_pings() == [] and store.recent_checks("backup")[0].at == T0 + 5
    assert store.load_states()["backup"].run_started_at is None
    # Ids never come back once the table is empty: the engine reads "after the last one it took".
    store.add_pings([("backup", T0 + 10, "fail", None)])
    assert store.pending_pings(after=success.id)[0].id > success.id
    store.close()


def test_a_schema_7_database_gains_push_monitors(tmp_path: Path) -> None:
    path = tmp_path / "v7.db"
    db = open_database(path)
    with db.atomic("IMMEDIATE"):
        for migration in migrations.MIGRATIONS[:7]:
            migration(db)
        db.execute_sql("INSERT INTO meta (key, value) VALUES ('schema_version', '7')")
        db.execute_sql("INSERT INTO monitor (id, name, target, last_check_at) "
                       "VALUES (1, 'api', 'https://a', ?)", (T0,))
    db.close_all()
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION >= 8
    assert store.load_states()["api"] == MonitorState(last_check_at=T0)
    store.sync_monitors([push("api")], T0)  # a probed monitor turned push keeps its history, gains a token
    assert store.push_token("api") is not None
    store.close()
    conn = sqlite3.connect(path)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(monitor)")}
    assert {"push_token", "run_started_at"} <= columns
    assert [row[1] for row in conn.execute("PRAGMA table_info(ping)")] == ["id", "monitor", "at", "kind",
                                                                            "message"]
    conn.close()
