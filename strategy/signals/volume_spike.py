"""Volume spike: traded volume over a short window far above its average pauses quoting.

Exponentially decaying sums of traded contracts with time constants `fast_s` and `slow_s`
estimate the volume rate over each horizon (each corrected for the time observed so far, so
the first minutes are not under-estimated):

    rate_x = sum_x / (tau_x * (1 - exp(-elapsed / tau_x)))

After `warmup_s`, `rate_fast >= multiple * rate_slow` with at least `min_contracts` in the
fast sum starts a cooldown of `cooldown_s` during which both sides are pulled. A burst of
volume is news arriving; the makers still quoting the old price are the ones it fills.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from common.prices import SIZE_SCALE
from common.signal_config import VolumeSpikeConfig
from strategy.model import TradeTick
from strategy.signals.types import NONE, Effect, SignalReading, VolumeState

__all__ = ["effect", "ratio", "update"]


def update(
    state: VolumeState, trades: Sequence[TradeTick], now_ns: int, cfg: VolumeSpikeConfig
) -> VolumeState:
    """Decay both sums to `now_ns`, add the new trades, start a cooldown on a spike."""
    first = state.first_ns or now_ns
    dt_s = max(0.0, (now_ns - state.last_ns) / 1e9) if state.last_ns else 0.0
    volume = sum(tr.size for tr in trades) / SIZE_SCALE
    fast = state.fast * math.exp(-dt_s / cfg.fast_s) + volume
    slow = state.slow * math.exp(-dt_s / cfg.slow_s) + volume
    new = VolumeState(fast=fast, slow=slow, last_ns=now_ns, first_ns=first, until_ns=state.until_ns)
    elapsed = (now_ns - first) / 1e9
    if (volume > 0 and elapsed >= cfg.warmup_s and fast >= cfg.min_contracts
            and ratio(new, now_ns, cfg) >= cfg.multiple):
        new = VolumeState(fast=fast, slow=slow, last_ns=now_ns, first_ns=first,
                          until_ns=now_ns + int(cfg.cooldown_s * 1e9))
    return new


def _rate(total: float, tau_s: float, elapsed_s: float) -> float:
    seen = 1.0 - math.exp(-max(elapsed_s, 1e-3) / tau_s)
    return total / (tau_s * seen)


def ratio(state: VolumeState, now_ns: int, cfg: VolumeSpikeConfig) -> float:
    """Fast over slow volume rate (0 without volume)."""
    if state.slow <= 0:
        return 0.0
    elapsed = (now_ns - state.first_ns) / 1e9 if state.first_ns else 0.0
    return _rate(state.fast, cfg.fast_s, elapsed) / _rate(state.slow, cfg.slow_s, elapsed)


def effect(state: VolumeState, now_ns: int, cfg: VolumeSpikeConfig) -> tuple[Effect, SignalReading]:
    value = ratio(state, now_ns, cfg)
    if now_ns >= state.until_ns:
        return NONE, SignalReading("volume_spike", value, False)
    return Effect(pull_bid=True, pull_ask=True), SignalReading("volume_spike", value, True, "pull")
