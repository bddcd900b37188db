"""The Textual dashboard."""

from shiptrack_tui.tui.app import ShipTrackApp
from shiptrack_tui.tui.engine_handle import EngineHandle

__all__ = ["EngineHandle", "ShipTrackApp"]
