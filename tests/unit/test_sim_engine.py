"""The venue simulator's matching engine: rules, settlement and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.venue_sim.engine import (
    Engine,
    LevelChanged,
    OrderChanged,
    OrderRejected,
    OrderRequest,
    SimMarket,
    Traded,
)

YES, NO, CID = "111", "222", "0xmarket"
M = 1_000_000  # micro-dollars per dollar
START = 1_000 * M


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def make_engine(accounts: tuple[str, ...] = ("a", "b", "c")) -> Engine:
    market = SimMarket(condition_id=CID, yes_token=YES, no_token=NO, tick=100, min_size=500)
    engine = Engine([market], clock_ms=Clock(), id_seed=1)
    for a in accounts:
        engine.open_account(a, START)
    return engine


_n = 0


def order(account: str, token: str, side: str, price: int, size: int, **kw: object) -> OrderRequest:
    global _n
    _n += 1
    return OrderRequest(
        order_id=f"0x{_n:064x}", account=account, asset_id=token, side=side,  # type: ignore[arg-type]
        price=price, size=size, **kw,  # type: ignore[arg-type]
    )


def test_resting_orders_and_mirrored_no_orders_share_one_book() -> None:
    e = make_engine()
    e.place(order("a", YES, "BUY", 4500, 1000))
    e.place(order("b", NO, "BUY", 5300, 1000))  # = SELL YES at 0.47
    assert e.depth(CID) == ([(4500, 1000)], [(4700, 1000)])
    assert e.accounts["a"].locked == 4500 * 1000
    assert e.accounts["b"].locked == 5300 * 1000


def test_buy_yes_meets_buy_no_mints_both_tokens_at_maker_price() -> None:
    e = make_engine()
    e.place(order("a", NO, "BUY", 5500, 1000))  # ask YES at 0.45
    placement = e.place(order("b", YES, "BUY", 4800, 600))  # crosses, fills at 0.45
    (trade,) = placement.trades
    assert (trade.yes_price, trade.size, trade.taker_price, trade.maker_price) == (4500, 600, 4500, 5500)
    a, b = e.accounts["a"], e.accounts["b"]
    assert b.positions[YES] == 600 and a.positions[NO] == 600
    assert b.collateral == START - 4500 * 600  # price improvement: paid 0.45, not 0.48
    assert b.locked == 0
    assert a.collateral == START - 5500 * 600
    assert a.locked == 5500 * 400  # the rest still rests
    assert e.depth(CID) == ([], [(4500, 400)])


def test_sell_yes_meets_sell_no_merges() -> None:
    e = make_engine()
    e.place(order("a", NO, "BUY", 4000, 1000))
    e.place(order("b", NO, "BUY", 4000, 1000))
    e.place(order("a", YES, "BUY", 6000, 1000))  # a: YES 10 ; b: NO 10 after crossing b's ask
    e.place(order("c", YES, "BUY", 6000, 1000))  # c: YES 10 ; a: NO 10 (a's NO order)
    assert e.accounts["a"].positions == {NO: 1000, YES: 1000}
    e.place(order("b", NO, "SELL", 4500, 1000))  # bid YES at 0.55
    placement = e.place(order("c", YES, "SELL", 5000, 1000))
    (trade,) = placement.trades
    assert trade.yes_price == 5500
    assert e.accounts["c"].positions[YES] == 0 and e.accounts["b"].positions[NO] == 0


def test_price_time_priority_and_partial_fills() -> None:
    e = make_engine()
    first = e.place(order("a", NO, "BUY", 5000, 500))
    second = e.place(order("b", NO, "BUY", 5000, 500))
    better = e.place(order("c", NO, "BUY", 5100, 500))  # ask at 0.49: best
    fills = e.place(order("a", YES, "BUY", 5000, 1200)).trades
    assert [t.maker_order_id for t in fills] == [better.order.id, first.order.id, second.order.id]
    assert [t.size for t in fills] == [500, 500, 200]
    assert second.order.remaining == 300 and second.order.status == "LIVE"
    assert first.order.status == "MATCHED"


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (dict(price=4550), "breaks minimum tick size rule: 0.01"),
        (dict(price=0), "breaks minimum tick size rule"),
        (dict(price=10_000), "breaks minimum tick size rule"),
        (dict(size=499), "Size (4.99) lower than the minimum: 5"),
        (dict(post_only=True, order_type="FOK"), "only GTC and GTD order types are allowed"),
        (dict(size=10**9), "not enough balance / allowance"),
        (dict(order_type="GTD", expiration=1_700_000_000 + 30), "invalid expiration"),
    ],
)
def test_rejects_with_venue_messages(req: dict, message: str) -> None:
    e = make_engine()
    args = {"price": 4500, "size": 1000} | req
    with pytest.raises(OrderRejected) as info:
        e.place(order("a", YES, "BUY", args.pop("price"), args.pop("size"), **args))
    assert message in info.value.message
    assert e.depth(CID) == ([], []) and e.accounts["a"].locked == 0


def test_post_only_crossing_rejected_and_duplicate_hash_rejected() -> None:
    e = make_engine()
    resting = e.place(order("a", NO, "BUY", 5500, 1000))
    with pytest.raises(OrderRejected, match="invalid post-only order: order crosses book"):
        e.place(order("b", YES, "BUY", 4500, 1000, post_only=True))
    dup = OrderRequest(order_id=resting.order.id, account="a", asset_id=YES, side="BUY",
                       price=4000, size=1000)
    with pytest.raises(OrderRejected, match=r"is invalid\. Duplicated\."):
        e.place(dup)


def test_sell_needs_shares() -> None:
    e = make_engine()
    with pytest.raises(OrderRejected, match="not enough balance"):
        e.place(order("a", YES, "SELL", 5000, 1000))


def test_fok_and_fak() -> None:
    e = make_engine()
    e.place(order("a", NO, "BUY", 5000, 1000))
    with pytest.raises(OrderRejected, match="FOK orders are fully filled or killed"):
        e.place(order("b", YES, "BUY", 5000, 1500, order_type="FOK"))
    with pytest.raises(OrderRejected, match="no orders found to match with FAK order"):
        e.place(order("b", YES, "BUY", 4000, 1500, order_type="FAK"))
    fak = e.place(order("b", YES, "BUY", 5000, 1500, order_type="FAK"))
    assert fak.order.size_matched == 1000 and fak.order.status == "CANCELED"
    assert e.accounts["b"].locked == 0
    assert e.depth(CID) == ([], [])


def test_cancel_releases_lock_and_reports_events() -> None:
    e = make_engine()
    p = e.place(order("a", YES, "BUY", 4500, 1000))
    e.drain()
    assert e.cancel("b", p.order.id) is not None  # not b's order
    assert e.cancel("a", p.order.id) is None
    assert e.cancel("a", p.order.id) == "already canceled or matched"
    events = e.drain()
    assert any(isinstance(x, OrderChanged) and x.kind == "CANCELLATION" for x in events)
    assert LevelChanged(CID, True, 4500, 0, p.order.id) in events
    assert e.accounts["a"].locked == 0


def test_gtd_expires_after_buffer() -> None:
    e = make_engine()
    now_s = e.clock_ms() // 1000
    p = e.place(order("a", YES, "BUY", 4500, 1000, order_type="GTD", expiration=now_s + 90))
    assert e.expire(now_s + 29) == []
    assert e.expire(now_s + 30) == [p.order.id]
    assert p.order.status == "CANCELED"


def test_trade_events_carry_maker_and_taker() -> None:
    e = make_engine()
    e.place(order("a", NO, "BUY", 5500, 1000))
    e.drain()
    e.place(order("b", YES, "BUY", 4500, 1000))
    trades = [x.trade for x in e.drain() if isinstance(x, Traded)]
    assert len(trades) == 1
    t = trades[0]
    assert (t.taker_account, t.maker_account, t.maker_side, t.maker_asset) == ("b", "a", "BUY", NO)


# --- properties ----------------------------------------------------------------------------

ACCOUNTS = ("a", "b", "c")
order_strategy = st.tuples(
    st.sampled_from(ACCOUNTS),
    st.sampled_from((YES, NO)),
    st.sampled_from(("BUY", "SELL")),
    st.integers(min_value=1, max_value=99).map(lambda c: c * 100),
    st.integers(min_value=500, max_value=5000),
    st.sampled_from(("GTC", "GTC", "FAK", "FOK")),
    st.booleans(),
)
ops = st.lists(st.one_of(order_strategy, st.integers(min_value=0, max_value=50)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_engine_invariants(sequence: list) -> None:
    e = make_engine(ACCOUNTS)
    placed = []
    fills_by_order: dict[str, int] = {}
    trades = []
    for op in sequence:
        if isinstance(op, int):
            if placed:
                target = placed[op % len(placed)]
                e.cancel(target.account, target.id)
            continue
        account, token, side, price, size, kind, post_only = op
        req = order(account, token, side, price, size, order_type=kind,
                    post_only=post_only and kind == "GTC")
        try:
            p = e.place(req)
        except OrderRejected:
            continue
        placed.append(p.order)
        trades.extend(p.trades)
        bids, asks = e.depth(CID)
        # never a crossed book after any order
        if bids and asks:
            assert bids[0][0] < asks[0][0]
    for t in trades:
        fills_by_order[t.taker_order_id] = fills_by_order.get(t.taker_order_id, 0) + t.size
        fills_by_order[t.maker_order_id] = fills_by_order.get(t.maker_order_id, 0) + t.size
        # the maker's price is the execution price; the taker never pays worse than its limit
    for o in placed:
        assert fills_by_order.get(o.id, 0) == o.size_matched <= o.original_size
    accts = e.accounts.values()
    cash = sum(a.collateral for a in accts)
    yes = sum(a.positions.get(YES, 0) for a in accts)
    no = sum(a.positions.get(NO, 0) for a in accts)
    # value conserved in both outcomes: a YES pays $1 if YES, a NO pays $1 if NO
    assert cash + yes * 10_000 == len(ACCOUNTS) * START
    assert cash + no * 10_000 == len(ACCOUNTS) * START
    for a in accts:
        assert a.locked == sum(o.price * o.remaining for o in a.open_orders.values() if o.side == "BUY")
        for tok in (YES, NO):
            held = a.positions.get(tok, 0)
            assert 0 <= a.reserved.get(tok, 0) <= held
        assert a.locked <= a.collateral
    # the book is exactly the open orders, in time order within each level
    bids, asks = e.depth(CID)
    book = e.books[CID]
    for side in (book.bids, book.asks):
        for price, level in side.levels.items():
            assert side.sizes[price] == sum(o.remaining for o in level) > 0
            created = [placed.index(o) for o in level]
            assert created == sorted(created)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=20).map(lambda c: c * 100 + 4000), min_size=1,
             max_size=20),
    st.integers(min_value=500, max_value=20_000),
)
def test_taker_fills_best_price_first_then_time(prices: list[int], size: int) -> None:
    e = make_engine(("maker", "taker"))
    makers = [e.place(order("maker", NO, "BUY", 10_000 - p, 500)).order for p in prices]
    trades = e.place(order("taker", YES, "BUY", 9900, size, order_type="FAK")).trades
    expected = sorted(makers, key=lambda o: (o.yes_price, makers.index(o)))
    assert [t.maker_order_id for t in trades] == [o.id for o in expected[: len(trades)]]
    assert all(t.taker_price <= 9900 for t in trades)
    assert sum(t.size for t in trades) == min(size, 500 * len(prices))
