"""Built-in loopback targets for `shiptrack --demo`, the test suite and `shiptrack bench`.

One asyncio HTTP/1.1 server (keep-alive, pipelining, Content-Length responses; thousands of
requests/s on one core) whose port also serves as a plain TCP target. Endpoints:

- ``/``                    a plain-text index of these endpoints.
- ``/steady``              200 "ok" at once.
- ``/slow``                200 "ok" after 300-1500 ms, a fixed pattern by request count
                           (`SLOW_PATTERN_MS`: 4 of every 10 take over 1 s, so `degraded_after = "1s"`
                           shows).
- ``/flaky``               503 on 6 of every 24 requests (`FLAKY_PATTERN`), once three in a row, so
                           with `failure_threshold = 3` an incident opens and resolves now and then.
- ``/outage``              by elapsed time: 200 for `outage_up` s (60), then 503 for `outage_down` s
                           (30), repeating from `start()`.
- ``/status/{code}``       that status (200-599).
- ``/delay/{ms}``          200 "ok" after `ms` milliseconds.
- ``/bytes/{n}``           200 with a body of `n` bytes (b"x" * n).
- ``/drip/{ms}?n=N``       a Content-Length of N, then the body one byte every `ms` ms (the trap of
                           DESIGN §9: per-phase httpx timeouts never fire).
- ``/echo``                the request's method, path, headers and body as text.
- ``/t/{name}``            200 "ok": as many distinct targets as a test or benchmark needs.
- ``/control/{name}/down[?status=N]``, ``/control/{name}/up``, ``/control/{name}/hang``,
  ``/control/reset`` (GET or POST): force `name` and every path under it (``steady``,
  ``status``, ``t/api``) to answer N (503) or to never answer until set up again; ``up`` lets
  held requests through. Python: `set_down(name, status=503)`, `set_hang(name)`, `set_up(name)`,
  `reset()`.
- ``tcp://host:port``      plain TCP connects are accepted on the same port.

Per-path request counters drive the patterns, so ``/flaky/a`` and ``/flaky/b`` each follow the
pattern on their own. Run it alone with ``python -m shiptrack_tui.demo --port 8787``.
"""

from shiptrack_tui.demo.server import (
    DEFAULT_PORT,
    FLAKY_PATTERN,
    SLOW_PATTERN_MS,
    DemoTargets,
    Override,
    index_text,
)
from shiptrack_tui.demo.specs import demo_config_text, demo_http, demo_monitor_specs, demo_service_specs
from shiptrack_tui.demo.thread import DemoTargetsThread

__all__ = [
    "DEFAULT_PORT",
    "FLAKY_PATTERN",
    "SLOW_PATTERN_MS",
    "DemoTargets",
    "DemoTargetsThread",
    "Override",
    "demo_config_text",
    "demo_http",
    "demo_monitor_specs",
    "demo_service_specs",
    "index_text",
]
