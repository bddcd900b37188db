"""`[status_page]`: what the public status page at `/` and the badges may show (issue #13).

Only what is listed here is public: the services in `services` with their member monitors, and
the monitors in `monitors`. Everything else (other monitors, targets, tags, errors unless
`show_errors`) never leaves the process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.values import Bad, as_str, as_str_list, kind, show
from shiptrack_tui.core.model import MonitorSpec
from shiptrack_tui.core.services import ServiceSpec

STATUS_PAGE_KEYS: Final = ("title", "description", "services", "monitors", "show_errors")
DEFAULT_TITLE: Final = "Status"


@dataclass(frozen=True, slots=True)
class StatusPageSettings:
    """`[status_page]`, validated: every name in `services` and `monitors` is configured."""

    title: str = DEFAULT_TITLE
    description: str = ""
    services: tuple[str, ...] = ()
    monitors: tuple[str, ...] = ()
    show_errors: bool = False

    def public_monitors(self, services: Sequence[ServiceSpec],
                        tags: Mapping[str, Sequence[str]]) -> frozenset[str]:
        """The monitors the page and the badges may show: listed ones and members of listed services.

        `services` are the configured services, `tags` maps every configured monitor to its tags.
        """
        found = set(self.monitors)
        for service in services:
            if service.name in self.services:
                found.update(service.members(tags))
        return frozenset(found)


def _as_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"{show(value)} must be true or false, not {kind(value)}")
    return value


def read_status_page(ck: Checker, raw: object, monitors: Sequence[MonitorSpec],
                     services: Sequence[ServiceSpec]) -> StatusPageSettings | None:
    """The `[status_page]` table, or None when the file has none (then nothing is public)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        ck.report(("status_page",), f"status_page must be a table written [status_page], not {kind(raw)}")
        return None
    table: dict[str, Any] = raw
    scope = Scope("[status_page]", ("status_page",))
    ck.known_keys(scope, table, STATUS_PAGE_KEYS)
    title = ck.read(scope, table, "title", lambda v: as_str(v, '"Example Inc. status"'))
    description = ck.read(scope, table, "description",
                          lambda v: as_str(v, '"Live status of our public services"', nonempty=False))
    listed_services = ck.read(scope, table, "services", lambda v: as_str_list(v, '["checkout", "api"]')) or ()
    listed_monitors = ck.read(scope, table, "monitors", lambda v: as_str_list(v, '["api", "website"]')) or ()
    show_errors = ck.read(scope, table, "show_errors", _as_bool)
    _check_names(ck, scope, "services", listed_services, {s.name for s in services}, "[[service]]")
    _check_names(ck, scope, "monitors", listed_monitors, {m.name for m in monitors}, "[[monitor]]")
    if not listed_services and not listed_monitors and not scope.invalid & {"services", "monitors"}:
        ck.report(scope.path, "[status_page] makes nothing public; add services = [\"...\"] and/or "
                              "monitors = [\"...\"] naming what the page may show")
    return StatusPageSettings(
        title=title or DEFAULT_TITLE, description=(description or "").strip(),
        services=tuple(dict.fromkeys(listed_services)), monitors=tuple(dict.fromkeys(listed_monitors)),
        show_errors=bool(show_errors),
    )


def _check_names(ck: Checker, scope: Scope, key: str, names: Sequence[str], known: set[str],
                 table: str) -> None:
    for position, name in enumerate(names):
        if name not in known:
            noun = "service" if key == "services" else "monitor"
            ck.report((*scope.path, key, position),
                      f"{scope.subject(key)} names {show(name)}, which is not a configured {noun}; "
                      f"expected one of the {table} names")
