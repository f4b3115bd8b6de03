"""The events channel overflowing its high-water mark, on the real stack: every queue is four
messages deep ([bus] send_hwm/recv_hwm), risk is frozen (SIGSTOP) while the venue keeps
filling our resting orders, so the executors' PUB sockets drop events, fills among them.
Risk must see the gap in the fill sequence when it wakes, ask for a replay, and end with
the venue's positions: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.chaos.chaos import (
    FaultRow, duplicates, high_flow_stack, metric, pid, quiesce, table, wait_quoted,
)
from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
FREEZE_S = 20.0
"""Risk is stopped this long: long enough for the events a busy venue produces to overflow
the kernel's socket buffers as well as the four-message queues."""

EXTRA = f"""
[bus]
send_hwm = 4
recv_hwm = 4
[executor]
risk_timeout_ms = {int(FREEZE_S * 1000) + 20_000}
report_interval_ms = 20
"""
"""A risk timeout longer than the freeze: the resting orders stay and keep filling. Reports
every 20 ms per market (500 ms by default): thousands of events in the freeze, far more than
the queues and the kernel's socket buffers hold, so the fills among them are dropped too."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with high_flow_stack(seed=31, extra=EXTRA) as s:
        yield s


def test_events_overflow_while_risk_is_frozen(stack: Stack) -> None:
    r = FaultRow(fault="events channel over its HWM")
    markets = [m.id for m in stack.cfg.markets]
    wait_quoted(stack, markets, timeout=60, what="quoted")
    gaps = metric(stack, "pmm_fill_sequence_gaps_total")
    fills = stack.sim_fill_count()
    frozen = pid(stack, "risk")
    os.kill(frozen, signal.SIGSTOP)
    try:
        time.sleep(FREEZE_S)
        filled = stack.sim_fill_count() - fills
    finally:
        os.kill(frozen, signal.SIGCONT)
    t0 = time.monotonic()
    assert filled > 0, "no fill while risk was frozen: nothing could be dropped"
    eventually(lambda: metric(stack, "pmm_fill_sequence_gaps_total") > gaps, timeout=30,
               what=f"risk saw a gap in the fill sequence ({filled} fills while frozen)")
    r.injected += 1
    r.safe_s.append(time.monotonic() - t0)
    r.safe_what = "the gap seen after the thaw"
    r.duplicates += duplicates(stack)
    quiesce(stack, r)
    print("\n" + table([r]))
    assert (r.orders_lost, r.duplicates) == (0, 0), r.orphans
    assert r.fills_lost == 0, (f"{r.fills_lost} contracts of fills dropped at the HWM never "
                               "replayed:\n" + "\n".join(r.lost_fills[-60:]))
