"""Kalshi market websocket (trade API v2) as a FeedAdapter.

Kalshi's book holds YES bids and NO bids only; a NO bid at q is a YES ask at 1 - q,
so the normalized YES book is bids = yes levels, asks = (1 - q, size) of the no
levels. Each market gets its own `orderbook_delta` subscription, so a sequence gap
(seq != last + 1 on a sid, or a delta that would make a level negative) affects one
market only: the book goes stale and the feed unsubscribes that sid and subscribes
again for a fresh snapshot. The connection is authenticated by signed headers on
the upgrade; Kalshi's protocol pings are answered by the websocket library.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec

from common import wire_numbers as wn
from common.config import Config, MarketConfig
from common.kalshi_auth import KalshiSigner, path_of
from common.messages import Venue
from common.prices import complement
from common.venue_drops import MALFORMED, drop
from common.venues import kalshi as wire
from services.ingest.adapter import (
    BookReplace,
    FeedUpdate,
    LevelChange,
    LevelChanges,
    Resubscribe,
    TradeSeen,
)

__all__ = ["KalshiFeed"]


class KalshiFeed:
    """Subscription, sequence checking and translation for Kalshi's websocket."""

    venue: Venue = "kalshi"

    def __init__(self, cfg: Config, signer: KalshiSigner | None) -> None:
        self._cfg = cfg
        self._signer = signer
        self._markets: list[MarketConfig] = [m for m in cfg.markets if m.venue == "kalshi"]
        self._by_ticker = {m.venue_market: m.id for m in self._markets}
        self._ids = itertools.count(1)
        self._reset()

    def _reset(self) -> None:
        self._pending: dict[int, str] = {}
        """command id -> ticker of an orderbook subscribe not yet acknowledged."""
        self._sid_market: dict[int, str] = {}
        self._seq: dict[int, int] = {}
        self._levels: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        self._trade_sid = -1

    def url(self) -> str:
        return self._cfg.venues.kalshi.ws_url

    def connect_headers(self) -> dict[str, str]:
        """Signed upgrade headers, made fresh for each (re)connect."""
        if self._signer is None:
            return {}
        return self._signer.headers("GET", path_of(self.url()))

    def connect_failed(self, exc: Exception) -> None:
        """A refused upgrade (401 on a skewed clock, say) still dates itself: keep the
        signer's estimate of Kalshi's clock (common/venue_clock.py) up to date."""
        if self._signer is not None:
            self._signer.clock.observe_rejection(exc)

    def _subscribe_book(self, ticker: str) -> str:
        cmd_id = next(self._ids)
        self._pending[cmd_id] = ticker
        return json.dumps({"id": cmd_id, "cmd": "subscribe", "params": {
            "channels": ["orderbook_delta"], "market_ticker": ticker}}, separators=(",", ":"))

    def subscribe_messages(self) -> list[str]:
        self._reset()
        out = [self._subscribe_book(m.venue_market) for m in self._markets]
        out.append(json.dumps({"id": next(self._ids), "cmd": "subscribe", "params": {
            "channels": ["trade"], "market_tickers": [m.venue_market for m in self._markets]}},
            separators=(",", ":")))
        return out

    def ping_message(self) -> str:
        return ""  # Kalshi uses protocol ping frames, answered by the library

    def markets(self) -> list[str]:
        return [m.id for m in self._markets]

    def parse(self, frame: str | bytes) -> tuple[list[FeedUpdate], int]:
        try:
            msg = wire.decode_frame(frame)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return [], 1
        if msg is None:
            return [], 1
        out: list[FeedUpdate] = []
        try:
            self._translate(msg, out)
        except MALFORMED as exc:
            drop("kalshi", "market", exc)
            return out, 1
        return out, 0

    def _translate(self, msg: dict[str, Any], out: list[FeedUpdate]) -> None:
        kind = msg.get("type")
        body = wire.as_object(msg.get("msg") or {}, "msg")
        if kind == "subscribed":
            ticker = self._pending.pop(wn.counter(msg.get("id", 0), "id"), None)
            if ticker is not None and body.get("channel") == "orderbook_delta":
                self._sid_market[wn.counter(body["sid"], "sid")] = ticker
            return
        if kind == "orderbook_snapshot":
            sid, ticker = wn.counter(msg["sid"], "sid"), str(body["market_ticker"])
            market = self._by_ticker.get(ticker)
            if market is None:
                return
            seq = wn.counter(msg["seq"], "seq")
            yes, no = wire.snapshot_sides(body)
            self._sid_market[sid] = ticker
            self._seq[sid] = seq
            self._levels[ticker] = (yes, no)
            out.append(BookReplace(  # a snapshot carries no venue time (official schema)
                market=market, ts_venue_ms=0,
                bids=sorted(yes.items()), asks=sorted((complement(p), s) for p, s in no.items())))
            return
        if kind == "orderbook_delta":
            self._delta(msg, body, out)
            return
        if kind == "trade":
            market = self._by_ticker.get(str(body.get("market_ticker")))
            if market is None:
                return
            trade = wire.public_trade(body)
            out.append(TradeSeen(market=market, ts_venue_ms=trade.ts_venue_ms, price=trade.price,
                                 size=trade.size,
                                 side="BUY" if trade.taker_side == "yes" else "SELL"))
            return
        # ticker, unsubscribed, ok, error: nothing changes the books

    def _delta(self, msg: dict[str, Any], body: dict[str, Any], out: list[FeedUpdate]) -> None:
        sid, seq = wn.counter(msg["sid"], "sid"), wn.counter(msg["seq"], "seq")
        ticker = self._sid_market.get(sid)
        last = self._seq.get(sid)
        if ticker is None or last is None:
            return  # a delta before its snapshot (or of a dropped sid) is ignored
        market = self._by_ticker[ticker]
        yes, no = self._levels[ticker]
        delta = wire.delta_of(body)
        side, price = delta.side, delta.price
        levels = yes if side == "yes" else no
        size = levels.get(price, 0) + delta.delta
        if seq != last + 1 or size < 0:
            out.append(self._resubscribe(sid, ticker, market,
                                         "sequence_gap" if seq != last + 1 else "negative_level"))
            return
        self._seq[sid] = seq
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)
        change = (LevelChange(side="BUY", price=price, size=size) if side == "yes"
                  else LevelChange(side="SELL", price=complement(price), size=size))
        out.append(LevelChanges(market=market, ts_venue_ms=delta.ts_venue_ms, changes=[change]))

    def _resubscribe(self, sid: int, ticker: str, market: str, reason: str) -> Resubscribe:
        self._seq.pop(sid, None)
        self._sid_market.pop(sid, None)
        unsub = json.dumps({"id": next(self._ids), "cmd": "unsubscribe",
                            "params": {"sids": [sid]}}, separators=(",", ":"))
        return Resubscribe(market=market, reason=reason,
                           messages=[unsub, self._subscribe_book(ticker)])
