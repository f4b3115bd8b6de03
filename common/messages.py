"""Every message on pmm's bus: frozen, tagged msgspec Structs, one union per channel.

Wire rules (see ARCHITECTURE.md):
- Frames are msgpack. A message is sent as [topic, payload] on PUB/SUB and as
  [payload] on PUSH/PULL and ROUTER/DEALER.
- Every Struct is tagged with a short name; decoders are strict and typed per
  channel, so a frame that does not decode is dropped and counted.
- New fields get defaults and go last; nothing is reordered or retyped.
  `SCHEMA_VERSION` bumps when a change is not backward compatible.
- Prices are pips (int, 1/10,000 USD), sizes centi-contracts (int, 1/100),
  money micro-dollars (int). Books and ladders are in YES-price terms.
- `ts_recv_ns` is the ingest receive time on CLOCK_MONOTONIC (system-wide on a
  host), carried through quoter, risk and executor to measure tick-to-order.
  `expires_at_ns` is wall-clock (time.time_ns) so it means the same on any host.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from common.event_messages import (
    ExecutorReport, Fill, FillReversal, MarketPosition, OrderEvent, VenuePositions,
)
from common.message_base import (
    SCHEMA_VERSION, Level, OrderSide, Outcome, Price, Seq, Size, Venue, _Msg,
)

__all__ = ["Ack", "ApprovedIntent", "BookSnapshot", "CancelMarket", "ControlMessage", "Envelope",
    "EventChannel", "ExecutorCommand", "ExecutorReport", "Fill", "FillReversal", "Flatten",
    "Heartbeat", "IntentChannel", "Kill", "Level", "MarketData", "MarketPosition", "MarketStatus",
    "OrderEvent", "OrderSide", "Outcome", "Pause", "PositionUpdate", "Price", "QuoteIntent",
    "ReferencePrice", "ReplayRequest", "Reset", "RewardProgramme", "RiskState", "SCHEMA_VERSION",
    "Seq", "Size",
    "StateChannel", "TradePrint", "Venue", "VenuePositions", "decoder", "encoder"]


# --- market data (ingest -> quoters, risk, control; topic md.<venue>.<market>) ---------------


class BookSnapshot(_Msg, tag="book", frozen=True):
    """Top-N L2 book of one market in YES terms, best level first on each side."""

    venue: Venue
    market: str
    seq: Seq
    ts_recv_ns: int
    ts_venue_ms: int
    tick: Annotated[int, Meta(gt=0, le=1000)]
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    stale: bool = False
    min_size: Size = 0


class TradePrint(_Msg, tag="trade", frozen=True):
    """A trade on the venue (anyone's), in YES terms; `side` is the aggressor's."""

    venue: Venue
    market: str
    ts_recv_ns: int
    ts_venue_ms: int
    price: Price
    size: Size
    side: OrderSide


class MarketStatus(_Msg, tag="status", frozen=True):
    """Feed health of one market; `stale` means do not quote on its book."""

    venue: Venue
    market: str
    ts_ns: int
    stale: bool
    reason: str = ""


class ReferencePrice(_Msg, tag="ref", frozen=True):
    """An external reference price (issue 5, lead-lag): e.g. the underlying of a crypto
    up/down market. `feed` names the feed (markets opt in with `reference = "<feed>"`);
    `price` is in the reference's own units (a float: BTC in dollars, not pips);
    published on topic `ref.<feed>|` of the market-data bus."""

    feed: str
    ts_ns: int
    price: float


class RewardProgramme(_Msg, tag="reward", frozen=True):
    """A market's liquidity reward programme as the venue publishes it (ingest reads it,
    services/ingest/rewards.py): `kind` "polymarket" (orders within `max_spread` pips of the
    size-cutoff-adjusted mid and at least `min_size` centi-contracts score), "kalshi"
    (depth to `target_size` from the best price, `discount` per cent away), "" none."""

    venue: Venue
    market: str
    ts_ns: int
    kind: str = ""
    daily_usd: float = 0.0
    max_spread: int = 0
    min_size: int = 0
    target_size: int = 0
    discount: float = 0.0


# --- intents (quoter -> risk over PUSH/PULL) -------------------------------------------------


class QuoteIntent(_Msg, tag="intent", frozen=True):
    """The full desired ladder for one market; supersedes every older intent for it."""

    market: str
    quoter: str
    seq: Seq
    ts_recv_ns: int
    ts_sent_ns: int
    fair_value: Price
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    book_seq: Seq = 0
    exit_bids: tuple[Level, ...] = ()
    """Exit orders (issue 4): the one non-post-only case, marketable limit orders that cut
    inventory before resolution. Empty unless the engine is exiting; receivers that do not
    handle exits yet ignore them (the post-only `bids`/`asks` are unaffected)."""
    exit_asks: tuple[Level, ...] = ()


class Heartbeat(_Msg, tag="hb", frozen=True):
    """Liveness of one process. `role` is ingest, quoter, risk, executor or control."""

    sender: str
    role: str
    seq: Seq
    ts_ns: int
    markets: tuple[str, ...] = ()
    instance: str = ""
    """The sending process's incarnation, new at every start (risk's is the gate's identity:
    an executor that hears a new one cancels everything and waits for the new gate)."""
    pub_seq: int = 0
    """An executor's last `Fill.pub_seq`: a dropped last fill shows as a gap here."""


