"""A full disk under risk and under an executor, against the real stack under supervisord:
a real file-size limit on the running process (RLIMIT_FSIZE), so the real SQLite write
fails as on a full disk. Both venues, the simulator at a high rate; one stack for the
module, tests in file order; `-s` prints the fault table.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

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
    table,
    wait_quoted,
)
from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
ROWS: dict[str, FaultRow] = {}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with high_flow_stack(seed=29) as s:
        yield s


def row(name: str) -> FaultRow:
    return ROWS.setdefault(name, FaultRow(fault=name))


def disk_full(process_id: int) -> None:
    """Every write the process makes to a regular file from now on fails with EFBIG (CPython
    ignores SIGXFSZ), as on a full disk: RLIMIT_FSIZE of 1 byte, hard limit unchanged."""
    _, hard = resource.prlimit(process_id, resource.RLIMIT_FSIZE)
    resource.prlimit(process_id, resource.RLIMIT_FSIZE, (1, hard))


def disk_freed(process_id: int) -> None:
    _, hard = resource.prlimit(process_id, resource.RLIMIT_FSIZE)
    resource.prlimit(process_id, resource.RLIMIT_FSIZE, (hard, hard))


def test_every_market_quotes(stack: Stack) -> None:
    wait_quoted(stack, markets(stack), timeout=60, what="an open order on every market of both venues")


@pytest.mark.parametrize(("program", "store", "scope"), [
    ("risk", "risk_journal", markets),
    ("executor-polymarket", "", lambda stack: markets(stack, "polymarket")),
])
def test_disk_full(stack: Stack, program: str, store: str, scope: object) -> None:
    """The owner's journal write fails: it latches its kill switch, cancels its orders and
    stays up and answering; `pmm reset` is refused or relatches until the disk is fixed;
    after it, nothing was lost (risk's positions equal the venue's, also across a restart)."""
    r = row(f"disk full under {program}")
    scoped = scope(stack)  # type: ignore[operator]
    wait_quoted(stack, markets(stack), timeout=30, what="quoted")
    label = {"store": store} if store else {}
    faults = metric(stack, "pmm_storage_faults_total", **label)
    victim = pid(stack, program)
    t0 = time.monotonic()
    disk_full(victim)
    try:
        eventually(lambda: metric(stack, "pmm_storage_faults_total", **label) > faults,
                   timeout=30, what=f"a failed journal write in {program}")
        r.injected += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # its scope is emptied, and stays empty
            orders = stack.open_orders_by_market()
            if all(orders[m] == 0 for m in scoped):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"orders of {scoped} still open 10 s after the storage fault")
        r.safe_s.append(time.monotonic() - t0)
        r.safe_what = "its orders cancelled, process up"
        assert pid(stack, program) == victim, f"{program} died instead of failing safe"
        if program == "risk":
            eventually(lambda: stack.status()["kill"]["reason"].startswith("storage fault"),
                       timeout=5, what="status shows the storage fault's kill")
            refused = stack.pmm("reset", check=False)
            # Risk cannot even write the Reset's nonce down: refused, and the CLI says why.
            assert refused.returncode == 1 and "free disk space" in refused.stderr, refused.stderr
            time.sleep(1.0)  # noqa: ASYNC251 - the latch must hold while quoters keep sending
            assert all(stack.open_orders_by_market()[m] == 0 for m in scoped)
    finally:
        disk_freed(victim)
    stack.pmm("reset")
    wait_quoted(stack, markets(stack), timeout=30, what=f"quoting after the disk under {program} is fixed")
    r.duplicates += duplicates(stack)
    fills_before = r.fills_lost
    quiesce(stack, r)
    assert (r.orders_lost, r.duplicates) == (0, 0), r.orphans
    # Applied while the journal was down (risk applies a fill it cannot write: it is real).
    assert r.fills_lost == fills_before, lost(r)
    # The journal is whole again: a risk rebuilt from it (and the executors' replay) agrees.
    kill9(stack, "risk")
    eventually(lambda: position_gap(stack) == 0, timeout=30,
               what="a restarted risk agrees with the venue")
    stack.pmm("reset")


def test_print_fault_table() -> None:
    print("\n" + table(list(ROWS.values())))
    assert ROWS, "no fault was injected"
