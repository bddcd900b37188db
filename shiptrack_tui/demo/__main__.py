"""`python -m shiptrack_tui.demo [--host H] [--port P]`: serve the demo targets until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from shiptrack_tui.demo.server import DEFAULT_PORT, DemoTargets, index_text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shiptrack_tui.demo",
                                     description="Serve ShipTrack's built-in loopback demo targets.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on; 0 picks a free one (default {DEFAULT_PORT})")
    parser.add_argument("--outage-up", type=float, default=60.0, metavar="S",
                        help="seconds /outage stays up in each cycle (default 60)")
    parser.add_argument("--outage-down", type=float, default=30.0, metavar="S",
                        help="seconds /outage stays down in each cycle (default 30)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    targets = DemoTargets(outage_up=args.outage_up, outage_down=args.outage_down)
    await targets.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(targets.base_url, flush=True)
    print(index_text(targets.base_url, targets.outage_up, targets.outage_down), file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await targets.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.outage_up <= 0 or args.outage_down < 0:
        print("error: --outage-up must be > 0 and --outage-down >= 0", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
              "try another --port (0 picks a free one)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
