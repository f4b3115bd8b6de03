"""Polymarket market-channel parsing against every recorded payload and a malformed corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.config import parse
from common.venues import polymarket as wire
from services.ingest.adapter import BookReplace, LevelChanges, MarketClosed, TickChanged, TradeSeen
from services.ingest.polymarket import PolymarketFeed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
RESOLVED_YES = "76043073756653678226373981964075571318267289248134717369284518995922789326425"

CONFIG = f"""
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
yes_token = "{YES}"
no_token = "{NO}"

[[markets]]
id = "nvda"
venue = "polymarket"
venue_market = "0x311d"
yes_token = "{RESOLVED_YES}"
no_token = "31690934263385727664202099278545688007799199447969475608906331829650099442770"
"""


@pytest.fixture()
def feed() -> PolymarketFeed:
    return PolymarketFeed(parse(CONFIG))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


MARKET_FIXTURES = {
    "ws_book_snapshot.json": wire.BookMsg,
    "ws_market_book_msg.json": wire.BookMsg,
    "clob_book_response.json": wire.BookMsg,
    "ws_market_price_change_msg.json": wire.PriceChangeMsg,
    "ws_quotes.json": wire.PriceChangeMsg,
    "ws_market_last_trade_msg.json": wire.LastTradeMsg,
    "ws_last_trade.json": wire.LastTradeMsg,
    "ws_market_tick_size_msg.json": wire.TickSizeChangeMsg,
    "ws_tick_size_change.json": wire.TickSizeChangeMsg,
    "ws_market_best_bid_ask_msg.json": wire.BestBidAskMsg,
    "ws_market_new_market_msg.json": wire.NewMarketMsg,
    "ws_market_resolved_msg.json": wire.MarketResolvedMsg,
}


def test_every_market_fixture_is_listed() -> None:
    on_disk = {p.name for p in FIXTURES.glob("ws_*.json") if "user" not in p.name}
    assert on_disk <= set(MARKET_FIXTURES), on_disk - set(MARKET_FIXTURES)


@pytest.mark.parametrize(("name", "kind"), sorted(MARKET_FIXTURES.items()))
def test_fixture_decodes_as_object_and_in_array(name: str, kind: type) -> None:
    events, bad = wire.decode_frame(load(name))
    assert bad == 0 and len(events) == 1 and type(events[0]) is kind
    obj = json.loads(load(name))
    events, bad = wire.decode_frame(json.dumps([obj, obj]))
    assert bad == 0 and [type(e) for e in events] == [kind, kind]


def test_book_snapshot_translates_in_yes_terms(feed: PolymarketFeed) -> None:
    updates, bad = feed.parse(load("ws_book_snapshot.json"))
    assert bad == 0
    (book,) = updates
    assert isinstance(book, BookReplace) and book.market == "m1"
    assert sorted(book.bids) == [(4800, 50000), (4900, 35000), (5000, 20000)]
    assert sorted(book.asks) == [(5100, 15000), (5200, 25000), (5300, 40000)]
    assert book.ts_venue_ms == 1703875200000


def test_price_change_ignores_the_no_token(feed: PolymarketFeed) -> None:
    updates, bad = feed.parse(load("ws_quotes.json"))
    assert bad == 0
    (changes,) = updates
    assert isinstance(changes, LevelChanges)
    assert [(c.side, c.price, c.size) for c in changes.changes] == [("BUY", 5100, 15000)]


def test_tick_change_trade_and_resolution(feed: PolymarketFeed) -> None:
    (tick,), _ = feed.parse(load("ws_market_tick_size_msg.json"))
    assert tick == TickChanged(market="m1", ts_venue_ms=1703875210000, tick=100)
    (trade,), _ = feed.parse(load("ws_market_last_trade_msg.json"))
    assert trade == TradeSeen(market="m1", ts_venue_ms=1703875202000, price=5100, size=2500,
                              side="BUY")
    (closed,), _ = feed.parse(load("ws_market_resolved_msg.json"))
    assert isinstance(closed, MarketClosed) and closed.market == "nvda"
    assert feed.parse(load("ws_market_best_bid_ask_msg.json")) == ([], 0)
    assert feed.parse(load("ws_market_new_market_msg.json")) == ([], 0)


def test_trade_on_no_token_is_mirrored(feed: PolymarketFeed) -> None:
    msg = {"event_type": "last_trade_price", "asset_id": NO, "price": 0.3, "side": "BUY",
           "size": 10, "timestamp": 5}
    (trade,), bad = feed.parse(json.dumps(msg))
    assert bad == 0 and trade == TradeSeen(market="m1", ts_venue_ms=5, price=7000, size=1000,
                                           side="SELL")


@pytest.mark.parametrize("text", ["PONG", "NO NEW ASSETS", " PONG\n", "", "[]"])
def test_keepalive_texts_are_ignored(text: str) -> None:
    assert wire.decode_frame(text) == ([], 0)


MALFORMED = [
    "{not json",
    "42",
    '["x"]',
    '{"event_type": "book"}',
    '{"event_type": "price_change", "price_changes": "nope"}',
    '{"event_type": "tick_size_change", "asset_id": 5}',
    '{"something": "else"}',
]


@pytest.mark.parametrize("frame", MALFORMED)
def test_malformed_frames_are_counted_not_raised(frame: str) -> None:
    events, bad = wire.decode_frame(frame)
    assert events == [] and bad == 1


@pytest.mark.parametrize(
    "patch",
    [
        {"price": "0.12345"},  # finer than a pip
        {"price": "abc"},
        {"price": None},
        {"side": "HOLD"},
        {"size": "-5"},
    ],
)
def test_bad_values_are_counted(feed: PolymarketFeed, patch: dict[str, object]) -> None:
    msg = json.loads(load("ws_market_price_change_msg.json"))
    msg["price_changes"][0].update(patch)
    updates, bad = feed.parse(json.dumps(msg))
    assert updates == [] and bad == 1


def test_one_bad_event_does_not_spoil_the_frame(feed: PolymarketFeed) -> None:
    good = json.loads(load("ws_market_book_msg.json"))
    frame = json.dumps([good, {"event_type": "book", "asset_id": YES, "bids": [{"price": "x"}]}])
    updates, bad = feed.parse(frame)
    assert bad == 1 and len(updates) == 1


def test_numbers_and_nulls_are_tolerated(feed: PolymarketFeed) -> None:
    msg = {"event_type": "book", "asset_id": YES, "market": None and "", "timestamp": 17,
           "bids": [{"price": 0.5, "size": 10}], "asks": None, "tick_size": 0.01,
           "min_order_size": "5", "extra": {"x": 1}}
    msg.pop("market")
    (book,), bad = feed.parse(json.dumps(msg))
    assert bad == 0 and isinstance(book, BookReplace)
    assert book.bids == [(5000, 1000)] and book.asks == [] and book.tick == 100
    assert book.min_size == 500 and book.ts_venue_ms == 17


def test_subscription_names_yes_tokens_only(feed: PolymarketFeed) -> None:
    (sub,) = feed.subscribe_messages()
    assert json.loads(sub) == {"type": "market", "assets_ids": [YES, RESOLVED_YES],
                               "custom_feature_enabled": True}
    assert feed.url() == "ws://127.0.0.1:8711/ws/market"


def test_official_price_change_example(feed: PolymarketFeed) -> None:
    """The docs' market-channel `price_change` example (PROVENANCE.toml): both tokens of a
    market in one message, sizes as new aggregate levels; only the YES token moves our book."""
    events, bad = wire.decode_frame(load("official_ws_market_price_change.json"))
    assert bad == 0 and [type(e) for e in events] == [wire.PriceChangeMsg]
    (msg,) = events
    assert isinstance(msg, wire.PriceChangeMsg)
    assert [(c.side, c.price, c.size) for c in msg.price_changes] == [
        ("BUY", "0.5", "200"), ("SELL", "0.5", "200")]
    updates, bad = feed.parse(load("official_ws_market_price_change.json"))
    assert bad == 0
    (changes,) = updates
    assert isinstance(changes, LevelChanges) and changes.market == "m1"
    assert [(c.side, c.price, c.size) for c in changes.changes] == [("BUY", 5000, 20000)]
