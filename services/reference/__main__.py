"""`python -m services.reference --config F`: every `[[references]]` feed onto the md bus."""

from __future__ import annotations

import argparse
import asyncio
import sys

from common import overlay, runtime
from common.errors import ConfigError
from services.reference.process import NAME, ReferenceActor


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, load the config and publish reference prices until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m services.reference", description=__doc__)
    parser.add_argument("--config", required=True, help="TOML config file")
    args = parser.parse_args(argv)
    try:
        cfg = overlay.load_effective(args.config)
    except ConfigError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        sys.exit(2)
    if not cfg.references:
        print(f"reference: no [[references]] feeds in {args.config}", file=sys.stderr)
        sys.exit(2)

    async def _main(stop: asyncio.Event) -> None:
        await ReferenceActor(cfg).run(stop)

    runtime.run(NAME, NAME, _main, level=cfg.stack.log_level)


if __name__ == "__main__":
    main()
