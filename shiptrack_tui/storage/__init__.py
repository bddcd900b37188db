"""Storage: SQLite (peewee) or PostgreSQL (psycopg). Rows stay in here; callers get the core's dataclasses."""

from shiptrack_tui.storage.db import StorageError
from shiptrack_tui.storage.migrations import SCHEMA_VERSION
from shiptrack_tui.storage.pipeline import PipelineWrite
from shiptrack_tui.storage.retention import Retention
from shiptrack_tui.storage.store import Store
from shiptrack_tui.storage.writer import Writer

__all__ = ["SCHEMA_VERSION", "PipelineWrite", "Retention", "StorageError", "Store", "Writer"]
