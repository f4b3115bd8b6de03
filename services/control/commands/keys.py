"""pmm keys: write one CURVE certificate pair per bus role (common/bus_curve.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from common.bus_curve import PUBLIC_SUFFIX, SECRET_SUFFIX, all_roles
from services.control import stack
from services.control.commands import add, say

__all__ = ["cmd_keys", "register", "write_keys"]


def _where(role: str) -> str:
    """Which host needs this role's secret file."""
    if role.startswith(("ingest-", "executor-")):
        return f"the host that runs {role}"
    return {"risk": "the risk host", "quoter": "every quoter host",
            "control": "the control host and every host that runs `pmm kill`",
            "reference": "the reference host", "recorder": "the recorder host"}[role]


def write_keys(out: Path, *, force: bool = False) -> list[str]:
    """Create `<role>.key` and `<role>.key_secret` for every role in `out` (0700 dir,
    0600 secrets, 0644 public); refuse to replace existing keys unless `force`."""
    import zmq.auth

    roles = all_roles()
    existing = [r for r in roles if (out / f"{r}{SECRET_SUFFIX}").exists()]
    if existing and not force:
        raise stack.StackError(f"{out} already holds keys ({', '.join(existing)}); a running "
                               "stack uses them. Pass --force to replace every key")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    for role in roles:
        public, secret = zmq.auth.create_certificates(out, role)
        os.chmod(secret, 0o600)
        os.chmod(public, 0o644)
    return roles


def cmd_keys(args: argparse.Namespace) -> int:
    if args.dir:
        out = Path(args.dir)
    else:
        try:
            out = Path(stack.find(args.config)[0].bus.curve.keys_dir)
        except stack.StackError:
            out = Path(".pmm/keys")
    roles = write_keys(out, force=args.force)
    print(f"CURVE keys for {len(roles)} roles in {out.resolve()} (dir 0700, *{SECRET_SUFFIX} 0600)")
    for role in roles:
        print(f"  {role + SECRET_SUFFIX:32s} -> {_where(role)} only")
    say(f"every host needs all *{PUBLIC_SUFFIX} files; copy the directory to each host, then "
        f"delete the *{SECRET_SUFFIX} files of roles that host does not run. Set [bus.curve] "
        "enabled = true and keys_dir to this directory in every host's config.")
    return 0


def register(sub: Any) -> None:
    p = add(sub, "keys", "Write a CURVE key pair per bus role for a stack that spans hosts.",
            "pmm keys --dir /etc/pmm/keys\npmm keys --dir .pmm/keys --force", cmd_keys)
    p.add_argument("--config", default=None)
    p.add_argument("--dir", default=None, help="where to write (default: [bus.curve] keys_dir)")
    p.add_argument("--force", action="store_true", help="replace existing keys")
