"""Read a TOML config file into a validated `Config`, reporting every problem with its line."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.cluster import PLACEMENT_KEYS, read_cluster, read_placement
from shiptrack_tui.config.errors import ConfigError, ConfigNotFound
from shiptrack_tui.config.http import read_http
from shiptrack_tui.config.monitors import MIN_INTERVAL, MonitorReader
from shiptrack_tui.config.redact import redact_url
from shiptrack_tui.config.services import read_services
from shiptrack_tui.config.settings import (
    NOTIFY_EVENTS,
    Channel,
    Config,
    Defaults,
    DisplaySettings,
    NotifySettings,
    StorageSettings,
)
from shiptrack_tui.config.status_page import read_status_page
from shiptrack_tui.config.values import (
    Bad,
    as_choices,
    as_duration,
    as_int,
    as_severity,
    as_str,
    as_str_list,
    kind,
    show,
)
from shiptrack_tui.config.windows import GLOBAL_KEYS as WINDOW_KEYS
from shiptrack_tui.config.windows import read_window, window_label
from shiptrack_tui.core.dsn import is_postgres_url, redact
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.formats import UnknownZone, zone_named
from shiptrack_tui.core.maintenance import MaintenanceWindow

NotifyUrlCheck = Callable[[str], str | None]
AppriseConfigCheck = Callable[[Path], str | None]
"""What is wrong with an Apprise config file's entries (supplied by the notify layer), or None."""

TOP_KEYS: Final = ("defaults", "storage", "notify", "monitor", "maintenance", "display", "service", "http",
                   "status_page", "cluster")
DEFAULTS_KEYS: Final = ("interval", "timeout", "failure_threshold", "recovery_threshold", "degraded_after",
                         "severity", *PLACEMENT_KEYS)
STORAGE_KEYS: Final = ("path", "url", "password_file", "keep_raw", "keep_hourly", "keep_daily",
                       "keep_incidents")
NOTIFY_KEYS: Final = ("urls", "apprise_config", "events", "remind_every", "give_up_after", "channel")
CHANNEL_KEYS: Final = ("url", "urls", "tags", "events")
DISPLAY_KEYS: Final = ("timezone",)
_TOML_POSITION: Final = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_TOML_HINTS: Final = (
    ("Invalid value", "invalid value; strings need quotes (\"10s\"), lists brackets ([1, 2]), "
                      "booleans are true/false"),
    ("Cannot overwrite a value", "this key is already set; each key may appear once per table"),
    ("Cannot declare", "this table is already declared; merge the two into one (use [[...]] for a list "
                       "of tables)"),
    ("Unclosed array", "a list is not closed; add the missing \"]\""),
    ("Unclosed inline table", "an inline table is not closed; add the missing \"}\" (an inline table must "
                              "fit on one line)"),
    ("Unterminated string", "a string is not closed; add the missing quote"),
    ("Illegal character '\\n'", "a string is not closed before the end of the line; add the missing "
                                 'quote (use """ for text over several lines)'),
    ("Expected newline or end of document after a statement",
     "unexpected text after a value; write one key = value per line"),
    ("Expected '=' after a key", "expected \"=\" after the key; write key = value"),
)


def load_config(path: str | os.PathLike[str], check_notify_url: NotifyUrlCheck | None = None,
                check_apprise_config: AppriseConfigCheck | None = None) -> Config:
    """Read and validate the config at `path`; raise ConfigError listing every problem.

    `check_notify_url` and `check_apprise_config` (supplied by the notify layer) return an error for
    a URL, or an Apprise config file's entry, that Apprise cannot use.
    """
    display = os.fspath(path)
    file = Path(display).expanduser()
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigNotFound([f"{display}: no config file here; copy config/example.toml there and edit it, "
                              "or run `shiptrack --demo` to try ShipTrack without one"]) from None
    except OSError as exc:
        raise ConfigError([f"{display}: cannot read the config file ({exc.strerror or exc}); "
                           "check the path and its permissions"]) from None
    return parse_config(data, file, display=display, check_notify_url=check_notify_url,
                        check_apprise_config=check_apprise_config)


