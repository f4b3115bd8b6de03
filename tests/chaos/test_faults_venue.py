"""The venue itself misbehaves, against the real stack under supervisord, both venues at a
high rate; `-s` prints the fault table. Tests run in file order on one stack.

Clock skew: the venue's clock jumps 45 s away from ours, past both venues' auth windows
(30 s here). Every signed request would be refused, cancels included; instead each process
that signs re-reads the venue's time from the Date of the refusal (common/venue_clock.py)
and the next request is accepted: quoting goes on, the kill switch still empties the book.

Kill -9 of the simulator (the venue crashes):
The restarted simulator has forgotten everything a real venue never forgets (its state is in
memory): our resting orders, our positions, our Polymarket API key. That makes it the
hardest version of "the venue lost its record". What must happen:
- the executors stay up: the Polymarket one derives its API key again on the first 401,
  the Kalshi one creates its order group again; quoting resumes where nothing is wrong;
- every market that held a position no longer matches the venue and is halted for
  `position_mismatch` (risk's journal is right, the venue is not: fail closed), while the
  markets that were flat keep quoting;
- nothing is duplicated or left open after the kill switch, and every fill the new venue
  made reaches risk's journal.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.chaos.chaos import (
    FaultRow,
    duplicates,
    high_flow_stack,
    lost,
    markets,
    metric,
    pid,
    quiesce,
    restarted,
    table,
    wait_quoted,
)
from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
CHECK_MS = 2000
"""`[executor] position_check_interval_ms` here: a verdict within a few checks."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with high_flow_stack(seed=31, extra=f"\n[executor]\nposition_check_interval_ms = {CHECK_MS}\n") as s:
        yield s


def settled_holdings(stack: Stack, quiet_s: float = 1.0, timeout: float = 15.0,
                     ) -> dict[str, tuple[Decimal, Decimal]]:
    """Risk's holdings once they stop changing for `quiet_s` (every fill the frozen venue
    had sent has arrived; a fixed sleep raced a loaded CI machine)."""
    last, deadline = holdings(stack), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = holdings(stack)
        if now == last:
            return now
        last = now
    raise AssertionError(f"risk's holdings still changing {timeout} s after the venue froze")


def holdings(stack: Stack) -> dict[str, tuple[Decimal, Decimal]]:
    return {m["id"]: (Decimal(str(m["position_yes"])), Decimal(str(m["position_no"])))
            for m in stack.status()["markets"]}


def skew(stack: Stack, ms: int) -> dict[str, object]:
    resp = httpx.post(f"http://127.0.0.1:{stack.sim_port}/_sim/fault",
                      json={"kind": "clock_skew", "ms": ms}, timeout=5)
    resp.raise_for_status()
    return dict(resp.json())


def refusals(stack: Stack) -> dict[str, int]:
    """Requests the simulator refused at authentication, per channel."""
    health = httpx.get(f"http://127.0.0.1:{stack.sim_port}/_sim/health", timeout=5).json()
    return {k: v for k, v in health["malformed"].items() if k.endswith("auth")}


def offsets(stack: Stack) -> dict[str, float]:
    return {v: metric(stack, "pmm_venue_clock_offset_seconds", venue=v)
            for v in ("polymarket", "kalshi")}


@pytest.mark.parametrize("skew_s", [45, -45])
def test_clock_skew(stack: Stack, skew_s: int) -> None:
    r = FaultRow(fault=f"venue clock {skew_s:+d} s (auth window 30 s)")
    wait_quoted(stack, markets(stack), timeout=60, what="an open order on every market")
    pids = {p: pid(stack, p) for p in ("executor-polymarket", "executor-kalshi",
                                       "ingest-kalshi")}
    refused0 = refusals(stack)
    t0 = time.monotonic()
    assert skew(stack, skew_s * 1000)["skew_ms"] == skew_s * 1000
    r.injected += 1
    eventually(lambda: all(abs(o - skew_s) <= 1.5 for o in offsets(stack).values()),
               timeout=30, what=f"both venues' clocks estimated {skew_s:+d} s: {offsets(stack)}")
    wait_quoted(stack, markets(stack), timeout=30, what="every market quoting on venue time")
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "venue time adopted, every market quoted"
    r.duplicates += duplicates(stack)
    assert {p: pid(stack, p) for p in pids} == pids, "a process restarted"
    quiesce(stack, r)  # the kill switch's cancels are signed in venue time too
    skew(stack, 0)
    eventually(lambda: all(abs(o) <= 1.5 for o in offsets(stack).values()), timeout=30,
               what=f"back in step: {offsets(stack)}")
    refused = {k: v - refused0.get(k, 0) for k, v in refusals(stack).items()}
    print("\n" + table([r]) + f"\nrequests the venue refused for their timestamps: {refused}")
    # the fault fired: each venue refused at least one request of ours for its time
    assert refused.get("rest_auth", 0) > 0 and refused.get("kalshi_auth", 0) + \
        refused.get("kalshi_ws_auth", 0) > 0, refused
    assert (r.orders_lost, r.duplicates, r.fills_lost) == (0, 0, 0), r.orphans


