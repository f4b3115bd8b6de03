"""Market scanner (common/scanner.py): parsing the venues' listings, scores and filters."""

from __future__ import annotations

import json
from datetime import datetime, timezone
import math
from pathlib import Path

import msgspec
import pytest

from common import scanner
from common.config import ScannerConfig, ScannerWeights, parse
from common.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scanner"
NOW = 1_795_000_000  # 2026-11-19T...Z
DAY = 86_400


def cand(**kw: object) -> scanner.Candidate:
    base: dict[str, object] = dict(venue="polymarket", venue_market="0x1", token="1", name="m",
                                   volume_usd=10_000.0, liquidity_usd=5_000.0, spread=0.02,
                                   price_change=0.01, resolves_at_s=NOW + 15 * DAY)
    return scanner.Candidate(**(base | kw))  # type: ignore[arg-type]


def test_gamma_listing_parses_and_counts_malformed_rows() -> None:
    rows = json.loads((FIXTURES / "gamma_markets.json").read_text())
    found, bad = scanner.from_gamma(rows)
    assert bad == 1  # no clobTokenIds
    eth = found[0]
    assert (eth.venue_market, eth.token, eth.volume_usd, eth.liquidity_usd) == ("0xaaa1", "111", 85000.25, 42000.5)
    assert eth.spread == 0.02 and eth.price_change == 0.03 and eth.tradable
    assert eth.resolves_at_s == 1_799_539_200
    assert not found[1].tradable  # closed


def test_kalshi_listing_parses_dollar_strings() -> None:
    found, bad = scanner.from_kalshi(json.loads((FIXTURES / "kalshi_markets.json").read_text()))
    assert bad == 1
    fed = found[0]
    assert fed.token == "KXFED-26DEC-T4.00" and fed.spread == 0.03
    assert fed.volume_usd == pytest.approx(20000 * 0.365)
    assert fed.liquidity_usd == pytest.approx(1000 * 0.35 + 400 * 0.62)
    assert fed.price_change == pytest.approx(0.03)


def test_components_against_reference_scales() -> None:
    cfg = ScannerConfig()
    parts = scanner.components(cand(volume_usd=100_000.0, liquidity_usd=0.0, spread=0.025,
                                    price_change=0.05, resolves_at_s=NOW + 15 * DAY), cfg, NOW)
    assert parts == {"volume": 1.0, "spread": 0.5, "volatility": 0.5, "liquidity": 0.0,
                     "resolution": 0.5, "reward": 0.0}
    assert scanner.score(parts, cfg) == pytest.approx(2.5 / 6)
    only_volume = ScannerConfig(weights=ScannerWeights(volume=2, spread=0, volatility=0,
                                                       liquidity=0, resolution=0, reward=0))
    assert scanner.score(parts, only_volume) == 1.0
    capped = scanner.components(cand(volume_usd=1e9, spread=0.5, price_change=1.0,
                                     resolves_at_s=None), cfg, NOW)
    assert capped["volume"] == 1.0 and capped["spread"] == 1.0
    assert capped["volatility"] == 0.0 and capped["resolution"] == 0.0
    assert scanner.components(cand(volume_usd=math.e - 1), ScannerConfig(volume_ref_usd=math.e ** 2 - 1),
                              NOW)["volume"] == pytest.approx(0.5)


def test_filters_say_why() -> None:
    cfg = ScannerConfig(min_liquidity_usd=1000, max_days_to_resolution=30)
    running = {("polymarket", "0xrun")}
    assert scanner.exclusion(cand(), cfg, NOW, running) == ""
    assert scanner.exclusion(cand(venue_market="0xrun"), cfg, NOW, running) == "already running"
    assert scanner.exclusion(cand(tradable=False), cfg, NOW, running).startswith("closed")
    assert scanner.exclusion(cand(liquidity_usd=999.0), cfg, NOW, running) == "liquidity $999 < min $1,000"
    assert scanner.exclusion(cand(resolves_at_s=NOW + 31 * DAY), cfg, NOW, running) == \
        "resolves in 31.0 days > max 30"
    assert scanner.exclusion(cand(resolves_at_s=None), cfg, NOW, running).startswith("no resolution")
    assert scanner.exclusion(cand(resolves_at_s=NOW - 1), cfg, NOW, running) == "past its resolution time"
    assert scanner.exclusion(cand(resolves_at_s=None), ScannerConfig(), NOW, running) == ""


