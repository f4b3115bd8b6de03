"""Each ladder control trips over its limit and stays quiet inside it (pure functions)."""

from __future__ import annotations

import msgspec
import pytest

from common.config import Config, MarketConfig, RiskConfig
from common.errors import ConfigError
from common.messages import Level
from services.risk import ladder
from services.risk.losses import last_reset_ns
from services.risk.market_limits import Limits, resolve, resolve_all
from services.risk.limits import BookTop, EventContext, GateState, check_intent, throttle

MARKET = MarketConfig(id="m", venue="kalshi", venue_market="M", max_position_usd=100.0,
                      min_size=1)
RISK = RiskConfig(max_order_size=1000.0)
BIDS = (Level(4800, 1000), Level(4700, 1000))
ASKS = (Level(5200, 1000), Level(5300, 1000))


def run(bids: tuple[Level, ...] = BIDS, asks: tuple[Level, ...] = ASKS, *, net: int = 0,
        lim: Limits | None = None, risk: RiskConfig = RISK, **kw: object) -> object:
    return check_intent(bids, asks, net=net, market=MARKET, risk=risk, other_exposure=0,
                        gate=GateState(), limits=lim or resolve(risk, MARKET), **kw)  # type: ignore[arg-type]


def lim(**kw: object) -> Limits:
    return msgspec.structs.replace(resolve(RISK, MARKET), **kw)


# --- price collar ---------------------------------------------------------------------------

def test_collar_drops_a_bid_through_fair_value_and_keeps_one_inside() -> None:
    d = run((Level(5600, 100), Level(4800, 100)), (), fair_value=5000, lim=lim(price_collar=0.05))
    assert d.reasons == ("price_collar",) and d.bids == (Level(4800, 100),)
    assert run((Level(5500, 100),), (), fair_value=5000, lim=lim(price_collar=0.05)).reasons == ()


def test_collar_is_also_measured_through_the_book() -> None:
    book = BookTop(bid=3000, ask=3100)  # the book is far below fair value
    d = run((), (Level(2400, 100), Level(2600, 100)), fair_value=2000, book=book,
            lim=lim(price_collar=0.05))
    assert d.asks == (Level(2600, 100),) and d.reasons == ("price_collar",)
    d = run((Level(3700, 100),), (), fair_value=5000, book=book, lim=lim(price_collar=0.05))
    assert d.bids == () and "price_collar" in d.reasons
    assert run((Level(3600, 100),), (), fair_value=5000, book=book,
               lim=lim(price_collar=0.05)).reasons == ()


# --- self-cross -----------------------------------------------------------------------------

def test_self_cross_on_one_ladder_drops_the_growing_side() -> None:
    bids, asks = (Level(5200, 100), Level(4800, 100)), (Level(5000, 100), Level(5300, 100))
    long = run(bids, asks, net=500)
    assert long.bids == (Level(4800, 100),) and long.asks == asks  # reducing asks kept
    short = run(bids, asks, net=-500)
    assert short.bids == bids and short.asks == (Level(5300, 100),)
    flat = run(bids, asks)
    assert flat.bids == (Level(4800, 100),) and flat.asks == (Level(5300, 100),)
    assert "self_cross" in flat.reasons
    assert run().reasons == ()  # 0.48 / 0.52 does not cross


def test_self_cross_across_the_markets_of_one_event() -> None:
    event = EventContext(bids=(5000,), asks=(5100,))  # another venue's live quotes
    d = run((Level(5100, 100), Level(5000, 100)), (Level(5000, 100), Level(5200, 100)),
            event=event)
    assert d.bids == (Level(5000, 100),) and d.asks == (Level(5200, 100),)
    assert d.reasons == ("self_cross",)
    assert run(event=EventContext(bids=(4700,), asks=(5300,))).reasons == ()


# --- min spread, max orders -----------------------------------------------------------------

def test_min_spread_drops_the_growing_side_and_passes_a_wide_ladder() -> None:
    bids, asks = (Level(4950, 100), Level(4800, 100)), (Level(5000, 100), Level(5200, 100))
    d = run(bids, asks, net=100, lim=lim(min_spread=0.02))
    assert d.reasons == ("min_spread",)
    assert d.bids == (Level(4800, 100),) and d.asks == asks
    flat = run(bids, asks, lim=lim(min_spread=0.02))
    assert flat.bids == (Level(4800, 100),) and flat.asks == (Level(5200, 100),)
    assert run(lim=lim(min_spread=0.04)).reasons == ()  # 0.48 / 0.52 is 4c wide


def test_max_orders_drops_the_deepest_levels_growing_side_first() -> None:
    d = run(net=100, lim=lim(max_orders=3))
    assert d.reasons == ("max_orders",) and d.bids == BIDS[:1] and d.asks == ASKS
    d = run(lim=lim(max_orders=2))
    assert len(d.bids) == 1 and len(d.asks) == 1
    assert run(lim=lim(max_orders=4)).reasons == ()


# --- position in contracts, event limit -----------------------------------------------------

