"""Keep secrets in notification URLs out of logs, timelines and command output.

Apprise URLs carry their secrets anywhere: the password (`json://user:pw@host`), the "host"
(`tgram://BOT_TOKEN/CHAT`), path segments (`slack://T000/B000/XXXX`) and query values
(`?-X-Token=...`). URLs are shown with config's `redact_url`, so `check-config`, `notify-test`
and the timeline print a URL the same way; free text (Apprise's log lines and error messages) is
scrubbed of whole URLs and of the secret parts of every URL handed to Apprise.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from shiptrack_tui.config.redact import redact_url

__all__ = ["SECRET_FILTER", "SecretFilter", "guard_apprise_logging", "redact_target", "redact_text",
           "redact_url", "secret_fragments"]

MASK: Final = "***"
URL_IN_TEXT: Final = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,30}://[^\s'\"<>)\]]+")
_HOSTNAME: Final = re.compile(r"^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)$", re.IGNORECASE)
# Fragments shorter than this are not hunted down in free text (they would mangle ordinary words);
# whole URLs found in text are always redacted.
_MIN_FRAGMENT: Final = 5


def _is_hostname(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))


def _split_authority(netloc: str) -> tuple[str | None, str]:
    userinfo, sep, hostport = netloc.rpartition("@")
    return (userinfo if sep else None), hostport


def redact_target(url: str) -> str:
    """A monitored URL for people to read: path kept, credentials and query values masked."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    userinfo, hostport = _split_authority(parts.netloc)
    netloc = hostport
    if userinfo is not None:
        user, has_pw, _ = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if has_pw else ''}@{hostport}"
    out = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        out += "?" + "&".join(f"{key}={MASK if value else ''}" for key, value in pairs)
    return out


def secret_fragments(url: str) -> set[str]:
    """The parts of a URL that may be secret, for scrubbing free text such as error messages."""
    _scheme, sep, rest = url.partition("://")
    if not sep:
        return {url} if len(url) >= _MIN_FRAGMENT else set()
    rest = rest.partition("#")[0]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, hostport = _split_authority(netloc)
    found = {url, rest}
    if userinfo:
        found.update(userinfo.split(":", 1))
    host, _, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
    if not _is_hostname(host):
        found.add(host)
    if port and not port.isdigit():
        found.add(port)  # "tgram://123456:AAH-token/..." keeps its secret where a port would be
    found.update(seg for seg in path.split("/") if seg)
    found.update(value for _, value in parse_qsl(query, keep_blank_values=True))
    return {part for part in found if len(part) >= _MIN_FRAGMENT}


def redact_text(text: str, secrets: set[str] | frozenset[str] = frozenset()) -> str:
    """Free text with every URL in it redacted and every known secret fragment masked."""
    text = URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """Rewrites log records so they never carry a full secret URL or a registered secret fragment."""

    def __init__(self) -> None:
        super().__init__("shiptrack-redact")
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def register(self, url: str) -> None:
        """Remember the secret parts of a URL we are about to hand to Apprise."""
        fragments = secret_fragments(url)
        if not fragments <= self._secrets:
            with self._lock:
                self._secrets = self._secrets | fragments

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep Apprise's text out rather than crash logging
            message = str(record.msg)
        cleaned = redact_text(message, self._secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


SECRET_FILTER: Final = SecretFilter()
# A logger's filters see only the records logged on it, not its children's: name each one that
# logs request lines ("POST /hook/<token>?X-Token=..." comes from urllib3.connectionpool).
_GUARDED_LOGGERS: Final = ("apprise", "urllib3", "urllib3.connectionpool", "urllib3.connection",
                           "urllib3.util.retry", "requests")
_configured = False


def guard_apprise_logging(level: int = logging.WARNING) -> SecretFilter:
    """Quiet Apprise (its DEBUG lines echo payloads and request paths) and scrub what it does log.

    Idempotent. The filter sits on the loggers themselves, so it also cleans the entries Apprise
    captures for `AppriseResult.logs()`.
    """
    global _configured
    if not _configured:
        children = [name for name in logging.root.manager.loggerDict
                    if name.startswith(tuple(f"{guarded}." for guarded in _GUARDED_LOGGERS))]
        for name in {*_GUARDED_LOGGERS, *children}:
            logging.getLogger(name).addFilter(SECRET_FILTER)
        logging.getLogger("apprise").setLevel(level)
        logging.getLogger("urllib3").setLevel(max(level, logging.WARNING))
        _configured = True
    return SECRET_FILTER
