"""Drive our Kalshi market-data feed (services.ingest.kalshi) through its handshake in tests."""

from __future__ import annotations

import json

from services.ingest.kalshi import KalshiFeed


def subscribed(feed: KalshiFeed, ticker: str = "KXFED-T4") -> None:
    """Acknowledge the feed's orderbook_delta subscription for `ticker` with sid 3."""
    msgs = [json.loads(t) for t in feed.subscribe_messages()]
    book = next(m for m in msgs if m["params"]["channels"] == ["orderbook_delta"])
    assert book["params"]["market_ticker"] == ticker
    feed.parse(json.dumps({"id": book["id"], "type": "subscribed",
                           "msg": {"channel": "orderbook_delta", "sid": 3}}))