# --- commands (risk -> one executor over PUSH/PULL) ------------------------------------------


class ApprovedIntent(_Msg, tag="approved", frozen=True):
    """A ladder risk approved (possibly clipped) for one market. Refused after `expires_at_ns`."""

    venue: Venue
    market: str
    risk_seq: Seq
    intent_seq: Seq
    ts_recv_ns: int
    ts_approved_ns: int
    expires_at_ns: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    exit_bids: tuple[Level, ...] = ()
    """Approved exit orders (non-post-only, see QuoteIntent.exit_bids); empty until risk
    forwards them."""
    exit_asks: tuple[Level, ...] = ()
    ts_intent_ns: int = 0
    """When the quoter sent the intent (its `ts_sent_ns`, monotonic): with `ts_recv_ns` and
    `ts_approved_ns` it splits the tick-to-order time into ingest + quoter, quoter -> risk
    and risk -> executor (bench/latency.py)."""
    risk_instance: str = ""
    """The risk incarnation that approved this ladder (`Heartbeat.instance`); an executor
    refuses approvals from any gate but the one it currently hears."""


class CancelMarket(_Msg, tag="cancel", frozen=True):
    """Cancel every order of one market (empty `market`: every market of the venue)."""

    venue: Venue
    market: str
    reason: str
    risk_seq: Seq
    expires_at_ns: int


ExecutorCommand = ApprovedIntent | CancelMarket


# --- state (risk -> quoters, executors, control; topics pos.<market>, risk, hb.<role>) -------


class PositionUpdate(_Msg, tag="pos", frozen=True):
    """Risk's view of one market. P&L in micro-dollars; marks in pips."""

    venue: Venue
    market: str
    ts_ns: int
    position_yes: int
    position_no: int
    net_position: int
    avg_price: Price
    realized_pnl: int
    marked_pnl: int
    mark: Price
    fills: int
    halted: bool
    halt_reason: str = ""


class RiskState(_Msg, tag="risk_state", frozen=True):
    """Global state of the risk gate."""

    ts_ns: int
    kill_active: bool
    kill_reason: str
    paused: bool
    total_exposure: int
    total_pnl: int
    rejected: int = 0


class ReplayRequest(_Msg, tag="replay", frozen=True):
    """Risk saw a gap in an executor's fill sequence: re-publish journaled fills since
    `since_ns` (wall clock) and the venue's positions (topic replay.<venue>|)."""

    venue: Venue
    since_ns: int
    reason: str
    id: int = 0
    """Echoed in the VenuePositions that closes the replay (VenuePositions.replay_id)."""


# --- control (CLI/HTTP -> risk and every executor over DEALER/ROUTER, acknowledged) ----------


class Kill(_Msg, tag="kill", frozen=True):
    """Latch the kill switch at a level: global (no venue, no market), venue, or market."""

    sender: str
    nonce: str
    ts_ns: int
    reason: str
    venue: str = ""
    market: str = ""


class Reset(_Msg, tag="reset", frozen=True):
    """Release a latched kill switch (and clear halts)."""

    sender: str
    nonce: str
    ts_ns: int


class Pause(_Msg, tag="pause", frozen=True):
    sender: str
    nonce: str
    ts_ns: int
    paused: bool


class Flatten(_Msg, tag="flatten", frozen=True):
    """Trade inventory back to flat (one market, or every market when `market` is empty).

    Sent to risk, which owns positions; it pulls the market's quotes and works the
    position out. Idempotent: a repeat while flattening changes nothing."""

    sender: str
    nonce: str
    ts_ns: int
    market: str = ""
    reason: str = ""


class Ack(_Msg, tag="ack", frozen=True):
    """Reply to a control message, naming the receiver."""

    receiver: str
    nonce: str
    ok: bool
    detail: str = ""


ControlMessage = Kill | Reset | Pause | Flatten

MarketData = BookSnapshot | TradePrint | MarketStatus | Heartbeat | ReferencePrice | RewardProgramme
IntentChannel = QuoteIntent | Heartbeat
EventChannel = OrderEvent | Fill | ExecutorReport | Heartbeat | FillReversal | VenuePositions
StateChannel = PositionUpdate | RiskState | Heartbeat | ReplayRequest


class Envelope(Struct, frozen=True, array_like=True):
    """An authenticated control frame: the encoded message and its HMAC-SHA256."""

    body: bytes
    mac: bytes


def encoder() -> msgspec.msgpack.Encoder:
    return msgspec.msgpack.Encoder()


def decoder(union: object) -> msgspec.msgpack.Decoder:  # type: ignore[type-arg]
    return msgspec.msgpack.Decoder(union)
