"""The executor's book of our orders: live map, recent removals, fill deduplication.

No sockets and no venue calls: each method applies one outcome or venue event and
returns the OrderEvents to publish (the sequencer and the fill sink publish them), so
the bookkeeping is testable on its own. It lives in the order state (state.py).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping

from common.messages import Fill, FillReversal, OrderEvent, Venue
from services.executor.adapter import CancelOutcome, InFlight, OrderUpdate, Placed, PlaceResult
from services.executor.orders import LiveOrder, MarketTokens, VenueOrder
from services.executor.reconcile import Reconciled, reconcile

__all__ = ["FILL_MEMORY", "OrderLedger", "RECENT_FILLS"]

FILL_MEMORY = 5_000
"""How many (trade id, order id) pairs are remembered to publish each fill once (~0.45 KiB
each with its Fill: ~2.2 MiB at the bound, reached in ~17 minutes of the 100-market soak's
~5 fills/s). A trade's later statuses (MINED, CONFIRMED, FAILED) arrive within minutes; an
older repeat that slips through is deduplicated again by risk's journal (trade, order)."""
RECENT_FILLS = 1_000
"""Fills kept in `OrderLedger.fills` for inspection."""


class OrderLedger:
    """Live orders by id, with timestamps on the monotonic clock passed in."""

    def __init__(self, venue: Venue, tokens: Mapping[str, MarketTokens],
                 wall_ns: Callable[[], int]) -> None:
        self.venue = venue
        self.tokens = tokens
        self._wall_ns = wall_ns
        self.live: dict[str, LiveOrder] = {}
        self.removed: dict[str, int] = {}
        self._seen_fills: OrderedDict[tuple[str, str], Fill | None] = OrderedDict()
        self._reversed: set[tuple[str, str]] = set()
        self.reversals = 0
        self.fills: deque[Fill] = deque(maxlen=RECENT_FILLS)
        self.spent = 0
        """Collateral our BUY fills and their fees paid, micro-dollars, net of reversals
        (collateral.py)."""
        self._spent_since: dict[tuple[str, str], int] = {}
        """What each fill added to `spent` (a reversal takes back exactly that)."""

    def event(self, order: LiveOrder | None, status: str, *, market: str = "", order_id: str = "",
              outcome: str = "YES", price: int = 0, size: int = 0, reason: str = "") -> OrderEvent:
        """An OrderEvent for `order` (or for the fields given when there is none)."""
        if order is not None:
            market, order_id, outcome = order.market, order.order_id, order.outcome
            price, size = order.price, order.size
        return OrderEvent(venue=self.venue, market=market, order_id=order_id,
                          status=status, outcome=outcome, side="BUY",  # type: ignore[arg-type]
                          price=price, size=max(0, size), ts_ns=self._wall_ns(), reason=reason)

    def in_market(self, market: str) -> list[LiveOrder]:
        return [o for o in self.live.values() if o.market == market]

    def is_ours(self, order_id: str) -> bool:
        """Live, in flight, or removed recently (a late trade may still name it)."""
        return order_id in self.live or order_id in self.removed

    def _remove(self, order_id: str, now_ns: int) -> LiveOrder | None:
        order = self.live.pop(order_id, None)
        if order is not None:
            self.removed[order_id] = now_ns
        return order

    def record_place(self, market: str, res: PlaceResult, now_ns: int) -> OrderEvent:
        """Note one placement outcome; rejected orders never enter the live map."""
        d = res.request
        if isinstance(res, (Placed, InFlight)) and res.order_id:
            state = "live" if isinstance(res, Placed) else "inflight"
            order = LiveOrder(order_id=res.order_id, market=market, token=d.token,
                              outcome=d.outcome, side="BUY", price=d.price, size=d.size,
                              state=state, created_ns=now_ns)  # type: ignore[arg-type]
            self.live[res.order_id] = order
            reason = "" if isinstance(res, Placed) else res.reason
            return self.event(order, "placed" if state == "live" else "unknown", reason=reason)
        reason = res.reason if not isinstance(res, Placed) else ""
        status = "unknown" if isinstance(res, InFlight) else "rejected"
        return self.event(None, status, market=market, outcome=d.outcome, price=d.price,
                          size=d.size, reason=reason)

    def record_amend(self, order_id: str, price: int, remaining: int,
                     now_ns: int) -> OrderEvent | None:
        """Note a confirmed amend: the order rests at `price` with `remaining` left."""
        order = self.live.get(order_id)
        if order is None:
            return None
        order.price, order.size = price, remaining
        order.original = order.filled + remaining
        if remaining <= 0:
            self._remove(order_id, now_ns)
            return self.event(order, "filled", size=0)
        return self.event(order, "placed", reason="amended")

    def apply_cancel(self, outcome: CancelOutcome, ids: Iterable[str], *, reason: str,
                     now_ns: int) -> list[OrderEvent]:
        """Remove what is surely gone; mark the rest `cancelling` if the answer was ambiguous."""
        gone = set(outcome.gone)
        ids = list(ids)
        if outcome.everything and not outcome.ambiguous and not outcome.failed:
            gone.update(ids)
        events: list[OrderEvent] = []
        for order_id in ids:
            order = self.live.get(order_id)
            if order is None:
                continue
            if order_id in gone:
                self._remove(order_id, now_ns)
                events.append(self.event(order, "cancelled", reason=reason))
            elif outcome.ambiguous:
                order.state = "cancelling"
        return events

    def on_fill(self, fill: Fill, now_ns: int) -> tuple[bool, list[OrderEvent]]:
        """Return whether the fill is new, and the event if it completed our order."""
        key = (fill.trade_id, fill.order_id)
        if key in self._seen_fills:
            return False, []
        self._remember(key, fill)
        self.fills.append(fill)
        paid = (fill.price * fill.size if fill.side == "BUY" else 0) + max(0, fill.fee)
        self.spent += paid
        self._spent_since[key] = paid
        order = self.live.get(fill.order_id)
        if order is None:
            return True, []
        order.fills_seen += fill.size
        order.matched_at_least(order.fills_seen)
        if order.size > 0:
            return True, []
        self._remove(fill.order_id, now_ns)
        return True, [self.event(order, "filled", size=0)]

    def _remember(self, key: tuple[str, str], fill: Fill | None) -> None:
        self._seen_fills[key] = fill
        if len(self._seen_fills) > FILL_MEMORY:
            old, _ = self._seen_fills.popitem(last=False)
            self._reversed.discard(old)
            self._spent_since.pop(old, None)

    def collateral_read(self) -> None:
        """The venue's collateral was just read: it reflects every fill so far, so a later
        reversal of one of them must not give its cost back (collateral.py)."""
        self._spent_since.clear()

    def on_fill_failed(self, fill: Fill) -> FillReversal | None:
        """A trade we may have published went FAILED: the reversal to publish, once.

        A failure seen before the fill itself marks the fill as seen, so a late replay
        of its MATCHED state is never applied.
        """
        key = (fill.trade_id, fill.order_id)
        if key in self._reversed:
            return None
        self._reversed.add(key)
        published = self._seen_fills.get(key)
        if key not in self._seen_fills:
            self._remember(key, None)
        if published is None:
            return None
        self.reversals += 1
        self.spent -= self._spent_since.pop(key, 0)
        return FillReversal(
            venue=published.venue, market=published.market, trade_id=published.trade_id,
            order_id=published.order_id, outcome=published.outcome, side=published.side,
            price=published.price, size=published.size, ts_ns=self._wall_ns())

    def on_order(self, update: OrderUpdate, now_ns: int) -> list[OrderEvent]:
        """Apply a venue order event (cancellation, partial fill, confirmation)."""
        order = self.live.get(update.order_id)
        if order is None or update.token not in self.tokens:
            return []
        if update.kind == "cancelled":
            self._remove(update.order_id, now_ns)
            return [self.event(order, "cancelled", reason=update.reason)]
        order.matched_at_least(order.original - update.remaining)
        if order.state == "inflight":
            order.state = "live"
        return []

    def reconcile(self, venue_orders: Iterable[VenueOrder], *, requested_ns: int,
                  blocked: frozenset[str],
                  owns: Callable[[VenueOrder], bool] | None = None) -> Reconciled:
        """Adopt the venue's open orders as the truth (see reconcile.py)."""
        result = reconcile(self.live, venue_orders, tokens=self.tokens,
                           requested_ns=requested_ns, removed_since=self.removed,
                           blocked_markets=blocked, owns=owns)
        self.live = result.live
        self.removed = {k: v for k, v in self.removed.items() if v >= requested_ns}
        return result
