"""What every route needs, handed to the app once: the HTTP thread's own store, the config in
force, and the engine's vitals — as callables, so `web/` never imports the engine (DESIGN §1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from shiptrack_tui.web.governor import Governor
from shiptrack_tui.web.renders import RenderCache

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.core.vitals import EngineVitals
    from shiptrack_tui.storage import Store

Vitals = Callable[[bool], "EngineVitals"]
"""`vitals(detail)`: the engine's figures; `detail` adds the per-monitor outcome counts."""


@dataclass(frozen=True, slots=True)
class WebContext:
    """The app's dependencies. `store` is opened for the HTTP server alone: its reads run on the
    server's worker threads through their own SQLite connections, never on the engine's."""

    store: Store
    config: Callable[[], Config]
    vitals: Vitals | None = None  # None: no engine in this process (actions wait for one)
    wake: Callable[[], None] | None = None  # apply pending actions now (thread-safe)
    token: str | None = field(default=None, repr=False)
    public_api: bool = False
    clock: Callable[[], float] = time.time
    renders: RenderCache = field(default_factory=RenderCache, repr=False, compare=False)
    """Expensive answers computed once and shared within `renders.max_age` (renders.py)."""
    governor: Governor = field(default_factory=Governor, repr=False, compare=False)
    """Admits every request: the engine's loop first, the server within its CPU budget (governor.py)."""

    local: Path | None = None
    """The file this machine's lock and heartbeat are named after (store_target.py); None: the
    store's own file."""

    @property
    def db_path(self) -> Path:
        """Where the engine's lock and heartbeat are looked up (heartbeat.engine_health)."""
        if self.local is not None:
            return self.local
        assert self.store.path is not None, "a PostgreSQL store needs `local`"
        return self.store.path


def web_context(request: Request) -> WebContext:
    """The dependency every router takes: `ctx: WebContext = Depends(web_context)`."""
    ctx: WebContext = request.app.state.web
    return ctx


Ctx = Annotated[WebContext, Depends(web_context)]
"""A route's parameter `ctx: Ctx` receives the app's WebContext."""
