"""`[[service]]` tables: named groups of monitors, by name and/or tag (DESIGN §10)."""

from __future__ import annotations

from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.monitors import as_name
from shiptrack_tui.config.values import as_str, as_str_list, kind, show
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.services import ServiceSpec

SERVICE_KEYS: Final = ("name", "description", "monitors", "tags")


def read_services(ck: Checker, raw: object, monitors: list[MonitorSpec]) -> tuple[ServiceSpec, ...]:
    """Every `[[service]]`, each naming only configured monitors and tags some monitor carries."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        ck.report(("service",), "service must be written as [[service]] tables (double brackets), "
                                f"not {kind(raw)}")
        return ()
    names = {spec.name for spec in monitors}
    tags = {tag for spec in monitors for tag in spec.tags}
    first: dict[str, int] = {}
    services = []
    for index, table in enumerate(raw):
        service = _read_one(ck, index, table, names, tags, first)
        if service is not None:
            services.append(service)
    return tuple(services)


def _read_one(ck: Checker, index: int, table: dict[str, Any], names: set[str], tags: set[str],
              first: dict[str, int]) -> ServiceSpec | None:
    scope = Scope(f"[[service]] #{index + 1}", ("service", index))
    name = ck.read(scope, table, "name", as_name)
    if name is not None:
        scope.label = f'service "{name}"'
        if name in first:
            line = ck.source.line(("service", first[name], "name"))
            ck.report((*scope.path, "name"), f"{scope.label} is defined twice (first at line {line}); "
                                             "service names must be unique")
        else:
            first[name] = index
    elif "name" not in table:
        ck.report(scope.path, f'{scope.label} has no name; add name = "..."')
    ck.known_keys(scope, table, SERVICE_KEYS)
    description = ck.read(scope, table, "description", lambda v: as_str(v, '"Cart and payment"',
                                                                        nonempty=False))
    members = ck.read(scope, table, "monitors", lambda v: as_str_list(v, '["api", "payments"]')) or ()
    wanted = ck.read(scope, table, "tags", lambda v: as_str_list(v, '["checkout"]')) or ()
    for position, monitor in enumerate(members):
        if monitor not in names:
            ck.report((*scope.path, "monitors", position),
                      f"{scope.subject('monitors')} names {show(monitor)}, which is not a configured "
                      "monitor; expected one of the [[monitor]] names")
    for position, tag in enumerate(wanted):
        if tag not in tags:
            ck.report((*scope.path, "tags", position),
                      f"{scope.subject('tags')} names {show(tag)}, which no monitor carries; add it to a "
                      "monitor's tags or remove it")
    if "monitors" not in table and "tags" not in table:
        ck.report(scope.path, f'{scope.label} has no members; add monitors = ["..."] and/or tags = ["..."]')
    if name is None:
        return None
    return ServiceSpec(name=name, description=description or "", monitors=members, tags=wanted)
