"""Polymarket market channel as a FeedAdapter.

Only the YES token of each market is subscribed: the YES token's book is the
market's book in YES terms. Events about other assets (the NO token, markets of
other processes) are ignored, except trades on a NO token, which are mirrored into
YES terms (NO at q is YES at 1 - q, a BUY of NO is a SELL of YES).
"""

from __future__ import annotations

import json

from common.config import Config, MarketConfig
from common.errors import VenueDataError
from common.messages import OrderSide, Venue
from common.prices import complement
from common.venue_drops import drop
from common.venues import polymarket as wire
from common.wire_numbers import Num, centi, millis, pips, tick_pips
from services.ingest.adapter import (
    BookReplace,
    FeedUpdate,
    LevelChange,
    LevelChanges,
    MarketClosed,
    TickChanged,
    TradeSeen,
)

__all__ = ["PolymarketFeed"]


def _tick_pips(value: Num, field: str) -> int:
    """A tick size ("0.01" or 0.001) in pips; 0 if absent; VenueDataError if unusable."""
    if value is None or value == "":
        return 0
    return tick_pips(value, field)


class PolymarketFeed:
    """Subscription and translation for Polymarket's market websocket."""

    venue: Venue = "polymarket"

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._markets: list[MarketConfig] = [m for m in cfg.markets if m.venue == "polymarket"]
        self._yes: dict[str, str] = {m.yes_token: m.id for m in self._markets}
        self._no: dict[str, str] = {m.no_token: m.id for m in self._markets}

    def url(self) -> str:
        return self._cfg.venues.polymarket.ws_url.rstrip("/") + "/market"

    def subscribe_messages(self) -> list[str]:
        msg = {
            "type": "market",
            "assets_ids": [m.yes_token for m in self._markets],
            "custom_feature_enabled": True,
        }
        return [json.dumps(msg, separators=(",", ":"))]

    def ping_message(self) -> str:
        return "PING"

    def connect_headers(self) -> dict[str, str]:
        return {}  # the market channel is public

    def connect_failed(self, exc: Exception) -> None:
        """Nothing to learn: the market channel is not signed."""

    def markets(self) -> list[str]:
        return [m.id for m in self._markets]

    def parse(self, frame: str | bytes) -> tuple[list[FeedUpdate], int]:
        events, bad = wire.decode_frame(frame)
        updates: list[FeedUpdate] = []
        for event in events:
            try:
                self._translate(event, updates)
            except VenueDataError as exc:  # typed events: only a number can be unusable
                bad += 1
                drop("polymarket", "market", exc)
        return updates, bad

    def _translate(self, event: wire.MarketEvent, out: list[FeedUpdate]) -> None:
        match event:
            case wire.BookMsg(asset_id=asset):
                market = self._yes.get(asset)
                if market is None:
                    return
                out.append(
                    BookReplace(
                        market=market,
                        ts_venue_ms=millis(event.timestamp),
                        bids=wire.levels(event.bids),
                        asks=wire.levels(event.asks),
                        tick=_tick_pips(event.tick_size, "tick_size"),
                        min_size=(
                            centi(event.min_order_size, "min_order_size")
                            if event.min_order_size not in (None, "")
                            else 0
                        ),
                    )
                )
            case wire.PriceChangeMsg():
                ts = millis(event.timestamp)
                per_market: dict[str, list[LevelChange]] = {}
                for pc in event.price_changes:
                    market = self._yes.get(pc.asset_id)
                    if market is None:
                        continue
                    side = pc.side.upper()
                    if side not in ("BUY", "SELL"):
                        raise VenueDataError("side", pc.side, "not BUY or SELL")
                    per_market.setdefault(market, []).append(
                        LevelChange(
                            side="BUY" if side == "BUY" else "SELL",
                            price=pips(pc.price),
                            size=centi(pc.size),
                        )
                    )
                for market, changes in per_market.items():
                    out.append(LevelChanges(market=market, ts_venue_ms=ts, changes=changes))
            case wire.TickSizeChangeMsg(asset_id=asset):
                market = self._yes.get(asset)
                if market is None:
                    return
                tick = _tick_pips(event.new_tick_size, "new_tick_size")
                if tick == 0:
                    raise VenueDataError("new_tick_size", event.new_tick_size, "missing")
                out.append(
                    TickChanged(market=market, ts_venue_ms=millis(event.timestamp), tick=tick)
                )
            case wire.LastTradeMsg(asset_id=asset):
                self._trade(event, asset, out)
            case wire.MarketResolvedMsg():
                assets = set(event.assets_ids or ())
                if event.winning_asset_id:
                    assets.add(event.winning_asset_id)
                ts = millis(event.timestamp)
                done: set[str] = set()
                for asset in assets:
                    market = self._yes.get(asset) or self._no.get(asset)
                    if market is not None and market not in done:
                        done.add(market)
                        out.append(MarketClosed(market=market, ts_venue_ms=ts, reason="resolved"))
            case _:
                return  # best_bid_ask, new_market: nothing to do for the book

    def _trade(self, event: wire.LastTradeMsg, asset: str, out: list[FeedUpdate]) -> None:
        side_text = (event.side or "").upper()
        if side_text not in ("BUY", "SELL"):
            raise VenueDataError("side", event.side, "not BUY or SELL")
        price = pips(event.price)
        size = centi(event.size) if event.size not in (None, "") else 0
        ts = millis(event.timestamp)
        market = self._yes.get(asset)
        if market is not None:
            side: OrderSide = "BUY" if side_text == "BUY" else "SELL"
            out.append(TradeSeen(market=market, ts_venue_ms=ts, price=price, size=size, side=side))
            return
        market = self._no.get(asset)
        if market is not None:
            side = "SELL" if side_text == "BUY" else "BUY"
            out.append(
                TradeSeen(
                    market=market, ts_venue_ms=ts, price=complement(price), size=size, side=side
                )
            )