def test_rank_and_select_respect_top_n_and_max_markets() -> None:
    cands = [cand(venue_market=f"0x{i}", volume_usd=1000.0 * (i + 1)) for i in range(5)]
    cands.append(cand(venue_market="0xthin", volume_usd=1e9, liquidity_usd=10.0))
    cfg = ScannerConfig(top_n=3, max_markets=10)
    ranked = scanner.rank(cands, cfg, NOW)
    assert [r.candidate.venue_market for r in ranked] == ["0x4", "0x3", "0x2", "0x1", "0x0", "0xthin"]
    assert ranked[-1].excluded.startswith("liquidity")
    assert [r.candidate.venue_market for r in scanner.select(ranked, cfg, 0)] == ["0x4", "0x3", "0x2"]
    assert [r.candidate.venue_market for r in scanner.select(ranked, cfg, 8)] == ["0x4", "0x3"]
    assert scanner.select(ranked, cfg, 10) == [] and scanner.select(ranked, cfg, 12) == []


def test_bad_scanner_config_names_the_field_and_range() -> None:
    with pytest.raises(ConfigError, match=r"<= 100.*scanner.top_n"):
        parse("[scanner]\ntop_n = 101\n")
    with pytest.raises(ConfigError, match=r"scanner.weights"):
        parse("[scanner.weights]\nvolume = 0\nspread = 0\nvolatility = 0\nliquidity = 0\n"
              "resolution = 0\nreward = 0\n")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"min_liquidity_usd": -1}, ScannerConfig)


def test_cli_overrides_are_validated_naming_the_flag() -> None:
    import argparse

    from services.control.commands.scan import scanner_config

    cfg = parse("[scanner]\ntop_n = 2\n")

    def args(**kw: object) -> argparse.Namespace:
        base = dict(top=None, max_markets=None, min_liquidity=None, max_days=None, venue=None)
        return argparse.Namespace(**(base | kw))

    assert scanner_config(cfg, args()).top_n == 2
    assert scanner_config(cfg, args(top=5, venue=["kalshi"])).venues == ("kalshi",)
    with pytest.raises(ConfigError, match=r"^--max-markets 0: Expected `int` >= 1$"):
        scanner_config(cfg, args(max_markets=0))
    with pytest.raises(ConfigError, match=r"^--max-days 40000.0: Expected `float` <= 36500"):
        scanner_config(cfg, args(max_days=40000.0))


def test_the_reward_pool_scores_on_a_log_scale_from_both_venues_listings() -> None:
    cfg = ScannerConfig(reward_ref_usd=math.e ** 2 - 1)
    assert scanner.components(cand(), cfg, NOW)["reward"] == 0.0
    assert scanner.components(cand(reward_usd_per_day=math.e - 1), cfg, NOW)["reward"] == \
        pytest.approx(0.5)
    assert scanner.components(cand(reward_usd_per_day=1e9), cfg, NOW)["reward"] == 1.0
    row = {"conditionId": "0xc", "clobTokenIds": '["1", "2"]', "question": "q",
           "clobRewards": [{"id": "1", "conditionId": "0xc", "assetAddress": "0xa",
                            "rewardsAmount": 0, "rewardsDailyRate": "60", "startDate": "2026-01-01"},
                           {"rewardsDailyRate": 15.5}]}
    (c,), bad = scanner.from_gamma([row])
    assert (c.reward_usd_per_day, bad) == (75.5, 0)
    (c,), bad = scanner.from_gamma([row | {"clobRewards": [{"rewardsDailyRate": "lots"}]}])
    assert (c.reward_usd_per_day, bad) == (0.0, 0)  # kept, its reward read as none
    kalshi = [cand(venue="kalshi", venue_market="KX-1"), cand(venue="kalshi", venue_market="KX-2")]
    lip = {"market_ticker": "KX-1", "incentive_type": "liquidity", "period_reward": 3_500_000,
           "start_date": "2026-12-07T00:00:00Z", "end_date": "2026-12-14T00:00:00Z",
           "target_size_fp": "300.00", "discount_factor_bps": 5000}
    programmes = {"incentive_programs": [
        lip, lip | {"market_ticker": "KX-2", "incentive_type": "volume"},
        lip | {"market_ticker": "KX-2", "period_reward": "x"}]}
    out, bad = scanner.with_incentives(kalshi, programmes,
                                       datetime(2026, 12, 8, tzinfo=timezone.utc))
    assert [c.reward_usd_per_day for c in out] == [50.0, 0.0] and bad == 1
