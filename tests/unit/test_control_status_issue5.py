"""`pmm status <id>`: the reference price and the hedge analysis in control's status view."""

from __future__ import annotations

from common.config import parse
from common.messages import BookSnapshot, Level, PositionUpdate, ReferencePrice
from services.control import render
from services.control.state import StatusView

CFG = parse("""
[[references]]
feed = "BTC-USD"
url = "ws://127.0.0.1:1/ref/ws"
[[markets]]
id = "btc"
venue = "kalshi"
venue_market = "KXBTC"
reference = "BTC-USD"
strike = 100000
[[markets]]
id = "other"
venue = "kalshi"
venue_market = "KXO"
""")


def test_status_carries_the_reference_and_a_close_or_hedge_recommendation() -> None:
    view = StatusView(CFG)
    view.apply(ReferencePrice(feed="BTC-USD", ts_ns=1, price=97_123.5))
    view.apply(BookSnapshot(venue="kalshi", market="btc", seq=1, ts_recv_ns=1, ts_venue_ms=1,
                            tick=100, bids=(Level(4000, 6000), Level(3900, 10_000)),
                            asks=(Level(4200, 5000),)))
    view.apply(PositionUpdate(venue="kalshi", market="btc", ts_ns=1, position_yes=10_000,
                              position_no=0, net_position=10_000, avg_price=6000,
                              realized_pnl=0, marked_pnl=-19_000_000, mark=4100, fills=2,
                              halted=False))
    doc = view.document()
    btc, other = doc["markets"]
    assert btc["reference"] == 97_123.5 and btc["reference_feed"] == "BTC-USD"
    assert other["reference"] is None and other["hedge"] is None
    h = btc["hedge"]
    assert (h["close_pnl_usd"], h["hedge_worst_usd"], h["hold_worst_usd"]) == (-20.4, -20.4, -60.0)
    assert h["recommendation"] == "close"
    text = render.detail({"markets": [btc]})
    assert "reference BTC-USD: 97,123.50" in text
    assert "close  worst case $      -20.40  (cash in now $39.60)" in text
    assert "recommendation: CLOSE - same worst case; closing frees the collateral now" in text
    assert "flat, nothing to hedge" in render.detail({"markets": [other]})
