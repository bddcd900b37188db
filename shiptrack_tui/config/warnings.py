"""Configs that are valid but probably not what the operator meant: warnings, not errors.

A fresh install starts from an empty file (`shiptrack monitor add` must work on it), so an
empty config is allowed; it is said out loud instead of passing silently.
"""

from __future__ import annotations

from pathlib import Path

from shiptrack_tui.config.redact import dsn_password
from shiptrack_tui.config.settings import Config


def config_warnings(config: Config) -> list[str]:
    """One line per warning, `PATH: warning: what and what to do`, like the errors' format."""
    warnings: list[str] = []
    if not config.monitors:
        warnings.append(f"{config.path}: warning: no monitors configured, so nothing will be checked; add a "
                        "[[monitor]] table or run `shiptrack monitor add --name N --url U`")
    pushed = [spec.name for spec in config.monitors if spec.push]
    if pushed and not config.http.enabled:
        warnings.append(f"{config.path}: warning: push monitors ({', '.join(pushed[:3])}"
                        f"{', ...' if len(pushed) > 3 else ''}) receive pings over HTTP, and [http] listen "
                        "is not set: each will count as missed; add [http] listen = \"127.0.0.1:8080\"")
    if config.storage.url is not None and dsn_password(config.storage.url):
        warnings.append(f"{config.path}: warning: [storage] url holds a password, which then travels with "
                        "every copy of this file; move it into a file named by [storage] password_file "
                        "(or ~/.pgpass, or PGPASSWORD) and remove it from the URL")
    secret = config.storage.password_file
    if secret is not None and _readable_by_others(secret):
        warnings.append(f"{config.path}: warning: [storage] password_file {secret} can be read by other "
                        f"users; make it owner-only: chmod 600 {secret}")
    return warnings


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False
