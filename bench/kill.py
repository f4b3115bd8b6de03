"""Kill switch: time from `pmm kill` to the last cancel and to zero open orders at the simulator.

Starts the real stack under supervisord (tests/integration/stack.py's harness) on the
built-in simulator with --markets generated Polymarket markets, waits until every
market has orders resting at the simulator, then sends the kill exactly as `pmm kill`
does (services.control.commands.send: HMAC envelope to risk and every executor,
retried until each acknowledges) while a thread polls the simulator's GET /_sim/state.
- to_last_cancel_ms: until every receiver acknowledged. An executor acknowledges a kill
  only after its cancel request was answered by the venue, so this bounds the last
  cancel request from above.
- to_zero_open_ms: until the simulator's own state shows no open order of ours (the end
  of the first GET that saw none: an upper bound; `state_poll_ms` is the resolution).
Then resets, waits for the quotes to come back, and times the `pmm kill` command as a
process too (Python start-up and imports included). Writes bench/results/kill.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common.messages import Kill  # noqa: E402
from services.control.commands import send  # noqa: E402
from services.control import sender  # noqa: E402,F401  # `send` imports it lazily: not inside the timed window
from stackrun import make_stack, open_orders, wait_quoted  # noqa: E402
from tests.integration.stack import Stack  # noqa: E402


def timed_kill(stack: Stack, client: httpx.Client, action: object) -> dict[str, float]:
    """Run `action` (sends the kill); poll the simulator until zero open orders."""
    zero_at: list[float] = []
    stop = threading.Event()

    polls: list[float] = []

    def poll() -> None:
        with httpx.Client() as c:
            while not stop.is_set():
                begin = time.monotonic()
                count = open_orders(c, stack.sim_port)[0]
                polls.append(time.monotonic() - begin)
                if count == 0:
                    zero_at.append(time.monotonic())
                    return

    t0 = time.monotonic()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    action()  # type: ignore[operator]
    acked = time.monotonic()
    poller.join(10)
    stop.set()
    return {"to_last_cancel_ms": round((acked - t0) * 1000, 1),
            "to_zero_open_ms": round((zero_at[0] - t0) * 1000, 1) if zero_at else float("nan"),
            "state_poll_ms": round(1000 * sum(polls) / max(1, len(polls)), 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markets", type=int, default=100)
    p.add_argument("--quoted-timeout", type=float, default=45)
    a = p.parse_args()
    stack = make_stack(a.markets, calm=True)
    result: dict[str, object] = {"markets": a.markets, "load_1min": round(os.getloadavg()[0], 2)}
    try:
        print(f"kill: starting the stack with {a.markets} markets (load {os.getloadavg()[0]:.2f})", flush=True)
        stack.up()
        with httpx.Client() as client:
            orders, quoted = wait_quoted(stack, client, a.markets, a.quoted_timeout)
            print(f"  quoted: {orders} open orders on {quoted} markets", flush=True)
            result.update({"open_orders_before": orders, "markets_quoted": quoted})
            if quoted < a.markets:
                print("  not every market is quoted; log tails:\n" + stack.logs()[-4000:], flush=True)

            def in_process() -> None:
                rc = send(stack.cfg, lambda n, ts: Kill(sender="bench", nonce=n, ts_ns=ts, reason="bench"),
                          "kill")
                assert rc == 0, "kill not acknowledged"

            result.update(timed_kill(stack, client, in_process))
            print(f"  kill sent in process: last cancel acknowledged {result['to_last_cancel_ms']} ms, "
                  f"zero open orders at the simulator {result['to_zero_open_ms']} ms", flush=True)
            stack.pmm("reset")
            orders, quoted = wait_quoted(stack, client, a.markets, a.quoted_timeout)

            def as_cli() -> None:
                subprocess.run([sys.executable, "-m", "services.control.cli", "kill", "--reason", "bench",
                                "--config", str(stack.config_path)], cwd=stack.dir, check=True,
                               capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})

            cli = timed_kill(stack, client, as_cli)
            result.update({"cli_open_orders_before": orders, "cli_to_last_cancel_ms": cli["to_last_cancel_ms"],
                           "cli_to_zero_open_ms": cli["to_zero_open_ms"]})
            print(f"  (simulator state polled every ~{result['state_poll_ms']} ms)")
            print(f"  `pmm kill` as a process ({orders} open orders before): exits after "
                  f"{cli['to_last_cancel_ms']} ms, zero open orders {cli['to_zero_open_ms']} ms", flush=True)
    finally:
        stack.cleanup()
    out = ROOT / "bench" / "results" / "kill.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
