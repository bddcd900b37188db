"""Opening the database again in a process must not drop that process's SQLite locks.

POSIX releases every fcntl lock a process holds on a file when it closes *any* descriptor of that
file. SQLite's WAL mode relies on a shared lock on the database file: a connection that closes
and finds it can take the exclusive lock believes it is the last one, checkpoints, and deletes
the WAL while others still use it. A dashboard (engine and UI each open the store) with a
`shiptrack ack` in another shell corrupted its database that way (`wrong # of entries in index`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shiptrack_tui.core.model import ActionKind, MonitorSpec
from shiptrack_tui.storage import Store


def test_a_second_store_in_the_process_keeps_the_first_ones_lock(tmp_path: Path) -> None:
    db = tmp_path / "st.db"
    engine = Store.open(db)
    try:
        engine.sync_monitors([MonitorSpec(name="api", url="http://a/")], 0.0)
        viewer = Store.open(db)  # the dashboard's own store, beside its engine's
        try:
            # Another process (a CLI command) opens, writes and closes: it must not believe it is
            # the last user of the file.
            script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                      "c.execute('SELECT COUNT(*) FROM monitor').fetchall(); c.close()")
            subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=30)
            assert db.with_name(db.name + "-wal").exists(), "another process deleted the WAL in use"
            engine.add_action(ActionKind.CHECK_NOW, at=1.0, monitor="api")
            assert viewer.pending_actions()[0].monitor == "api"
        finally:
            viewer.close()
    finally:
        engine.close()
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
