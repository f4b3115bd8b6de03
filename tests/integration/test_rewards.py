"""Liquidity rewards, closed loop (issue 18, item 1): the executor reads each market's
programme from the venue, asks which of our orders score, and estimates our share of the
pool; status and metrics show it. Real stack, real simulator (its programme: [sim.rewards],
100 USD a day within 4.5 cents of the adjusted mid, 20 shares minimum)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

EXTRA = """
[sim.rewards]
daily_usd = 100
max_spread_cents = 4.5
min_size = 20
[executor]
reward_check_interval_ms = 1000
"""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running(quoters=1, extra=EXTRA, seed=29) as s:
        yield s


def _rewards(stack: Stack) -> dict[str, dict[str, Any]]:
    return {m["id"]: m["reward"] for m in stack.status_cli()["markets"]}


def _metric(stack: Stack, name: str) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    return {line.split(" ")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(name + "{")}


def test_orders_score_and_the_share_is_estimated(stack: Stack) -> None:
    markets = {m.id for m in stack.cfg.markets}
    seen: dict[str, dict[str, Any]] = {}

    def all_scoring() -> bool:
        for m, r in _rewards(stack).items():
            if r["checked"] and r["scoring_orders"] > 0:
                seen[m] = r
        return markets <= set(seen)
    eventually(all_scoring, timeout=90, what=f"orders scoring in every market: {markets}")
    for r in seen.values():
        assert r["eligible"] and r["max_spread"] == 0.045 and r["min_size"] == 20.0, r
        assert r["daily_usd"] == 100.0 and 0 < r["share"] <= 1, r
        assert 0 < r["est_usd_per_day"] <= 100.0, r
        assert r["scoring"] and r["scoring_orders"] <= r["orders"], r
    est = _metric(stack, "pmm_reward_est_usd_per_day")
    assert len(est) == len(markets) and all(v >= 0 for v in est.values()), est
    pool = _metric(stack, "pmm_reward_pool_usd_per_day")
    assert set(pool.values()) == {100.0}, pool
    scoring = {k: v for k, v in _metric(stack, "pmm_reward_orders").items() if 'state="scoring"' in k}
    assert scoring and any(v > 0 for v in scoring.values()), scoring
    market = sorted(markets)[0]
    text = stack.pmm("status", market).stdout
    assert "rewards: pool $100.00/day within 4.5c of the mid, min 20" in text, text


def test_the_simulator_serves_the_programme_as_polymarket_publishes_it(stack: Stack) -> None:
    m = stack.cfg.markets[0]
    page = httpx.get(f"http://127.0.0.1:{stack.sim_port}/rewards/markets/{m.venue_market}",
                     timeout=5).json()
    assert page["next_cursor"] == "LTE=" and len(page["data"]) == 1
    row = page["data"][0]
    assert (row["condition_id"], row["rewards_max_spread"], row["rewards_min_size"]) == (
        m.venue_market, 4.5, 20.0)
    assert [c["rate_per_day"] for c in row["rewards_config"]] == [100.0]
    current = httpx.get(f"http://127.0.0.1:{stack.sim_port}/rewards/markets/current",
                        timeout=5).json()
    assert {r["condition_id"] for r in current["data"]} >= {x.venue_market for x in stack.cfg.markets}


def test_kalshi_incentives_are_read_and_shown() -> None:
    """Kalshi (item 2): the executor reads the liquidity incentive of each market from the
    simulator's /incentive_programs and scores our orders by the programme's rules."""
    extra = EXTRA.replace(
        "min_size = 20\n", "min_size = 20\nkalshi_daily_usd = 40\nkalshi_target_size = 500\n")
    with running(quoters=1, extra=extra, seed=31, base="demo-kalshi.toml") as stack:
        markets = {m.id for m in stack.cfg.markets}
        seen: dict[str, dict[str, Any]] = {}

        def shown() -> bool:
            for m, r in _rewards(stack).items():
                if r["checked"] and r["eligible"] and r["orders"] > 0:
                    seen[m] = r
            return markets <= set(seen)
        eventually(shown, timeout=90, what=f"the incentive of every Kalshi market: {markets}")
        for r in seen.values():
            assert (r["kind"], r["scored_by"], r["daily_usd"]) == (
                "kalshi_liquidity", "estimate", pytest.approx(40.0)), r
            assert r["target_size"] == 500.0 and r["discount"] == 0.5, r
            assert 0 <= r["est_usd_per_day"] <= 40.0 and r["scoring_orders"] <= r["orders"], r
        text = stack.pmm("status", sorted(markets)[0]).stdout
        assert "rewards: Kalshi liquidity incentive $40.00/day, target 500 contracts" in text


def test_the_quoter_reaches_into_a_band_its_quotes_would_miss() -> None:
    """A band (orders must sit under 1.75 cents from the mid) that the quoter's spread
    (1.75 cents and more) always misses: ingest publishes the programme on the md bus,
    and with `reward_reach` the quoter moves its best levels into the band (never closer
    to its fair value than min_spread, 1 cent), where the venue says they score."""
    extra = EXTRA.replace("max_spread_cents = 4.5", "max_spread_cents = 1.75") + (
        "[ingest]\nreward_republish_ms = 2000\n")
    with running(quoters=1, extra=extra, seed=37, quoting="reward_reach = 0.03\n") as stack:
        markets = {m.id for m in stack.cfg.markets}
        seen: set[str] = set()

        def scoring() -> bool:
            seen.update(m for m, r in _rewards(stack).items() if r["scoring_orders"] > 0)
            return markets <= seen
        eventually(scoring, timeout=90, what=f"orders scoring in a 1.75-cent band: {markets}")
        logs = "\n".join(f.read_text(errors="replace")
                         for f in (stack.run_dir / "logs").glob("quoter-*.log"))
        assert "reward programme: Programme(max_spread=175, min_size=2000" in logs
