"""Which URLs hear about which transition of which monitor, and the outbox rows that says so.

Rules (documented for operators in the README's notifications section):
- `[notify] urls` hear about every monitor, for the transitions in `[notify] events`.
- Entries of the Apprise config file (`[notify] apprise_config`) are targets too, filtered by the
  same `events`. An entry with Apprise tags is sent only for monitors sharing at least one of those
  tags; an entry without tags goes to every monitor.
- A channel (`[[notify.channel]]`) sends to its own urls for monitors sharing one of its tags (a
  channel without tags takes every monitor), for its own `events` (or `[notify] events` if unset).
- A reminder is an event like the others: it goes only where the events list contains "reminder"
  (the default list, used when `events` is not set, has all five).
- A status update an operator posts (`shiptrack update`) is the event "update", routed the same way.
- A URL reached by several routes gets one message.

- One configured string can hold several Apprise URLs ("json://a, json://b": Apprise would send to
  each): each gets its own outbox row, so one failing never makes the others receive it twice.
- Each entry of the Apprise config file gets its own row; while the file cannot be read, one
  placeholder row stands for them (see `config_file`).

Everything here is pure except reading the Apprise config file (cached, in `config_file`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Protocol

from shiptrack_tui.core.incidents import Event
from shiptrack_tui.core.messages import render_event
from shiptrack_tui.core.model import MonitorSpec, OutboxItem, OutboxRow, Transition
from shiptrack_tui.notify.config_file import (
    ConfigTarget,
    load_config_targets,
    parse_placeholder,
    placeholder_url,
    read_config_targets,
)
from shiptrack_tui.notify.redact import redact_target

__all__ = ["ConfigTarget", "all_urls", "expand_placeholder", "load_config_targets", "outbox_items_for",
           "route", "sender_host", "split_urls", "update_items", "wants"]


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


def wants(events: Collection[str] | None, transition: Transition) -> bool:
    """Whether an events list lets this transition through (see the module's rules)."""
    if events is None:
        return False
    return transition.value in {str(event).lower() for event in events}


@lru_cache(maxsize=1024)
def split_urls(configured: str) -> tuple[str, ...]:
    """The Apprise URLs in one configured string, as Apprise itself splits it (comma or space)."""
    from apprise.utils.parse import parse_urls

    return tuple(parse_urls(configured)) or (configured,)


def _each(configured: Iterable[str]) -> Iterator[str]:
    for entry in configured:
        yield from split_urls(entry)


def route(
    settings: NotifySettingsLike,
    monitor_tags: Collection[str],
    transition: Transition,
    config_targets: Iterable[ConfigTarget] | None = None,
) -> tuple[str, ...]:
    """The URLs to tell about `transition` of a monitor with `monitor_tags`, each once, in config order.

    `config_targets` defaults to the entries of `settings.apprise_config` (read through the cache);
    if that file cannot be read, a placeholder URL stands for its entries.
    """
    tags = set(monitor_tags)
    found: dict[str, None] = {}
    if wants(settings.events, transition):
        found.update(dict.fromkeys(_each(settings.urls)))
        if config_targets is None and settings.apprise_config:
            config_targets = read_config_targets(settings.apprise_config)
            if config_targets is None:
                found[placeholder_url(settings.apprise_config, tags)] = None
        for target in config_targets or ():
            if not target.tags or target.tags & tags:
                found[target.url] = None
    for channel in settings.channels:
        events = channel.events if channel.events is not None else settings.events
        if wants(events, transition) and (not channel.tags or tags & set(channel.tags)):
            found.update(dict.fromkeys(_each(channel.urls)))
    return tuple(found)


def expand_placeholder(row: OutboxRow, settings: NotifySettingsLike | None) -> tuple[str, ...] | None:
    """The config file entries a placeholder row stands for now; None while the file cannot be read.

    The entries the transition is routed to that are not already told as a plain or channel URL.
    """
    path, tags = parse_placeholder(row.item.url)
    targets = read_config_targets(path)
    if targets is None:
        return None
    if settings is None:
        return tuple(t.url for t in targets if not t.tags or t.tags & tags)
    plain = set(route(settings, tags, row.item.transition, ()))
    return tuple(url for url in route(settings, tags, row.item.transition, targets) if url not in plain)


def outbox_items_for(
    events: Sequence[Event],
    spec: MonitorSpec,
    settings: NotifySettingsLike,
    *,
    cause: str | None = None,
    config_targets: Iterable[ConfigTarget] | None = None,
    services: Sequence[str] = (),
) -> tuple[OutboxItem, ...]:
    """The outbox rows for the events one check (or action) caused: one per announced event per URL.

    The engine writes them in the same transaction as the incident change. `cause` is the open
    incident's cause, used for an acknowledgement (whose event does not carry it); `services` the
    services the monitor belongs to, named in the body.
    """
    if not events:  # most checks change nothing: skip the redaction and routing work
        return ()
    items: list[OutboxItem] = []
    target = redact_target(spec.url)
    cached_targets = tuple(config_targets) if config_targets is not None else None
    for event in events:
        rendered = render_event(event, target, cause, host=sender_host(), services=services)
        if rendered is None:
            continue
        transition, title, body, notify_type = rendered
        for url in route(settings, spec.tags, transition, cached_targets):
            items.append(OutboxItem(spec.name, transition, url, title, body, notify_type))
    return tuple(items)


def update_items(
    spec: MonitorSpec,
    settings: NotifySettingsLike,
    message: tuple[str, str, str],
    config_targets: Iterable[ConfigTarget] | None = None,
) -> tuple[OutboxItem, ...]:
    """The outbox rows for a status update (`message` is core.messages.render_update's title, body
    and type): one per URL whose events include "update"."""
    title, body, notify_type = message
    return tuple(OutboxItem(spec.name, Transition.UPDATE, url, title, body, notify_type)
                 for url in route(settings, spec.tags, Transition.UPDATE, config_targets))


@lru_cache(maxsize=1)
def sender_host() -> str:
    """This machine's name, as messages say who sent them (looked up once per process)."""
    return socket.gethostname()


def all_urls(settings: NotifySettingsLike) -> tuple[str, ...]:
    """Every configured URL (plain, Apprise config file, channels), each once: for `notify-test`."""
    found: dict[str, None] = dict.fromkeys(_each(settings.urls))
    if settings.apprise_config:
        found.update(dict.fromkeys(t.url for t in load_config_targets(settings.apprise_config)))
    for channel in settings.channels:
        found.update(dict.fromkeys(_each(channel.urls)))
    return tuple(found)
