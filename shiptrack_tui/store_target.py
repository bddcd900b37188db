"""Which store a command uses (DESIGN §6, §12): one answer for the CLI, the daemon, the dashboard and
the HTTP surface.

A target is a SQLite file or a PostgreSQL URL. `resolve` picks it: `--db`, else `$SHIPTRACK_DB`,
else the config's `[storage] url` or `path`, else the platform data dir. A target prints as its
path or as its URL with the password replaced by `***` (`str(target)`, `target.display`): the
password itself is never part of a message.

The lock file, the heartbeat file and the dashboard's log sit next to a SQLite file; for a
PostgreSQL target they sit in the platform data dir, named after the server and database
(`target.local`), so they guard and describe the engines of this machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from shiptrack_tui.config.redact import scrub_secrets
from shiptrack_tui.core.dsn import is_postgres_url, redact

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.storage import Store

ENV_VAR: Final = "SHIPTRACK_DB"
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._@-]+")


class StoreTarget:
    """A SQLite file or a PostgreSQL URL, with the password file that goes with a URL."""

    __slots__ = ("_location", "password_file")

    def __init__(self, location: str | os.PathLike[str], password_file: Path | None = None) -> None:
        text = os.fspath(location)
        self._location = text.strip() if is_postgres_url(text) else str(Path(text).expanduser())
        self.password_file = password_file if is_postgres_url(text) else None

    @classmethod
    def of(cls, given: StoreTarget | str | os.PathLike[str]) -> StoreTarget:
        return given if isinstance(given, StoreTarget) else cls(given)

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self._location)

    @property
    def backend(self) -> str:
        return "postgresql" if self.is_postgres else "sqlite"

    @property
    def path(self) -> Path | None:
        """The SQLite file; None for PostgreSQL."""
        return None if self.is_postgres else Path(self._location)

    @property
    def url(self) -> str | None:
        """The PostgreSQL URL, password included: hand it to a connection, never to a message."""
        return self._location if self.is_postgres else None

    @property
    def display(self) -> str:
        """How messages name the store: the path, or the URL without its password."""
        return redact(self._location) if self.is_postgres else self._location

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"StoreTarget({self.display!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreTarget) and other._location == self._location

    def __hash__(self) -> int:
        return hash(self._location)

    @property
    def local(self) -> Path:
        """The file that this machine's lock, heartbeat and dashboard log are named after.

        The database file itself for SQLite; for PostgreSQL a name in the platform data dir made
        of the user, server and database (never the password), e.g.
        `~/.local/share/shiptrack/postgresql-shiptrack@db.internal-5432-shiptrack`.
        """
        if not self.is_postgres:
            return Path(self._location)
        from shiptrack_tui.config import default_db_path

        parts = urlsplit(self._location)
        try:
            port = str(parts.port or 5432)
        except ValueError:
            port = "5432"
        user = parts.username or ""
        host = parts.hostname or "local"
        database = parts.path.lstrip("/") or user or "postgres"
        name = _UNSAFE.sub("_", f"postgresql-{user}{'@' if user else ''}{host}-{port}-{database}")
        return default_db_path(None).with_name(name)

    def exists(self) -> bool:
        """A SQLite file that is there; a PostgreSQL target always counts (the server is asked)."""
        return self.is_postgres or Path(self._location).exists()

    def open(self) -> Store:
        """`Store.open` on this target (migrating it); StorageError, password masked, when unusable."""
        from shiptrack_tui.storage import StorageError, Store

        if not self.is_postgres:
            return Store.open(self._location)
        try:
            return Store.open(self._location, password_file=self.password_file)
        except StorageError as error:
            raise StorageError(scrub_secrets(str(error), self._location)) from None
        except Exception as error:  # a driver error the storage layer did not word: one line, masked
            if not type(error).__module__.startswith(("psycopg", "peewee")):
                raise
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise StorageError(scrub_secrets(f"{self.display}: cannot use this PostgreSQL database ({first})",
                                     self._location)) from None


def resolve(given: str | None, config: Config | None) -> StoreTarget:
    """The store a command uses: `given` (`--db`), else `$SHIPTRACK_DB`, else the config's
    `[storage] url` or `path`, else the platform data dir. The config's `password_file` goes with
    any PostgreSQL URL, wherever the URL came from."""
    from shiptrack_tui.config import default_db_path

    password_file = config.storage.password_file if config is not None else None
    text = given or os.environ.get(ENV_VAR) or None
    if text:
        return StoreTarget(text, password_file)
    if config is not None and config.storage.url is not None:
        return StoreTarget(config.storage.url, password_file)
    return StoreTarget(default_db_path(config))


def demo_target(given: str | None) -> StoreTarget:
    """The demo's store: `given` (`--db`), else `$SHIPTRACK_DB`, else `demo.db` in the data dir."""
    from shiptrack_tui.config import default_db_path

    text = given or os.environ.get(ENV_VAR) or None
    return StoreTarget(text) if text else StoreTarget(default_db_path(None).with_name("demo.db"))


def explicit(given: str | None) -> bool:
    """Whether the command was told which store (`--db` or `$SHIPTRACK_DB`)."""
    return bool(given or os.environ.get(ENV_VAR))
