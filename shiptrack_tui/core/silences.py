"""Silences: an operator mutes a monitor's (or a tag's) notifications for a while.

A silence mutes notifications only: checks still run and are stored, incidents still open and
resolve. It expires at `until`, or, when it lasts "until resolved", once an incident of a covered
monitor resolves and no covered monitor has one open. Time is always an argument.

Silence requests travel as operator action rows; their note is `"<duration> <target>"`, e.g.
`"1h tag:prod"` or `"until-resolved monitor:api"` (an unsilence's note is just the target).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from shiptrack_tui.core.durations import DurationError, format_duration, parse_duration
from shiptrack_tui.core.model import Silence, SilenceScope

UNTIL_RESOLVED: Final = "until-resolved"
# What the dashboard offers: (label, seconds); None lasts until the incident resolves.
SILENCE_CHOICES: Final[tuple[tuple[str, float | None], ...]] = (
    ("15 min", 900.0),
    ("1 h", 3600.0),
    ("4 h", 14400.0),
    ("until resolved", None),
)


MAX_SECONDS: Final = 100 * 365 * 86400.0
"""The longest silence: beyond it the end would not be a date (year 9999) anything can print."""


class SilenceError(ValueError):
    """A silence request that cannot be read; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class SilenceTarget:
    """A monitor by name, or a tag."""

    scope: SilenceScope
    value: str

    @classmethod
    def parse(cls, text: str) -> SilenceTarget:
        """`api`, `monitor:api` or `tag:prod`."""
        text = text.strip()
        for scope in SilenceScope:
            prefix = f"{scope.value}:"
            if text.startswith(prefix):
                value = text.removeprefix(prefix).strip()
                break
        else:
            scope, value = SilenceScope.MONITOR, text
        if not value:
            raise SilenceError(f"{text!r} names nothing; expected a monitor name or tag:TAG")
        return cls(scope, value)

    def __str__(self) -> str:
        return f"{self.scope.value}:{self.value}"

    @property
    def label(self) -> str:
        return self.value if self.scope is SilenceScope.MONITOR else f"tag:{self.value}"

    def covers(self, monitor: str, tags: Iterable[str]) -> bool:
        if self.scope is SilenceScope.MONITOR:
            return monitor == self.value
        return self.value in tags


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    """What an operator asked for: a target and a length (None: until resolved)."""

    target: SilenceTarget
    seconds: float | None

    @property
    def length_text(self) -> str:
        """"for 1h" or "until resolved"."""
        return "until resolved" if self.seconds is None else f"for {duration_token(self.seconds)}"

    def to_note(self) -> str:
        length = UNTIL_RESOLVED if self.seconds is None else duration_token(self.seconds)
        return f"{length} {self.target}"

    @classmethod
    def from_note(cls, note: str | None) -> SilenceRequest:
        length, _, rest = (note or "").strip().partition(" ")
        if length == UNTIL_RESOLVED:
            seconds = None
        else:
            try:
                seconds = parse_duration(length)
            except DurationError as error:
                raise SilenceError(f"silence length: {error}") from None
            if seconds <= 0:
                raise SilenceError("a silence must last longer than 0s")
            if seconds > MAX_SECONDS:
                raise SilenceError(f"a silence lasts at most {format_duration(MAX_SECONDS)}; "
                                   "pause the monitor instead")
        return cls(SilenceTarget.parse(rest), seconds)

    def silence(self, silence_id: int, at: float, source: str) -> Silence:
        """The silence this request starts at `at`."""
        until = None if self.seconds is None else at + self.seconds
        return Silence(id=silence_id, scope=self.target.scope, value=self.target.value, created_at=at,
                       until=until, until_resolved=self.seconds is None, source=source)


def duration_token(seconds: float) -> str:
    """An exact duration string parse_duration reads back: "1h", "15m", "90s", "1500ms"."""
    millis = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def target_of(silence: Silence) -> SilenceTarget:
    return SilenceTarget(silence.scope, silence.value)


def is_active(silence: Silence, at: float) -> bool:
    return silence.ended_at is None and (silence.until is None or at < silence.until)


def muting(silences: Iterable[Silence], monitor: str, tags: Iterable[str], at: float) -> Silence | None:
    """The first active silence covering `monitor`, or None."""
    tag_set = frozenset(tags)
    for silence in silences:
        if is_active(silence, at) and target_of(silence).covers(monitor, tag_set):
            return silence
    return None


def expired(silences: Iterable[Silence], at: float) -> list[Silence]:
    """Silences whose time is up but that have not been ended yet."""
    return [s for s in silences if s.ended_at is None and s.until is not None and at >= s.until]


def ended_by_resolve(silences: Iterable[Silence], resolved: str, tags_of: Mapping[str, Collection[str]],
                     still_open: Collection[str]) -> list[Silence]:
    """"Until resolved" silences that end because `resolved`'s incident resolved: those covering it
    that cover no monitor in `still_open` (monitors that still have an incident open)."""
    ending = []
    for silence in silences:
        if silence.ended_at is not None or not silence.until_resolved:
            continue
        target = target_of(silence)
        if not target.covers(resolved, tags_of.get(resolved, ())):
            continue
        if any(target.covers(name, tags_of.get(name, ())) for name in still_open if name != resolved):
            continue
        ending.append(silence)
    return ending


def describe_length(silence: Silence) -> str:
    """"for 1h" or "until resolved"."""
    if silence.until_resolved or silence.until is None:
        return "until resolved"
    return f"for {format_duration(silence.until - silence.created_at)}"


def describe_start(silence: Silence) -> str:
    """The timeline's words: "tag:prod silenced for 1h by tui"."""
    return f"{target_of(silence).label} silenced {describe_length(silence)} by {silence.source}"


def describe_end(silence: Silence, why: str) -> str:
    """"silence on tag:prod ended (expired)"."""
    return f"silence on {target_of(silence).label} ended ({why})"


def expiry_text(silence: Silence, now: float) -> str:
    """What the header shows: "14m left" or "until resolved"."""
    if silence.until is None:
        return "until resolved"
    return f"{format_duration(max(0.0, silence.until - now))} left"
