"""What an approved intent sends besides its ladder: exit orders, and journal rows.

Exit orders (ApprovedIntent.exit_bids/exit_asks) are the one non-post-only case:
marketable fill-and-kill BUY orders inside the given price, checked like ladder levels
(tick grid, price bounds, minimum size) plus Polymarket's $1 minimum for marketable
orders, so an order the venue would reject is not sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.messages import ApprovedIntent
from services.executor.adapter import InFlight, Placed
from services.executor.diff import MIN_MARKETABLE_NOTIONAL, express_exits
from services.executor.journal import JournalRow
from services.executor.orders import CLIENT_KEY_PREFIX, DesiredOrder, MarketTokens

if TYPE_CHECKING:
    from services.executor.process import ExecutorActor

EXIT_REPEAT_NS = 2_000_000_000
"""The same exit levels for a market are sent at most once per this long (a repeated
intent must not trade the same inventory out twice before the position updates)."""


def exits_due(actor: ExecutorActor, intent: ApprovedIntent,
              tokens: MarketTokens) -> list[DesiredOrder]:
    """The intent's exit orders, unless the same ones went out moments ago."""
    m = intent.market
    if not intent.exit_bids and not intent.exit_asks:
        actor.last_exit.pop(m, None)
        return []
    now = actor.wall_ns()
    last = actor.last_exit.get(m)
    if last is not None and last[:2] == (intent.exit_bids, intent.exit_asks) \
            and now - last[2] < EXIT_REPEAT_NS:
        return []
    actor.last_exit[m] = (intent.exit_bids, intent.exit_asks, now)
    exits, invalid = express_exits(
        tokens, intent.exit_bids, intent.exit_asks,
        min_notional=MIN_MARKETABLE_NOTIONAL if actor.venue == "polymarket" else 0)
    if invalid:
        actor.count("exit", "invalid_level", len(invalid))
    return exits


def journal_results(actor: ExecutorActor, results: list[Any]) -> None:
    """Journal ids an adapter without a journal hook returned (after the fact)."""
    now = actor.wall_ns()
    rows = [JournalRow(key=r.order_id, market=r.request.market, token=r.request.token,
                       price=r.request.price, size=r.request.size, ts_ns=now)
            for r in results
            if isinstance(r, (Placed, InFlight)) and r.order_id
            and not r.order_id.startswith(CLIENT_KEY_PREFIX)
            and not actor.journal.owns(r.order_id)]
    actor.journal.intend(rows)

