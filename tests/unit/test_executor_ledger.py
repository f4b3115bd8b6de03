"""The executor's order ledger: placement outcomes, cancels, fills and venue order events."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from common.messages import Fill
from services.executor.adapter import CancelOutcome, InFlight, OrderUpdate, Placed, Rejected
from services.executor.ledger import OrderLedger
from services.executor.orders import DesiredOrder, MarketTokens

M = MarketTokens(market="m", venue_market="0xc", yes_token="Y", no_token="N", tick=100,
                 min_size=500)
REQ = DesiredOrder(market="m", token="Y", outcome="YES", price=4800, size=1000)


def ledger() -> OrderLedger:
    return OrderLedger("polymarket", {"Y": M, "N": M}, lambda: 42)


def test_placement_outcomes() -> None:
    led = ledger()
    assert led.record_place("m", Placed(REQ, "a"), 1).status == "placed"
    assert led.record_place("m", InFlight(REQ, "b", "timeout"), 2).status == "unknown"
    ev = led.record_place("m", Rejected(REQ, "crosses book"), 3)
    assert (ev.status, ev.reason, ev.order_id) == ("rejected", "crosses book", "")
    assert {k: o.state for k, o in led.live.items()} == {"a": "live", "b": "inflight"}


def test_cancels_definitive_and_ambiguous() -> None:
    led = ledger()
    for oid in "abc":
        led.record_place("m", Placed(REQ, oid), 1)
    events = led.apply_cancel(CancelOutcome(gone=("a",)), ["a", "b"], reason="r", now_ns=5)
    assert [e.order_id for e in events] == ["a"] and led.is_ours("a") and "a" not in led.live
    assert led.apply_cancel(CancelOutcome(ambiguous=True), ["b"], reason="r", now_ns=6) == []
    assert led.live["b"].state == "cancelling"
    events = led.apply_cancel(CancelOutcome(everything=True), ["b", "c"], reason="kill", now_ns=7)
    assert sorted(e.order_id for e in events) == ["b", "c"] and led.live == {}


def fill(size: int, trade: str = "t1") -> Fill:
    return Fill(venue="polymarket", market="m", trade_id=trade, order_id="a", outcome="YES",
                side="BUY", price=4800, size=size, fee=0, ts_venue_ms=0, ts_recv_ns=0)


def test_fills_once_per_trade_and_order() -> None:
    led = ledger()
    led.record_place("m", Placed(REQ, "a"), 1)
    assert led.on_fill(fill(400), 2) == (True, [])
    assert led.on_fill(fill(400), 3) == (False, [])  # MINED / CONFIRMED repeat
    assert led.live["a"].size == 600
    new, events = led.on_fill(fill(600, "t2"), 4)
    assert new and [e.status for e in events] == ["filled"] and led.live == {}
    assert len(led.fills) == 2


def test_venue_order_events() -> None:
    led = ledger()
    led.record_place("m", InFlight(REQ, "a", "timeout"), 1)
    update = OrderUpdate(order_id="a", token="Y", side="BUY", price=4800, remaining=700,
                         kind="update")
    assert led.on_order(update, 2) == []
    assert (led.live["a"].state, led.live["a"].size) == ("live", 700)
    gone = OrderUpdate(order_id="a", token="Y", side="BUY", price=4800, remaining=0,
                       kind="cancelled", reason="CANCELED")
    assert [e.status for e in led.on_order(gone, 3)] == ["cancelled"] and led.live == {}


def test_filled_survives_reconciliation_and_an_amend_moves_the_order() -> None:
    """An amend's count is filled + the new remaining, so what was filled must survive the
    periodic reconciliation that rebuilds the live map from the venue's open orders."""
    from services.executor.orders import VenueOrder

    led = ledger()
    led.record_place("m", Placed(REQ, "a"), 1)
    led.on_fill(fill(400), 2)
    led.reconcile([VenueOrder(order_id="a", token="Y", side="BUY", price=4800, size=600)],
                  requested_ns=3, blocked=frozenset())
    assert (led.live["a"].filled, led.live["a"].size) == (400, 600)
    led.reconcile([VenueOrder(order_id="a", token="Y", side="BUY", price=4800, size=500,
                              filled=500)], requested_ns=4, blocked=frozenset())
    assert led.live["a"].filled == 500  # the venue saw a fill we have not yet
    ev = led.record_amend("a", 4700, 800, 5)
    assert ev is not None and (ev.status, ev.price, ev.size, ev.reason) == (
        "placed", 4700, 800, "amended")
    assert (led.live["a"].price, led.live["a"].size) == (4700, 800)
    assert led.record_amend("a", 4700, 0, 6).status == "filled" and "a" not in led.live
    assert led.record_amend("gone", 4700, 100, 7) is None


def test_a_partial_fill_seen_as_update_then_trade_shrinks_the_order_once() -> None:
    """Polymarket's user channel sends an order UPDATE (cumulative size_matched) and a trade
    for the same match, in either order. Subtracting both forgot a resting order (the
    candidate defaults' fault test then saw the next ladder place a second order at its
    price: 50 resting twice)."""
    led = ledger()
    led.record_place("m", Placed(REQ, "a"), 1)
    update = OrderUpdate(order_id="a", token="Y", side="BUY", price=4800, remaining=400,
                         kind="update")
    assert led.on_order(update, 2) == []
    assert led.on_fill(fill(600), 3) == (True, [])
    assert (led.live["a"].size, led.live["a"].filled) == (400, 600)
    new, events = led.on_fill(fill(400, "t2"), 4)
    assert new and [e.status for e in events] == ["filled"] and led.live == {}


@given(st.lists(st.integers(1, 300), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_fills_and_order_updates_in_any_order_leave_what_the_venue_has(
        parts: list[int], rnd: random.Random) -> None:
    """Each match arrives as a trade and as an order update carrying the cumulative
    remaining; whatever their order (and repeats), the ledger ends with the venue's
    remaining, and removes the order exactly when it is filled."""
    led = ledger()
    led.record_place("m", Placed(REQ, "a"), 1)
    parts = parts[:next((k + 1 for k in range(len(parts)) if sum(parts[:k + 1]) >= 1000),
                        len(parts))]
    events: list[Fill | OrderUpdate] = []
    done = 0
    for k, part in enumerate(parts):
        part = min(part, 1000 - done)
        done += part
        events.append(fill(part, f"t{k}"))
        events.append(OrderUpdate(order_id="a", token="Y", side="BUY", price=4800,
                                  remaining=1000 - done, kind="update"))
    rnd.shuffle(events)
    for k, ev in enumerate(events + events[:2]):
        if isinstance(ev, Fill):
            led.on_fill(ev, 10 + k)
        else:
            led.on_order(ev, 10 + k)
    if done >= 1000:
        assert "a" not in led.live
    else:
        assert led.live["a"].size == 1000 - done
