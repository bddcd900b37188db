"""The `shiptrack` argument parser: every command, option and its help (docs/cli.md says the same).

Every option carries help text (tests/test_cli.py walks the parsers to check it).
"""

from __future__ import annotations

import argparse

from shiptrack_tui import __version__

__all__ = ["build_parser"]


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Subparsers use SUPPRESS so a value given before the subcommand is not reset after it.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="P", default=default,
                        help="config file (default: $SHIPTRACK_CONFIG or ~/.config/shiptrack/config.toml)")
    parser.add_argument("--db", metavar="P", default=default, help="database: a SQLite file or a "
                        "postgresql:// URL (default: $SHIPTRACK_DB, [storage] url or path, or "
                        "~/.local/share/shiptrack/shiptrack.db)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiptrack", description="A local-first uptime monitor for the terminal."
    )
    _common(parser, top=True)
    parser.add_argument("--daemon", action="store_true", help="run the engine headless (servers, systemd)")
    parser.add_argument(
        "--demo", action="store_true", help="watch the built-in loopback targets; no config needed"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every state change (daemon)")
    parser.add_argument("--version", action="version", version=f"shiptrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                help="without one, the dashboard (or the daemon with --daemon)")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        return p

    command("check-config", "validate the config file")
    p = command("status", "one row per monitor")
    p.add_argument("--json", action="store_true", help="print JSON (docs/json.md) instead of a table")
    p = command("services", "each [[service]] with its status derived from its monitors")
    p.add_argument("--json", action="store_true", help="print JSON (docs/json.md) instead of a table")
    p = command("incidents", "incidents with their timelines")
    p.add_argument("--open", action="store_true", help="only open and acknowledged incidents")
    p.add_argument("--monitor", metavar="NAME", help="only this monitor's incidents")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N incidents, newest first "
                   "(default: 50)")
    p.add_argument("--json", action="store_true", help="print JSON (docs/json.md) instead of text")
    p = command("postmortem", "an incident as a Markdown postmortem skeleton")
    p.add_argument("id", type=int, metavar="ID", help="the incident's number (`shiptrack incidents`)")
    p.add_argument("--output", metavar="FILE", help="write it to FILE (owner-only) instead of stdout")
    p = command("ack", "acknowledge an incident")
    p.add_argument("id", type=int, metavar="ID", help="the incident's number (`shiptrack incidents`)")
    p.add_argument("--note", metavar="TEXT", help="a note for the timeline and the [ACK] message")
    p = command("note", "add a note to an incident's timeline")
    p.add_argument("id", type=int, metavar="ID", help="the incident's number (`shiptrack incidents`)")
    p.add_argument("text", metavar="TEXT", help="the note")
    p = command("update", "post a status update on an open incident "
                "(investigating → identified → monitoring)")
    p.add_argument("id", type=int, metavar="ID", help="the incident's number (`shiptrack incidents`)")
    p.add_argument("status", metavar="STATUS", help="investigating, identified or monitoring; forward only "
                   "(resolved is written by recovery)")
    p.add_argument("message", metavar="MESSAGE", help='what you know, e.g. "bad deploy, rolling back"')
    p = command("severity", "change an open incident's severity")
    p.add_argument("id", type=int, metavar="ID", help="the incident's number (`shiptrack incidents`)")
    p.add_argument("level", metavar="LEVEL", help="critical, high, medium or low")
    p.add_argument("--note", metavar="TEXT", help="why, for the timeline")
    command("notify-test", "send a test message to every notification URL")
    p = command("silence", "mute a monitor's or a tag's notifications (checks keep running)")
    p.add_argument("target", metavar="MONITOR|tag:TAG", help="a monitor's name, or tag:NAME for every "
                   "monitor with that tag")
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--for", dest="length", metavar="DURATION", help='how long, e.g. "15m", "1h", "4h"')
    length.add_argument("--until-resolved", action="store_true", help="until the incident resolves")
    p = command("unsilence", "lift the silence on a monitor or a tag")
    p.add_argument("target", metavar="MONITOR|tag:TAG", help="as given to `shiptrack silence`")
    monitor = command("monitor", "add, remove, rename or show monitors in the config file")
    msub = monitor.add_subparsers(dest="monitor_command", metavar="add|rm|rename|show", required=True,
                                  help="add, remove, rename or show one monitor")
    text = "add a monitor (comments in the file are kept; a missing file is created)"
    p = msub.add_parser("add", help=text, description=text)
    _common(p, top=False)
    p.add_argument("--name", required=True, help="the monitor's unique name")
    p.add_argument("--url", required=True, help="http(s)://... or tcp://host:port")
    p.add_argument("--interval", metavar="D",
                   help='how often to check, e.g. "30s" (default: [defaults] interval)')
    p.add_argument("--tag", action="append", default=[], metavar="T", help="a tag; repeat for several")
    text = "remove a monitor (comments in the file are kept; its history stays in the database)"
    p = msub.add_parser("rm", help=text, description=text)
    _common(p, top=False)
    p.add_argument("name", help="the name of the monitor to remove")
    p.add_argument("--yes", action="store_true", help="remove it even though it has history (checks or "
                   "incidents) in the database")
    text = "rename a monitor (comments in the file are kept; its history goes with it)"
    p = msub.add_parser("rename", help=text, description=text)
    _common(p, top=False)
    p.add_argument("old", metavar="OLD", help="the monitor's name now")
    p.add_argument("new", metavar="NEW", help="its new name")
    text = "one monitor's settings and state; a push monitor's token and ping URLs"
    p = msub.add_parser("show", help=text, description=text)
    _common(p, top=False)
    p.add_argument("name", help="the name of the monitor to show")
    db = command("db", "what the database holds (`db info`), compact it (`db vacuum`), create or upgrade "
                 "its schema (`db migrate`), copy its history to another database (`db copy`)")
    dsub = db.add_subparsers(dest="db_command", metavar="info|vacuum|migrate|copy", required=True,
                             help="what to do with the database")
    p = dsub.add_parser("info", help="size, free pages, rows and oldest data per table, what retention "
                        "removes next (read-only; works beside a daemon)")
    _common(p, top=False)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = dsub.add_parser("vacuum", help="rewrite the file compactly, with incremental space reclaim "
                        "(stop the engine first)")
    _common(p, top=False)
    p = dsub.add_parser("migrate", help="create the schema, or upgrade it to this version's (SQLite or "
                        "PostgreSQL); says from which version to which")
    _common(p, top=False)
    p = dsub.add_parser("copy", help="copy the whole history (every table, ids kept) to another database, "
                        "SQLite ↔ PostgreSQL, then compare the row counts of each table")
    _common(p, top=False)
    p.add_argument("--to", required=True, metavar="TARGET", help="the destination: a SQLite file or a "
                   "postgresql:// URL; it must hold no history yet")
    p.add_argument("--from", dest="source", metavar="TARGET", help="the source (default: the configured "
                   "database, as --db or [storage] give it)")
    cluster = command("cluster", "the nodes sharing a PostgreSQL database (`cluster status`)")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="status", required=True,
                                  help="what to show about the cluster")
    text = ("each node: location, last heartbeat, monitors owned, config hash (skew marked), "
            "start lateness p99")
    p = csub.add_parser("status", help=text, description=text)
    _common(p, top=False)
    p.add_argument("--json", action="store_true", help="print JSON (docs/json.md) instead of a table")
    p = command("serve-dashboard", "serve the dashboard to web browsers; each tab attaches to the running "
                "engine (no authentication: loopback unless --listen says otherwise)")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8000",
                   help="address to listen on (default: 127.0.0.1:8000; port 0 picks a free one)")
    p.add_argument("--public-url", metavar="URL", help="the address browsers use, when a reverse proxy "
                   "serves it elsewhere (https://example.com/dashboard)")
    # Listed for --help only: main() hands everything after `bench` to the benchmark's own parser.
    command("bench", "the capacity benchmark (`shiptrack bench --help`; see README)")
    return parser
