"""Monitor edits written back into the user's file, keeping every other byte as it was.

tomlkit renders the values, but the splicing is done here, on lines located by the source map:
tomlkit's own `dumps` files a new key after comments that introduce the next table, and can
reorder an array of tables that another table splits (DESIGN §9). Edits are validated with the
loader before anything is written, and written atomically; a file that changed on disk since it
was read is never overwritten (`ConfigConflict`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import tomlkit

from shiptrack_tui.config.errors import ConfigConflict, ConfigError
from shiptrack_tui.config.loader import NotifyUrlCheck, parse_config
from shiptrack_tui.config.settings import Config, Defaults
from shiptrack_tui.config.sourcemap import Header, KeyPath, SourceMap
from shiptrack_tui.core.model import DEFAULT_EXPECT_STATUS, DEFAULT_MAX_BODY_BYTES, MonitorSpec

NEW_FILE_MODE: Final = 0o600
_BARE_KEY: Final = re.compile(r"^[A-Za-z0-9_-]+$")
_FIRST_KEYS: Final = ("name", "url")


class MonitorNotFound(LookupError):
    """No monitor by that name in the file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such monitor"


_READS_BETTER_LITERAL: Final = re.compile(r"""^(?=.*["\\])[^'\x00-\x1f\x7f]*$""")
"""A string with a quote or a backslash, and nothing a TOML literal string cannot hold."""


def render_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else tomlkit.string(key).as_string()


