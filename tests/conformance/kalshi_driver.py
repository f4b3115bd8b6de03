"""Drive the simulator with Kalshi's official client, kalshi-python-sync, unchanged.

Run with .venv-kalshi's Python 3.13 (kalshi-python-sync needs >= 3.13):

    kalshi_driver.py BASE_URL KEY_ID PRIVATE_KEY_PEM_FILE TICKER

Every call goes through the SDK's own API classes with its response-model validation on
(pydantic models built from Kalshi's OpenAPI), signed by the SDK's own RSA-PSS auth. Prints
one JSON object per call, `{"name", "ok", "error"}`, in call order. The bad-request checks
send what a client gets wrong (a wrong signature, a stale timestamp, an off-tick price ...)
and pass when the venue answers with the status and `{"error": {code, message}}` body its
spec lists for that endpoint. Nothing of pmm is imported here: this file runs in the
venue's environment, not ours.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import urllib3
from kalshi_python_sync import Configuration, KalshiClient
from kalshi_python_sync.api import (
    EventsApi,
    ExchangeApi,
    IncentiveProgramsApi,
    MarketApi,
    OrderGroupsApi,
    OrdersApi,
    PortfolioApi,
)
from kalshi_python_sync.auth import KalshiAuth
from kalshi_python_sync.exceptions import ApiException
from kalshi_calls import CALLS  # beside this file (the script's own directory)
from kalshi_python_sync.models import BatchCancelOrdersV2RequestOrdersInner, CreateOrderV2Request

STALE_MS = 10 * 60 * 1000
"""How old a signed timestamp is in the stale-timestamp check (the venue allows seconds)."""


class Failed(Exception):
    """A call answered, but not as the venue's spec says it must."""


