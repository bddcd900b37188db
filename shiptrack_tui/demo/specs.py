"""The monitors `shiptrack --demo` watches, for whichever port the demo targets got."""

from __future__ import annotations

import json
import os

from shiptrack_tui.config.http import TOKEN_ENV
from shiptrack_tui.config.settings import HttpSettings
from shiptrack_tui.core.model import DEFAULT_SEVERITY, MonitorSpec, Severity
from shiptrack_tui.core.services import ServiceSpec

__all__ = ["demo_config_text", "demo_http", "demo_monitor_specs", "demo_service_specs"]


def demo_http() -> HttpSettings:
    """The demo serves HTTP on a free loopback port with public reads (its data is made up);
    writes take the token from SHIPTRACK_HTTP_TOKEN when one is set, else they are refused."""
    token = (os.environ.get(TOKEN_ENV) or "").strip() or None
    return HttpSettings(host="127.0.0.1", port=0, token=token, token_source=TOKEN_ENV if token else None,
                        public_api=True)


def demo_monitor_specs(base_url: str) -> list[MonitorSpec]:
    """Five monitors on the demo targets at `base_url` (e.g. ``http://127.0.0.1:8787``).

    Intervals are short so that within two minutes the dashboard shows a degraded check (/slow),
    the odd incident (/flaky) and an outage that opens and resolves (/outage). Severities differ so
    the services (`demo_service_specs`) show each status: /outage is critical, /flaky low.
    """
    base = base_url.rstrip("/")
    tcp = "tcp://" + base.partition("://")[2]
    return [
        MonitorSpec(name="steady", url=f"{base}/steady", interval=2.0, timeout=1.0,
                    body_contains="ok", tags=("demo", "api")),
        MonitorSpec(name="slow", url=f"{base}/slow", interval=5.0, timeout=2.0,
                    degraded_after=1.0, tags=("demo", "web"), severity=Severity.MEDIUM),
        MonitorSpec(name="flaky", url=f"{base}/flaky", interval=3.0, timeout=1.0,
                    tags=("demo", "api"), severity=Severity.LOW),
        MonitorSpec(name="outage", url=f"{base}/outage", interval=5.0, timeout=1.0,
                    tags=("demo", "web"), severity=Severity.CRITICAL),
        MonitorSpec(name="tcp", url=tcp, interval=5.0, timeout=1.0, tags=("demo", "tcp")),
    ]


def demo_service_specs() -> tuple[ServiceSpec, ...]:
    """Three services over the demo monitors: within two minutes one goes `outage` (/outage is
    critical), one `degraded` (a /slow check, or a low /flaky incident) and back."""
    return (
        ServiceSpec(name="Checkout", description="Cart and payment API", monitors=("steady", "outage")),
        ServiceSpec(name="Website", description="Pages and assets", tags=("web",)),
        ServiceSpec(name="Search", description="Search API and its index", monitors=("flaky", "tcp")),
    )


def _duration(seconds: float) -> str:
    return f"{seconds:g}s" if seconds >= 1 and seconds == int(seconds) else f"{round(seconds * 1000)}ms"


def demo_config_text(base_url: str) -> str:
    """A config file (TOML, DESIGN §5) holding exactly `demo_monitor_specs(base_url)`."""
    out = [
        "# ShipTrack demo: built-in loopback targets (python -m shiptrack_tui.demo).",
        "[defaults]",
        'failure_threshold = 3',
        'recovery_threshold = 2',
    ]
    for spec in demo_monitor_specs(base_url):
        out += ["", "[[monitor]]", f"name = {json.dumps(spec.name)}", f"url = {json.dumps(spec.url)}",
                f'interval = "{_duration(spec.interval)}"', f'timeout = "{_duration(spec.timeout)}"']
        if spec.failure_threshold != 3:
            out.append(f"failure_threshold = {spec.failure_threshold}")
        if spec.recovery_threshold != 2:
            out.append(f"recovery_threshold = {spec.recovery_threshold}")
        if spec.degraded_after is not None:
            out.append(f'degraded_after = "{_duration(spec.degraded_after)}"')
        if spec.body_contains is not None:
            out.append(f"body_contains = {json.dumps(spec.body_contains)}")
        out.append(f"tags = [{', '.join(json.dumps(t) for t in spec.tags)}]")
        if spec.severity is not DEFAULT_SEVERITY:
            out.append(f'severity = "{spec.severity}"')
    for service in demo_service_specs():
        out += ["", "[[service]]", f"name = {json.dumps(service.name)}",
                f"description = {json.dumps(service.description)}"]
        if service.monitors:
            out.append(f"monitors = [{', '.join(json.dumps(m) for m in service.monitors)}]")
        if service.tags:
            out.append(f"tags = [{', '.join(json.dumps(t) for t in service.tags)}]")
    return "\n".join(out) + "\n"
