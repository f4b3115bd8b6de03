"""Property tests of the quoting engine, for every model (heuristic, avellaneda_stoikov and
the symmetric baseline): every ladder is valid for every book, inventory, history and
parameter set."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import QuotingConfig
from common.messages import Level
from common.prices import ONE_DOLLAR
from strategy.engine import step
from strategy.model import Book, Decision, EngineInputs, EngineState, MarketInfo

TICKS = st.sampled_from([1, 10, 100])
T0 = 1_800_000_000 * 10**9
S = 10**9
MODELS = st.sampled_from(["heuristic", "avellaneda_stoikov", "symmetric"])


@st.composite
def books(draw: st.DrawFn) -> Book:
    tick = draw(TICKS)
    n_ticks = ONE_DOLLAR // tick
    best_bid = draw(st.integers(1, n_ticks - 2))
    best_ask = draw(st.integers(best_bid + 1, n_ticks - 1))
    depth = draw(st.integers(1, 4))
    sizes = st.integers(1, 1_000_000)
    bids = tuple(
        Level(price=(best_bid - i) * tick, size=draw(sizes))
        for i in range(depth) if best_bid - i >= 1
    )
    asks = tuple(
        Level(price=(best_ask + i) * tick, size=draw(sizes))
        for i in range(depth) if best_ask + i <= n_ticks - 1
    )
    return Book(tick=tick, bids=bids, asks=asks)


@st.composite
def configs(draw: st.DrawFn) -> QuotingConfig:
    min_spread = draw(st.floats(0.001, 0.05))
    max_spread = draw(st.floats(min_spread, 0.3))
    return msgspec.structs.replace(
        QuotingConfig(),
        model=draw(MODELS),
        spread=draw(st.floats(min_spread, max_spread)),
        min_spread=min_spread,
        max_spread=max_spread,
        size=draw(st.floats(0.5, 5000)),
        max_inventory=draw(st.floats(1, 10_000)),
        skew=draw(st.floats(0, 10)),
        skew_rounding=draw(st.sampled_from(["away", "none"])),
        vol_mult=draw(st.floats(0, 100)),
        fv_method=draw(st.sampled_from(["mid_price", "weighted_mid", "microprice", "vwap", "ema"])),
        max_orders=draw(st.integers(1, 8)),
        level_spacing=draw(st.sampled_from([0.0, 0.001, 0.01, 0.05])),
        level_decay=draw(st.floats(0.05, 1)),
        liquidity_min_depth=draw(st.sampled_from([0.0, 50.0, 5000.0])),
        inventory_widen=draw(st.sampled_from([0.0, 0.5, 3.0])),
        gamma=draw(st.floats(0.01, 10)),
        order_intensity=draw(st.floats(1, 1000)),
        horizon_s=draw(st.floats(1, 86_400)),
    )


@st.composite
def states(draw: st.DrawFn, book: Book, params: QuotingConfig) -> EngineState:
    """An engine state warmed on a few earlier books (moved mids feed EMA and volatility)."""
    state = EngineState()
    for i, shift in enumerate(draw(st.lists(st.integers(-5, 5), max_size=4))):
        moved = Book(
            tick=book.tick,
            bids=tuple(Level(max(book.tick, lv.price + shift * book.tick), lv.size) for lv in book.bids),
            asks=tuple(Level(min(ONE_DOLLAR - book.tick, lv.price + shift * book.tick), lv.size)
                       for lv in book.asks),
        )
        state, _ = step(state, EngineInputs(book=moved), params, MarketInfo(), T0 + i * S)
    return state


markets = st.sampled_from([
    MarketInfo(),
    MarketInfo(resolves_at_ns=T0 + 10 * S + 86_400 * S),
    MarketInfo(resolves_at_ns=T0 + 10 * S + 1800 * S),  # inside stop-adding
    MarketInfo(resolves_at_ns=T0 + 10 * S + 300 * S),  # inside exit
])
nets = st.integers(-2_000_000, 2_000_000)
min_sizes = st.integers(0, 2000)


def run(state: EngineState, book: Book, params: QuotingConfig, net: int, min_size: int,
        market: MarketInfo = MarketInfo()) -> Decision:
    inputs = EngineInputs(book=book, net_centi=net, min_size_centi=min_size, new_book=False)
    return step(state, inputs, params, market, T0 + 10 * S)[1]


@settings(max_examples=400, deadline=None)
@given(st.data(), books(), configs(), nets, min_sizes, markets)
def test_ladder_is_always_valid(
    data: st.DataObject, book: Book, params: QuotingConfig, net: int, min_size: int,
    market: MarketInfo,
) -> None:
    state = data.draw(states(book, params))
    ladder = run(state, book, params, net, min_size, market).ladder
    tick = book.tick
    grow = max(1.0, params.moderate_reduce_factor, params.aggressive_reduce_factor)
    for lv in (*ladder.bids, *ladder.asks):
        assert tick <= lv.price <= ONE_DOLLAR - tick and lv.price % tick == 0
        assert lv.size >= max(1, min_size)
        assert lv.size <= math.floor(params.size * 100 * grow + 1e-6)
    if ladder.bids and ladder.asks:
        assert ladder.bids[0].price < ladder.asks[0].price
    if ladder.bids:
        assert ladder.bids[0].price < book.asks[0].price, "a bid would cross the book"
    if ladder.asks:
        assert ladder.asks[0].price > book.bids[0].price, "an ask would cross the book"
    bid_prices = [lv.price for lv in ladder.bids]
    ask_prices = [lv.price for lv in ladder.asks]
    assert all(a > b for a, b in zip(bid_prices, bid_prices[1:], strict=False)), "bids not monotone"
    assert all(a < b for a, b in zip(ask_prices, ask_prices[1:], strict=False)), "asks not monotone"
    # Exits only ever reduce |net|, at prices resting on the book.
    assert not (ladder.exit_bids and ladder.exit_asks)
    exits = ladder.exit_asks if net > 0 else ladder.exit_bids
    assert sum(lv.size for lv in exits) <= abs(net)
    book_prices = {lv.price for lv in (*book.bids, *book.asks)}
    assert all(lv.price in book_prices for lv in exits)


@settings(max_examples=300, deadline=None)
@given(st.data(), books(), configs(), nets, min_sizes)
def test_adding_side_never_exceeds_max_inventory(
    data: st.DataObject, book: Book, params: QuotingConfig, net: int, min_size: int
) -> None:
    state = data.draw(states(book, params))
    ladder = run(state, book, params, net, min_size).ladder
    max_inv = math.floor(params.max_inventory * 100 + 1e-6)
    if net >= 0:
        assert net + sum(lv.size for lv in ladder.bids) <= max(max_inv, net)
    if net <= 0:
        assert -net + sum(lv.size for lv in ladder.asks) <= max(max_inv, -net)


def _top(d: Decision) -> tuple[int | None, int | None]:
    return (
        d.bids[0].price if d.bids else None,
        d.asks[0].price if d.asks else None,
    )


@settings(max_examples=300, deadline=None)
@given(st.data(), books(), configs(), st.integers(0, 2_000_000))
def test_skew_moves_quotes_away_from_heavy_side(
    data: st.DataObject, book: Book, params: QuotingConfig, inventory: int
) -> None:
    # Isolate the skew: no inventory widening (which widens both quotes on purpose).
    params = msgspec.structs.replace(params, inventory_widen=0.0)
    state = data.draw(states(book, params))
    flat_bid, flat_ask = _top(run(state, book, params, 0, 0))
    long_bid, long_ask = _top(run(state, book, params, inventory, 0))
    short_bid, short_ask = _top(run(state, book, params, -inventory, 0))
    # Long: both quotes at or below flat (selling is cheaper, buying less eager); short: above.
    if flat_bid is not None and long_bid is not None:
        assert long_bid <= flat_bid
    if flat_ask is not None and long_ask is not None:
        assert long_ask <= flat_ask
    if flat_bid is not None and short_bid is not None:
        assert short_bid >= flat_bid
    if flat_ask is not None and short_ask is not None:
        assert short_ask >= flat_ask


@settings(max_examples=200, deadline=None)
@given(books(), configs(), st.integers(1, 2_000_000))
def test_heuristic_skew_is_at_least_one_tick(book: Book, params: QuotingConfig, inventory: int) -> None:
    params = msgspec.structs.replace(params, model="heuristic", inventory_widen=0.0,
                                     skew=max(params.skew, 0.01), skew_rounding="away")
    flat = run(EngineState(), book, params, 0, 0)
    long = run(EngineState(), book, params, inventory, 0)
    # Any inventory at all moves the reservation (the ladder's centre) a whole tick down.
    assert long.reservation <= flat.reservation - book.tick + 1e-9


@settings(max_examples=300, deadline=None)
@given(st.data(), books(), configs(), nets)
def test_symmetric_baseline_is_one_level_at_spread_around_the_mid_whatever_else(
        data: st.DataObject, book: Book, params: QuotingConfig, net: int) -> None:
    """No skew, no widening, no history: the same ladder flat or long or short (sizes
    aside, capped by max_inventory), warmed or not, at mid -/+ spread unless that would
    cross the book."""
    params = msgspec.structs.replace(params, model="symmetric")
    state = data.draw(states(book, params))
    d = run(state, book, params, net, 0)
    cold = run(EngineState(), book, params, 0, 0)
    assert _top(d) == _top(cold) or not (d.bids and d.asks and cold.bids and cold.asks)
    assert len(d.bids) <= 1 and len(d.asks) <= 1
    assert not d.ladder.exit_bids and not d.ladder.exit_asks
    mid = (book.bids[0].price + book.asks[0].price) / 2
    h = params.spread * ONE_DOLLAR
    if d.bids:  # the highest tick at or below mid - spread (it cannot cross: h > 0)
        assert mid - h - book.tick < d.bids[0].price <= mid - h + 1e-6
    if d.asks:
        assert mid + h - 1e-6 <= d.asks[0].price < mid + h + book.tick
    max_inv = int(params.max_inventory * 100 + 1e-6)
    for side, room in ((d.bids, max_inv - net), (d.asks, max_inv + net)):
        for lv in side:
            assert lv.size == min(math.floor(params.size * 100 + 1e-6), max(0, room))
