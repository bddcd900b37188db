"""An incident's timeline as the incidents pane shows it: one line per entry, in words, with every
attempt to deliver one notification folded into one line that keeps its count up to date.

The sender records each attempt (`open → slack://T000/***: attempt 6 failed: …; next try in 40s`),
so a notifier that is down writes an entry every few seconds to minutes: shown one by one they
pushed everything else out of the pane. `shiptrack incidents --json` still lists every entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.model import TimelineEntry, TimelineKind
from shiptrack_tui.notify.services import scheme_of

KIND_WORDS: Final = {
    TimelineKind.OPENED: "opened",
    TimelineKind.ACKNOWLEDGED: "acknowledged",
    TimelineKind.NOTE: "note",
    TimelineKind.NOTIFIED: "notified",
    TimelineKind.NOTIFY_RETRY: "notification failed, will retry",
    TimelineKind.NOTIFY_FAILED: "notification not delivered",
    TimelineKind.REMINDER: "reminder",
    TimelineKind.RESOLVED: "resolved",
    TimelineKind.SILENCED: "silenced",
    TimelineKind.SILENCE_ENDED: "silence ended",
    TimelineKind.UPDATE: "update",  # the status posted replaces it: "identified by alice (dashboard): …"
    TimelineKind.SEVERITY: "severity changed",
}
SYMBOLS: Final = {
    TimelineKind.OPENED: "✖",
    TimelineKind.ACKNOWLEDGED: "✔",
    TimelineKind.NOTE: "✎",
    TimelineKind.NOTIFIED: "✉",
    TimelineKind.NOTIFY_RETRY: "↻",
    TimelineKind.NOTIFY_FAILED: "⚠",
    TimelineKind.REMINDER: "⏰",
    TimelineKind.RESOLVED: "●",
    TimelineKind.SILENCED: "⊘",
    TimelineKind.SILENCE_ENDED: "◌",
    TimelineKind.UPDATE: "»",
    TimelineKind.SEVERITY: "◆",
}
NOTIFY_KINDS: Final = frozenset({TimelineKind.NOTIFIED, TimelineKind.NOTIFY_RETRY,
                                 TimelineKind.NOTIFY_FAILED})
# The notification titles' words for each transition (`[OPEN] api`, `[RESOLVED] api`).
TITLES: Final = {"open": "OPEN", "ack": "ACK", "resolve": "RESOLVED", "reminder": "REMINDER"}
WHY_LENGTH: Final = 60

# What `notify.sender.judge` writes: "<transition> → <redacted url>: <what happened>".
_ATTEMPT: Final = re.compile(r"^(?P<transition>[a-z]+) → (?P<url>\S+): (?P<rest>.*)$", re.DOTALL)
_DELIVERED: Final = re.compile(r"^delivered \(attempt (?P<n>\d+)\)$")
_RETRY: Final = re.compile(r"^attempt (?P<n>\d+) failed: (?P<why>.*); next try in (?P<wait>[0-9.a-z ]+)$",
                           re.DOTALL)
_GAVE_UP: Final = re.compile(r"^gave up after (?P<n>\d+) attempts over (?P<over>[0-9.a-z ]+?): (?P<why>.*)$",
                             re.DOTALL)
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True, slots=True)
class Line:
    """One line of an incident's timeline. A pending retry counts down to `retry_at`."""

    at: float
    symbol: str
    text: str
    retry_at: float | None = None
    why: str = ""

    def render(self, now: float) -> str:
        text = self.text
        if self.retry_at is not None:
            wait = self.retry_at - now
            text += f", next in {format_duration(math.ceil(wait))}" if wait > 0 else ", retrying now"
        return f"{text} ({self.why})" if self.why else text


@dataclass(frozen=True, slots=True)
class Attempt:
    """One recorded delivery attempt, read back from its timeline entry."""

    transition: str
    url: str
    outcome: TimelineKind
    number: int | None
    why: str = ""
    wait: float | None = None
    over: str = ""


def parse_attempt(entry: TimelineEntry) -> Attempt | None:
    """The attempt an entry records, or None for other entries and details in another form."""
    if entry.kind not in NOTIFY_KINDS or not entry.detail:
        return None
    head = _ATTEMPT.match(entry.detail)
    if head is None:
        return None
    transition, url, rest = head["transition"], head["url"], head["rest"]
    if entry.kind is TimelineKind.NOTIFIED and (found := _DELIVERED.match(rest)):
        return Attempt(transition, url, entry.kind, int(found["n"]))
    if entry.kind is TimelineKind.NOTIFY_RETRY and (found := _RETRY.match(rest)):
        return Attempt(transition, url, entry.kind, int(found["n"]), found["why"], _seconds(found["wait"]))
    if entry.kind is TimelineKind.NOTIFY_FAILED and (found := _GAVE_UP.match(rest)):
        return Attempt(transition, url, entry.kind, int(found["n"]), found["why"], over=found["over"])
    return Attempt(transition, url, entry.kind, None, rest)


