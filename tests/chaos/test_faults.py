"""Faults against the real stack under supervisord, both venues, the simulator at a high rate.

One stack serves the module; tests run in file order. Control first (kill per market, per
venue, forged and replayed kills, the latch surviving a risk crash), then kill -9 of each
process in turn. After every fault the stack is quiesced with the kill switch and risk's
positions are compared with the simulator's record of fills. `-s` prints the fault table.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from common.auth import new_nonce
from common.messages import Kill, Reset
from tests.chaos.chaos import (
    FaultRow,
    duplicates,
    high_flow_stack,
    kill9,
    lost,
    markets,
    metric,
    pid,
    position_gap,
    quiesce,
    restarted,
    seal,
    send_control,
    table,
    wait_no_orders,
    wait_quoted,
)
from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
ROWS: dict[str, FaultRow] = {}
ROUNDS = [1, 2]
"""Each fault is injected this many times (the table sums them)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with high_flow_stack(seed=23) as s:
        yield s


def row(name: str) -> FaultRow:
    return ROWS.setdefault(name, FaultRow(fault=name))


def test_every_market_quotes(stack: Stack) -> None:
    wait_quoted(stack, markets(stack), timeout=60, what="an open order at the simulator on every market of both venues")


# --- kill switch levels ------------------------------------------------------------------------

def test_kill_one_market_leaves_the_others_quoting(stack: Stack) -> None:
    victim = markets(stack, "polymarket")[0]
    others = [m for m in markets(stack) if m != victim]
    stack.pmm("kill", "--market", victim, "--reason", "chaos market kill")
    eventually(lambda: stack.open_orders_by_market()[victim] == 0, timeout=3,
               what=f"{victim} has no open order")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # latched, and the rest keep quoting throughout
        orders = stack.open_orders_by_market()
        assert orders[victim] == 0, "an order was placed on a killed market"
        time.sleep(0.2)
    wait_quoted(stack, others, timeout=10, what="the other markets still quote")
    stack.pmm("reset")
    wait_quoted(stack, [victim], timeout=20, what=f"{victim} quotes after reset")


def test_kill_one_venue_leaves_the_other_venue_quoting(stack: Stack) -> None:
    stack.pmm("kill", "--venue", "kalshi", "--reason", "chaos venue kill")
    eventually(lambda: all(stack.open_orders_by_market()[m] == 0 for m in markets(stack, "kalshi")),
               timeout=3, what="no kalshi order after kill --venue kalshi")
    wait_quoted(stack, markets(stack, "polymarket"), timeout=10, what="polymarket keeps quoting")
    time.sleep(0.5)  # noqa: ASYNC251 - a latch check, not a wait for a condition
    assert all(stack.open_orders_by_market()[m] == 0 for m in markets(stack, "kalshi"))
    stack.pmm("reset")
    wait_quoted(stack, markets(stack), timeout=30, what="everything quotes again")


def test_forged_stale_and_replayed_control_is_refused_and_counted(stack: Stack) -> None:
    before = {r: metric(stack, "pmm_control_rejected_total", process="risk", reason=r)
              for r in ("bad_mac", "stale", "replay")}
    forged = Kill(sender="mallory", nonce=new_nonce(), ts_ns=time.time_ns(), reason="forged")
    from common import auth

    ack = send_control(stack, auth.seal(forged, b"not-the-secret-0123456789abcdef"))
    assert (ack.ok, ack.detail) == (False, "bad_mac")
    stale = Kill(sender="cli", nonce=new_nonce(), ts_ns=time.time_ns() - 120 * 10**9,
                 reason="an old kill")
    assert send_control(stack, seal(stack, stale)).detail == "stale"
    # A genuine kill, acted on once; after Reset the same frame replayed is refused.
    victim = markets(stack, "polymarket")[1]
    kill = seal(stack, Kill(sender="cli", nonce=new_nonce(), ts_ns=time.time_ns(),
                            reason="genuine", market=victim))
    assert send_control(stack, kill).ok
    assert send_control(stack, seal(stack, Reset(sender="cli", nonce=new_nonce(),
                                                  ts_ns=time.time_ns()))).ok
    again = send_control(stack, kill)
    assert (again.ok, again.detail) == (False, "replay")
    eventually(lambda: all(metric(stack, "pmm_control_rejected_total", process="risk", reason=r)
                           >= before[r] + 1 for r in before), timeout=10,
               what="each refusal counted by reason")
    assert stack.status()["kill"]["active"] is False
    wait_quoted(stack, markets(stack), timeout=10, what="still quoting")


