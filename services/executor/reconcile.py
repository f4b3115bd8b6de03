"""Pure reconciliation of the executor's live-order map with the venue's open orders.

The venue's list is the truth, with two races handled: an order we placed after the
venue's list was requested may be missing from it (keep ours), and an order we
cancelled after the request may still be in it (do not adopt it again).

Ownership: with an `owns` predicate (the executor's order journal), a venue order we
never sent is cancelled, not adopted. A submit whose outcome was unknown and that is
known only by its client id (live-map key `coid:<id>`) takes the venue's id when the
venue lists an order with that client id; it is never kept twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from msgspec import Struct

from services.executor.orders import LiveOrder, MarketTokens, VenueOrder, client_key

__all__ = ["Reconciled", "reconcile"]


class Reconciled(Struct, frozen=True):
    """The new live-order map and the venue orders to cancel (unknown tokens, killed scope)."""

    live: dict[str, LiveOrder]
    cancel: list[str]
    adopted: int = 0
    dropped: int = 0
    foreign: int = 0
    """Venue orders on our markets that we never sent (cancelled)."""
    resolved: dict[str, str] = {}
    """Provisional `coid:` keys that the venue list resolved, to their venue ids."""


def reconcile(
    local: Mapping[str, LiveOrder],
    venue: Iterable[VenueOrder],
    *,
    tokens: Mapping[str, MarketTokens],
    requested_ns: int,
    removed_since: Mapping[str, int],
    blocked_markets: frozenset[str] = frozenset(),
    owns: Callable[[VenueOrder], bool] | None = None,
) -> Reconciled:
    """Replace `local` with the venue's view.

    `tokens` maps token id -> market; `requested_ns` is when the venue list was
    requested; `removed_since` holds ids we removed locally, with when (same clock).
    Orders of `blocked_markets` (killed, dead man's switch) found at the venue are
    cancelled, as are orders on tokens no configured market owns and, given `owns`,
    orders this executor never sent.
    """
    live: dict[str, LiveOrder] = {}
    cancel: list[str] = []
    adopted = foreign = 0
    resolved: dict[str, str] = {}
    for vo in venue:
        if removed_since.get(vo.order_id, -1) >= requested_ns:
            continue
        market = tokens.get(vo.token)
        if market is None or market.market in blocked_markets:
            cancel.append(vo.order_id)
            continue
        if owns is not None and not owns(vo):
            foreign += 1
            cancel.append(vo.order_id)
            continue
        if vo.size <= 0:
            continue
        prev = local.get(vo.order_id)
        if prev is None and vo.client_id:
            provisional = client_key(vo.client_id)
            prev = local.get(provisional)
            if prev is not None:
                resolved[provisional] = vo.order_id
        if prev is None:
            adopted += 1
        live[vo.order_id] = LiveOrder(
            order_id=vo.order_id,
            market=market.market,
            token=vo.token,
            outcome=market.outcome_of(vo.token) or "YES",
            side=vo.side,
            price=vo.price,
            size=vo.size,
            state="live",
            created_ns=prev.created_ns if prev is not None else requested_ns,
            fills_seen=prev.fills_seen if prev is not None else 0,
            original=_original(vo, prev),
        )
        # what the venue says is left, then any fill we saw after its list was taken
        live[vo.order_id].matched_at_least(live[vo.order_id].original - vo.size)
        if prev is not None:
            live[vo.order_id].matched_at_least(prev.filled)
    dropped = 0
    for order_id, order in local.items():
        if order_id in live or order_id in resolved:
            continue
        if order.created_ns > requested_ns:
            live[order_id] = order
        else:
            dropped += 1
    return Reconciled(live=live, cancel=cancel, adopted=adopted, dropped=dropped,
                      foreign=foreign, resolved=resolved)


def _original(vo: VenueOrder, prev: LiveOrder | None) -> int:
    """An open order's full size: remaining + matched where the venue lists both, else
    the size we placed it at (or, for an order we never knew, what rests now)."""
    if vo.filled is not None:
        return vo.size + vo.filled
    return max(prev.original, vo.size) if prev is not None else vo.size
