"""Which URLs hear about which transition of which monitor, and the outbox rows that says so.

Rules (documented for operators in the README's notifications section):
- `[notify] urls` hear about every monitor, for the transitions in `[notify] events`.
- Entries of the Apprise config file (`[notify] apprise_config`) are targets too, filtered by the
  same `events`. An entry with Apprise tags is sent only for monitors sharing at least one of those
  tags; an entry without tags goes to every monitor.
- A channel (`[[notify.channel]]`) sends to its own urls for monitors sharing one of its tags (a
  channel without tags takes every monitor), for its own `events` (or `[notify] events` if unset).
- A reminder is an event like the others: it goes only where the events list contains "reminder"
  (the default list, used when `events` is not set, has all four).
- A URL reached by several routes gets one message.

Everything here is pure except reading the Apprise config file, which is cached by file identity
(path, mtime, size) so `outbox_items_for` stays cheap inside the engine's write pipeline.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Protocol

from shiptrack_tui.core.incidents import Event
from shiptrack_tui.core.messages import render_event
from shiptrack_tui.core.model import MonitorSpec, OutboxItem, Transition
from shiptrack_tui.notify.redact import redact_target

log = logging.getLogger(__name__)


class ChannelLike(Protocol):
    """What routing reads from a config `Channel`."""

    @property
    def urls(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Collection[str]: ...
    @property
    def events(self) -> Collection[str] | None: ...


class NotifySettingsLike(Protocol):
    """What routing reads from config's `NotifySettings` (durations already in seconds)."""

    @property
    def urls(self) -> Sequence[str]: ...
    @property
    def apprise_config(self) -> str | os.PathLike[str] | None: ...
    @property
    def events(self) -> Collection[str]: ...
    @property
    def channels(self) -> Sequence[ChannelLike]: ...


@dataclass(frozen=True, slots=True)
class ConfigTarget:
    """One URL from an Apprise config file, with the Apprise tags it carries there."""

    url: str
    tags: frozenset[str]


def wants(events: Collection[str] | None, transition: Transition) -> bool:
    """Whether an events list lets this transition through (see the module's rules)."""
    if events is None:
        return False
    return transition.value in {str(event).lower() for event in events}


_config_cache: dict[str, tuple[tuple[int, int], tuple[ConfigTarget, ...]]] = {}
_config_lock = Lock()


def load_config_targets(path: str | os.PathLike[str]) -> tuple[ConfigTarget, ...]:
    """The URLs (and their Apprise tags) in an Apprise config file; empty if it cannot be read.

    Cached until the file's mtime or size changes.
    """
    import apprise  # the core-facing routing functions stay importable without Apprise's start-up cost

    from shiptrack_tui.notify.redact import guard_apprise_logging

    resolved = str(Path(path).expanduser())
    try:
        stat = os.stat(resolved)
    except OSError as exc:
        log.warning("cannot read the Apprise config %s: %s", resolved, exc.strerror)
        return ()
    identity = (stat.st_mtime_ns, stat.st_size)
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
        _config_cache[resolved] = (identity, targets)
        return targets


def route(
    settings: NotifySettingsLike,
    monitor_tags: Collection[str],
    transition: Transition,
    config_targets: Iterable[ConfigTarget] | None = None,
) -> tuple[str, ...]:
    """The URLs to tell about `transition` of a monitor with `monitor_tags`, each once, in config order.

    `config_targets` defaults to the entries of `settings.apprise_config` (read through the cache).
    """
    tags = set(monitor_tags)
    found: dict[str, None] = {}
    if wants(settings.events, transition):
        found.update(dict.fromkeys(settings.urls))
        if config_targets is None and settings.apprise_config:
            config_targets = load_config_targets(settings.apprise_config)
        for target in config_targets or ():
            if not target.tags or target.tags & tags:
                found[target.url] = None
    for channel in settings.channels:
        events = channel.events if channel.events is not None else settings.events
        if wants(events, transition) and (not channel.tags or tags & set(channel.tags)):
            found.update(dict.fromkeys(channel.urls))
    return tuple(found)


def outbox_items_for(
    events: Sequence[Event],
    spec: MonitorSpec,
    settings: NotifySettingsLike,
    *,
    cause: str | None = None,
    config_targets: Iterable[ConfigTarget] | None = None,
) -> tuple[OutboxItem, ...]:
    """The outbox rows for the events one check (or action) caused: one per announced event per URL.

    The engine writes them in the same transaction as the incident change. `cause` is the open
    incident's cause, used for an acknowledgement (whose event does not carry it).
    """
    if not events:  # most checks change nothing: skip the redaction and routing work
        return ()
    items: list[OutboxItem] = []
    target = redact_target(spec.url)
    cached_targets = tuple(config_targets) if config_targets is not None else None
    for event in events:
        rendered = render_event(event, target, cause)
        if rendered is None:
            continue
        transition, title, body, notify_type = rendered
        for url in route(settings, spec.tags, transition, cached_targets):
            items.append(OutboxItem(spec.name, transition, url, title, body, notify_type))
    return tuple(items)


def all_urls(settings: NotifySettingsLike) -> tuple[str, ...]:
    """Every configured URL (plain, Apprise config file, channels), each once: for `notify-test`."""
    found: dict[str, None] = dict.fromkeys(settings.urls)
    if settings.apprise_config:
        found.update(dict.fromkeys(t.url for t in load_config_targets(settings.apprise_config)))
    for channel in settings.channels:
        found.update(dict.fromkeys(channel.urls))
    return tuple(found)
