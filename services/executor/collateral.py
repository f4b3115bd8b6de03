"""The venue account's collateral, and what a ladder may place with it (pure).

Every order of ours is a BUY, and a resting BUY locks its cost (price x size) on the
venue: Polymarket refuses an order the wallet's balance cannot cover after its other
open orders (`not enough balance / allowance: the balance is not enough -> balance: ...,
sum of active orders: ...`), Kalshi one its available balance cannot (`insufficient
balance`). A wallet smaller than the ladders would otherwise see a stream of refusals,
and which levels rest would depend on the order the requests arrived in. So the
executor trims a ladder's new orders to the free collateral before it sends them, the
levels nearest the touch first (`fund`), and counts what it trimmed.

Collateral as counted here (`Wallet`) is what the account holds, locked or not:

- read from the venue at start and every `collateral_check_interval_ms`. Polymarket's
  `GET /balance-allowance` answers the wallet's balance, open orders included (the
  refusal above subtracts them itself); Kalshi's `GET /portfolio/balance` answers the
  *available* balance ("the amount available for trading", GetBalanceResponse in the
  official OpenAPI spec), net of what resting orders reserve, so our locked amount is
  added back (`Balance.net_of_orders`);
- less the cost of our fills since that read (a fill moves its cost out of the lock and
  out of the collateral alike, so the free amount does not change).

Free = collateral - locked by our orders (`locked`: every BUY we believe may rest,
in-flight and cancelling ones included) - placements on the wire - the reserve.

What this leaves out errs towards trimming: Kalshi pays a YES and a NO of one market
back in cash, a Polymarket merge frees a locked full set, and both show only at the next
read. One thing errs the other way: a Polymarket fill taken off between MATCHED and the
chain's settlement is counted as spent while the venue's balance still holds it (the
venue counts it as matched, not spent); the next read corrects it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from msgspec import Struct

from services.executor.orders import Amend, DesiredOrder, LiveOrder

__all__ = ["Balance", "Funded", "Hold", "STEP", "Wallet", "amends_cost", "cost", "fund", "locked",
           "orders_cost"]

STEP = 100
"""A trimmed order keeps a whole number of contracts (centi-contracts): every venue
takes them, where only some Kalshi markets take fractions."""


class Balance(Struct, frozen=True):
    """One read of the account's collateral, micro-dollars."""

    amount: int
    net_of_orders: bool
    """True when the venue has already taken out what resting orders lock (Kalshi)."""


class Funded(Struct, frozen=True):
    """What `fund` kept of a batch, and how many orders it made smaller or left out."""

    orders: list[DesiredOrder]
    amends: list[Amend] = []
    cancels: list[str] = []
    """Orders whose amend cannot be funded even at the minimum size: cancelled instead."""
    trimmed: int = 0
    dropped: int = 0

    @property
    def spend(self) -> int:
        """What sending the batch may lock on top of what is locked now."""
        return orders_cost(self.orders) + amends_cost(self.amends)


def orders_cost(orders: Iterable[DesiredOrder]) -> int:
    """What new orders lock, micro-dollars."""
    return sum(cost(o.price, o.size) for o in orders)


def amends_cost(amends: Iterable[Amend]) -> int:
    """What amends add to their orders' locks (those that lock less count 0)."""
    return sum(max(0, cost(a.to.price, a.to.size) - cost(a.order.price, a.order.size))
               for a in amends)


class Hold:
    """A funded batch's cost counted as spent (`Wallet.spending`), given back part by part
    as the parts are booked."""

    def __init__(self, wallet: Wallet, amount: int) -> None:
        self._wallet = wallet
        self.left = amount
        wallet.on_wire += amount

    def release(self, amount: int) -> None:
        """Part of the batch is booked: its orders lock it from now on (so the wallet's
        upper bound on what is locked grows by it)."""
        n = min(max(0, amount), self.left)
        self.left -= n
        self._wallet.on_wire -= n
        if self._wallet.locked_hi is not None:
            self._wallet.locked_hi += n


def cost(price: int, size: int) -> int:
    """Micro-dollars a BUY of `size` centi-contracts at `price` pips locks."""
    return price * size


def locked(orders: Iterable[LiveOrder]) -> int:
    """Collateral our BUY orders lock, micro-dollars (any that may rest counts)."""
    return sum(cost(o.price, o.size) for o in orders if o.side == "BUY" and o.size > 0)


