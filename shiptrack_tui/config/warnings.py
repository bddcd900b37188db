"""Configs that are valid but probably not what the operator meant: warnings, not errors.

A fresh install starts from an empty file (`shiptrack monitor add` must work on it), so an
empty config is allowed; it is said out loud instead of passing silently.
"""

from __future__ import annotations

from shiptrack_tui.config.settings import Config


def config_warnings(config: Config) -> list[str]:
    """One line per warning, `PATH: warning: what and what to do`, like the errors' format."""
    if config.monitors:
        return []
    return [f"{config.path}: warning: no monitors configured, so nothing will be checked; add a "
            "[[monitor]] table or run `shiptrack monitor add --name N --url U`"]
