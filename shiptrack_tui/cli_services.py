"""`shiptrack services [--json]`: each configured service with its derived status (DESIGN §10).

The status is derived here from the stored monitor states and open incidents, never stored.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shiptrack_tui.core.model import Incident, MonitorStatus, MonitorSummary
from shiptrack_tui.core.services import ServiceIndex, ServiceSpec, derive_status
from shiptrack_tui.report import iso

if TYPE_CHECKING:
    from shiptrack_tui.config.settings import Config
    from shiptrack_tui.store_target import StoreTarget


def memberships(services: Sequence[ServiceSpec],
                tags: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Each service's members by name; `tags` maps every configured monitor to its tags."""
    return dict(ServiceIndex(services, tags).members)


def services_of(members: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Monitor name → the services it belongs to, in config order (for `status --json`).

    Kept for callers holding a members map; with a config, `config_index(config).by_monitor`
    answers the same without building it again."""
    found: dict[str, list[str]] = {}
    for service, monitors in members.items():
        for monitor in monitors:
            found.setdefault(monitor, []).append(service)
    return found


def services_json(services: Sequence[ServiceSpec], members: Mapping[str, Sequence[str]],
                  summaries: Sequence[MonitorSummary],
                  open_incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    states = {s.name: s.state.status for s in summaries}
    by_monitor = {i.monitor: i for i in open_incidents}  # at most one open incident per monitor
    severities = {name: i.severity for name, i in by_monitor.items()}
    rows = []
    for service in services:
        names = members[service.name]
        rows.append({
            "name": service.name,
            "description": service.description,
            "status": str(derive_status(names, states, severities)),
            "monitors": [{"name": name, "state": str(states.get(name, MonitorStatus.UNKNOWN))}
                         for name in names],
            "open_incidents": [
                {"id": i.id, "monitor": i.monitor, "severity": str(i.severity), "state": str(i.state),
                 "opened_at": iso(i.opened_at)}
                for name in names if (i := by_monitor.get(name)) is not None
            ],
        })
    return rows


def services_table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "no services configured; add [[service]] tables to the config (docs/config.md)"
    table = [("STATUS", "SERVICE", "MONITORS", "OPEN INCIDENTS")]
    for row in rows:
        monitors = ", ".join(f"{m['name']} {m['state']}" for m in row["monitors"])
        incidents = ", ".join(f"#{i['id']} {i['monitor']} ({i['severity']})" for i in row["open_incidents"])
        table.append((row["status"], row["name"], monitors, incidents))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table)


def config_index(config: Config | None) -> ServiceIndex:
    """The config's services indexed once (an empty index without a config)."""
    if config is None:
        return ServiceIndex((), {})
    return ServiceIndex.of(config.services, config.monitors)


def config_memberships(config: Config | None) -> tuple[tuple[ServiceSpec, ...], dict[str, tuple[str, ...]]]:
    if config is None:
        return (), {}
    return config.services, dict(config_index(config).members)


def services_config(args: argparse.Namespace, db: StoreTarget, config: Config | None) -> Config | None:
    """`config`, or, with no config file while reading the demo's own database (`shiptrack --demo
    --daemon` in another shell), the demo's monitors and services: they live in no file."""
    from shiptrack_tui.cli_common import demo_db
    from shiptrack_tui.store_target import explicit

    if config is not None or explicit(args.db) or db != demo_db(args):
        return config
    from shiptrack_tui.config import Config
    from shiptrack_tui.demo import DEFAULT_PORT, demo_monitor_specs, demo_service_specs

    monitors = tuple(demo_monitor_specs(f"http://127.0.0.1:{DEFAULT_PORT}"))  # only names and tags matter
    return Config(path=Path("<demo>"), monitors=monitors, services=demo_service_specs())


def cmd_services(args: argparse.Namespace) -> int:
    from shiptrack_tui.cli_common import EXIT_OK, config_path, db_for_reading, load_args_config, open_store

    # Services live in the config: a broken one is an error here even with --db.
    config = load_args_config(args, check_urls=False) if config_path(args).exists() else None
    db = db_for_reading(args)
    config = services_config(args, db, config)
    index = config_index(config)
    services = config.services if config is not None else ()
    store = open_store(db)
    try:
        summaries = store.monitor_summaries(time.time())
        open_incidents = store.incidents(open_only=True)
    finally:
        store.close()
    rows = services_json(services, index.members, summaries, open_incidents)
    print(json.dumps(rows, indent=2) if args.json else services_table(rows))
    return EXIT_OK
