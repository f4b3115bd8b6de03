"""The executor's collateral job: the account's collateral, read and counted, and each
wave of a ladder trimmed to what is free (the maths: collateral.py, pure)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from services.executor.adapter import ExecutionAdapter
from services.executor.collateral import (
    Funded, Wallet, amends_cost, fund, locked, orders_cost,
)
from services.executor.orders import Amend, DesiredOrder
from services.executor.plan import Abilities
from services.executor.state import ExecutorState

__all__ = ["Funding", "UNFUNDED_LOG_NS"]

log = logging.getLogger(__name__)

UNFUNDED_LOG_NS = 60_000_000_000
"""Trimming for want of collateral is logged at most once per this long (it is counted always)."""


class Funding:
    """One venue account's collateral, for the sequencer."""

    def __init__(self, adapter: ExecutionAdapter, state: ExecutorState, wallet: Wallet, *,
                 count: Callable[[str, str, int], None], clock_ns: Callable[[], int]) -> None:
        self.adapter = adapter
        self.state = state
        self.wallet = wallet
        self._count = count
        self._clock_ns = clock_ns
        self._logged_ns: int | None = None

    def locked(self) -> int:
        """Collateral our orders lock now, micro-dollars."""
        return locked(self.state.ledger.live.values())

    def collateral(self) -> int | None:
        """The account's collateral as counted now (None before the first read)."""
        return self.wallet.collateral(self.state.ledger.spent)

    async def read(self) -> None:
        """Read the account's collateral from the venue (VenueError if the read fails).

        Where the venue's figure is net of resting orders (Kalshi), what our orders lock is
        added back: only confirmed live ones (an in-flight one may never have landed, a
        cancelling one may be released), and the smaller of before and after the read
        (orders booked while it was on the wire are not in the venue's figure)."""
        ledger = self.state.ledger
        before = locked(o for o in ledger.live.values() if o.state == "live")
        balance = await self.adapter.balance()
        if balance is not None:
            after = locked(o for o in ledger.live.values() if o.state == "live")
            self.wallet.on_read(balance, locked_now=min(before, after), spent_now=ledger.spent)
            ledger.collateral_read()

    def fund(self, market: str, amends: list[Amend], orders: list[DesiredOrder],
             abilities: Abilities) -> Funded:
        """`amends` and `orders` trimmed to the free collateral (collateral.fund), counted
        as place/trimmed and place/unfunded. Summing what our orders lock walks every live
        order (about 46 us at 400), so a batch that fits even against the wallet's upper
        bound on it goes untouched without the sum (the hot path of a large wallet)."""
        if not (orders or amends) or not self.wallet.known:
            return Funded(orders=orders, amends=amends)
        w, spent = self.wallet, self.state.ledger.spent
        if w.locked_hi is not None and orders_cost(orders) + amends_cost(amends) <= \
                (w.collateral(spent) or 0) - w.locked_hi - w.on_wire - w.reserve:
            return Funded(orders=orders, amends=amends)  # fits even by the upper bound
        w.locked_hi = self.locked()  # the exact sum: O(our orders), only when it may bind
        free = w.free(locked_now=w.locked_hi, spent_now=spent)
        out = fund(orders, amends, free, min_size=self.state.markets[market].min_size,
                   min_exit_notional=abilities.min_exit_notional)
        if out.trimmed:
            self._count("place", "trimmed", out.trimmed)
        if out.dropped:
            self._count("place", "unfunded", out.dropped)
        now = self._clock_ns()
        if (out.trimmed or out.dropped) and (self._logged_ns is None
                                             or now - self._logged_ns > UNFUNDED_LOG_NS):
            self._logged_ns = now
            log.warning("free collateral %.2f USD cannot fund the ladder: %d orders trimmed, "
                        "%d left out (counted in pmm_orders_total; logged once a minute). "
                        "Deposit collateral or lower the sizes", (free or 0) / 1e6,
                        out.trimmed, out.dropped, extra={"market": market, "order_id": ""})
        return out
