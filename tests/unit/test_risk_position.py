"""Unit tests of position accounting: worked examples in exact integers."""

from __future__ import annotations

from common.messages import Fill
from services.risk.position import (
    Position,
    apply_fill,
    avg_price,
    exposure,
    marked_pnl,
    netted,
    realized_pnl,
)


def fill(outcome: str, side: str, price: int, size: int, fee: int = 0, tid: str = "t") -> Fill:
    return Fill(
        venue="polymarket", market="m", trade_id=tid, order_id="o",
        outcome=outcome, side=side,  # type: ignore[arg-type]
        price=price, size=size, fee=fee, ts_venue_ms=0, ts_recv_ns=0,
    )


def test_netted_mapping() -> None:
    assert netted(fill("YES", "BUY", 4000, 100)) == (100, 4000)
    assert netted(fill("YES", "SELL", 4000, 100)) == (-100, 4000)
    assert netted(fill("NO", "BUY", 5500, 100)) == (-100, 4500)
    assert netted(fill("NO", "SELL", 5500, 100)) == (100, 4500)


def test_round_trip_realizes_profit_and_fees() -> None:
    pos = apply_fill(Position(), fill("YES", "BUY", 4000, 10_000, fee=50))
    assert pos.net == 10_000 and avg_price(pos) == 4000
    assert marked_pnl(pos, 4500) == 10_000 * 500
    pos = apply_fill(pos, fill("YES", "SELL", 5000, 10_000, fee=50))
    assert pos.net == 0 and pos.basis == 0
    assert pos.realized == 10_000 * 1000  # 100 contracts x $0.10 = $10 = 10,000,000 micro
    assert realized_pnl(pos) == 10_000_000 - 100


def test_yes_plus_no_is_a_locked_dollar() -> None:
    pos = apply_fill(Position(), fill("YES", "BUY", 4000, 100))
    pos = apply_fill(pos, fill("NO", "BUY", 5500, 100))
    assert (pos.position_yes, pos.position_no, pos.net) == (100, 100, 0)
    assert pos.realized == 100 * 500  # paid 0.95 for a dollar


def test_short_then_flip_long() -> None:
    pos = apply_fill(Position(), fill("YES", "SELL", 6000, 300))
    assert pos.net == -300 and pos.basis == -1_800_000 and avg_price(pos) == 6000
    assert exposure(pos.net, 6000) == 300 * 4000
    pos = apply_fill(pos, fill("YES", "BUY", 5000, 500))
    assert pos.net == 200 and pos.basis == 200 * 5000
    assert pos.realized == 300 * 1000


def test_floor_division_keeps_exact_conservation() -> None:
    pos = apply_fill(Position(), fill("YES", "BUY", 3333, 3))
    pos = apply_fill(pos, fill("YES", "BUY", 3334, 4))
    pos = apply_fill(pos, fill("YES", "SELL", 5000, 2))
    assert pos.cash_flow + pos.basis == pos.realized
