"""The scheduler and the check pipeline, shared by the daemon and the dashboard."""

from shiptrack_tui.engine.engine import Engine, EngineCounters
from shiptrack_tui.engine.thread import EngineThread

__all__ = ["Engine", "EngineCounters", "EngineThread"]