def _seconds(text: str) -> float | None:
    parts = _DURATION_PART.findall(text.replace(" ", ""))
    return sum(float(value) * _UNITS[unit] for value, unit in parts) if parts else None


def _short(why: str) -> str:
    why = " ".join(why.split())
    return why if len(why) <= WHY_LENGTH else why[:WHY_LENGTH - 1].rstrip() + "…"


def plain_line(entry: TimelineEntry) -> Line:
    """An entry in words: `note: rolled back`, `identified by alice (dashboard): bad deploy`."""
    words = KIND_WORDS.get(entry.kind, entry.kind.value.replace("_", " "))
    if entry.kind is TimelineKind.UPDATE and entry.status:
        words = entry.status
    if entry.by:  # an operator's entry: "acknowledged by alice (dashboard): on it"
        words = f"{words} by {entry.by}"
    text = f"{words}: {entry.detail}" if entry.detail else words
    return Line(entry.at, SYMBOLS.get(entry.kind, "·"), text)


def notification_schemes(events: Sequence[TimelineEntry]) -> set[str]:
    """The URL schemes of the notifications these entries record (for naming their services)."""
    return {scheme_of(attempt.url) for entry in events if (attempt := parse_attempt(entry)) is not None}


@lru_cache(maxsize=512)
def timeline_lines(events: tuple[TimelineEntry, ...],
                   names: tuple[tuple[str, str], ...] = ()) -> tuple[Line, ...]:
    """The incident's lines, oldest first. Every attempt to deliver one message (a transition to
    a URL) is one line at its latest attempt, until it is delivered or given up; `names` maps a
    URL scheme to its service's name (`slack` → "Slack")."""
    labels = _labels(events, dict(names))
    lines: list[Line | None] = []
    running: dict[tuple[str, str], tuple[int, int]] = {}  # (transition, url) → (line index, attempts)
    for entry in events:
        attempt = parse_attempt(entry)
        if attempt is None:
            lines.append(plain_line(entry))
            continue
        key = (attempt.transition, attempt.url)
        index, counted = running.pop(key, (None, 0))
        if index is not None:
            lines[index] = None  # the notification's line moves to its latest attempt
        attempts = attempt.number if attempt.number is not None else counted + 1
        line = _attempt_line(entry, attempt, labels[attempt.url], attempts)
        if attempt.outcome is TimelineKind.NOTIFY_RETRY:
            running[key] = (len(lines), attempts)
        lines.append(line)
    return tuple(line for line in lines if line is not None)


def _attempt_line(entry: TimelineEntry, attempt: Attempt, label: str, attempts: int) -> Line:
    title = TITLES.get(attempt.transition, attempt.transition.upper())
    what = f"{label} [{title}]"
    symbol = SYMBOLS[attempt.outcome]
    plural = "attempt" if attempts == 1 else "attempts"
    if attempt.outcome is TimelineKind.NOTIFIED:
        text = f"{what}: sent" if attempts <= 1 else f"{what}: sent on attempt {attempts}"
        return Line(entry.at, symbol, text)
    if attempt.outcome is TimelineKind.NOTIFY_FAILED:
        over = f" over {attempt.over}" if attempt.over else ""
        return Line(entry.at, symbol, f"{what}: not delivered, gave up after {attempts} {plural}{over}",
                    why=_short(attempt.why))
    # The reason stays out of a retry's line (Apprise's are long); `incidents --json` has each.
    line = Line(entry.at, symbol, f"{what}: {attempts} {plural} failed")
    return replace(line, retry_at=entry.at + attempt.wait) if attempt.wait is not None else line


def _labels(events: Sequence[TimelineEntry], names: Mapping[str, str]) -> dict[str, str]:
    """URL → its service's name; URLs of one service in the same incident add their host."""
    urls = list(dict.fromkeys(a.url for e in events if (a := parse_attempt(e)) is not None))
    named = {url: names.get(scheme_of(url)) or scheme_of(url) or "notification" for url in urls}
    shared = {name for name in named.values() if list(named.values()).count(name) > 1}
    return {url: f"{name} {_host(url)}" if name in shared else name for url, name in named.items()}


def _host(url: str) -> str:
    """The redacted URL's host part (`slack://T000/***` → `T000`): already free of secrets."""
    return url.partition("://")[2].partition("/")[0] or url
