"""RiskGate state: book age, throttle, duplicates, venue loss, daily reset, flatten, reversals,
and switches that survive a restart (a second gate on the same journal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from common.config import Config, MarketConfig, RiskConfig, StackConfig
from common.messages import (
    ApprovedIntent,
    BookSnapshot,
    CancelMarket,
    Fill,
    FillReversal,
    Flatten,
    Kill,
    Level,
    Pause,
    QuoteIntent,
    Reset,
)
from services.risk.gate import RiskGate
from services.risk.journal import Journal
from tests.support.fakes import NsClock


def make_cfg(tmp_path: Path, **risk: object) -> Config:
    return Config(
        stack=StackConfig(run_dir=str(tmp_path)),
        risk=RiskConfig(journal=str(tmp_path / "j.sqlite"), **risk),  # type: ignore[arg-type]
        markets=[
            MarketConfig(id="a", venue="kalshi", venue_market="A", max_loss_usd=500.0),
            MarketConfig(id="b", venue="kalshi", venue_market="B", max_loss_usd=500.0),
        ],
    )


class Rig:
    """A gate on a journal that can be 'restarted' on the same file."""

    def __init__(self, cfg: Config) -> None:
        self.cfg, self.clock = cfg, NsClock(1_780_000_000 * 1_000_000_000)
        self.journal = Journal(cfg.risk.journal)
        self.gate = self._gate()

    def _gate(self) -> RiskGate:
        g = RiskGate(self.cfg, self.journal, mono_ns=self.clock, wall_ns=self.clock)
        g.replay(self.journal.replay())
        return g

    def restart(self) -> RiskGate:
        self.journal.close()
        self.journal = Journal(self.cfg.risk.journal)
        self.gate = self._gate()
        return self.gate


@pytest.fixture()
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(**risk: object) -> Rig:
        rigs.append(Rig(make_cfg(tmp_path, **risk)))
        return rigs[-1]

    try:
        yield make
    finally:
        for r in rigs:
            r.journal.close()


@pytest.fixture()
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


def intent(market: str = "a", seq: int = 1, bid: int = 4800) -> QuoteIntent:
    return QuoteIntent(market=market, quoter="q", seq=seq, ts_recv_ns=1, ts_sent_ns=1,
                       fair_value=5000, bids=(Level(bid, 1000),), asks=(Level(5200, 1000),))


def book(market: str, bid: int, ask: int, stale: bool = False) -> BookSnapshot:
    return BookSnapshot(venue="kalshi", market=market, seq=1, ts_recv_ns=1, ts_venue_ms=1,
                        tick=100, bids=(Level(bid, 100),), asks=(Level(ask, 100),), stale=stale)


def fill(market: str, tid: str, side: str = "BUY", price: int = 5000, size: int = 10_000) -> Fill:
    return Fill(venue="kalshi", market=market, trade_id=tid, order_id="o-" + tid, outcome="YES",
                side=side, price=price, size=size, fee=0, ts_venue_ms=0,  # type: ignore[arg-type]
                ts_recv_ns=0)


def approved(g: RiskGate, i: QuoteIntent) -> ApprovedIntent | None:
    routed = g.on_intent(i)
    return None if routed is None else routed[1]


def test_old_book_rejects_and_a_fresh_one_quotes(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(max_book_age_ms=1000)
    g = rig.gate
    assert approved(g, intent()).bids == ()  # type: ignore[union-attr]  # no book yet
    g.on_book(book("a", 4900, 5100))
    assert approved(g, intent(seq=2)).bids != ()  # type: ignore[union-attr]
    rig.clock.ns += 1_100_000_000
    assert approved(g, intent(seq=3)).bids == ()  # type: ignore[union-attr]
    g.on_book(book("a", 4900, 5100, stale=True))  # marked stale by ingest
    assert approved(g, intent(seq=4)).bids == ()  # type: ignore[union-attr]


def test_rate_throttle_drops_over_the_rate(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(max_intents_per_s=2.0, intent_burst=2)
    g = rig.gate
    got = [approved(g, intent(seq=i, bid=4800 - i * 100)) for i in range(4)]
    assert [x is not None for x in got] == [True, True, False, False]
    rig.clock.ns += 500_000_000
    assert approved(g, intent(seq=9, bid=4000)) is not None


def test_duplicate_intent_is_dropped_inside_the_window_only(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(duplicate_window_ms=1000)
    g = rig.gate
    assert approved(g, intent(seq=1)) is not None
    assert approved(g, intent(seq=2)) is None  # same ladder 0 s later
    assert approved(g, intent(seq=3, bid=4700)) is not None  # a different ladder
    rig.clock.ns += 1_100_000_000
    assert approved(g, intent(seq=4, bid=4700)) is not None  # same ladder, window passed


def test_venue_loss_halts_every_market_of_the_venue(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(max_venue_loss_usd=60.0)
    g = rig.gate
    g.on_fill(fill("a", "t1"))
    g.on_fill(fill("b", "t2"))
    g.on_book(book("a", 3900, 4100))  # -$10 on a: inside
    assert g.halted == {}
    cmds = g.on_book(book("b", 4400, 4600))  # -$5 on b... total -$15 < $60: inside
    assert cmds == []
    cmds = g.on_book(book("a", 1900, 2100))  # -$30 + -$5 = -$35: inside
    assert g.halted == {}
    cmds = g.on_book(book("b", 1900, 2100))  # -$30 + -$30 = -$60: breached
    assert g.halted == {"a": "max_venue_loss", "b": "max_venue_loss"}
    assert {c.market for c in cmds if isinstance(c, CancelMarket)} == {"a", "b"}


def test_daily_reset_releases_loss_halts_and_counts_losses_afresh(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(daily_reset_utc="20:00", max_total_loss_usd=10_000.0)
    g = rig.gate
    g.check_daily_reset()  # 20:26 after 20:00: the first boundary is today's
    g.on_fill(fill("a", "t1", size=100_000))  # 1000 contracts at 0.50
    g.on_book(book("a", 4400, 4600))  # -$50... limit $500
    assert g.halted == {}
    g.on_book(book("a", 4, 6))  # mid 0.0005: -$499.5
    g.on_fill(fill("a", "t2", price=5000, size=1000))  # 10 more at 0.50: -$504.5
    assert g.halted.get("a") == "max_loss"
    assert rig.restart().halted.get("a") == "max_loss"  # persisted
    g = rig.gate
    g.on_book(book("a", 4, 6))
    rig.clock.ns += 24 * 3600 * 1_000_000_000
    g.check_daily_reset()
    assert g.halted == {}  # released; the loss now counts from here
    g.on_book(book("a", 4, 6))
    assert g.halted == {}


def test_kill_latch_and_pause_survive_a_restart(rig: Rig) -> None:
    g = rig.gate
    g.on_control(Kill(sender="t", nonce="1", ts_ns=0, reason="venue down", venue="kalshi"))
    g.on_control(Kill(sender="t", nonce="2", ts_ns=0, reason="bad mkt", market="b"))
    g.on_control(Pause(sender="t", nonce="3", ts_ns=0, paused=True))
    g = rig.restart()
    assert g.kill_active and g.killed("a") and g.killed("b") and g.paused
    assert g.sw.kill_venues == {"kalshi": "venue down"} and g.sw.kill_markets == {"b": "bad mkt"}
    g.on_control(Reset(sender="t", nonce="4", ts_ns=0))
    g = rig.restart()
    assert not g.kill_active and not g.killed("a")
    assert g.paused  # Reset releases kills and halts; resume is its own command


def test_flatten_cancels_then_exits_inside_limits_until_flat(rig: Rig) -> None:
    g = rig.gate
    g.on_book(book("a", 4900, 5100))
    g.on_fill(fill("a", "t1", size=150_000))  # long 1500 contracts; max order 1000
    ack, cmds = g.on_control(Flatten(sender="t", nonce="f", ts_ns=0, market="a"))
    assert ack.ok
    assert isinstance(cmds[0], CancelMarket) and cmds[0].market == "a"
    exit_cmd = cmds[1]
    assert isinstance(exit_cmd, ApprovedIntent)
    assert exit_cmd.bids == () and exit_cmd.asks == () and exit_cmd.exit_bids == ()
    assert exit_cmd.exit_asks == (Level(4900, 100_000),)  # one clip at the best bid
    assert g.on_intent(intent()) is None  # quotes held back while flattening
    assert rig.restart().sw.flattening == ["a"]
    g = rig.gate
    g.on_book(book("a", 4900, 5100))
    _, cmds = g.on_fill(fill("a", "t2", side="SELL", price=4900, size=100_000))
    assert [c.exit_asks for c in cmds if isinstance(c, ApprovedIntent)] == [
        (Level(4900, 50_000),)]
    _, cmds = g.on_fill(fill("a", "t3", side="SELL", price=4900, size=50_000))
    assert [c.exit_asks for c in cmds if isinstance(c, ApprovedIntent)] == [()]  # flat
    g.on_control(Pause(sender="t", nonce="r", ts_ns=0, paused=False))  # resume
    assert approved(g, intent(seq=5)).bids != ()  # type: ignore[union-attr]


def test_a_reversal_undoes_its_fill_exactly_once_and_survives_restart(rig: Rig) -> None:
    g = rig.gate
    g.on_book(book("a", 4900, 5100))
    g.on_fill(fill("a", "t1", price=4000, size=1000))
    g.on_fill(fill("a", "t2", price=6000, size=500))
    g.on_fill(fill("a", "t3", side="SELL", price=5500, size=700))
    never = rig.gate.positions["a"]
    rev = FillReversal(venue="kalshi", market="a", trade_id="t2", order_id="o-t2",
                       outcome="YES", side="BUY", price=6000, size=500, ts_ns=0)
    update, _ = g.on_reversal(rev)
    assert update is not None and update.position_yes == 300 and update.fills == 2
    after = g.positions["a"]
    assert g.on_reversal(rev) == (None, [])  # once
    assert g.positions["a"] == after
    # Exactly as if t2 never happened.
    clean = Rig(make_cfg(Path(rig.cfg.run_dir) / "clean"))
    try:
        clean.gate.on_fill(fill("a", "t1", price=4000, size=1000))
        clean.gate.on_fill(fill("a", "t3", side="SELL", price=5500, size=700))
        assert clean.gate.positions["a"] == after != never
    finally:
        clean.journal.close()
    assert rig.restart().positions["a"] == after
    assert rig.gate.on_fill(fill("a", "t2", price=6000, size=500)) == (None, [])


def test_a_reversal_that_arrives_first_keeps_its_fill_out(rig: Rig) -> None:
    g = rig.gate
    rev = FillReversal(venue="kalshi", market="a", trade_id="t9", order_id="o", outcome="YES",
                       side="BUY", price=5000, size=100, ts_ns=0)
    g.on_reversal(rev)
    assert g.on_fill(fill("a", "t9", size=100)) == (None, [])
    assert "a" not in g.positions or g.positions["a"].position_yes == 0