def test_position_limit_in_contracts_clips_and_keeps_the_reducing_side() -> None:
    d = run(net=1500, lim=lim(max_position_contracts=20.0))
    assert d.bids == (Level(4800, 500),) and d.asks == ASKS
    assert d.reasons == ("position_contracts",)
    assert run(net=0, lim=lim(max_position_contracts=20.0)).reasons == ()


def test_event_limit_counts_the_other_venue_s_position() -> None:
    risk = msgspec.structs.replace(RISK, max_event_position_usd=50.0)
    # 90 long YES on the other venue + 10 at 0.48 = 100; $50 at 0.47 is 106.38: 6.38 more.
    d = run(risk=risk, event=EventContext(other_net=9000))
    assert d.reasons == ("event_limit",) and d.bids == (Level(4800, 1000), Level(4700, 638))
    assert d.asks == ASKS
    assert run(risk=risk, event=EventContext(other_net=-9000)).bids == BIDS  # reduces the event
    assert run(risk=risk, event=EventContext(other_net=0)).reasons == ()


# --- exits and flatten ----------------------------------------------------------------------

def test_exit_orders_only_reduce_and_never_pass_flat() -> None:
    d = run((), (), net=1500, exit_asks=(Level(4800, 1000), Level(4700, 1000)),
            exit_bids=(Level(5200, 100),))
    assert d.exit_asks == (Level(4800, 1000), Level(4700, 500)) and d.exit_bids == ()
    assert d.reasons == ("exit_clip",)
    ok = run((), (), net=1500, exit_asks=(Level(4800, 1500),))
    assert ok.exit_asks == (Level(4800, 1500),) and ok.reasons == ()


def test_flatten_orders_cross_at_the_book_in_clips() -> None:
    lm = lim(max_order_size=10.0)
    assert ladder.flatten_orders(2500, book_bid=4800, book_ask=5000, lim=lm) == (
        (), (Level(4800, 1000),))
    assert ladder.flatten_orders(-300, book_bid=4800, book_ask=5000, lim=lm) == (
        (Level(5000, 300),), ())
    assert ladder.flatten_orders(0, book_bid=4800, book_ask=5000, lim=lm) == ((), ())
    assert ladder.flatten_orders(300, book_bid=0, book_ask=5000, lim=lm) == ((), ())


def test_flattening_market_rejects_quotes() -> None:
    d = check_intent(BIDS, ASKS, net=0, market=MARKET, risk=RISK, other_exposure=0,
                     gate=GateState(flattening=True))
    assert d.outcome == "rejected" and d.reasons == ("flatten",)


# --- throttle -------------------------------------------------------------------------------

def test_throttle_allows_a_burst_then_the_rate() -> None:
    tokens, last, now, allowed = 3.0, 0, 0, []
    for _ in range(5):
        ok, tokens, last = throttle(tokens, last, now, 10.0, 3)
        allowed.append(ok)
    assert allowed == [True, True, True, False, False]
    ok, tokens, last = throttle(tokens, last, now + 100_000_000, 10.0, 3)  # 0.1 s: one token
    assert ok
    assert throttle(0.0, 0, 0, 0.0, 3)[0]  # rate 0: off


# --- config: global, venue, market ----------------------------------------------------------

def test_limits_resolve_global_then_venue_then_market() -> None:
    risk = RiskConfig(max_order_size=100.0, price_collar=0.03,
                      venues={"kalshi": {"max_order_size": 50.0, "max_position_usd": 400.0}},
                      markets={"m": {"price_collar": 0.01}})
    lm = resolve(risk, msgspec.structs.replace(MARKET, max_position_usd=1000.0))
    assert (lm.max_order_size, lm.price_collar, lm.max_position_usd) == (50.0, 0.01, 400.0)
    other = resolve(risk, MarketConfig(id="p", venue="polymarket", venue_market="P",
                                       yes_token="y", no_token="n"))
    assert (other.max_order_size, other.price_collar) == (100.0, 0.03)


@pytest.mark.parametrize(("risk", "needle"), [
    (RiskConfig(markets={"m": {"price_colar": 0.01}}), 'risk.markets."m"'),
    (RiskConfig(markets={"m": {"price_collar": -1}}), "price_collar"),
    (RiskConfig(venues={"kalshi": {"max_orders": "x"}}), "risk.venues.kalshi"),
    (RiskConfig(markets={"nope": {}}), "no such market"),
])
def test_bad_override_tables_name_the_field(risk: RiskConfig, needle: str) -> None:
    cfg = Config(risk=risk, markets=[MARKET])
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.").replace('"', '"')):
        resolve_all(cfg)


def test_daily_reset_boundary() -> None:
    day = 1_780_000_000 * 1_000_000_000  # 2026-05-28 20:26:40 UTC
    assert last_reset_ns(day, "20:00") == day - (26 * 60 + 40) * 1_000_000_000
    assert last_reset_ns(day, "21:00") == day - (23 * 3600 + 26 * 60 + 40) * 1_000_000_000
