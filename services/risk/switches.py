"""The latched switches of the risk gate and their persistence next to the fill journal.

Kill latches (global, venue, market), loss halts, pause, flatten and the loss baselines
of the daily reset survive a risk restart: every change is written to the journal's
`risk_state` table before it is acknowledged, and a restarted risk loads them first, so
a killed or halted stack stays killed or halted until an explicit Reset.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class Switches(Struct, kw_only=True):
    """Mutable switch state; `dump`/`load` give the persisted form."""

    kill_global: bool = False
    kill_reason: str = ""
    kill_venues: dict[str, str] = {}
    kill_markets: dict[str, str] = {}
    halted: dict[str, str] = {}
    paused: bool = False
    flattening: list[str] = []
    loss_base: dict[str, int] = {}
    """P&L (realized + marked, micro-dollars) of each market at the last daily reset."""
    last_reset_ns: int = 0

    def dump(self) -> dict[str, Any]:
        """The persisted form: one JSON value per field."""
        return {f: getattr(self, f) for f in self.__struct_fields__}

    @classmethod
    def load(cls, data: dict[str, Any]) -> Switches:
        """Rebuild from `dump` output; unknown keys (a newer version's) are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.__struct_fields__})

    def killed(self, market: str, venue: str) -> bool:
        """True if a kill latch covers the market (global, its venue, or itself)."""
        return self.kill_global or venue in self.kill_venues or market in self.kill_markets

    @property
    def kill_active(self) -> bool:
        """True while any kill latch is set."""
        return self.kill_global or bool(self.kill_venues) or bool(self.kill_markets)
