"""Network probes: HTTP(S) and TCP checks that turn the network into Observations (DESIGN §2)."""

from shiptrack_tui.probes.check import probe
from shiptrack_tui.probes.errors import describe
from shiptrack_tui.probes.pool import USER_AGENT, ClientPool

__all__ = ["USER_AGENT", "ClientPool", "describe", "probe"]
