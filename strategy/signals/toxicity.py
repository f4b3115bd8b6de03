"""Order-flow toxicity, VPIN-style: imbalance of buyer- and seller-initiated volume.

Trades are classified by their aggressor when the feed says it (`TradeTick.side`), else by
the quote rule against the mid of the previous book (above: a buy, below: a sell) and the
tick rule at the mid (same side as the last trade if the price did not change, else the
direction of the price change). Volume fills buckets of `bucket_contracts`; a trade larger
than what a bucket lacks spills into the next. Over the last `buckets` closed buckets
younger than `max_age_s`:

    vpin = mean over buckets of |buy - sell| / (buy + sell)           in [0, 1]
    flow = (sum buy - sum sell) / sum volume                          in [-1, 1]

`vpin >= threshold` widens both sides by `widen`; with `|flow| >= one_sided` as well, the
side the flow hits is pulled (buyers lift asks: quote bid only). Informed takers trade one
way until the price has moved; uninformed flow is balanced. Fair value also leans with the
flow by `nudge * flow` book half-spreads (0: off), whether or not the threshold is reached.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.signal_config import ToxicityConfig
from strategy.model import TradeTick
from strategy.signals.types import NONE, Effect, SignalReading, ToxicityState

__all__ = ["classify", "effect", "measures", "update"]


def classify(price: int, mid: float | None, last_price: int, last_side: int) -> int:
    """+1 buyer-initiated, -1 seller-initiated (quote rule, then tick rule)."""
    if mid is not None and price != mid:
        return 1 if price > mid else -1
    if last_price and price != last_price:
        return 1 if price > last_price else -1
    return last_side or 1


def update(
    state: ToxicityState, trades: Sequence[TradeTick], mid: float | None, now_ns: int,
    cfg: ToxicityConfig,
) -> ToxicityState:
    """Classify `trades` (since the previous step) and fill volume buckets."""
    if not trades:
        return state
    bucket = max(1, round(cfg.bucket_contracts * 100))
    buy, sell = state.buy, state.sell
    closed = list(state.closed)
    last_price, last_side = state.last_price, state.last_side
    for tr in trades:
        side = tr.side if tr.side in (1, -1) else classify(tr.price, mid, last_price, last_side)
        last_price, last_side = tr.price, side
        left = tr.size
        while left > 0:
            room = bucket - buy - sell
            take = min(room, left)
            if side > 0:
                buy += take
            else:
                sell += take
            left -= take
            if buy + sell >= bucket:
                closed.append((tr.ts_ns or now_ns, buy, sell))
                buy = sell = 0
    return ToxicityState(
        buy=buy, sell=sell, closed=tuple(closed[-cfg.buckets:]), last_price=last_price,
        last_side=last_side,
    )


def measures(state: ToxicityState, now_ns: int, cfg: ToxicityConfig) -> tuple[float, float, int]:
    """(vpin, flow, buckets used) over the recent closed buckets; zeros without any."""
    oldest = now_ns - int(cfg.max_age_s * 1e9)
    recent = [(b, s) for ts, b, s in state.closed if ts >= oldest]
    if not recent:
        return 0.0, 0.0, 0
    vpin = sum(abs(b - s) / (b + s) for b, s in recent) / len(recent)
    volume = sum(b + s for b, s in recent)
    flow = sum(b - s for b, s in recent) / volume
    return vpin, flow, len(recent)


def effect(
    state: ToxicityState, now_ns: int, cfg: ToxicityConfig, half_touch: float = 0.0
) -> tuple[Effect, SignalReading]:
    """Widen, go one-sided, and lean fair value with the flow (`half_touch`: the book's
    half-spread in pips, the unit of `nudge`)."""
    vpin, flow, _ = measures(state, now_ns, cfg)
    shift = cfg.nudge * flow * half_touch
    if vpin < cfg.threshold or vpin <= 0:
        if shift:
            return Effect(fv_shift=shift), SignalReading("toxicity", vpin, False, f"lean {shift:+.0f}")
        return NONE, SignalReading("toxicity", vpin, False)
    if abs(flow) >= cfg.one_sided and flow != 0:
        buyers = flow > 0
        eff = Effect(widen=cfg.widen, pull_ask=buyers, pull_bid=not buyers, fv_shift=shift)
        return eff, SignalReading("toxicity", vpin, True, "pull ask" if buyers else "pull bid")
    eff = Effect(widen=cfg.widen, fv_shift=shift)
    return eff, SignalReading("toxicity", vpin, True, f"widen {cfg.widen}")
