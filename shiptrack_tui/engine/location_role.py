"""The engine's part in multi-location monitors (DESIGN §12); mixed into `Engine`.

In a cluster, a node runs `LocationChecks` (engine/locations.py) for the location keys it holds,
and, as the owner of a multi-location monitor, folds the locations' states instead of probing it.
Without a cluster link every monitor is probed here, locations or not (config/warnings.py says so).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shiptrack_tui.core.evaluation import evaluate
from shiptrack_tui.core.model import CheckResult, MonitorSpec, Observation, Policy
from shiptrack_tui.engine.locations import LocationChecks, is_multi_location, owner_result, policy
from shiptrack_tui.probes import ClientPool, probe

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.core.cluster import LeaseKey
    from shiptrack_tui.engine.membership import ClusterLink
    from shiptrack_tui.storage.locations import PgLocationBook

log = logging.getLogger("shiptrack.engine")
FOLD_LOG_EVERY = 30.0


class LocationRole:
    """Probing, or folding, one monitor's check; and the location checkers of a cluster node."""

    config: Config
    clock: Callable[[], float]
    monotonic: Callable[[], float]
    _link: ClusterLink | None
    _pool: ClientPool | None
    _slots: asyncio.Semaphore | None
    _held: dict[LeaseKey, int]
    _leases_trusted: Callable[[], bool]
    _maintenance_for: Callable[[MonitorSpec, float], bool]

    _locations: LocationChecks | None = None
    _location_book: PgLocationBook | None = None
    _fold_failed_at = -FOLD_LOG_EVERY

    def _start_locations(self, helpers: list[asyncio.Task[None]]) -> None:
        """On a cluster node: the location checkers, following the leases the membership loop holds."""
        link = self._link
        if link is None:
            return
        from shiptrack_tui.storage.locations import PgLocationBook

        self._location_book = PgLocationBook(link.connect)
        self._locations = LocationChecks(self._location_book, link.node, self._probe_here, clock=self.clock,
                                         monotonic=self.monotonic,
                                         source=self._locations_source)
        helpers.append(asyncio.create_task(self._locations.run(), name="locations"))

    def _locations_source(self) -> tuple[Config, dict[LeaseKey, int]]:
        """The config and the leases held now (the engine's own dict, not a copy: read on its loop)."""
        return self.config, (self._held if self._leases_trusted() else {})

    async def _probe_here(self, spec: MonitorSpec) -> Observation:
        """A location check: the same slots and HTTP clients as the engine's own checks."""
        assert self._slots is not None and self._pool is not None
        async with self._slots:
            return await probe(spec, self._pool, self.clock)

    async def _check_result(self, spec: MonitorSpec) -> tuple[CheckResult | None, Policy]:
        """The result of one scheduled check of a monitor this node owns, and the thresholds it
        goes through: a probe from here, or, for a multi-location monitor, its locations' fold
        (None when no location has a recent state, or the database cannot say)."""
        book = self._location_book
        if book is not None and is_multi_location(spec):
            now = self.clock()
            try:
                result = await owner_result(book, spec, now, self._maintenance_for(spec, now))
            except Exception as exc:
                if time.monotonic() - self._fold_failed_at >= FOLD_LOG_EVERY:
                    self._fold_failed_at = time.monotonic()
                    log.warning("cannot read the locations of %s (%s): no result until it can",
                                spec.name, exc)
                result = None
            return result, policy(spec)
        assert self._pool is not None
        observation = await probe(spec, self._pool, self.clock)
        maintenance = self._maintenance_for(spec, observation.at)
        return evaluate(spec, observation, in_maintenance=maintenance), Policy.of(spec)
