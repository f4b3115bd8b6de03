"""`make bench`: run every benchmark in turn; each prints its figures and writes bench/results/*.json.

About 7-8 minutes on the project's 2-core machine. The pipeline benchmarks (latency,
throughput, kill, memory) start real processes; run them on a quiet machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = [
    ["bench/signing.py"],
    ["bench/micro.py"],
    ["bench/quoter_decisions.py"],
    ["bench/requote.py"],
    ["bench/executor_wire.py"],
    ["bench/latency.py", "--rates", "1000,10000", "--quoters", "2,4", "--markets", "100", "--duration", "8"],
    ["bench/throughput.py", "--rates", "1000,2000,4000,8000", "--duration", "8"],
    ["bench/kill.py"],
    ["bench/memory.py"],
]
OPTIONAL = [["bench/backtest_speed.py"]]  # the research engineer's; run when present


def main() -> int:
    benches = BENCHES + [cmd for cmd in OPTIONAL if (ROOT / cmd[0]).exists()]
    failed = []
    start = time.monotonic()
    for i, cmd in enumerate(benches, 1):
        print(f"==> [{i}/{len(benches)}] {' '.join(cmd)}", flush=True)
        if subprocess.run([sys.executable, *cmd], cwd=ROOT).returncode != 0:
            failed.append(cmd[0])
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print(f"all benchmarks done in {time.monotonic() - start:.0f}s; results in {ROOT / 'bench' / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
