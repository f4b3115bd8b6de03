"""The shared queue fill model (common/fillmodel.py): queue position, partial fills, crosses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from common.fillmodel import QueueModel
from common.messages import Level
from research.venue import PaperVenue


def _model(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> QueueModel:
    q = QueueModel()
    q.on_book(tuple(Level(p, s) for p, s in bids), tuple(Level(p, s) for p, s in asks))
    return q


def test_order_joins_back_of_its_level_and_fills_after_the_queue() -> None:
    q = _model([(4800, 1000)], [(5200, 1000)])
    assert q.add("a", True, 4800, 500)
    assert q.orders["a"].queue_ahead == 1000
    assert q.on_trade(4800, 600, aggressor_buy=False) == []
    fills = q.on_trade(4800, 700, aggressor_buy=False)
    assert [(f.order_id, f.size, f.remaining) for f in fills] == [("a", 300, 200)]


def test_order_better_than_the_print_fills_first_up_to_the_print_size() -> None:
    q = _model([(4800, 1000)], [(5200, 1000)])
    assert q.add("a", True, 4900, 500)
    fills = q.on_trade(4800, 300, aggressor_buy=False)
    assert [(f.size, f.price) for f in fills] == [(300, 4900)]
    assert q.orders["a"].remaining == 200


def test_book_shrinking_at_our_level_moves_us_up_the_queue() -> None:
    q = _model([(4800, 1000)], [(5200, 1000)])
    q.add("a", True, 4800, 500)
    q.on_book((Level(4800, 200),), (Level(5200, 1000),))
    assert q.orders["a"].queue_ahead == 200
    q.on_book((Level(4800, 900),), (Level(5200, 1000),))  # growth is behind us
    assert q.orders["a"].queue_ahead == 200


def test_crossing_post_only_is_rejected_and_trade_through_fills_the_rest() -> None:
    q = _model([(4800, 1000)], [(5200, 1000)])
    assert not q.add("x", True, 5200, 500)
    assert q.add("s", False, 5100, 500)
    fills = q.on_book((Level(5100, 100),), (Level(5300, 100),))
    assert [(f.order_id, f.size, f.remaining) for f in fills] == [("s", 500, 0)]
    assert q.orders == {}


def test_trade_on_the_other_side_fills_nothing() -> None:
    q = _model([(4800, 1000)], [(5200, 1000)])
    q.add("a", True, 4900, 500)
    assert q.on_trade(5200, 1000, aggressor_buy=True) == []


@settings(max_examples=200, deadline=None)
@given(
    orders=st.lists(st.tuples(st.booleans(), st.integers(45, 55), st.integers(1, 2000)),
                    max_size=6),
    prints=st.lists(st.tuples(st.integers(40, 60), st.integers(1, 3000), st.booleans()),
                    max_size=20),
)
def test_fills_never_exceed_orders_or_prints(
    orders: list[tuple[bool, int, int]], prints: list[tuple[int, int, bool]]
) -> None:
    q = _model([(4000, 500)], [(6000, 500)])
    sizes = {}
    for i, (bid, tick, size) in enumerate(orders):
        if q.add(f"o{i}", bid, tick * 100, size):
            sizes[f"o{i}"] = size
    filled: dict[str, int] = {}
    for tick, size, buy in prints:
        fills = q.on_trade(tick * 100, size, buy)
        assert sum(f.size for f in fills) <= size
        for f in fills:
            assert f.size > 0
            assert (f.price <= tick * 100) if buy else (f.price >= tick * 100)
            filled[f.order_id] = filled.get(f.order_id, 0) + f.size
    for oid, size in sizes.items():
        rest = q.orders[oid].remaining if oid in q.orders else 0
        assert filled.get(oid, 0) + rest == size


def test_a_ladder_diffed_before_the_fill_report_keeps_the_filled_level_empty() -> None:
    """PaperVenue(latency 50, response 50): a fill at t is known to the executor at t + 50;
    a ladder that reaches the venue 50 ms after its diff was blind to it until t + 100."""
    ms = 1_000_000
    for arrival, placed in ((99, False), (101, True)):
        v = PaperVenue(latency_ms=50, response_ms=50)
        v.on_book(0, "m", (Level(4800, 100),), (Level(5200, 100),))
        v.apply_ladder("m", (Level(4900, 1_000),), (), 0)
        fills = v.on_trade(0, "m", 4900, 1_000, False)  # all of it, at t = 0
        assert [f.size for f in fills] == [1_000]
        v.apply_ladder("m", (Level(4900, 1_000),), (), arrival * ms)
        assert (v.resting("m")[0] == 4900) is placed, arrival
