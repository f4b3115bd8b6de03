"""Shared by kill.py and memory.py: the real stack under supervisord with N generated markets.

Uses tests/integration/stack.py's harness (free ports, short tmp dir, real supervisord,
the built-in simulator), with generated Polymarket markets and the executor's order-rate
buckets lifted so 100 markets can all be quoted at once.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import config as config_mod  # noqa: E402
from tests.integration.stack import Stack  # noqa: E402

CALM_FLOW = ("[sim.flow]\nvolatility = 0.002\njump_probability = 0.0\nnoise_rate_hz = 0.05\n"
             "informed_rate_hz = 0.02\ncompete_hz = 0.0\n")
"""Orders rest: little flow, and makers that never overbid ours (churn would time the
re-quotes, not what a benchmark measures)."""


def markets_file(d: Path, n: int) -> Path:
    lines = []
    for k in range(n):
        lines.append(
            f'[[markets]]\nid = "k{k}"\nvenue = "polymarket"\nvenue_market = "0x{k + 1:064x}"\n'
            f'yes_token = "{10**30 + 2 * k}"\nno_token = "{10**30 + 2 * k + 1}"\ntick = 0.01\n'
            f"min_size = 5\nsim_start_probability = {0.3 + 0.4 * (k % 10) / 10:.2f}\n"
        )
    path = d / "markets.toml"
    path.write_text("\n".join(lines))
    return path


def make_stack(markets: int, *, calm: bool, quoters: int = 2) -> Stack:
    """A configured, not yet started stack; `calm` slows the simulator's flow so orders rest."""
    d = Path(tempfile.mkdtemp(prefix="pmmst-", dir="/tmp"))
    # The simulator enforces Polymarket's published limits: the bench's signer is on the
    # top tier (Elite: 600 orders/s burst 900, 1,200 cancels/s burst 1,800) and the executor
    # budgets 90% of it, as an operator would.
    extra = ("[risk]\nmax_total_exposure_usd = 1000000\nquoter_timeout_ms = 60000\n"
             "[sim.rate_limits]\npolymarket_tier = \"elite\"\n")
    stack = Stack(base=str(markets_file(d, markets)), quoters=quoters,
                  extra=extra + (CALM_FLOW if calm else ""))
    shutil.rmtree(d, ignore_errors=True)  # the harness has read the markets into its config
    text = stack.config_path.read_text().replace(
        "[venues.polymarket]\n",
        "[venues.polymarket]\norder_tokens_per_s = 540\norder_burst = 810\n"
        "cancel_tokens_per_s = 1080\ncancel_burst = 1620\n", 1)
    stack.config_path.write_text(text)
    stack.cfg = config_mod.load(stack.config_path)
    return stack


def open_orders(client: httpx.Client, port: int) -> tuple[int, int]:
    """(open orders, markets with an open order) at the simulator."""
    state = client.get(f"http://127.0.0.1:{port}/_sim/state", timeout=5).json()
    orders = [o for acct in state["accounts"].values() for o in acct["open_orders"]]
    return len(orders), len({o["market"] for o in orders})


def wait_quoted(stack: Stack, client: httpx.Client, markets: int, timeout_s: float) -> tuple[int, int]:
    """Poll the simulator until every market has an open order (or the deadline passes)."""
    deadline = time.monotonic() + timeout_s
    seen = (0, 0)
    while time.monotonic() < deadline:
        try:
            seen = open_orders(client, stack.sim_port)
        except (httpx.HTTPError, ValueError):  # the simulator is still starting
            seen = (0, 0)
        if seen[1] >= markets:
            return seen
        time.sleep(0.2)
    return seen
