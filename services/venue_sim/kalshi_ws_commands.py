"""Kalshi websocket commands on the simulator: subscribe, unsubscribe, update_subscription,
list_subscriptions, answered as docs.kalshi.com/asyncapi.yaml (WebSocket Connection) has them.

    subscribe           one `subscribed` {channel, sid} per channel; `orderbook_delta` then
                        sends one `orderbook_snapshot` per market (seq from 1 per sid)
    unsubscribe         one `unsubscribed` {sid, seq} per sid
    update_subscription exactly one sid (`sid`, or `sids` of length 1; else code 12), action
                        add_markets | delete_markets -> `ok` {sid, seq, msg.market_tickers: the
                        full list after the update}; get_snapshot -> a fresh snapshot per
                        market, subscription unchanged
    list_subscriptions  `ok` with msg = [{channel, sid}, ...]

Error codes as the AsyncAPI's table: 1 unable to process, 2 params required, 3 channels
required, 4 sids required, 5 unknown command, 7 unknown sid, 8 unknown channel, 11 invalid
parameter, 12 exactly one sid, 13 unsupported action, 14 market ticker required, 15 action
required, 16 market not found. Code 6 ("Already subscribed" in older docs) is retired in the
current AsyncAPI ("Not emitted. The number stays reserved."), so it is never sent here: a
second subscribe to a channel opens a second subscription with its own sid (what the venue
does instead is not documented: UNCONFIRMED).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from services.venue_sim.counters import VenueCounters
from services.venue_sim.engine import Engine
from services.venue_sim.kalshi_ws_subs import KConn, Sub, send_error, snapshot

__all__ = ["CHANNELS", "CommandError", "Session", "on_command"]

CHANNELS = frozenset({"orderbook_delta", "ticker", "trade", "fill", "order_group_updates"})
MARKETS_IGNORED = frozenset({"order_group_updates"})
"""Channels whose market specification the venue ignores."""
MARKETS_REQUIRED = frozenset({"orderbook_delta"})
UPDATABLE = frozenset({"orderbook_delta", "ticker", "trade", "fill"})
ACTIONS = frozenset({"add_markets", "delete_markets", "get_snapshot"})


class CommandError(Exception):
    """A command the venue answers with an `error` message."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def tickers_of(params: dict[str, Any]) -> list[str]:
    """`market_ticker` or `market_tickers` (mutually exclusive), as a list."""
    one, many = params.get("market_ticker"), params.get("market_tickers")
    if one is not None and many is not None:
        raise CommandError(11, "market_ticker and market_tickers are mutually exclusive")
    if one is not None:
        if not isinstance(one, str) or not one:
            raise CommandError(11, "Invalid parameter")
        return [one]
    if many is None:
        return []
    if not isinstance(many, list) or not many or not all(isinstance(t, str) for t in many):
        raise CommandError(11, "Invalid parameter")
    return list(dict.fromkeys(many))


@dataclass(frozen=True)
class Session:
    """What a command needs besides its connection: the engine, the counters, the sids."""

    engine: Engine
    counters: VenueCounters
    sids: Iterator[int]

    def error(self, conn: KConn, cmd_id: Any, code: int, text: str) -> None:
        send_error(self.counters, conn, cmd_id, code, text)

    def snapshot(self, conn: KConn, sub: Sub, ticker: str) -> None:
        snapshot(self.engine, conn, sub, ticker)

    def new_sid(self) -> int:
        return next(self.sids)


