"""Readable names for notification URLs: `slack://…` is "Slack", `json://…` a "JSON webhook".

The name is Apprise's own `service_name` for the URL's scheme, never anything from the rest of the
URL (which may be a secret). Apprise loads every plugin module on the first lookup (about half a
second here), so callers on a UI loop run `service_names` in a thread; answers are cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from shiptrack_tui.notify.config_file import PLACEHOLDER_PREFIX

__all__ = ["scheme_of", "service_name", "service_names"]

# Apprise calls these plain "JSON", "XML" and "Form": say what they are to an operator.
WEBHOOKS: Final = {"JSON": "JSON webhook", "XML": "XML webhook", "Form": "Form webhook"}
PLACEHOLDER_SCHEME: Final = PLACEHOLDER_PREFIX.partition("://")[0]


def scheme_of(url: str) -> str:
    """`slack` for `slack://T000/***`; empty when the text is not a URL."""
    scheme, sep, _rest = url.partition("://")
    return scheme.lower() if sep and scheme.replace("+", "").replace("-", "").isalnum() else ""


@lru_cache(maxsize=256)
def service_name(scheme: str) -> str:
    """Apprise's name for the service behind `scheme` (`slack` → "Slack"); the scheme if unknown."""
    scheme = scheme.lower()
    if scheme == PLACEHOLDER_SCHEME:
        return "Apprise config file"
    from apprise.manager_plugins import NotificationManager  # the plugin registry, loaded lazily

    try:
        plugin = NotificationManager()[scheme]
    except KeyError:
        return scheme or "notification"
    name = str(getattr(plugin, "service_name", "") or scheme)
    return WEBHOOKS.get(name, name)


def service_names(schemes: Iterable[str]) -> dict[str, str]:
    """`service_name` of each scheme (blocking: the first call loads Apprise's plugins)."""
    return {scheme: service_name(scheme) for scheme in schemes}
