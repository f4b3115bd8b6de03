"""Ladder expression and diffing: unit cases and properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.messages import Level
from services.executor.diff import diff, express_ladder
from services.executor.orders import DesiredOrder, LiveOrder, MarketTokens

TOKENS = MarketTokens(market="m", venue_market="0xc", yes_token="Y", no_token="N", tick=100,
                      min_size=500)


def live(oid: str, token: str, price: int, size: int, *, side: str = "BUY",
         state: str = "live") -> LiveOrder:
    return LiveOrder(order_id=oid, market="m", token=token, outcome="YES" if token == "Y" else "NO",
                     side=side, price=price, size=size, state=state)  # type: ignore[arg-type]


def test_bids_buy_yes_and_asks_buy_no_at_the_complement() -> None:
    desired, invalid = express_ladder(
        TOKENS, [Level(4800, 1000), Level(4700, 1000)], [Level(5200, 2000)])
    assert invalid == []
    assert [(d.token, d.outcome, d.price, d.size) for d in desired] == [
        ("Y", "YES", 4800, 1000), ("Y", "YES", 4700, 1000), ("N", "NO", 4800, 2000)]


def test_invalid_levels_are_set_aside_and_duplicates_merge() -> None:
    desired, invalid = express_ladder(
        TOKENS,
        [Level(4850, 1000), Level(0, 1000), Level(4800, 100), Level(4800, 600), Level(4800, 600)],
        [Level(10_000, 1000)],
    )
    assert [(d.price, d.size) for d in desired] == [(4800, 1200)]
    assert [lv.price for lv in invalid] == [4850, 0, 4800, 10_000]


def test_keeps_queue_priority_and_cancels_before_placing() -> None:
    desired, _ = express_ladder(TOKENS, [Level(4800, 1000), Level(4700, 1000)], [Level(5200, 1000)])
    orders = [
        live("keep-partial", "Y", 4800, 400),   # partially filled: kept, not topped up
        live("too-big", "Y", 4700, 2000),       # larger than desired: replaced
        live("stale", "Y", 4600, 1000),         # price no longer desired
        live("sell", "N", 4800, 1000, side="SELL"),  # wrong side at a desired key
        live("pending", "N", 4900, 1000, state="cancelling"),
    ]
    actions = diff(desired, orders)
    assert set(actions.cancels) == {"too-big", "stale", "sell"}
    assert [(p.token, p.price) for p in actions.placements] == [("Y", 4700), ("N", 4800)]


def test_duplicates_at_one_key_keep_one() -> None:
    desired = [DesiredOrder(market="m", token="Y", outcome="YES", price=4800, size=1000)]
    actions = diff(desired, [live("a", "Y", 4800, 300), live("b", "Y", 4800, 900),
                             live("c", "Y", 4800, 0)])
    assert set(actions.cancels) == {"a", "c"} and actions.placements == ()


ladder = st.lists(
    st.builds(Level, st.integers(min_value=1, max_value=99).map(lambda c: c * 100),
              st.integers(min_value=500, max_value=5000)),
    max_size=6,
)
live_orders = st.lists(
    st.builds(
        lambda i, tok, cents, size, side, state: live(f"o{i}", tok, cents * 100, size,
                                                      side=side, state=state),
        st.integers(0, 10**6), st.sampled_from(["Y", "N"]), st.integers(1, 99),
        st.integers(0, 6000), st.sampled_from(["BUY", "BUY", "SELL"]),
        st.sampled_from(["live", "live", "inflight", "cancelling"]),
    ),
    max_size=12,
    unique_by=lambda o: o.order_id,
)


def apply(orders: list[LiveOrder], desired: list[DesiredOrder]) -> list[LiveOrder]:
    actions = diff(desired, orders)
    cancelled = set(actions.cancels)
    # Orders with an ambiguous cancel stay in the ledger until reconciliation settles them.
    after = [o for o in orders if o.order_id not in cancelled]
    after += [live(f"new{k}", p.token, p.price, p.size) for k, p in enumerate(actions.placements)]
    return after


@given(ladder, ladder, live_orders)
def test_actions_reach_exactly_the_desired_set(bids: list[Level], asks: list[Level],
                                                orders: list[LiveOrder]) -> None:
    desired, _ = express_ladder(TOKENS, bids, asks)
    after = [o for o in apply(orders, desired) if o.state != "cancelling"]
    keys = [(o.token, o.price) for o in after]
    wanted = {(d.token, d.price) for d in desired}
    # A level whose old order has an ambiguous cancel waits for reconciliation: nothing new
    # is placed there, though an order already resting there may stay.
    pending = {(o.token, o.price) for o in orders if o.state == "cancelling"}
    assert len(keys) == len(set(keys)) and set(keys) <= wanted
    assert wanted - pending <= set(keys)
    size = {(d.token, d.price): d.size for d in desired}
    placed = {p.order_id for p in after if p.order_id.startswith("new")}
    # a new order is the desired size; a kept one never more (a partial fill is not topped up)
    assert all(o.size == size[(o.token, o.price)] for o in after if o.order_id in placed)
    assert all(0 < o.size <= size[(o.token, o.price)] for o in after if o.order_id not in placed)
    assert all(o.side == "BUY" for o in after)
    assert not {(p.token, p.price) for p in diff(desired, orders).placements} & pending


def test_an_order_resting_beside_an_ambiguous_cancel_stays_and_gets_no_twin() -> None:
    """Found by the property above: a live order at a level whose other order's cancel is
    ambiguous keeps resting, and nothing is placed beside the two."""
    desired, _ = express_ladder(TOKENS, [], [Level(4800, 500)])
    orders = [live("maybe-gone", "N", 5200, 1000, state="cancelling"),
              live("rests", "N", 5200, 500)]
    actions = diff(desired, orders)
    # Until reconciliation settles the ambiguous cancel, the level may rest 1,500 (if that
    # cancel did not happen) but nothing new is added and the resting order keeps its queue.
    assert actions.placements == () and actions.cancels == ()


def test_ambiguous_cancel_blocks_a_duplicate_at_its_level() -> None:
    """A cancel answered with a 5xx may not have happened: never place beside it."""
    desired, _ = express_ladder(TOKENS, [Level(4800, 1000)], [])
    orders = [live("maybe-gone", "Y", 4800, 1000, state="cancelling")]
    assert diff(desired, orders).placements == ()
    settled = [live("maybe-gone", "Y", 4800, 1000)]  # reconciliation: it still rests
    assert diff(desired, settled).placements == () and diff(desired, settled).cancels == ()
    assert diff(desired, []).placements != ()  # reconciliation: it was gone


@given(ladder, ladder, live_orders)
def test_never_cancels_a_matching_order_when_it_is_the_only_one(
    bids: list[Level], asks: list[Level], orders: list[LiveOrder]
) -> None:
    desired, _ = express_ladder(TOKENS, bids, asks)
    want = {(d.token, d.price): d.size for d in desired}
    actions = diff(desired, orders)
    active = [o for o in orders if o.state != "cancelling" and o.side == "BUY"]
    for o in active:
        same_key = [x for x in active if (x.token, x.price) == (o.token, o.price)]
        if len(same_key) == 1 and 0 < o.size <= want.get((o.token, o.price), -1):
            assert o.order_id not in actions.cancels
    assert not set(actions.cancels) & {o.order_id for o in orders if o.state == "cancelling"}


@given(ladder, ladder, live_orders)
def test_idempotent(bids: list[Level], asks: list[Level], orders: list[LiveOrder]) -> None:
    desired, _ = express_ladder(TOKENS, bids, asks)
    after = apply(orders, desired)
    again = diff(desired, after)
    assert again.cancels == () and again.placements == ()
    assert not again
