"""`pmm`: the operator's command line (contract in shared/DESIGN.md).

Commands live in `services/control/commands/`, one module per family.
"""

from __future__ import annotations

import argparse
import sys

from common.errors import PmmError
from services.control.commands import keys, lifecycle, operate, preview
from services.control.commands import markets as market_commands
from services.control.commands import research, scan

__all__ = ["FAMILIES", "build_parser", "main"]

FAMILIES = [lifecycle, operate, market_commands, preview, research, scan, keys]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmm", description="Market maker for binary prediction markets.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for family in FAMILIES:
        family.register(sub)
    examples = [p.get_default("examples").splitlines()[0] for p in sub.choices.values()]
    parser.epilog = "examples:\n  " + "\n  ".join(examples) + "\n\n`pmm COMMAND --help` shows more."
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PmmError as exc:
        print(f"pmm {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