def test_kill_latch_and_positions_survive_kill_9_of_risk(stack: Stack) -> None:
    """Quiesce under the kill switch, kill -9 risk: it comes back killed, with identical
    positions and P&L (rebuilt from the journal), then reset resumes quoting."""
    eventually(lambda: stack.sim_fill_count() > 0, timeout=60, what="some fills")
    stack.pmm("kill", "--reason", "before risk crash")
    eventually(lambda: sum(stack.open_orders_by_market().values()) == 0, timeout=5)
    eventually(lambda: position_gap(stack) == 0, timeout=15, what="risk == simulator")
    keys = ("position_yes", "position_no", "net_position", "realized_pnl_usd", "fills")
    snap = {m["id"]: {k: m[k] for k in keys} for m in stack.status()["markets"]}
    old = pid(stack, "risk")
    os.kill(old, signal.SIGKILL)
    eventually(lambda: restarted(stack, "risk", old), timeout=30, what="risk restarted")

    def same() -> bool:
        doc = stack.status()
        now = {m["id"]: {k: m[k] for k in keys} for m in doc["markets"]}
        return now == snap and doc["kill"]["active"] is True

    eventually(same, timeout=15, what=f"identical positions/P&L and a latched kill: {snap}")
    time.sleep(1.0)  # noqa: ASYNC251 - the latch must hold while quoters keep sending
    assert sum(stack.open_orders_by_market().values()) == 0, "quoting resumed before reset"
    stack.pmm("reset")
    wait_quoted(stack, markets(stack), timeout=30, what="quoting after reset")


def test_flatten_one_market_works_its_position_out(stack: Stack) -> None:
    """pmm flatten --market: risk cancels the quotes and sends exit clips (non-post-only at the
    executor) until the position is under one min size; the other markets keep quoting."""
    eventually(lambda: max(abs(m["net_position"]) for m in stack.status()["markets"]) >= 10,
               timeout=60, what="a market holding 10 contracts or more")
    doc = max(stack.status()["markets"], key=lambda m: abs(m["net_position"]))
    victim, start = doc["id"], doc["net_position"]
    min_size = stack.cfg.market(victim).min_size
    t0 = time.monotonic()
    stack.pmm("flatten", "--market", victim, "--reason", "chaos flatten")
    net_of = lambda: {m["id"]: m for m in stack.status()["markets"]}[victim]["net_position"]  # noqa: E731
    try:
        eventually(lambda: abs(net_of()) < min_size, timeout=45,
                   what=f"{victim} flattened from {start} (min size {min_size})")
        took = time.monotonic() - t0
        wait_quoted(stack, [m for m in markets(stack) if m != victim], timeout=10,
                    what="the other markets keep quoting while one flattens")
        print(f"\nflatten {victim}: {start} -> {net_of()} contracts in {took:.1f} s")
    finally:  # a failure here must not leave the market flattening for the tests after it
        stack.pmm("resume")
    wait_quoted(stack, [victim], timeout=20, what=f"{victim} quotes after resume")


# --- kill -9 of each process in turn -----------------------------------------------------------

@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_9_quoter(stack: Stack, round_: int) -> None:
    r = row("kill -9 quoter-0")
    shard = [m for k, m in enumerate(markets(stack)) if k % stack.cfg.stack.quoters == 0]
    others = [m for m in markets(stack) if m not in shard]
    wait_quoted(stack, markets(stack), timeout=30, what='quoted')
    t0 = time.monotonic()
    kill9(stack, "quoter-0")
    wait_quoted(stack, others, timeout=5, what="the other shard keeps quoting")
    wait_quoted(stack, shard, timeout=30, what=f"{shard} quoted after restart")
    r.injected += 1
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "its markets quoted again"
    r.duplicates += duplicates(stack)
    quiesce(stack, r)
    assert (r.orders_lost, r.fills_lost) == (0, 0), r.orphans


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_9_ingest(stack: Stack, round_: int) -> None:
    r = row("kill -9 ingest-kalshi")
    wait_quoted(stack, markets(stack), timeout=30, what='quoted')
    t0 = time.monotonic()
    kill9(stack, "ingest-kalshi")
    wait_quoted(stack, markets(stack, "polymarket"), timeout=5, what="polymarket keeps quoting")
    wait_quoted(stack, markets(stack, "kalshi"), timeout=30, what="kalshi quoted again")
    r.injected += 1
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "its markets quoted again"
    r.duplicates += duplicates(stack)
    quiesce(stack, r)
    assert (r.orders_lost, r.fills_lost) == (0, 0), r.orphans


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_9_executor(stack: Stack, round_: int) -> None:
    r = row("kill -9 executor-polymarket")
    wait_quoted(stack, markets(stack), timeout=30, what='quoted')
    t0 = time.monotonic()
    kill9(stack, "executor-polymarket")
    wait_quoted(stack, markets(stack, "polymarket"), timeout=30, what="polymarket quoted again after the executor restart")
    r.injected += 1
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "back, reconciled, quoting"
    r.duplicates += duplicates(stack)
    fills_before = r.fills_lost
    quiesce(stack, r)
    assert (r.orders_lost, r.duplicates) == (0, 0), f"orphaned or duplicate orders: {r.orphans}"
    # fills made while the executor was down are recovered from the venue's REST trades,
    # journaled, and replayed with its positions once risk's heartbeat is heard (replay.py)
    assert r.fills_lost == fills_before, (
        f"{r.fills_lost - fills_before} contracts of fills lost across an executor restart")


