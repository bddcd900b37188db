"""Where every key and value of a TOML document sits, so each problem can name its line.

Neither tomllib nor tomlkit reports positions for keys, so this is a small scanner over text that
tomllib has already accepted: it only has to find things, never to reject them. Paths mirror the
parsed data: table keys are strings, array (and array-of-tables) positions are ints, e.g.
`("monitor", 2, "timeout")` or `("monitor", 0, "maintenance", 1, "at")`.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field
from typing import Final, TypeAlias

KeyPath: TypeAlias = tuple[str | int, ...]

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]*")
_SCALAR: Final = re.compile(r"[^,\]}#\r\n]*")
_BLANK: Final = re.compile(r"(?:[ \t]+|#[^\n]*)*")
_BLANK_LINES: Final = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_STRINGS: Final = {
    '"""': re.compile(r'"""(?:[^\\]|\\.)*?"{3,5}', re.DOTALL),
    "'''": re.compile(r"'''.*?'{3,5}", re.DOTALL),
    '"': re.compile(r'"(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"'[^'\n]*'"),
}


@dataclass(frozen=True, slots=True)
class Header:
    """A table header as written: `[a.b]` or `[[a]]`, resolved to its data path."""

    path: KeyPath
    array: bool
    line: int


@dataclass(frozen=True, slots=True)
class Statement:
    """A `key = value` line (or lines) directly in a table, not inside an inline table.

    Lines are 1-based and inclusive; `value_start`/`value_end` are offsets into the text.
    """

    path: KeyPath
    first_line: int
    last_line: int
    value_start: int
    value_end: int


@dataclass(slots=True)
class SourceMap:
    """Lines of keys, values and table headers in one document."""

    lines: dict[KeyPath, int] = field(default_factory=dict)
    headers: list[Header] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> SourceMap:
        scanner = _Scanner(text)
        scanner.run()
        return cls(scanner.lines, scanner.headers, scanner.statements)

    def line(self, path: KeyPath) -> int:
        """The line of `path`, or of its closest enclosing key or table; 1 when nothing matches."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def split_arrays(self) -> list[tuple[KeyPath, int, int]]:
        """Arrays of tables interrupted by another table: (array path, interrupting line, resumed line).

        tomlkit can reorder such a layout when it writes (DESIGN §9), so editors refuse it.
        """
        found: list[tuple[KeyPath, int, int]] = []
        last_seen: dict[KeyPath, int] = {}  # array path -> index in self.headers of its latest element
        for position, header in enumerate(self.headers):
            if not header.array:
                continue
            base = header.path[:-1]
            if base in last_seen:
                between = self.headers[last_seen[base] + 1 : position]
                strangers = [h for h in between if h.path[: len(base)] != base]
                if strangers:
                    found.append((base, strangers[0].line, header.line))
            last_seen[base] = position
        return found


class _Scanner:
    """Walks valid TOML once, recording the first line of every key, value and table."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.lines: dict[KeyPath, int] = {}
        self.headers: list[Header] = []
        self.statements: list[Statement] = []
        self.array_counts: dict[KeyPath, int] = {}

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def record(self, path: KeyPath, pos: int) -> None:
        line = self.line_at(pos)
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], line)

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (when allowed) line breaks."""
        pattern = _BLANK_LINES if newlines else _BLANK
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def run(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table, statement=True)

    def header(self) -> KeyPath:
        start = self.pos
        array = self.text.startswith("[[", self.pos)
        self.pos += 2 if array else 1
        keys = self.key()
        self.pos += 2 if array else 1
        path: KeyPath = ()
        for number, key in enumerate(keys, start=1):
            path += (key,)
            if array and number == len(keys):
                index = self.array_counts.get(path, 0)
                self.array_counts[path] = index + 1
                path += (index,)
            elif path in self.array_counts:
                path += (self.array_counts[path] - 1,)
        self.lines[path] = self.line_at(start)
        self.record(path, start)
        self.headers.append(Header(path, array, self.line_at(start)))
        return path

    def key(self) -> tuple[str, ...]:
        """A possibly dotted, possibly quoted key, decoded."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            ch = self.peek()
            if ch in "\"'":
                start = self.pos
                self.string()
                raw = self.text[start : self.pos]
                parts.append(str(tomllib.loads(f"k = {raw}")["k"]))
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                end = match.end() if match else self.pos
                parts.append(self.text[self.pos : end])
                self.pos = end
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def key_value(self, table: KeyPath, statement: bool = False) -> None:
        start = self.pos
        path = table + self.key()
        self.record(path, start)
        self.skip_blank(newlines=False)
        self.pos += 1  # "="
        self.skip_blank(newlines=False)
        value_start = self.pos
        self.value(path)
        value_end = self.pos
        if statement:
            while value_end > value_start and self.text[value_end - 1] in " \t":
                value_end -= 1
            self.statements.append(
                Statement(path, self.line_at(start), self.line_at(value_end - 1), value_start, value_end)
            )

    def value(self, path: KeyPath) -> None:
        self.record(path, self.pos)
        ch = self.peek()
        if ch in "\"'":
            self.string()
        elif ch == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in ("]", ""):
                    self.pos += 1
                    return
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() in ("}", ""):
                    self.pos += 1
                    return
                self.key_value(path)
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        else:
            match = _SCALAR.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos

    def string(self) -> None:
        """Step over a string of any of the four kinds (the text is valid, so it is closed)."""
        for opener in ('"""', "'''", '"', "'"):
            if self.text.startswith(opener, self.pos):
                match = _STRINGS[opener].match(self.text, self.pos)
                self.pos = match.end() if match else len(self.text)
                return
