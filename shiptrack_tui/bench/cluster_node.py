"""One node of `bench --scenario cluster`: the real engine joined to the cluster, measured.

Run as `python -m shiptrack_tui.bench.cluster_node CONFIG WARMUP DURATION` by bench/cluster.py,
one process per node (as a real deployment runs them, each with its own interpreter and GIL). It
waits `WARMUP` seconds (joining, lease balancing, start-up spreading), measures `DURATION`
seconds, prints one JSON line with its figures, then keeps checking until SIGTERM — so the
scenario can also kill it (-9) and time the takeover.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from shiptrack_tui.bench.measure import cpu_seconds
from shiptrack_tui.config import load_config
from shiptrack_tui.config.cluster import cluster_config_hash
from shiptrack_tui.core.cluster import OWNER
from shiptrack_tui.daemon import setup_logging
from shiptrack_tui.engine import Engine
from shiptrack_tui.engine.cluster import CHORES
from shiptrack_tui.engine.membership import ClusterLink
from shiptrack_tui.store_target import StoreTarget


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


async def _run(config_path: Path, warmup: float, duration: float) -> None:
    config = load_config(config_path)
    assert config.cluster is not None and config.storage.url is not None
    target = StoreTarget.of(config.storage.url)
    store = await asyncio.to_thread(target.open)
    link = ClusterLink(config.storage.url, config.cluster, cluster_config_hash(config))
    await asyncio.to_thread(link.claim_name)
    await asyncio.to_thread(link.prepare)
    engine = Engine(config, store, send_notifications=False, cluster=link,
                    heartbeat=config_path.with_suffix(".heartbeat"))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, engine.request_stop)
    task = asyncio.create_task(engine.run(), name="bench-node")
    await asyncio.sleep(warmup)
    counters = engine.counters
    counters.lateness.reset()
    checks0, overlapping0, cpu0, t0 = counters.checks, counters.overlapping, cpu_seconds(), time.time()
    await asyncio.sleep(duration)
    cpu1, t1 = cpu_seconds(), time.time()
    figures: dict[str, Any] = {
        "node": config.cluster.node, "pid": os.getpid(), "t0": t0, "t1": t1,
        "checks": counters.checks - checks0, "overlapping": counters.overlapping - overlapping0,
        "cpu_s": cpu1 - cpu0,
        "owned": sum(1 for key in engine.held_keys() if key[1] == OWNER and key != CHORES),
        "lateness_samples": len(counters.lateness),
        "lateness_p99_ms": _ms(counters.lateness.percentile(0.99)),
        "lateness_s": counters.lateness.samples(),  # merged with the other nodes' by the scenario
    }
    print(json.dumps(figures), flush=True)
    await task
    await asyncio.to_thread(link.close)
    await asyncio.to_thread(store.close)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    setup_logging()  # to the node's .log file: joins, leases gained and lost, storage trouble
    asyncio.run(_run(Path(args[0]), float(args[1]), float(args[2])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
