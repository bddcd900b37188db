"""The stored checks around one incident, for its postmortem: bounded reads by primary key."""

from __future__ import annotations

from collections.abc import Sequence

from shiptrack_tui.core.model import CheckResult
from shiptrack_tui.core.postmortem import CheckSpan, PhaseChecks
from shiptrack_tui.storage.codec import MAINTENANCE, PAUSED, code_outcome, from_ms, from_us, to_ms
from shiptrack_tui.storage.dialect import Database
from shiptrack_tui.storage.packing import Wanted, checks

# The primary keys bound each read to its span (packing.checks); LIMIT bounds it to the cap.
# Checks that landed while the monitor was paused count neither way, as for uptime.
_SPAN = """
SELECT c.at_ms, c.code, c.latency_us, c.status, r.text FROM {source} AS c
LEFT JOIN reason AS r ON r.id = c.error_id
WHERE c.code & ? = 0
ORDER BY c.at_ms {order} LIMIT ?
"""


def span_checks(db: Database, monitor_id: int, monitor: str,
                spans: Sequence[CheckSpan]) -> tuple[PhaseChecks, ...]:
    """Each span's checks, oldest first, at most `span.limit` of them (`capped` says more exist)."""
    found = []
    for span in spans:
        order = "DESC" if span.newest else "ASC"
        # No `first` hint: paused checks, left out below, count in a block's size.
        source, params = checks(db.dialect, Wanted(monitor_id, to_ms(span.since), to_ms(span.until) - 1))
        rows = db.execute_sql(_SPAN.format(source=source, order=order),
                              (*params, PAUSED, span.limit + 1)).fetchall()
        capped = len(rows) > span.limit
        rows = rows[:span.limit]
        if span.newest:
            rows.reverse()
        results = tuple(
            CheckResult(monitor=monitor, at=from_ms(at_ms), outcome=code_outcome(code),
                        latency_ms=from_us(latency_us), status_code=status, reason=reason,
                        in_maintenance=bool(code & MAINTENANCE))
            for at_ms, code, latency_us, status, reason in rows
        )
        found.append(PhaseChecks(span, results, capped))
    return tuple(found)