def parse_config(data: bytes, path: Path, display: str | None = None,
                 check_notify_url: NotifyUrlCheck | None = None,
                 check_apprise_config: AppriseConfigCheck | None = None) -> Config:
    """Validate config bytes as if read from `path` (relative paths in it are relative to its folder)."""
    shown = display if display is not None else str(path)
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{shown}:{line}: the file is not UTF-8 text; save it as UTF-8"]) from None
    raw = _parse_toml(text, shown)
    ck = Checker(shown, text)
    config = _read(ck, raw, path, digest, check_notify_url, check_apprise_config)
    if ck.problems:
        raise ConfigError(ck.problems)
    return config


def _parse_toml(text: str, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
    position = _TOML_POSITION.search(message)
    reason = message[: position.start()] if position else message
    if position and position.group(1):
        line, column = int(position.group(1)), int(position.group(2))
    else:  # "at end of document": point at the statement that never closed instead
        line, column = _unclosed_line(text), 0
    for prefix, hint in _TOML_HINTS:
        if reason.startswith(prefix):
            reason = hint
            break
    else:
        reason = reason[:1].lower() + reason[1:]
    where = f" (column {column})" if column else ""
    raise ConfigError([f"{shown}:{line}: TOML syntax error: {reason}{where}"]) from None


def _unclosed_line(text: str) -> int:
    """The line where the unclosed statement starts: the first line of the longest prefix that fails."""
    lines = text.splitlines(keepends=True)
    for end in range(len(lines) - 1, 0, -1):
        try:
            tomllib.loads("".join(lines[:end]))
        except tomllib.TOMLDecodeError:
            continue
        return end + 1
    return 1


def _read(ck: Checker, raw: dict[str, Any], path: Path, digest: str,
          check_notify_url: NotifyUrlCheck | None, check_apprise_config: AppriseConfigCheck | None) -> Config:
    ck.known_keys(Scope("the file", ()), raw, TOP_KEYS)
    base = path.parent
    defaults, timeout_set = _defaults(ck, _section(ck, raw, "defaults"))
    storage = _storage(ck, _section(ck, raw, "storage"), base)
    notify = _notify(ck, _section(ck, raw, "notify"), base, check_notify_url, check_apprise_config)
    monitors = MonitorReader(ck, defaults, timeout_set)
    specs = monitors.read_all(raw.get("monitor"))
    windows = [*_maintenance(ck, raw.get("maintenance"), {spec.name for spec in specs}), *monitors.windows]
    display = _display(ck, _section(ck, raw, "display"))
    services = read_services(ck, raw.get("service"), specs)
    http = read_http(ck, _section(ck, raw, "http"), base)
    status_page = read_status_page(ck, raw.get("status_page"), specs, services)
    cluster = read_cluster(ck, raw.get("cluster"))
    return Config(path=path, monitors=tuple(specs), defaults=defaults, storage=storage, notify=notify,
                  maintenance=tuple(windows), digest=digest, display=display, services=services, http=http,
                  status_page=status_page, cluster=cluster)


def _section(ck: Checker, raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if isinstance(value, dict):
        return value
    ck.report((name,), f"{name} must be a table written [{name}], not {kind(value)}")
    return {}


def _defaults(ck: Checker, table: dict[str, Any]) -> tuple[Defaults, bool]:
    scope = Scope("[defaults]", ("defaults",))
    ck.known_keys(scope, table, DEFAULTS_KEYS)
    interval = ck.read(scope, table, "interval", lambda v: as_duration(v, MIN_INTERVAL))
    timeout = ck.read(scope, table, "timeout", as_duration)
    failures = ck.read(scope, table, "failure_threshold", as_int)
    recoveries = ck.read(scope, table, "recovery_threshold", as_int)
    degraded = ck.read(scope, table, "degraded_after", as_duration)
    severity = ck.read(scope, table, "severity", as_severity)
    defaults = Defaults()
    locations, confirm = read_placement(ck, scope, table, defaults)
    effective_interval = interval or defaults.interval
    if timeout is not None and timeout >= effective_interval:
        source = "" if interval is not None else ", the default"
        ck.report(("defaults", "timeout"), f"[defaults] timeout {show(table['timeout'])} must be below the "
                                           f"interval ({format_duration(effective_interval)}{source})")
    result = Defaults(
        interval=effective_interval, timeout=timeout,
        failure_threshold=failures or defaults.failure_threshold,
        recovery_threshold=recoveries or defaults.recovery_threshold,
        degraded_after=degraded, severity=severity or defaults.severity, locations=locations, confirm=confirm,
    )
    return result, timeout is not None


def _storage(ck: Checker, table: dict[str, Any], base: Path) -> StorageSettings:
    scope = Scope("[storage]", ("storage",))
    ck.known_keys(scope, table, STORAGE_KEYS)
    example = '"~/.local/share/shiptrack/shiptrack.db"'
    path = ck.read(scope, table, "path", lambda v: _as_path(v, base, example))
    url = ck.read(scope, table, "url", _as_postgres_url)
    if path is not None and url is not None:
        ck.report((*scope.path, "url"), "[storage] url and path are both set; keep url (a PostgreSQL "
                  "database) or path (a SQLite file), not both")
    password_file = ck.read(scope, table, "password_file", lambda v: _readable_password_file(
        _as_path(v, base, '"~/.config/shiptrack/pg-password"')))
    given = StorageSettings()
    minimums = {"keep_raw": 3600.0, "keep_hourly": 32 * 86400.0, "keep_daily": 32 * 86400.0,
                "keep_incidents": 86400.0}
    keep = {key: ck.read(scope, table, key, lambda v, low=low: as_duration(v, low)) or getattr(given, key)
            for key, low in minimums.items()}
    if keep["keep_daily"] < keep["keep_hourly"] and not scope.invalid & {"keep_daily", "keep_hourly"}:
        ck.report((*scope.path, "keep_daily" if "keep_daily" in table else "keep_hourly"),
                  f"[storage] keep_daily ({format_duration(keep['keep_daily'])}) is shorter than keep_hourly "
                  f"({format_duration(keep['keep_hourly'])}); keep day rollups at least as long as hour ones")
    return StorageSettings(path=path, url=url, password_file=password_file, **keep)


def _as_postgres_url(value: object) -> str:
    url = as_str(value, '"postgresql://shiptrack@db.internal/shiptrack"').strip()
    if not is_postgres_url(url):
        raise Bad(f"{show(redact(url))} is not a PostgreSQL URL; expected "
                  '"postgresql://USER@HOST[:PORT]/DATABASE" (for a SQLite file, set path instead)')
    return url


def _readable_password_file(path: Path) -> Path:
    """The file must hold the password now: a typo is found by check-config, not at 3 a.m."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise Bad(f'"{path}" cannot be read ({error.strerror or error}); create it with the PostgreSQL '
                  "password on one line, readable by this user only (chmod 600)") from None
    except UnicodeDecodeError:
        raise Bad(f'"{path}" is not UTF-8 text; it must hold the PostgreSQL password on one line') from None
    if not text.strip():
        raise Bad(f'"{path}" is empty; write the PostgreSQL password in it on one line')
    return path


def _display(ck: Checker, table: dict[str, Any]) -> DisplaySettings:
    scope = Scope("[display]", ("display",))
    ck.known_keys(scope, table, DISPLAY_KEYS)
    return DisplaySettings(timezone=ck.read(scope, table, "timezone", _as_zone))


def _as_zone(value: object) -> str:
    name = as_str(value, '"Europe/Berlin"')
    try:
        zone_named(name)
    except UnknownZone as error:
        raise Bad(f"{show(value)} is not a time zone the zone database knows; expected an IANA name "
                  'such as "Europe/Berlin", "America/New_York" or "UTC"') from error
    return name


def _as_path(value: object, base: Path, example: str) -> Path:
    """A path with `~` expanded; relative paths are relative to the config file's folder."""
    path = Path(as_str(value, example)).expanduser()
    return path if path.is_absolute() else base / path


def _as_notify_url(value: object) -> str:
    url = as_str(value, '"json://127.0.0.1:9000/hook"')
    if "://" not in url:
        raise Bad(f"{show(redact_url(url))} is not a notification URL; expected an Apprise URL like "
                  '"json://host/path" or "slack://..."')
    return url


def _notify_urls(value: object) -> tuple[str, ...]:
    urls = as_str_list(value, '["json://127.0.0.1:9000/hook"]')
    for index, url in enumerate(urls):
        try:
            _as_notify_url(url)
        except Bad as bad:
            raise Bad(f"item {index + 1} {bad.message}", at=(index,)) from None
    return urls


def _notify(ck: Checker, table: dict[str, Any], base: Path, check: NotifyUrlCheck | None,
            check_file: AppriseConfigCheck | None) -> NotifySettings:
    scope = Scope("[notify]", ("notify",))
    ck.known_keys(scope, table, NOTIFY_KEYS)
    urls = ck.read(scope, table, "urls", _notify_urls) or ()
    _check_urls(ck, scope, "urls", urls, check)
    apprise_config = ck.read(scope, table, "apprise_config", lambda v: _usable_apprise_file(
        _existing_file(_as_path(v, base, '"~/.config/apprise.yml"')), check_file))
    events = ck.read(scope, table, "events", _as_events)
    remind = ck.read(scope, table, "remind_every", lambda v: as_duration(v, 1.0))
    give_up = ck.read(scope, table, "give_up_after", as_duration)
    defaults = NotifySettings()
    events = events if events is not None else defaults.events
    channels = _channels(ck, table.get("channel"), events, check)
    return NotifySettings(urls=urls, apprise_config=apprise_config, events=events, remind_every=remind,
                          give_up_after=give_up or defaults.give_up_after, channels=channels)


def _as_events(value: object) -> frozenset[str]:
    return as_choices(value, NOTIFY_EVENTS, '["open", "ack", "resolve", "reminder", "update"]')


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise Bad(f'"{path}" does not exist; point it at an Apprise config file or remove the key')
    return path


def _usable_apprise_file(path: Path, check: AppriseConfigCheck | None) -> Path:
    problem = check(path) if check is not None else None
    if problem:
        raise Bad(problem)
    return path


def _check_urls(ck: Checker, scope: Scope, key: str, urls: tuple[str, ...], check: NotifyUrlCheck | None,
                single: bool = False) -> None:
    """Ask the notify layer about each URL; its complaint is shown with the URL redacted."""
    if check is None:
        return
    for index, url in enumerate(urls):
        problem = check(url)
        if problem:
            redacted = redact_url(url)
            problem = problem.replace(url, redacted).replace("\n", " ").strip()
            at = (*scope.path, key) if single else (*scope.path, key, index)
            ck.report(at, f"{scope.subject(key)} {show(redacted)} cannot be used: {problem}")


def _channels(ck: Checker, raw: object, events: frozenset[str], check: NotifyUrlCheck | None
              ) -> tuple[Channel, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        ck.report(("notify", "channel"), "notify.channel must be written as [[notify.channel]] tables, "
                                         f"not {kind(raw)}")
        return ()
    channels = []
    for index, table in enumerate(raw):
        scope = Scope(f"[[notify.channel]] #{index + 1}", ("notify", "channel", index))
        ck.known_keys(scope, table, CHANNEL_KEYS)
        url = ck.read(scope, table, "url", _as_notify_url)
        urls = ck.read(scope, table, "urls", _notify_urls) or ()
        _check_urls(ck, scope, "url", (url,) if url else (), check, single=True)
        _check_urls(ck, scope, "urls", urls, check)
        if "url" not in table and "urls" not in table:
            ck.report(scope.path, f'{scope.label} has no url; add url = "json://..." or urls = [...]')
        tags = ck.read(scope, table, "tags", lambda v: as_str_list(v, '["prod"]'))
        own_events = ck.read(scope, table, "events", _as_events)
        all_urls = ((url,) if url else ()) + urls
        channels.append(Channel(urls=all_urls, tags=frozenset(tags or ()),
                                events=own_events if own_events is not None else events))
    return tuple(channels)


def _maintenance(ck: Checker, raw: object, monitor_names: set[str]) -> list[MaintenanceWindow]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        ck.report(("maintenance",), "maintenance must be written as [[maintenance]] tables, not "
                                    f"{kind(raw)}")
        return []
    windows = []
    for index, table in enumerate(raw):
        scope = Scope(window_label(table, index + 1), ("maintenance", index))
        window = read_window(ck, scope, table, WINDOW_KEYS)
        named = table.get("monitors")
        if isinstance(named, list) and "monitors" not in scope.invalid:
            for position, name in enumerate(named):
                if isinstance(name, str) and name not in monitor_names:
                    ck.report(("maintenance", index, "monitors", position),
                              f"{scope.subject('monitors')} names {show(name)}, which is not a configured "
                              "monitor; expected one of the [[monitor]] names")
        if window is not None:
            windows.append(window)
    return windows


def file_digest(data: bytes) -> str:
    """The digest stored in Config.digest: sha256 of the file's bytes, hex."""
    return hashlib.sha256(data).hexdigest()


