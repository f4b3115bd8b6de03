"""A real `pmm up` stack: each secret is in no program's environment, its file path only in
the programs that need it (read from /proc/<pid>/environ), and the HTTP plane takes the
derived token, not the control secret."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.auth import http_token
from tests.integration.stack import Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration

OPERATOR_KEY = "0x" + secrets.token_hex(32)
"""Given to `pmm up` in $PMM_POLY_PRIVATE_KEY, as an operator does (the simulator takes any key)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PMM_POLY_PRIVATE_KEY", OPERATOR_KEY)
        mp.delenv("PMM_CONTROL_SECRET", raising=False)
        with running(base="demo-both.toml", quoters=1) as s:
            yield s


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def test_no_program_holds_a_secret_in_its_environment(stack: Stack) -> None:
    secrets_dir = stack.run_dir / "secrets"
    control = (secrets_dir / "control_secret").read_text().strip()
    assert (secrets_dir / "polymarket_key").read_text().strip() == OPERATOR_KEY
    programs = {name: int(info["pid"]) for name, info in stack.processes().items()
                if info["statename"] == "RUNNING"}
    assert {"exporter", "venue_sim", "risk", "control", "executor-polymarket", "executor-kalshi",
            "ingest-polymarket", "ingest-kalshi", "quoter-0"} <= set(programs)
    supervisord = int((stack.run_dir / "supervisord.pid").read_text())
    envs = {name: _environ(pid) for name, pid in {**programs, "supervisord": supervisord}.items()}
    for name, env in envs.items():
        values = "\n".join(env.values())
        assert OPERATOR_KEY not in values and control not in values, name
        assert "PMM_POLY_PRIVATE_KEY" not in env and "PMM_CONTROL_SECRET" not in env, name
        assert ("PMM_POLY_PRIVATE_KEY_FILE" in env) == (name == "executor-polymarket"), name
        assert ("PMM_CONTROL_SECRET_FILE" in env) == (
            name in ("risk", "control", "executor-polymarket", "executor-kalshi")), name
        assert ("PMM_KALSHI_PRIVATE_KEY_FILE" in env) == (
            name in ("executor-kalshi", "ingest-kalshi")), name
    assert envs["executor-polymarket"]["PMM_POLY_PRIVATE_KEY_FILE"] == str(secrets_dir / "polymarket_key")


def test_secret_files_are_owner_only(stack: Stack) -> None:
    secrets_dir = stack.run_dir / "secrets"
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    for path in secrets_dir.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_http_plane_takes_the_token_not_the_secret(stack: Stack) -> None:
    control = (stack.run_dir / "secrets" / "control_secret").read_text().strip()
    token = stack.pmm("token").stdout.strip()
    assert token == http_token(control.encode()) and token != control
    base = f"http://127.0.0.1:{stack.control_port}"
    eventually(lambda: _answers(f"{base}/health"), timeout=30, what="the HTTP control plane")
    url = f"{base}/resume"
    with_secret = httpx.post(url, headers={"Authorization": f"Bearer {control}"}, timeout=10)
    assert with_secret.status_code == 401
    with_token = httpx.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert with_token.status_code == 200, with_token.text  # every receiver's MAC'd ack counted
    assert all(with_token.json()["acks"].values())
