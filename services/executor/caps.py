"""The executor's own hard limits on what it sends, independent of risk.

Risk clips every ladder to the market's limits, but the executor is the last process
before the venue and must not trust its input blindly: a bug in risk, a stale or
corrupt approval, or a peer that got onto the command socket could otherwise send an
order for 10^10 contracts at 0.9999. So, as a broker's pre-trade controls (SEC rule
15c3-5) do, every level of an approved ladder is checked against three caps:

    size      <= max_order_contracts
    notional  <= max_order_notional_usd        notional = cost of the token bought:
                                               p * size for a bid (BUY YES at p),
                                               (1 - p) * size for an ask (BUY NO at 1 - p)
    collar    bid p <= mid + collar,  ask p >= mid - collar

The collar only bounds the aggressive side: a passive level far from the mid cannot take
liquidity, while a bid far above the mid would buy at a loss if it crossed. Without a
book (mid unknown, market data down) only the size and notional caps apply: refusing
then would also refuse an operator's flatten when it is needed most. A ladder with any
level over a cap is refused whole and counted: it means something upstream is wrong.
"""

from __future__ import annotations

from msgspec import Struct

from common.config import ExecutorConfig
from common.messages import ApprovedIntent, Level
from common.prices import PRICE_SCALE, SIZE_SCALE

__all__ = ["Caps", "check_ladder"]


class Caps(Struct, frozen=True):
    """The caps in bus units: centi-contracts, micro-dollars (pips x centi), pips."""

    max_size: int
    max_notional: int
    collar: int

    @classmethod
    def from_config(cls, cfg: ExecutorConfig) -> Caps:
        return cls(max_size=round(cfg.max_order_contracts * SIZE_SCALE),
                   max_notional=round(cfg.max_order_notional_usd * PRICE_SCALE * SIZE_SCALE),
                   collar=round(cfg.price_collar * PRICE_SCALE))


def _level(level: Level, *, bid: bool, exit_order: bool, mid: int | None, caps: Caps) -> str:
    kind = ("exit " if exit_order else "") + ("bid" if bid else "ask")
    if level.size > caps.max_size:
        return f"{kind} size {level.size / SIZE_SCALE:g} over max_order_contracts"
    cost = (level.price if bid else PRICE_SCALE - level.price) * level.size
    if cost > caps.max_notional:
        return f"{kind} notional {cost / (PRICE_SCALE * SIZE_SCALE):g} USD over max_order_notional_usd"
    if mid is None:
        return ""
    if (bid and level.price > mid + caps.collar) or (not bid and level.price < mid - caps.collar):
        return f"{kind} at {level.price} pips outside the price collar around mid {mid}"
    return ""


def check_ladder(intent: ApprovedIntent, *, mid: int | None, caps: Caps) -> str:
    """'' if every level of `intent` is inside the caps, else why the first one is not."""
    for levels, bid, exit_order in ((intent.bids, True, False), (intent.asks, False, False),
                                    (intent.exit_bids, True, True),
                                    (intent.exit_asks, False, True)):
        for level in levels:
            why = _level(level, bid=bid, exit_order=exit_order, mid=mid, caps=caps)
            if why:
                return why
    return ""
