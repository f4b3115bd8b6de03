"""The pure planner: (approved ladder, our orders, venue abilities) -> what to send, in order.

No sockets, no clock of its own, no state changed: the sequencer (sequencer.py) sends a
`Plan` in its two waves and books the outcomes. The order of the waves keeps us from
crossing ourselves. No step may leave a BUY YES at or above our own ask, which is a
BUY NO at its complement:

1. Wave one: the cancels and the amends that lower an order's own price, together.
   Neither can cross anything. (A lowering amend onto a level another of our orders
   still holds waits for wave two.)
2. Wave two: the remaining amends and the new placements, together. Every order on the
   other side is now at its new price or still lower. The new ladder does not cross
   itself, so neither can these. A level still held by an order whose cancel failed is
   left alone (`second_wave`): one order per level, never two.

Before wave one the venue budget is reserved for every placement and amend of the plan
(`Plan.sends`); after wave two an order whose amend did not surely apply is cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from common.messages import ApprovedIntent, Level
from services.executor.caps import Caps, check_ladder
from services.executor.diff import (
    MIN_MARKETABLE_NOTIONAL, diff, express_exits, express_ladder, pair_amends, snap_ladder,
)
from services.executor.orders import Amend, DesiredOrder, LiveOrder, MarketTokens
from services.executor.state import ExecutorState, ExitMemo

__all__ = [
    "Abilities", "EXIT_REPEAT_NS", "Held", "Plan", "exits_due", "free", "held", "plan_ladder",
    "refusal", "second_wave",
]

EXIT_REPEAT_NS = 2_000_000_000
"""The same exit levels for a market are sent at most once per this long (a repeated
intent must not trade the same inventory out twice before the position updates)."""

Held = dict[tuple[str, int], str]
"""(token, price) -> id of the order of ours resting there (live, in flight or cancelling)."""


class Abilities(Struct, frozen=True, kw_only=True):
    """What the venue can do that changes the plan."""

    can_amend: bool = False
    """The venue moves a resting order in place (Kalshi): a cancel and a placement on one
    token become one amend."""
    min_exit_notional: int = 0
    """Smallest marketable order the venue takes, micro-dollars (Polymarket: $1)."""

    @classmethod
    def of(cls, venue: str, *, can_amend: bool) -> Abilities:
        return cls(can_amend=can_amend,
                   min_exit_notional=MIN_MARKETABLE_NOTIONAL if venue == "polymarket" else 0)


class Plan(Struct, frozen=True, kw_only=True):
    """One ladder's requests, by wave (see the module docstring)."""

    cancels: tuple[str, ...] = ()
    lowering: tuple[Amend, ...] = ()
    """Wave one: amends that do not raise an order's price, onto a level nobody else holds."""
    raising: tuple[Amend, ...] = ()
    """Wave two: every other amend."""
    placements: tuple[DesiredOrder, ...] = ()
    """Wave two: new resting levels."""
    invalid: tuple[Level, ...] = ()
    """Levels that cannot be placed (off the grid, out of bounds, under the minimum size)."""

    @property
    def sends(self) -> int:
        """Requests that spend the venue's placement budget (placements and amends)."""
        return len(self.placements) + len(self.lowering) + len(self.raising)


def held(live: Sequence[LiveOrder]) -> Held:
    """Which of our orders rests at each (token, price)."""
    return {(o.token, o.price): o.order_id for o in live}


def free(levels: Held, to: DesiredOrder, mover: str) -> bool:
    """True if no order of ours but `mover` (the one being amended) rests at `to`'s level."""
    return levels.get((to.token, to.price), mover) == mover


def plan_ladder(intent: ApprovedIntent, tokens: MarketTokens, live: Sequence[LiveOrder],
                abilities: Abilities) -> Plan:
    """The requests that turn our `live` orders in the market into `intent`'s ladder."""
    desired, invalid = express_ladder(tokens, *snap_ladder(intent.bids, intent.asks, tokens.tick))
    actions = diff(desired, live)
    if abilities.can_amend:
        actions = pair_amends(actions, live)
    levels = held(live)
    lowering = [a for a in actions.amends
                if not a.raises and free(levels, a.to, a.order.order_id)]
    raising = [a for a in actions.amends if a not in lowering]
    return Plan(cancels=actions.cancels, lowering=tuple(lowering), raising=tuple(raising),
                placements=actions.placements, invalid=tuple(invalid))


def second_wave(plan: Plan, live: Sequence[LiveOrder]) -> tuple[list[Amend], list[DesiredOrder]]:
    """Wave two's amends and placements, minus those onto a level an order of ours still
    holds after wave one (a cancel that failed, a 429 on its last try, say, leaves its order
    resting: nothing may join it at its price, or the level would rest twice; the next
    ladder retries)."""
    levels = held(live)
    return ([a for a in plan.raising if free(levels, a.to, a.order.order_id)],
            [d for d in plan.placements if free(levels, d, "")])


def exits_due(intent: ApprovedIntent, tokens: MarketTokens, last: ExitMemo | None,
              now_ns: int, abilities: Abilities,
              ) -> tuple[list[DesiredOrder], list[Level], ExitMemo | None]:
    """The intent's exit orders (marketable fill-and-kill BUYs, the one non-post-only case),
    the exit levels that cannot go, and what to remember as the market's last exit.

    Nothing goes when the same exit levels went out less than EXIT_REPEAT_NS ago.
    """
    if not intent.exit_bids and not intent.exit_asks:
        return [], [], None
    if last is not None and last[:2] == (intent.exit_bids, intent.exit_asks) \
            and now_ns - last[2] < EXIT_REPEAT_NS:
        return [], [], last
    exits, invalid = express_exits(tokens, intent.exit_bids, intent.exit_asks,
                                   min_notional=abilities.min_exit_notional)
    return exits, invalid, (intent.exit_bids, intent.exit_asks, now_ns)


def refusal(intent: ApprovedIntent, state: ExecutorState, caps: Caps) -> tuple[str, str]:
    """Why an approved ladder must not be queued, as (counter outcome, detail); ("", "")
    if it may. Refused: a blocked market, an approval from a risk incarnation other than the
    one heard last, a level over the executor's own hard caps (caps.py)."""
    m = intent.market
    if state.blocked(m):
        return "refused", ""
    if intent.risk_instance and intent.risk_instance != state.risk_instance:
        return "stale_risk_instance", ""
    why = check_ladder(intent, mid=state.mids.get(m), caps=caps)
    if why:
        return "over_hard_cap", why
    return "", ""
