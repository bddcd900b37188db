"""Renames: a monitor's history follows it to its new name.

A rename is an operator action row (kind `rename`, monitor: the old name, note: the new one). Who
saves a config file that renames a monitor writes that row first and the file second, so any engine
that sees the new file (in process, or a daemon's watcher) finds the row too. The engine applies
pending renames just before it applies a config (`apply`): the monitor's row, and with it every
check, rollup and incident, takes the new name.

A rename whose old name the config still has is refused: the file that renames was never saved (or
another edit undid it). So is one whose new name already has a row (its own history), and one whose
old name has none left (a rename of it already went through, e.g. a rename that was undone).
"""

from __future__ import annotations

from collections.abc import Collection

from shiptrack_tui.core.model import ActionKind
from shiptrack_tui.storage.dialect import Connection


def apply(conn: Connection, configured: Collection[str], now: float) -> list[tuple[str, str]]:
    """Apply pending renames in the order they were made (inside the caller's transaction);
    return the (old, new) pairs applied."""
    rows = conn.execute(
        "SELECT id, monitor, note FROM action WHERE kind = ? AND applied_at IS NULL AND error IS NULL "
        "ORDER BY id", (ActionKind.RENAME.value,)).fetchall()
    done: list[tuple[str, str]] = []
    for action_id, old, new in rows:
        why = _refusal(conn, configured, old, new)
        if why is not None:
            conn.execute("UPDATE action SET error = ? WHERE id = ?", (why, action_id))
            continue
        conn.execute("UPDATE monitor SET name = ? WHERE name = ?", (new, old))
        # What waits under the old name goes on under the new one: notifications keep their order
        # (the outbox is ordered per monitor), silences keep covering it, queued actions still apply.
        conn.execute("UPDATE outbox SET monitor = ? WHERE monitor = ?", (new, old))
        conn.execute("UPDATE silence SET value = ? WHERE scope = 'monitor' AND value = ? "
                     "AND ended_at IS NULL", (new, old))
        conn.execute("UPDATE action SET monitor = ? WHERE monitor = ? AND applied_at IS NULL "
                     "AND error IS NULL AND kind != ?", (new, old, ActionKind.RENAME.value))
        conn.execute("UPDATE action SET applied_at = ? WHERE id = ?", (now, action_id))
        done.append((old, new))
    return done


def _refusal(conn: Connection, configured: Collection[str], old: str | None,
             new: str | None) -> str | None:
    if not old or not new or old == new:
        return "a rename needs two different names"
    if old in configured:
        return f"the config still has a monitor named {old!r}: the renaming edit was not saved"
    if _exists(conn, new):
        return f"{new!r} already has history of its own; {old!r}'s history stays under {old!r}"
    if not _exists(conn, old):
        return f"there is no monitor named {old!r} in the database"
    return None


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM monitor WHERE name = ?", (name,)).fetchone() is not None
