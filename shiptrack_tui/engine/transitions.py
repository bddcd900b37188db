"""One log line per incident transition, for the daemon's stderr and journald (state changes
that open nothing, such as up → degraded, are debug lines: `--daemon -v`).

The line is the notification's own title (`[OPEN] api — HTTP 503`), so the log and the messages
people receive always say the same thing.
"""

from __future__ import annotations

import logging

from shiptrack_tui.core.incidents import Event, StatusChanged
from shiptrack_tui.core.messages import render_event
from shiptrack_tui.core.model import MonitorSpec

log = logging.getLogger("shiptrack.incidents")


def log_event(event: Event, spec: MonitorSpec, cause: str | None = None) -> None:
    if isinstance(event, StatusChanged):
        # Every flap of a slow target would otherwise fill the journal: shown with -v only.
        log.debug("%s is %s (was %s)", spec.name, event.new, event.old)
        return
    rendered = render_event(event, spec.url, cause)
    if rendered is not None:
        _transition, title, _body, _type = rendered
        log.warning("%s (%s)", title, spec.url)
