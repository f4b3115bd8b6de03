"""`python -m services.risk --config F`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common import overlay, runtime
from common.auth import load_secret
from common.errors import ConfigError
from services.risk.actor import NAME, RiskActor
from services.risk.market_limits import resolve_all


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load config and the control secret, and run risk until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.risk", description=__doc__)
    parser.add_argument("--config", required=True, help="stack config TOML")
    args = parser.parse_args(argv)
    try:
        cfg = overlay.load_effective(args.config)  # config file + run-dir overlay (issue 7)
        secret = load_secret(cfg.control.secret_env)
        resolve_all(cfg)  # per-venue/per-market limit tables: fail here, naming the field
    except ConfigError as exc:
        print(f"risk: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        actor = RiskActor(cfg, secret)
        await actor.run(stop)

    runtime.run("risk", NAME, _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
