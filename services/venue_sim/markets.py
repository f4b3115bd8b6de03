"""The markets a simulator run lists: the configured ones and seeded scan candidates.

A Kalshi ticker trades on the engine as two synthetic tokens, `<ticker>:yes` and
`<ticker>:no`, which never appear on Kalshi's wire.

`[sim] candidate_markets = N` adds N seeded markets that are listed and traded like the
configured ones but not quoted by pmm: they differ in noise-trader activity (volume),
background-maker depth (liquidity), resolution date and start probability, so a scan
(`pmm scan`, issue 5) has something to rank.
"""

from __future__ import annotations

import random

from common.config import Config
from services.venue_sim.model import SimMarket

__all__ = ["candidates", "kalshi_tokens", "sim_markets"]

_TOPICS = (
    "ETH above $5k", "SOL above $300", "Fed cuts in March", "Team A wins the final",
    "CPI above 3%", "Oil above $90", "Gold above $3k", "Unemployment above 4.5%",
    "Rate hike in June", "Storm makes landfall", "Film tops box office", "Bill passes Senate",
)
_ACTIVITY = (0.2, 0.5, 1.0, 2.0, 4.0)
_DEPTH = (0.3, 1.0, 3.0)
_DAYS = (0.5, 3.0, 10.0, 45.0, 120.0, 400.0)


def candidates(cfg: Config, now_s: int) -> list[SimMarket]:
    """`[sim] candidate_markets` seeded markets, on the venues the config uses."""
    rng = random.Random(f"{cfg.sim.seed}:candidates")
    venues = cfg.venues_in_use() or ["polymarket"]
    out = []
    for i in range(cfg.sim.candidate_markets):
        venue = venues[i % len(venues)]
        topic = _TOPICS[i % len(_TOPICS)]
        days = rng.choice(_DAYS)
        activity, depth = rng.choice(_ACTIVITY), rng.choice(_DEPTH)
        if venue == "kalshi":
            cid = f"KXSIMCAND-{i:03d}"
            yes, no = kalshi_tokens(cid)
        else:
            cid = "0x" + format(rng.getrandbits(256), "064x")
            yes, no = str(rng.getrandbits(252)), str(rng.getrandbits(252))
        out.append(SimMarket(
            condition_id=cid, yes_token=yes, no_token=no, tick=100, min_size=500,
            start_probability=round(rng.uniform(0.15, 0.85), 2),
            name=f"{topic} (candidate {i})", venue=venue, activity=activity, depth=depth,
            resolves_at_s=now_s + round(days * 86_400),
            base_volume_usd=round(activity * 20_000 * rng.uniform(0.5, 1.5), 2),
        ))
    return out


def kalshi_tokens(ticker: str) -> tuple[str, str]:
    """The engine's YES and NO token ids of a Kalshi market."""
    return f"{ticker}:yes", f"{ticker}:no"


def sim_markets(cfg: Config) -> list[SimMarket]:
    """Every configured market; a Kalshi ticker gets synthetic `<ticker>:yes|no` tokens."""
    out = []
    for m in cfg.markets:
        yes, no = (m.yes_token, m.no_token) if m.venue == "polymarket" else kalshi_tokens(
            m.venue_market)
        out.append(SimMarket(
            condition_id=m.venue_market, yes_token=yes, no_token=no,
            tick=m.tick_pips, min_size=m.min_size_centi, neg_risk=m.neg_risk,
            start_probability=m.sim_start_probability, name=m.name or m.id, venue=m.venue,
            resolves_at_s=(m.resolves_at_ns or 0) // 1_000_000_000,
        ))
    return out
