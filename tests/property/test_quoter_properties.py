"""Property tests of the quoting maths: every ladder is valid for every book and inventory."""

from __future__ import annotations

import math

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import QuotingConfig
from common.messages import Level
from common.prices import ONE_DOLLAR
from services.quoter.strategy import Book, Ladder, build_ladder

TICKS = st.sampled_from([1, 10, 100])


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
        spread=draw(st.floats(min_spread, max_spread)),
        min_spread=min_spread,
        max_spread=max_spread,
        size=draw(st.floats(0.5, 5000)),
        max_inventory=draw(st.floats(1, 10_000)),
        skew=draw(st.floats(0, 10)),
        fv_method=draw(st.sampled_from(["mid_price", "weighted_mid", "microprice", "vwap"])),
        max_orders=draw(st.integers(1, 8)),
        level_spacing=draw(st.sampled_from([0.0, 0.001, 0.01, 0.05])),
        level_decay=draw(st.floats(0.05, 1)),
    )


nets = st.floats(-20_000, 20_000, allow_nan=False)
min_sizes = st.integers(0, 2000)


@settings(max_examples=400)
@given(books(), configs(), nets, min_sizes)
def test_ladder_is_always_valid(book: Book, cfg: QuotingConfig, net: float, min_size: int) -> None:
    ladder = build_ladder(book, cfg, net, min_size)
    tick = book.tick
    for lv in (*ladder.bids, *ladder.asks):
        assert tick <= lv.price <= ONE_DOLLAR - tick and lv.price % tick == 0
        assert lv.size >= max(1, min_size)
        assert lv.size <= math.floor(cfg.size * 100 + 1e-6)
    if ladder.bids and ladder.asks:
        assert ladder.bids[0].price < ladder.asks[0].price
    if ladder.bids:
        assert ladder.bids[0].price < book.asks[0].price, "a bid would cross the book"
    if ladder.asks:
        assert ladder.asks[0].price > book.bids[0].price, "an ask would cross the book"
    bid_prices = [lv.price for lv in ladder.bids]
    ask_prices = [lv.price for lv in ladder.asks]
    assert bid_prices == sorted(bid_prices, reverse=True)
    assert len(set(bid_prices)) == len(bid_prices)
    assert ask_prices == sorted(ask_prices)
    assert len(set(ask_prices)) == len(ask_prices)


@settings(max_examples=300)
@given(books(), configs(), nets, min_sizes)
def test_adding_side_never_exceeds_max_inventory(
    book: Book, cfg: QuotingConfig, net: float, min_size: int
) -> None:
    ladder = build_ladder(book, cfg, net, min_size)
    max_inv = math.floor(cfg.max_inventory * 100 + 1e-6)
    net_centi = round(net * 100)
    if net >= 0:
        assert net_centi + sum(lv.size for lv in ladder.bids) <= max(max_inv, net_centi)
    if net <= 0:
        assert -net_centi + sum(lv.size for lv in ladder.asks) <= max(max_inv, -net_centi)


def _top(ladder: Ladder) -> tuple[int | None, int | None]:
    return (
        ladder.bids[0].price if ladder.bids else None,
        ladder.asks[0].price if ladder.asks else None,
    )


@settings(max_examples=300)
@given(books(), configs(), st.floats(0, 20_000), min_sizes)
def test_skew_moves_quotes_away_from_heavy_side(
    book: Book, cfg: QuotingConfig, inventory: float, min_size: int
) -> None:
    flat_bid, flat_ask = _top(build_ladder(book, cfg, 0.0, 0))
    long_bid, long_ask = _top(build_ladder(book, cfg, inventory, 0))
    short_bid, short_ask = _top(build_ladder(book, cfg, -inventory, 0))
    # Long: both quotes at or below flat (selling is cheaper, buying less eager); short: above.
    if flat_bid is not None and long_bid is not None:
        assert long_bid <= flat_bid
    if flat_ask is not None and long_ask is not None:
        assert long_ask <= flat_ask
    if flat_bid is not None and short_bid is not None:
        assert short_bid >= flat_bid
    if flat_ask is not None and short_ask is not None:
        assert short_ask >= flat_ask
