"""Closing the loop on liquidity rewards: do our orders score, and what is it worth?

Each market's programme comes on the md bus (`RewardProgramme`: ingest reads them,
services/ingest/rewards.py), like its books. Every `[executor] reward_check_interval_ms`
the executor asks the venue which of our live orders score (`RewardSource.scoring`;
Kalshi publishes no such endpoint, so there our orders are scored by the programme's
rules). For each market it then knows, from the last book and our live orders
(strategy/rewards.py, the venue's published formula): how many of our orders score and why the others do not, our share of the pool
and the USD a day it is worth. That goes out in every ExecutorReport (`reward`), to the
status and the metrics.

A reason is ours to give: the venue answers only yes or no. An order the venue says does
not score is `below_min_size` or `outside_max_spread` of the adjusted midpoint if it is
so by our reading, `no_midpoint` if the book is too thin for one, and `venue` if we
expected it to score (an order younger than the venue's minimum age, or a midpoint read
differently); `unchecked` while the venue cannot be asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from common import metrics
from common.errors import VenueError
from common.event_messages import RewardInfo
from common.messages import BookSnapshot, RewardProgramme
from common.reward_programmes import from_message
from common.prices import complement
from services.executor.orders import CLIENT_KEY_PREFIX, LiveOrder, MarketTokens
from strategy.rewards import (
    KalshiProgramme, Programme, adjusted_mid, estimate, estimate_kalshi, order_score,
)

__all__ = ["REASONS", "RewardSource", "RewardWatch", "reasons"]

log = logging.getLogger(__name__)

REASONS = ("below_min_size", "outside_max_spread", "no_midpoint", "venue", "unchecked",
           "beyond_target_size")
"""Why an order of ours does not score (see the module doc)."""


class RewardSource(Protocol):
    """Which orders score, as the venue says (services/executor/polymarket_rewards.py)."""

    async def scoring(self, order_ids: Sequence[str]) -> dict[str, bool]: ...


def _yes_terms(tokens: MarketTokens, orders: Iterable[LiveOrder]) -> tuple[
        list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """Our resting BUYs as (YES price, size, id): YES bids, and NO bids as YES asks."""
    bids, asks = [], []
    for o in orders:
        if o.side != "BUY" or o.size <= 0 or o.state == "cancelling":
            continue
        if o.token == tokens.yes_token:
            bids.append((o.price, o.size, o.order_id))
        elif o.token == tokens.no_token:
            asks.append((complement(o.price), o.size, o.order_id))
    return bids, asks


def reasons(orders: Iterable[tuple[int, int, str]], scoring: dict[str, bool] | None,
            mid: int | None, prog: Programme) -> tuple[int, dict[str, int]]:
    """(orders the venue says score, why the others do not by our reading)."""
    yes = 0
    why: dict[str, int] = {}
    for price, size, oid in orders:
        if scoring is None:
            reason = "unchecked"
        elif scoring.get(oid):
            yes += 1
            continue
        elif size < prog.min_size:
            reason = "below_min_size"
        elif mid is None:
            reason = "no_midpoint"
        elif not order_score(abs(price - mid), size, prog):
            reason = "outside_max_spread"
        else:
            reason = "venue"
        why[reason] = why.get(reason, 0) + 1
    return yes, why


class RewardWatch:
    """Each market's reward standing, for the executor's reports (see the module doc)."""

    def __init__(self, venue: str, source: RewardSource | None,
                 markets: dict[str, MarketTokens], wall_ns: Callable[[], int]) -> None:
        self.venue = venue
        self.source = source
        self.markets = markets
        self.wall_ns = wall_ns
        self.books: dict[str, BookSnapshot] = {}
        self.programmes: dict[str, Programme | KalshiProgramme | None] = {}
        self.info: dict[str, RewardInfo] = {}

    def on_book(self, book: BookSnapshot) -> None:
        if book.market in self.markets:
            self.books[book.market] = book

    def on_programme(self, msg: RewardProgramme) -> None:
        if msg.market in self.markets:
            self.programmes[msg.market] = from_message(msg)

    async def check(self, live: Callable[[], Iterable[LiveOrder]]) -> None:
        """Ask which of our orders (`live()`) score, and recompute `info`."""
        by_market: dict[str, list[LiveOrder]] = {m: [] for m in self.markets}
        for o in live():
            if o.market in by_market and o.side == "BUY" and o.size > 0 \
                    and o.state != "cancelling" and not o.order_id.startswith(CLIENT_KEY_PREFIX):
                by_market[o.market].append(o)
        ids = [o.order_id for m, orders in by_market.items() if self.programmes.get(m)
               for o in orders]
        scoring: dict[str, bool] | None = {}
        if ids and self.source is not None:
            try:
                scoring = await self.source.scoring(ids)
            except VenueError as exc:
                log.warning("order scoring not read: %s", exc)
                scoring = None
        now = self.wall_ns()
        for m, tokens in self.markets.items():
            self.info[m] = self._market(m, tokens, by_market[m], scoring, now)

    def _market(self, m: str, tokens: MarketTokens, orders: list[LiveOrder],
                scoring: dict[str, bool] | None, now: int) -> RewardInfo:
        prog = self.programmes.get(m)
        if prog is None:
            if m in self.info and self.info[m].eligible:  # its programme ended
                self._export(m, 0, {}, 0.0, 0.0)
            return RewardInfo(eligible=False, checked_ns=now)
        bids, asks = _yes_terms(tokens, orders)
        book = self.books.get(m)
        book_bids = [(lv.price, lv.size) for lv in book.bids] if book else []
        book_asks = [(lv.price, lv.size) for lv in book.asks] if book else []
        if isinstance(prog, KalshiProgramme):
            return self._kalshi(m, prog, bids, asks, book_bids, book_asks, now)
        est = estimate(prog, book_bids=book_bids, book_asks=book_asks,
                       our_bids=[(p, s) for p, s, _ in bids], our_asks=[(p, s) for p, s, _ in asks])
        mid = adjusted_mid(book_bids, book_asks, prog.min_size)
        yes, why = reasons([*bids, *asks], scoring, mid, prog)
        info = RewardInfo(eligible=True, max_spread=prog.max_spread, min_size=prog.min_size,
                          daily_usd=prog.daily_usd, orders=len(bids) + len(asks),
                          scoring_orders=yes, not_scoring=why, share=est.share,
                          est_usd_per_day=est.usd_per_day, checked_ns=now,
                          kind="polymarket_liquidity", scored_by="venue")
        self._export(m, yes, why, est.usd_per_day, prog.daily_usd)
        return info

    def _kalshi(self, m: str, prog: KalshiProgramme, bids: list[tuple[int, int, str]],
                asks: list[tuple[int, int, str]], book_bids: list[tuple[int, int]],
                book_asks: list[tuple[int, int]], now: int) -> RewardInfo:
        """Kalshi scores by its published rules, which we apply ourselves."""
        est, bid_prices, ask_prices = estimate_kalshi(
            prog, book_bids=book_bids, book_asks=book_asks,
            our_bids=[(p, s) for p, s, _ in bids], our_asks=[(p, s) for p, s, _ in asks])
        yes = sum(1 for p, _, _ in bids if p in bid_prices) + sum(
            1 for p, _, _ in asks if p in ask_prices)
        orders = len(bids) + len(asks)
        reason = "beyond_target_size" if book_bids and book_asks else "no_midpoint"
        why = {reason: orders - yes} if orders > yes else {}
        self._export(m, yes, why, est.usd_per_day, prog.daily_usd)
        return RewardInfo(eligible=True, daily_usd=prog.daily_usd, orders=orders,
                          scoring_orders=yes, not_scoring=why, share=est.share,
                          est_usd_per_day=est.usd_per_day, checked_ns=now,
                          kind="kalshi_liquidity", scored_by="estimate",
                          target_size=prog.target_size, discount=prog.discount)

    def _export(self, m: str, scoring: int, why: dict[str, int], usd: float,
                pool: float) -> None:
        metrics.REWARD_ORDERS.labels(venue=self.venue, market=m, state="scoring").set(scoring)
        for reason in REASONS:
            metrics.REWARD_ORDERS.labels(venue=self.venue, market=m, state=reason).set(
                why.get(reason, 0))
        metrics.REWARD_EST.labels(venue=self.venue, market=m).set(usd)
        metrics.REWARD_POOL.labels(venue=self.venue, market=m).set(pool)
