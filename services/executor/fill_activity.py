"""When each market last saw a fill, and which of its trades the venue may not count yet.

Risk compares the venue's positions with its journal (risk/venue_check.py). The two agree
exactly only where no fill was in flight around the read: a fill matched just before
the read reaches us just after it (the venue counts it, the journal not yet), and a
Polymarket trade the executor has seen MATCHED may not be in the venue's balances until
it settles. A market whose snapshot no fill came near is *quiet*: its difference is
exact, so two quiet snapshots with one difference are enough to call it a lost fill,
however busy the market is between them. A market that fills every second is seldom
quiet across a half-second window, so risk keeps its older rules for the rest.

"Exact" assumes what the rest of the executor assumes: the user stream is connected (a
fill that never reaches us is what the check exists to find), and the venue's positions
endpoint is no staler than `position_quiet_ms` (a venue whose balances lag its matches by
longer would need a longer window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from common.messages import Fill

__all__ = ["UNSETTLED_MAX", "UNSETTLED_MAX_NS", "FillActivity", "Moved"]

UNSETTLED_MAX = 5_000
"""At most this many unsettled trades are remembered (the oldest go first), however long
no snapshot comes to forget the expired ones."""
UNSETTLED_MAX_NS = 600_000_000_000
"""A trade seen but never seen settle is forgotten after this long (10 min): a status
message we missed must not keep its market from ever being quiet again. Polymarket
trades confirm within minutes (ledger.FILL_MEMORY)."""


Moved = dict[str, list[int]]
"""Per market, the YES and NO holdings our new fills added (centi-contracts)."""


class FillActivity:
    """Per market, the monotonic time of its last fill event and its unsettled trades; and
    the holdings new fills moved while a snapshot waits (`watch`)."""

    def __init__(self, clock_ns: Callable[[], int]) -> None:
        self._clock_ns = clock_ns
        self._last: dict[str, int] = {}
        self._unsettled: dict[tuple[str, str], tuple[str, int]] = {}
        """(trade id, order id) -> (market, first seen) for trades not yet final."""
        self._watches: list[Moved] = []

    def note(self, fill: Fill, *, settled: bool = True, moved: int = 0) -> None:
        """A fill event (new or a later status of one seen before); `settled` is False while
        the venue may still leave it out of our positions (Polymarket before CONFIRMED);
        `moved` is +1 for a new fill published, -1 for a reversal published, else 0."""
        now = self._clock_ns()
        self._last[fill.market] = now
        key = (fill.trade_id, fill.order_id)
        if settled:
            self._unsettled.pop(key, None)
        else:
            self._unsettled.setdefault(key, (fill.market, now))
            if len(self._unsettled) > UNSETTLED_MAX:
                del self._unsettled[next(iter(self._unsettled))]
        if moved and self._watches:
            signed = moved * (fill.size if fill.side == "BUY" else -fill.size)
            for watch in self._watches:
                held = watch.setdefault(fill.market, [0, 0])
                held[0 if fill.outcome == "YES" else 1] += signed

    def watch(self) -> Moved:
        """Start adding up what new fills move, until `unwatch`."""
        moved: Moved = {}
        self._watches.append(moved)
        return moved

    def unwatch(self, moved: Moved) -> None:
        """Stop adding to `moved` (by identity: two watches may hold equal sums)."""
        self._watches = [w for w in self._watches if w is not moved]

    def quiet(self, markets: Iterable[str], since_ns: int) -> frozenset[str]:
        """Of `markets`, those with no fill event since `since_ns` (monotonic) and no trade
        waiting to settle."""
        now = self._clock_ns()
        for key in [k for k, (_, t) in self._unsettled.items() if now - t > UNSETTLED_MAX_NS]:
            del self._unsettled[key]
        busy = {m for m, _ in self._unsettled.values()}
        return frozenset(m for m in markets
                         if m not in busy and self._last.get(m, since_ns - 1) < since_ns)
