"""Executor events (executor -> risk, control; topic ev.<venue>.<market>): one part of
common/messages.py, which re-exports every name here; the wire rules are there."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from common.message_base import Level, OrderSide, Outcome, Price, Size, Venue, _Msg

__all__ = ["ExecutorReport", "Fill", "FillReversal", "MarketPosition", "OrderEvent", "RewardInfo",
           "VenuePositions"]


# --- events (executor -> risk, control; topic ev.<venue>.<market>) ---------------------------


class OrderEvent(_Msg, tag="order", frozen=True):
    """A change in one of our orders at the venue."""

    venue: Venue
    market: str
    order_id: str
    status: Literal["placed", "cancelled", "rejected", "filled", "unknown"]
    outcome: Outcome
    side: OrderSide
    price: Price
    size: Size
    ts_ns: int
    reason: str = ""


class Fill(_Msg, tag="fill", frozen=True):
    """One of our orders traded. `price` is the token's own price (NO in NO terms)."""

    venue: Venue
    market: str
    trade_id: str
    order_id: str
    outcome: Outcome
    side: OrderSide
    price: Price
    size: Annotated[int, Meta(gt=0, le=10**12)]
    fee: int
    ts_venue_ms: int
    ts_recv_ns: int
    pub_seq: int = 0
    """The executor's sequence of fill/reversal publishes, live and replayed (1, 2, ... per
    process), so risk sees a fill the PUB socket dropped, also one dropped from a replay
    (a replay is a burst, sent when the socket was just overflowing)."""


class RewardInfo(Struct, frozen=True, kw_only=True):
    """One market's liquidity-reward standing (services/executor/rewards.py)."""

    eligible: bool
    """The venue runs a reward programme on the market."""
    max_spread: int = 0
    """Pips from the adjusted midpoint within which orders score."""
    min_size: int = 0
    """Centi-contracts an order needs to score."""
    daily_usd: float = 0.0
    orders: int = 0
    """Our orders the last check looked at."""
    scoring_orders: int = 0
    """Of those, the ones the venue says score."""
    not_scoring: dict[str, int] = {}
    """Why the others do not: below_min_size, outside_max_spread, no_midpoint, venue (in the
    band by our reading, yet the venue says no), unchecked (the venue could not be asked)."""
    share: float = 0.0
    est_usd_per_day: float = 0.0
    checked_ns: int = 0
    kind: str = ""
    """polymarket_liquidity or kalshi_liquidity."""
    scored_by: str = ""
    """venue: the venue said which orders score; estimate: our reading of its rules (Kalshi
    publishes no per-order scoring)."""
    target_size: int = 0
    """Kalshi: centi-contracts of depth from the best price that score."""
    discount: float = 0.0
    """Kalshi: the score multiplier per cent from the best price."""


class ExecutorReport(_Msg, tag="exec_report", frozen=True):
    """Periodic summary of our live orders on one market, for status and metrics."""

    venue: Venue
    market: str
    ts_ns: int
    open_orders: int
    best_bid: Price
    best_ask: Price
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    locked: int = 0  # micro-dollars our orders in the market lock (executor/collateral.py)
    collateral: int | None = None  # the venue account's, micro-dollars; None until read
    reward: RewardInfo | None = None
    """The market's liquidity rewards; None until checked (or on venues without them)."""


class FillReversal(_Msg, tag="fill_reversal", frozen=True):
    """A fill published earlier did not happen after all: undo it exactly once.

    Polymarket trades are provisional until CONFIRMED; a trade that goes FAILED
    (a ghost fill) is reversed with the same fields as the Fill it cancels."""

    venue: Venue
    market: str
    trade_id: str
    order_id: str
    outcome: Outcome
    side: OrderSide
    price: Price
    size: Annotated[int, Meta(gt=0, le=10**12)]
    ts_ns: int
    pub_seq: int = 0
    """As `Fill.pub_seq`: one sequence for both."""


class MarketPosition(Struct, frozen=True, array_like=True):
    """One market's holdings at the venue (centi-contracts); `net` = yes - no."""

    market: str
    position_yes: int
    position_no: int
    net: int
    quiet: bool = False
    """No fill of this market was in flight around the read (services/executor/
    fill_activity.py): the difference from the journal is exact."""


class VenuePositions(_Msg, tag="venue_positions", frozen=True):
    """The venue's own record of our positions, published by an executor at startup
    reconciliation (topic ev.<venue>.|) so risk can compare it with its journal.

    `gross` is False where the venue reports only a net position (Kalshi): then
    position_yes/position_no are max(net, 0) / max(-net, 0)."""

    venue: Venue
    ts_ns: int
    positions: tuple[MarketPosition, ...]
    gross: bool = True
    open_orders_adopted: int = 0
    open_orders_cancelled: int = 0
    replay_id: int = 0
    """The ReplayRequest.id whose replay this snapshot closes; 0 for any other snapshot."""
    pub_seq: int = 0
    """The executor's newest Fill.pub_seq when it sent this (as Heartbeat.pub_seq)."""
