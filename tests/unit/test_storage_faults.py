"""A journal that cannot be written (disk full) fails safe: kill latched, orders cancelled,
the process alive and answering (issue 15, item 4).

The fault is real: SQLite itself answers SQLITE_FULL ("database or disk is full"), made by
capping the database at its size (tests/support/storage.py). On the old code each of these
raised `sqlite3.OperationalError` out of the fill handler and ended the process.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from common import metrics
from common.config import Config, MarketConfig, StackConfig
from common.messages import CancelMarket, Fill, Kill, Reset
from services.risk.gate import RiskGate
from services.risk.journal import Journal
from tests.support.storage import fill_up, free_up
from tests.support.executor import FakeVenue, intent, ready_actor
from tests.support.wait import eventually_async


def faults(store: str) -> float:
    return metrics.STORAGE_FAULTS.labels(store=store)._value.get()


def fill(trade: str, market: str = "a", venue: str = "kalshi") -> Fill:
    return Fill(venue=venue, market=market, trade_id=trade, order_id="o1",  # type: ignore[arg-type]
                outcome="YES", side="BUY", price=4000, size=1000, fee=0, ts_venue_ms=1,
                ts_recv_ns=1)


def test_risk_applies_the_fill_latches_the_kill_and_cancels_when_the_journal_is_full(
        tmp_path: Path) -> None:
    cfg = Config(stack=StackConfig(run_dir=str(tmp_path)), markets=[
        MarketConfig(id="a", venue="kalshi", venue_market="A"),
        MarketConfig(id="b", venue="polymarket", venue_market="0xb", yes_token="Y",
                     no_token="N")])
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        gate = RiskGate(cfg, journal)
        update, _ = gate.on_fill(fill("t1"))
        assert update is not None and not gate.kill_active
        fill_up(journal._db)
        before = faults("risk_journal")
        n = 1
        while faults("risk_journal") == before and n < 5000:  # fills keep coming: disk full
            n += 1
            update, _ = gate.on_fill(fill(f"t{n}"))
            assert update is not None and update.position_yes == n * 1000, \
                "a real fill must move the position, journaled or not"
        assert faults("risk_journal") == before + 1, "the disk-full fault did not fire"
        assert gate.kill_active and gate.kill_reason.startswith("storage fault")
        sent = gate.take_outbox()
        assert sorted((c.venue, c.market) for c in sent if isinstance(c, CancelMarket)) == [
            ("kalshi", ""), ("polymarket", "")]
        assert gate.take_outbox() == []
        journaled = journal.count()
        assert journaled == n - 1

        again, _ = gate.on_fill(fill(f"t{n}"))  # the executor's replay brings it again
        assert again is None and gate.positions["a"].position_yes == n * 1000

        free_up(journal._db)
        ack, _ = gate.on_control(Reset(sender="t", nonce="n2", ts_ns=time.time_ns()))
        assert ack.ok and not gate.kill_active
        again, _ = gate.on_fill(fill(f"t{n}"))  # journaled now, still applied only once
        assert again is None and journal.count() == journaled + 1
        assert gate.positions["a"].position_yes == n * 1000
    finally:
        journal.close()


def test_risk_kill_latches_in_memory_and_reset_is_refused_while_the_journal_is_read_only(
        tmp_path: Path) -> None:
    """A disk remounted read-only after I/O errors: every write fails. A kill still latches
    (in memory) and is acknowledged; a reset is refused until the journal takes writes."""
    cfg = Config(stack=StackConfig(run_dir=str(tmp_path)),
                 markets=[MarketConfig(id="a", venue="kalshi", venue_market="A")])
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        gate = RiskGate(cfg, journal)
        journal._db.execute("PRAGMA query_only = ON")
        before = faults("risk_journal")
        ack, cmds = gate.on_control(Kill(sender="t", nonce="n", ts_ns=time.time_ns(),
                                         reason="operator", market="a"))
        assert faults("risk_journal") == before + 1, "the write fault did not fire"
        assert ack.ok and cmds and gate.killed("a") and gate.kill_active
        assert gate.kill_reason.startswith("storage fault")
        ack, _ = gate.on_control(Reset(sender="t", nonce="n1", ts_ns=time.time_ns()))
        assert not ack.ok and "fix the disk" in ack.detail and gate.kill_active
        journal._db.execute("PRAGMA query_only = OFF")
        ack, _ = gate.on_control(Reset(sender="t", nonce="n2", ts_ns=time.time_ns()))
        assert ack.ok and not gate.kill_active
    finally:
        journal.close()


def test_executor_publishes_the_fill_and_fails_safe_when_its_fill_journal_is_full(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = FakeVenue()
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.apply_intent(intent("m1", [(4800, 1000)], [(5200, 1000)]), 0)
            assert len(venue.open) == 2
            fill_up(actor.fill_journal._db, actor.journal._db)
            before = faults("executor_fills")
            oid = next(iter(actor.state.ledger.live))
            n = 0
            while faults("executor_fills") == before and n < 500:  # fills until the disk is full
                n += 1
                await actor.sink.on_fill(Fill(
                    venue="polymarket", market="m1", trade_id=f"t{n}", order_id=oid,
                    outcome="YES", side="BUY", price=4800, size=1, fee=0, ts_venue_ms=1,
                    ts_recv_ns=1))
            assert faults("executor_fills") == before + 1, "the disk-full fault did not fire"
            assert actor.state.kill_all and actor.state.blocked("m1")
            await eventually_async(lambda: venue.count("cancel_all") == 1)
            assert venue.open == {}
            await actor.on_command(intent("m1", [(4700, 1000)], []), 0)
            assert "m1" not in actor.state.pending

    asyncio.run(scenario())


def test_executor_worker_survives_an_order_journal_that_cannot_be_written(
        tmp_path: Path) -> None:
    """The placement path journals ids as it places; a failed write ends in the kill switch,
    with the market's worker still running, not in a dead worker and a silent market."""

    async def scenario() -> None:
        venue = FakeVenue()
        with ready_actor(tmp_path, venue) as actor:
            worker = asyncio.create_task(actor.sequencer.worker("m1"))
            try:
                fill_up(actor.journal._db, actor.fill_journal._db)
                before = faults("executor_orders")
                k = 0
                while faults("executor_orders") == before and k < 500:  # requotes
                    k += 1
                    n_place = venue.count("place")
                    bid = 4800 if k % 2 else 4600  # each requote moves: new orders, journaled
                    await actor.on_command(intent("m1", [(bid, 1000)], [(10_000 - bid, 1000)],
                                                  seq=k), 0)
                    await eventually_async(lambda n_place=n_place: venue.count("place") > n_place
                                     or faults("executor_orders") > before)
                assert faults("executor_orders") == before + 1, "the write fault did not fire"
                await eventually_async(lambda: venue.count("cancel_all") == 1)
                assert actor.state.kill_all and venue.open == {} and not worker.done()
            finally:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
                if actor.sequencer.fault_cancel is not None:
                    await actor.sequencer.fault_cancel

    asyncio.run(scenario())
