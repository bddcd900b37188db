"""Deliver one message to one Apprise URL and say plainly what happened.

Apprise 2.x `notify()` returns an `AppriseResult`, not a bool. Its status is SUCCESS, FAILURE,
NOMATCH (nothing loaded: here, a URL Apprise could not use) or TIMEOUT. A TIMEOUT means Apprise
stopped waiting, not that nothing arrived: it is reported as UNKNOWN and retried, because a
duplicate is acceptable and silence is not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import apprise
from apprise import AppriseResultStatus

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.notify.redact import guard_apprise_logging, redact_text

DEFAULT_TIMEOUT: Final = 10.0
_CACHE_SIZE: Final = 256


class Outcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"  # the service said no, or could not be reached: retry
    UNKNOWN = "unknown"  # no answer in time: it may have arrived; retry
    UNUSABLE = "unusable"  # Apprise cannot use this URL at all: retrying will not help


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    why: str = ""  # for people; already redacted

    @property
    def delivered(self) -> bool:
        return self.outcome is Outcome.DELIVERED


class _Notifiers:
    """One `apprise.Apprise` per URL, built once: parsing a URL loads its plugin."""

    def __init__(self) -> None:
        self._cache: OrderedDict[str, apprise.Apprise | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> apprise.Apprise | None:
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        notifier: apprise.Apprise | None = apprise.Apprise()
        assert notifier is not None
        if not notifier.add(url):
            notifier = None
        with self._lock:
            self._cache[url] = notifier
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return notifier


_NOTIFIERS: Final = _Notifiers()


def deliver(url: str, title: str, body: str, notify_type: str, timeout: float = DEFAULT_TIMEOUT) -> Delivery:
    """Send one message to one URL through Apprise, waiting at most about `timeout` seconds.

    Never raises: whatever went wrong comes back as a `Delivery` whose `why` names no secret.
    """
    guard = guard_apprise_logging()
    guard.register(url)
    try:
        notifier = _NOTIFIERS.get(url)
        if notifier is None:
            return Delivery(Outcome.UNUSABLE, "Apprise cannot use this URL (unknown service or malformed)")
        result = notifier.notify(body=body, title=title, notify_type=notify_type, timeout=timeout)
    except Exception as exc:  # a plugin or Apprise itself crashing must not kill the sender
        return Delivery(Outcome.FAILED, redact_text(f"{type(exc).__name__}: {exc}", guard.secrets))
    status = result.status
    if status is AppriseResultStatus.SUCCESS:
        return Delivery(Outcome.DELIVERED)
    if status is AppriseResultStatus.TIMEOUT:
        return Delivery(
            Outcome.UNKNOWN,
            f"no answer within {format_duration(timeout)} (it may have arrived; will send again)",
        )
    if status is AppriseResultStatus.NOMATCH:
        return Delivery(Outcome.UNUSABLE, "Apprise found no service to notify for this URL")
    return Delivery(Outcome.FAILED, _why(result, guard.secrets))


def _why(result: apprise.AppriseResult, secrets: frozenset[str]) -> str:
    """The most telling line Apprise logged for a failed call (warnings and errors only)."""
    # Apprise captures WARNING and above for a call by default; entry.level is a level name.
    messages = [str(entry.message) for entry in result.logs()]
    if not messages:
        return "the service refused the message"
    # The last line is usually the cause ("Failed to send ...: Internal server error., error=500.").
    text = " ".join(messages[-1].split()).rstrip(".")
    return redact_text(text, secrets)[:300]