def render_value(value: Any) -> str:
    """TOML text for a value; tables become inline tables so a monitor stays one block."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{render_key(str(k))} = {render_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, str) and _READS_BETTER_LITERAL.match(value):
        # JSON bodies and regular expressions read as typed in a literal string, as a person writes
        # them: '"status":\s*"ok"' rather than "\"status\":\\s*\"ok\"".
        return tomlkit.string(value, literal=True).as_string()
    return tomlkit.item(value).as_string()


class ConfigEditor:
    """One file's text, edited in memory and saved only if it still validates and nobody else wrote.

    `expected_digest` (e.g. `Config.digest` from when the app loaded the file) makes the editor
    refuse at once if the file has changed since then.
    """

    def __init__(self, path: str | os.PathLike[str], expected_digest: str | None = None,
                 check_notify_url: NotifyUrlCheck | None = None) -> None:
        self.display = os.fspath(path)
        self.path = Path(self.display).expanduser()
        self.check_notify_url = check_notify_url
        self.original = _read_or_none(self.path)
        self.digest = None if self.original is None else hashlib.sha256(self.original).hexdigest()
        if expected_digest is not None and expected_digest != self.digest:
            raise ConfigConflict(f"{self.display} changed on disk since it was loaded; reload it and "
                                 "make the change again")
        self.text = "" if self.original is None else self._decode(self.original)
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        self._inserted: tuple[int, int] | None = None  # (first 1-based line, count) add_monitor wrote

    # -- edits -------------------------------------------------------------------------------
    def add_monitor(self, fields: Mapping[str, Any]) -> None:
        """Append a `[[monitor]]` table after the last monitor (or at the end of the file)."""
        data, source = self._parsed()
        name = fields.get("name")
        existing = data.get("monitor")
        for index, table in enumerate(existing if isinstance(existing, list) else []):
            if isinstance(table, dict) and name is not None and table.get("name") == name:
                line = source.line(("monitor", index, "name"))
                raise ConfigError([f'{self.display}:{line}: a monitor named "{name}" already exists; pick '
                                   "another name or edit that one"])
        ordered = [*(k for k in _FIRST_KEYS if k in fields), *(k for k in fields if k not in _FIRST_KEYS)]
        block = ["[[monitor]]", *(f"{render_key(k)} = {render_value(fields[k])}" for k in ordered
                                   if fields[k] is not None)]
        lines = self._lines()
        monitors = [h for h in source.headers if h.path[:1] == ("monitor",)]
        if monitors:
            last = monitors[-1].path[:2]
            end = _spans(lines, source, last)[-1][1]
            after = lines[end] if end < len(lines) else None
            new = ["\n", *(f"{line}\n" for line in block)]
            if after is not None and after.strip():
                new.append("\n")
        else:
            self._ensure_final_newline()
            prefix = ["\n"] if self.text.strip() and self._lines()[-1].strip() else []
            end = len(self._lines())
            new = [*prefix, *(f"{line}\n" for line in block)]
        self._splice(end, end, new)
        self._inserted = (end + 1, len(new))

    def remove_monitor(self, name: str) -> None:
        """Delete the monitor's table, its sub-tables and the comments that belong to them."""
        _, source = self._parsed()
        index = self._index(name)
        lines = self._lines()
        spans = _spans(lines, source, ("monitor", index))
        start, end = spans[0][0], spans[-1][1]
        before_blank = start == 0 or not lines[start - 1].strip()
        if end < len(lines) and not lines[end].strip() and before_blank:
            end += 1  # do not leave two blank lines where the monitor was
        elif end >= len(lines) and start > 0 and not lines[start - 1].strip():
            start -= 1  # nor a blank line at the end of the file
        self._splice(start, end, [])

    def update_monitor(self, name: str, fields: Mapping[str, Any]) -> None:
        """Set keys (a value of None removes the key); other lines stay as they were."""
        for key, value in fields.items():
            self._set(name, key, value)

    # -- results -----------------------------------------------------------------------------
    def validate(self) -> Config:
        """The edited text as a Config; ConfigError if it would not load.

        Problems cite lines of the edited text (the dashboard's form maps them to its fields);
        `save` cites the file as it is on disk.
        """
        return parse_config(self.text.encode(), self.path, display=self.display,
                            check_notify_url=self.check_notify_url)

    def _as_in_file(self, problem: str) -> str:
        """A problem's line as the file on disk has it: the added monitor is not in the file yet."""
        assert self._inserted is not None
        first, count = self._inserted
        prefix = f"{self.display}:"
        head, _, rest = problem[len(prefix):].partition(": ")
        if not problem.startswith(prefix) or not head.isdigit():
            return problem
        line = int(head)
        if first <= line < first + count:
            return f"{self.display}: the new monitor was not added: {rest}"
        return f"{prefix}{line - count if line >= first + count else line}: {rest}"

    def save(self) -> Config:
        """Validate, check nobody else wrote the file, then replace it atomically."""
        try:
            config = self.validate()
        except ConfigError as error:
            if self._inserted is None:
                raise
            raise ConfigError([self._as_in_file(problem) for problem in error.problems]) from None
        current = _read_or_none(self.path)
        if (None if current is None else hashlib.sha256(current).hexdigest()) != self.digest:
            raise ConfigConflict(f"{self.display} changed on disk since it was read; nothing was written. "
                                 "Reload it and make the change again")
        _write_atomically(self.path, self.text.encode())
        return config

    # -- internals ---------------------------------------------------------------------------
    def _decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError([f"{self.display}:1: the file is not UTF-8 text; save it as UTF-8"]) from None

    def _parsed(self) -> tuple[dict[str, Any], SourceMap]:
        """The current text parsed; refuses syntax errors and split [[monitor]] arrays."""
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError:
            self.validate()  # raises the one-line syntax error
            raise
        source = SourceMap.of(self.text)
        for array, between, resumed in source.split_arrays():
            if array == ("monitor",):
                raise ConfigError([
                    f"{self.display}:{resumed}: the [[monitor]] tables are split by another table at line "
                    f"{between}; move all [[monitor]] tables together, then edit again"
                ])
        return data, source

    def _index(self, name: str) -> int:
        data, _ = self._parsed()
        monitors = data.get("monitor")
        if isinstance(monitors, list):
            for index, table in enumerate(monitors):
                if isinstance(table, dict) and table.get("name") == name:
                    return index
        raise MonitorNotFound(f'no monitor named "{name}" in {self.display}')

    def _set(self, name: str, key: str, value: Any) -> None:
        index = self._index(name)
        _, source = self._parsed()
        lines = self._lines()
        path: KeyPath = ("monitor", index, key)
        own = next((s for s in source.statements if s.path == path), None)
        if own is not None and value is not None:
            self.text = self.text[: own.value_start] + render_value(value) + self.text[own.value_end :]
            return
        if own is not None:
            self._splice(own.first_line - 1, own.last_line, [])
            return
        nested = [s for s in source.statements if s.path[:3] == path]
        tables = [h for h in source.headers if h.path[:3] == path]
        if nested or tables:
            # Written as [monitor.key] tables or key.sub = ... lines: replace those with one line.
            drop = {n for s in nested for n in range(s.first_line - 1, s.last_line)}
            for start, end in _spans(lines, source, path):
                drop.update(range(start, end))
            self._replace_lines(drop)
            _, source = self._parsed()
        if value is None:
            return
        body = [s for s in source.statements if len(s.path) == 3 and s.path[:2] == ("monitor", index)]
        header = next(h for h in source.headers if h.path == ("monitor", index))
        after = body[-1].last_line if body else header.line
        self._splice(after, after, [f"{render_key(key)} = {render_value(value)}\n"])

    def _lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    def _splice(self, start: int, end: int, new: list[str]) -> None:
        """Replace lines [start, end) (0-based) with `new`, written in the file's own line endings."""
        lines = self._lines()
        if start > 0 and not lines[start - 1].endswith("\n"):
            lines[start - 1] += self.newline
        converted = [line[:-1] + self.newline if line.endswith("\n") else line for line in new]
        self.text = "".join(lines[:start] + converted + lines[end:])

    def _replace_lines(self, drop: set[int]) -> None:
        self.text = "".join(line for number, line in enumerate(self._lines()) if number not in drop)

    def _ensure_final_newline(self) -> None:
        if self.text and not self.text.endswith("\n"):
            self.text += self.newline


