"""Database targets: a filesystem path (SQLite) or a `postgresql://` URL (PostgreSQL).

Pure helpers: nothing here opens a connection. A URL's password is never shown (`redact`).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit, urlunsplit

SCHEMES: Final = ("postgresql://", "postgres://")


def is_postgres_url(text: object) -> bool:
    """Whether `text` names a PostgreSQL database (a postgresql:// or postgres:// URL)."""
    return isinstance(text, str) and text.strip().lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL with any password replaced by `***` (in the netloc and in a `password=` query)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = "&".join(
        f"{key}=***" if key.lower() == "password" else f"{key}{sep}{value}"
        for key, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
