"""`make bench`: run every benchmark in turn; each prints its figures and writes bench/results/*.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = [
    ["bench/latency.py", "--rate", "1000", "--duration", "15"],
    ["bench/executor_wire.py"],
    ["bench/quoter_decisions.py"],
]


def main() -> int:
    failed = []
    for i, cmd in enumerate(BENCHES, 1):
        print(f"==> [{i}/{len(BENCHES)}] {' '.join(cmd)}", flush=True)
        if subprocess.run([sys.executable, *cmd], cwd=ROOT).returncode != 0:
            failed.append(cmd[0])
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print(f"all benchmarks done; results in {ROOT / 'bench' / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
