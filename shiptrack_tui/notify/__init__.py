"""Notifications: routing transitions to Apprise URLs and draining the outbox to them."""

from shiptrack_tui.notify.routing import (
    ConfigTarget,
    all_urls,
    load_config_targets,
    outbox_items_for,
    route,
    wants,
)
from shiptrack_tui.notify.validate import check_apprise_config, check_notify_url

__all__ = [
    "ConfigTarget",
    "all_urls",
    "check_apprise_config",
    "check_notify_url",
    "load_config_targets",
    "outbox_items_for",
    "route",
    "wants",
]
