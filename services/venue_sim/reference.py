"""Reference price feeds of the simulator (issue 5, lead-lag): `/ref/ws` and the markets
that follow them.

Each feed is a seeded log-price random walk with jumps, stepped every `step_ms` and
streamed at once to every `/ref/ws` client as `{"feed", "price", "ts"}` (ts in unix ms).
A market whose `reference` names a feed gets its true probability from the price
`lag_ms` ago: the binary-option probability that the price ends above the strike,
Phi(ln(S / K) / (volatility * sqrt(tau))), tau the time left capped at `horizon_s`. The
book follows the true probability only through the background makers and informed
traders, so the feed leads the book by `lag_ms` plus the makers' own lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import msgspec
from aiohttp import WSMsgType, web

from common.config import Config, SimReferenceConfig
from common.tasks import reap

__all__ = ["WS_PATH", "ReferenceHub", "ReferenceWalk", "above_probability"]

log = logging.getLogger(__name__)

WS_PATH = "/ref/ws"
QUEUE_LIMIT = 1000
_PHI = NormalDist().cdf
_enc = msgspec.json.Encoder()


class ReferenceWalk:
    """One feed's price path; keeps enough history to answer "the price `lag_ms` ago"."""

    def __init__(self, cfg: SimReferenceConfig, seed: int, now_ms: int) -> None:
        self.cfg = cfg
        # Own RNG per feed: the venue's flow RNG (and so every existing market's path) is
        # untouched by adding a feed.
        self.rng = random.Random(f"{seed}:{cfg.feed}")
        self.price = cfg.start_price
        self.history: deque[tuple[int, float]] = deque([(now_ms, cfg.start_price)])
        self.steps = 0

    def step(self, now_ms: int) -> float:
        """Advance one step of `step_ms`; return the new price."""
        cfg, rng = self.cfg, self.rng
        dt = cfg.step_ms / 1000
        x = math.log(self.price) + cfg.volatility * math.sqrt(dt) * rng.gauss()
        if rng.random() < cfg.jump_probability:
            x += cfg.jump_size if rng.random() < 0.5 else -cfg.jump_size
        self.price = math.exp(x)
        self.steps += 1
        self.history.append((now_ms, self.price))
        keep_from = now_ms - cfg.lag_ms - 10 * cfg.step_ms
        while len(self.history) > 1 and self.history[1][0] <= keep_from:
            self.history.popleft()
        return self.price

    def lagged(self, now_ms: int) -> float:
        """The newest price published at or before `now_ms - lag_ms` (the oldest if none)."""
        cutoff = now_ms - self.cfg.lag_ms
        found = self.history[0][1]
        for ts, price in self.history:
            if ts > cutoff:
                break
            found = price
        return found


def above_probability(price: float, strike: float, volatility: float, tau_s: float) -> float:
    """P(S_T > K) for a driftless log-normal price: Phi(ln(S/K) / (vol * sqrt(tau)))."""
    scale = volatility * math.sqrt(max(tau_s, 0.0))
    if scale <= 0:
        return 1.0 if price > strike else 0.0
    return _PHI(math.log(price / strike) / scale)


@dataclass(eq=False)
class _Client:
    ws: web.WebSocketResponse
    feeds: frozenset[str]
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))


class ReferenceHub:
    """The simulator's feeds, their clients, and the probability functions of followers."""

    def __init__(self, cfg: Config, clock_ms: Callable[[], int]) -> None:
        self.clock_ms = clock_ms
        now = clock_ms()
        self.walks = {r.feed: ReferenceWalk(r, cfg.sim.seed, now) for r in cfg.sim.references}
        self.clients: set[_Client] = set()
        self.slow_disconnects = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing: set[asyncio.Task[bool]] = set()

    def followers(self, cfg: Config) -> dict[str, Callable[[], float]]:
        """Per followed market (condition id / ticker): its true probability now."""
        out: dict[str, Callable[[], float]] = {}
        for m in cfg.markets:
            walk = self.walks.get(m.reference)
            if walk is None:
                continue
            strike = m.strike or walk.cfg.start_price  # no strike: "up from the start"
            resolves_ns = m.resolves_at_ns

            def prob(walk: ReferenceWalk = walk, strike: float = strike,
                     resolves_ns: int | None = resolves_ns) -> float:
                now = self.clock_ms()
                tau = walk.cfg.horizon_s
                if resolves_ns is not None:
                    tau = min(tau, max(0.0, resolves_ns / 1e9 - now / 1000))
                return above_probability(walk.lagged(now), strike, walk.cfg.volatility, tau)

            out[m.venue_market] = prob
        return out

    def message(self, feed: str) -> str:
        walk = self.walks[feed]
        return _enc.encode({"feed": feed, "price": round(walk.price, 6),
                            "ts": walk.history[-1][0]}).decode()

    def _broadcast(self, feed: str) -> None:
        text = self.message(feed)
        for client in list(self.clients):
            if feed not in client.feeds:
                continue
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self.slow_disconnects += 1
                self.clients.discard(client)
                task = asyncio.get_running_loop().create_task(client.ws.close())
                self._closing.add(task)  # keep a reference until it is done
                task.add_done_callback(self._closing.discard)

    async def _run_feed(self, walk: ReferenceWalk) -> None:
        loop = asyncio.get_running_loop()
        interval = walk.cfg.step_ms / 1000
        next_at = loop.time()
        while True:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            walk.step(self.clock_ms())
            self._broadcast(walk.cfg.feed)
            if loop.time() - next_at > 10 * interval:
                next_at = loop.time()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run_feed(w)) for w in self.walks.values()]

    async def stop(self) -> None:
        await reap(*self._tasks)
        for client in list(self.clients):
            await client.ws.close()
        self.clients.clear()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`GET /ref/ws[?feed=A,B]`: the newest price of each feed at once, then every tick.
        Text `PING` is answered with `PONG`; anything else from the client is ignored."""
        wanted = [f for f in request.query.get("feed", "").split(",") if f]
        unknown = [f for f in wanted if f not in self.walks]
        if unknown:
            return web.json_response({"error": f"unknown feed(s) {', '.join(unknown)}"},
                                     status=404)
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        client = _Client(ws, frozenset(wanted or self.walks))
        for feed in sorted(client.feeds):
            client.queue.put_nowait(self.message(feed))
        self.clients.add(client)
        writer = asyncio.create_task(self._write(client))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "PING":
                    with contextlib.suppress(asyncio.QueueFull):
                        client.queue.put_nowait("PONG")
        finally:
            self.clients.discard(client)
            await reap(writer)
        return ws

    async def _write(self, client: _Client) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            while True:
                await client.ws.send_str(await client.queue.get())
