"""Network probes: HTTP(S) and TCP checks that turn the network into Observations (DESIGN §2)."""

import sys

# httpx imports its command-line tool (and with it rich, pygments and click) whenever those are
# installed, and Textual installs rich. The engine and the daemon need none of it (DESIGN §1): a
# None entry makes httpx's optional import of its CLI fail fast, before anything else loads httpx.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]

from shiptrack_tui.probes.check import probe
from shiptrack_tui.probes.errors import describe
from shiptrack_tui.probes.pool import USER_AGENT, ClientPool

__all__ = ["USER_AGENT", "ClientPool", "describe", "probe"]
