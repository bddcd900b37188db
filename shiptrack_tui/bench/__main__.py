"""`python -m shiptrack_tui.bench ...`: the same as `shiptrack bench ...`."""

import sys

from shiptrack_tui.bench import main

raise SystemExit(main(sys.argv[1:]))
