"""Postmortems from the database: read an incident and the checks around it, render, write a file.

`shiptrack postmortem ID` prints `build_postmortem`; the dashboard calls `write_postmortem`, which
writes `postmortem-<id>-<yyyymmdd>.md` (the day the incident started, display zone) owner-only
into a folder, never over an existing file (someone may have started filling it in).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from shiptrack_tui.core.postmortem import PostmortemContext, check_spans, file_name, render_postmortem
from shiptrack_tui.core.services import ServiceIndex

if TYPE_CHECKING:
    from shiptrack_tui.config.settings import Config
    from shiptrack_tui.core.model import Incident
    from shiptrack_tui.storage import Store

__all__ = ["build_postmortem", "write_postmortem", "write_private"]


def _incident(store: Store, incident_id: int) -> Incident:
    incident = store.incident(incident_id)
    if incident is None:
        raise LookupError(f"There is no incident #{incident_id}; `shiptrack incidents` lists them.")
    return incident


def _render(store: Store, config: Config | None, incident: Incident, now: float) -> str:
    services: tuple[str, ...] = ()
    target = None
    if config is not None:
        services = ServiceIndex.of(config.services, config.monitors).services_of(incident.monitor)
        spec = config.monitor(incident.monitor)
        target = spec.url if spec is not None else None
    if target is None:  # a monitor no longer in the config still has its row
        found = store.monitor_summaries(now, windows=(), names=[incident.monitor])
        target = found[0].target if found else None
    checks = store.incident_checks(incident.monitor, check_spans(incident, now))
    return render_postmortem(incident, PostmortemContext(generated_at=now, services=services,
                                                         target=target, checks=checks))


def build_postmortem(store: Store, config: Config | None, incident_id: int,
                     now: float | None = None) -> str:
    """The incident's postmortem skeleton in Markdown; LookupError for an unknown id."""
    now = time.time() if now is None else now
    return _render(store, config, _incident(store, incident_id), now)


def write_postmortem(store: Store, config: Config | None, incident_id: int,
                     directory: Path | None = None, now: float | None = None) -> Path:
    """Write the postmortem into `directory` (default: the current one) as
    `postmortem-<id>-<yyyymmdd>.md`, or `...-2.md` and so on when that exists; return its path.

    The file is created 0600 and never replaces another. LookupError for an unknown id, OSError
    when the folder cannot be written."""
    now = time.time() if now is None else now
    incident = _incident(store, incident_id)
    text = _render(store, config, incident, now)
    folder = Path.cwd() if directory is None else directory
    stem = file_name(incident).removesuffix(".md")
    for n in range(1, 1000):
        path = folder / (f"{stem}.md" if n == 1 else f"{stem}-{n}.md")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        return path
    raise FileExistsError(f"{folder} already holds 999 postmortems of incident #{incident_id}")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, owner-only (0600), atomically: a temporary file then a rename."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
