"""`pmm status`: the accounts' collateral and what our orders lock (issue 18)."""

from __future__ import annotations

from common.config import parse
from common.messages import ExecutorReport
from services.control import render
from services.control.state import StatusView

CFG = parse("""
[[markets]]
id = "a"
venue = "polymarket"
venue_market = "0xa"
yes_token = "Ya"
no_token = "Na"
[[markets]]
id = "b"
venue = "polymarket"
venue_market = "0xb"
yes_token = "Yb"
no_token = "Nb"
[[markets]]
id = "k"
venue = "kalshi"
venue_market = "KX"
""")


def _report(market: str, venue: str, ts: int, locked: int,
            collateral: int | None) -> ExecutorReport:
    return ExecutorReport(venue=venue, market=market, ts_ns=ts, open_orders=1, best_bid=0,  # type: ignore[arg-type]
                          best_ask=0, locked=locked, collateral=collateral)


def test_collateral_counts_each_account_once_from_its_newest_report() -> None:
    view = StatusView(CFG)
    doc = view.document()
    assert (doc["collateral_usd"], doc["locked_usd"]) == (None, 0.0)
    assert "collateral not read ($0.00 locked)" in render.table(doc, color=False)
    view.apply(_report("a", "polymarket", 1, 2_000_000, 50_000_000))
    view.apply(_report("b", "polymarket", 2, 3_000_000, 48_000_000))  # newer: after a fill
    view.apply(_report("k", "kalshi", 1, 1_500_000, 20_000_000))
    doc = view.document()
    assert (doc["collateral_usd"], doc["locked_usd"]) == (68.0, 6.5)
    assert "collateral $68.00 ($6.50 locked)" in render.table(doc, color=False)