@pytest.mark.parametrize("round_", ROUNDS)
def test_sigstop_then_kill_9_risk(stack: Stack, round_: int) -> None:
    r = row("SIGSTOP + kill -9 risk")
    deadline_s = stack.cfg.executor.risk_timeout_ms / 1000 + 1.0
    wait_quoted(stack, markets(stack), timeout=30, what='quoted')
    old = pid(stack, "risk")
    os.kill(old, signal.SIGSTOP)
    try:
        safe = wait_no_orders(stack, timeout=deadline_s + 2)
    finally:
        os.kill(old, signal.SIGKILL)  # ends a stopped process too; supervisord reaps it at once
    r.injected += 1
    r.safe_s.append(safe)
    r.safe_what = "no open order at the venue"
    eventually(lambda: restarted(stack, "risk", old), timeout=30, what="risk restarted")
    wait_quoted(stack, markets(stack), timeout=30, what="quoting resumes")
    r.duplicates += duplicates(stack)
    fills_before = r.fills_lost
    quiesce(stack, r)
    assert safe <= deadline_s, f"orders still open {safe:.2f}s after risk hung"
    assert r.orders_lost == 0, f"orders left open at the venue: {r.orphans}"
    # fills published while risk was stopped or dead are journaled by the executors and
    # re-published when risk's heartbeats return (services/executor/replay.py)
    assert r.fills_lost == fills_before, (
        f"{r.fills_lost - fills_before} contracts of fills made while risk was down never "
        "reached it")


def open_order_ids(stack: Stack) -> set[str]:
    return {o["id"] for acct in stack.sim_state()["accounts"].values()
            for o in acct["open_orders"]}


@pytest.mark.parametrize("round_", ROUNDS)
def test_kill_9_risk_restarting_within_the_timeout_pulls_its_orders(stack: Stack,
                                                                   round_: int) -> None:
    """supervisord restarts risk faster than `risk_timeout_ms`, so the dead man's switch never
    trips; the new instance id in its heartbeats does: every order the dead gate approved is
    cancelled, and quoting resumes under the new gate (issue 15, item 5)."""
    r = row("kill -9 risk (back within the timeout)")
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    before = open_order_ids(stack)
    restarts = metric(stack, "pmm_orders_total", action="risk", outcome="new_instance")
    t0 = time.monotonic()
    kill9(stack, "risk")
    back_s = time.monotonic() - t0
    eventually(lambda: metric(stack, "pmm_orders_total", action="risk",
                              outcome="new_instance") >= restarts + 2,
               timeout=15, what="both executors saw a new risk instance")
    eventually(lambda: not (open_order_ids(stack) & before), timeout=15,
               what="every order the dead gate approved is cancelled")
    r.injected += 1
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "the dead gate's orders cancelled"
    wait_quoted(stack, markets(stack), timeout=30, what="quoting resumes under the new gate")
    r.duplicates += duplicates(stack)
    fills_before = r.fills_lost
    quiesce(stack, r)
    print(f"risk back in {back_s:.2f}s (timeout {stack.cfg.executor.risk_timeout_ms} ms)")
    assert r.orders_lost == 0, f"orders left open at the venue: {r.orphans}"
    assert r.fills_lost == fills_before, lost(r)


@pytest.mark.parametrize("program", ["executor-kalshi", "ingest-polymarket", "control",
                                     "exporter"])
