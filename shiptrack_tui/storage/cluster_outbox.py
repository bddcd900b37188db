"""The outbox shared by several engines on PostgreSQL: claim a row, send it, record the attempt.

Any node may deliver. A row is claimed by one node at a time (`claimed_by`, `claimed_until` by the
database clock), and only at the head of its (monitor, url) line, as `storage/outbox.py` hands out
rows on SQLite: every earlier row of the pair must be delivered or given up first, and a claimed
row in flight is not, so order per (monitor, url) holds across nodes. Claims are short
transactions of their own: claim and commit, send with no transaction open, then record in
another short transaction that first checks the claim is still ours. A node killed mid-send
leaves its claim to expire; after `claim_seconds` any node claims the row again (at-least-once,
as on one machine). A node that was paused past its claim finds it gone (`still_claimed`) and
does not send.

A claim's token is its `claimed_until`, and a claim stays its node's while `claimed_by` names it
and `claimed_until` is not later than the token: nobody claims a row without setting a later one
(a claim ends after it is made), but a node declaring another dead may cut its claims short.

Freeing a dead node's claims early. A node sends a row only after `still_claimed` found its claim
valid for `margin` (the delivery timeout + 1 s) more; the send then ends within the delivery
timeout, so by the check's time + margin. When node B declares node A dead (storage/cluster.py
`acquire`, which bumps A's generation), it cuts A's claims, in the same transaction, to end at
T + margin, T being its `clock_timestamp()` then. `still_claimed` locks the row FOR SHARE, so A's
check and B's cut are ordered by the row lock: a check before the cut ran by T (to within the
microseconds between evaluating the clock and taking the lock, well inside the 1 s of slack in the
margin), so A's send from it ends by T + margin, when the claim ends and another node may take
the row; a check after the cut finds the claim valid for less than a margin and A sends nothing.
A's send in flight is still recorded (the claim is still A's: the token rule above), so it is not
sent again. What this cannot cover, nor could the claim's own expiry: a node paused (SIGSTOP)
between its check and the end of its send, which then finishes after another node sent the row too
(at-least-once, as on one machine). B uses its own margin for A's: every node's delivery timeout
is ShipTrack's fixed DEFAULT_TIMEOUT. So a killed node's unsent row waits at most the liveness
timeout, a round and a margin (about 30 s at the default lease) instead of the whole claim (42 s).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from shiptrack_tui.core.model import OutboxItem, OutboxRow, Transition
from shiptrack_tui.storage import outbox
from shiptrack_tui.storage.cluster import Conn, raw_connection, run
from shiptrack_tui.storage.postgres import PgConnection

DEFAULT_CLAIM_SECONDS: Final = 120.0


@dataclass(frozen=True, slots=True)
class Claim:
    """An outbox row claimed by one node until `until` (database clock); `until` is the claim's token."""

    row: OutboxRow
    node: str
    until: datetime

    @property
    def id(self) -> int:
        return self.row.id


# The placeholder rule mirrors notify/sender.py: while a monitor has a pending placeholder row (an
# Apprise config file that could not be read), its later rows to URLs that may be entries of that
# file wait for it; rows to plain URLs ([notify] urls, channels) and placeholders themselves do not.
_CLAIM: Final = """
WITH picked AS MATERIALIZED (
  SELECT c.id FROM outbox AS c
  WHERE c.delivered_at IS NULL AND c.failed_at IS NULL AND c.next_attempt_at <= %(now)s
    AND (c.claimed_until IS NULL OR c.claimed_until <= clock_timestamp())
    AND NOT EXISTS (
      SELECT 1 FROM outbox AS p
      WHERE p.monitor = c.monitor AND p.url = c.url AND p.id < c.id
        AND p.delivered_at IS NULL AND p.failed_at IS NULL)
    AND (%(prefix)s::text IS NULL OR left(c.url, length(%(prefix)s)) = %(prefix)s
         OR c.url = ANY(%(plain)s::text[]) OR NOT EXISTS (
      SELECT 1 FROM outbox AS q
      WHERE q.monitor = c.monitor AND q.id < c.id AND left(q.url, length(%(prefix)s)) = %(prefix)s
        AND q.delivered_at IS NULL AND q.failed_at IS NULL))
  ORDER BY c.next_attempt_at, c.id
  LIMIT %(limit)s
  FOR UPDATE OF c SKIP LOCKED)
UPDATE outbox AS o SET claimed_by = %(node)s,
    claimed_until = clock_timestamp() + make_interval(secs => %(secs)s)
FROM picked WHERE o.id = picked.id
RETURNING o.id, o.incident_id, o.monitor, o.transition, o.url, o.title, o.body, o.notify_type,
          o.created_at, o.attempts, o.next_attempt_at, o.last_error, o.claimed_until
"""


