"""What goes wrong with a config file, phrased one line per problem: `PATH:LINE: what and what to do`."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(Exception):
    """A config file that cannot be used; `problems` holds one line each, in file order."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


class ConfigNotFound(ConfigError):
    """The config file does not exist (a ConfigError, so callers may treat both alike)."""


class ConfigConflict(Exception):
    """The file changed on disk since it was loaded; writing now would lose someone's edit."""
