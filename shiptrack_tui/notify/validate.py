"""Config-time checks of notification settings, phrased for the `PATH:LINE: ...` error lines."""

from __future__ import annotations

import os
from pathlib import Path

from shiptrack_tui.notify.redact import guard_apprise_logging, redact_url


def check_notify_url(url: str) -> str | None:
    """None if Apprise understands the URL, else one sentence saying what is wrong (URL redacted)."""
    import apprise

    if not isinstance(url, str) or not url.strip():
        return "a notification URL cannot be empty; expected an Apprise URL like \"json://host:port/path\""
    guard_apprise_logging().register(url)
    shown = redact_url(url)
    if "://" not in url:
        return f"{shown!r} is not an Apprise URL; expected scheme://..., e.g. \"slack://T000/B000/XXXX\""
    try:
        service = apprise.Apprise.instantiate(url)
    except Exception as exc:  # Apprise plugins raise assorted errors on odd input
        return f"Apprise cannot use the notification URL {shown}: {type(exc).__name__}"
    if service is None:
        scheme = url.partition("://")[0].lower()
        if not _known_scheme(scheme):
            return (f"unknown notification service {scheme!r} in {shown}; "
                    "expected one of Apprise's URL schemes (see `apprise --details`)")
        return f"Apprise cannot parse the notification URL {shown}; check the {scheme}:// service's URL form"
    return None


def _known_scheme(scheme: str) -> bool:
    from apprise.manager_plugins import NotificationManager

    # NotificationManager is a singleton: this is the registry Apprise.instantiate consults.
    return scheme in NotificationManager()


def check_apprise_config(path: str | os.PathLike[str]) -> str | None:
    """None if the Apprise config file exists and yields at least one URL, else what is wrong."""
    from shiptrack_tui.notify.routing import load_config_targets

    resolved = Path(path).expanduser()
    if not resolved.is_file():
        return f"the Apprise config file {resolved} does not exist; expected a readable YAML or TEXT file"
    if not os.access(resolved, os.R_OK):
        return f"the Apprise config file {resolved} is not readable by this user"
    if not load_config_targets(resolved):
        return f"the Apprise config file {resolved} holds no usable notification URL"
    return None
