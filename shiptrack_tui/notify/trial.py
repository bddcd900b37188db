"""`shiptrack notify-test`: one test message to every configured URL, with a per-URL verdict."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from shiptrack_tui.core.messages import render_test
from shiptrack_tui.notify.delivery import DEFAULT_TIMEOUT, Outcome, deliver
from shiptrack_tui.notify.redact import redact_url
from shiptrack_tui.notify.routing import NotifySettingsLike, all_urls


def notify_test(
    settings: NotifySettingsLike, timeout: float = DEFAULT_TIMEOUT, now: float | None = None
) -> list[tuple[str, bool, str]]:
    """Send the test message to every URL ([notify] urls, the Apprise config file, channels).

    Returns (redacted url, delivered, why not) in config order; the URLs are tried in parallel.
    A timeout counts as not delivered here: the operator should look at the other end.
    """
    urls = all_urls(settings)
    if not urls:
        return []
    title, body, notify_type = render_test(time.time() if now is None else now)
    with ThreadPoolExecutor(max_workers=min(8, len(urls)), thread_name_prefix="notify-test") as pool:
        results = list(pool.map(lambda url: deliver(url, title, body, notify_type, timeout), urls))
    return [
        (redact_url(url), result.delivered, "" if result.delivered else _explain(result.outcome, result.why))
        for url, result in zip(urls, results, strict=True)
    ]


def _explain(outcome: Outcome, why: str) -> str:
    if outcome is Outcome.UNKNOWN:
        return f"{why.split(' (')[0]}; check whether it arrived"
    return why
