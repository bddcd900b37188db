"""The Apprise config file (`[notify] apprise_config`): its entries, and what is owed to them
while it cannot be read.

Each entry gets its own outbox row when a transition happens, so one entry failing never makes
the others receive a message twice. If the file cannot be read then, the transition is still
recorded: one outbox row whose URL is a placeholder naming the file and the monitor's tags. The
sender retries it with the usual backoff; once the file reads again the placeholder is replaced,
in one transaction, by a row per entry the transition is routed to, queued ahead of any later
message of that monitor to those entries (so nobody gets RESOLVED before OPEN).

Reading is cached by file identity (path, mtime, size) so routing stays cheap inside the engine's
write pipeline.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Final
from urllib.parse import parse_qs, quote, unquote, urlsplit

log = logging.getLogger("shiptrack.notify")

PLACEHOLDER_PREFIX: Final = "apprise-config://"


@dataclass(frozen=True, slots=True)
class ConfigTarget:
    """One URL from an Apprise config file, with the Apprise tags it carries there."""

    url: str
    tags: frozenset[str]


_config_cache: dict[str, tuple[tuple[int, int], tuple[ConfigTarget, ...]]] = {}
_config_lock = Lock()


def read_config_targets(path: str | os.PathLike[str]) -> tuple[ConfigTarget, ...] | None:
    """The URLs (and their Apprise tags) in an Apprise config file; None if it cannot be read."""
    import apprise  # the core-facing routing functions stay importable without Apprise's start-up cost

    from shiptrack_tui.notify.redact import guard_apprise_logging

    resolved = str(Path(path).expanduser())
    try:
        info = os.stat(resolved)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(0, "not a regular file")
        with open(resolved, "rb"):  # permissions: stat alone does not tell
            pass
    except OSError as exc:
        log.warning("cannot read the Apprise config %s: %s", resolved, exc.strerror or exc)
        return None
    identity = (info.st_mtime_ns, info.st_size)
    with _config_lock:
        cached = _config_cache.get(resolved)
        if cached is not None and cached[0] == identity:
            return cached[1]
        guard_apprise_logging()
        config = apprise.AppriseConfig()
        config.add(resolved)
        targets = tuple(
            ConfigTarget(service.url(), frozenset(str(tag) for tag in service.tags))
            for service in config.services()
        )
        # Apprise opens the file again: renamed away (or replaced) in between, it read nothing.
        # That is "cannot be read" (retried), never "no entries" (cached for this identity, which
        # the file has again once it is back: its messages would be routed to nobody).
        try:
            after = os.stat(resolved)
        except OSError as exc:
            log.warning("cannot read the Apprise config %s: %s", resolved, exc.strerror or exc)
            return None
        if (after.st_mtime_ns, after.st_size, after.st_ino) != (*identity, info.st_ino):
            log.warning("the Apprise config %s changed while it was read; reading it again later", resolved)
            return None
        _config_cache[resolved] = (identity, targets)
        return targets


def load_config_targets(path: str | os.PathLike[str]) -> tuple[ConfigTarget, ...]:
    """`read_config_targets`, with an unreadable file read as no entries (for `notify-test`)."""
    return read_config_targets(path) or ()


def placeholder_url(path: str | os.PathLike[str], monitor_tags: Collection[str]) -> str:
    """The outbox URL that stands for "the entries of this file that these tags route to"."""
    tags = ",".join(quote(tag, safe="") for tag in sorted(monitor_tags))
    return f"{PLACEHOLDER_PREFIX}{quote(str(Path(path).expanduser()))}?tags={tags}"


def is_placeholder(url: str) -> bool:
    return url.startswith(PLACEHOLDER_PREFIX)


def parse_placeholder(url: str) -> tuple[str, frozenset[str]]:
    """(file path, monitor tags) of a placeholder URL."""
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    raw = parse_qs(parts.query, keep_blank_values=True).get("tags", [""])[0]
    return path, frozenset(unquote(tag) for tag in raw.split(",") if tag)
