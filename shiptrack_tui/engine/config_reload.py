"""Reloading the config file, whether it changed on disk or the operator sent SIGHUP.

Both ways go through one `ConfigReloads`, so each outcome is logged once: an edit that is saved
and then signalled (what `shiptrack monitor add` suggests) is read and reported one time, and a
SIGHUP for a file whose errors were already logged says so in one line instead of repeating them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from shiptrack_tui.config import Config, ConfigError
from shiptrack_tui.config.watch import ConfigWatcher

log = logging.getLogger("shiptrack.engine")


class ConfigReloads:
    """Decides whether to reload, loads, and logs the outcome; blocking (run it in a thread)."""

    def __init__(self, path: Path, digest: str, loader: Callable[[], Config],
                 running: Callable[[], str] | None = None) -> None:
        self._watcher = ConfigWatcher(path, digest)
        self._loader = loader
        self._running = running  # the digest of the config the engine runs, however it got it
        self._failed: str | None = None  # the digest of the file whose errors were logged last

    def attempt(self, asked: bool) -> Config | None:
        """The new config when it should be applied; `asked` is True for a SIGHUP (reload even an
        unchanged file: a file it includes, such as `apprise_config`, may have changed)."""
        changed = self._watcher.changed()
        if changed and not asked and self._running is not None and self._watcher.digest == self._running():
            return None  # already applied (the dashboard hands its saves to the engine at once)
        if not changed and not asked:
            return None
        if not changed and self._watcher.digest == self._failed:
            log.error("SIGHUP: %s is unchanged since the errors above; still running the previous config",
                      self._watcher.path)
            return None
        try:
            fresh = self._loader()
        except ConfigError as error:
            for line in str(error).splitlines():
                log.error("config not reloaded: %s", line)
            log.error("still running the previous config")
            self._failed = self._watcher.digest
            return None
        self._failed = None
        log.info("config reloaded: %d monitors (%s)", len(fresh.monitors),
                 "on SIGHUP" if asked else "the file changed")
        return fresh