def test_kill_9_every_other_role(stack: Stack, program: str) -> None:
    """The roles the rows above do not cover: each comes back under supervisord and the
    stack quotes on, with nothing lost or doubled."""
    r = row(f"kill -9 {program}")
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    t0 = time.monotonic()
    kill9(stack, program)
    r.injected += 1
    wait_quoted(stack, markets(stack), timeout=30, what=f"quoting after {program} restarted")
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "back under supervisord, every market quoted"
    r.duplicates += duplicates(stack)
    fills_before = r.fills_lost
    quiesce(stack, r)
    assert (r.orders_lost, r.duplicates) == (0, 0), f"orphaned or duplicate orders: {r.orphans}"
    assert r.fills_lost == fills_before, lost(r)


def sim(stack: Stack, method: str, path: str, **body: object) -> dict[str, Any]:
    resp = httpx.request(method, f"http://127.0.0.1:{stack.sim_port}{path}", json=body or None,
                         timeout=5)
    resp.raise_for_status()
    return dict(resp.json())


def test_polymarket_matching_engine_restart(stack: Stack) -> None:
    """Polymarket's weekly restart: 3 s of 425 Too Early on every order route, then a
    post-only window. Our ladders are post-only: quoting resumes as soon as the engine is
    back, with nothing doubled or left behind."""
    r = row("Polymarket engine restart (425, post-only)")
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    t0 = time.monotonic()
    fired = sim(stack, "POST", "/_sim/fault", kind="engine_restart", ms=3000,
                post_only_ms=5000)["fired"]
    assert fired.get("engine_restart", 0) >= 1, "the restart never started"
    r.injected += 1
    time.sleep(3.0)
    wait_quoted(stack, markets(stack, "polymarket"), timeout=30,
                what="polymarket quoted after the engine restart")
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "restart over, every market quoted"
    r.duplicates += duplicates(stack)
    sim(stack, "DELETE", "/_sim/fault")
    fills_before = r.fills_lost
    quiesce(stack, r)
    assert (r.orders_lost, r.duplicates) == (0, 0), r.orphans
    assert r.fills_lost == fills_before, lost(r)


def test_5xx_on_every_cancel_during_a_kill(stack: Stack) -> None:
    """The venue answers 500 to the first cancels of a kill: the executors retry until the
    venue confirms, and the venue ends with no order of ours."""
    r = row("5xx on cancel-all during a kill")
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    before = dict(sim(stack, "GET", "/_sim/fault").get("fired", {}))
    sim(stack, "POST", "/_sim/fault", kind="http_500", count=4)
    stack.pmm("kill", "--reason", "chaos: 5xx on cancel", check=False)
    safe = wait_no_orders(stack, timeout=15)
    fired = dict(sim(stack, "GET", "/_sim/fault").get("fired", {}))
    sim(stack, "DELETE", "/_sim/fault")
    assert fired.get("http_500", 0) > before.get("http_500", 0), "the 5xx fault never fired"
    r.injected += 1
    r.safe_s.append(safe)
    r.safe_what = "no open order at the venue"
    stack.pmm("reset")
    wait_quoted(stack, markets(stack), timeout=30, what="quoting after the reset")
    r.duplicates += duplicates(stack)
    quiesce(stack, r)
    assert r.orders_lost == 0, r.orphans


def test_print_fault_table() -> None:
    print("\n" + table(list(ROWS.values())))
    assert ROWS, "no fault was injected"


def test_kill_9_supervisord_stops_every_program(stack: Stack) -> None:
    """Last, since it ends the stack: supervisord killed with -9 takes every program down
    with it (the parent-death signal, common/runtime.py), each through its SIGTERM path,
    instead of leaving an unsupervised stack quoting."""
    r = row("kill -9 supervisord")
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    programs = {name: int(info["pid"]) for name, info in stack.processes().items()
                if info["statename"] == "RUNNING"}
    assert len(programs) >= 8, programs
    supervisord = int((stack.run_dir / "supervisord.pid").read_text())
    t0 = time.monotonic()
    os.kill(supervisord, signal.SIGKILL)
    r.injected += 1

    def alive() -> list[str]:
        out = []
        for name, p in programs.items():
            try:
                os.kill(p, 0)
            except ProcessLookupError:
                continue
            out.append(name)
        return out

    eventually(lambda: not alive(), timeout=20, what="every program stopped with supervisord")
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "every program stopped"
    print("\n" + table(list(ROWS.values())))
