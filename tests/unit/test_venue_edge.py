"""The venue edge: one test per defect of issue 15, item 1, driving the real parsers.

Each test failed on the code before the bounded parser: an "inf" trade price raised
OverflowError out of the Polymarket user channel's dispatch (and again from REST
recovery after the restart), ingest died on a book price or tick of "inf", Kalshi
ingest raised AttributeError on a list body, Kalshi fills took prices outside (0, 1),
a size of 1e30 passed, and millis("1e999999") stalled for 36 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from common import metrics
from common.config import parse
from common.errors import VenueDataError
from common.messages import Fill
from services.executor.adapter import OrderUpdate
from common.venues.kalshi import fill_from_wire
from services.executor.polymarket_user import Identity, UserChannel
from services.ingest.kalshi import KalshiFeed
from services.ingest.polymarket import PolymarketFeed

YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
OWNER = "00000000-0000-0000-0000-000000000001"
CFG = parse(f"""
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xdd22"
yes_token = "{YES}"
no_token = "{NO}"

[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "KXFED-T4"
min_size = 1
""")


def rejected(venue: str, channel: str, field: str) -> float:
    return float(metrics.VENUE_FIELDS_REJECTED.labels(
        venue=venue, channel=channel, field=field)._value.get())


def trade_row(price: object, trade_id: str = "t1") -> dict[str, Any]:
    """A Polymarket trade where we are the taker (our API key owns it)."""
    return {"event_type": "trade", "type": "TRADE", "id": trade_id, "asset_id": YES,
            "side": "BUY", "size": "10", "price": price, "status": "MATCHED",
            "taker_order_id": "0xour", "owner": OWNER, "trader_side": "TAKER",
            "fee_rate_bps": "0", "timestamp": "1703875200000"}


class Sink:
    """What the executor's ledger sees: fills and order updates, in order."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []

    async def on_fill(self, fill: Fill, *, settled: bool = True) -> None:
        self.fills.append(fill)

    async def on_fill_failed(self, fill: Fill) -> None:
        raise AssertionError(f"unexpected reversal {fill}")

    async def on_order(self, update: OrderUpdate) -> None:
        return None

    def is_ours(self, order_id: str) -> bool:
        return order_id == "0xour"


def channel(rows: list[Any] | None = None) -> UserChannel:
    async def fetch(after_s: int) -> list[Any]:
        return list(rows or [])

    return UserChannel("ws://unused", auth={}, condition_ids=[], me=Identity(api_key=OWNER),
                       assets={YES: ("m1", "YES"), NO: ("m1", "NO")},
                       fetch_trades=fetch if rows is not None else None)


@pytest.mark.parametrize("price", ["inf", "Infinity", "-inf", "nan", "1e999999", "1.5", "0", 1e308])
def test_polymarket_user_dispatch_drops_a_trade_with_an_unusable_price(price: object) -> None:
    sink, before = Sink(), rejected("polymarket", "user", "price")
    frame = json.dumps([trade_row(price), trade_row("0.5", "t2")])
    asyncio.run(channel().dispatch(frame, 1, sink))
    assert rejected("polymarket", "user", "price") == before + 1
    assert [(f.trade_id, f.price, f.size) for f in sink.fills] == [("t2", 5000, 1000)]


def test_polymarket_rest_recovery_skips_the_bad_trade_and_applies_the_rest() -> None:
    sink, before = Sink(), rejected("polymarket", "rest", "price")
    rows = [trade_row("0.4", "t3"), trade_row("inf", "t2"), trade_row([1], "t1")]
    asyncio.run(channel(rows).recover(sink))  # returns: the bad rows do not loop or raise
    assert rejected("polymarket", "rest", "price") == before + 2
    assert [(f.trade_id, f.price) for f in sink.fills] == [("t3", 4000)]


def book(price: str = "0.48", tick: str = "0.01") -> str:
    return json.dumps({"event_type": "book", "asset_id": YES, "market": "0xdd22",
                       "bids": [{"price": price, "size": "100"}], "asks": [],
                       "timestamp": "1703875200000", "tick_size": tick})


@pytest.mark.parametrize(("frame", "field"), [
    (book(price="inf"), "price"),
    (book(price="1e999999"), "price"),
    (book(tick="inf"), "tick_size"),
    (book(tick="0"), "tick_size"),
    (book(tick="0.5"), "tick_size"),
    (json.dumps({"event_type": "tick_size_change", "asset_id": YES, "new_tick_size": "inf"}),
     "new_tick_size"),
    (json.dumps({"event_type": "book", "asset_id": YES, "bids": [{"price": "0.5", "size": "1e30"}]}),
     "size"),
    (json.dumps({"event_type": "book", "asset_id": YES, "bids": [["0.5", "1"]]}), "bids"),
    (json.dumps({"event_type": "last_trade_price", "asset_id": YES, "price": "0.5", "side": "BUY",
                 "timestamp": "1e999999"}), "timestamp"),
])
def test_polymarket_ingest_drops_unusable_numbers(frame: str, field: str) -> None:
    feed, before = PolymarketFeed(CFG), rejected("polymarket", "market", field)
    assert feed.parse(frame) == ([], 1)
    assert rejected("polymarket", "market", field) == before + 1
    good, bad = feed.parse(book())
    assert bad == 0 and len(good) == 1  # the feed carries on


def kalshi_feed() -> KalshiFeed:
    feed = KalshiFeed(CFG, None)
    feed.subscribe_messages()
    return feed


@pytest.mark.parametrize(("message", "field"), [
    ({"type": "trade", "msg": [1]}, "msg"),
    ({"type": "trade", "msg": "x"}, "msg"),
    ({"type": "trade", "msg": {"market_ticker": "KXFED-T4", "taker_side": "yes",
                               "yes_price_dollars": "1.5", "count_fp": "1"}}, "yes_price_dollars"),
    ({"type": "trade", "msg": {"market_ticker": "KXFED-T4", "taker_side": "yes",
                               "yes_price_dollars": "0.5", "count_fp": "1e30"}}, "count_fp"),
    ({"type": "trade", "msg": {"market_ticker": "KXFED-T4", "taker_side": "yes", "ts": "1e999999",
                               "yes_price_dollars": "0.5", "count_fp": "1"}}, "ts"),
    ({"type": "orderbook_snapshot", "sid": 1e300, "seq": 1, "msg": {"market_ticker": "KXFED-T4"}},
     "sid"),
    ({"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
        "market_ticker": "KXFED-T4", "yes_dollars_fp": {"0.5": "1"}}}, "yes_dollars_fp"),
    ({"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {
        "market_ticker": "KXFED-T4", "no_dollars_fp": [["inf", "1"]]}}, "no_dollars_fp"),
])
def test_kalshi_ingest_drops_wrong_types_and_numbers(message: dict[str, Any], field: str) -> None:
    feed, before = kalshi_feed(), rejected("kalshi", "market", field)
    assert feed.parse(json.dumps(message)) == ([], 1)
    assert rejected("kalshi", "market", field) == before + 1