def test_kill_9_of_the_venue(stack: Stack) -> None:
    r = FaultRow(fault="kill -9 the venue (simulator)")
    wait_quoted(stack, markets(stack), timeout=60, what="an open order on every market")
    eventually(lambda: sum(1 for y, n in holdings(stack).values() if y or n) >= 2, timeout=60,
               what="two markets holding a position")
    others = ("risk", "executor-polymarket", "executor-kalshi", "ingest-polymarket",
              "ingest-kalshi")
    pids = {p: pid(stack, p) for p in others}
    reauth0 = metric(stack, "pmm_venue_reauth_total", venue="polymarket")

    # Freeze the venue, let what it already sent arrive, then crash it with our orders
    # resting: what risk holds now is what the old venue had.
    old = pid(stack, "venue_sim")
    os.kill(old, signal.SIGSTOP)
    before = settled_holdings(stack)
    t0 = time.monotonic()
    os.kill(old, signal.SIGKILL)
    eventually(lambda: restarted(stack, "venue_sim", old), timeout=30,
               what="supervisord restarts the simulator")
    r.injected += 1
    held = sorted(m for m, (y, n) in before.items() if y or n)
    flat = sorted(m for m in markets(stack) if m not in held)

    def halted() -> set[str]:
        return {m["id"] for m in stack.status()["markets"] if m["halted"]}

    # At this rate a market is seldom quiet (no fill near the read), so mostly the
    # five-checks-in-a-row arm halts: 13.7 to 26.1 s in five runs, a check every 2.5 s
    # (CHECK_MS and the executor's 500 ms position_quiet_ms); 13.0-13.5 s at the demo's
    # rate. It was 23.6 to 56.2 s before snapshots carried the fills of their wait. The
    # test holds the verdict, not its speed.
    limit_s = 30 * CHECK_MS / 1000
    try:
        eventually(lambda: set(held) <= halted(), timeout=limit_s,
                   what=f"every market that held a position halted: {held}")
    except AssertionError as exc:  # flaky in CI (1 of 3 runs at 48030aa): say what stood
        raise AssertionError(f"{exc}\nrisk held before the crash {before}\nrisk holds now "
                             f"{holdings(stack)}\nthe new venue holds {stack.sim_positions()}"
                             f"\nhalted {sorted(halted())}") from None
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "markets with positions halted, the flat ones quoting"
    reasons = {m["id"]: m.get("halt_reason", "") for m in stack.status()["markets"]}
    assert all(reasons[m] == "position_mismatch" for m in held), reasons
    assert halted() == set(held), f"a flat market was halted: {halted() - set(held)}"
    if flat:
        wait_quoted(stack, flat, timeout=30, what="the flat markets quote on the new venue")
    assert {p: pid(stack, p) for p in others} == pids, "a process restarted"
    assert metric(stack, "pmm_venue_reauth_total", venue="polymarket") > reauth0, (
        "the Polymarket executor never derived its key again")
    r.duplicates += duplicates(stack)

    # Every fill of the new venue is in the journal: risk's change since the crash equals
    # the new venue's record, market by market.
    quiesce_gap = Decimal(0)
    stack.pmm("kill", "--reason", "chaos quiesce")
    try:
        eventually(lambda: sum(stack.open_orders_by_market().values()) == 0, timeout=10,
                   what="no open order after the kill switch")
    except AssertionError:
        r.orders_lost = sum(stack.open_orders_by_market().values())

    def gaps() -> dict[str, tuple[str, Decimal]]:
        """Per market whose journal moved unlike the new venue: risk's change since the
        crash and the venue's record (YES/NO), and their distance."""
        now, sim, out = holdings(stack), stack.sim_positions(), {}
        for m, (y, n) in sim.items():
            dy, dn = now[m][0] - before[m][0], now[m][1] - before[m][1]
            if (dy, dn) != (y, n):
                out[m] = (f"{m}: risk +{dy}/+{dn} since the crash, the new venue {y}/{n}",
                          abs(dy - y) + abs(dn - n))
        return out

    def gap() -> Decimal:
        return sum((d for _, d in gaps().values()), Decimal(0))

    try:
        eventually(lambda: gap() == 0, timeout=15, what="risk's change == the new venue's fills")
    except AssertionError:
        quiesce_gap = gap()
        r.lost_fills += [line for line, _ in gaps().values()]
    r.fills_lost += quiesce_gap
    print("\n" + table([r]))
    print(f"held {held}, flat {flat}")
    assert (r.orders_lost, r.duplicates, r.fills_lost) == (0, 0, 0), lost(r)
