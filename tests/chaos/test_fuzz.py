"""Garbage at every bound receiving socket of the real stack: nothing dies, every frame is counted.

Also a short coverage-guided fuzz (atheris, bench/fuzz.py) of every venue decoder: the
harness first proves it crashes the pre-issue-15 price parse, then every decoder must
take its inputs with no crash.

Targets: risk's intents PULL and control ROUTER, the executor's commands PULL and control
ROUTER. Frames: random bytes, truncated valid frames, wrong tags, valid-but-absurd values
(negative sizes, prices outside (0, 1), NaN where an int belongs), multipart junk, and a
frame over the bus's size cap. Afterwards every process has the pid it had before, the
dropped-frame and refused-control counters rose, and the stack still quotes.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import zmq

from common import auth, config
from common.messages import ExecutorCommand, IntentChannel, Kill, Level, QuoteIntent
from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
SEED = 20261122


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running(seed=5) as s:
        yield s


def _metric(stack: Stack, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _decodes(frame: bytes, union: object) -> bool:
    try:
        msgspec.msgpack.decode(frame, type=union)
        return True
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return False


def _garbage(rng: random.Random) -> list[bytes]:
    enc = msgspec.msgpack.Encoder()
    valid = enc.encode(QuoteIntent(market="fed-cut-dec", quoter="fuzz", seq=1, ts_recv_ns=1, ts_sent_ns=1,
                                   fair_value=5000, bids=(Level(4900, 100),), asks=(Level(5100, 100),)))
    frames = [
        b"",
        bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))),
        valid[: len(valid) // 2],
        enc.encode({"t": "no-such-tag", "x": 1}),
        enc.encode({"t": "intent", "market": "fed-cut-dec"}),
        enc.encode({"t": "intent", "market": "fed-cut-dec", "quoter": "q", "seq": 1, "ts_recv_ns": 1,
                    "ts_sent_ns": 1, "fair_value": 5000, "bids": [[4900, -5]], "asks": []}),
        enc.encode({"t": "intent", "market": "fed-cut-dec", "quoter": "q", "seq": 1, "ts_recv_ns": 1,
                    "ts_sent_ns": 1, "fair_value": 5000, "bids": [[12000, 100]], "asks": []}),
        enc.encode({"t": "intent", "market": "fed-cut-dec", "quoter": "q", "seq": 1, "ts_recv_ns": 1,
                    "ts_sent_ns": 1, "fair_value": float("nan"), "bids": [], "asks": []}),
        enc.encode({"t": "approved", "venue": "polymarket", "market": "fed-cut-dec", "risk_seq": -1}),
        enc.encode([1, 2, 3]),
    ]
    for _ in range(30):
        base = rng.choice(frames[2:])
        cut = rng.randint(0, len(base))
        frames.append(base[:cut] + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 8))))
    return frames


def test_garbage_at_every_bound_socket_is_dropped_and_counted(stack: Stack) -> None:
    rng = random.Random(SEED)
    print(f"fuzz seed {SEED}")
    eventually(lambda: sum(stack.open_orders_by_market().values()) > 0, timeout=30)
    before = {n: i["pid"] for n, i in stack.processes().items() if i["statename"] == "RUNNING"}
    dropped_before = _metric(stack, "pmm_bus_dropped_frames_total")
    refused_before = _metric(stack, "pmm_control_rejected_total")
    cfg = stack.cfg
    targets = {
        "risk-intents": (zmq.PUSH, config.endpoint(cfg, "intents"), IntentChannel),
        "executor-commands": (zmq.PUSH, config.endpoint(cfg, "commands", "polymarket"), ExecutorCommand),
        "risk-control": (zmq.DEALER, config.endpoint(cfg, "control", "risk"), None),
        "executor-control": (zmq.DEALER, config.endpoint(cfg, "control", "executor-polymarket"), None),
    }
    ctx = zmq.Context()
    sent = {zmq.PUSH: 0, zmq.DEALER: 0}
    try:
        for kind, ep, union in targets.values():
            sock = ctx.socket(kind)
            sock.setsockopt(zmq.LINGER, 2000)  # deliver everything before close
            sock.setsockopt(zmq.SNDTIMEO, 1000)
            sock.connect(ep)
            for frame in _garbage(rng):
                sock.send(frame)
                if union is None or not _decodes(frame, union):
                    sent[kind] += 1  # a frame that happens to be valid is not garbage
            sock.send_multipart([b"junk", b"more junk", b"\x00"])
            # A forged kill (wrong secret) and a replay of nothing: refused, never acted on.
            forged = auth.seal(Kill(sender="mallory", nonce=auth.new_nonce(), ts_ns=time.time_ns(),
                                    reason="forged"), b"not-the-secret-at-all-0123456789")
            sock.send(forged)
            sock.close()
        # Over the size cap: the receiving socket drops the peer, the process carries on.
        big = ctx.socket(zmq.PUSH)
        big.setsockopt(zmq.LINGER, 2000)
        big.connect(targets["risk-intents"][1])
        big.send(b"\x00" * (2 << 20))
        big.close()
    finally:
        ctx.term()

    # Data channels count undecodable frames as dropped; control channels count them as refused
    # (with the two forged kills). Every frame must be accounted for.
    eventually(lambda: _metric(stack, "pmm_bus_dropped_frames_total") >= dropped_before + sent[zmq.PUSH],
               timeout=10, what=f"dropped-frame counter covers the {sent[zmq.PUSH]} garbage frames "
               f"(was {dropped_before}, now {_metric(stack, 'pmm_bus_dropped_frames_total')})")
    eventually(lambda: _metric(stack, "pmm_control_rejected_total") >= refused_before + sent[zmq.DEALER] + 2,
               timeout=10, what="garbage and forged kills refused and counted by risk and executor")
    after = {n: i for n, i in stack.processes().items()}
    for name, pid in before.items():
        assert after[name]["statename"] == "RUNNING" and after[name]["pid"] == pid, f"{name} died"
    doc = stack.status()
    assert doc["kill"]["active"] is False, "a forged kill was acted on"
    # Still quoting on every market.
    eventually(lambda: all(n > 0 for n in stack.open_orders_by_market().values())
               and len(stack.open_orders_by_market()) == len(cfg.markets), timeout=20)
    assert re.search(r"pmm_bus_dropped_frames_total\{", httpx.get(
        f"http://127.0.0.1:{stack.exporter_port}/metrics", timeout=5).text)


FUZZ = [sys.executable, str(Path(__file__).resolve().parents[2] / "bench" / "fuzz.py")]


def test_the_venue_fuzzer_finds_the_price_parse_this_issue_fixed() -> None:
    """The harness's canary is the pre-issue-15 price parse: the fuzzer must crash it."""
    proc = subprocess.run([*FUZZ, "--runs", "200000", "--targets", "canary"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1 and re.search(r"^canary .* crashes 1 ", proc.stdout, re.M), \
        proc.stdout + proc.stderr[-2000:]


def test_every_venue_decoder_survives_a_short_coverage_guided_fuzz() -> None:
    proc = subprocess.run([*FUZZ, "--runs", "5000", "--no-record"], capture_output=True, text=True,
                          timeout=600, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if " inputs " in ln]
    print("\n".join(lines))
    assert proc.returncode == 0 and len(lines) == 7, proc.stdout + proc.stderr[-2000:]
    assert all(re.search(r"inputs\s+5000\s+crashes 0", ln) for ln in lines), lines
