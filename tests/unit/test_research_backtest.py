"""The backtester: required metrics, bit-for-bit determinism, scenarios reproducible from a
seed, recordings giving the same run as the scenario (open loop) they hold, the CLI's one
JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import ConfigError
from research import runner, scenarios
from research.backtest import BacktestParams
from services.control import cli

SHORT = {"duration_s": 120.0}
TRADES = {"spread": 0.01, "vol_mult": 0.0}
"""A config that quotes at the touch, so two minutes of a scenario fill it."""
REQUIRED = {"pnl_usd", "sharpe_1m", "max_drawdown_usd", "fills", "fill_rate", "max_abs_inventory",
            "markout_1s_usd", "markout_10s_usd", "markout_60s_usd", "adverse_selection_usd",
            "adverse_share", "time_at_top", "events_per_sec"}


def _summary(name: str, seed: int, overrides: dict[str, float] = TRADES,
             **kw: object) -> dict[str, object]:
    out = runner.summary(runner.run_scenario(name, seed, scenario_overrides=SHORT,  # type: ignore[arg-type]
                                             overrides=overrides, **kw), markets=True)
    out.pop("events_per_sec")
    return out


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_every_scenario_runs_and_reports_the_required_metrics(name: str) -> None:
    result = runner.run_scenario(name, 1, scenario_overrides=SHORT)
    summ = runner.summary(result)
    assert REQUIRED <= set(summ)
    assert summ["events"] > 500
    assert summ["markout_ref"] == "true"


def test_same_data_and_config_give_the_same_results_bit_for_bit() -> None:
    a, b = _summary("toxic_flow", 3), _summary("toxic_flow", 3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["fills"] > 0


def test_a_scenario_is_reproducible_from_its_seed_and_differs_across_seeds() -> None:
    spec = scenarios.spec("calm", **SHORT)
    first = [(t.ts_ns, t.msg, t.true_price) for t in scenarios.generate(spec, 5)]
    again = [(t.ts_ns, t.msg, t.true_price) for t in scenarios.generate(spec, 5)]
    other = [(t.ts_ns, t.msg, t.true_price) for t in scenarios.generate(spec, 6)]
    assert first == again
    assert first != other


def test_parameters_change_the_outcome() -> None:
    base = _summary("calm", 1)
    wide = _summary("calm", 1, overrides={**TRADES, "spread": 0.05, "max_spread": 0.1})
    assert wide["fills"] < base["fills"]


def test_a_recorded_scenario_backtests_like_the_scenario_without_us_in_it(
        tmp_path: Path) -> None:
    """A recording is the market without us (open loop); the scenario run is closed loop
    (our quotes are in the book the market trades against), so only the open run equals it."""
    runner.write_scenario("news_jump", 4, tmp_path, SHORT)
    from_data = runner.summary(runner.run_data(tmp_path, overrides=TRADES), markets=True)
    from_data.pop("events_per_sec")
    assert from_data["fills"], "a run without fills would make every comparison trivial"
    # a recording carries no reward programme; the scenario runs one (its pool is counted)
    open_loop = _summary("news_jump", 4, closed_loop=False)
    assert from_data.pop("reward_usd") == 0.0 < open_loop.pop("reward_usd")
    assert from_data.pop("total_usd") == from_data["pnl_usd"]
    open_loop.pop("total_usd")
    assert from_data.pop("time_scoring") == 0.0
    open_loop.pop("time_scoring")
    assert from_data == open_loop
    assert from_data != _summary("news_jump", 4)


def test_latency_and_fees_are_applied() -> None:
    fee = _summary("calm", 1, params=BacktestParams(maker_fee_bps=10.0))
    assert fee["fees_usd"] > 0  # type: ignore[operator]
    assert fee["pnl_usd"] < _summary("calm", 1)["pnl_usd"]  # type: ignore[operator]


def test_unknown_scenario_and_bad_override_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        runner.run_scenario("nope", 1)
    with pytest.raises(ConfigError, match="spread"):
        runner.run_scenario("calm", 1, overrides={"spread": 7.0}, scenario_overrides=SHORT)


def test_pmm_backtest_json_prints_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["backtest", "--scenario", "calm", "--seed", "1", "--json",
                     "--set", "size=20"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert REQUIRED <= set(json.loads(out[0]))


def test_duration_s_sets_the_scenario_length_and_a_bad_one_is_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    def events(seconds: str) -> int:
        assert cli.main(["backtest", "--scenario", "calm", "--json", "--duration-s", seconds]) == 0
        return int(json.loads(capsys.readouterr().out)["events"])

    assert 1.8 < events("60") / events("30") < 2.2
    assert cli.main(["backtest", "--scenario", "calm", "--duration-s", "0"]) == 2
    assert "--duration-s must be in [1, 86400] seconds, got 0.0" in capsys.readouterr().err
    assert cli.main(["backtest", "--data", "rec", "--duration-s", "60"]) == 2
    assert "--duration-s and --reward-usd-per-day apply to --scenario only" in \
        capsys.readouterr().err
    assert cli.main(["backtest", "--scenario", "calm", "--response-ms", "-1"]) == 2
    assert "--response-ms must be >= 0, got -1" in capsys.readouterr().err


def test_sharpe_1m_is_mean_over_sd_of_minute_increments_unscaled() -> None:
    from research import metrics

    sec = 1_000_000_000
    ts = [k * sec for k in range(0, 241)]  # 4 minutes of 1-second samples
    # P&L steps at each minute: increments 10, 30, 20, 40 (mean 25, sd 12.91)
    pnl = [[0, 10, 40, 60, 100][k // 60] for k in range(241)]
    assert metrics._every(ts, pnl, 60) == [0, 10, 40, 60, 100]
    assert metrics._sharpe([0, 10, 40, 60, 100]) == pytest.approx(25 / 12.909944, rel=1e-6)
    gap = [0, 61 * sec, 125 * sec]  # no sample in the 2nd minute: the held value repeats
    assert metrics._every(gap, [0, 5, 9], 60) == [0, 0, 5]


def test_adverse_selection_and_time_at_top_on_a_run_built_by_hand() -> None:
    """Two fills: a bid filled at 0.48 with the mid at 0.50 that falls to 0.45 within the
    minute (2 c captured, then 3 c lost: 5 c taken back), an ask at 0.47 with the mid at
    0.45 that stays (2 c captured and kept). Our bid is at the top in half the samples, the
    ask in all."""
    from common.config import QuotingConfig
    from research import metrics
    from research.backtest import MarketRun, MarketSetup, RunResult, Sample
    from research.venue import PaperFill

    sec, size = 1_000_000_000, 100 * 100  # 100 contracts
    r = MarketRun(setup=MarketSetup(market="m", quoting=QuotingConfig()))
    r.ref_ts = [0, 30 * sec, 120 * sec]
    r.mid_px = [5000.0, 4500.0, 4500.0]
    r.ref_px = list(r.mid_px)
    r.fills = [PaperFill(0, "m", "a", True, 4800, size, 0),
               PaperFill(120 * sec, "m", "b", False, 4700, size, 0)]
    r.samples = [Sample(0, 5000.0, None, 4800, 5200, 0, 0, 4800, 5300),
                 Sample(sec, 5000.0, None, 4700, 5200, 0, 0, 4800, 5300)]
    summ = metrics.summarize(RunResult(markets={"m": r}, params=BacktestParams(), events=1,
                                       wall_s=1.0))
    captured = 2 * 0.02 * 100  # 4 dollars
    kept = (0.45 - 0.48) * 100 + (0.47 - 0.45) * 100  # -1 dollar: both marked at 0.45
    assert summ["spread_capture_usd"] == pytest.approx(captured)
    assert summ["adverse_selection_usd"] == pytest.approx(captured - kept)
    assert summ["adverse_share"] == pytest.approx((captured - kept) / captured)
    assert summ["time_at_top"] == pytest.approx((1 + 2) / 4)


def test_markets_are_summed_by_sample_time_not_by_position() -> None:
    """A market with no mid at a sample time has no sample then: it counts with its last
    P&L, instead of shifting every later sample of it one place (which misaligned the
    combined series and sharpe_1m)."""
    from common.config import QuotingConfig
    from research import metrics
    from research.backtest import MarketRun, MarketSetup, Sample

    a = MarketRun(setup=MarketSetup(market="a", quoting=QuotingConfig()))
    b = MarketRun(setup=MarketSetup(market="b", quoting=QuotingConfig()))
    a.samples = [Sample(t, 5000.0, None, None, None, 0, pnl) for t, pnl in
                 ((1, 10), (2, 20), (3, 30))]
    b.samples = [Sample(t, 5000.0, None, None, None, 0, pnl) for t, pnl in ((1, 100), (3, 300))]
    assert metrics._combined_pnl([a, b]) == ([1, 2, 3], [110, 120, 330])


def test_the_engine_learns_a_fill_when_its_report_arrives() -> None:
    """A fill at t is in P&L at once but in the position the engine quotes on only
    `response_ms` later (the venue's fill report reaching the executor)."""
    from common.config import QuotingConfig
    from research.backtest import Backtester, MarketSetup
    from research.venue import PaperFill

    ms = 1_000_000
    bt = Backtester([MarketSetup(market="m", quoting=QuotingConfig())],
                    BacktestParams(response_ms=50))
    r = bt.runs["m"]
    bt._fills(r, [PaperFill(1000 * ms, "m", "p1", True, 5000, 700, 0),
                  PaperFill(1020 * ms, "m", "p2", False, 5100, 200, 0)])
    assert (r.yes, r.no, r.net) == (700, 200, 500), "P&L and metrics see both at once"
    assert r.known(1010 * ms, 50 * ms) == (0, 0)
    assert r.known(1050 * ms, 50 * ms) == (700, 0)
    assert r.known(1070 * ms, 50 * ms) == (700, 200)
    at_once = Backtester([MarketSetup(market="m", quoting=QuotingConfig())],
                         BacktestParams(response_ms=0))
    r0 = at_once.runs["m"]
    at_once._fills(r0, [PaperFill(1000 * ms, "m", "p1", True, 5000, 700, 0)])
    assert r0.known(1000 * ms, 0) == (700, 0)


def test_rewards_are_our_share_of_the_pool_while_our_quotes_score() -> None:
    """The scenario's reward programme pays our share of its pool (research/backtest.py);
    quotes outside the band earn nothing, and a scenario without a programme pays nothing."""
    def run(quoting: dict[str, float], **scenario: float) -> dict[str, object]:
        return runner.summary(runner.run_scenario(
            "calm", 3, overrides=quoting,
            scenario_overrides={**SHORT, "reward_daily_usd": 86_400.0, **scenario}))

    tight = run(TRADES)  # 1 USD a second into the pool, for 120 s
    assert 0.0 < tight["reward_usd"] <= 120.0  # type: ignore[operator]
    assert tight["total_usd"] == pytest.approx(tight["pnl_usd"] + tight["reward_usd"])  # type: ignore[operator]
    assert 0.5 < tight["time_scoring"] <= 1.0  # type: ignore[operator]
    wide = run({"spread": 0.08, "min_spread": 0.08, "vol_mult": 0.0})  # 8 c > the 3 c band
    assert wide["reward_usd"] == 0.0 and wide["time_scoring"] == 0.0
    assert run(TRADES, reward_daily_usd=0.0)["reward_usd"] == 0.0


def test_reward_usd_per_day_sets_the_pool_and_a_bad_one_is_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    def reward(pool: str) -> float:
        assert cli.main(["backtest", "--scenario", "calm", "--json", "--duration-s", "60",
                         "--set", "spread=0.01", "--reward-usd-per-day", pool]) == 0
        return float(json.loads(capsys.readouterr().out)["reward_usd"])

    assert reward("0") == 0.0 < reward("1000") < reward("2000")
    assert cli.main(["backtest", "--scenario", "calm", "--reward-usd-per-day", "-5"]) == 2
    assert "--reward-usd-per-day must be in [0, 1000000], got -5.0" in capsys.readouterr().err


def test_reward_accrues_our_share_over_each_interval_and_never_backwards() -> None:
    """1 USD a second into the pool; a book where our orders are half of the scoring depth
    on each side: half a dollar a second, over the intervals between samples only."""
    from common.messages import BookSnapshot, Level
    from research.backtest import Backtester, BacktestParams, MarketSetup
    from strategy.rewards import Programme

    prog = Programme(max_spread=300, min_size=2_000, daily_usd=86_400.0)
    bt = Backtester([MarketSetup(market="m", quoting=runner.quoting_for(None, "m", {}),
                                 reward=prog)], BacktestParams())
    r = bt.runs["m"]
    r.book = BookSnapshot(venue="polymarket", market="m", seq=1, ts_recv_ns=1, ts_venue_ms=1,
                          tick=100, bids=(Level(4_900, 2_000),), asks=(Level(5_100, 2_000),))
    bt.venue.ladder = lambda market: ([(4_900, 2_000)], [(5_100, 2_000)])  # type: ignore[method-assign]
    for ts in (1, 2, 4, 4, 3.5):  # seconds: the first starts the clock; 4 again and 3.5 are no interval
        bt._reward(r, int(ts * 1e9))
    tally = r.rewards
    assert tally.earned == pytest.approx(0.5 * 3 * 1e6)
    assert (tally.counted_ns, tally.scoring_ns, tally.last_ns) == (3e9, 3e9, 4e9)
    bt.venue.ladder = lambda market: ([], [])  # type: ignore[method-assign]
    bt._reward(r, int(6e9))  # nothing of ours rests: time counted, nothing earned
    assert tally.earned == pytest.approx(1.5e6)
    assert (tally.counted_ns, tally.scoring_ns) == (5e9, 3e9)
