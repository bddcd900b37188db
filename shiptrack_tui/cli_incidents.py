"""`shiptrack incidents`, `ack`, `note`, `silence` and `unsilence`: reading incidents and writing actions.

Actions are rows the engine applies (DESIGN §4); each records who wrote it ("alice (cli)").
Exit codes follow cli.py: 2 for a usage error (an unknown incident or monitor, a bad duration),
1 when the engine refuses or does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from shiptrack_tui.cli_common import EXIT_FAILURE, EXIT_OK, db_for_reading, open_store
from shiptrack_tui.failures import UsageError

ACTION_WAIT_SECONDS = 5.0


def cmd_incidents(args: argparse.Namespace) -> int:
    from shiptrack_tui.report import incidents_json, incidents_text

    store = open_store(db_for_reading(args))
    try:
        found = store.incidents(open_only=args.open, monitor=args.monitor, limit=args.limit)
        # A removed monitor's incidents are still listed; a name nobody knows is a usage error.
        if args.monitor is not None and not found:
            known = sorted(s.name for s in store.monitor_summaries(time.time(), windows=()))
            if args.monitor not in known:
                listed = ", ".join(known) if known else "none yet"
                raise UsageError(f"shiptrack: no monitor named {args.monitor!r} (known: {listed})")
    finally:
        store.close()
    print(json.dumps(incidents_json(found), indent=2) if args.json else incidents_text(found, time.time()))
    return EXIT_OK


def _act(args: argparse.Namespace, kind_name: str, note: str | None, done: str,
         monitor: str | None = None, value: str | None = None, refused: int = EXIT_FAILURE) -> int:
    """Write an action row, then wait briefly for the engine to apply it and say what happened.

    `refused` is the exit code when the engine refuses it (status updates: 2, a request the
    incident cannot take)."""
    from shiptrack_tui.config import operator
    from shiptrack_tui.core.model import ActionKind
    from shiptrack_tui.lock import running_engine_pid

    db = db_for_reading(args)
    store = open_store(db)
    try:
        try:
            incident_id = getattr(args, "id", None)
            action_id = store.add_action(ActionKind(kind_name), at=time.time(), incident_id=incident_id,
                                         monitor=monitor, note=note, source=operator("cli"), value=value)
        except LookupError as error:  # an incident or monitor the database does not know
            raise UsageError(f"shiptrack: {error}") from None
        local_engine = running_engine_pid(db.local) is not None
        if not local_engine and not db.is_postgres:
            print(f"queued: no engine runs on {db}; it is applied when `shiptrack` or the daemon starts")
            return EXIT_OK
        deadline = time.monotonic() + ACTION_WAIT_SECONDS
        while time.monotonic() < deadline:
            applied_at, error = store.action_outcome(action_id)
            if error:
                print(f"shiptrack: {error}", file=sys.stderr)
                return refused
            if applied_at is not None:
                print(done)
                return EXIT_OK
            time.sleep(0.1)
        if not local_engine:  # PostgreSQL: an engine on another machine may apply it, or none runs
            print(f"queued: no engine has applied it yet; it is applied when an engine runs on {db}")
            return EXIT_OK
        print("queued: the engine has not applied it yet (is it busy or stopped?)", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        store.close()


def _acknowledged_by(args: argparse.Namespace) -> str | None:
    """For an incident that is already acknowledged, who did it and when; else None."""
    from shiptrack_tui.core.formats import fmt_datetime
    from shiptrack_tui.core.model import IncidentState, TimelineKind

    store = open_store(db_for_reading(args))
    try:
        incident = store.incident(args.id)
    finally:
        store.close()
    if incident is None or incident.state is not IncidentState.ACKNOWLEDGED:
        return None  # unknown ids and other states are for the engine (or add_action) to refuse
    acks = [e for e in incident.events if e.kind is TimelineKind.ACKNOWLEDGED]
    who = f" by {acks[-1].by}" if acks and acks[-1].by else ""
    return f"{who} at {fmt_datetime(incident.acknowledged_at)}"


def cmd_ack(args: argparse.Namespace) -> int:
    earlier = _acknowledged_by(args)
    if earlier is not None:
        # Acknowledging twice is no error: the operator's wish already holds. A note still lands.
        print(f"incident #{args.id} was already acknowledged{earlier}; nothing to do")
        if args.note:
            return _act(args, "note", args.note, f"noted on incident #{args.id}")
        return EXIT_OK
    return _act(args, "ack", args.note, f"acknowledged incident #{args.id}")


def cmd_note(args: argparse.Namespace) -> int:
    return _act(args, "note", args.text, f"noted on incident #{args.id}")


def _silence_target(args: argparse.Namespace) -> tuple[str, str]:
    """(the target as the action note writes it, a monitor it covers: the action row's monitor)."""
    from shiptrack_tui.core.silences import SilenceError, SilenceTarget

    try:
        target = SilenceTarget.parse(args.target)
    except SilenceError as error:
        raise UsageError(f"shiptrack: {error}") from None
    store = open_store(db_for_reading(args))
    try:
        covered = [s.name for s in store.monitor_summaries(time.time(), windows=())
                   if target.covers(s.name, s.tags)]
    finally:
        store.close()
    if not covered:
        raise UsageError(f"shiptrack: {target.label} covers no monitor; `shiptrack status` lists them")
    return str(target), covered[0]


def silence_seconds(args: argparse.Namespace) -> float | None:
    """The silence's length from --for (None: until resolved); a usage error when it is not > 0."""
    from shiptrack_tui.core.durations import DurationError, parse_duration

    if args.until_resolved:
        return None
    text = str(args.length).strip()
    if text.startswith("-"):
        raise UsageError(f"shiptrack: --for must be a positive duration like \"15m\" or \"4h\", got {text!r}")
    try:
        seconds = parse_duration(text)
    except DurationError as error:
        raise UsageError(f"shiptrack: --for {error}") from None
    if seconds <= 0:
        raise UsageError(f"shiptrack: --for must be longer than 0s, got {text!r}; "
                         "to lift a silence use `shiptrack unsilence`")
    from shiptrack_tui.core.silences import MAX_SECONDS

    if seconds > MAX_SECONDS:
        raise UsageError(f"shiptrack: --for {text!r} is longer than a silence can last (100 years); "
                         "pause the monitor instead")
    return seconds


def cmd_silence(args: argparse.Namespace) -> int:
    from shiptrack_tui.core.silences import SilenceRequest, SilenceTarget

    seconds = silence_seconds(args)  # checked first: a bad length needs no database
    note, monitor = _silence_target(args)
    request = SilenceRequest(SilenceTarget.parse(note), seconds)
    return _act(args, "silence", request.to_note(), f"silenced {request.target.label} {request.length_text}",
                monitor=monitor)


def cmd_unsilence(args: argparse.Namespace) -> int:
    note, monitor = _silence_target(args)
    return _act(args, "unsilence", note, f"lifted the silence on {args.target}", monitor=monitor)
