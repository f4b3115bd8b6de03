"""Kalshi conformance fixtures: the simulator, a key the venue knows, and one driver run.

The simulator is started through tests/support/sim.py; the key is an RSA key generated here
and registered at the simulator's `/_sim/kalshi/keys` (as a user uploads a public key to
Kalshi). The driver (kalshi_driver.py) runs once per module under .venv-kalshi's Python 3.13
with the official client; each of its JSON lines is one call's result.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from common.config import Config, parse
from tests.support.sim import SimThread

ROOT = Path(__file__).resolve().parents[2]
KALSHI_PYTHON = ROOT / ".venv-kalshi" / "bin" / "python"
KALSHI_DRIVER = Path(__file__).with_name("kalshi_driver.py")
KALSHI_TICKER = "KXFED-26DEC-T4.00"
DRIVER_TIMEOUT_S = 240


def kalshi_conformance_config() -> Config:
    """One Kalshi market with a still book: three maker levels each side, no other flow.

    The API key gets Kalshi's highest published tier (prime): the driver makes ~30 calls in
    a second, which Basic's budget would answer partly with 429s (tested on their own in
    tests/unit/test_sim_ratelimit.py).
    """
    return parse(f"""
[sim]
seed = 11
kalshi_auth_window_ms = 5000
[sim.rate_limits]
kalshi_tier = "prime"
[sim.flow]
volatility = 0.0
jump_probability = 0.0
noise_rate_hz = 0.0
informed_rate_hz = 0.0
maker_levels = 3
maker_half_spread = 0.04
step_ms = 50
compete_hz = 0.0
[[markets]]
id = "fed"
venue = "kalshi"
venue_market = "{KALSHI_TICKER}"
tick = 0.01
min_size = 1
sim_start_probability = 0.5
""")


@pytest.fixture(scope="module")
def kalshi_sim() -> Iterator[SimThread]:
    sim = SimThread(kalshi_conformance_config()).start()
    yield sim
    sim.stop()


def register_key(sim: SimThread, directory: Path) -> tuple[str, Path]:
    """A fresh RSA key registered at the simulator: (key id, private key PEM file)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = str(uuid.uuid4())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    r = httpx.post(f"{sim.url}/_sim/kalshi/keys",
                   json={"key_id": key_id, "public_key_pem": public_pem.decode()})
    assert r.status_code == 200, r.text
    pem_file = directory / "kalshi_key.pem"
    pem_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return key_id, pem_file


@pytest.fixture(scope="module")
def kalshi_results(kalshi_sim: SimThread,
                   tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Run the driver once; its results by call name."""
    if not KALSHI_PYTHON.exists():
        pytest.fail(f"{KALSHI_PYTHON} is missing: run `make venv` (scripts/bootstrap.sh --kalshi)")
    key_id, pem_file = register_key(kalshi_sim, tmp_path_factory.mktemp("kalshi"))
    proc = subprocess.run(  # noqa: S603 - our own driver under our own interpreter
        [str(KALSHI_PYTHON), str(KALSHI_DRIVER), kalshi_sim.url, key_id, str(pem_file),
         KALSHI_TICKER],
        capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S, check=False)
    assert proc.returncode == 0, f"driver failed:\n{proc.stdout}\n{proc.stderr}"
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["name"]: r for r in results}
