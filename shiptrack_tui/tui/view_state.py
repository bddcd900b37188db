"""What the dashboard looked like when it was closed: theme, chart window, grouping.

Kept in the user's state directory (`~/.local/state/shiptrack/view.json` on Linux), a small JSON
file written atomically with mode 0600. It is a convenience: a missing, unreadable or odd file
gives the defaults, and a failed write is logged, never shown as an error.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from shiptrack_tui.tui.data import CHART_WINDOWS

APP_NAME: Final = "shiptrack"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ViewState:
    """The view settings that outlive the dashboard. `theme` None: Textual's default."""

    theme: str | None = None
    window: str = CHART_WINDOWS[0]
    grouped: bool = False

    def with_changes(self, **changes: Any) -> ViewState:
        return replace(self, **changes)


def view_state_path() -> Path:
    return platformdirs.user_state_path(APP_NAME, appauthor=False) / "view.json"


def load_view_state(path: Path | None = None) -> ViewState:
    """The saved view, or the defaults for whatever is missing or not understood."""
    path = path or view_state_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ViewState()
    except (OSError, ValueError) as error:
        log.warning("ignoring the saved view settings in %s: %s", path, error)
        return ViewState()
    if not isinstance(raw, dict):
        return ViewState()
    theme, window, grouped = raw.get("theme"), raw.get("window"), raw.get("grouped")
    return ViewState(
        theme=theme if isinstance(theme, str) else None,
        window=window if window in CHART_WINDOWS else CHART_WINDOWS[0],
        grouped=grouped if isinstance(grouped, bool) else False,
    )


def save_view_state(state: ViewState, path: Path | None = None) -> None:
    """Write the view atomically (temp file + rename), readable by the user only."""
    path = path or view_state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(prefix=".view-", suffix=".json", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(asdict(state), file)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as error:
        log.warning("could not keep the view settings in %s: %s", path, error)
