"""`[[monitor]]` tables, read into core MonitorSpecs with `[defaults]` filled in."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.cluster import PLACEMENT_KEYS, read_placement
from shiptrack_tui.config.push import PushReader, as_push_flag
from shiptrack_tui.config.settings import Defaults
from shiptrack_tui.config.values import (
    Bad,
    as_duration,
    as_int,
    as_regex,
    as_severity,
    as_size,
    as_status,
    as_str,
    as_str_list,
    as_table,
    kind,
    show,
)
from shiptrack_tui.config.windows import MONITOR_KEYS as WINDOW_KEYS
from shiptrack_tui.config.windows import read_window, window_label
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.maintenance import MaintenanceWindow
from shiptrack_tui.core.model import DEFAULT_EXPECT_STATUS, DEFAULT_MAX_BODY_BYTES, MonitorSpec

MONITOR_KEYS: Final = (
    "name", "url", "method", "headers", "body", "expect_status", "body_contains", "body_regex",
    "interval", "timeout", "failure_threshold", "recovery_threshold", "degraded_after", "tags",
    "max_body", "maintenance", "severity", "push", *PLACEMENT_KEYS,
)
HTTP_ONLY_KEYS: Final = ("method", "headers", "body", "expect_status", "body_contains", "body_regex",
                         "max_body")
METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MIN_INTERVAL: Final = 1.0
_HEADER_NAME: Final = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def hide_password(url: str) -> str:
    """A monitor URL for messages: everything but a password in the userinfo is shown."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", url, flags=re.IGNORECASE)


def as_target(value: object) -> str:
    """An http(s):// URL with a host, or tcp://host:port."""
    url = as_str(value, '"https://example.com/health" or "tcp://db.internal:5432"')
    shown = show(hide_password(url))
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise Bad(f"{shown} contains spaces; percent-encode them (%20)")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("http", "https", "tcp"):
        raise Bad(f"{shown} must start with http://, https:// or tcp://")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise Bad(f"{shown} has an invalid port; expected a number from 1 to 65535") from None
    if not parts.hostname:
        raise Bad(f"{shown} has no host; expected something like {scheme}://example.com"
                  + (":5432" if scheme == "tcp" else "/health"))
    if scheme == "tcp":
        if port is None:
            raise Bad(f'{shown} has no port; expected tcp://host:port like "tcp://{parts.hostname}:5432"')
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise Bad(f'{shown} has a path; a tcp:// target is only host:port like "tcp://{parts.hostname}'
                      f':{port}"')
    if port == 0:
        raise Bad(f"{shown} has port 0; expected a number from 1 to 65535")
    return url


def as_name(value: object) -> str:
    name = as_str(value, '"api"')
    if name != name.strip() or any(not ch.isprintable() for ch in name):
        raise Bad(f"{show(value)} must be one line without leading or trailing spaces, like \"api\"")
    return name


def as_method(value: object) -> str:
    method = as_str(value, '"GET"').upper()
    if method not in METHODS:
        raise Bad(f"{show(value)} is not a supported method; expected one of {', '.join(METHODS)}")
    return method


def as_headers(value: object) -> tuple[tuple[str, str], ...]:
    table = as_table(value, '{ Authorization = "Bearer ..." }')
    headers = []
    for name, text in table.items():
        if not _HEADER_NAME.match(name):
            raise Bad(f'has an invalid header name {show(name)}; use letters, digits and "-"', at=(name,))
        if not isinstance(text, str):
            raise Bad(f'{name} must be a string, not {kind(text)}; quote it like "{text}"', at=(name,))
        if "\n" in text or "\r" in text:
            raise Bad(f"{name} must be a single line", at=(name,))
        headers.append((name, text))
    return tuple(headers)


