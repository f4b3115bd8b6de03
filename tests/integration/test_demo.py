"""`pmm demo`, the README's main job, as a process: it starts the whole stack on the
simulator, shows it, and on Ctrl-C, SIGTERM or SIGHUP cancels every order and stops it all."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from services.control import stack as stack_mod
from tests.integration.stack import Stack
from tests.support.wait import eventually

pytestmark = pytest.mark.integration


@pytest.fixture()
def fresh() -> Iterator[Stack]:
    s = Stack()
    try:
        yield s
    finally:
        s.cleanup()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)  # SIGHUP: as SIGTERM
def test_demo_quotes_then_stops_with_no_order_left(fresh: Stack, sig: signal.Signals) -> None:
    demo = fresh.pmm_background("demo")
    try:
        eventually(lambda: len([n for n in fresh.open_orders_by_market().values() if n]) >= 2,
                   timeout=60, what="the demo quoting at the simulator")
        time.sleep(6)  # one more refresh of the view (every 5 s without a terminal)
        demo.send_signal(sig)
        out, err = demo.communicate(timeout=60)
    except BaseException:
        demo.kill()
        print(fresh.logs())
        raise
    assert demo.returncode == 0, err
    assert "pmm demo" in out and "quoting" in out  # the live view was shown
    assert "open orders left at the simulator: 0" in err
    assert not stack_mod.is_running(fresh.run_dir)
