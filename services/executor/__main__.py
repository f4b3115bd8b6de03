"""`python -m services.executor --config F --venue polymarket`: one venue account's orders."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from common import overlay, runtime
from common.auth import load_secret
from common.config import Config
from common.errors import ConfigError
from common.kalshi_auth import KalshiSigner
from common.private_files import secret_from_env
from services.executor.kalshi import KalshiExecution, kalshi_tokens
from services.executor.orders import MarketTokens
from services.executor.polymarket import PolymarketExecution
from services.executor.process import ExecutorActor

__all__ = ["main", "market_tokens", "polymarket_key"]

log = logging.getLogger(__name__)

def market_tokens(cfg: Config, venue: str) -> list[MarketTokens]:
    """The configured markets of a venue as executor records (Kalshi: `<ticker>:yes|no`)."""
    out = []
    for m in cfg.markets:
        if m.venue != venue:
            continue
        yes, no = (m.yes_token, m.no_token) if venue == "polymarket" else kalshi_tokens(
            m.venue_market)
        out.append(MarketTokens(
            market=m.id, venue_market=m.venue_market, yes_token=yes, no_token=no,
            tick=m.tick_pips, min_size=m.min_size_centi, neg_risk=m.neg_risk,
        ))
    return out


def polymarket_key(cfg: Config) -> str:
    """The signing key from $<private_key_env> or the owner-only file in $<private_key_env>_FILE
    (`pmm up` passes the file, to this program only; a throwaway key for the simulator)."""
    pm = cfg.venues.polymarket
    key = secret_from_env(pm.private_key_env, "the Polymarket signing key")
    if key:
        return key
    raise ConfigError(
        f"${pm.private_key_env} (or ${pm.private_key_env}_FILE) is not set; the executor needs "
        f"the Polymarket signing key "
        f"(named by venues.polymarket.private_key_env); `pmm up` sets a throwaway one when "
        f"[sim] enabled = true"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load the config and run the executor until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.executor", description=__doc__)
    parser.add_argument("--config", required=True, help="TOML config file")
    parser.add_argument("--venue", required=True, choices=["kalshi", "polymarket"])
    parser.add_argument("--paper", action="store_true",
                        help="paper trading: fill against market data, no venue orders or "
                             "credentials (also when $PMM_PAPER is true; `pmm up --paper`)")
    args = parser.parse_args(argv)
    if args.paper or os.environ.get("PMM_PAPER", "").lower() in ("1", "true"):
        _run_paper(args.config, args.venue)
        return
    try:
        cfg = overlay.load_effective(args.config)  # config file + run-dir overlay (issue 7)
        markets = market_tokens(cfg, args.venue)
        if not markets:
            raise ConfigError(f"no [[markets]] with venue = {args.venue!r} in {args.config}")
        secret = load_secret(cfg.control.secret_env)
        if args.venue == "kalshi":
            k = cfg.venues.kalshi
            signer = KalshiSigner.from_env(k.key_id_env, k.private_key_file_env)
        else:
            private_key = polymarket_key(cfg)
    except ConfigError as exc:
        print(f"executor: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        if args.venue == "kalshi":
            kalshi = KalshiExecution(cfg, markets, signer=signer)
            await ExecutorActor(cfg, kalshi, markets, secret=secret).run(stop)
            return
        with ThreadPoolExecutor(cfg.executor.workers, thread_name_prefix="venue") as pool:
            polymarket = PolymarketExecution(cfg, markets, private_key=private_key, pool=pool)
            await ExecutorActor(cfg, polymarket, markets, secret=secret).run(stop)

    runtime.run("executor", f"executor-{args.venue}", _main, level=cfg.stack.log_level)


def _run_paper(config: str, venue: str) -> None:
    """Run the executor with the paper adapter (services/executor/paper.py)."""
    from services.executor.paper import PaperExecution

    try:
        cfg = overlay.load_effective(config)
        markets = market_tokens(cfg, venue)
        if not markets:
            raise ConfigError(f"no [[markets]] with venue = {venue!r} in {config}")
        secret = load_secret(cfg.control.secret_env)
    except ConfigError as exc:
        print(f"executor: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        adapter = PaperExecution(cfg, venue, markets)  # type: ignore[arg-type]
        await ExecutorActor(cfg, adapter, markets, secret=secret).run(stop)

    runtime.run("executor", f"executor-{venue}", _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
