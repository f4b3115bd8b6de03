"""The executor's reward loop (services/executor/rewards.py) and the programme decoding
(polymarket_rewards.py), with a hand-written reward source."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from common import metrics
from common.errors import VenueError
from common.messages import BookSnapshot, Level
from services.control import render
from services.control.state import _reward
from services.executor.orders import LiveOrder, MarketTokens
from common.reward_programmes import polymarket_programme as programme_of
from common.reward_programmes import to_message
from services.executor.rewards import RewardWatch
from strategy.rewards import Programme
from tests.support.executor import FakeVenue, ready_actor

TODAY = dt.date(2026, 12, 8)
PROG = Programme(max_spread=300, min_size=2_000, daily_usd=100.0)
TOKENS = MarketTokens(market="m1", venue_market="0xc1", yes_token="Y1", no_token="N1", tick=100,
                      min_size=500)


def _row(**over: object) -> dict[str, object]:
    """A row as polymarket-client 0.14.0's MarketReward reads it."""
    return {"condition_id": "0xC1", "question": "q", "rewards_max_spread": 3,
            "rewards_min_size": 20, "market_competitiveness": 0.5, "tokens": [],
            "rewards_config": [
                {"asset_address": "0xc0", "start_date": "2026-12-01", "end_date": "2500-12-31",
                 "rate_per_day": 60, "total_rewards": 1000},
                {"asset_address": "0xc0", "start_date": "2026-12-01T00:00:00Z",
                 "end_date": None, "rate_per_day": "40.5"},
                {"asset_address": "0xc0", "start_date": "2026-11-01", "end_date": "2026-11-30",
                 "rate_per_day": 999}]} | over


def test_a_programme_is_its_band_its_minimum_and_the_funding_running_today() -> None:
    assert programme_of([_row()], "0xc1", TODAY) == Programme(max_spread=300, min_size=2_000,
                                                             daily_usd=100.5)
    assert programme_of([_row(condition_id="0xother")], "0xc1", TODAY) is None
    assert programme_of([_row(rewards_max_spread=None)], "0xc1", TODAY) is None
    assert programme_of([_row(rewards_config=[])], "0xc1", TODAY) is None
    assert programme_of([], "0xc1", TODAY) is None
    with pytest.raises(msgspec.ValidationError):
        programme_of([{"rewards_max_spread": 3}], "0xc1", TODAY)


class Source:
    def __init__(self) -> None:
        self.answer: dict[str, bool] | None = {}
        self.asked: list[list[str]] = []

    async def scoring(self, order_ids: Sequence[str]) -> dict[str, bool]:
        self.asked.append(list(order_ids))
        if self.answer is None:
            raise VenueError("orders-scoring: 503", definitive=False)
        return self.answer


def _order(oid: str, token: str, price: int, size: int) -> LiveOrder:
    return LiveOrder(order_id=oid, market="m1", token=token, outcome="YES" if token == "Y1"
                     else "NO", side="BUY", price=price, size=size)


def test_each_order_scores_or_has_a_reason_and_the_share_is_estimated() -> None:
    source = Source()
    watch = RewardWatch("polymarket", source, {"m1": TOKENS}, lambda: 7)
    watch.on_programme(to_message("polymarket", "m1", 1, PROG))  # from the md bus
    watch.on_book(BookSnapshot(venue="polymarket", market="m1", seq=1, ts_recv_ns=1,
                               ts_venue_ms=1, tick=100,
                               bids=(Level(4_900, 6_000), Level(4_500, 3_000)),
                               asks=(Level(5_100, 6_000),)))
    live = [_order("near", "Y1", 4_900, 3_000),        # 1 cent under the mid of 0.50
            _order("ask", "N1", 4_900, 3_000),         # the YES ask at 0.51
            _order("small", "Y1", 4_800, 1_000),       # under 20 shares (not in the book)
            _order("far", "Y1", 4_500, 3_000),         # 5 cents away: outside 3
            _order("young", "N1", 4_800, 2_000)]       # in the band, the venue says no
    source.answer = {"near": True, "ask": True}
    asyncio.run(watch.check(lambda: live))
    info = watch.info["m1"]
    assert source.asked == [["near", "ask", "small", "far", "young"]]
    assert (info.eligible, info.orders, info.scoring_orders) == (True, 5, 2)
    assert info.not_scoring == {"below_min_size": 1, "outside_max_spread": 1, "venue": 1}
    assert 0 < info.share < 1 and info.est_usd_per_day == pytest.approx(100 * info.share)
    assert metrics.REWARD_ORDERS.labels(venue="polymarket", market="m1",
                                        state="venue")._value.get() == 1
    doc = _reward(info)
    assert doc["scoring"] and doc["max_spread"] == 0.03 and doc["min_size"] == 20.0
    assert render.reward_line(doc).startswith(
        "rewards: pool $100.00/day within 3.0c of the mid, min 20; 2 of 5 orders scoring "
        "(not: 1 below_min_size, 1 outside_max_spread, 1 venue)")

    source.answer = None  # the venue cannot be asked: nothing is claimed to score
    asyncio.run(watch.check(lambda: live))
    assert watch.info["m1"].scoring_orders == 0
    assert watch.info["m1"].not_scoring == {"unchecked": 5}


