"""`[[monitor]]` tables with `push = true`: monitors whose probe is the arrival of pings.

A push monitor has no target: what a probed monitor needs (url, timeout, method, body checks...)
is an error in one, with its line. Its thresholds default to 1 and 1 (one missed deadline or one
/fail opens an incident, one success resolves it); `[defaults]` thresholds and `degraded_after`
are for probed monitors. Its `push_token`, when set, is a secret: messages never repeat it.
"""

from __future__ import annotations

import re
from typing import Any, Final

from shiptrack_tui.config.checker import Checker, Scope
from shiptrack_tui.config.settings import Defaults
from shiptrack_tui.config.values import Bad, as_duration, as_int, kind, show
from shiptrack_tui.core.durations import format_duration
from shiptrack_tui.core.push import PUSH_TARGET, default_grace

PUSH_KEYS: Final = ("name", "push", "push_token", "interval", "grace", "degraded_after",
                    "failure_threshold", "recovery_threshold", "tags", "maintenance", "severity")
PUSH_ONLY_KEYS: Final = ("push_token", "grace")
MIN_PUSH_INTERVAL: Final = 1.0
TOKEN_MIN: Final = 16
TOKEN_MAX: Final = 128
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]+$")


def as_push_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"{show(value)} must be true or false, not {kind(value)}")
    return value


def as_push_token(value: object) -> str:
    """A token for the push URL; never echoed (it is a secret)."""
    rule = (f"{TOKEN_MIN} to {TOKEN_MAX} characters of A-Z, a-z, 0-9, \"_\" and \"-\" (or leave it out and "
            "ShipTrack generates one)")
    if not isinstance(value, str):
        raise Bad(f"must be a string of {rule}, not {kind(value)}")
    if not TOKEN_MIN <= len(value) <= TOKEN_MAX or not _TOKEN.match(value):
        raise Bad(f"must be {rule}; the one given is {len(value)} characters"
                  + ("" if _TOKEN.match(value) else " and has others"))
    return value


class PushReader:
    """Reads the push-only keys of push monitors; push tokens must be unique across monitors."""

    def __init__(self, ck: Checker, defaults: Defaults) -> None:
        self.ck = ck
        self.defaults = defaults
        self.tokens: dict[str, int] = {}  # token -> index of the first monitor that set it

    def refuse_push_keys(self, scope: Scope, table: dict[str, Any]) -> None:
        """In a probed monitor, the push-only keys are errors."""
        for key in PUSH_ONLY_KEYS:
            if key in table:
                self.ck.report((*scope.path, key), f"{scope.subject(key)} applies to push monitors only; "
                                                   "add push = true, or remove it")
                scope.invalid.add(key)

    def read(self, scope: Scope, table: dict[str, Any], probed_keys: tuple[str, ...]) -> dict[str, Any]:
        """The push monitor's own fields, for MonitorSpec (name, tags, severity and windows aside)."""
        ck = self.ck
        for key in table:
            if key in PUSH_KEYS:
                continue
            if key in probed_keys:
                ck.report((*scope.path, key), f"{scope.subject(key)} does not apply to a push monitor (it "
                                              "is checked by the pings its job sends to /push/<token>, "
                                              "not probed); remove it")
                scope.invalid.add(key)
        ck.known_keys(scope, {k: v for k, v in table.items() if k not in probed_keys}, PUSH_KEYS)
        token = ck.read(scope, table, "push_token", as_push_token)
        if token is not None:
            self.check_unique(scope, token)
        interval = ck.read(scope, table, "interval", lambda v: as_duration(v, MIN_PUSH_INTERVAL))
        interval = interval if interval is not None else self.defaults.interval
        grace = ck.read(scope, table, "grace", as_duration)
        degraded = ck.read(scope, table, "degraded_after", as_duration)
        failures = ck.read(scope, table, "failure_threshold", as_int)
        recoveries = ck.read(scope, table, "recovery_threshold", as_int)
        return {"url": PUSH_TARGET, "push": True, "push_token": token, "interval": interval,
                "grace": grace if grace is not None else default_grace(interval),
                "degraded_after": degraded,
                "failure_threshold": failures or 1, "recovery_threshold": recoveries or 1}

    def check_unique(self, scope: Scope, token: str) -> None:
        index = int(scope.path[1])
        first = self.tokens.setdefault(token, index)
        if first != index:
            line = self.ck.source.line(("monitor", first, "push_token"))
            self.ck.report((*scope.path, "push_token"),
                           f"{scope.subject('push_token')} is the same as the push_token at line {line}; "
                           "each push monitor needs its own (or leave it out and ShipTrack generates one)")
            scope.invalid.add("push_token")


def grace_text(interval: float, grace: float) -> str:
    """"every 1d, grace 1h" for messages and the CLI."""
    return f"every {format_duration(interval)}, grace {format_duration(grace)}"
