"""The signals inside `engine.step`: one action per market, the ladder it gives, config
(master switch, per-market overrides, errors naming the field) and the backtest switch."""

from __future__ import annotations

import math

import msgspec
import pytest

from common.config import Config, MarketConfig, QuotingConfig, parse
from common.errors import ConfigError
from common.messages import Level
from common.signal_config import SignalsConfig
from research import runner
from research.backtest import BacktestParams, with_signals
from strategy.engine import step
from strategy.model import Book, EngineInputs, EngineState, MarketInfo, TradeTick
from strategy.signals import threshold

TICK = 100
T0 = 1_800_000_000 * 10**9
S = 10**9
MS = 10**6


def book(mid: int, bid_size: int = 10_000, ask_size: int = 10_000) -> Book:
    return Book(tick=TICK, bids=(Level(mid - 100, bid_size),), asks=(Level(mid + 100, ask_size),))


def on(**signals: object) -> QuotingConfig:
    """Signals on with only the named tables changed (all others at their defaults)."""
    base = msgspec.to_builtins(SignalsConfig(enabled=True))
    for name, table in signals.items():
        base[name] = base[name] | table if isinstance(table, dict) else table
    return msgspec.convert({"signals": base, "vol_mult": 0.0}, QuotingConfig)


def run(params: QuotingConfig, books: list[Book], *, market: MarketInfo = MarketInfo(),
        trades: dict[int, tuple[TradeTick, ...]] | None = None, step_ns: int = 100 * MS,
        reference: list[float] | None = None):  # type: ignore[no-untyped-def]
    state = EngineState()
    decision = None
    for i, b in enumerate(books):
        now = T0 + i * step_ns
        ref = reference[i] if reference else None
        inputs = EngineInputs(book=b, trades=(trades or {}).get(i, ()), reference=ref,
                              reference_ts_ns=now if ref else 0)
        state, decision = step(state, inputs, params, market, now)
    assert decision is not None
    return state, decision


def test_signals_off_leave_every_decision_as_before() -> None:
    books = [book(5000 + 100 * (i % 3)) for i in range(30)]
    plain = QuotingConfig()
    explicit_off = msgspec.structs.replace(plain, signals=SignalsConfig(enabled=False))
    _, a = run(plain, books)
    _, b = run(explicit_off, books)
    assert a == b and a.action == "both" and a.signals == () and a.market_regime == ""


def test_quiet_market_with_signals_on_quotes_both_sides_like_off() -> None:
    books = [book(5000)] * 50
    _, off = run(msgspec.structs.replace(on(), signals=SignalsConfig()), books)
    _, quiet = run(on(book_imbalance={"enabled": False}), books)
    assert quiet.action == "both" and quiet.ladder == off.ladder
    names = [r.name for r in quiet.signals]
    assert names == ["vol_spike", "momentum", "toxicity", "volume_spike", "regime", "resolution"]
    assert not any(r.active for r in quiet.signals)


def test_news_jump_widens_the_ladder() -> None:
    books = [book(5000)] * 60 + [book(5000 + 100 * k) for k in range(1, 5)]
    _, off = run(msgspec.structs.replace(on(), signals=SignalsConfig()), books)
    _, d = run(on(momentum={"enabled": False}, regime={"enabled": False}), books)
    widen = SignalsConfig().vol_spike.widen
    assert d.action == "widen" and d.widen_bid == d.widen_ask == widen
    assert d.bids[0].price < off.bids[0].price and d.asks[0].price > off.asks[0].price
    assert any(r.name == "vol_spike" and r.active for r in d.signals)


def test_momentum_quotes_bid_only_in_a_steep_rise() -> None:
    books = [book(5000)] * 100 + [book(5000 + 100 * k) for k in range(1, 15)]
    _, d = run(on(vol_spike={"enabled": False}, regime={"enabled": False}), books)
    assert d.action == "bid_only" and d.asks == () and d.bids


def test_volume_spike_pulls_both_sides_but_keeps_exit_orders() -> None:
    n = 700
    books = [book(5000)] * n
    trades = {i: (TradeTick(T0 + i * 100 * MS, 5000, 100, 1 if i % 2 else -1),)
              for i in range(0, n - 1, 10)}
    trades[n - 1] = (TradeTick(T0 + (n - 1) * 100 * MS, 5100, 100_000, 1),)
    resolves = T0 + (n - 1) * 100 * MS + 600 * S  # inside exit_window_s (900 s)
    params = msgspec.structs.replace(on(), max_inventory=100.0)
    state = EngineState()
    d = None
    for i, b in enumerate(books):
        now = T0 + i * 100 * MS
        inputs = EngineInputs(book=b, trades=trades.get(i, ()), net_centi=9_000)
        state, d = step(state, inputs, params, MarketInfo(resolves_at_ns=resolves), now)
    assert d is not None
    assert d.action == "pull" and d.bids == () and d.asks == ()
    assert d.ladder.exit_asks  # long 90 of max 100 near resolution: still exiting
    assert any(r.name == "volume_spike" and r.active for r in d.signals)


