"""Simulator faults and breakers over real HTTP: ghost fills (RETRYING -> FAILED), trading
faults on the Polymarket routes, and Kalshi order groups."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from py_clob_client_v2.clob_types import OrderArgsV2 as OrderArgs
from py_clob_client_v2.clob_types import OrderType, TradeParams
from py_clob_client_v2.exceptions import PolyApiException

from tests.support.fixtures import StartSim
from tests.support.kalshi_sim import TICKER, Client, kalshi_config, order
from tests.support.sim import SimThread
from tests.support.polymarket_sim import CID, NO, OPTS, YES, new_client, sim_config
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def quiet() -> Iterator[SimThread]:
    sim = SimThread(sim_config()).start()
    yield sim
    sim.stop()


def arm(sim: SimThread, kind: str, count: int = 1) -> None:
    r = httpx.post(f"{sim.url}/_sim/fault", json={"kind": kind, "count": count})
    assert r.status_code == 200, r.text


def test_a_failed_trade_is_reported_failed_and_undone(quiet: SimThread) -> None:
    maker, taker = new_client(quiet), new_client(quiet)
    arm(quiet, "trade_failed")
    signed = maker.create_order(OrderArgs(token_id=NO, price=0.49, size=20, side="BUY"), OPTS)
    oid = maker.post_order(signed, OrderType.GTC, post_only=True)["orderID"]
    take = taker.create_order(OrderArgs(token_id=YES, price=0.52, size=8, side="BUY"), OPTS)
    trade_id = taker.post_order(take)["tradeIDs"][0]
    state = quiet.state()["accounts"][maker.get_address()]
    assert state["positions"] == {NO: "8.00"} and len(state["fills"]) == 1  # provisional

    def status() -> str:
        (row,) = maker.get_trades(TradeParams(id=trade_id))
        return str(row["status"])

    eventually(lambda: status() == "FAILED", timeout=5)  # 300 ms confirm delay in config
    state = quiet.state()["accounts"][maker.get_address()]
    assert state["fills"] == [] and state["failed_trades"] == [trade_id]
    assert state["positions"] == {NO: "0.00"} and state["collateral"] == "1000"
    taker_state = quiet.state()["accounts"][taker.get_address()]
    assert taker_state["positions"] == {YES: "0.00"} and taker_state["collateral"] == "1000"
    maker.cancel_orders([oid])


def test_polymarket_matching_engine_restart_then_post_only_mode(quiet: SimThread) -> None:
    """venues.md A8: 425 Too Early while the engine restarts, then a post-only window in
    which other orders get 503 `post_only_mode` with Retry-After; cancels pass."""
    client = new_client(quiet)
    args = OrderArgs(token_id=YES, price=0.40, size=5, side="BUY")
    r = httpx.post(f"{quiet.url}/_sim/fault",
                   json={"kind": "engine_restart", "ms": 600, "post_only_ms": 60_000})
    assert r.status_code == 200 and r.json()["fired"]["engine_restart"] >= 1
    with pytest.raises(PolyApiException) as info:
        client.post_order(client.create_order(args, OPTS), post_only=True)
    assert info.value.status_code == 425
    with pytest.raises(PolyApiException) as info:
        client.cancel_all()
    assert info.value.status_code == 425

    def after_restart() -> bool:
        try:
            client.post_order(client.create_order(args, OPTS), post_only=True)
        except PolyApiException as exc:
            assert exc.status_code == 425
            return False
        return True

    eventually(after_restart, timeout=5)  # post-only orders rest again
    with pytest.raises(PolyApiException) as info:  # a GTC that is not post-only
        client.post_order(client.create_order(OrderArgs(token_id=YES, price=0.41, size=5,
                                                        side="BUY"), OPTS))
    assert info.value.status_code == 503
    assert "post_only_mode" in str(info.value.error_msg)
    assert len(client.get_open_orders()) == 1
    assert client.cancel_all()["canceled"]  # cancels pass in post-only mode
    httpx.delete(f"{quiet.url}/_sim/fault")


def test_polymarket_trading_routes_honour_faults(quiet: SimThread) -> None:
    client = new_client(quiet)
    args = OrderArgs(token_id=YES, price=0.40, size=5, side="BUY")
    arm(quiet, "http_429")
    with pytest.raises(PolyApiException) as info:
        client.post_order(client.create_order(args, OPTS), post_only=True)
    assert info.value.status_code == 429
    arm(quiet, "post_only_reject")
    with pytest.raises(PolyApiException) as info:
        client.post_order(client.create_order(args, OPTS), post_only=True)
    assert info.value.status_code == 400 and "crosses book" in str(info.value.error_msg)
    assert client.get_open_orders() == []
    arm(quiet, "http_500_after")  # acted on, then an error: the ambiguous case
    signed = client.create_order(args, OPTS)
    with pytest.raises(PolyApiException) as info:
        client.post_order(signed, post_only=True)
    assert info.value.status_code == 500
    (live,) = client.get_open_orders()
    arm(quiet, "http_500")
    with pytest.raises(PolyApiException):
        client.cancel_all()
    assert client.get_open_orders() != []
    assert client.cancel_all()["canceled"] == [live["id"]]
    fired = httpx.get(f"{quiet.url}/_sim/fault").json()["fired"]
    assert fired["http_429"] >= 1 and fired["post_only_reject"] >= 1 and fired["http_500"] >= 1
    assert CID in quiet.state()["markets"]


def test_kalshi_order_group_trips_on_fill_volume_and_resets(start_sim: StartSim) -> None:
    sim = start_sim(kalshi_config())
    mine, taker = Client(sim), Client(sim)
    try:
        r = mine.call("POST", "/portfolio/order_groups/create", {"contracts_limit_fp": "3.00"})
        assert r.status_code == 201, r.text
        group = r.json()["order_group_id"]
        a = mine.call("POST", "/portfolio/events/orders", order("bid", "0.4900", "2",
                                                                order_group_id=group))
        b = mine.call("POST", "/portfolio/events/orders", order("bid", "0.4800", "5",
                                                                order_group_id=group))
        assert a.status_code == b.status_code == 201
        hit = {"ticker": TICKER, "side": "ask", "price": "0.4900", "count": "2",
               "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "maker"}
        assert taker.call("POST", "/portfolio/events/orders", hit).json()["fill_count"] == "2.00"
        view = mine.call("GET", f"/portfolio/order_groups/{group}").json()
        assert view == {"is_auto_cancel_enabled": False, "contracts_limit_fp": "3.00",
                        "orders": sorted([a.json()["order_id"], b.json()["order_id"]]),
                        "exchange_index": 0}  # 2 contracts <= 3
        hit |= {"price": "0.4800"}
        assert taker.call("POST", "/portfolio/events/orders", hit).json()["fill_count"] == "2.00"
        view = mine.call("GET", f"/portfolio/order_groups/{group}").json()
        assert view["is_auto_cancel_enabled"] is True and view["orders"] == []  # 4 > 3 in 15 s
        resting = mine.call("GET", "/portfolio/orders", status="resting").json()["orders"]
        assert resting == []  # the rest of order b was cancelled by the breaker
        refused = mine.call("POST", "/portfolio/events/orders", order("bid", "0.4000", "1",
                                                                      order_group_id=group))
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "order_group_triggered"
        assert mine.call("PUT", f"/portfolio/order_groups/{group}/reset").status_code == 200
        assert mine.call("GET", "/portfolio/order_groups").json() == {"order_groups": [
            {"id": group, "contracts_limit_fp": "3.00", "is_auto_cancel_enabled": False,
             "exchange_index": 0}]}
        again = mine.call("POST", "/portfolio/events/orders", order("bid", "0.4000", "1",
                                                                    order_group_id=group))
        assert again.status_code == 201
    finally:
        mine.close()
        taker.close()
