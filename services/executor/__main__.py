"""`python -m services.executor --config F --venue polymarket`: one venue account's orders."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from common import runtime
from common.auth import load_secret
from common.config import Config, load
from common.errors import ConfigError
from services.executor.orders import MarketTokens
from services.executor.polymarket import PolymarketExecution
from services.executor.process import ExecutorActor

log = logging.getLogger(__name__)

def market_tokens(cfg: Config, venue: str) -> list[MarketTokens]:
    """The configured markets of a venue as executor records."""
    return [
        MarketTokens(
            market=m.id, venue_market=m.venue_market, yes_token=m.yes_token,
            no_token=m.no_token, tick=m.tick_pips, min_size=m.min_size_centi,
            neg_risk=m.neg_risk,
        )
        for m in cfg.markets
        if m.venue == venue
    ]


def polymarket_key(cfg: Config) -> str:
    """The signing key from $<private_key_env> (`pmm up` makes a throwaway one for the simulator)."""
    pm = cfg.venues.polymarket
    key = os.environ.get(pm.private_key_env, "").strip()
    if key:
        return key
    raise ConfigError(
        f"${pm.private_key_env} is not set; the executor needs the Polymarket signing key "
        f"(named by venues.polymarket.private_key_env); `pmm up` sets a throwaway one when "
        f"[sim] enabled = true"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load the config and run the executor until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.executor", description=__doc__)
    parser.add_argument("--config", required=True, help="TOML config file")
    parser.add_argument("--venue", required=True, choices=["polymarket"])
    args = parser.parse_args(argv)
    try:
        cfg = load(args.config)
        markets = market_tokens(cfg, args.venue)
        if not markets:
            raise ConfigError(f"no [[markets]] with venue = {args.venue!r} in {args.config}")
        secret = load_secret(cfg.control.secret_env)
        private_key = polymarket_key(cfg)
    except ConfigError as exc:
        print(f"executor: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        with ThreadPoolExecutor(cfg.executor.workers, thread_name_prefix="venue") as pool:
            adapter = PolymarketExecution(cfg, markets, private_key=private_key,
                                          pool=pool)
            await ExecutorActor(cfg, adapter, markets, secret=secret).run(stop)

    runtime.run("executor", f"executor-{args.venue}", _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
