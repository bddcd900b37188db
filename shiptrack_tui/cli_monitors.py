"""`shiptrack monitor add` and `monitor rm`: edit the config file, keeping its comments;
`monitor show`: one monitor as configured and as it stands, with a push monitor's URLs;
`monitor rename`: cli_rename.py.

Errors cite the file as it is on disk (the monitor being added is not in it); a file that did
not exist is created and the command says so.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from shiptrack_tui.cli_common import (
    EXIT_OK,
    config_path,
    load_args_config,
    open_store,
    store_target_of,
)
from shiptrack_tui.failures import UsageError

if TYPE_CHECKING:
    from shiptrack_tui.config import Config
    from shiptrack_tui.core.model import MonitorSpec, MonitorSummary

# The daemon watches its config file (engine's config watch loop); SIGHUP only makes it sooner.
PICKED_UP = "a running engine (daemon or dashboard) picks this up within 2 s"


def cmd_monitor(args: argparse.Namespace) -> int:
    from shiptrack_tui.config import ConfigConflict, ConfigError, MonitorNotFound, add_monitor, remove_monitor

    if args.monitor_command == "show":
        return _show(args)
    if args.monitor_command == "rename":
        from shiptrack_tui.cli_rename import cmd_rename

        return cmd_rename(args, PICKED_UP)
    path = config_path(args)
    existed = path.exists()
    try:
        if args.monitor_command == "add":
            fields: dict[str, object] = {"name": args.name, "url": args.url}
            if args.interval:
                fields["interval"] = args.interval
            if args.tag:
                fields["tags"] = list(args.tag)
            add_monitor(path, fields)
            if not existed:
                print(f"created {path}")
            print(f"added monitor {args.name!r} to {path}")
        else:
            _confirm_rm(args)
            remove_monitor(path, args.name)
            print(f"removed monitor {args.name!r} from {path}")
    except (ConfigError, ConfigConflict, MonitorNotFound) as error:
        raise UsageError(str(error)) from None
    print(PICKED_UP)
    return EXIT_OK


def _confirm_rm(args: argparse.Namespace) -> None:
    """`monitor rm` of a monitor with history needs --yes (UsageError without it)."""
    if args.yes:
        return
    try:
        config = load_args_config(args, check_urls=False)
    except UsageError:  # a broken file: rm may be the fix; the database is then the default one
        config = None
    db = store_target_of(args, config)
    if not db.exists():
        return
    store = open_store(db)
    try:
        history = store.history(args.name)
    finally:
        store.close()
    if history is not None and not history.empty:
        raise UsageError(f"shiptrack: {args.name!r} has history in {db} ({history}); rm keeps it there, out "
                         "of sight (adding the name again takes it up); add --yes to remove the monitor")


def _show(args: argparse.Namespace) -> int:
    """The monitor's settings and state; a push monitor's token and URLs (generated and stored now
    if no engine has run with it yet, so a crontab line can be written before the daemon starts)."""
    config = load_args_config(args, check_urls=False)
    spec = next((m for m in config.monitors if m.name == args.name), None)
    if spec is None:
        raise UsageError(f"shiptrack: there is no monitor named {args.name!r} in {config.path}; "
                         "`shiptrack status` lists them")
    db = store_target_of(args, config)
    token = spec.push_token
    summary = None
    if spec.push or db.exists():
        store = db.open() if spec.push else open_store(db)
        try:
            if spec.push and token is None:
                token = store.ensure_push_token(spec)
            found = store.monitor_summaries(time.time(), windows=("24h",), names=[spec.name])
            summary = found[0] if found else None
        finally:
            store.close()
    print("\n".join(show_lines(spec, summary, config, token, time.time())))
    return EXIT_OK


def show_lines(spec: MonitorSpec, summary: MonitorSummary | None, config: Config, token: str | None,
               now: float) -> list[str]:
    from shiptrack_tui.config.push import grace_text
    from shiptrack_tui.core.durations import format_duration
    from shiptrack_tui.core.formats import fmt_ago, fmt_datetime, fmt_uptime

    def thresholds() -> str:
        text = f"open after {spec.failure_threshold} failed, resolve after {spec.recovery_threshold} good"
        slow = spec.degraded_after
        return text + (f"; degraded after {format_duration(slow)}" if slow is not None else "")

    if spec.push:
        lines = [f"{spec.name}  push monitor", f"  schedule    {grace_text(spec.interval, spec.grace)}"]
    else:
        timing = f"every {format_duration(spec.interval)}, timeout {format_duration(spec.timeout)}"
        lines = [f"{spec.name}  {spec.kind} monitor", f"  target      {spec.url}", f"  schedule    {timing}"]
    lines.append(f"  thresholds  {thresholds()}")
    if spec.tags:
        lines.append(f"  tags        {', '.join(spec.tags)}")
    if summary is None:
        lines.append("  state       no checks yet")
    else:
        state = summary.state
        last = (f"last check {fmt_ago(now, state.last_check_at)} ago ({fmt_datetime(state.last_check_at)})"
                if state.last_check_at else "no checks yet")
        uptime = summary.windows.get("24h")
        lines.append(f"  state       {state.status}, {last}"
                     + (f", 24h uptime {fmt_uptime(uptime.uptime)}" if uptime and uptime.checks else ""))
        if state.last_error:
            lines.append(f"  last error  {state.last_error}")
        if spec.push and state.run_started_at is not None:
            started = fmt_datetime(state.run_started_at)
            lines.append(f"  running     since {started} (started, not finished yet)")
    if spec.push and token is not None:
        lines += push_lines(config, token)
    return lines


def push_lines(config: Config, token: str) -> list[str]:
    """The token, the three URLs and a crontab example (the token is the URL's only credential)."""
    http = config.http
    base = f"http://{http.listen}" if http.enabled else ""
    lines = [f"  push token  {token}",
             f"  success     {base}/push/{token}",
             f"  failure     {base}/push/{token}/fail",
             f"  start       {base}/push/{token}/start",
             "  pings       GET or POST; a failure's ?msg=... (or POST body) is its reason"]
    if not http.enabled:
        lines.append("  note        [http] listen is not set: no server answers these URLs yet")
    else:
        lines.append(f"  cron        ... && curl -fsS -m 10 --retry 3 {base}/push/{token}")
    return lines
