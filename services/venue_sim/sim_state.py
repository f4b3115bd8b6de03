"""The simulator's own truth, as served at `GET /_sim/state` (tests and operators read it).

Per external account: collateral, token positions, open orders and fills; a trade
that went FAILED (a ghost fill, see lifecycle.py) is not a fill and is not listed.
`fills` lists the newest model.TRADES_KEEP trades (every one in any test);
`trades_total` counts all of them, and `positions` is exact however long the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from common.prices import price_to_str, size_to_str
from services.venue_sim import wire
from services.venue_sim.engine import Engine

__all__ = ["venue_state"]


def venue_state(engine: Engine, *, failed: set[str], owner_of: Callable[[str], str],
                true_p: Mapping[str, float], faults: dict[str, Any]) -> dict[str, Any]:
    """Every external account's orders, fills and positions, and every market's top of book.

    `failed` are the trades that went FAILED, `owner_of` names an account's API key,
    `true_p` is the flow's hidden probability per market, `faults` the faults' view.
    """
    accounts: dict[str, Any] = {}
    for address, acct in engine.accounts.items():
        if acct.internal:
            continue
        fills = []
        for t in acct.trades:
            if t.id in failed:
                continue
            for role, account, oid, asset, outcome, side, price in (
                ("TAKER", t.taker_account, t.taker_order_id, t.taker_asset,
                 t.taker_outcome, t.taker_side, t.taker_price),
                ("MAKER", t.maker_account, t.maker_order_id, t.maker_asset,
                 t.maker_outcome, t.maker_side, t.maker_price),
            ):
                if account == address:
                    fills.append({
                        "trade_id": t.id, "order_id": oid, "market": t.market,
                        "asset_id": asset, "outcome": outcome, "side": side,
                        "price": price_to_str(price), "size": size_to_str(t.size),
                        "role": role, "ts_ms": t.match_ms,
                    })
        accounts[address] = {
            "api_key": owner_of(address),
            "collateral": wire.money_to_str(acct.collateral),
            "positions": {tok: size_to_str(n) for tok, n in acct.positions.items()},
            "open_orders": [
                {
                    "id": o.id, "market": o.market, "asset_id": o.asset_id,
                    "outcome": "Yes" if o.is_yes else "No", "side": o.side,
                    "price": price_to_str(o.price),
                    "original_size": size_to_str(o.original_size),
                    "size_matched": size_to_str(o.size_matched),
                    "created_ms": o.created_ms,
                }
                for o in acct.open_orders.values()
            ],
            "fills": fills,
            "trades_total": acct.trades_total,
            "failed_trades": sorted(t.id for t in acct.trades if t.id in failed),
        }
    markets = {}
    for cid, m in engine.markets.items():
        bid, ask = engine.best(cid)
        markets[cid] = {
            "true_probability": f"{true_p[cid]:.4f}",
            "best_bid": None if bid is None else price_to_str(bid),
            "best_ask": None if ask is None else price_to_str(ask),
            "last_trade_price": (
                None if cid not in engine.last_trade
                else price_to_str(engine.last_trade[cid][0])
            ),
            "yes_token": m.yes_token,
            "no_token": m.no_token,
            "tick": price_to_str(m.tick),
        }
    return {"accounts": accounts, "markets": markets, "faults": faults,
            "orders_forgotten": engine.forgotten}
