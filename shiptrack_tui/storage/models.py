"""The tables, as peewee models.

The models are bound to a placeholder database that is never opened: every query runs against
the owning `Store`'s own database (`query.execute(db)`), so two stores on two files can live in
one process. Rows never leave `storage/`; the store turns them into core dataclasses.
"""

from __future__ import annotations

from typing import Final

from peewee import (
    SQL,
    AutoField,
    BlobField,
    BooleanField,
    CompositeKey,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

# Never initialised: a query that forgets to name its database fails loudly.
UNBOUND: Final = SqliteDatabase(None)


def default(sql: str) -> list[SQL]:
    """A DEFAULT clause in the table itself, for rows inserted with plain SQL."""
    return [SQL(f"DEFAULT {sql}")]


class BaseModel(Model):
    class Meta:
        database = UNBOUND
        legacy_table_names = False


class SchemaMeta(BaseModel):
    """Key/value facts about the file itself, starting with `schema_version`."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "meta"


class Monitor(BaseModel):
    """A monitor's identity and everything needed to continue it exactly where it stopped."""

    id = AutoField()
    name = TextField(unique=True)
    target = TextField(default="", constraints=default("''"))
    tags = TextField(default="[]", constraints=default("'[]'"))  # a JSON list
    removed = BooleanField(default=False, constraints=default("0"))
    status = TextField(default="unknown", constraints=default("'unknown'"))
    consecutive_failures = IntegerField(default=0, constraints=default("0"))
    consecutive_successes = IntegerField(default=0, constraints=default("0"))
    first_failure_at = DoubleField(null=True)
    first_failure_reason = TextField(null=True)
    last_check_at = DoubleField(null=True)
    last_latency_ms = DoubleField(null=True)
    last_error = TextField(null=True)
    paused = BooleanField(default=False, constraints=default("0"))
    last_status_code = IntegerField(null=True)
    cert_days_left = IntegerField(null=True)
    rolled_hour = IntegerField(null=True)  # hours up to this one are folded into wider rollups
    newest_check_ms = IntegerField(null=True)  # the latest stored check's at_ms (not the state's)
    push_token = TextField(null=True)  # a push monitor's token (schema 8)
    run_started_at = DoubleField(null=True)  # a push monitor's run in progress: its /start


class Reason(BaseModel):
    """Failure texts, interned: a check row stores a small id instead of repeating the words."""

    id = AutoField()
    text = TextField(unique=True)


class Check(BaseModel):
    """One raw check, packed to stay near 25 bytes on disk (DESIGN §8).

    `code` is the outcome (0 up, 1 degraded, 2 down) plus flag bits (see codec.py); `latency_us`
    is microseconds. WITHOUT ROWID: the primary key is the table, so there is no second index.
    """

    monitor_id = IntegerField()
    at_ms = IntegerField()
    code = IntegerField()
    latency_us = IntegerField(null=True)
    status = IntegerField(null=True)
    error_id = IntegerField(null=True)

    class Meta:
        table_name = "check"
        primary_key = CompositeKey("monitor_id", "at_ms")
        without_rowid = True


class Rollup(BaseModel):
    """Counts per outcome and a latency histogram for `span` hours from epoch hour `hour`.

    A rowid table with a unique index (schema 3): WITHOUT ROWID spilled its kilobyte blobs into
    mostly empty overflow pages. Created by migrations.py, not from this model.
    """

    monitor_id = IntegerField()
    span = IntegerField()
    hour = IntegerField()
    up = IntegerField(default=0)
    degraded = IntegerField(default=0)
    down = IntegerField(default=0)
    maintenance = IntegerField(default=0)
    hist = BlobField(default=b"")

    class Meta:
        indexes = ((("monitor_id", "span", "hour"), True),)


class Incident(BaseModel):
    id = AutoField()
    monitor = ForeignKeyField(Monitor, column_name="monitor_id", on_delete="CASCADE", lazy_load=False,
                              index=False)  # see migrations.py
    state = TextField()
    cause = TextField()
    started_at = DoubleField()
    opened_at = DoubleField()
    acknowledged_at = DoubleField(null=True)
    resolved_at = DoubleField(null=True)
    severity = TextField(default="high")
    status = TextField(default="investigating")


class Timeline(BaseModel):
    id = AutoField()
    incident = ForeignKeyField(Incident, column_name="incident_id", on_delete="CASCADE", lazy_load=False,
                               index=False)  # see migrations.py
    at = DoubleField()
    kind = TextField()
    detail = TextField(null=True)
    by = TextField(null=True)  # who made an operator entry: "alice (cli)"
    status = TextField(null=True)  # an update entry: the status posted


class Action(BaseModel):
    """An operator action (DESIGN §4); pending until `applied_at` or `error` is set."""

    id = AutoField()
    at = DoubleField()
    kind = TextField()
    monitor = TextField(null=True)
    incident = ForeignKeyField(Incident, column_name="incident_id", null=True, on_delete="SET NULL",
                               lazy_load=False)
    note = TextField(null=True)
    source = TextField(default="cli")
    value = TextField(null=True)  # UPDATE: the status posted; SEVERITY: the new severity
    applied_at = DoubleField(null=True)
    error = TextField(null=True)


class Outbox(BaseModel):
    """A notification to deliver, written in the same transaction as the transition it announces."""

    id = AutoField()
    incident = ForeignKeyField(Incident, column_name="incident_id", null=True, on_delete="CASCADE",
                               lazy_load=False)
    monitor = TextField()
    transition = TextField()
    url = TextField()
    title = TextField()
    body = TextField()
    notify_type = TextField()
    created_at = DoubleField()
    attempts = IntegerField(default=0)
    next_attempt_at = DoubleField(default=0.0)
    delivered_at = DoubleField(null=True)
    failed_at = DoubleField(null=True)
    last_error = TextField(null=True)


class Ping(BaseModel):
    """A push monitor's ping (schema 8), waiting for the engine to apply it."""

    id = AutoField()
    monitor = TextField()
    at = DoubleField()
    kind = TextField()  # core.push.PingKind
    message = TextField(null=True)


MODELS: Final = (SchemaMeta, Monitor, Reason, Check, Rollup, Incident, Timeline, Action, Outbox, Ping)
