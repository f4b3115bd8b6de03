"""The fill journal: a duplicate fill applies once; a restart rebuilds identical positions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from common import metrics
from common.config import Config, MarketConfig, RiskConfig, StackConfig
from common.messages import BookSnapshot, Fill, Level
from services.risk.gate import RiskGate
from services.risk.journal import Journal


def config(tmp_path: Path) -> Config:
    return Config(
        stack=StackConfig(run_dir=str(tmp_path)),
        risk=RiskConfig(journal=str(tmp_path / "j.sqlite")),
        markets=[MarketConfig(id="m", venue="kalshi", venue_market="M", max_loss_usd=1e6)],
    )


def fill(tid: str, outcome: str, side: str, price: int, size: int, fee: int = 0) -> Fill:
    return Fill(
        venue="kalshi", market="m", trade_id=tid, order_id="o-" + tid,
        outcome=outcome, side=side, price=price, size=size, fee=fee,  # type: ignore[arg-type]
        ts_venue_ms=1, ts_recv_ns=2,
    )


FILLS = [
    fill("a", "YES", "BUY", 4000, 1000, 7),
    fill("b", "NO", "BUY", 5500, 400, 3),
    fill("c", "YES", "SELL", 4700, 333),
    fill("d", "NO", "SELL", 5100, 150, 1),
]


def test_journal_is_wal_and_unique(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    dupes = metrics.FILLS_DUPLICATE.labels(venue=FILLS[0].venue)
    before = dupes._value.get()
    try:
        assert j.record(FILLS[0])
        assert not j.record(FILLS[0])
        assert j.count() == 1
        assert dupes._value.get() == before + 1
        assert list(j.replay()) == [FILLS[0]]
    finally:
        j.close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_duplicate_fill_is_applied_once(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    j = Journal(cfg.risk.journal)
    try:
        gate = RiskGate(cfg, j)
        update, _ = gate.on_fill(FILLS[0])
        assert update is not None and update.position_yes == 1000 and update.fills == 1
        again, cmds = gate.on_fill(FILLS[0])
        assert again is None and cmds == []
        assert gate.positions["m"].position_yes == 1000
        assert gate.positions["m"].fills == 1
    finally:
        j.close()


def test_one_trade_hitting_two_of_our_orders_is_two_fills(tmp_path: Path) -> None:
    """A Polymarket trade can list several makers: dedupe on (venue, trade, order)."""
    cfg = config(tmp_path)
    j = Journal(cfg.risk.journal)
    try:
        gate = RiskGate(cfg, j)
        second = msgspec.structs.replace(FILLS[0], order_id=FILLS[0].order_id + "-other")
        assert gate.on_fill(FILLS[0])[0] is not None
        assert gate.on_fill(second)[0] is not None
        assert gate.on_fill(second)[0] is None  # the same order's fill again: once only
        assert gate.positions["m"].position_yes == 2 * FILLS[0].size
    finally:
        j.close()


def test_fill_is_committed_before_the_position_changes(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    j = Journal(cfg.risk.journal)
    try:
        gate = RiskGate(cfg, j)
        gate.on_fill(FILLS[0])
        # A second connection (another process) sees the row: it was committed.
        other = sqlite3.connect(cfg.risk.journal)
        try:
            assert other.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 1
        finally:
            other.close()
    finally:
        j.close()


def test_restart_rebuilds_identical_positions_and_pnl(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    book = BookSnapshot(
        venue="kalshi", market="m", seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=100,
        bids=(Level(4800, 100),), asks=(Level(5000, 100),),
    )
    j = Journal(cfg.risk.journal)
    try:
        first = RiskGate(cfg, j)
        first.on_book(book)
        for f in [*FILLS, FILLS[1]]:
            first.on_fill(f)
        before = first.positions["m"]
        before_update = first.position_update("m")
    finally:
        j.close()

    j = Journal(cfg.risk.journal)
    try:
        second = RiskGate(cfg, j)
        assert second.replay(j.replay()) == len(FILLS)
        second.on_book(book)
        assert second.positions["m"] == before
        after_update = second.position_update("m")
        assert after_update.realized_pnl == before_update.realized_pnl
        assert after_update.marked_pnl == before_update.marked_pnl
        assert (after_update.position_yes, after_update.position_no) == (667, 250)
    finally:
        j.close()
