"""The quoter process shell: sockets, timers and per-market state around `engine.step`.

One quoter owns the markets with index k % shards == shard in `[[markets]]`. It
subscribes to their books and trades (every ingest md endpoint) and positions (risk's
state endpoint), conflates to the newest book per market, and steps the quoting engine
on every book change (event-driven) and at least every `interval_ms` (the timer floor).
The engine decides whether to send (`requote.py`): on a change beyond the threshold, when
the live ladder is older than `max_quote_age_ms`, and on every timer step; the actor PUSHes the whole
desired ladder to risk as a `QuoteIntent`. A stale book gives an empty ladder (pull
quotes). A `Heartbeat` naming its markets goes on the same PUSH socket every
`[quoter] heartbeat_interval_ms`. `reconfigure(cfg)` swaps parameters between steps and
keeps every estimator, so a config change takes effect at the next requote.
Sockets are read and written with NOBLOCK calls on synchronous shadows behind one
persistent readiness wait (common/hotloop.py), not a zmq.asyncio Poller (issue 9).
Per-market state and the records built from it live in market_state.py; the PUSH to risk
and its backoff in intent_sender.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from common import bus, bus_curve, hotloop, metrics, topics
from common.config import Config, endpoint
from common.errors import ConfigError
from common.messages import (
    BookSnapshot,
    Heartbeat,
    IntentChannel,
    MarketData,
    MarketStatus,
    PositionUpdate,
    QuoteIntent,
    ReferencePrice,
    RewardProgramme,
    StateChannel,
    TradePrint,
)
from common.reward_programmes import from_message
from services.quoter import signal_metrics
from services.quoter.intent_sender import IntentSender
from services.quoter.market_state import (
    MarketState,
    engine_inputs,
    live_quoting,
    quote_intent,
    shard_markets,
)
from strategy import engine
from strategy.model import Decision, EngineState, Ladder, TradeTick

__all__ = ["Quoter"]

log = logging.getLogger(__name__)

_MAX_DRAIN = 10_000
"""Frames read from one socket per wake-up, so one flood cannot starve the other socket."""
_MAX_POLL_MS = 100
_NEVER = 2**63
_BOOK_TO_INTENT = metrics.HOP_LATENCY.labels(hop="book_to_intent")


class Quoter:
    """One quoter shard. `run(stop)` owns its sockets from start to close."""

    def __init__(
        self,
        cfg: Config,
        shard: int,
        shards: int,
        *,
        mono_ns: Callable[[], int] = time.monotonic_ns,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cfg = cfg
        self.name = f"quoter-{shard}"
        self.markets = {
            m.id: MarketState(market=m, quoting=live_quoting(cfg, m))
            for m in shard_markets(cfg, shard, shards)
        }
        self._mono = mono_ns
        self._wall = wall_ns
        # Start from wall-clock microseconds so a restarted quoter's seq keeps increasing.
        self._seq = wall_ns() // 1_000
        self._hb_seq = 0
        self._md_codec: bus.Codec[MarketData] = bus.Codec(
            MarketData, process=self.name, channel="md"
        )
        self._state_codec: bus.Codec[StateChannel] = bus.Codec(
            StateChannel, process=self.name, channel="state"
        )
        self._out: bus.Codec[IntentChannel] = bus.Codec(
            IntentChannel, process=self.name, channel="intents"
        )
        self._sender = IntentSender(self.name, mono_ns)
        self._children: dict[tuple[int, str], Any] = {}
        self._floor_due_ns = 0
        """No market's timer floor is due before this (monotonic ns); 0: check them all."""

    # --- inputs --------------------------------------------------------------------------

    def on_book(self, book: BookSnapshot) -> None:
        """Keep the newest book; the one it replaces (if unquoted) counts as conflated."""
        st = self.markets.get(book.market)
        if st is None:
            return
        if st.unquoted_book:
            metrics.BOOKS_CONFLATED.labels(market=book.market).inc()
        st.book = book
        st.unquoted_book = st.dirty = st.new_book = True

    def on_reference(self, ref: ReferencePrice) -> None:
        """Keep the newest price of a reference feed for every market that follows it; a
        move steps those markets at once (lead-lag: quotes move before the book does)."""
        for st in self.markets.values():
            if st.market.reference != ref.feed or ref.ts_ns < st.reference_ts_ns:
                continue
            moved = ref.price != st.reference
            st.reference, st.reference_ts_ns = ref.price, ref.ts_ns
            metrics.QUOTER_REFERENCE.labels(market=st.market.id).set(ref.price)
            if moved and st.book is not None:
                st.dirty = True
                metrics.QUOTER_REFERENCE_STEPS.labels(market=st.market.id).inc()

    def on_trade(self, trade: TradePrint) -> None:
        """Keep the trade for the vwap fair value (bounded); a vwap market requotes on it."""
        st = self.markets.get(trade.market)
        if st is None:
            return
        st.trades.append(TradeTick(ts_ns=self._wall(), price=trade.price, size=trade.size,
                                    side=1 if trade.side == "BUY" else -1))  # the aggressor
        if len(st.trades) > st.quoting.vwap_max_trades:
            del st.trades[: len(st.trades) - st.quoting.vwap_max_trades]
        if st.quoting.fv_method == "vwap" and st.book is not None:
            st.dirty = True

    def on_reward(self, msg: RewardProgramme) -> None:
        """Keep the market's reward programme; a change requotes (the ladder may reach
        into the band, strategy/rewards.py `reach`)."""
        st = self.markets.get(msg.market)
        if st is None:
            return
        prog = from_message(msg)
        if prog != st.reward:
            log.info("market %s reward programme: %s", msg.market, prog or "none",
                     extra={"market": msg.market})
            st.reward = prog
            if st.book is not None:
                st.dirty = True

    def on_status(self, status: MarketStatus) -> None:
        """Track feed staleness from ingest; a flip forces a requote."""
        st = self.markets.get(status.market)
        if st is None:
            return
        if st.status_stale != status.stale:
            log.info(
                "market %s stale=%s (%s)", status.market, status.stale, status.reason,
                extra={"market": status.market},
            )
            st.status_stale = status.stale
            st.dirty = True

    def on_position(self, update: PositionUpdate) -> None:
        """Take the netted position from risk; a change requotes (skew and sizes)."""
        st = self.markets.get(update.market)
        if st is None:
            return
        st.position_yes, st.position_no = update.position_yes, update.position_no
        if update.net_position != st.net_centi:
            st.net_centi = update.net_position
            st.dirty = st.book is not None

    def reconfigure(self, cfg: Config) -> list[str]:
        """Swap in new parameters for this shard's markets, keeping every estimator (EMA,
        volatility, trades, live ladder): the change takes effect at the next requote.
        Returns the ids of the markets whose parameters changed. Markets added to or
        removed from the config need a restart (subscriptions are fixed) and are logged."""
        changed: list[str] = []
        new_markets = {m.id: m for m in cfg.markets}
        for market_id, st in self.markets.items():
            market = new_markets.get(market_id)
            if market is None:
                log.warning(
                    "market %s left the config; restart the quoter to drop it", market_id,
                    extra={"market": market_id},
                )
                continue
            try:
                quoting = live_quoting(cfg, market)
            except ConfigError as exc:  # keep quoting as before, loudly
                log.error("%s; the market keeps its previous settings", exc,
                          extra={"market": market_id})
                continue
            if quoting != st.quoting or market != st.market:
                st.market, st.quoting = market, quoting
                st.dirty = st.book is not None
                changed.append(market_id)
        self.cfg = cfg
        self._floor_due_ns = 0  # intervals may have changed: check every floor again
        log.info("reconfigured %d markets", len(changed), extra={"markets": ",".join(changed)})
        return changed

    # --- decisions -----------------------------------------------------------------------

    def decide(
        self, st: MarketState, now_ns: int, *, timer: bool = False
    ) -> tuple[EngineState, Decision] | None:
        """Step the engine for a market at engine time `now_ns` (unix ns); None without a
        book. `timer` marks the periodic floor step (it re-sends). The caller stores the
        returned state (see `quote`)."""
        if st.book is None:
            return None
        inputs = engine_inputs(st, st.book, timer=timer)
        st.trades.clear()
        st.new_book = False
        return engine.step(st.engine, inputs, st.quoting, st.market, now_ns)

    def intent(self, st: MarketState, ladder: Ladder, now_ns: int) -> QuoteIntent:
        """Wrap a ladder as the next QuoteIntent, carrying the book receive time."""
        assert st.book is not None
        self._seq += 1
        return quote_intent(st.market.id, st.book, ladder, quoter=self.name, seq=self._seq,
                            now_ns=now_ns)

    # --- outputs -------------------------------------------------------------------------

    async def quote(self, st: MarketState, *, timer: bool = False) -> None:
        """Step the engine for one market and send its ladder if the engine says so."""
        st.dirty = st.unquoted_book = False
        now = self._mono()
        if timer:
            st.stepped_ns = now
        self._note_floor(st)
        stepped = self.decide(st, self._wall(), timer=timer)
        if stepped is None:
            return
        old, (new, decision) = st.engine, stepped
        st.engine = new
        if not decision.send:
            self._child(metrics.REQUOTES_SKIPPED, st.market.id).inc()
            return
        ladder = decision.ladder
        msg = self.intent(st, ladder, time.monotonic_ns())
        if not await self._sender.send(self._out.encode(msg)):
            st.engine = engine.commit_unsent(new, old)
        else:
            st.stepped_ns = now
            self._note_floor(st)
            self._child(metrics.QUOTES, st.market.id).inc()
            signal_metrics.record(st.market.id, decision)
            _BOOK_TO_INTENT.observe(max(0, msg.ts_sent_ns - msg.ts_recv_ns) / 1e9)
            if ladder.empty:
                log.debug("pulled quotes", extra={"market": st.market.id})

    def _child(self, family: Any, market: str) -> Any:
        """A per-market metric child, looked up once (`labels()` takes a lock and builds
        a key on every call, a few us on the per-book path)."""
        key = (id(family), market)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(market=market)
        return child

    def _note_floor(self, st: MarketState) -> None:
        """Keep `_floor_due_ns` at or before the market's next timer floor."""
        due = st.stepped_ns + st.quoting.interval_ms * 1_000_000
        if due < self._floor_due_ns:
            self._floor_due_ns = due

    async def heartbeat(self) -> None:
        """Tell risk this quoter is alive and which markets it covers."""
        self._hb_seq += 1
        hb = Heartbeat(
            sender=self.name, role="quoter", seq=self._hb_seq, ts_ns=self._wall(),
            markets=tuple(self.markets),
        )
        await self._sender.send(self._out.encode(hb))

    # --- loop ----------------------------------------------------------------------------

    def _drain_md(self, frames_list: list[list[bytes]]) -> None:
        for frames in frames_list:
            payload = bus.payload_of(frames)
            msg = None if payload is None else self._md_codec.decode(payload)
            match msg:
                case BookSnapshot():
                    self.on_book(msg)
                case MarketStatus():
                    self.on_status(msg)
                case TradePrint():
                    self.on_trade(msg)
                case ReferencePrice():
                    self.on_reference(msg)
                case RewardProgramme():
                    self.on_reward(msg)
                case _:
                    pass

    def _drain_state(self, frames_list: list[list[bytes]]) -> None:
        for frames in frames_list:
            payload = bus.payload_of(frames)
            msg = None if payload is None else self._state_codec.decode(payload)
            if isinstance(msg, PositionUpdate):
                self.on_position(msg)

    async def run(self, stop: asyncio.Event) -> None:
        """Quote until `stop` is set; every socket is closed on the way out."""
        cfg = self.cfg
        venues = sorted({st.market.venue for st in self.markets.values()})
        feeds = sorted({st.market.reference for st in self.markets.values()} - {""})
        md_names = venues + (["reference"] if feeds else [])
        # CURVE on tcp:// with the quoter role's key (common/bus_curve.py); None when off
        md = bus.sub(
            [endpoint(cfg, "md", v) for v in md_names],
            [topics.md(st.market.venue, m) for m, st in self.markets.items()]
            + [topics.reference(f) for f in feeds],
            hwm=cfg.bus.recv_hwm, curve=bus_curve.client(cfg, "quoter", [("md", v) for v in md_names]),
        )
        state = bus.sub(
            [endpoint(cfg, "state")], [topics.position(m) for m in self.markets],
            hwm=cfg.bus.recv_hwm, curve=bus_curve.client(cfg, "quoter", [("state", "")]),
        )
        self._sender.open(cfg)
        # One persistent readiness wait and NOBLOCK drains instead of a zmq.asyncio Poller
        # re-armed per wake-up (common/hotloop.py).
        ready = hotloop.Readiness([md, state])
        md_in, state_in = ready.inputs
        hb_every_ns = cfg.quoter.heartbeat_interval_ms * 1_000_000
        next_hb = self._mono()
        log.info("quoting %d markets", len(self.markets), extra={"markets": ",".join(self.markets)})
        try:
            while not stop.is_set():
                now = self._mono()
                wait_ms = min(_MAX_POLL_MS, max(0, (next_hb - now) // 1_000_000))
                await ready.wait(wait_ms / 1000)
                self._drain_state(state_in.drain(_MAX_DRAIN))
                self._drain_md(md_in.drain(_MAX_DRAIN))
                now = self._mono()
                # Every market is checked for its timer floor only once the earliest floor
                # may be due; until then only the dirty ones (a list comprehension, not 50+
                # floor computations per wake-up).
                full = now >= self._floor_due_ns
                if full:
                    self._floor_due_ns = _NEVER
                for st in self.markets.values() if full else [
                        st for st in self.markets.values() if st.dirty]:
                    floor_due = st.book is not None and (
                        now - st.stepped_ns >= st.quoting.interval_ms * 1_000_000
                    )
                    if st.dirty or floor_due:
                        await self.quote(st, timer=floor_due)
                    elif full and st.book is not None:
                        self._note_floor(st)
                if now >= next_hb:
                    await self.heartbeat()
                    next_hb = now + hb_every_ns
        finally:
            ready.close()
            for sock in (md, state):
                sock.close(linger=0)
            self._sender.close()
