"""Collects every problem in a document, each placed on the line of the key it is about."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shiptrack_tui.config.sourcemap import KeyPath, SourceMap
from shiptrack_tui.config.values import Bad

T = TypeVar("T")


@dataclass(slots=True)
class Scope:
    """A table being checked: how messages name it, and where its data sits."""

    label: str  # '[defaults]', 'monitor "api"', '[[maintenance]] #2'
    path: KeyPath
    invalid: set[str] = field(default_factory=set)

    def subject(self, key: str) -> str:
        return f"{self.label} {key}" if self.label.endswith("]") else f"{self.label}: {key}"


class Checker:
    """The problems found so far, plus helpers that read keys and report what is wrong."""

    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.text = text
        self._source: SourceMap | None = None
        self._problems: list[tuple[int, int, str]] = []

    @property
    def source(self) -> SourceMap:
        """Built on the first problem: a valid file never pays for the scan."""
        if self._source is None:
            self._source = SourceMap.of(self.text)
        return self._source

    def report(self, path: KeyPath, message: str) -> None:
        line = self.source.line(path)
        self._problems.append((line, len(self._problems), f"{self.display}:{line}: {message}"))

    def report_at_line(self, line: int, message: str) -> None:
        self._problems.append((line, len(self._problems), f"{self.display}:{line}: {message}"))

    @property
    def problems(self) -> list[str]:
        return [text for _, _, text in sorted(self._problems)]

    def known_keys(self, scope: Scope, table: dict[str, Any], allowed: Sequence[str]) -> None:
        """Report every key that is not in `allowed`, suggesting the closest one."""
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.report((*scope.path, key),
                        f'unknown key "{key}" in {scope.label}; expected one of {", ".join(allowed)}{hint}')
            scope.invalid.add(key)

    def read(self, scope: Scope, table: dict[str, Any], key: str, reader: Callable[[Any], T]) -> T | None:
        """`reader(table[key])`, None when the key is absent; a Bad value is reported and gives None."""
        if key not in table:
            return None
        try:
            return reader(table[key])
        except Bad as bad:
            self.report((*scope.path, key, *bad.at), f"{scope.subject(key)} {bad.message}")
            scope.invalid.add(key)
            return None
