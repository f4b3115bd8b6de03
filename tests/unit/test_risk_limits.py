"""Each risk control trips when over its limit and stays quiet inside it."""

from __future__ import annotations

import msgspec
import pytest

from common.config import MarketConfig, RiskConfig
from common.messages import Level
from services.risk.limits import REASONS, GateState, check_intent
from services.risk.losses import market_loss_breached, total_loss_breached

MARKET = MarketConfig(
    id="m", venue="kalshi", venue_market="M", max_position_usd=100.0, max_loss_usd=50.0,
    min_size=1,
)
RISK = RiskConfig(max_order_size=1000.0, max_total_exposure_usd=10_000.0, max_total_loss_usd=200.0)
BIDS = (Level(5000, 5000), Level(4900, 2500))  # 50 and 25 contracts
ASKS = (Level(5200, 5000), Level(5300, 2500))


def check(
    *, net: int = 0, market: MarketConfig = MARKET, risk: RiskConfig = RISK,
    other: int = 0, gate: GateState = GateState(),
) -> object:
    return check_intent(
        BIDS, ASKS, net=net, market=market, risk=risk, other_exposure=other, gate=gate
    )


def test_inside_every_limit_is_approved_unchanged() -> None:
    d = check()
    assert d.outcome == "approved" and d.reasons == ()
    assert d.bids == BIDS and d.asks == ASKS


@pytest.mark.parametrize(
    ("gate", "reason"),
    [
        (GateState(killed=True), "kill"),
        (GateState(paused=True), "paused"),
        (GateState(halted=True), "halted"),
        (GateState(stale=True), "stale_book"),
    ],
)
def test_switches_reject_with_an_empty_ladder(gate: GateState, reason: str) -> None:
    d = check(gate=gate)
    assert d.outcome == "rejected" and d.reasons == (reason,)
    assert d.bids == () and d.asks == ()


def test_order_size_cap_clips_and_does_not_trip_inside() -> None:
    d = check(risk=msgspec.structs.replace(RISK, max_order_size=30.0))
    assert d.outcome == "clipped" and "max_order_size" in d.reasons
    assert [lv.size for lv in d.bids] == [3000, 2500]
    assert check(risk=msgspec.structs.replace(RISK, max_order_size=50.0)).outcome == "approved"


def test_position_limit_clips_the_increasing_side_only() -> None:
    # $100 at 0.50 is 200 contracts: long 180 leaves 20 at the first bid; at 0.49 it is
    # 204.08 contracts, so 4.08 more at the second.
    d = check(net=18_000)
    assert d.outcome == "clipped" and d.reasons == ("position_limit",)
    assert d.bids == (Level(5000, 2000), Level(4900, 408))
    assert d.asks == ASKS  # reducing side untouched
    # Long 120: 80 of room covers both bid levels (50 + 25) at their prices.
    assert check(net=12_000).outcome == "approved"


def test_position_limit_on_the_short_side_counts_the_no_price() -> None:
    # An ask at 0.52 is a BUY NO at 0.48: $100 buys 208.33 contracts; at 0.53, 212.76.
    d = check(net=-20_000)
    assert d.bids == BIDS
    assert d.asks == (Level(5200, 833), Level(5300, 443))


def test_over_the_limit_keeps_reducing_levels() -> None:
    d = check(net=50_000)
    assert d.bids == () and d.asks == ASKS


def test_total_exposure_limit() -> None:
    risk = msgspec.structs.replace(RISK, max_total_exposure_usd=1000.0)
    # $990 elsewhere: $10 left is 20 contracts at 0.50 (bids) and 20.83 at 0.48 (asks);
    # the second levels get 0.40 and 0.44 more, under the 1-contract min size: dropped.
    d = check(risk=risk, other=990 * 1_000_000)
    assert d.outcome == "clipped" and d.reasons == ("exposure_limit",)
    assert d.bids == (Level(5000, 2000),)
    assert d.asks == (Level(5200, 2083),)
    assert check(risk=risk, other=900 * 1_000_000).outcome == "approved"


def test_clipped_below_min_size_is_dropped() -> None:
    market = msgspec.structs.replace(MARKET, min_size=25.0)
    d = check(net=18_000, market=market)
    assert d.bids == ()


def test_invalid_price_is_dropped() -> None:
    d = check_intent(
        (Level(0, 100),), (Level(10_000, 100),), net=0, market=MARKET, risk=RISK,
        other_exposure=0, gate=GateState(),
    )
    assert d.bids == () and d.asks == () and d.reasons == ("invalid_price",)


def test_market_loss_limit() -> None:
    assert market_loss_breached(-30_000_000, -20_000_000, MARKET)
    assert not market_loss_breached(-30_000_000, -19_999_999, MARKET)


def test_total_loss_limit() -> None:
    assert total_loss_breached(-200_000_000, RISK)
    assert not total_loss_breached(-199_999_999, RISK)


def test_reasons_are_a_bounded_set() -> None:
    for gate in (GateState(killed=True), GateState(paused=True), GateState()):
        assert set(check(gate=gate, net=50_000).reasons) <= REASONS