def kalshi_fill(**changes: object) -> dict[str, Any]:
    body: dict[str, Any] = {"trade_id": "t1", "order_id": "o1", "market_ticker": "KXFED-T4",
                            "side": "yes", "action": "buy", "yes_price_dollars": "0.4500",
                            "count_fp": "3.00", "fee_cost": "0.02", "ts": 1703875200}
    body.update(changes)
    return body


@pytest.mark.parametrize(("changes", "message"), [
    ({"yes_price_dollars": "1.5"}, "yes_price_dollars: outside (0, 1): '1.5'"),
    ({"yes_price_dollars": "-0.5"}, "yes_price_dollars: outside (0, 1): '-0.5'"),
    ({"yes_price_dollars": "1"}, "yes_price_dollars: outside (0, 1): '1'"),
    ({"yes_price_dollars": "inf"}, "yes_price_dollars: not a decimal price: 'inf'"),
    ({"yes_price_dollars": "0.45001"}, "yes_price_dollars: price '0.45001' is finer than 1/10000"),
    ({"count_fp": "1e30"}, "count_fp: size '1e30' is out of range"),
    ({"count_fp": "2000000000"}, "count_fp: size '2000000000' is not within [0, 1000000000]"),
    ({"count_fp": "-1"}, "count_fp: size '-1' is not within [0, 1000000000]"),
    ({"trade_id": ["t"]}, "trade_id: not an id: <list of 1>"),
    ({"side": {"yes": 1}}, "side: not yes or no: <dict of 1>"),
])
def test_kalshi_fills_refuse_prices_outside_the_unit_interval(
        changes: dict[str, object], message: str) -> None:
    with pytest.raises(VenueDataError) as info:
        fill_from_wire(kalshi_fill(**changes), "fed", 1)
    assert str(info.value) == message


@pytest.mark.parametrize(("changes", "field"), [
    ({"fee_cost": "nan"}, "fee_cost"),
    ({"ts": "1e999999"}, "ts"),
])
def test_a_kalshi_fill_with_a_bad_fee_or_time_is_kept_and_counted(
        changes: dict[str, object], field: str) -> None:
    """A fill is a real trade: an unreadable fee or venue time reads as 0 and is counted;
    dropping the fill would lose a position."""
    counter = metrics.VENUE_FIELDS_REJECTED.labels(venue="kalshi", channel="fills", field=field)
    before = counter._value.get()
    fill = fill_from_wire(kalshi_fill(**changes), "fed", 1)
    assert (fill.price, fill.size) == (4500, 300)
    assert (fill.fee if field == "fee_cost" else fill.ts_venue_ms) == 0
    assert counter._value.get() == before + 1


def test_kalshi_fill_inside_the_interval_reads_exactly() -> None:
    fill = fill_from_wire(kalshi_fill(side="no"), "fed", 1)
    assert (fill.price, fill.size, fill.fee, fill.ts_venue_ms) == (5500, 300, 20_000,
                                                                   1703875200000)


def test_a_timestamp_with_a_huge_exponent_is_refused_at_once() -> None:
    from common.wire_numbers import millis

    start = time.perf_counter()
    with pytest.raises(VenueDataError, match=r"^timestamp: timestamp '1e999999' is out of range"):
        millis("1e999999")
    assert time.perf_counter() - start < 0.5  # the old int(Decimal(...)) took 36 s
