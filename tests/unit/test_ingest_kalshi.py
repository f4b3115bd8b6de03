"""Kalshi feed translation: YES-bid/NO-bid book to the normalized YES book, seq gaps."""

from __future__ import annotations

import json

from common.config import parse
from services.ingest.adapter import BookReplace, LevelChanges, Resubscribe, TradeSeen
from services.ingest.kalshi import KalshiFeed
from tests.support.kalshi_feed import subscribed

CFG = parse("""
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "KXFED-T4"
min_size = 1
""")


def snapshot(feed: KalshiFeed) -> list[object]:
    updates, bad = feed.parse(json.dumps({"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
        "market_ticker": "KXFED-T4", "yes_dollars_fp": [["0.4500", "120.00"], ["0.4600", "300.00"]],
        "no_dollars_fp": [["0.5300", "200.00"], ["0.5200", "50.00"]]}}))
    assert bad == 0
    return updates


def delta(seq: int, side: str, price: str, d: str) -> str:
    return json.dumps({"type": "orderbook_delta", "sid": 3, "seq": seq, "msg": {
        "market_ticker": "KXFED-T4", "price_dollars": price, "delta_fp": d, "side": side,
        "ts_ms": 5}})


def test_snapshot_becomes_a_yes_book_with_asks_from_no_bids() -> None:
    feed = KalshiFeed(CFG, None)
    subscribed(feed)
    [book] = snapshot(feed)
    assert isinstance(book, BookReplace) and book.market == "fed"
    assert sorted(book.bids) == [(4500, 12000), (4600, 30000)]
    assert sorted(book.asks) == [(4700, 20000), (4800, 5000)]


def test_deltas_are_absolute_levels_and_a_gap_resubscribes() -> None:
    feed = KalshiFeed(CFG, None)
    subscribed(feed)
    snapshot(feed)
    [ch], bad = feed.parse(delta(2, "no", "0.5300", "-50.00"))
    assert bad == 0 and isinstance(ch, LevelChanges)
    assert ch.changes[0].side == "SELL" and (ch.changes[0].price, ch.changes[0].size) == (4700, 15000)
    [ch], _ = feed.parse(delta(3, "yes", "0.4700", "10.00"))
    assert isinstance(ch, LevelChanges) and ch.changes[0].side == "BUY"
    [gap], _ = feed.parse(delta(5, "yes", "0.4700", "1.00"))
    assert isinstance(gap, Resubscribe) and gap.reason == "sequence_gap"
    cmds = [json.loads(t) for t in gap.messages]
    assert cmds[0]["cmd"] == "unsubscribe" and cmds[0]["params"]["sids"] == [3]
    assert cmds[1]["cmd"] == "subscribe"
    assert feed.parse(delta(6, "yes", "0.4700", "1.00"))[0] == []  # ignored until a snapshot


def test_negative_level_resubscribes_and_malformed_is_counted() -> None:
    feed = KalshiFeed(CFG, None)
    subscribed(feed)
    snapshot(feed)
    [gap], _ = feed.parse(delta(2, "yes", "0.4500", "-500.00"))
    assert isinstance(gap, Resubscribe) and gap.reason == "negative_level"
    assert feed.parse("{not json")[1] == 1
    assert feed.parse(json.dumps({"type": "trade", "msg": {"market_ticker": "KXFED-T4",
                                                            "taker_side": "up"}}))[1] == 1
    [t], bad = feed.parse(json.dumps({"type": "trade", "sid": 9, "msg": {
        "market_ticker": "KXFED-T4", "yes_price_dollars": "0.5500", "count_fp": "10.00",
        "taker_side": "no", "ts": 1707667200}}))
    assert bad == 0 and isinstance(t, TradeSeen) and (t.price, t.size, t.side) == (5500, 1000, "SELL")
