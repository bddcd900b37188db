"""The notification sender's outbox in a cluster: rows claimed by this node, sent, recorded.

The SQL is storage/cluster_outbox.py's; this keeps the claims in hand and decides, right before a
send, whether this node may still send (engine/membership.py's `ClusterLink.outbox` makes it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from shiptrack_tui.core.model import OutboxRow
from shiptrack_tui.storage import cluster_outbox as claims

if TYPE_CHECKING:
    from shiptrack_tui.engine.membership import ClusterLink
    from shiptrack_tui.storage import Store

log = logging.getLogger("shiptrack.cluster")


class ClusterOutbox:
    """The notification sender's outbox in a cluster (notify/sender.py's `OutboxStore`).

    Rows are claimed (`FOR UPDATE SKIP LOCKED`, head of each (monitor, URL) line only), so any
    node may deliver and no two at once; an attempt is recorded only while the claim is still
    ours. Right before sending, the claim must hold for a whole delivery timeout more and this
    node must trust its leases: a node woken from SIGSTOP sends nothing until it has rejoined.
    A node killed mid-send leaves its claim to expire: another node then claims the row again.
    """

    def __init__(self, link: ClusterLink, store: Store, may_send: Callable[[], bool],
                 send_timeout: float) -> None:
        self._link = link
        self._store = store
        self._may_send = may_send
        self.margin = send_timeout + 1.0  # a claim must hold this long more when a send starts
        self.claim_seconds = 2 * self.margin + link.lease
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._claims: dict[int, claims.Claim] = {}
        self.lapsed = 0  # claimed rows not sent: the claim or the leases lapsed first

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = conn = self._link.connect()
        return conn

    def connection_context(self) -> Any:
        return self._store.connection_context()

    def due_outbox(self, now: float, limit: int = 100) -> list[OutboxRow]:
        if not self._may_send():
            return []
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                got = claims.claim_outbox(conn, self._link.node, now, self.claim_seconds, limit)
            self._claims.update((claim.id, claim) for claim in got)
        return [claim.row for claim in got]

    def release_unsent(self, rows: Iterable[OutboxRow]) -> None:
        """Claimed rows the sender will not start now: claimable again at once, by anyone."""
        with self._lock:
            unsent = [self._claims.pop(row.id) for row in rows if row.id in self._claims]
            if not unsent:
                return
            conn = self._connection()
            with conn.transaction():
                claims.release_claims(conn, unsent)

    def still_ours(self, row: OutboxRow) -> bool:
        """Right before sending: this node may send, and its claim holds for a delivery more."""
        with self._lock:
            claim = self._claims.get(row.id)
            ours = claim is not None and self._may_send() and bool(
                claims.still_claimed(self._connection(), [claim], self.margin))
            if not ours:
                self._claims.pop(row.id, None)
                self.lapsed += 1
                if claim is not None:  # handed back at once if the database still says it is ours
                    conn = self._connection()
                    with conn.transaction():
                        claims.release_claims(conn, [claim])
        return ours

    def record_attempt(self, row_id: int, at: float, delivered: bool, error: str | None = None,
                       next_attempt_at: float | None = None, give_up: bool = False,
                       detail: str | None = None, seen_attempts: int | None = None) -> None:
        # `seen_attempts` (the single store's guard against a retried COMMIT) is not needed here:
        # the claim is the guard, cleared by the commit that records the attempt.
        with self._lock:
            claim = self._claims.get(row_id)
            if claim is None:
                return
            conn = self._connection()
            with conn.transaction():
                recorded = claims.record_claimed_attempt(conn, claim, at, delivered, error, next_attempt_at,
                                                         give_up, detail)
            # Kept until then: a database away at this point raises, and the sender records the
            # attempt again when it is back, with the claim still in hand.
            self._claims.pop(row_id, None)
        if not recorded:
            log.warning("outbox row %d: attempt not recorded, another node claimed the row meanwhile", row_id)

    def outbox_placeholders(self, prefix: str) -> dict[str, int]:
        return self._store.outbox_placeholders(prefix)

    def expand_outbox(self, row_id: int, urls: Sequence[str], prefix: str) -> int:
        return self._store.expand_outbox(row_id, urls, prefix)

    def close(self) -> None:
        with self._lock:
            held, self._claims = list(self._claims.values()), {}
            conn = self._conn
            if conn is not None and held:
                try:
                    with conn.transaction():
                        claims.release_claims(conn, held)
                except psycopg.Error:
                    pass  # they expire by themselves
            if conn is not None:
                conn.close()
            self._conn = None
