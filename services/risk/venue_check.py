"""Risk's journal against the venue's own record of our positions (issue 15, item 6).

Executors publish the venue's positions (VenuePositions) at startup, after every fill
replay and every `[executor] position_check_interval_ms`. A difference is normal for a
moment: fills in flight on the bus, Polymarket trades matched but not yet confirmed.
A lost fill, though, leaves a difference that stays put. So a market fails the check,
and risk halts it (fail closed, as NautilusTrader's reconciliation does), only when

    |venue - journal| > tolerance           on YES or NO (or net, where the venue is net)
    the same difference as at the previous check
    and no fill applied to the market in between

A market that trades between every pair of checks is never halted by this rule: the fill
sequence numbers (fill_sequence.py) are what catch a dropped fill there.
"""

from __future__ import annotations

from msgspec import Struct

from common.messages import VenuePositions
from services.risk.position import Position

__all__ = ["Check", "Seen", "check"]


class Seen(Struct, frozen=True):
    """A market's difference at one check, and its fill count then."""

    delta: tuple[int, ...]
    fills: int


class Check(Struct, frozen=True):
    """The outcome of one snapshot: what differs, and what differed twice alike."""

    differ: dict[str, tuple[tuple[int, ...], tuple[int, ...]]]
    """market -> (journal, venue) for every market over the tolerance."""
    persistent: list[str]
    seen: dict[str, Seen]
    """The state to pass to the next check."""


def check(msg: VenuePositions, positions: dict[str, Position], previous: dict[str, Seen], *,
          tolerance: int) -> Check:
    """Compare one venue snapshot with the journal's positions (all sizes centi-contracts)."""
    differ: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    persistent: list[str] = []
    seen = {m: s for m, s in previous.items() if m not in {p.market for p in msg.positions}}
    for mp in msg.positions:
        pos = positions.get(mp.market, Position())
        ours = (pos.position_yes, pos.position_no) if msg.gross else (pos.net,)
        theirs = (mp.position_yes, mp.position_no) if msg.gross else (mp.net,)
        delta = tuple(t - o for t, o in zip(theirs, ours))
        if all(abs(d) <= tolerance for d in delta):
            continue
        differ[mp.market] = (ours, theirs)
        now = Seen(delta=delta, fills=pos.fills)
        if previous.get(mp.market) == now:
            persistent.append(mp.market)
        seen[mp.market] = now
    return Check(differ=differ, persistent=persistent, seen=seen)
