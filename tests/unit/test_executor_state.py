"""The executor's order state (services/executor/state.py): gates, latches, queued ladders."""

from __future__ import annotations

import time

from common.messages import ApprovedIntent, Level
from services.executor.adapter import Placed
from services.executor.orders import DesiredOrder, MarketTokens
from services.executor.state import ExecutorState

MARKETS = [MarketTokens(market=m, venue_market=f"0x{m}", yes_token=f"Y{m}", no_token=f"N{m}",
                        tick=100, min_size=100) for m in ("m1", "m2")]


def ladder(market: str, expires_at_ns: int = 2**62) -> ApprovedIntent:
    return ApprovedIntent(venue="polymarket", market=market, risk_seq=1, intent_seq=1,
                          ts_recv_ns=0, ts_approved_ns=0, expires_at_ns=expires_at_ns,
                          bids=(Level(4800, 1000),), asks=())


def ready() -> ExecutorState:
    state = ExecutorState("polymarket", MARKETS, time.time_ns)
    state.risk_ok = state.reconciled = True
    return state


def test_ladders_wait_for_risk_and_reconciliation_and_stop_at_the_kill_latch() -> None:
    state = ExecutorState("polymarket", MARKETS, time.time_ns)
    assert state.blocked("m1")
    state.risk_ok = True
    assert state.blocked("m1")
    state.reconciled = True
    assert not state.blocked("m1")
    state.latch_kill("m1")
    assert state.blocked("m1") and not state.blocked("m2")
    assert state.blocked_markets() == frozenset({"m1"})
    state.latch_kill(None)
    assert state.blocked("m2") and state.blocked_markets() == frozenset({"m1", "m2"})
    state.reset_kill()
    assert not state.blocked("m1") and state.blocked_markets() == frozenset()
    state.deadman_done = True
    assert state.blocked_markets() == frozenset({"m1", "m2"})


def test_the_newest_ladder_wins_and_a_scope_cancel_drops_it_and_bumps_the_epoch() -> None:
    state = ready()
    assert not state.queue(ladder("m1"), 1)
    assert state.queue(ladder("m1"), 2) and state.pending["m1"][1] == 2
    state.queue(ladder("m2"), 3)
    state.last_intent["m2"] = (ladder("m2"), 3)
    state.drop_pending("m2")
    assert "m2" not in state.pending and "m2" not in state.last_intent
    assert state.cancel_epoch == {"m1": 0, "m2": 1}
    state.drop_pending(None)
    assert state.pending == {} and state.cancel_epoch == {"m1": 1, "m2": 2}


def test_the_last_ladder_is_requeued_only_when_nothing_newer_waits_and_it_is_live() -> None:
    state = ready()
    assert not state.requeue_last("m1", 0)
    state.last_intent["m1"] = (ladder("m1", expires_at_ns=100), 7)
    assert not state.requeue_last("m1", 101)  # expired
    state.pending["m1"] = (ladder("m1"), 8)
    assert not state.requeue_last("m1", 0)  # a newer one waits
    del state.pending["m1"]
    state.latch_kill("m2")
    assert state.requeue_last("m1", 0) and state.pending["m1"][1] == 7


def test_a_tick_change_replaces_the_market_for_its_tokens_and_finds_off_grid_orders() -> None:
    state = ready()
    state.ledger.record_place("m1", Placed(DesiredOrder(market="m1", token="Ym1", outcome="YES",
                                                        price=4700, size=1000), "a"), 0)
    state.ledger.record_place("m1", Placed(DesiredOrder(market="m1", token="Ym1", outcome="YES",
                                                        price=4600, size=1000), "b"), 0)
    new = MarketTokens(market="m1", venue_market="0xm1", yes_token="Ym1", no_token="Nm1",
                       tick=200, min_size=100)
    state.replace_market(new)
    assert state.markets["m1"] is new and state.tokens["Nm1"] is new
    assert state.ledger.tokens["Ym1"] is new
    assert state.off_grid("m1") == ["a"]
