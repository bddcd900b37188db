"""Exactly-once batches: each writer's high-water mark, stored with the batch it marks.

A connection lost during COMMIT leaves it unknown whether the transaction landed (PostgreSQL
committed it and the answer never arrived, or it never got there). The writer retries the same
batch with the same mark: (its own random id, the batch's number, increasing). `claim` runs first
in the batch's transaction and moves the writer's row to the batch's number only if it is higher;
when the row already holds it, the batch was committed the first time and is not applied again.

One row per writer (one per engine run), updated in place: no table that grows per batch. Rows
of writers gone for `KEEP_SECONDS` are pruned by retention.
"""

from __future__ import annotations

from typing import Any, Final

Mark = tuple[str, int]  # (writer id, batch number)

KEEP_SECONDS: Final = 7 * 86400.0

CLAIM: Final = (
    "INSERT INTO write_batch (writer, seq, at) VALUES (?, ?, ?) "
    "ON CONFLICT (writer) DO UPDATE SET seq = excluded.seq, at = excluded.at "
    "WHERE write_batch.seq < excluded.seq"
)


def claim(conn: Any, mark: Mark, at: float) -> bool:
    """Record `mark` in the caller's transaction; False when it (or a later one) is already
    stored: the batch was committed before and must not be applied again."""
    writer, seq = mark
    return bool(conn.execute(CLAIM, (writer, seq, at)).rowcount)


def prune(conn: Any, before: float) -> int:
    """Forget the marks of writers that wrote nothing since `before`."""
    return int(conn.execute("DELETE FROM write_batch WHERE at < ?", (before,)).rowcount or 0)
