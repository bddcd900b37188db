"""`/metrics` in the Prometheus text format (issue #13), built at scrape time by a custom collector
(prometheus-client's "Custom Collectors"): the check path pays nothing for it.

One label set per monitor (`monitor`), plus `outcome` on the check counter; nothing per check.
Stored figures come from the HTTP server's own store in one snapshot (storage/gauges.py); the
engine's own figures (checks by outcome since it started, start lateness, the storage writer)
from its vitals (core/vitals.py), copied without a lock.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from typing import Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
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
from shiptrack_tui.core.model import MonitorStatus, Severity
from shiptrack_tui.core.vitals import BucketCounts, EngineVitals
from shiptrack_tui.web.auth import require_read
from shiptrack_tui.web.context import WebContext

STATE_CODES: Final = {status.value: code for code, status in enumerate(MonitorStatus)}
"""unknown 0, up 1, degraded 2, pending 3, down 4, paused 5, maintenance 6 (docs/http.md)."""
_UP: Final = {"up": 1, "degraded": 1, "pending": 0, "down": 0}
_OUTCOMES: Final = ("up", "degraded", "down")

router = APIRouter(tags=["metrics"])


def _histogram(name: str, documentation: str, counts: BucketCounts) -> HistogramMetricFamily:
    buckets = [(floatToGoString(bound), count) for bound, count in counts.cumulative()]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=counts.total)


class ShipTrackCollector(Collector):
    """Everything ShipTrack exposes, read when Prometheus asks."""

    def __init__(self, ctx: WebContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily("shiptrack_build", "The running ShipTrack and Python",
                               value={"version": __version__, "python": platform.python_version()})
        yield from self._stored()
        if self._ctx.vitals is not None:
            yield from self._engine(self._ctx.vitals(True))

    def _stored(self) -> Iterator[Metric]:
        gauges = self._ctx.store.gauges()
        up = GaugeMetricFamily("shiptrack_monitor_up", "1 while the monitor's checks pass (up or degraded), "
                               "0 while they fail (pending or down); absent when unknown, paused or in "
                               "maintenance", labels=["monitor"])
        state = GaugeMetricFamily("shiptrack_monitor_state", "The monitor's state: 0 unknown, 1 up, "
                                  "2 degraded, 3 pending, 4 down, 5 paused, 6 maintenance",
                                  labels=["monitor"])
        latency = GaugeMetricFamily("shiptrack_monitor_latency_seconds", "The last check's latency",
                                    labels=["monitor"])
        checked = GaugeMetricFamily("shiptrack_monitor_last_check_timestamp_seconds",
                                    "When the monitor was last checked (Unix time)", labels=["monitor"])
        cert = GaugeMetricFamily("shiptrack_monitor_certificate_days_left", "Days until the TLS "
                                 "certificate expires, as of the last check (HTTPS monitors only)",
                                 labels=["monitor"])
        for name, status, paused, last_latency_ms, cert_days, last_check_at in gauges.monitors:
            status = "paused" if paused else status
            labels = [name]
            state.add_metric(labels, STATE_CODES.get(status, 0))
            if status in _UP:
                up.add_metric(labels, _UP[status])
            if last_latency_ms is not None:
                latency.add_metric(labels, last_latency_ms / 1000)
            if last_check_at is not None:
                checked.add_metric(labels, last_check_at)
            if cert_days is not None:
                cert.add_metric(labels, cert_days)
        yield from (up, state, latency, checked, cert)
        yield GaugeMetricFamily("shiptrack_monitors", "Monitors configured", value=len(gauges.monitors))
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

    def _engine(self, vitals: EngineVitals) -> Iterator[Metric]:
        checks = CounterMetricFamily("shiptrack_monitor_checks", "Checks by outcome since the engine "
                                     "started", labels=["monitor", "outcome"])
        for name, counts in vitals.outcomes.items():
            for outcome, count in zip(_OUTCOMES, counts, strict=True):
                if count:
                    checks.add_metric([name, outcome], count)
        yield checks
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
        yield CounterMetricFamily("shiptrack_storage_dropped_checks", "Check results shed while storage "
                                  "was stalled", value=storage.dropped_checks)
        if storage.batch_writes is not None:
            yield _histogram("shiptrack_storage_batch_writes", "Writes committed per storage transaction",
                             storage.batch_writes)
        if storage.commit_seconds is not None:
            yield _histogram("shiptrack_storage_commit_seconds", "Seconds per storage transaction, "
                             "retries included", storage.commit_seconds)


def metrics_registry(ctx: WebContext) -> CollectorRegistry:
    """A registry of our own (never the global one): ShipTrack's figures plus process and Python."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShipTrackCollector(ctx))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


@router.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require_read)],
            response_class=Response)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
