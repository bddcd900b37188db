"""ShipTrackApp: wiring only — the store gateway, the engine's start and stop, the screens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from shiptrack_tui.config import Config
from shiptrack_tui.core.services import ServiceIndex
from shiptrack_tui.store_target import StoreTarget
from shiptrack_tui.tui.bindings import DASHBOARD_KEYS, palette_entries
from shiptrack_tui.tui.daemon_watch import DaemonWatch, attached_mode
from shiptrack_tui.tui.engine_handle import EngineHandle
from shiptrack_tui.tui.idle_gc import IdleCollector
from shiptrack_tui.tui.messages import ActionWritten, ConfigSaved, DataChanged, ViewChanged
from shiptrack_tui.tui.screens.config_error import ConfigErrorScreen
from shiptrack_tui.tui.screens.dashboard import Dashboard
from shiptrack_tui.tui.scrollbars import install as install_scrollbars
from shiptrack_tui.tui.store_access import StoreGateway
from shiptrack_tui.tui.view_state import load_view_state, save_view_state

CLUSTER_MODE = "attached to cluster"
"""The header's mode for a dashboard viewing a cluster's PostgreSQL database without an engine."""


class ShipTrackApp(App[None]):
    """The dashboard. Reads the database through its own store; runs or attaches to an engine."""

    TITLE = "ShipTrack"
    CSS_PATH = "app.tcss"
    BINDING_GROUP_TITLE = "App"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        store_path: Path | StoreTarget,
        *,
        engine: EngineHandle | None = None,
        attached_pid: int | None = None,
        config_error: str | None = None,
        config_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        services: ServiceIndex | None = None,
        web_url: str | None = None,
        config: Config | None = None,
        viewer_mode: str | None = None,
    ) -> None:
        super().__init__()
        install_scrollbars()
        self.store_path = store_path
        self.engine = engine
        self.attached_pid = attached_pid
        self.config_error = config_error
        self.config_path = config_path
        """The config file the dashboard edits; None (the demo) disables editing."""
        self.clock = clock
        self.services = services or ServiceIndex((), {})
        """The config's services (tui/services_live.py `index_of`); an edited config file replaces them."""
        self.config = config
        """The config this dashboard started with (its services and display zone for postmortems)."""
        self.web_url = web_url
        """Where this process serves HTTP (`[http]`, the demo), shown in the header."""
        self.viewer_mode = viewer_mode
        """What the header says of a dashboard without an engine (default "viewer (no engine)")."""
        self.gateway = StoreGateway(store_path)
        self.collector = IdleCollector()
        self.view = load_view_state()
        """Theme, chart window and grouping as the operator left them (kept in the state dir)."""
        self._engine_started = False

    @property
    def push_base(self) -> str:
        """Where push monitors' pings go, for the detail pane: this process's server, else the
        config's `[http] listen` (a daemon's); "" when neither is known."""
        if self.web_url is not None:
            return self.web_url
        http = self.config.http if self.config is not None else None
        return f"http://{http.listen}" if http is not None and http.enabled else ""

    @property
    def mode(self) -> str:
        if self.attached_pid is not None:
            return attached_mode(self.attached_pid)
        if self.engine is None:
            return self.viewer_mode or "viewer (no engine)"
        return "engine running" if self.web_url is None else f"engine running · {self.web_url}"

    def on_mount(self) -> None:
        if self.view.theme in self.available_themes:
            self.theme = self.view.theme
        self.theme_changed_signal.subscribe(self, lambda theme: self._keep_view(theme=theme.name))
        self.collector.start()
        self.set_interval(1.0, self.collector.tick, name="idle-gc")
        if self.config_error is not None:
            self.push_screen(ConfigErrorScreen(self.config_error))
            return
        if self.engine is not None:
            self.engine.add_listener(self._engine_changed)
            self.engine.start()
            self._engine_started = True
        # Attached: the dashboard follows the daemon stopping and another one starting.
        daemon = DaemonWatch(self.attached_pid, time.time()) if self.attached_pid is not None else None
        self.push_screen(Dashboard(self.gateway, self.clock, self.mode, self.config_path, self.view,
                                   daemon=daemon, services=self.services, push_base=self.push_base))

    def _engine_changed(self, monitors: set[str]) -> None:
        """Called from the engine's thread; post_message is thread-safe and the message coalesces."""
        screen = self.screen_stack[-1] if self.screen_stack else None
        target = next((s for s in self.screen_stack if isinstance(s, Dashboard)), screen)
        if target is not None:
            target.post_message(DataChanged(set(monitors)))

    @on(ViewChanged)
    def _view_changed(self, message: ViewChanged) -> None:
        self._keep_view(window=message.window, grouped=message.grouped)

    def _keep_view(self, **changes: object) -> None:
        view = self.view.with_changes(**changes)
        if view != self.view:
            self.view = view
            save_view_state(view)

    @on(ActionWritten)
    def _wake_engine(self) -> None:
        if self.engine is not None:
            self.engine.wake()

    @on(ConfigSaved)
    def _reload_engine(self, message: ConfigSaved) -> None:
        """The dashboard saved the config file: the in-process engine takes it at once (a daemon
        notices the file change itself)."""
        if self.engine is not None:
            self.engine.reload(message.config)

    async def _stop_engine(self) -> None:
        if self.engine is not None and self._engine_started:
            self._engine_started = False
            await asyncio.to_thread(self.engine.stop)

    async def action_quit(self) -> None:
        """Stop the engine first (it finishes in-flight checks and flushes), then leave."""
        if self.engine is not None:
            self.notify("Stopping the engine: finishing checks in flight and flushing…", timeout=60)
        await self._stop_engine()
        await self.gateway.close()
        self.exit()

    async def on_unmount(self) -> None:
        # Any other way out (ctrl+c, an error) still stops and flushes the engine.
        self.collector.stop()
        await self._stop_engine()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.input_seen()
            if isinstance(event, (events.Key, events.MouseDown)) and isinstance(self.screen, Dashboard):
                self.screen.input_arrived()
        await super().on_event(event)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, then the dashboard's keys (tui/bindings.py) with their help."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, Dashboard):
            for key, binding in palette_entries(DASHBOARD_KEYS):
                help_text = f"{key.help[0].upper()}{key.help[1:]} ({self.get_key_display(binding)})"
                yield SystemCommand(key.title or key.label, help_text,
                                    lambda action=key.action: screen.run_action(action))

    def action_show_help_panel(self) -> None:
        """The palette's "Keys": on the dashboard, the same help as `?` (read from the bindings)."""
        if isinstance(self.screen, Dashboard):
            self.screen.action_help()
        else:
            super().action_show_help_panel()
