"""Property tests of risk's running totals (services/risk/totals.py): after any sequence
of fills, reversals, books and daily resets, the incrementally kept exposure and losses
equal the sums over every market computed from scratch with the pure functions."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from common.config import Config, MarketConfig, RiskConfig, StackConfig
from common.messages import BookSnapshot, Fill, FillReversal, Level
from common.prices import ONE_DOLLAR
from services.risk.gate import RiskGate
from services.risk.journal import Journal
from services.risk.position import Position
from services.risk.totals import market_exposure, market_loss

DAY_NS = 86_400 * 1_000_000_000
MARKETS = [("a", "kalshi"), ("b", "kalshi"), ("c", "polymarket"), ("d", "polymarket")]

fill_step = st.tuples(
    st.just("fill"), st.sampled_from(["a", "b", "c", "d", "zz"]), st.sampled_from(["YES", "NO"]),
    st.sampled_from(["BUY", "SELL"]), st.integers(1, ONE_DOLLAR - 1), st.integers(1, 50_000),
    st.integers(0, 2_000),
)
book_step = st.tuples(
    st.just("book"), st.sampled_from(["a", "b", "c", "d"]), st.integers(1, ONE_DOLLAR - 2),
    st.integers(1, 2_000),
)
steps = st.lists(
    st.one_of(fill_step, book_step, st.tuples(st.just("reverse"), st.integers(0, 50)),
              st.tuples(st.just("reset"))),
    max_size=40,
)


def exposure_of(g: RiskGate, m: str) -> int:
    return market_exposure(g.positions.get(m, Position()), g.ledger.marks.get(m))


def loss_of(g: RiskGate, m: str) -> int:
    return market_loss(g.positions[m], g.ledger.marks.get(m), g.sw.loss_base.get(m, 0))


def expected(g: RiskGate) -> tuple[int, int, dict[str, int]]:
    """(exposure, total loss, venue losses) summed over every market, from scratch."""
    exposure = sum(exposure_of(g, m) for m in g.positions)
    total = sum(loss_of(g, m) for m in g.positions)
    venues = {v: sum(loss_of(g, m) for m, mv in MARKETS if mv == v and m in g.positions)
              for v in ("kalshi", "polymarket")}
    return exposure, total, venues


@settings(max_examples=150, deadline=None)
@given(steps)
def test_running_totals_equal_the_sums(seq: list[tuple[object, ...]]) -> None:
    d = Path(tempfile.mkdtemp(prefix="pmmt-", dir="/tmp"))
    cfg = Config(
        stack=StackConfig(run_dir=str(d)),
        risk=RiskConfig(daily_reset_utc="00:00", max_total_loss_usd=1e9),
        markets=[MarketConfig(id=m, venue=v, venue_market=m.upper()) for m, v in MARKETS],  # type: ignore[arg-type]
    )
    journal = Journal(d / "j.sqlite")
    clock = [DAY_NS * 20_000]
    g = RiskGate(cfg, journal, mono_ns=lambda: clock[0], wall_ns=lambda: clock[0])
    fills: list[Fill] = []
    try:
        for step in seq:
            match step:
                case ("fill", market, outcome, side, price, size, fee):
                    venue = dict(MARKETS).get(str(market), "kalshi")
                    f = Fill(venue=venue, market=market, trade_id=f"t{len(fills)}", order_id="o",  # type: ignore[arg-type]
                             outcome=outcome, side=side, price=price, size=size, fee=fee,  # type: ignore[arg-type]
                             ts_venue_ms=0, ts_recv_ns=0)
                    fills.append(f)
                    g.on_fill(f)
                case ("book", market, bid, spread):
                    ask = min(ONE_DOLLAR - 1, int(bid) + int(spread))  # type: ignore[call-overload]
                    g.on_book(BookSnapshot(venue=dict(MARKETS)[str(market)], market=market,  # type: ignore[arg-type]
                                           seq=1, ts_recv_ns=1, ts_venue_ms=1, tick=1,
                                           bids=(Level(bid, 100),), asks=(Level(ask, 100),)))  # type: ignore[arg-type]
                case ("reverse", k) if fills:
                    f = fills[int(k) % len(fills)]  # type: ignore[call-overload]
                    g.on_reversal(FillReversal(
                        venue=f.venue, market=f.market, trade_id=f.trade_id, order_id=f.order_id,
                        outcome=f.outcome, side=f.side, price=f.price, size=f.size, ts_ns=0))
                case ("reset",):
                    clock[0] += DAY_NS
                    g.check_daily_reset()
                case _:
                    pass
            exposure, total, venues = expected(g)
            totals = g.ledger.totals
            assert g.total_exposure() == exposure
            assert totals.loss_total == total
            for venue, loss in venues.items():
                assert totals.venue_losses.get(venue, 0) == loss
            for m in g.positions:
                assert totals.exposures[m] == exposure_of(g, m)
    finally:
        journal.close()
