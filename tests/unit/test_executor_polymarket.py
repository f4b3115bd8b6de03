"""Polymarket executor edge: user-channel fills, order events, REST shapes, outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from py_clob_client_v2.exceptions import PolyApiException

from common.venues.polymarket import OrderMsg, TradeMsg, decode_user_frame
from common.wire_numbers import WireError, pips
from services.executor import polymarket_rest as wire
from services.executor.adapter import InFlight, Placed, Rejected
from services.executor.orders import DesiredOrder, LiveOrder, MarketTokens, VenueOrder
from services.executor.polymarket import cancel_outcome, classify_post, is_definitive
from services.executor.polymarket_fills import (
    Identity,
    fills_from_trade,
    order_update,
    trade_failed,
)
from services.executor.reconcile import reconcile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polymarket"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
ASSETS = {YES: ("m1", "YES"), NO: ("m1", "NO")}
KEY1 = "00000000-0000-0000-0000-000000000001"
KEY2 = "00000000-0000-0000-0000-000000000002"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def trade(name: str) -> TradeMsg:
    (msg,), bad = decode_user_frame(load(name))
    assert bad == 0 and isinstance(msg, TradeMsg)
    return msg


USER_FIXTURES = sorted(p.name for p in FIXTURES.glob("ws_user_*.json"))


@pytest.mark.parametrize("name", USER_FIXTURES)
def test_every_user_fixture_decodes(name: str) -> None:
    events, bad = decode_user_frame(load(name))
    assert bad == 0 and len(events) == 1
    kind = TradeMsg if "trade" in name else OrderMsg
    assert isinstance(events[0], kind)
    if kind is OrderMsg:
        update = order_update(events[0])  # type: ignore[arg-type]
        assert update.remaining >= 0


def test_order_updates() -> None:
    def upd(name: str):  # type: ignore[no-untyped-def]
        (msg,), _ = decode_user_frame(load(name))
        return order_update(msg)  # type: ignore[arg-type]

    assert upd("ws_user_order_placement.json").kind == "placed"
    partial = upd("ws_user_order_update.json")
    assert (partial.kind, partial.remaining, partial.price) == ("update", 7500, 5000)
    assert upd("ws_user_order_cancellation.json").kind == "cancelled"
    assert upd("ws_user_order_venue_cancel.json").kind == "cancelled"  # INVALID
    killed = upd("ws_user_order_fok_killed.json")
    assert killed.kind == "cancelled" and killed.remaining == 1200


def test_taker_fill_comes_from_the_trade() -> None:
    fills = fills_from_trade(trade("ws_user_trade.json"), me=Identity(api_key=KEY1),
                             assets=ASSETS, known_order=lambda _: False, ts_recv_ns=7)
    (fill,) = fills
    assert fill.order_id == "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef12"
    assert (fill.trade_id, fill.market, fill.outcome, fill.side) == (
        "trade-0xabcdef1234", "m1", "YES", "BUY")
    assert (fill.price, fill.size, fill.fee, fill.ts_venue_ms, fill.ts_recv_ns) == (
        5000, 2500, 0, 1703875200000, 7)


def test_maker_fill_comes_from_our_maker_entry() -> None:
    msg = trade("ws_user_trade.json")
    (fill,) = fills_from_trade(msg, me=Identity(api_key=KEY2), assets=ASSETS,
                               known_order=lambda _: False, ts_recv_ns=1)
    assert fill.order_id.startswith("0xmaker01") and fill.size == 2500 and fill.price == 5000
    assert fill.side == "BUY"  # the entry has no side: the trade's side is used


def test_cross_token_maker_fill_uses_our_entry() -> None:
    raw = json.loads(load("http_trade_report.json"))
    raw["maker_orders"][1].update(asset_id=NO, price="0.5100", side="BUY", matched_amount="5")
    msg = decode_user_frame(json.dumps(raw | {"type": "TRADE"}))[0][0]
    known = {"0xmaker02maker02maker02maker02maker02maker02maker02maker02maker02maker02"}
    (fill,) = fills_from_trade(msg, me=Identity(api_key="someone-else"),  # type: ignore[arg-type]
                               assets=ASSETS, known_order=known.__contains__, ts_recv_ns=1)
    assert (fill.outcome, fill.side, fill.price, fill.size) == ("NO", "BUY", 5100, 500)


def test_not_ours_and_unknown_assets_yield_nothing_and_failed_is_flagged() -> None:
    msg = trade("ws_user_trade.json")
    none = Identity(api_key="other")
    assert fills_from_trade(msg, me=none, assets=ASSETS, known_order=lambda _: False,
                            ts_recv_ns=0) == []
    assert not trade_failed(msg)
    raw = json.loads(load("ws_user_trade.json")) | {"status": "FAILED"}
    failed = decode_user_frame(json.dumps(raw))[0][0]
    assert isinstance(failed, TradeMsg) and trade_failed(failed)
    # the legs are still read, so the actor can reverse exactly the fill it published
    legs = fills_from_trade(failed, me=Identity(api_key=KEY1), assets=ASSETS,
                            known_order=lambda _: False, ts_recv_ns=0)
    assert legs == fills_from_trade(msg, me=Identity(api_key=KEY1), assets=ASSETS,
                                    known_order=lambda _: False, ts_recv_ns=0) != []
    rest = decode_user_frame(json.dumps(raw | {"status": "TRADE_STATUS_FAILED"}))[0][0]
    assert isinstance(rest, TradeMsg) and trade_failed(rest)
    assert fills_from_trade(msg, me=Identity(api_key=KEY1), assets={},
                            known_order=lambda _: False, ts_recv_ns=0) == []


def test_taker_fee_in_micro_dollars() -> None:
    raw = json.loads(load("ws_user_trade_msg.json")) | {"fee_rate_bps": "400", "size": "100"}
    msg = decode_user_frame(json.dumps(raw))[0][0]
    (fill,) = fills_from_trade(msg, me=Identity(api_key=KEY1), assets=ASSETS,  # type: ignore[arg-type]
                               known_order=lambda _: False, ts_recv_ns=0)
    assert fill.fee == 1_000_000  # 100 x 0.04 x 0.5 x 0.5 = $1


@pytest.mark.parametrize("frame", ["{bad", "[1]", '{"type": "TRADE"}', '{"event_type": "x"}'])
def test_malformed_user_frames_are_counted(frame: str) -> None:
    assert decode_user_frame(frame) == ([], 1)


def test_open_orders_page_rows() -> None:
    page = json.loads(load("http_open_orders_page.json"))
    rows = [wire.open_order(r) for r in page["data"]]
    assert [(r.id[:6], pips(r.price), wire.remaining(r)) for r in rows] == [
        ("0xaaaa", 6000, 20000), ("0xbbbb", 4000, 10000)]
    assert wire.remaining(wire.open_order(json.loads(load("http_open_order.json")))) == 7500
    assert wire.remaining(wire.open_order(json.loads(load("http_open_order_sell_fok.json")))) == 0
    with pytest.raises(WireError):
        wire.open_order({"id": "x"})


REQ = DesiredOrder(market="m1", token=YES, outcome="YES", price=5000, size=1000)


def test_post_rows_are_classified() -> None:
    ok = json.loads(load("http_order_response_ok.json"))
    failed = json.loads(load("http_order_response_failed.json"))
    results = classify_post([REQ, REQ, REQ], [ok, failed], lambda k: f"local{k}")
    assert results == [Placed(REQ, ok["orderID"]), Rejected(REQ, "Insufficient balance"),
                       InFlight(REQ, "local2", "no result row")]
    assert classify_post([REQ], {"error": "x"}, lambda k: "h") == [
        InFlight(REQ, "h", "unexpected response")]


def exc(status: int | None) -> PolyApiException:
    if status is None:
        return PolyApiException(error_msg="Request exception!")
    return PolyApiException(httpx.Response(status, json={"error": "x"}))


@pytest.mark.parametrize(("status", "definitive"),
                         [(400, True), (429, True), (425, True), (500, False), (503, False),
                          (None, False)])
def test_errors_are_definitive_only_for_4xx(status: int | None, definitive: bool) -> None:
    assert is_definitive(exc(status)) is definitive


def test_cancel_answers() -> None:
    out = cancel_outcome(json.loads(load("http_batch_cancel_response.json")))
    assert len(out.gone) == 3 and not out.ambiguous
    assert cancel_outcome(json.loads(load("http_cancel_response_failed.json"))).gone
    assert cancel_outcome("?").ambiguous


TOKENS = {t: MarketTokens(market="m1", venue_market="0xc", yes_token=YES, no_token=NO, tick=100,
                          min_size=500) for t in (YES, NO)}


def lo(oid: str, created: int) -> LiveOrder:
    return LiveOrder(order_id=oid, market="m1", token=YES, outcome="YES", side="BUY", price=5000,
                     size=1000, created_ns=created)


def vo(oid: str, token: str = YES) -> VenueOrder:
    return VenueOrder(order_id=oid, token=token, side="BUY", price=5000, size=1000)


def test_reconcile_adopts_drops_and_handles_races() -> None:
    local = {"old-gone": lo("old-gone", 5), "young": lo("young", 20), "kept": lo("kept", 5)}
    result = reconcile(local, [vo("kept"), vo("adopt", NO), vo("stranger", "999"),
                               vo("just-cancelled")],
                       tokens=TOKENS, requested_ns=10, removed_since={"just-cancelled": 12})
    assert set(result.live) == {"kept", "adopt", "young"}
    assert result.live["adopt"].outcome == "NO"
    assert result.cancel == ["stranger"] and result.adopted == 1 and result.dropped == 1
    blocked = reconcile({}, [vo("a")], tokens=TOKENS, requested_ns=0, removed_since={},
                        blocked_markets=frozenset({"m1"}))
    assert blocked.cancel == ["a"] and blocked.live == {}


# --- official payloads (tests/fixtures/PROVENANCE.toml: the docs' user-channel examples) ---

DOCS_OWNER = "9180014b-33c8-9240-a14b-bdca11c0a465"


def test_official_order_example_decodes_as_a_placement() -> None:
    (msg,), bad = decode_user_frame(load("official_ws_user_order.json"))
    assert bad == 0 and isinstance(msg, OrderMsg)
    update = order_update(msg)
    assert (update.kind, update.side, update.price, update.remaining) == ("placed", "SELL", 5700, 1000)


def test_official_trade_example_is_our_taker_fill() -> None:
    (msg,), bad = decode_user_frame(load("official_ws_user_trade.json"))
    assert bad == 0 and isinstance(msg, TradeMsg) and not trade_failed(msg)
    # the docs' example names one API key as taker and maker, so both legs are ours
    maker, taker = fills_from_trade(msg, me=Identity(api_key=DOCS_OWNER), assets=ASSETS,
                                    known_order=lambda _: False, ts_recv_ns=1)
    assert maker.order_id == "0xff354cd7ca7539dfa9c28d90943ab5779a4eac34b9b37a757d7b32bdfb11790b"
    assert taker.order_id == "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42"
    for fill in (maker, taker):
        assert (fill.trade_id, fill.outcome, fill.side, fill.price, fill.size) == (
            "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e", "NO", "BUY", 5700, 1000)


def test_official_trade_example_time_is_seconds() -> None:
    """The docs' user-channel trade example sends `timestamp` in unix seconds."""
    (msg,), _ = decode_user_frame(load("official_ws_user_trade.json"))
    fills = fills_from_trade(msg, me=Identity(api_key=DOCS_OWNER), assets=ASSETS,  # type: ignore[arg-type]
                             known_order=lambda _: False, ts_recv_ns=1)
    assert len(fills) == 2
    assert [f.ts_venue_ms for f in fills] == [1_672_290_701_000] * 2
