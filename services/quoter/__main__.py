"""`python -m services.quoter --config F --shard i --shards N`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common import overlay, runtime
from common.errors import ConfigError
from services.quoter.actor import Quoter


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load config, and run quoter shard i of N until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.quoter", description=__doc__)
    parser.add_argument("--config", required=True, help="stack config TOML")
    parser.add_argument("--shard", type=int, default=0, help="this quoter's index i")
    parser.add_argument(
        "--shards", type=int, default=0, help="number of quoters N (default [stack] quoters)"
    )
    args = parser.parse_args(argv)
    try:
        cfg = overlay.load_effective(args.config)  # config file + run-dir overlay (issue 7)
    except ConfigError as exc:
        print(f"quoter: {exc}", file=sys.stderr)
        sys.exit(2)
    shards = args.shards or cfg.stack.quoters
    if not 0 <= args.shard < shards:
        parser.error(f"--shard must lie in [0, {shards - 1}], got {args.shard}")
    try:
        quoter = Quoter(cfg, args.shard, shards)
    except ConfigError as exc:
        print(f"quoter: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        watcher = asyncio.create_task(overlay.watch(cfg, quoter.reconfigure, stop))  # issue 7
        await quoter.run(stop)
        watcher.cancel()

    runtime.run("quoter", quoter.name, _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
