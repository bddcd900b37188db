"""The services strip and the service filter: each service's derived status, live, and the monitors
(and their incidents) of one service at a time.

`f` / `F` step through the services (then every monitor again), a click on a service picks it,
the palette's "go to service …" too; esc (or the strip's "esc: all monitors") shows every monitor.
The monitors pane's title names the service while it filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual import on

from shiptrack_tui.core.model import MonitorSummary
from shiptrack_tui.core.services import ServiceIndex
from shiptrack_tui.tui.data import Overview
from shiptrack_tui.tui.formatting import matches_filter
from shiptrack_tui.tui.screens.pane_navigation import PANE_TITLES, PaneNavigation
from shiptrack_tui.tui.services_live import ServiceBoard, ServiceView
from shiptrack_tui.tui.store_access import StoreGateway
from shiptrack_tui.tui.widgets.monitor_table import MonitorTable
from shiptrack_tui.tui.widgets.services_strip import ServicesStrip


class ServiceFilter(PaneNavigation):
    """The dashboard's services; `Dashboard` feeds `follow_services` each overview it shows."""

    def __init__(self, gateway: StoreGateway, config_path: Path | None,
                 services: ServiceIndex | None = None) -> None:
        super().__init__(gateway, config_path)
        self._board = ServiceBoard(services)
        self.service: str | None = None
        """The service whose monitors the list shows (None: every monitor)."""
        self._followed: tuple[Overview, Mapping[str, MonitorSummary]] | None = None

    def follow_services(self, overview: Overview, by_name: Mapping[str, MonitorSummary]) -> None:
        """Derive the services touched by this overview (see services_live.py) and show them."""
        self._followed = (overview, by_name)
        self.query_one(ServicesStrip).services = self._board.follow(overview, by_name)

    def use_services(self, index: ServiceIndex) -> None:
        """A config (re)loaded: its services replace the strip's; a filter follows its service."""
        if not self._board.use(index):
            return
        if self._followed is not None:
            self.follow_services(*self._followed)
        else:
            self.query_one(ServicesStrip).services = ()
        self.filter_service(self.service if self.service in index.members else None)

    def service_views(self) -> tuple[ServiceView, ...]:
        return self.query_one(ServicesStrip).services

    def shows_monitor(self, name: str, text: str) -> bool:
        """Whether the list shows this monitor (its incidents show with it)."""
        table = self.query_one(MonitorTable)
        if table.members is not None and name not in table.members:
            return False
        summary = self._by_name.get(name)
        return matches_filter(summary, text) if summary is not None else text.strip().lower() in name.lower()

    def filter_service(self, name: str | None) -> None:
        """Show only the monitors of service `name` (None: every monitor)."""
        members = self._board.index.members.get(name) if name is not None else None
        if members is None:
            name = None
        self.service = name
        self.query_one(ServicesStrip).selected = name
        self.query_one(MonitorTable).restrict(frozenset(members) if members is not None else None)
        pane = self.query_one("#monitors-pane")
        pane.border_title = PANE_TITLES["monitors"] if name is None else f"{PANE_TITLES['monitors']} · {name}"
        pane.border_subtitle = None if name is None else "esc: all monitors"
        self.show_incidents()

    def clear_service(self) -> bool:
        if self.service is None:
            return False
        self.filter_service(None)
        return True

    def action_next_service(self, step: int) -> None:
        names = tuple(self._board.index.members)
        if not names:
            self.notify("No services are configured: add [[service]] tables to the config file.",
                        severity="warning")
            return
        stops = [None, *names]
        at = stops.index(self.service) if self.service in stops else 0
        self.filter_service(stops[(at + step) % len(stops)])
        self.active_pane = "monitors"

    @on(ServicesStrip.Picked)
    def _service_picked(self, message: ServicesStrip.Picked) -> None:
        self.filter_service(message.service)
        self.active_pane = "monitors"
