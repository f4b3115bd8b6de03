"""Scanner properties: scores stay in [0, 1] and move the right way with each stat."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common import scanner
from common.config import ScannerConfig, ScannerWeights

NOW = 1_795_000_000
money = st.floats(min_value=0, max_value=1e10, allow_nan=False)
weights = st.builds(ScannerWeights, volume=st.floats(0, 100), spread=st.floats(0, 100),
                    volatility=st.floats(0, 100), liquidity=st.floats(0, 100),
                    resolution=st.floats(0.01, 100))


def cand(volume: float, liquidity: float, spread: float | None, change: float,
         days: float | None) -> scanner.Candidate:
    return scanner.Candidate(venue="polymarket", venue_market="0x1", token="1", name="m",
                             volume_usd=volume, liquidity_usd=liquidity, spread=spread,
                             price_change=change,
                             resolves_at_s=None if days is None else NOW + int(days * 86_400))


@given(volume=money, liquidity=money, spread=st.none() | st.floats(0, 1), change=st.floats(0, 1),
       days=st.none() | st.floats(-10, 1000), w=weights)
def test_score_is_a_weighted_mean_in_unit_range(volume: float, liquidity: float, spread: float | None,
                                                change: float, days: float | None, w: ScannerWeights) -> None:
    cfg = ScannerConfig(weights=w)
    parts = scanner.components(cand(volume, liquidity, spread, change, days), cfg, NOW)
    assert all(0.0 <= v <= 1.0 for v in parts.values())
    assert -1e-12 <= scanner.score(parts, cfg) <= 1 + 1e-12


@given(a=money, b=money, liquidity=money)
def test_more_volume_never_scores_lower(a: float, b: float, liquidity: float) -> None:
    cfg = ScannerConfig()
    lo, hi = sorted((a, b))
    s_lo = scanner.score(scanner.components(cand(lo, liquidity, 0.02, 0.01, 10), cfg, NOW), cfg)
    s_hi = scanner.score(scanner.components(cand(hi, liquidity, 0.02, 0.01, 10), cfg, NOW), cfg)
    assert s_hi >= s_lo


@given(n=st.integers(0, 30), top=st.integers(1, 100), cap=st.integers(1, 1000), running=st.integers(0, 1000))
def test_select_never_exceeds_top_n_or_the_room_left(n: int, top: int, cap: int, running: int) -> None:
    cfg = ScannerConfig(top_n=top, max_markets=cap)
    cands = [cand(1000.0 * i, 5000.0, 0.02, 0.0, 10) for i in range(n)]
    cands = [scanner.Candidate(**{**{f: getattr(c, f) for f in c.__struct_fields__},
                                  "venue_market": f"0x{i}"}) for i, c in enumerate(cands)]
    chosen = scanner.select(scanner.rank(cands, cfg, NOW), cfg, running)
    assert len(chosen) == min(n, top, max(0, cap - running))
