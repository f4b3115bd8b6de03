"""Across hosts: risk and a quoter in two network namespaces joined by a veth pair, talking
over tcp:// with CURVE and per-role keys (`pmm keys`). A peer with an unknown key, and one
with a known role that is not on the intents allow-list (an executor's), are refused and
counted by domain, and nothing they send reaches the gate or an executor.

Hosts are simulated with namespaces this test creates (10.200.x.1/30 and .2 on its own veth
pair; the root namespace gets no address and no route) and deletes in a finally. The
commands channel (risk -> executor) stays on ipc://, played by this test's PULL socket.
Needs root and iproute2; skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import zmq
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from common import config
from common.messages import ApprovedIntent, ExecutorCommand
from services.control.commands.keys import write_keys
from tests.chaos.netns_peer import INTRUDER_SEQ

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MARKET = """
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xm1"
yes_token = "1"
no_token = "2"
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture()
def namespaces() -> Iterator[tuple[str, str, str]]:
    """Two fresh namespaces (risk host, quoter host) on a veth pair; yields their names and
    the risk host's address. Everything is deleted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces (ip netns)")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (`ip`) is not installed")
    tag = secrets.token_hex(3)
    nsr, nsq = f"pmmr-{tag}", f"pmmq-{tag}"
    net = 1 + int(tag, 16) % 250
    created: list[str] = []
    try:
        for ns in (nsr, nsq):
            try:
                _ip("netns", "add", ns)
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"`ip netns add` is unavailable here: {exc.stderr.decode().strip()}")
            created.append(ns)
        _ip("link", "add", f"vr{tag}", "netns", nsr, "type", "veth", "peer", "name", f"vq{tag}",
            "netns", nsq)
        for ns, dev, host in ((nsr, f"vr{tag}", 1), (nsq, f"vq{tag}", 2)):
            _ip("-n", ns, "addr", "add", f"10.200.{net}.{host}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield nsr, nsq, f"10.200.{net}.1"
    finally:
        for ns in created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def from_intruder(a: ApprovedIntent) -> bool:
    """Intruder intents carry seq 777001.. (a real quoter's are wall-clock microseconds)."""
    return INTRUDER_SEQ <= a.intent_seq < 10**9


def _spawn(ns: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    try:
        return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", *args],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        out.close()


def test_quoter_in_another_namespace_over_curve_and_an_untrusted_peer_is_refused(
    namespaces: tuple[str, str, str],
) -> None:
    nsr, nsq, addr = namespaces
    d = Path(tempfile.mkdtemp(prefix="pmm-ns-", dir="/tmp"))
    procs: list[subprocess.Popen[bytes]] = []
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.LINGER, 0)
    try:
        write_keys(d / "keys")
        bus = f"""
[stack]
run_dir = "{d}/run"
[quoting]
interval_ms = 300
[bus]
intents = "tcp://{addr}:5601"
state = "tcp://{addr}:5602"
"""
        (d / "risk.toml").write_text(bus + f"""
[bus.curve]
enabled = true
keys_dir = "{d}/keys"
""" + MARKET)
        (d / "quoter.toml").write_text(bus + f"""
[bus.md]
polymarket = "tcp://{addr}:5603"
[bus.curve]
enabled = true
keys_dir = "{d}/keys"
""" + MARKET)
        cfg = config.load(d / "risk.toml")
        commands = config.endpoint(cfg, "commands", "polymarket")
        Path(commands.removeprefix("ipc://")).parent.mkdir(parents=True, exist_ok=True)
        pull.bind(commands)
        metrics_dir = d / "metrics"
        metrics_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PMM_CONTROL_SECRET": "s" * 32,
               "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        procs.append(_spawn(nsr, ["services.risk", "--config", str(d / "risk.toml")], env,
                            d / "risk.log"))
        procs.append(_spawn(nsr, ["tests.chaos.netns_peer", "books", "--config",
                                  str(d / "quoter.toml"), "--market", "m1"], env,
                            d / "books.log"))
        procs.append(_spawn(nsq, ["services.quoter", "--config", str(d / "quoter.toml"),
                                  "--shard", "0", "--shards", "1"], env, d / "quoter.log"))
        dec = msgspec.msgpack.Decoder(ExecutorCommand)

        def approved_within(seconds: float) -> list[ApprovedIntent]:
            got: list[ApprovedIntent] = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if pull.poll(50):
                    cmd = dec.decode(pull.recv())
                    if isinstance(cmd, ApprovedIntent):
                        got.append(cmd)
            return got

        def logs() -> str:
            return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                             for p in sorted(d.glob("*.log")))

        # The quoter's intents cross the namespaces over tcp+CURVE and come out approved.
        deadline = time.monotonic() + 30
        legit: list[ApprovedIntent] = []
        while not legit and time.monotonic() < deadline:
            legit = [a for a in approved_within(0.5) if a.bids and not from_intruder(a)]
        assert legit, "no approved intent from the quoter across namespaces\n" + logs()

        intruders = [_spawn(nsq, ["tests.chaos.netns_peer", "intruder", "--config",
                                  str(d / "quoter.toml"), "--market", "m1", "--seconds", "3",
                                  "--role", role], env, d / f"intruder{i}.log")
                     for i, role in enumerate(("", "executor-polymarket"))]
        procs += intruders
        seen = approved_within(4.0)
        for p in intruders:
            p.wait(timeout=10)
        seen += approved_within(0.5)
        assert not [a for a in seen if from_intruder(a)], "an intruder intent passed"
        assert [a for a in seen if not from_intruder(a)], "the trusted quoter stopped\n" + logs()
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(metrics_dir))
        refused = registry.get_sample_value("pmm_bus_auth_refused_total",
                                            {"process": "risk", "domain": "intents"})
        assert refused and refused >= 2, "the refused peers were not counted\n" + logs()
        reasons = (d / "risk.log").read_text(errors="replace")
        assert "unknown key" in reasons, logs()
        assert "role executor-polymarket is not allowed on intents" in reasons, logs()
        print(f"\nnetns CURVE: {len(legit)}+ approved from the trusted quoter, intruder refused "
              f"{refused:.0f}x, 0 intruder intents reached risk")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        pull.close(linger=0)
        ctx.term()
        shutil.rmtree(d, ignore_errors=True)
