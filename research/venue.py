"""The backtester's paper venue: our ladders arrive after a latency, rest with a queue
position, and fill by the shared queue model (common/fillmodel.py) against the market's
books and trade prints, with maker fees or rebates.

Order handling mirrors the live executor (services/executor/diff.py), in YES terms: an
order already resting at a desired price with 0 < remaining <= desired size is kept (its
queue position too); everything else is cancelled and the missing levels are placed. Cancels
and placements take effect when the ladder arrives, `latency_ms` after the decision, so an
order can still fill while its replacement is on the way. A post-only level that would cross
the book on arrival is rejected, as the venue does.

Fills reach the executor `response_ms` after they happen (the venue's fill report): until
then it believes a filled order still rests, so a ladder it diffed before then (a ladder
arriving `latency_ms` after its diff) keeps that order rather than placing its level
again. hftbacktest models the same (its response latency; bench/hbt_compare.py): modelling
it cuts our fills by 0-5.5%, and theirs by 0-5.1%, on the same stream and quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.fillmodel import QueueFill, QueueModel
from common.messages import Level
from common.prices import PRICE_SCALE

__all__ = ["PaperFill", "PaperVenue", "VenueStats"]


@dataclass(frozen=True, slots=True)
class PaperFill:
    """One fill of ours in YES terms: `buy` is a YES bid filled (BUY YES), else an ask
    (BUY NO at 1 - price). `fee` micro-dollars (negative: a rebate)."""

    ts_ns: int
    market: str
    order_id: str
    buy: bool
    price: int
    size: int
    fee: int


@dataclass(slots=True)
class VenueStats:
    placed: int = 0
    placed_size: int = 0
    rejected: int = 0
    cancelled: int = 0
    filled_size: int = 0


class PaperVenue:
    """Our resting orders on every market, and what fills them."""

    def __init__(self, *, maker_fee_bps: float = 0.0, latency_ms: int = 0,
                 response_ms: int = 0) -> None:
        self.maker_fee_bps = maker_fee_bps
        self.response_ns = response_ms * 1_000_000
        self.blind_ns = (latency_ms + response_ms) * 1_000_000 if response_ms else 0
        """A fill this long before a ladder's arrival was unknown when it was diffed."""
        self.filled_ns: dict[str, dict[tuple[bool, int], int]] = {}
        """Per market, when an order at (yes_bid, price) last filled completely."""
        self.books: dict[str, QueueModel] = {}
        self.placed_ns: dict[str, int] = {}
        """When each of our orders started resting (what a sniper's latency counts from)."""
        self.stats = VenueStats()
        self._next_id = 0

    def model(self, market: str) -> QueueModel:
        q = self.books.get(market)
        if q is None:
            q = self.books[market] = QueueModel()
        return q

    def apply_ladder(self, market: str, bids: tuple[Level, ...], asks: tuple[Level, ...],
                     ts_ns: int = 0) -> None:
        """Make our resting orders on `market` equal the ladder (cancels, then placements),
        as it arrives at `ts_ns`."""
        q = self.model(market)
        want = {(True, lv.price): lv.size for lv in bids}
        for lv in asks:
            want[(False, lv.price)] = want.get((False, lv.price), 0) + lv.size
        kept: set[tuple[bool, int]] = set()
        for order in list(q.orders.values()):
            key = (order.yes_bid, order.price)
            size = want.get(key)
            if size is not None and key not in kept and 0 < order.remaining <= size:
                kept.add(key)
                continue
            q.cancel(order.order_id)
            self.placed_ns.pop(order.order_id, None)
            self.stats.cancelled += 1
        unknown = {key for key, at in self.filled_ns.get(market, {}).items()
                   if at > ts_ns - self.blind_ns}
        for (yes_bid, price), size in want.items():
            if (yes_bid, price) in kept or (yes_bid, price) in unknown:
                continue
            self._next_id += 1
            if q.add(f"p{self._next_id}", yes_bid, price, size):
                self.placed_ns[f"p{self._next_id}"] = ts_ns
                self.stats.placed += 1
                self.stats.placed_size += size
            else:
                self.stats.rejected += 1

    def on_book(self, ts_ns: int, market: str, bids: tuple[Level, ...],
                asks: tuple[Level, ...]) -> list[PaperFill]:
        return self._fills(ts_ns, market, self.model(market).on_book(bids, asks))

    def on_trade(self, ts_ns: int, market: str, price: int, size: int,
                 aggressor_buy: bool) -> list[PaperFill]:
        return self._fills(ts_ns, market, self.model(market).on_trade(price, size, aggressor_buy))

    def _fills(self, ts_ns: int, market: str, fills: list[QueueFill]) -> list[PaperFill]:
        out = []
        for f in fills:
            own = f.price if f.yes_bid else PRICE_SCALE - f.price
            fee = round(own * f.size * self.maker_fee_bps / 10_000)
            self.stats.filled_size += f.size
            if f.remaining <= 0:
                self.placed_ns.pop(f.order_id, None)
                if self.response_ns:
                    self.filled_ns.setdefault(market, {})[(f.yes_bid, f.price)] = ts_ns
            out.append(PaperFill(ts_ns, market, f.order_id, f.yes_bid, f.price, f.size, fee))
        return out

    def ladder(self, market: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Our resting bids and asks on `market` as (YES pips, centi-contracts), best first."""
        q = self.model(market)
        bids = sorted(((o.price, o.remaining) for o in q.orders.values() if o.yes_bid),
                      reverse=True)
        asks = sorted((o.price, o.remaining) for o in q.orders.values() if not o.yes_bid)
        return bids, asks

    def resting(self, market: str) -> tuple[int | None, int | None]:
        """Our best resting bid and ask on `market` (YES pips), None where we have none."""
        q = self.model(market)
        bids = [o.price for o in q.orders.values() if o.yes_bid]
        asks = [o.price for o in q.orders.values() if not o.yes_bid]
        return (max(bids) if bids else None), (min(asks) if asks else None)