class MonitorReader:
    """Reads every `[[monitor]]`, checking names are unique across them."""

    def __init__(self, ck: Checker, defaults: Defaults, defaults_timeout_set: bool) -> None:
        self.ck = ck
        self.defaults = defaults
        self.defaults_timeout_set = defaults_timeout_set
        self.first_index: dict[str, int] = {}
        self.windows: list[MaintenanceWindow] = []
        self.push = PushReader(ck, defaults)

    def read_all(self, raw: object) -> list[MonitorSpec]:
        if raw is None:
            return []
        if isinstance(raw, dict):
            self.ck.report(("monitor",), "[monitor] must be an array of tables; write [[monitor]] "
                                         "(double brackets) before each monitor")
            return []
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.ck.report(("monitor",), f"monitor must be an array of [[monitor]] tables, not {kind(raw)}")
            return []
        return [spec for index, table in enumerate(raw) if (spec := self.read(index, table))]

    def read(self, index: int, table: dict[str, Any]) -> MonitorSpec | None:
        ck = self.ck
        scope = Scope(f"monitor #{index + 1}", ("monitor", index))
        name = ck.read(scope, table, "name", as_name)
        if name is not None:
            scope.label = f'monitor "{name}"'
            self.check_unique(scope, name)
        elif "name" not in table:
            ck.report(scope.path, f'{scope.label} has no name; add name = "..." (unique; it identifies '
                                  "the monitor across restarts)")
        if ck.read(scope, table, "push", as_push_flag):
            return self.read_push(scope, table, name)
        self.push.refuse_push_keys(scope, table)
        ck.known_keys(scope, {k: v for k, v in table.items() if k not in scope.invalid}, MONITOR_KEYS)
        url = ck.read(scope, table, "url", as_target)
        if "url" not in table and "push" not in scope.invalid:
            ck.report(scope.path, f'{scope.label} has no url; add url = "https://..." or "tcp://host:port"')
        is_tcp = url is not None and url.lower().startswith("tcp://")
        if is_tcp:
            for key in HTTP_ONLY_KEYS:
                if key in table:
                    ck.report((*scope.path, key), f"{scope.subject(key)} applies to HTTP monitors only; "
                                                  "remove it (a tcp:// monitor only opens a connection)")
                    scope.invalid.add(key)
        http = {key: value for key, value in table.items() if not is_tcp or key not in HTTP_ONLY_KEYS}
        method = ck.read(scope, http, "method", as_method)
        headers = ck.read(scope, http, "headers", as_headers)
        body = ck.read(scope, http, "body", lambda v: as_str(v, '"{}"', nonempty=False))
        expect = ck.read(scope, http, "expect_status", as_status)
        contains = ck.read(scope, http, "body_contains", lambda v: as_str(v, '"ok"'))
        regex = ck.read(scope, http, "body_regex", as_regex)
        if "body_contains" in http and "body_regex" in http:
            ck.report((*scope.path, "body_regex"),
                      f"{scope.label}: set body_contains or body_regex, not both")
        max_body = ck.read(scope, http, "max_body", as_size)
        tags = ck.read(scope, table, "tags", lambda v: as_str_list(v, '["prod"]'))
        interval, timeout = self.timing(scope, table)
        failures = ck.read(scope, table, "failure_threshold", as_int)
        recoveries = ck.read(scope, table, "recovery_threshold", as_int)
        degraded = ck.read(scope, table, "degraded_after", as_duration)
        severity = ck.read(scope, table, "severity", as_severity)
        locations, confirm = read_placement(ck, scope, table, self.defaults)
        self.read_windows(scope, table.get("maintenance"), name)
        if name is None or url is None:
            return None
        defaults = self.defaults
        return MonitorSpec(
            name=name, url=url, interval=interval, timeout=timeout,
            failure_threshold=failures or defaults.failure_threshold,
            recovery_threshold=recoveries or defaults.recovery_threshold,
            degraded_after=degraded if degraded is not None else defaults.degraded_after,
            method=method or "GET", headers=headers or (), body=body,
            expect_status=expect or DEFAULT_EXPECT_STATUS, body_contains=contains, body_regex=regex,
            tags=tags or (), max_body_bytes=max_body or DEFAULT_MAX_BODY_BYTES,
            severity=severity or defaults.severity, locations=locations, confirm=confirm,
        )

    def read_push(self, scope: Scope, table: dict[str, Any], name: str | None) -> MonitorSpec | None:
        fields = self.push.read(scope, table, MONITOR_KEYS)
        tags = self.ck.read(scope, table, "tags", lambda v: as_str_list(v, '["cron"]'))
        severity = self.ck.read(scope, table, "severity", as_severity)
        self.read_windows(scope, table.get("maintenance"), name)
        if name is None:
            return None
        return MonitorSpec(name=name, tags=tags or (), severity=severity or self.defaults.severity, **fields)

    def check_unique(self, scope: Scope, name: str) -> None:
        if name in self.first_index:
            first = self.ck.source.line(("monitor", self.first_index[name], "name"))
            self.ck.report((*scope.path, "name"), f"{scope.label} is defined twice (first at line "
                                                  f"{first}); monitor names must be unique")
        else:
            self.first_index[name] = int(scope.path[1])

    def timing(self, scope: Scope, table: dict[str, Any]) -> tuple[float, float]:
        """The effective interval and timeout, reporting a timeout that does not fit the interval."""
        own_interval = self.ck.read(scope, table, "interval", lambda v: as_duration(v, MIN_INTERVAL))
        own_timeout = self.ck.read(scope, table, "timeout", as_duration)
        interval = own_interval if own_interval is not None else self.defaults.interval
        timeout = own_timeout if own_timeout is not None else self.defaults.timeout_for(interval)
        if timeout < interval or {"interval", "timeout"} & scope.invalid:
            return interval, timeout
        if own_timeout is not None:
            source = "" if own_interval is not None else ", from [defaults]"
            self.ck.report((*scope.path, "timeout"),
                           f"{scope.subject('timeout')} {show(table['timeout'])} must be below the interval "
                           f"({format_duration(interval)}{source})")
        elif own_interval is not None and self.defaults_timeout_set:
            self.ck.report((*scope.path, "interval"),
                           f"{scope.subject('interval')} {show(table['interval'])} must be above the timeout "
                           f"({format_duration(timeout)}, from [defaults]); set a shorter timeout for "
                           "this monitor")
        return interval, timeout

    def read_windows(self, scope: Scope, raw: object, name: str | None) -> None:
        if raw is None:
            return
        items = [raw] if isinstance(raw, dict) else raw
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            self.ck.report((*scope.path, "maintenance"),
                           f"{scope.subject('maintenance')} must be a list of tables like "
                           '[{ days = ["sun"], at = "03:00", duration = "1h" }], not ' + kind(raw))
            return
        for number, item in enumerate(items, start=1):
            path = (*scope.path, "maintenance") if isinstance(raw, dict) else (*scope.path, "maintenance",
                                                                                number - 1)
            window_scope = Scope(window_label(item, number, scope.label), path)
            owner = frozenset([name]) if name is not None else frozenset()
            window = read_window(self.ck, window_scope, item, WINDOW_KEYS, monitors=owner)
            if window is not None:
                self.windows.append(window)
