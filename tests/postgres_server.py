"""The tests' PostgreSQL server is the benchmark's (shiptrack_tui/bench/pg_server.py)."""

from shiptrack_tui.bench.pg_server import SUPERUSER, PostgresServer, postgres_bin_dir

__all__ = ["SUPERUSER", "PostgresServer", "postgres_bin_dir"]
