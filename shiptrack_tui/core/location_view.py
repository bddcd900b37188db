"""What readers show of a multi-location monitor (DESIGN §12): each location's latest check.

The engine's location checkers store these (storage/cluster.py, `location_state`); `status --json`,
the HTTP API and the dashboard's detail pane read them through `Store.location_states`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shiptrack_tui.core.messages import iso_utc


@dataclass(frozen=True, slots=True)
class LocationView:
    """One location's latest check of one monitor: `ok` is that check's verdict, `failures` the
    run of failed checks it ends (0 when ok), `node` the node that made it."""

    monitor: str
    location: str
    ok: bool
    failures: int
    reason: str | None
    checked_at: float
    node: str
    latency_ms: float | None = None


def location_json(view: LocationView) -> dict[str, Any]:
    """The `locations` item of `status --json` (docs/json.md)."""
    return {
        "location": view.location,
        "ok": view.ok,
        "failures": view.failures,
        "reason": view.reason,
        "checked_at": iso_utc(view.checked_at),
        "node": view.node,
        "latency_ms": None if view.latency_ms is None else round(view.latency_ms, 2),
    }


def in_order(views: Sequence[LocationView], configured: Sequence[str] = ()) -> tuple[LocationView, ...]:
    """The configured locations first, in their order; any others (no longer configured) after, by name."""
    rank = {location: index for index, location in enumerate(configured)}
    return tuple(sorted(views, key=lambda v: (rank.get(v.location, len(rank)), v.location)))


def in_config_order(found: Mapping[str, Sequence[LocationView]], configured: Mapping[str, Sequence[str]]
                    ) -> dict[str, tuple[LocationView, ...]]:
    """`in_order` for each monitor (`configured`: monitor -> its configured locations)."""
    return {monitor: in_order(views, configured.get(monitor, ())) for monitor, views in found.items()}
