"""`python -m services.recorder record|replay --config F ...`: record the md bus to files,
or replay files onto it (instead of ingest). `pmm record` and `pmm replay` run this."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common import overlay, runtime
from common.errors import ConfigError, PmmError
from services.recorder.record import Recorder
from services.recorder.replay import Replayer


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the recorder or the replayer until done or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.recorder", description=__doc__)
    parser.add_argument("mode", choices=["record", "replay"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--dir", required=True, help="recording directory")
    parser.add_argument("--chunk-s", type=float, default=60.0)
    parser.add_argument("--max-mb", type=float, default=1024.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--market", action="append", default=None)
    parser.add_argument("--start-delay-s", type=float, default=0.5,
                        help="wait after the subscribers are in before the first record")
    parser.add_argument("--subscribers", type=int, default=1,
                        help="play only once every replayed market has this many subscribing "
                             "sockets (a paper stack with one quoter has 5)")
    parser.add_argument("--wait-s", type=float, default=30.0,
                        help="give up (exit 2) if the subscribers are not in after this long")
    args = parser.parse_args(argv)
    try:
        cfg = overlay.load_effective(args.config)
        if args.mode == "record":
            worker: Recorder | Replayer = Recorder(
                cfg, args.dir, chunk_s=args.chunk_s, max_bytes=int(args.max_mb * 2**20))
        else:
            worker = Replayer(cfg, args.dir, speed=args.speed, markets=args.market,
                              start_delay_s=args.start_delay_s, subscribers=args.subscribers,
                              wait_s=args.wait_s)
    except (ConfigError, PmmError) as exc:
        print(f"recorder: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        await worker.run(stop)

    runtime.run("recorder", f"{args.mode}er", _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