def claim_outbox(conn: Conn, node: str, now_limit: float,
                 claim_seconds: float = DEFAULT_CLAIM_SECONDS, limit: int = 100, *,
                 placeholder_prefix: str | None = None, plain_urls: Collection[str] = ()) -> list[Claim]:
    """Claim up to `limit` due rows (next_attempt_at <= `now_limit`, the caller's clock) for `node`.

    A row is claimable when it is pending, at the head of its (monitor, url) line, and unclaimed or
    its claim expired. Rows another transaction is claiming right now are skipped (SKIP LOCKED), so
    concurrent claimers never get the same row. Commit right after, before sending anything.
    With `placeholder_prefix`, a row waits behind an earlier pending placeholder of its monitor
    unless its URL is in `plain_urls`, as the sender does on one machine. Ordered by due time, id.
    """
    rows = run(conn, _CLAIM, {"node": node, "now": now_limit, "secs": float(claim_seconds),
                              "limit": int(limit), "prefix": placeholder_prefix,
                              "plain": list(plain_urls)}).fetchall()
    claims = [
        Claim(OutboxRow(id=row_id, incident_id=incident_id,
                        item=OutboxItem(monitor, Transition(transition), url, title, body, notify_type),
                        created_at=created_at, attempts=attempts, next_attempt_at=next_attempt_at,
                        last_error=last_error), node, until)
        for (row_id, incident_id, monitor, transition, url, title, body, notify_type, created_at, attempts,
             next_attempt_at, last_error, until) in rows
    ]
    claims.sort(key=lambda claim: (claim.row.next_attempt_at, claim.id))
    return claims


def _ours(conn: Conn, claims: Iterable[Claim], *, valid_for: float | None = None,
          lock: str = "") -> set[int]:
    """Ids of these claims still ours (same node, until not past the token); with `valid_for`,
    unexpired that long. `lock`: "SHARE" or "UPDATE" to lock the rows found."""
    listed = list(claims)
    if not listed:
        return set()
    rows = run(
        conn,
        "SELECT o.id FROM outbox AS o "
        "JOIN unnest(%s::bigint[], %s::text[], %s::timestamptz[]) AS k(id, node, until) "
        "ON o.id = k.id AND o.claimed_by = k.node AND o.claimed_until <= k.until "
        "WHERE %s::float8 IS NULL OR o.claimed_until > clock_timestamp() + make_interval(secs => %s) "
        f"ORDER BY o.id{f' FOR {lock} OF o' if lock else ''}",
        ([c.id for c in listed], [c.node for c in listed], [c.until for c in listed], valid_for,
         valid_for or 0.0))
    return {row_id for (row_id,) in rows}


def still_claimed(conn: Conn, claims: Iterable[Claim],
                  margin_seconds: float = 0.0) -> set[int]:
    """Ids of these claims that are still ours and valid for at least `margin_seconds` more.

    Ask right before sending: a node paused (SIGSTOP) past its claim gets nothing back and sends
    nothing; another node has the row, or will.
    """
    return _ours(conn, claims, valid_for=margin_seconds, lock="SHARE")  # ordered with a cut: see above


def extend_claims(conn: Conn, claims: Iterable[Claim],
                  claim_seconds: float = DEFAULT_CLAIM_SECONDS) -> list[Claim]:
    """Push the expiry of claims still ours (even expired, if nobody reclaimed); return the new claims."""
    listed = {c.id: c for c in claims}
    mine = _ours(conn, listed.values(), lock="UPDATE")
    if not mine:
        return []
    rows = run(
        conn,
        "UPDATE outbox SET claimed_until = clock_timestamp() + make_interval(secs => %s) "
        "WHERE id = ANY(%s::bigint[]) RETURNING id, claimed_until", (float(claim_seconds), sorted(mine)))
    return [Claim(listed[row_id].row, listed[row_id].node, until) for row_id, until in rows]


def release_claims(conn: Conn, claims: Iterable[Claim]) -> int:
    """Hand back claims not sent (still ours): the rows are claimable again at once."""
    listed = list(claims)
    mine = _ours(conn, listed, lock="UPDATE")
    if not mine:
        return 0
    return run(conn, "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL "
                     "WHERE id = ANY(%s::bigint[])", (sorted(mine),)).rowcount


def record_claimed_attempt(conn: Conn, claim: Claim, at: float, delivered: bool,
                           error: str | None = None, next_attempt_at: float | None = None,
                           give_up: bool = False, detail: str | None = None) -> bool:
    """Record one delivery attempt of a claimed row if the claim is still ours; False otherwise.

    In the caller's transaction: the row is locked and unclaimed, then updated and noted on the
    incident's timeline exactly as on one machine (`outbox.record_attempt`). A claim that expired
    is still ours as long as no other node claimed the row since; if one did, nothing is recorded
    and that node's attempt counts (at-least-once: the message may arrive twice).
    """
    if not _ours(conn, [claim], lock="UPDATE"):
        return False
    run(conn, "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = %s", (claim.id,))
    outbox.record_attempt(PgConnection(raw_connection(conn)), claim.id, at, delivered, error,
                          next_attempt_at, give_up, detail)
    return True