def test_a_market_without_a_programme_is_not_eligible_and_asks_nothing() -> None:
    source = Source()
    watch = RewardWatch("polymarket", source, {"m1": TOKENS}, lambda: 7)
    watch.on_programme(to_message("polymarket", "m1", 1, PROG))
    watch.on_programme(to_message("polymarket", "m1", 2, None))  # the programme ended
    asyncio.run(watch.check(lambda: [_order("a", "Y1", 4_900, 3_000)]))
    assert watch.info["m1"].eligible is False and source.asked == []
    assert render.reward_line(_reward(watch.info["m1"])) == "rewards: no programme on this market"
    assert render.reward_line(_reward(None)) == "rewards: not checked yet"


def test_the_reward_loop_outlives_a_check_that_raises(tmp_path: Path) -> None:
    """Rewards are information: a check that raises anything is logged and counted, and
    the loop goes on (a loop that ends stops the executor and cancels every order)."""

    async def broken(live: object) -> None:
        raise RuntimeError("the SDK's worker pool is gone")

    async def scenario() -> None:
        with ready_actor(tmp_path, FakeVenue()) as actor:
            actor.rewards.check = broken  # type: ignore[method-assign]
            errors = metrics.ORDERS.labels(venue="polymarket", action="rewards",
                                           outcome="error")._value.get()
            loop = asyncio.create_task(actor._reward_loop())
            await asyncio.sleep(0.2)
            assert not loop.done()
            assert metrics.ORDERS.labels(venue="polymarket", action="rewards",
                                         outcome="error")._value.get() == errors + 1
            loop.cancel()

    asyncio.run(scenario())


def test_a_kalshi_programme_is_its_period_reward_over_its_days() -> None:
    from common.reward_programmes import kalshi_programme as kalshi_programme_of
    from strategy.rewards import KalshiProgramme

    now = dt.datetime(2026, 12, 8, 12, tzinfo=dt.UTC)
    row = {"id": "p", "market_id": "m", "market_ticker": "KX-1", "incentive_type": "liquidity",
           "incentive_description": "d", "start_date": "2026-12-07T00:00:00Z",
           "end_date": "2026-12-14T00:00:00Z", "period_reward": 3_500_000, "paid_out": False,
           "discount_factor_bps": 5_000, "target_size_fp": "300.00"}
    assert kalshi_programme_of(row, now) == ("KX-1", KalshiProgramme(
        target_size=30_000, discount=0.5, daily_usd=50.0))  # 350 USD over 7 days
    assert kalshi_programme_of(row | {"discount_factor_bps": None}, now) == (  # no discount
        "KX-1", KalshiProgramme(target_size=30_000, discount=1.0, daily_usd=50.0))
    assert kalshi_programme_of(row | {"start_date": "2026-12-07T00:00:00"}, now) is not None
    assert kalshi_programme_of(row | {"incentive_type": "volume"}, now) is None
    assert kalshi_programme_of(row | {"end_date": "2026-12-08T00:00:00Z"}, now) is None
    assert kalshi_programme_of(row | {"target_size_fp": "nan"}, now) is None
    with pytest.raises(msgspec.ValidationError):
        kalshi_programme_of(row | {"period_reward": "lots"}, now)


def test_kalshi_orders_score_by_the_programmes_rules() -> None:
    from strategy.rewards import KalshiProgramme

    watch = RewardWatch("kalshi", None, {"m1": TOKENS}, lambda: 7)  # no scoring endpoint
    watch.on_programme(to_message("kalshi", "m1", 1, KalshiProgramme(
        target_size=2_000, discount=0.5, daily_usd=50.0)))
    # YES bids 0.49 (10 ours of 15) and 0.48 (ours 10: reaches the 20-contract target),
    # 0.47 beyond it; YES ask 0.52 (NO bid at 0.48, ours 10 of 10)
    watch.on_book(BookSnapshot(venue="kalshi", market="m1", seq=1, ts_recv_ns=1,
                               ts_venue_ms=1, tick=100,
                               bids=(Level(4_900, 1_500), Level(4_800, 1_000),
                                     Level(4_700, 1_000)),
                               asks=(Level(5_200, 1_000),)))
    live = [_order("b1", "Y1", 4_900, 1_000), _order("b2", "Y1", 4_800, 1_000),
            _order("b3", "Y1", 4_700, 1_000), _order("a1", "N1", 4_800, 1_000)]
    asyncio.run(watch.check(lambda: live))
    info = watch.info["m1"]
    assert (info.kind, info.scored_by, info.scoring_orders) == ("kalshi_liquidity", "estimate", 3)
    assert info.not_scoring == {"beyond_target_size": 1}
    # bids: 15 at 1.0 + 5 (to the target) at 0.5 -> ours 10 + 5 * 10/10 * 0.5 = 12.5 of 17.5;
    # asks: 10 at 1.0, all ours -> 22.5 of 27.5
    assert info.share == pytest.approx(22.5 / 27.5)
    assert info.est_usd_per_day == pytest.approx(50.0 * 22.5 / 27.5)
    assert render.reward_line(_reward(info)).startswith(
        "rewards: Kalshi liquidity incentive $50.00/day, target 20 contracts from the best "
        "price, x0.50 a cent away; 3 of 4 orders scoring by its rules "
        "(not: 1 beyond_target_size)")
