"""RiskGate without sockets: routing, halts, kill levels, pause and quoter liveness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.config import Config, MarketConfig, RiskConfig, StackConfig
from common.messages import (
    ApprovedIntent,
    BookSnapshot,
    CancelMarket,
    Fill,
    Heartbeat,
    Kill,
    Level,
    Pause,
    QuoteIntent,
    Reset,
)
from services.risk.gate import RiskGate
from services.risk.journal import Journal
from tests.support.fakes import NsClock


@pytest.fixture()
def gate(tmp_path: Path) -> Iterator[tuple[RiskGate, NsClock]]:
    cfg = Config(
        stack=StackConfig(run_dir=str(tmp_path)),
        risk=RiskConfig(quoter_timeout_ms=1000, max_total_loss_usd=80.0),
        markets=[
            MarketConfig(id="a", venue="kalshi", venue_market="A", max_loss_usd=50.0),
            MarketConfig(id="b", venue="kalshi", venue_market="B", max_loss_usd=50.0),
        ],
    )
    journal = Journal(tmp_path / "j.sqlite")
    clock = NsClock(1_000_000_000)
    try:
        yield RiskGate(cfg, journal, mono_ns=clock, wall_ns=clock), clock
    finally:
        journal.close()


def intent(market: str, seq: int = 1) -> QuoteIntent:
    return QuoteIntent(
        market=market, quoter="quoter-0", seq=seq, ts_recv_ns=123, ts_sent_ns=124,
        fair_value=5000, bids=(Level(4800, 1000),), asks=(Level(5200, 1000),),
    )


def book(market: str, bid: int, ask: int) -> BookSnapshot:
    return BookSnapshot(
        venue="kalshi", market=market, seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=100,
        bids=(Level(bid, 100),), asks=(Level(ask, 100),),
    )


def buy_yes(market: str, tid: str, price: int, size: int) -> Fill:
    return Fill(
        venue="kalshi", market=market, trade_id=tid, order_id="o", outcome="YES", side="BUY",
        price=price, size=size, fee=0, ts_venue_ms=0, ts_recv_ns=0,
    )


def test_intent_is_routed_with_its_timestamps(gate: tuple[RiskGate, NsClock]) -> None:
    g, clock = gate
    routed = g.on_intent(intent("a", seq=7))
    assert routed is not None
    venue, cmd = routed
    assert venue == "kalshi" and isinstance(cmd, ApprovedIntent)
    assert (cmd.intent_seq, cmd.ts_recv_ns, cmd.ts_intent_ns) == (7, 123, 124)
    assert cmd.expires_at_ns == clock.ns + 2000 * 1_000_000
    assert cmd.bids == (Level(4800, 1000),)
    assert g.on_intent(intent("zzz")) is None


def test_every_gate_is_a_new_instance_and_stamps_its_approvals(gate: tuple[RiskGate, NsClock],
                                                               tmp_path: Path) -> None:
    """Executors tell a restarted risk from the old one by this id (issue 15, item 5)."""
    g, _ = gate
    routed = g.on_intent(intent("a"))
    assert routed is not None and routed[1].risk_instance == g.instance != ""
    journal = Journal(tmp_path / "again.sqlite")
    try:
        assert RiskGate(g.cfg, journal).instance != g.instance
    finally:
        journal.close()


def test_market_loss_halts_and_latches_until_reset(gate: tuple[RiskGate, NsClock]) -> None:
    g, _ = gate
    g.on_fill(buy_yes("a", "t1", 5000, 10_000))  # 100 contracts at 0.50
    assert g.on_book(book("a", 4500, 4600)) == []  # -$5: inside the $50 limit
    cmds = g.on_book(book("a", 4000, 4100))  # mid 0.405: -$9.5 ... still inside
    assert cmds == [] and "a" not in g.halted
    cmds = g.on_book(book("a", 100, 200))  # mid 0.015: -$48.5: inside
    assert cmds == []
    g.on_fill(buy_yes("a", "t2", 5000, 1000))  # another 10 at 0.50: -$53.35: breached
    assert g.halted == {"a": "max_loss"}
    _, cmd = g.on_intent(intent("a"))  # type: ignore[misc]
    assert cmd.bids == () and cmd.asks == ()
    g.on_book(book("a", 4900, 5100))  # recovered, but the halt is latched
    assert "a" in g.halted
    g.on_control(Reset(sender="t", nonce="n", ts_ns=0))
    assert g.halted == {}


def test_total_loss_halts_every_market(gate: tuple[RiskGate, NsClock]) -> None:
    g, _ = gate
    g.on_fill(buy_yes("a", "t1", 5000, 10_000))
    g.on_fill(buy_yes("b", "t2", 5000, 10_000))
    g.on_book(book("a", 900, 1100))  # -$40 each: each inside $50, total -$80 breached
    cmds = g.on_book(book("b", 900, 1100))
    assert set(g.halted) == {"a", "b"}
    assert {c.market for c in cmds if isinstance(c, CancelMarket)} == {"a", "b"}


def test_kill_levels(gate: tuple[RiskGate, NsClock]) -> None:
    g, _ = gate
    ack, cmds = g.on_control(Kill(sender="t", nonce="n1", ts_ns=0, reason="x", market="a"))
    assert ack.ok and ack.nonce == "n1"
    assert [(c.venue, c.market) for c in cmds] == [("kalshi", "a")]
    assert g.on_intent(intent("a"))[1].bids == ()  # type: ignore[index]
    assert g.on_intent(intent("b"))[1].bids != ()  # type: ignore[index]
    _, cmds = g.on_control(Kill(sender="t", nonce="n2", ts_ns=0, reason="x"))
    assert [(c.venue, c.market) for c in cmds] == [("kalshi", "")]
    assert g.on_intent(intent("b"))[1].bids == ()  # type: ignore[index]
    assert g.risk_state().kill_active
    g.on_control(Reset(sender="t", nonce="n3", ts_ns=0))
    assert not g.risk_state().kill_active
    assert g.on_intent(intent("b"))[1].bids != ()  # type: ignore[index]


def test_pause_stops_new_quotes_and_keeps_resting_orders(gate: tuple[RiskGate, NsClock]) -> None:
    g, _ = gate
    ack, cmds = g.on_control(Pause(sender="t", nonce="p", ts_ns=0, paused=True))
    assert ack.ok and cmds == []  # nothing is cancelled
    assert g.on_intent(intent("a")) is None  # nothing new reaches the executor
    assert g.risk_state().paused
    g.on_control(Pause(sender="t", nonce="r", ts_ns=0, paused=False))
    assert g.on_intent(intent("a"))[1].bids != ()  # type: ignore[index]


def test_silent_quoter_is_cancelled_once_until_it_returns(gate: tuple[RiskGate, NsClock]) -> None:
    g, clock = gate
    g.on_intent(intent("a"))
    g.on_quoter_heartbeat(
        Heartbeat(sender="quoter-1", role="quoter", seq=1, ts_ns=0, markets=("b",))
    )
    clock.ns += 900_000_000
    assert g.check_quoters() == []
    g.on_intent(intent("a"))
    clock.ns += 200_000_000
    cmds = g.check_quoters()
    assert [c.market for c in cmds] == ["b"]
    assert g.check_quoters() == []  # once
    g.on_quoter_heartbeat(
        Heartbeat(sender="quoter-1", role="quoter", seq=2, ts_ns=0, markets=("b",))
    )
    clock.ns += 1_100_000_000
    assert sorted(c.market for c in g.check_quoters()) == ["a", "b"]
