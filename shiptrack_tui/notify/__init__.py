"""Notifications: routing transitions to Apprise URLs and draining the outbox to them."""

from shiptrack_tui.notify.delivery import Delivery, Outcome, deliver
from shiptrack_tui.notify.routing import (
    ConfigTarget,
    all_urls,
    load_config_targets,
    outbox_items_for,
    route,
    sender_host,
    update_items,
    wants,
)
from shiptrack_tui.notify.sender import NotificationSender, backoff, judge
from shiptrack_tui.notify.trial import notify_test
from shiptrack_tui.notify.validate import check_apprise_config, check_notify_url

__all__ = [
    "ConfigTarget",
    "Delivery",
    "NotificationSender",
    "Outcome",
    "all_urls",
    "backoff",
    "check_apprise_config",
    "check_notify_url",
    "deliver",
    "judge",
    "load_config_targets",
    "notify_test",
    "outbox_items_for",
    "route",
    "sender_host",
    "update_items",
    "wants",
]
