"""The engine's events as Polymarket websocket messages, sent through the hub.

One batch of events (what one request or background step did) becomes, per market:
one `price_change` with every level that moved, `best_bid_ask` when the top moved (to
custom-feature subscribers), `last_trade_price` per trade and a fresh `book` after
trades; per external party: `order` and `trade` messages on its user channel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from common.prices import price_to_str
from services.venue_sim import wire
from services.venue_sim.accounts import KeyStore
from services.venue_sim.engine import Engine, Event, LevelChanged, OrderChanged, SimMarket, Trade, Traded
from services.venue_sim.ws import Hub

__all__ = ["PolymarketFeed"]


class PolymarketFeed:
    """Turns the engine's events on Polymarket markets into market and user messages."""

    def __init__(self, engine: Engine, hub: Hub, keys: KeyStore,
                 clock_ms: Callable[[], int]) -> None:
        self.engine = engine
        self.hub = hub
        self.keys = keys
        self.clock_ms = clock_ms
        self._tops: dict[str, tuple[int | None, int | None]] = {}

    def publish(self, events: list[Event], now: int) -> list[Trade]:
        """Send one batch of events of Polymarket markets; return its trades, market by market."""
        levels: dict[str, dict[tuple[bool, int], LevelChanged]] = {}
        traded: dict[str, list[Trade]] = {}
        for ev in events:
            if isinstance(ev, LevelChanged):
                levels.setdefault(ev.market, {})[(ev.yes_bid, ev.price)] = ev
            elif isinstance(ev, Traded):
                traded.setdefault(ev.trade.market, []).append(ev.trade)
                self.trade_to_users(ev.trade, "MATCHED", now)
            elif isinstance(ev, OrderChanged):
                acct = self.engine.accounts[ev.order.account]
                if not acct.internal:
                    self.hub.to_user(
                        acct.address, ev.order.market,
                        wire.order_event(ev.kind, ev.order, ev.size_matched, ev.status, ev.ts_ms,
                                         self.keys.owner_of(acct.address)),
                    )
        for cid, changes in levels.items():
            market = self.engine.markets[cid]
            msg = wire.price_change(self.engine, market, list(changes.values()), now)
            self.hub.to_market(
                {market.yes_token, market.no_token},
                functools.partial(_filtered_price_change, msg),
            )
            self._send_best_bid_ask(market, now)
        for cid, trades in traded.items():
            market = self.engine.markets[cid]
            for trade in trades:
                prints = wire.last_trade_prices(market, trade)
                self.hub.to_market(
                    {market.yes_token, market.no_token},
                    functools.partial(_prints_for, prints),
                )
            self.send_books(market)
        return [t for ts in traded.values() for t in ts]

    def trade_to_users(self, trade: Trade, status: str, now: int) -> None:
        """Send one trade status to the user channels of its external parties."""
        roles = ((trade.taker_account, "TAKER"), (trade.maker_account, "MAKER"))
        owners = self.keys.owners(trade.taker_account, trade.maker_account)
        for address, role in roles:
            if self.engine.accounts[address].internal:
                continue
            record = wire.trade_record(
                trade, viewer=address, role=role, status=status, owners=owners,
                now_ms=now, event=True,
            )
            self.hub.to_user(address, trade.market, record)

    def tick_changed(self, old: SimMarket, new: SimMarket) -> None:
        """`tick_size_change` per token, then fresh books, after a market's grid changed."""
        now = str(self.clock_ms())
        for token in (new.yes_token, new.no_token):
            msg = {"event_type": "tick_size_change", "asset_id": token,
                   "market": new.condition_id, "old_tick_size": price_to_str(old.tick),
                   "new_tick_size": price_to_str(new.tick), "timestamp": now}
            self.hub.to_market({token}, functools.partial(_same, msg))
        self.send_books(new)

    def send_books(self, market: SimMarket) -> None:
        """A `book` message per subscribed token of `market`."""
        self.hub.to_market(
            {market.yes_token, market.no_token},
            lambda wanted: [self.hub.book_event(a) for a in sorted(wanted)],
        )

    def _send_best_bid_ask(self, market: SimMarket, now: int) -> None:
        """`best_bid_ask` per token to custom-feature subscribers, when the top moved."""
        top = self.engine.best(market.condition_id)
        if self._tops.get(market.condition_id) == top:
            return
        self._tops[market.condition_id] = top
        self.hub.to_market(
            {market.yes_token, market.no_token},
            lambda wanted: [wire.best_bid_ask(self.engine, market, a, now) for a in sorted(wanted)],
            custom_only=True,
        )


def _prints_for(prints: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    """The trade prints of the assets a connection subscribed to."""
    return [p for p in prints if p["asset_id"] in wanted]


def _same(msg: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The same message for every subscriber."""
    return msg


def _filtered_price_change(msg: dict[str, Any], wanted: set[str]) -> dict[str, Any] | None:
    entries = [e for e in msg["price_changes"] if e["asset_id"] in wanted]
    if not entries:
        return None
    if len(entries) == len(msg["price_changes"]):
        return msg
    return {**msg, "price_changes": entries}