def _spans(lines: list[str], source: SourceMap, prefix: KeyPath) -> list[tuple[int, int]]:
    """0-based [start, end) line ranges of each table under `prefix`, with the comments that belong
    to it: those right above its header, and those right after its last line unless they run on
    into the next header (then they introduce that one)."""
    headers = source.headers
    spans = []
    for position, header in enumerate(headers):
        if header.path[: len(prefix)] != prefix:
            continue
        following = headers[position + 1].line if position + 1 < len(headers) else len(lines) + 1
        spans.append((_lead_start(lines, header), _trail_end(lines, source, header, following)))
    return spans


def _lead_start(lines: list[str], header: Header) -> int:
    start = header.line - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start


def _trail_end(lines: list[str], source: SourceMap, header: Header, following: int) -> int:
    body = (s.last_line for s in source.statements if header.line < s.first_line < following)
    last = max([header.line, *body])
    end = last  # 0-based exclusive == 1-based line of the last content
    while end < following - 1 and lines[end].lstrip().startswith("#"):
        end += 1
    if end == following - 1 and end > last and following <= len(lines):
        return last  # the comments run straight into the next header: they introduce it
    return end


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file ({exc.strerror or exc})"]) from None


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, rename over the target; keeps mode and owner."""
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, stat.S_IMODE(existing.st_mode) if existing else NEW_FILE_MODE)
        if existing is not None:
            with contextlib.suppress(OSError):  # not ours to give away; the mode still matches
                os.chown(temp_name, existing.st_uid, existing.st_gid)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    try:
        directory = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def add_monitor(path: str | os.PathLike[str], fields: Mapping[str, Any], *,
                expected_digest: str | None = None) -> Config:
    """Add a monitor to the config file (created, mode 0600, if missing); returns the new Config."""
    editor = ConfigEditor(path, expected_digest)
    editor.add_monitor(fields)
    return editor.save()


def remove_monitor(path: str | os.PathLike[str], name: str, *, expected_digest: str | None = None) -> Config:
    """Remove the monitor called `name` (MonitorNotFound, a LookupError, if there is none)."""
    editor = ConfigEditor(path, expected_digest)
    editor.remove_monitor(name)
    return editor.save()


def update_monitor(path: str | os.PathLike[str], name: str, fields: Mapping[str, Any], *,
                   expected_digest: str | None = None) -> Config:
    """Set (or, with None, remove) keys of the monitor called `name`."""
    editor = ConfigEditor(path, expected_digest)
    editor.update_monitor(name, fields)
    return editor.save()


def fields_from_spec(spec: MonitorSpec, defaults: Defaults | None = None) -> dict[str, Any]:
    """The TOML keys for a MonitorSpec, leaving out what it would inherit anyway (for add_monitor)."""
    inherited = defaults or Defaults()
    fields: dict[str, Any] = {"name": spec.name, "url": spec.url}
    if spec.method != "GET":
        fields["method"] = spec.method
    if spec.headers:
        fields["headers"] = dict(spec.headers)
    if spec.body is not None:
        fields["body"] = spec.body
    if spec.expect_status != DEFAULT_EXPECT_STATUS:
        fields["expect_status"] = [r.low if r.low == r.high else str(r) for r in spec.expect_status]
    if spec.body_contains is not None:
        fields["body_contains"] = spec.body_contains
    if spec.body_regex is not None:
        fields["body_regex"] = spec.body_regex
    if spec.interval != inherited.interval:
        fields["interval"] = duration_text(spec.interval)
    if spec.timeout != inherited.timeout_for(spec.interval):
        fields["timeout"] = duration_text(spec.timeout)
    if spec.failure_threshold != inherited.failure_threshold:
        fields["failure_threshold"] = spec.failure_threshold
    if spec.recovery_threshold != inherited.recovery_threshold:
        fields["recovery_threshold"] = spec.recovery_threshold
    if spec.degraded_after != inherited.degraded_after and spec.degraded_after is not None:
        fields["degraded_after"] = duration_text(spec.degraded_after)
    if spec.tags:
        fields["tags"] = list(spec.tags)
    if spec.max_body_bytes != DEFAULT_MAX_BODY_BYTES:
        fields["max_body"] = size_text(spec.max_body_bytes)
    if spec.severity != inherited.severity:
        fields["severity"] = str(spec.severity)
    if spec.locations and spec.locations != inherited.locations:
        fields["locations"] = list(spec.locations)
    if spec.locations and spec.confirm != inherited.confirm:
        fields["confirm"] = spec.confirm
    return fields


def duration_text(seconds: float) -> str:
    """The shortest exact duration string: "2h", "90s", "1m", "500ms"."""
    millis = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis and millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def size_text(size: int) -> str | int:
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return size
