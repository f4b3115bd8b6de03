"""`python -m services.venue_sim --config deploy/demo.toml`: serve the simulated venue."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common import config as config_mod
from common import runtime
from common.errors import ConfigError
from services.venue_sim.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.venue_sim",
        description="Polymarket CLOB V2 venue simulator (REST + websockets on one port)",
    )
    parser.add_argument("--config", required=True, help="pmm TOML config file")
    parser.add_argument("--port", type=int, default=None, help="override [sim] port")
    args = parser.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except ConfigError as exc:
        print(f"venue_sim: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.port is not None:
        import msgspec

        cfg = msgspec.structs.replace(cfg, sim=msgspec.structs.replace(cfg.sim, port=args.port))

    async def run(stop: asyncio.Event) -> None:
        await serve(cfg, stop)

    runtime.run("venue_sim", "venue_sim", run, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
