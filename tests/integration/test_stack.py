"""The whole stack under real supervisord against the built-in Polymarket simulator.

One stack serves the module; tests run in file order and each states what it leaves behind.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running() as s:
        yield s


def test_quotes_rest_on_every_market(stack: Stack) -> None:
    markets = {m.id for m in stack.cfg.markets}
    eventually(lambda: markets <= {m for m, n in stack.open_orders_by_market().items() if n > 0},
               timeout=30, what="an open order at the simulator on every market")
    # Resting orders are two-sided: YES bids and NO bids (asks expressed on the NO token).
    outcomes = {o["outcome"] for a in stack.sim_state()["accounts"].values() for o in a["open_orders"]}
    assert {"YES", "NO"} <= {o.upper() for o in outcomes}


def test_status_reports_quotes_with_the_contract_keys(stack: Stack) -> None:
    def quoted() -> dict | None:
        d = stack.status_cli()
        return d if all(m["open_orders"] > 0 and m["bid"] and m["ask"] for m in d["markets"]) else None

    doc = eventually(quoted, timeout=20, what="status shows our quotes on every market")
    assert set(doc["kill"]) >= {"active", "reason"} and doc["kill"]["active"] is False
    keys = {"id", "venue", "bid", "ask", "position_yes", "position_no", "net_position",
            "realized_pnl_usd", "marked_pnl_usd", "open_orders", "fills", "halted"}
    for m in doc["markets"]:
        assert keys <= set(m)
        assert 0 < m["bid"] < m["ask"] < 1


def test_fills_arrive_and_positions_move(stack: Stack) -> None:
    eventually(lambda: stack.sim_fill_count() > 0, timeout=60, what="a fill of ours at the simulator")
    eventually(lambda: sum(m["fills"] for m in stack.status()["markets"]) > 0, timeout=10,
               what="risk reports the fill")


def test_kill_9_of_one_quoter_leaves_the_rest_running(stack: Stack) -> None:
    before = stack.processes()
    victim = "quoter-0"
    others = {n: i["pid"] for n, i in before.items() if n != victim and i["statename"] == "RUNNING"}
    os.kill(before[victim]["pid"], signal.SIGKILL)
    eventually(lambda: (p := stack.processes()[victim])["statename"] == "RUNNING"
               and p["pid"] != before[victim]["pid"], timeout=20, what="supervisord restarts the quoter")
    after = stack.processes()
    for name, pid in others.items():
        assert after[name]["statename"] == "RUNNING" and after[name]["pid"] == pid, f"{name} was disturbed"
    # The restarted quoter's markets are quoted again.
    shard = [m.id for k, m in enumerate(stack.cfg.markets) if k % stack.cfg.stack.quoters == 0]
    eventually(lambda: all(stack.open_orders_by_market()[m] > 0 for m in shard), timeout=30,
               what=f"markets {shard} quoted again after the restart")


def test_kill_switch_empties_the_venue_within_a_second_and_latches(stack: Stack) -> None:
    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=20)
    t0 = time.monotonic()
    proc = stack.pmm_background("kill", "--reason", "integration test")
    sent: list[float] = []  # when the CLI, started and configured, began sending the kill
    err_lines: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not sent and line.startswith("sending kill"):
                sent.append(time.monotonic())
            err_lines.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    eventually(lambda: sum(stack.open_orders_by_market().values()) == 0, timeout=5, interval=0.01,
               what="zero open orders after kill")
    emptied = time.monotonic()
    with proc:  # waits, and closes both pipes
        assert proc.stdout is not None
        out = proc.stdout.read()
        reader.join(timeout=30)
    err = "".join(err_lines)
    assert proc.returncode == 0, err
    assert "risk" in out and "executor-polymarket" in out and "NO ANSWER" not in out
    assert sent, err
    # From the kill leaving the CLI to an empty book at the venue: issue 2's "within 1 second".
    # The CLI's interpreter start-up comes on top (0.3-0.5 s on a quiet 2-core box, past 1 s
    # while this stack loads both cores): bounded separately and loosely, so a busy CI box
    # does not fail the product's promise for Python's start-up.
    to_empty, total = emptied - sent[0], emptied - t0
    assert to_empty < 1.0, f"kill took {to_empty:.3f}s from sending to an empty venue"
    assert total < 3.0, f"`pmm kill` took {total:.3f}s from typing to an empty venue"
    print(f"kill -> zero open orders at the simulator: {to_empty * 1000:.0f} ms from sending, "
          f"{total * 1000:.0f} ms from typing `pmm kill`")
    # Latched: nothing is placed afterwards, while quoters keep sending intents.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert sum(stack.open_orders_by_market().values()) == 0, "an order was placed while killed"
        time.sleep(0.1)
    doc = stack.status()
    assert doc["kill"]["active"] is True and doc["kill"]["reason"] == "integration test"


def test_positions_at_risk_equal_the_simulators_record(stack: Stack) -> None:
    """With the kill switch latched no order rests, so fills are final: compare exactly."""
    def matches() -> bool:
        sim = stack.sim_positions()
        doc = {m["id"]: m for m in stack.status()["markets"]}
        return all(
            Decimal(str(doc[mid]["position_yes"])) == yes and Decimal(str(doc[mid]["position_no"])) == no
            for mid, (yes, no) in sim.items()
        )

    eventually(matches, timeout=10, what="risk positions == simulator fills")
    sim = stack.sim_positions()
    doc = {m["id"]: m for m in stack.status()["markets"]}
    for mid, (yes, no) in sim.items():
        assert Decimal(str(doc[mid]["net_position"])) == yes - no


def test_reset_resumes_quoting(stack: Stack) -> None:
    stack.pmm("reset")
    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=20,
               what="quotes return after reset")
    assert stack.status()["kill"]["active"] is False


def test_stopping_the_stack_leaves_no_order_open(stack: Stack) -> None:
    """Stop in the order `pmm down` uses, but keep the simulator up to look at it."""
    from services.control import stack as stack_mod

    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=20)
    stack_mod.stop_programs(stack.run_dir, ["control", "quoter", "ingest-polymarket",
                                            "executor-polymarket", "risk"])
    assert sum(stack.open_orders_by_market().values()) == 0
    stack.pmm("down")
    assert not (stack.run_dir / "supervisord.pid").exists()


def test_commands_say_what_to_do_when_no_stack_runs(tmp_path: object) -> None:
    s = Stack()
    try:
        proc = s.pmm("status", check=False)
        assert proc.returncode == 2
        assert "pmm up" in proc.stderr
        proc = s.pmm("down", check=False)
        assert proc.returncode == 2 and "nothing to stop" in proc.stderr
    finally:
        s.cleanup()