def test_final_window_before_resolution_pulls() -> None:
    market = MarketInfo(resolves_at_ns=T0 + 30 * S)
    _, d = run(on(), [book(5000)], market=market)
    assert d.action == "pull" and d.bids == () and d.asks == ()
    _, far = run(on(), [book(5000)], market=MarketInfo(resolves_at_ns=T0 + 10 * 86_400 * S))
    assert far.bids and far.asks


def test_book_imbalance_nudges_fair_value() -> None:
    heavy = Book(tick=TICK, bids=(Level(4900, 90_000),), asks=(Level(5100, 10_000),))
    _, d = run(on(), [heavy], market=MarketInfo())
    _, off = run(msgspec.structs.replace(on(), signals=SignalsConfig()), [heavy])
    weight = SignalsConfig().book_imbalance.weight
    assert d.fv_nudge == pytest.approx(weight * 0.8 * 100) and d.fair_value > off.fair_value


def test_threshold_fair_value_follows_the_reference_not_the_book() -> None:
    market = MarketInfo(resolves_at_ns=T0 + 3600 * S, reference="BTC", strike=100_000.0)
    params = msgspec.convert({"fv_method": "threshold", "vol_mult": 0.0,
                              "signals": {"threshold": {"annual_vol": 0.6}}}, QuotingConfig)
    _, d = run(params, [book(5000)], market=market, reference=[101_000.0])
    sig = 0.6 / math.sqrt(threshold.SECONDS_PER_YEAR)
    p = threshold.probability(101_000.0, 100_000.0, 3600.0, sig)
    assert p > 0.8 and d.fair_value == round(p * 10_000)
    assert d.bids[0].price < d.asks[0].price  # post-only: behind the stale book's ask
    assert [r.name for r in d.signals] == ["threshold"]  # master switch off: only threshold
    _, fallback = run(params, [book(5000)], market=market)  # no reference: weighted mid
    assert fallback.fair_value == 5000 and fallback.signals[0].note == "no fresh reference"


def test_lead_lag_needs_a_reference_market_and_a_fresh_reading() -> None:
    params = on(lead_lag={"sensitivity": 5.0, "lag_s": 2.0}, book_imbalance={"enabled": False})
    books = [book(5000)] * 20
    refs = [100.0] * 19 + [101.0]
    _, d = run(params, books, market=MarketInfo(reference="BTC"), reference=refs)
    assert d.fv_nudge > 0 and d.fair_value > 5000
    _, none = run(params, books, market=MarketInfo(), reference=refs)  # market has no feed
    assert none.fv_nudge == 0.0


def test_lead_lag_runs_by_default_on_a_market_with_a_reference() -> None:
    """Configuring the feed is the opt-in: the master switch stays off, the other signals
    with it; `lead_lag.enabled = false` turns it off."""
    params = msgspec.convert({"signals": {"lead_lag": {"sensitivity": 5.0, "lag_s": 2.0}}}, QuotingConfig)
    assert not params.signals.enabled
    books = [book(5000)] * 20
    refs = [100.0] * 19 + [101.0]
    market = MarketInfo(reference="BTC")
    _, d = run(params, books, market=market, reference=refs)
    assert d.fv_nudge > 0 and [r.name for r in d.signals] == ["lead_lag"]
    off = msgspec.convert({"signals": {"lead_lag": {"sensitivity": 5.0, "lag_s": 2.0, "enabled": False}}},
                          QuotingConfig)
    _, none = run(off, books, market=market, reference=refs)
    assert none.fv_nudge == 0.0 and none.signals == ()
    _, plain = run(params, books, market=MarketInfo(), reference=refs)  # no feed: as before
    assert plain.fv_nudge == 0.0 and plain.signals == ()


# --- config ------------------------------------------------------------------------------------

TOML = """
[quoting.signals]
enabled = true
[quoting.signals.vol_spike]
ratio = 5.0
[[markets]]
id = "m1"
venue = "kalshi"
venue_market = "K-1"
quoting = {signals = {vol_spike = {widen = 3.0}}}
[[markets]]
id = "m2"
venue = "kalshi"
venue_market = "K-2"
quoting = {signals = {enabled = false}}
"""


def test_per_market_overrides_merge_nested_signal_tables() -> None:
    cfg: Config = parse(TOML)
    m1 = cfg.quoting_for(cfg.market("m1")).signals
    assert m1.enabled and m1.vol_spike.ratio == 5.0 and m1.vol_spike.widen == 3.0
    assert not cfg.quoting_for(cfg.market("m2")).signals.enabled
    assert cfg.quoting_for(cfg.market("m2")).signals.vol_spike.ratio == 5.0