class Wallet:
    """The collateral of one venue account between reads (see the module docstring)."""

    def __init__(self, reserve: int = 0) -> None:
        self.reserve = reserve
        """Micro-dollars never spent on orders (the operator's `collateral_reserve_usd`)."""
        self.on_wire = 0
        """Cost of placements sent and not yet booked."""
        self._gross: int | None = None
        self._spent_at_read = 0
        self.locked_hi: int | None = None
        """An upper bound on what our orders lock: the exact sum when last computed, plus
        every batch booked since (fills and cancels only lower the truth). None: unknown
        (after a read or a reconciliation, which may adopt orders)."""

    @property
    def known(self) -> bool:
        return self._gross is not None

    @contextmanager
    def spending(self, amount: int) -> Iterator[Hold]:
        """Count `amount` as spent from the moment a batch is funded until its outcomes are
        booked (the ledger's orders then lock it; `Hold.release` for each part), so ladders
        of other markets funded meanwhile cannot spend the same collateral. What is left
        is given back on leaving, however it is left (a cancellation included)."""
        hold = Hold(self, amount)
        try:
            yield hold
        finally:
            hold.release(hold.left)

    def on_read(self, balance: Balance, *, locked_now: int, spent_now: int) -> None:
        """A fresh read from the venue; `locked_now` and `spent_now` as of the read."""
        self._gross = balance.amount + (locked_now if balance.net_of_orders else 0)
        self._spent_at_read = spent_now
        self.locked_hi = None

    def collateral(self, spent_now: int) -> int | None:
        """Collateral held, locked or not; None before the first read."""
        if self._gross is None:
            return None
        return self._gross - (spent_now - self._spent_at_read)

    def free(self, *, locked_now: int, spent_now: int) -> int | None:
        """What new orders may lock now; None (no limit) before the first read."""
        held = self.collateral(spent_now)
        if held is None:
            return None
        return held - locked_now - self.on_wire - self.reserve


def _rank(orders: Sequence[DesiredOrder]) -> list[DesiredOrder]:
    """Exits first, then resting levels nearest the touch first, alternating tokens (the
    best bid and the best ask before either side's second level)."""
    exits = [o for o in orders if o.tif == "FAK"]
    by_token: dict[str, list[DesiredOrder]] = {}
    for o in orders:
        if o.tif != "FAK":
            by_token.setdefault(o.token, []).append(o)
    ladders = [sorted(levels, key=lambda o: -o.price) for levels in by_token.values()]
    depth = max((len(levels) for levels in ladders), default=0)
    return exits + [levels[i] for i in range(depth) for levels in ladders if i < len(levels)]


def _trimmed(o: DesiredOrder, size: int) -> DesiredOrder:
    return DesiredOrder(market=o.market, token=o.token, outcome=o.outcome, price=o.price,
                        size=size, tif=o.tif)


def fund(orders: Sequence[DesiredOrder], amends: Sequence[Amend], budget: int | None, *,
         min_size: int, min_exit_notional: int = 0) -> Funded:
    """The amends and orders `budget` micro-dollars can pay for, trimmed to whole contracts.

    Amends go first (they move levels already resting), each paying what it adds to its
    order's lock (one that locks less always goes, and none grows past its size); what one
    frees is not counted until the venue has applied it. Then
    exits, then resting levels by `_rank`. Each keeps its size if the rest of the budget
    covers it, else the whole contracts it covers if that is at least the market's minimum
    size (and an exit's minimum notional); else a new order is left out and an amended
    one is cancelled (it was leaving its level anyway). A budget of None (not read yet,
    or paper trading) keeps everything.
    """
    if budget is None:
        return Funded(orders=list(orders), amends=list(amends))
    left = budget
    kept_amends: list[Amend] = []
    cancels: list[str] = []
    trimmed = dropped = 0
    for a in amends:
        had = cost(a.order.price, a.order.size)
        adds = cost(a.to.price, a.to.size) - had
        if adds <= max(left, 0):  # an amend that locks less always goes, however short
            kept_amends.append(a)
            left -= max(0, adds)
            continue
        size = min(a.to.size, (max(0, left) + had) // a.to.price // STEP * STEP)
        if size <= 0 or size < min_size:
            cancels.append(a.order.order_id)
            dropped += 1
            continue
        kept_amends.append(Amend(order=a.order, to=_trimmed(a.to, size)))
        left -= max(0, cost(a.to.price, size) - had)
        trimmed += 1
    kept: list[DesiredOrder] = []
    for o in _rank(orders):
        if cost(o.price, o.size) <= left:
            kept.append(o)
            left -= cost(o.price, o.size)
            continue
        size = (max(0, left) // o.price) // STEP * STEP
        if size <= 0 or size < min_size or (o.tif == "FAK" and cost(o.price, size)
                                            < min_exit_notional):
            dropped += 1
            continue
        kept.append(_trimmed(o, size))
        left -= cost(o.price, size)
        trimmed += 1
    return Funded(orders=kept, amends=kept_amends, cancels=cancels, trimmed=trimmed,
                  dropped=dropped)