def on_command(conn: KConn, text: str, *, engine: Engine, counters: VenueCounters,
               sids: Iterator[int]) -> None:
    """Answer one client command; every failure is an `error` message, never a disconnect.

    `sids` hands out subscription ids (one counter per venue, shared by all connections).
    """
    session = Session(engine, counters, sids)
    try:
        cmd = msgspec.json.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):
        cmd = None
    if not isinstance(cmd, dict):
        session.error(conn, None, 1, "Unable to process message")
        return
    cmd_id, name = cmd.get("id"), cmd.get("cmd")
    params = cmd.get("params")
    try:
        if name == "list_subscriptions":
            conn.send({"id": cmd_id, "type": "ok", "msg": [
                {"channel": s.channel, "sid": s.sid} for s in conn.subs.values()]})
            return
        if name not in ("subscribe", "unsubscribe", "update_subscription"):
            raise CommandError(5, "Unknown command")
        if not isinstance(params, dict):
            raise CommandError(2, "Params required")
        if name == "subscribe":
            subscribe(session, conn, cmd_id, params)
        elif name == "unsubscribe":
            unsubscribe(session, conn, cmd_id, params)
        else:
            update(session, conn, cmd_id, params)
    except CommandError as exc:
        session.error(conn, cmd_id, exc.code, exc.text)


def check_markets(session: Session, tickers: list[str]) -> None:
    for t in tickers:
        m = session.engine.markets.get(t)
        if m is None or m.venue != "kalshi":
            raise CommandError(16, "Market not found")


def subscribe(session: Session, conn: KConn, cmd_id: Any, params: dict[str, Any]) -> None:
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels:
        raise CommandError(3, "Channels required")
    tickers = tickers_of(params)
    check_markets(session, tickers)
    for channel in channels:
        if channel not in CHANNELS:
            session.error(conn, cmd_id, 8, "Unknown channel name")
            continue
        if channel in MARKETS_REQUIRED and not tickers:
            session.error(conn, cmd_id, 14, "Market Ticker required")
            continue
        markets = set() if channel in MARKETS_IGNORED else set(tickers)
        sub = Sub(sid=session.new_sid(), channel=channel, markets=markets)
        conn.subs[sub.sid] = sub
        conn.send({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}})
        if channel == "orderbook_delta":
            for t in tickers:
                session.snapshot(conn, sub, t)


def unsubscribe(session: Session, conn: KConn, cmd_id: Any, params: dict[str, Any]) -> None:
    sids = params.get("sids")
    if not isinstance(sids, list) or not sids:
        raise CommandError(4, "Subscription IDs required")
    for sid in sids:
        sub = conn.subs.pop(sid, None) if isinstance(sid, int) else None
        if sub is None:
            session.error(conn, cmd_id, 7, "Unknown subscription ID")
            continue
        conn.send({"id": cmd_id, "sid": sid, "seq": sub.seq, "type": "unsubscribed"})


def target(conn: KConn, params: dict[str, Any]) -> Sub:
    """The one subscription an update names (`sid`, or `sids` with exactly one element)."""
    sid, sids = params.get("sid"), params.get("sids")
    if sid is not None and sids is not None:
        raise CommandError(12, "Exactly one subscription ID is required")
    if sids is not None:
        if not isinstance(sids, list) or len(sids) != 1:
            raise CommandError(12, "Exactly one subscription ID is required")
        sid = sids[0]
    if sid is None:
        raise CommandError(4, "Subscription IDs required")
    sub = conn.subs.get(sid) if isinstance(sid, int) else None
    if sub is None:
        raise CommandError(7, "Unknown subscription ID")
    return sub


def update(session: Session, conn: KConn, cmd_id: Any, params: dict[str, Any]) -> None:
    sub = target(conn, params)
    action = params.get("action")
    if action is None:
        raise CommandError(15, "Action required")
    if action not in ACTIONS or sub.channel not in UPDATABLE or (
            action == "get_snapshot" and sub.channel != "orderbook_delta"):
        raise CommandError(13, "Unsupported action")
    tickers = tickers_of(params)
    if not tickers:
        raise CommandError(14, "Market Ticker required")
    check_markets(session, tickers)
    if action == "get_snapshot":
        for t in tickers:
            session.snapshot(conn, sub, t)
        return
    if action == "add_markets":
        new = [t for t in tickers if t not in sub.markets]
        sub.markets.update(new)
        if sub.channel == "orderbook_delta":
            for t in new:
                session.snapshot(conn, sub, t)
    else:
        sub.markets.difference_update(tickers)
    conn.send({"id": cmd_id, "sid": sub.sid, "seq": sub.seq, "type": "ok",
               "msg": {"market_tickers": sorted(sub.markets)}})

