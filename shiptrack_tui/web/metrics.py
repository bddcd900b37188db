"""`/metrics` in the Prometheus text format (issue #13), built at scrape time by a custom collector
(prometheus-client's "Custom Collectors"): the check path pays nothing for it.

One label set per monitor (`monitor`), plus `outcome` on the check counter; nothing per check.
Stored figures come from the HTTP server's own store in one snapshot (storage/gauges.py); the
engine's own figures (checks by outcome since it started, start lateness, the storage writer)
from its vitals (core/vitals.py), copied without a lock.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Iterator
from typing import Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from shiptrack_tui import __version__
from shiptrack_tui.core.cluster_view import DEFAULT_LEASE, skewed_nodes
from shiptrack_tui.core.model import MonitorStatus, Severity
from shiptrack_tui.core.vitals import BucketCounts, EngineVitals
from shiptrack_tui.storage.gauges import StoreGauges
from shiptrack_tui.storage.outage import is_transient
from shiptrack_tui.web.auth import require_read
from shiptrack_tui.web.context import Ctx, WebContext
from shiptrack_tui.web.exposition import Family, render
from shiptrack_tui.web.shapes import json_problems

log = logging.getLogger("shiptrack.http")

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, what `generate_latest` (and exposition.render) write."""
STATE_CODES: Final = {status.value: code for code, status in enumerate(MonitorStatus)}
"""unknown 0, up 1, degraded 2, pending 3, down 4, paused 5, maintenance 6 (docs/http.md)."""
_UP: Final = {"up": 1, "degraded": 1, "pending": 0, "down": 0}
_OUTCOMES: Final = ("up", "degraded", "down")

router = APIRouter(tags=["metrics"])


def _histogram(name: str, documentation: str, counts: BucketCounts) -> HistogramMetricFamily:
    buckets = [(floatToGoString(bound), count) for bound, count in counts.cumulative()]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=counts.total)


