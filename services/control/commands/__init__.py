"""`pmm` subcommands, one module per family. Each module has `register(sub)`.

To add a family: write `commands/<name>.py` with `register(sub)` that calls `add(...)`
for each command, and list the module in `services/control/cli.py:FAMILIES`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import bus_curve
from common.config import Config, control_targets
from common.messages import ControlMessage
from services.control import stack

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add(sub: Any, name: str, help_text: str, examples: str,
        func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """Add a subcommand with its description and examples in --help."""
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text,
        epilog="examples:\n  " + examples.replace("\n", "\n  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=func, examples=examples)
    return p


def say(text: str) -> None:
    """Progress and errors go to stderr; results go to stdout."""
    print(text, file=sys.stderr, flush=True)


def config_path(text: str) -> Path:
    """A config path as given, or relative to the pmm checkout."""
    path = Path(text)
    if not path.exists() and (stack.HOME / text).exists():
        path = stack.HOME / text
    return path


def control_url(cfg: Config, path: str) -> str:
    return f"http://{cfg.control.http_host}:{cfg.control.http_port}{path}"


def fetch_status(cfg: Config) -> dict[str, Any]:
    """The running stack's status document from the control plane."""
    import httpx  # here, not at the top: `pmm kill` starts without it (~70 ms)

    url = control_url(cfg, "/state")
    try:
        resp = httpx.get(url, timeout=2.0)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise stack.StackError(
            f"the stack is not answering at {url} ({exc.__class__.__name__}); "
            "start it with `pmm up` or check `pmm up` output and the logs in the run dir"
        ) from exc
    data: dict[str, Any] = resp.json()
    return data


def send(cfg: Config, make: Callable[[str, int], ControlMessage], verb: str,
         targets: dict[str, str] | None = None) -> int:
    """Deliver a control message to risk and every executor (or `targets`); print each ack."""
    from services.control.sender import deliver

    secret = stack.control_secret(cfg)
    targets = targets or control_targets(cfg)
    say(f"sending {verb} to {', '.join(targets)}")
    acks = asyncio.run(
        deliver(targets, make, secret, ack_timeout_ms=cfg.control.ack_timeout_ms,
                retries=cfg.control.retries, on_progress=say,
                curves=bus_curve.control_curves(cfg, targets))
    )
    failed = [name for name, ack in acks.items() if ack is None or not ack.ok]
    for name, ack in acks.items():
        state = "acknowledged" if ack and ack.ok else (f"refused: {ack.detail}" if ack else "NO ANSWER")
        print(f"{name:24s} {state}")
    for name in failed:
        ack = acks[name]
        say(f"{verb} not acknowledged by {name}: " + refusal_advice(ack.detail if ack else None))
    return 1 if failed else 0


REFUSALS = {
    None: "check that it runs (`pmm status`, supervisorctl) and that the stack's control "
          "endpoints are reachable from here",
    "bad_mac": "the control secret differs from the stack's (PMM_CONTROL_SECRET or "
               "<run_dir>/secrets/control_secret)",
    "malformed": "the control secret differs from the stack's, or this pmm is another version",
    "stale": "this host's clock is behind the receiver's by more than the window; check NTP",
    "future": "this host's clock is ahead of the receiver's; check NTP",
    "replay": "a message with this nonce was seen already; run the command again",
    "nonce_store": "it cannot write its replay-protection store (disk full or a read-only "
                   "<run_dir>/control): free disk space or fix the disk, then run the command again",
}
"""What to do about each refusal an Ack can carry (common/auth.py's reasons, or no answer)."""


def refusal_advice(detail: str | None) -> str:
    """The next step for the operator after a refused or unanswered control message."""
    return REFUSALS.get(detail, detail or "")
