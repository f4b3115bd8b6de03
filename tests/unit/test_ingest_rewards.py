"""Ingest's reward programme poller (services/ingest/rewards.py) with a hand-written source."""

from __future__ import annotations

import asyncio

from common.errors import VenueError
from common.messages import RewardProgramme
from common.reward_programmes import AnyProgramme, KalshiProgramme, Programme, from_message
from services.ingest.rewards import RewardPoller

PROG = Programme(max_spread=300, min_size=2_000, daily_usd=100.0)


class Source:
    def __init__(self) -> None:
        self.answer: dict[str, AnyProgramme | None] | None = {"a": PROG, "b": None}
        self.reads = 0

    async def read(self) -> dict[str, AnyProgramme | None]:
        self.reads += 1
        if self.answer is None:
            raise VenueError("rewards: HTTP 503", definitive=False)
        return self.answer


def test_programmes_are_read_when_due_and_published_every_time() -> None:
    source, sent, now = Source(), [], [0.0]

    async def publish(msg: RewardProgramme) -> None:
        sent.append(msg)

    poller = RewardPoller("polymarket", source, ["a", "b"], publish, refresh_s=300,
                          republish_s=30, clock=lambda: now[0], wall_ns=lambda: 5)
    asyncio.run(poller.once())
    assert source.reads == 1 and [(m.market, from_message(m)) for m in sent] == [
        ("a", PROG), ("b", None)]
    assert sent[1].kind == ""  # "no programme" is said too: a programme that ends is seen
    now[0] = 30.0
    asyncio.run(poller.once())  # not due: the known ones go again
    assert source.reads == 1 and len(sent) == 4
    now[0] = 300.0
    source.answer = None  # due, and the read fails: the last ones stand
    asyncio.run(poller.once())
    assert source.reads == 2 and from_message(sent[-2]) == PROG


def test_nothing_is_published_before_a_first_read_succeeds_and_it_is_retried() -> None:
    source, sent = Source(), []
    source.answer = None

    async def publish(msg: RewardProgramme) -> None:
        sent.append(msg)

    poller = RewardPoller("kalshi", source, ["a"], publish, refresh_s=300, republish_s=1,
                          clock=lambda: 0.0)
    asyncio.run(poller.once())
    assert sent == [] and source.reads == 1
    source.answer = {"a": PROG}  # the venue is up now: the next tick reads, not in 300 s
    asyncio.run(poller.once())
    assert source.reads == 2 and [from_message(m) for m in sent] == [PROG]


def test_the_message_carries_either_venues_programme_both_ways() -> None:
    from common.reward_programmes import to_message

    kalshi = KalshiProgramme(target_size=30_000, discount=0.5, daily_usd=50.0)
    for prog in (PROG, kalshi, None):
        assert from_message(to_message("kalshi", "m", 1, prog)) == prog


def test_a_market_left_out_of_a_read_keeps_its_programme_and_a_garbled_page_is_an_error() -> None:
    import pytest

    from services.ingest.rewards import _page

    source, sent = Source(), []

    async def publish(msg: RewardProgramme) -> None:
        sent.append(msg)

    poller = RewardPoller("polymarket", source, ["a", "b"], publish, refresh_s=0,
                          republish_s=1)
    asyncio.run(poller.once())
    source.answer = {"b": PROG}  # "a" could not be read this time
    asyncio.run(poller.once())
    assert poller.programmes == {"a": PROG, "b": PROG}
    with pytest.raises(VenueError, match="without a data list"):
        _page({"data": "oops"}, "data")
    assert _page({"data": [], "next_cursor": "LTE="}, "data")["data"] == []


def test_a_recorded_programme_reaches_the_backtests_engine() -> None:
    from research.backtest import Backtester, BacktestParams, MarketSetup
    from research.runner import quoting_for

    bt = Backtester([MarketSetup(market="m", quoting=quoting_for(None, "m", {}))],
                    BacktestParams())
    bt._on_event(1, RewardProgramme(venue="polymarket", market="m", ts_ns=1, kind="polymarket",
                                    daily_usd=100.0, max_spread=300, min_size=2_000), None)
    assert bt.runs["m"].setup.reward == PROG
