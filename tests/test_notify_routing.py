"""Routing: which URLs hear about which transition of which monitor; the outbox rows it yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shiptrack_tui.config import NotifySettings
from shiptrack_tui.core.incidents import IncidentAcknowledged, IncidentOpened, IncidentResolved, ReminderDue
from shiptrack_tui.core.model import MonitorSpec, Transition
from shiptrack_tui.notify import check_notify_url, load_config_targets, outbox_items_for, route
from shiptrack_tui.notify.config_file import read_config_targets
from shiptrack_tui.notify.validate import check_apprise_config

ALL = frozenset({"open", "ack", "resolve"})


@dataclass(frozen=True)
class Channel:
    urls: tuple[str, ...]
    tags: frozenset[str] = frozenset()
    events: frozenset[str] | None = ALL


@dataclass(frozen=True)
class Settings:
    urls: tuple[str, ...] = ()
    apprise_config: Path | None = None
    events: frozenset[str] = ALL
    remind_every: float | None = None
    give_up_after: float = 86400.0
    channels: tuple[Channel, ...] = field(default_factory=tuple)


GLOBAL = "json://127.0.0.1:9000/all"
PROD = "json://127.0.0.1:9000/prod"
DB = "json://127.0.0.1:9000/db"


def test_global_urls_filtered_by_events() -> None:
    settings = Settings(urls=(GLOBAL,), events=frozenset({"open", "resolve"}))
    assert route(settings, (), Transition.OPEN) == (GLOBAL,)
    assert route(settings, (), Transition.ACK) == ()
    assert route(settings, (), Transition.RESOLVE) == (GLOBAL,)


def test_reminders_go_only_where_listed() -> None:
    assert route(NotifySettings(urls=(GLOBAL,)), (), Transition.REMINDER) == (GLOBAL,)  # the default
    assert route(Settings(urls=(GLOBAL,)), (), Transition.REMINDER) == ()  # open, ack, resolve only
    open_resolve = Settings(urls=(GLOBAL,), events=frozenset({"open", "resolve"}))
    assert route(open_resolve, (), Transition.REMINDER) == ()
    explicit = Settings(urls=(GLOBAL,), events=frozenset({"resolve", "reminder"}))
    assert route(explicit, (), Transition.REMINDER) == (GLOBAL,)


def test_channels_route_by_tag_with_their_own_events() -> None:
    settings = Settings(
        urls=(GLOBAL,),
        channels=(
            Channel((PROD,), frozenset({"prod"})),
            Channel((DB,), frozenset({"db"}), frozenset({"open"})),
            Channel((GLOBAL,), frozenset({"prod"})),  # same URL twice: one message
        ),
    )
    assert route(settings, ("prod",), Transition.OPEN) == (GLOBAL, PROD)
    assert route(settings, ("prod", "db"), Transition.OPEN) == (GLOBAL, PROD, DB)
    assert route(settings, ("db",), Transition.RESOLVE) == (GLOBAL,)
    assert route(settings, ("staging",), Transition.OPEN) == (GLOBAL,)


def test_untagged_channel_takes_every_monitor_and_inherits_events_when_unset() -> None:
    settings = Settings(events=frozenset({"open"}), channels=(Channel((PROD,), events=None),))
    assert route(settings, ("anything",), Transition.OPEN) == (PROD,)
    assert route(settings, (), Transition.RESOLVE) == ()


def test_apprise_config_file_urls_and_tags(tmp_path: Path) -> None:
    config = tmp_path / "apprise.yml"
    config.write_text(
        "urls:\n"
        "  - json://127.0.0.1:9000/tagged:\n"
        "      tag: prod, db\n"
        "  - json://127.0.0.1:9000/everyone\n"
    )
    targets = load_config_targets(config)
    assert [sorted(t.tags) for t in targets] == [["db", "prod"], []]
    settings = Settings(apprise_config=config)
    prod = route(settings, ("prod",), Transition.OPEN)
    assert [u.split("?")[0] for u in prod] == ["json://127.0.0.1:9000/tagged", "json://127.0.0.1:9000/everyone"]
    staging = route(settings, ("staging",), Transition.OPEN)
    assert [u.split("?")[0] for u in staging] == ["json://127.0.0.1:9000/everyone"]
    assert route(Settings(apprise_config=config, events=frozenset()), ("prod",), Transition.OPEN) == ()
    assert check_apprise_config(config) is None
    assert "does not exist" in (check_apprise_config(tmp_path / "missing.yml") or "")


def test_apprise_text_config_is_reread_when_it_changes(tmp_path: Path) -> None:
    config = tmp_path / "apprise.txt"
    config.write_text("prod=json://127.0.0.1:9000/a\n")
    assert [t.url.split("?")[0] for t in load_config_targets(config)] == ["json://127.0.0.1:9000/a"]
    config.write_text("prod=json://127.0.0.1:9000/a\njson://127.0.0.1:9000/bb\n")
    assert len(load_config_targets(config)) == 2


def test_outbox_items_one_per_event_per_url() -> None:
    spec = MonitorSpec("api", "https://bob:hunter2@api.example.com/health", tags=("prod",))
    settings = Settings(urls=(GLOBAL,), channels=(Channel((PROD,), frozenset({"prod"})),))
    events = [IncidentOpened("api", 130.0, 100.0, "HTTP 503"),
              IncidentResolved("api", 350.0, 100.0, "HTTP 503")]
    items = outbox_items_for(events, spec, settings)
    assert [(i.transition, i.url, i.title, i.notify_type) for i in items] == [
        (Transition.OPEN, GLOBAL, "[OPEN] api — HTTP 503", "failure"),
        (Transition.OPEN, PROD, "[OPEN] api — HTTP 503", "failure"),
        (Transition.RESOLVE, GLOBAL, "[RESOLVED] api — down for 4m 10s", "success"),
        (Transition.RESOLVE, PROD, "[RESOLVED] api — down for 4m 10s", "success"),
    ]
    assert all("hunter2" not in i.body and "api.example.com/health" in i.body for i in items)
    acked = [IncidentAcknowledged("api", 140.0, 100.0, None)]
    ack = outbox_items_for(acked, spec, settings, cause="HTTP 503")
    assert ack[0].title == "[ACK] api — HTTP 503" and ack[0].notify_type == "info"
    with_reminders = Settings(urls=(GLOBAL,), events=ALL | {"reminder"},
                              channels=(Channel((PROD,), frozenset({"prod"}), ALL | {"reminder"}),))
    reminder = outbox_items_for([ReminderDue("api", 4000.0, 100.0, "HTTP 503")], spec, with_reminders)
    assert [i.title for i in reminder] == ["[REMINDER] api — HTTP 503"] * 2
    assert outbox_items_for(events, spec, Settings()) == ()


def test_check_notify_url() -> None:
    assert check_notify_url("json://127.0.0.1:9000/hook") is None
    assert check_notify_url("slack://T000/B000/XXXX") is None
    unknown = check_notify_url("nosuch://admin:Sup3rSecretPw@example.com/tok3n")
    assert unknown is not None and "nosuch" in unknown and "Sup3rSecretPw" not in unknown
    broken = check_notify_url("mailto://user:Sup3rSecretPw@")
    assert broken is not None and "Sup3rSecretPw" not in broken
    assert check_notify_url("") is not None
    assert check_notify_url("just-text") is not None


def test_an_apprise_config_entry_apprise_cannot_use_is_named_by_line_without_its_secret(
    tmp_path: Path,
) -> None:
    text = tmp_path / "apprise.txt"
    text.write_text("# team hooks\njson://127.0.0.1:9000/ok\nprod=nosuchservice://host/s3cr3t-path\n"
                    "slack://T000/B000\n")
    problem = check_apprise_config(text) or ""
    assert problem.startswith('"apprise.txt" has entries Apprise cannot use: line 3 (nosuchservice://host/***)')
    assert "line 4 (slack://T000/***)" in problem and "fix or remove them" in problem
    assert "s3cr3t" not in problem and "B000" not in problem

    yaml = tmp_path / "apprise.yml"
    yaml.write_text("version: 1\nurls:\n  - json://127.0.0.1:9000/ok\n  - nosuchservice://host/s3cr3t-path\n")
    problem = check_apprise_config(yaml) or ""
    assert problem.startswith('"apprise.yml" has entries Apprise cannot use: line 4 (nosuchservice://host/***)')
    assert "s3cr3t" not in problem

    good = tmp_path / "good.txt"
    good.write_text("json://127.0.0.1:9000/ok\n")
    assert check_apprise_config(good) is None


def test_a_file_renamed_away_while_apprise_reads_it_is_unreadable_not_empty(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race behind a lost notification: the file passed our checks, then was renamed away
    before Apprise opened it. Cached as "no entries" for its (mtime, size), which it has again once
    it is back, every message owed to its entries was routed to nobody."""
    import apprise

    path, aside = tmp_path / "apprise.yml", tmp_path / "apprise.yml.aside"
    path.write_text("urls:\n  - json://127.0.0.1:9/one\n")
    read_by_apprise = apprise.AppriseConfig.add

    def renamed_first(self: apprise.AppriseConfig, *args: object, **kwargs: object) -> bool:
        path.rename(aside)
        return read_by_apprise(self, *args, **kwargs)

    monkeypatch.setattr(apprise.AppriseConfig, "add", renamed_first)
    assert read_config_targets(path) is None  # cannot be read: the placeholder is retried
    monkeypatch.undo()
    aside.rename(path)  # back, with the same mtime and size
    (entry,) = read_config_targets(path) or ()  # not a cached "no entries"
    assert entry.url.startswith("json://127.0.0.1:9/one")
