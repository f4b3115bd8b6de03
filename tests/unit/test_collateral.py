"""Free collateral and ladders trimmed to it (services/executor/collateral.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.executor.collateral import STEP, Balance, Wallet, cost, fund, locked
from services.executor.orders import Amend, DesiredOrder, LiveOrder


def _order(token: str, price: int, size: int, tif: str = "GTC") -> DesiredOrder:
    return DesiredOrder(market="m", token=token, outcome="YES" if token == "Y" else "NO",
                        price=price, size=size, tif=tif)  # type: ignore[arg-type]


def _live(price: int, size: int, *, side: str = "BUY", state: str = "live") -> LiveOrder:
    return LiveOrder(order_id=f"o{price}{size}{side}", market="m", token="Y", outcome="YES",
                     side=side, price=price, size=size, state=state)  # type: ignore[arg-type]


orders = st.lists(st.builds(_order, st.sampled_from(["Y", "N"]), st.integers(100, 9_900),
                            st.integers(1, 20_000), st.sampled_from(["GTC", "GTC", "FAK"])),
                  max_size=12, unique_by=lambda o: (o.token, o.price, o.tif))
"""A batch as the planner makes it: one order per (token, price) and kind."""


@given(orders, st.integers(-10**6, 10**9), st.sampled_from([0, 100, 500]))
def test_what_is_kept_never_costs_more_than_the_budget(
        batch: list[DesiredOrder], budget: int, min_size: int) -> None:
    out = fund(batch, [], budget, min_size=min_size)
    assert sum(cost(o.price, o.size) for o in out.orders) <= max(0, budget)
    assert len(out.orders) + out.dropped == len(batch)
    originals = {(o.token, o.price, o.tif): o.size for o in batch}
    changed = 0
    for o in out.orders:
        assert 0 < o.size <= originals[(o.token, o.price, o.tif)]
        if o.size < originals[(o.token, o.price, o.tif)]:
            changed += 1
            assert o.size % STEP == 0 and o.size >= min_size
    assert changed == out.trimmed


@given(orders)
def test_a_budget_that_covers_the_batch_or_none_keeps_it_whole(batch: list[DesiredOrder]) -> None:
    total = sum(cost(o.price, o.size) for o in batch)
    for budget in (None, total):
        out = fund(batch, [], budget, min_size=100)
        assert sorted(out.orders, key=repr) == sorted(batch, key=repr)
        assert out.trimmed == out.dropped == 0


def test_exits_go_first_then_the_levels_nearest_the_touch_alternating_sides() -> None:
    batch = [_order("Y", 4_700, 1_000), _order("Y", 4_800, 1_000), _order("N", 5_000, 1_000),
             _order("N", 4_900, 1_000), _order("N", 3_000, 1_000, "FAK")]
    # 3 + 4.8 + 5 = 12.8 USD pays the exit, the best YES bid and the best NO bid, whole
    out = fund(batch, [], 12_800_000 + 400_000, min_size=500)
    assert [(o.token, o.price, o.size, o.tif) for o in out.orders] == [
        ("N", 3_000, 1_000, "FAK"), ("Y", 4_800, 1_000, "GTC"), ("N", 5_000, 1_000, "GTC")]
    assert (out.trimmed, out.dropped) == (0, 2)  # 0.40 USD buys no whole contract at 0.47


def test_a_level_is_trimmed_to_whole_contracts_and_left_out_under_the_minimum() -> None:
    out = fund([_order("Y", 5_000, 1_000)], [], 3_600_000, min_size=500)  # 3.6 USD at 0.50
    assert [o.size for o in out.orders] == [700] and out.trimmed == 1
    out = fund([_order("Y", 5_000, 1_000)], [], 2_400_000, min_size=500)  # 4 contracts < 5
    assert out.orders == [] and out.dropped == 1
    exit_order = [_order("Y", 5_000, 1_000, "FAK")]
    assert fund(exit_order, [], 900_000, min_size=100, min_exit_notional=1_000_000).orders == []
    assert [o.size for o in fund(exit_order, [], 1_000_000, min_size=100,
                                 min_exit_notional=1_000_000).orders] == [200]


def test_amends_that_lock_more_are_paid_before_new_levels() -> None:
    amend = Amend(order=_live(4_000, 1_000), to=_order("Y", 4_500, 2_000))  # 4 -> 9 USD
    out = fund([_order("N", 5_000, 1_000)], [amend], 6_000_000, min_size=100)
    assert [o.size for o in out.orders] == [200]  # the 1 USD left buys 2 contracts at 0.50
    lowering = Amend(order=_live(4_000, 1_000), to=_order("Y", 3_000, 1_000))
    assert fund([_order("N", 5_000, 1_000)], [lowering], 5_000_000, min_size=100).trimmed == 0


def test_locked_counts_every_buy_that_may_rest() -> None:
    live = [_live(5_000, 1_000), _live(4_000, 500, state="inflight"),
            _live(3_000, 200, state="cancelling"), _live(6_000, 900, side="SELL"),
            _live(2_000, 0)]
    assert locked(live) == 5_000_000 + 2_000_000 + 600_000


@given(st.integers(0, 10**10), st.integers(0, 10**9), st.booleans(),
       st.lists(st.tuples(st.integers(1, 9_999), st.integers(1, 10**5)), max_size=8))
def test_our_fills_move_collateral_but_not_the_free_amount(
        amount: int, locked_now: int, net: bool, fills: list[tuple[int, int]]) -> None:
    """A fill takes its cost out of the lock and out of the collateral alike."""
    wallet = Wallet(reserve=1_000)
    assert wallet.free(locked_now=0, spent_now=0) is None and not wallet.known
    wallet.on_read(Balance(amount, net_of_orders=net), locked_now=locked_now, spent_now=7)
    held = amount + (locked_now if net else 0)
    assert wallet.collateral(7) == held
    free = wallet.free(locked_now=locked_now, spent_now=7)
    assert free == held - locked_now - 1_000
    spent, lock = 7, locked_now
    for price, size in fills:
        spent += price * size
        lock -= price * size  # the filled part of a resting order no longer locks
        assert wallet.free(locked_now=lock, spent_now=spent) == free
    assert wallet.collateral(spent) == held - (spent - 7)
    wallet.on_wire = 5
    assert wallet.free(locked_now=lock, spent_now=spent) == free - 5


def test_an_amend_the_budget_cannot_pay_is_trimmed_or_its_order_cancelled() -> None:
    amend = Amend(order=_live(4_000, 1_000), to=_order("Y", 4_500, 2_000))  # 4 -> 9 USD
    out = fund([], [amend], 2_000_000, min_size=500)  # 4 + 2 USD: 13 contracts at 0.45
    assert [a.to.size for a in out.amends] == [1_300] and out.trimmed == 1
    out = fund([_order("N", 5_000, 1_000)], [amend], 0, min_size=1_000)  # 8 < 10 contracts
    assert (out.amends, out.cancels, out.orders, out.dropped) == ([], [amend.order.order_id],
                                                                  [], 2)


@given(st.lists(st.tuples(st.integers(100, 9_900), st.integers(100, 9_900),
                          st.integers(1, 200), st.integers(1, 200)), max_size=6),
       st.integers(-10**8, 10**8))
def test_an_amend_never_grows_and_one_that_locks_less_always_goes(
        moves: list[tuple[int, int, int, int]], budget: int) -> None:
    amends = [Amend(order=LiveOrder(order_id=f"o{i}", market="m", token="Y", outcome="YES",
                                    side="BUY", price=p0, size=s0 * 100),
                    to=_order("Y", p1, s1 * 100))
              for i, (p0, p1, s0, s1) in enumerate(moves)]
    out = fund([], amends, budget, min_size=100)
    kept = {a.order.order_id: a for a in out.amends}
    for a in amends:
        if a.order.order_id in kept:
            assert kept[a.order.order_id].to.size <= a.to.size
        if cost(a.to.price, a.to.size) <= cost(a.order.price, a.order.size):
            assert kept.get(a.order.order_id) == a
    assert len(out.amends) + len(out.cancels) == len(amends)