class Driver:
    """The official client, signed and unsigned, and the results of every call made."""

    def __init__(self, base_url: str, key_id: str, pem: str, ticker: str) -> None:
        self.base_url, self.key_id, self.pem, self.ticker = base_url, key_id, pem, ticker
        self.signed = KalshiClient(self._config(key_id, pem))
        self.public = KalshiClient(self._config(None, None))
        self.state: dict[str, Any] = {}
        self.reported: list[str] = []

    def _config(self, key_id: str | None, pem: str | None) -> Configuration:
        cfg = Configuration(host=self.base_url + "/trade-api/v2")
        cfg.client_side_validation = True
        if key_id is not None:
            cfg.api_key_id = key_id
            cfg.private_key_pem = pem
        return cfg

    def run(self, name: str, fn: Callable[[], Any]) -> None:
        assert name in CALLS, f"{name!r} is not in kalshi_calls.CALLS"
        self.reported.append(name)
        try:
            fn()
            result = {"name": name, "ok": True, "error": ""}
        except ApiException as exc:
            result = {"name": name, "ok": False,
                      "error": f"HTTP {exc.status}: {str(exc.body)[:400]}"}
        except Exception as exc:  # noqa: BLE001 - a validation error is the finding
            result = {"name": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:800]}
        print(json.dumps(result), flush=True)

    # --- helpers -----------------------------------------------------------------------------

    def orders(self) -> OrdersApi:
        return OrdersApi(self.signed)

    def book(self) -> tuple[Decimal, Decimal, Decimal]:
        """(best YES bid, best YES ask, size at the ask) from the public order book."""
        ob = MarketApi(self.public).get_market_orderbook(self.ticker).orderbook_fp
        yes = max((lvl for lvl in ob.yes_dollars), key=lambda lvl: Decimal(lvl[0]))
        no = max((lvl for lvl in ob.no_dollars), key=lambda lvl: Decimal(lvl[0]))
        return Decimal(yes[0]), 1 - Decimal(no[0]), Decimal(no[1])

    def resting_bid(self, price: Decimal, count: str = "2", **extra: Any) -> Any:
        return self.orders().create_order_v2(**self.order(price, count, **extra))

    def order(self, price: Decimal, count: str, **extra: Any) -> dict[str, Any]:
        """A post-only good-till-cancelled bid: the SDK takes the body as keyword arguments."""
        return {"ticker": self.ticker, "client_order_id": str(uuid.uuid4()), "side": "bid",
                "count": count, "price": f"{price:.4f}", "time_in_force": "good_till_canceled",
                "post_only": True, "self_trade_prevention_type": "maker"} | extra

    def raw(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[
            int, Any]:
        """A request outside the SDK's signing, for the bad-signature checks."""
        data = json.dumps(body).encode() if body is not None else None
        resp = urllib3.request(method, self.base_url + path, body=data,
                               headers={"Content-Type": "application/json", **headers})
        try:
            return resp.status, json.loads(resp.data or b"null")
        except ValueError:
            return resp.status, resp.data[:200]

    def expect_error(self, fn: Callable[[], Any], status: int) -> None:
        """`fn` must fail with `status` and the venue's `{"error": {code, message}}` body."""
        try:
            fn()
        except ApiException as exc:
            check_error(exc.status, json.loads(exc.body or "null"), status)
            return
        raise Failed(f"accepted; the venue answers {status}")


def check_error(got_status: int, body: Any, status: int) -> None:
    err = body.get("error") if isinstance(body, dict) else None
    if got_status != status:
        raise Failed(f"HTTP {got_status} (expected {status}): {body}")
    if not isinstance(err, dict) or not err.get("code") or not err.get("message"):
        raise Failed(f"HTTP {got_status} without an error code and message: {body}")


# --- the calls ------------------------------------------------------------------------------


def public_reads(d: Driver) -> None:
    market = MarketApi(d.public)
    d.run("get_exchange_status (unsigned)", lambda: ExchangeApi(d.public).get_exchange_status())
    d.run("get_markets (unsigned)", lambda: market.get_markets(limit=100))
    d.run("get_markets tickers= (unsigned)", lambda: _one(market.get_markets(
        tickers=d.ticker).markets, d.ticker))
    d.run("get_market (unsigned)", lambda: market.get_market(d.ticker))
    d.run("get_market_orderbook (unsigned)", lambda: d.book())
    event = d.ticker.rsplit("-", 1)[0]
    d.run("get_event (unsigned)", lambda: _one(EventsApi(d.public).get_event(event).markets,
                                               d.ticker))
    d.run("get_series (unsigned)", lambda: market.get_series(event.split("-", 1)[0]))

    def incentives() -> None:
        rows = IncentiveProgramsApi(d.public).get_incentive_programs(
            status="active", type="liquidity").incentive_programs
        mine = [p for p in rows if p.market_ticker == d.ticker]
        if len(mine) != 1 or mine[0].period_reward <= 0 or not mine[0].target_size_fp:
            raise Failed(f"no liquidity programme for {d.ticker}: {rows}")
    d.run("get_incentive_programs (unsigned)", incentives)
    d.run("get_markets (signed)", lambda: MarketApi(d.signed).get_markets(limit=100))
    d.run("get_market_orderbook (signed)",
          lambda: MarketApi(d.signed).get_market_orderbook(d.ticker))


def _one(rows: list[Any], ticker: str) -> None:
    if [r.ticker for r in rows] != [ticker]:
        raise Failed(f"tickers= filter returned {[r.ticker for r in rows]}")


def order_lifecycle(d: Driver) -> None:
    portfolio, orders = PortfolioApi(d.signed), d.orders()
    d.run("get_balance", lambda: portfolio.get_balance())
    bid, _ask, _size = d.book()
    low = bid - Decimal("0.05")

    def create() -> None:
        d.state["order"] = d.resting_bid(low).order_id
    d.run("create_order_v2 (post-only GTC)", create)
    d.run("get_order", lambda: _status(orders.get_order(d.state["order"]).order, "resting"))
    d.run("get_orders (status=resting)", lambda: _has(
        orders.get_orders(status="resting", ticker=d.ticker, limit=200).orders, d.state["order"]))

    def amend() -> None:
        resp = orders.amend_order_v2(d.state["order"], ticker=d.ticker, side="bid",
                                     price=f"{low - Decimal('0.01'):.4f}", count="3")
        if Decimal(resp.remaining_count or "-1") != 3:
            raise Failed(f"amend to 3 left {resp.remaining_count}")
    d.run("amend_order_v2", amend)

    def decrease() -> None:
        resp = orders.decrease_order_v2(d.state["order"], reduce_by="1")
        if Decimal(resp.remaining_count) != 2:
            raise Failed(f"decrease by 1 of 3 left {resp.remaining_count}")
    d.run("decrease_order_v2", decrease)
    d.run("cancel_order_v2", lambda: orders.cancel_order_v2(d.state["order"]))

    def batch_create() -> None:
        reqs = [CreateOrderV2Request(**d.order(low - Decimal(k) / 100, "1")) for k in (1, 2)]
        resp = orders.batch_create_orders_v2(orders=reqs)
        d.state["batch"] = [r.order_id for r in resp.orders]
        if any(r.error for r in resp.orders) or None in d.state["batch"]:
            raise Failed(f"batch create rows: {resp.orders}")
    d.run("batch_create_orders_v2", batch_create)
    d.run("batch_cancel_orders_v2", lambda: orders.batch_cancel_orders_v2(
        orders=[BatchCancelOrdersV2RequestOrdersInner(order_id=o) for o in d.state["batch"]]))

    def cancel_all() -> None:
        d.resting_bid(low)
        resp = orders.cancel_all_orders_with_http_info()
        if resp.status_code != 204:
            raise Failed(f"cancel all answered {resp.status_code}, the spec says 204")
        left = orders.get_orders(status="resting", ticker=d.ticker).orders
        if left:
            raise Failed(f"{len(left)} orders still resting after cancel all")
    d.run("cancel_all_orders", cancel_all)


def _status(order: Any, status: str) -> None:
    if order.status.value != status:
        raise Failed(f"order status {order.status.value}, expected {status}")


def _has(rows: list[Any], order_id: str) -> None:
    if order_id not in [r.order_id for r in rows]:
        raise Failed(f"{order_id} not listed")


def fills_and_positions(d: Driver) -> None:
    portfolio, orders = PortfolioApi(d.signed), d.orders()

    def ioc() -> None:
        _bid, ask, size = d.book()
        count = min(size, Decimal(2))
        resp = orders.create_order_v2(**d.order(
            ask + Decimal("0.02"), f"{count}", time_in_force="immediate_or_cancel",
            post_only=False))
        d.state["ioc"] = resp.order_id
        if Decimal(resp.fill_count) != count:
            raise Failed(f"IOC filled {resp.fill_count} of {count} at the ask {ask}")
        if Decimal(resp.average_fill_price or "0") != ask:
            raise Failed(f"IOC filled at {ask} reports average_fill_price "
                         f"{resp.average_fill_price} (limit {ask + Decimal('0.02')})")
    d.run("create_order_v2 (immediate_or_cancel, filled)", ioc)
    d.run("get_order (executed)", lambda: _status(orders.get_order(d.state["ioc"]).order,
                                                  "executed"))
    d.run("get_fills", lambda: _has(portfolio.get_fills(
        order_id=d.state["ioc"], limit=200).fills, d.state["ioc"]))
    d.run("get_fills (min_ts, ticker)", lambda: portfolio.get_fills(
        min_ts=int(time.time()) - 60, ticker=d.ticker, limit=200))

    def positions() -> None:
        rows = portfolio.get_positions(limit=1000).market_positions
        if not any(p.ticker == d.ticker and Decimal(p.position_fp) > 0 for p in rows):
            raise Failed(f"no long position in {d.ticker}: {rows}")
    d.run("get_positions", positions)


def order_groups(d: Driver) -> None:
    groups = OrderGroupsApi(d.signed)

    def create() -> None:
        d.state["group"] = groups.create_order_group(contracts_limit_fp="100").order_group_id
    d.run("create_order_group", create)
    d.run("get_order_group", lambda: groups.get_order_group(d.state["group"]))
    d.run("get_order_groups", lambda: _has_group(groups.get_order_groups().order_groups,
                                                 d.state["group"]))
    d.run("reset_order_group", lambda: groups.reset_order_group(d.state["group"]))
    d.run("delete_order_group", lambda: groups.delete_order_group(d.state["group"]))


def _has_group(rows: list[Any], group_id: str) -> None:
    if group_id not in [r.id for r in rows or ()]:
        raise Failed(f"group {group_id} not listed: {rows}")


def bad_requests(d: Driver) -> None:
    orders = d.orders()
    bid, ask, _size = d.book()
    path = "/trade-api/v2/portfolio/balance"

    def wrong_signature() -> None:
        headers = KalshiAuth(d.key_id, _other_pem()).create_auth_headers("GET", path)
        check_error(*d.raw("GET", path, headers), 401)
    d.run("bad: wrong signature -> 401", wrong_signature)

    def stale_timestamp() -> None:
        auth = KalshiAuth(d.key_id, d.pem)
        ts = str(int(time.time() * 1000) - STALE_MS)
        sig = base64.b64encode(auth.sign((ts + "GET" + path).encode())).decode()
        headers = {"KALSHI-ACCESS-KEY": d.key_id, "KALSHI-ACCESS-SIGNATURE": sig,
                   "KALSHI-ACCESS-TIMESTAMP": ts}
        check_error(*d.raw("GET", path, headers), 401)
    d.run("bad: stale timestamp -> 401", stale_timestamp)
    d.run("bad: off-tick price -> 400", lambda: d.expect_error(
        lambda: d.resting_bid(bid - Decimal("0.055")), 400))
    d.run("bad: below minimum size -> 400", lambda: d.expect_error(
        lambda: d.resting_bid(bid - Decimal("0.05"), count="0.5"), 400))
    d.run("bad: crossing post-only -> 400", lambda: d.expect_error(
        lambda: d.resting_bid(ask), 400))

    def duplicate() -> None:
        coid = str(uuid.uuid4())
        first = d.resting_bid(bid - Decimal("0.05"), "1", client_order_id=coid)
        try:
            d.expect_error(lambda: d.resting_bid(bid - Decimal("0.06"), "1",
                                                 client_order_id=coid), 409)
        finally:
            orders.cancel_order_v2(first.order_id)
    d.run("bad: duplicate client_order_id -> 409", duplicate)
    # the account holds 1,000,000 USD ([sim] start_balance_usd): 50,000,000 contracts at
    # 0.02 or more cost more than that (the code string is not in any official source)
    huge = "50000000"
    d.run("bad: order past the balance -> 400", lambda: d.expect_error(
        lambda: d.resting_bid(bid - Decimal("0.05"), huge), 400))

    def amend_past_the_balance() -> None:
        first = d.resting_bid(bid - Decimal("0.05"), "1")
        try:
            d.expect_error(lambda: orders.amend_order_v2(
                first.order_id, ticker=d.ticker, side="bid",
                price=f"{bid - Decimal('0.05'):.4f}", count=huge), 400)
        finally:
            orders.cancel_order_v2(first.order_id)
    d.run("bad: amend past the balance -> 400", amend_past_the_balance)


def _other_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def main(argv: list[str]) -> int:
    base_url, key_id, pem_file, ticker = argv[1:5]
    with open(pem_file) as f:
        d = Driver(base_url, key_id, f.read(), ticker)
    why = "not reached"
    for part in (public_reads, order_lifecycle, fills_and_positions, order_groups, bad_requests):
        try:
            part(d)
        except Exception as exc:  # noqa: BLE001 - a part's setup failed: its calls did not run
            why = f"not reached: {part.__name__} stopped on {type(exc).__name__}: {exc}"
    for name in CALLS:
        if name not in d.reported:
            d.run(name, lambda: _raise(Failed(why)))
    return 0


def _raise(exc: Exception) -> None:
    raise exc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
