"""Config-time checks of notification settings, phrased for the `PATH:LINE: ...` error lines."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from shiptrack_tui.notify.redact import URL_IN_TEXT, guard_apprise_logging, redact_url


def check_notify_url(url: str) -> str | None:
    """None if Apprise understands the URL, else one sentence saying what is wrong (URL redacted)."""
    import apprise

    if not isinstance(url, str) or not url.strip():
        return "a notification URL cannot be empty; expected an Apprise URL like \"json://host:port/path\""
    from shiptrack_tui.notify.routing import split_urls

    parts = split_urls(url)
    if len(parts) > 1:  # "json://a, json://b": Apprise sends to each, and so do we (a row per URL)
        return next((problem for part in parts if (problem := check_notify_url(part))), None)
    guard_apprise_logging().register(url)
    shown = redact_url(url)
    if "://" not in url:
        return f"{shown!r} is not an Apprise URL; expected scheme://..., e.g. \"slack://T000/B000/XXXX\""
    try:
        service = apprise.Apprise.instantiate(url)
    except Exception as exc:  # Apprise plugins raise assorted errors on odd input
        return f"Apprise cannot use the notification URL {shown}: {type(exc).__name__}"
    if service is None:
        scheme = url.partition("://")[0].lower()
        if not _known_scheme(scheme):
            return (f"unknown notification service {scheme!r} in {shown}; "
                    "expected one of Apprise's URL schemes (see `apprise --details`)")
        return f"Apprise cannot parse the notification URL {shown}; check the {scheme}:// service's URL form"
    return None


def _known_scheme(scheme: str) -> bool:
    from apprise.manager_plugins import NotificationManager

    # NotificationManager is a singleton: this is the registry Apprise.instantiate consults.
    return scheme in NotificationManager()


def check_apprise_config(path: str | os.PathLike[str]) -> str | None:
    """None if the Apprise config file exists and Apprise can use every URL in it, else what is
    wrong: an entry Apprise skips is a channel that would never be told, so it is an error."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        return f"the Apprise config file {resolved} does not exist; expected a readable YAML or TEXT file"
    if not os.access(resolved, os.R_OK):
        return f"the Apprise config file {resolved} is not readable by this user"
    usable, skipped = _parse_apprise_config(resolved)
    if skipped:
        return (f'"{resolved.name}" has entries Apprise cannot use: {", ".join(skipped)}; '
                "fix or remove them (`apprise --details` lists every URL form)")
    if not usable:
        return f"the Apprise config file {resolved} holds no usable notification URL"
    return None


_SKIPPED: tuple[re.Pattern[str], ...] = (
    # Apprise's own error lines (apprise 2.x) for an entry it drops while loading a config file.
    re.compile(r"^Could not load URL (?P<url>\S+) on line (?P<line>\d+)"),
    re.compile(r"^Unparseable URL (?P<url>\S+?),?$"),
    re.compile(r"^Could not load Apprise YAML configuration (?P<entry>entry #\d+)"),
)


class _Capture(logging.Filter):
    """Takes Apprise's log records from this thread (already redacted by the secret filter) out
    of the log: the check reports them in its own one line. Other threads' records pass."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:
            return True
        self.messages.append(record.getMessage())
        return False


def _parse_apprise_config(path: Path) -> tuple[int, list[str]]:
    """How many services Apprise loads from the file, and each entry it skipped, as
    `line N (scheme://host/***)` or `entry #N` (URLs redacted: the file holds secrets)."""
    import apprise

    guard_apprise_logging()
    capture = _Capture()
    logger = logging.getLogger("apprise")
    logger.addFilter(capture)
    try:
        config = apprise.AppriseConfig()
        config.add(str(path))
        usable = len(config.services())
    finally:
        logger.removeFilter(capture)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    skipped: list[str] = []
    places: set[str] = set()  # Apprise may log one entry twice (what failed, then where)
    for message in capture.messages:
        for pattern in _SKIPPED:
            found = pattern.match(message)
            if found is None:
                continue
            fields = found.groupdict()
            url = fields.get("url")
            if url is not None:
                url = redact_url(url)
            line = fields.get("line") or (_line_of(url, lines) if url else None)
            where = f"line {line}" if line else str(fields.get("entry", "an entry"))
            if where not in places:
                places.add(where)
                skipped.append(f"{where} ({url})" if url else where)
            break
    return usable, skipped


def _line_of(shown: str, lines: list[str]) -> int | None:
    """The line holding the URL Apprise logged as `shown` (its log lines come redacted)."""
    for number, text in enumerate(lines, start=1):
        if any(redact_url(url) == shown for url in URL_IN_TEXT.findall(text)):
            return number
    return None