@pytest.mark.parametrize(("text", "needle"), [
    ("[quoting.signals.vol_spike]\nratio = 0.5", "$.quoting.signals.vol_spike.ratio"),
    ("[quoting.signals.momentum]\nfast_s = 30.0\nslow_s = 10.0", "fast_s must be shorter"),
    ("[quoting.signals]\nbogus = 1", "bogus"),
    ("[quoting.signals.toxicity]\nthreshold = 1.5", "$.quoting.signals.toxicity.threshold"),
])
def test_bad_signal_config_names_the_field(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(text)
    assert needle in str(exc.value)


def test_bad_per_market_signal_override_names_the_market() -> None:
    cfg = parse(TOML)
    bad = msgspec.structs.replace(cfg.market("m1"), quoting={"signals": {"regime": {"window": 1}}})
    with pytest.raises(ConfigError, match=r"markets\[m1\]\.quoting"):
        cfg.quoting_for(bad)


def test_backtest_signals_switch() -> None:
    q = QuotingConfig()
    assert with_signals(q, "on").signals.enabled
    assert not with_signals(with_signals(q, "on"), "off").signals.enabled
    assert q.signals.lead_lag.enabled and not with_signals(q, "off").signals.lead_lag.enabled
    assert with_signals(q, "on").signals.lead_lag.enabled
    assert with_signals(q, "config") is q
    kw = {"scenario_overrides": {"duration_s": 120.0}}
    a = runner.summary(runner.run_scenario("news_jump", 3, params=BacktestParams(signals="on"),
                                           **kw))  # type: ignore[arg-type]
    b = runner.summary(runner.run_scenario("news_jump", 3, params=BacktestParams(signals="on"),
                                           **kw))  # type: ignore[arg-type]
    off = runner.summary(runner.run_scenario("news_jump", 3, **kw))  # type: ignore[arg-type]
    a.pop("events_per_sec"), b.pop("events_per_sec"), off.pop("events_per_sec")
    assert a == b and a["signals"] == "on" and off["signals"] == "off"
    assert a != off


def test_market_config_satisfies_the_engine_market_protocol() -> None:
    m = MarketConfig(id="x", venue="kalshi", venue_market="K", reference="BTC", strike=5.0)
    _, d = run(on(), [book(5000)], market=m)  # type: ignore[arg-type]
    assert d.bids and d.asks


def test_signals_compare_rows_and_table() -> None:
    from research.compare import compare, table

    quoting = {"spread": 0.01, "vol_mult": 0.0}  # at the touch, so two minutes fill it
    rows = compare(["news_jump"], [1, 2], overrides=quoting,
                   scenario_overrides={"duration_s": 120.0})
    (row,) = rows
    assert row["scenario"] == "news_jump" and row["seeds"] == 2 and 0 <= row["helped"] <= 2
    for col in ("markout_60s", "per_contract", "adverse_60s", "edge_0s", "pnl", "fills"):
        assert f"{col}_off" in row and f"{col}_on" in row
    assert row["adverse_60s_off"] <= 0 and row["adverse_60s_on"] <= 0
    assert row["fills_off"] > 0
    again = compare(["news_jump"], [1, 2], overrides=quoting,
                    scenario_overrides={"duration_s": 120.0})
    assert again == rows  # deterministic
    text = table(rows)
    assert text.splitlines()[0].startswith("| scenario | seeds | markout_60s")
    assert f"| news_jump | 2 | {row['markout_60s_off']} / {row['markout_60s_on']} |" in text


def test_backtester_feeds_a_markets_reference_to_the_engine() -> None:
    from common.messages import BookSnapshot, ReferencePrice
    from research.backtest import Backtester, MarketSetup

    params = on(lead_lag={"sensitivity": 5.0, "lag_s": 2.0}, book_imbalance={"enabled": False})

    def events(with_ref: bool):  # type: ignore[no-untyped-def]
        for k in range(30):
            ts = T0 + k * 100 * MS
            if with_ref:
                yield ts, ReferencePrice(feed="BTC", ts_ns=ts, price=100.0 if k < 25 else 101.0), None
            yield ts + 1, BookSnapshot(venue="kalshi", market="m", seq=k + 1, ts_recv_ns=ts,
                                       ts_venue_ms=ts // MS, tick=TICK,
                                       bids=(Level(4900, 10_000),),
                                       asks=(Level(5100, 10_000),)), None

    def best_bid(with_ref: bool) -> int | None:
        setup = MarketSetup(market="m", quoting=params, info=MarketInfo(reference="BTC"))
        bt = Backtester([setup], BacktestParams(signals="config"))
        result = bt.run(events(with_ref))
        assert (result.markets["m"].reference is not None) == with_ref
        return bt.venue.resting("m")[0]

    assert best_bid(False) == 4800
    assert best_bid(True) == 5000  # fair value +5 cents: the bid joins one tick under the ask
