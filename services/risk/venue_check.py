"""Risk's journal against the venue's own record of our positions (issue 15, item 6).

Executors publish the venue's positions (VenuePositions) at startup, after every fill
replay and every `[executor] position_check_interval_ms`. A difference is normal for a
moment: fills in flight on the bus, Polymarket trades matched but not yet confirmed.
A lost fill, though, leaves a difference that stays put. So a market fails the check,
and risk halts it (fail closed, as NautilusTrader's reconciliation does), only when

    |venue - journal| > tolerance           on YES or NO (or net, where the venue is net)
    and either
        the same difference at the previous *quiet* check of the market, this one quiet, or
        the same difference as at the previous check, no fill applied to the market since, or
        the same difference at STEADY_CHECKS checks in a row, fills or not

A quiet check is exact: the executor saw no fill of the market in flight around the read
(MarketPosition.quiet, services/executor/fill_activity.py) and risk holds every fill the
executor published before the snapshot (`whole`: fill_sequence.FillSequence.whole). Two
quiet checks alike halt a market however much it trades between them. The other arms are
for a market too busy to be quiet: fills in flight make a difference that changes from
one check to the next, while one that trading leaves exactly alone for several checks is
an offset (a fill lost before the fill sequence numbers could see it, a position taken
outside pmm, a venue that lost or rewrote its record). Fill sequence numbers catch a
dropped fill sooner; this catches what they cannot.
"""

from __future__ import annotations

from msgspec import Struct

from common.messages import VenuePositions
from services.risk.position import Position

__all__ = ["ARMS", "STEADY_CHECKS", "Check", "Seen", "check"]

STEADY_CHECKS = 5
"""Checks in a row with one unchanged difference that halt a market even as it trades.
Five, not three: Polymarket balances count confirmed trades while the journal counts
matched ones, so a busy market that fills the same clip just before each check can show
the same in-flight difference several times running; at one fill a minute and a few
seconds to confirm, three checks alike would come by chance about twice a day per market,
five about once in a year. Quiet checks carry no such chance: an executor leaves a
market with a trade not yet CONFIRMED out of them."""


ARMS = {
    "quiet": "at two checks with no fill in flight",
    "still": "at two checks in a row with no fill between",
    "steady": f"at {STEADY_CHECKS} checks in a row",
}
"""How a difference was found to stay put, for the halt's log line."""


class Seen(Struct, frozen=True):
    """A market's difference at one check, and its fill count then."""

    delta: tuple[int, ...]
    fills: int
    times: int = 1
    """Checks in a row this difference has been seen, the current one included."""
    quiet: tuple[int, ...] | None = None
    """The difference at the market's last quiet check, if it differed then."""


class Check(Struct, frozen=True):
    """The outcome of one snapshot: what differs, and what differed twice alike."""

    differ: dict[str, tuple[tuple[int, ...], tuple[int, ...]]]
    """market -> (journal, venue) for every market over the tolerance."""
    persistent: dict[str, str]
    """market -> which rule found its difference stayed put (ARMS)."""
    seen: dict[str, Seen]
    """The state to pass to the next check."""


def check(msg: VenuePositions, positions: dict[str, Position], previous: dict[str, Seen], *,
          tolerance: int, whole: bool = False) -> Check:
    """Compare one venue snapshot with the journal's positions (all sizes centi-contracts);
    `whole`: the journal holds every fill the executor published before it, so the
    snapshot's quiet markets are exact."""
    differ: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    persistent: dict[str, str] = {}
    seen = {m: s for m, s in previous.items() if m not in {p.market for p in msg.positions}}
    for mp in msg.positions:
        pos = positions.get(mp.market, Position())
        ours = (pos.position_yes, pos.position_no) if msg.gross else (pos.net,)
        theirs = (mp.position_yes, mp.position_no) if msg.gross else (mp.net,)
        delta = tuple(t - o for t, o in zip(theirs, ours))
        if all(abs(d) <= tolerance for d in delta):
            continue
        differ[mp.market] = (ours, theirs)
        before = previous.get(mp.market)
        times = before.times + 1 if before is not None and before.delta == delta else 1
        quiet = before.quiet if before is not None else None
        exact = whole and mp.quiet
        if exact and quiet == delta:
            persistent[mp.market] = "quiet"
        elif times >= 2 and before is not None and before.fills == pos.fills:
            persistent[mp.market] = "still"
        elif times >= STEADY_CHECKS:
            persistent[mp.market] = "steady"
        now = Seen(delta=delta, fills=pos.fills, times=times, quiet=delta if exact else quiet)
        seen[mp.market] = now
    return Check(differ=differ, persistent=persistent, seen=seen)
