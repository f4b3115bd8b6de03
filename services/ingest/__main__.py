"""`python -m services.ingest --config F --venue polymarket`: one venue's market-data feed."""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys

from common import overlay, runtime
from common.config import Config
from common.errors import ConfigError
from common.kalshi_auth import KalshiSigner
from services.ingest.adapter import FeedAdapter
from services.ingest.grid import GridSource
from services.ingest.kalshi import KalshiFeed
from services.ingest.kalshi_grid import KalshiGrid
from services.ingest.polymarket import PolymarketFeed
from services.ingest.process import IngestActor

FEEDS = ("kalshi", "polymarket")


def make_feed(cfg: Config, venue: str) -> FeedAdapter:
    """The feed adapter of a venue (Kalshi signs its websocket upgrade: key from the env)."""
    if venue == "kalshi":
        k = cfg.venues.kalshi
        return KalshiFeed(cfg, _kalshi_signer(k.key_id_env, k.private_key_file_env))
    return PolymarketFeed(cfg)


def make_grid(cfg: Config, venue: str) -> GridSource | None:
    """Where ingest reads price grids the venue does not push (Kalshi: signed REST)."""
    if venue != "kalshi":
        return None  # Polymarket announces tick_size_change on the market channel
    k = cfg.venues.kalshi
    return KalshiGrid(cfg, _kalshi_signer(k.key_id_env, k.private_key_file_env))


@functools.cache
def _kalshi_signer(key_id_env: str, key_file_env: str) -> KalshiSigner:
    """One signer for the feed and the grid reads: one estimate of Kalshi's clock."""
    return KalshiSigner.from_env(key_id_env, key_file_env)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load the config and run the ingest actor until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.ingest", description=__doc__)
    parser.add_argument("--config", required=True, help="TOML config file")
    parser.add_argument("--venue", required=True, choices=sorted(FEEDS))
    args = parser.parse_args(argv)
    try:
        cfg = overlay.load_effective(args.config)  # config file + run-dir overlay (issue 7)
    except ConfigError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        sys.exit(2)
    if not any(m.venue == args.venue for m in cfg.markets):
        print(f"ingest: no [[markets]] with venue = {args.venue!r} in {args.config}", file=sys.stderr)
        sys.exit(2)
    try:
        feed = make_feed(cfg, args.venue)
        grid = make_grid(cfg, args.venue)
    except ConfigError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        await IngestActor(cfg, feed, grid=grid).run(stop)

    runtime.run("ingest", f"ingest-{args.venue}", _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