class ShipTrackCollector(Collector):
    """Everything ShipTrack exposes, read when Prometheus asks. The per-monitor families come from
    `monitor_families()` (rendered by exposition.py); `collect()` yields the rest, and all of them
    when asked for everything (`everything=True`, for tools that want prometheus-client objects)."""

    def __init__(self, ctx: WebContext, everything: bool = False) -> None:
        self._ctx = ctx
        self._everything = everything

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("shiptrack_build", "The running ShipTrack and Python",
                               value={"version": __version__, "python": platform.python_version()})
        if self._everything:
            yield from (family.metric() for family in self.monitor_families())
        yield from self._stored()
        yield from self._cluster()
        governor = self._ctx.governor
        yield CounterMetricFamily("shiptrack_http_requests_held", "HTTP requests held back while the "
                                  "engine's loop lagged or the server was over its CPU budget",
                                  value=governor.held)
        yield CounterMetricFamily("shiptrack_http_held_seconds", "Seconds HTTP requests spent held back",
                                  value=governor.held_seconds)
        if self._ctx.vitals is not None:
            yield from self._engine(self._ctx.vitals(False))

    def _gauges(self, monitors: bool) -> StoreGauges | None:
        """The stored figures; None while the database is away or busy: the engine's own figures
        (`shiptrack_storage_unreachable` among them) are still worth a scrape."""
        try:
            return self._ctx.store.gauges(monitors=monitors)
        except Exception as error:
            if not is_transient(error):
                raise
            log.debug("/metrics without the stored figures: %s", error)
            return None

    def monitor_families(self) -> list[Family]:
        """One sample per monitor (and per outcome for the check counter), read in one snapshot."""
        gauges = self._gauges(True)
        if gauges is None:
            return []
        up = Family("shiptrack_monitor_up", "1 while the monitor's checks pass (up or degraded), 0 while "
                    "they fail (pending or down); absent when unknown, paused or in maintenance", "gauge",
                    ("monitor",))
        state = Family("shiptrack_monitor_state", "The monitor's state: 0 unknown, 1 up, 2 degraded, "
                       "3 pending, 4 down, 5 paused, 6 maintenance", "gauge", ("monitor",))
        latency = Family("shiptrack_monitor_latency_seconds", "The last check's latency", "gauge",
                         ("monitor",))
        cert = Family("shiptrack_monitor_certificate_days_left", "Days until the TLS certificate "
                      "expires, as of the last check (HTTPS monitors only)", "gauge", ("monitor",))
        for name, status, paused, last_latency_ms, cert_days, _checked_at in gauges.monitors:
            status = "paused" if paused else status
            labels = (name,)
            state.rows.append((labels, STATE_CODES.get(status, 0)))
            if status in _UP:
                up.rows.append((labels, _UP[status]))
            if last_latency_ms is not None:
                latency.rows.append((labels, last_latency_ms / 1000))
            if cert_days is not None:
                cert.rows.append((labels, cert_days))
        families = [up, state, latency, cert]
        if self._ctx.vitals is not None:
            checks = Family("shiptrack_monitor_checks", "Checks by outcome since the engine started",
                            "counter", ("monitor", "outcome"))
            known = {row[0] for row in gauges.monitors}
            for name, counts in self._ctx.vitals(True).outcomes.items():
                if name in known:
                    for outcome, count in zip(_OUTCOMES, counts, strict=True):
                        if count:
                            checks.rows.append(((name, outcome), count))
            families.append(checks)
        return families

    def _stored(self) -> Iterator[Metric]:
        gauges = self._gauges(False)
        if gauges is None:
            return
        yield GaugeMetricFamily("shiptrack_monitors", "Monitors configured", value=gauges.monitor_count)
        incidents = GaugeMetricFamily("shiptrack_incidents_open", "Open or acknowledged incidents by "
                                      "severity", labels=["severity"])
        for severity in Severity:
            incidents.add_metric([severity.value], gauges.open_incidents.get(severity.value, 0))
        yield incidents
        yield GaugeMetricFamily("shiptrack_outbox_pending", "Notifications not delivered yet",
                                value=gauges.outbox_pending)
        yield GaugeMetricFamily("shiptrack_outbox_retrying", "Notifications not delivered yet whose "
                                "earlier attempts failed", value=gauges.outbox_retrying)
        yield GaugeMetricFamily("shiptrack_outbox_failed", "Notifications given up on (failed "
                                "deliveries), as long as retention keeps them", value=gauges.outbox_failed)

    def _cluster(self) -> Iterator[Metric]:
        """The nodes sharing a PostgreSQL database (no samples on SQLite)."""
        settings = self._ctx.config().cluster
        try:
            nodes = self._ctx.store.cluster_nodes(settings.lease if settings is not None else DEFAULT_LEASE)
        except Exception as error:
            if not is_transient(error):
                raise
            log.debug("/metrics without the cluster's nodes: %s", error)  # the database is away
            return
        skewed = skewed_nodes(nodes)
        up = GaugeMetricFamily("shiptrack_cluster_node_up", "1 while the cluster node's heartbeat is "
                               "within the lease, else 0", labels=["node", "location"])
        owned = GaugeMetricFamily("shiptrack_cluster_node_monitors_owned", "Monitors the cluster node "
                                  "owns now", labels=["node"])
        skew = GaugeMetricFamily("shiptrack_cluster_node_config_skew", "1 when the live node's config "
                                 "differs from the cluster's, else 0", labels=["node"])
        for node in nodes:
            up.add_metric([node.name, node.location], 1 if node.alive else 0)
            owned.add_metric([node.name], node.monitors_owned)
            skew.add_metric([node.name], 1 if node.name in skewed else 0)
        yield from (up, owned, skew)

    def _engine(self, vitals: EngineVitals) -> Iterator[Metric]:
        yield CounterMetricFamily("shiptrack_checks", "Checks since the engine started", value=vitals.checks)
        yield GaugeMetricFamily("shiptrack_scheduler_age_seconds", "Seconds since the engine's scheduling "
                                "loop last ran", value=vitals.tick_age)
        if vitals.lateness is not None:
            yield _histogram("shiptrack_schedule_lateness_seconds", "How late checks started after their "
                             "slot", vitals.lateness)
        storage = vitals.storage
        yield GaugeMetricFamily("shiptrack_storage_queue_writes", "Writes waiting for the storage writer",
                                value=storage.queued)
        yield GaugeMetricFamily("shiptrack_storage_stalled_seconds", "How long writes have not reached "
                                "the database (0 while they do)", value=storage.stalled_seconds or 0.0)
        yield GaugeMetricFamily("shiptrack_storage_unreachable", "1 while the database server cannot be "
                                "reached (a PostgreSQL restart or failover), else 0",
                                value=int(storage.unreachable))
        yield CounterMetricFamily("shiptrack_storage_dropped_checks", "Check results shed while storage "
                                  "was stalled", value=storage.dropped_checks)
        if storage.batch_writes is not None:
            yield _histogram("shiptrack_storage_batch_writes", "Writes committed per storage transaction",
                             storage.batch_writes)
        if storage.commit_seconds is not None:
            yield _histogram("shiptrack_storage_commit_seconds", "Seconds per storage transaction, "
                             "retries included", storage.commit_seconds)


class Scrape:
    """What `/metrics` answers: the per-monitor families (fast renderer), then the registry
    (ShipTrack's other figures, the process and Python) through `generate_latest`."""

    def __init__(self, ctx: WebContext) -> None:
        self.collector = ShipTrackCollector(ctx)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)

    def text(self) -> bytes:
        return render(self.collector.monitor_families()).encode() + generate_latest(self.registry)


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require_read)],
            response_class=PlainTextResponse, responses=json_problems(401, 403))
async def metrics(request: Request, ctx: Ctx) -> Response:
    scrape: Scrape = request.app.state.metrics
    return Response(await ctx.renders.get("metrics", scrape.text), media_type=CONTENT_TYPE)
