"""`pmm up` secrets: none in supervisord's environment, each only in the programs that need it,
and no secret file or directory readable by group or others."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from common.config import Config, parse
from common.errors import ConfigError
from services.control import stack

ROOT = Path(__file__).resolve().parents[2]
POLY_KEY = "0x" + "ab" * 32
CONTROL = "c" * 40

SECRET_NAMES = ("PMM_CONTROL_SECRET", "PMM_CONTROL_SECRET_FILE", "PMM_POLY_PRIVATE_KEY",
                "PMM_POLY_PRIVATE_KEY_FILE", "PMM_KALSHI_PRIVATE_KEY_FILE", "PMM_KALSHI_KEY_ID")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)


def _cfg(tmp_path: Path, base: str = "demo-both.toml") -> Config:
    text = (ROOT / "deploy" / base).read_text()
    start = text.index("run_dir = ")
    end = text.index("\n", start)
    return parse(text[:start] + f'run_dir = "{tmp_path / "run"}"' + text[end:])


def _program_environments(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, str]]:
    """What supervisord gives each program: its own environment plus `environment=`."""
    from supervisor.options import ServerOptions

    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (Path(env["PMM_RUN_DIR"]) / "logs").mkdir(parents=True, exist_ok=True)
    opts = ServerOptions()
    opts.configfile = str(ROOT / "supervisord.conf")
    opts.process_config(do_usage=False)
    out: dict[str, dict[str, str]] = {}
    for group in opts.process_group_configs:
        for proc in group.process_configs:
            out[proc.name] = {**env, **(proc.environment or {})}
    return out


def _values_in(environment: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in environment.items())


def test_the_signing_key_and_the_control_secret_reach_only_their_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PMM_POLY_PRIVATE_KEY", POLY_KEY)
    monkeypatch.setenv("PMM_CONTROL_SECRET", CONTROL)
    cfg = _cfg(tmp_path)
    env = stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    secrets_dir = cfg.run_dir / "secrets"
    assert POLY_KEY not in _values_in(env) and CONTROL not in _values_in(env)
    assert (secrets_dir / "polymarket_key").read_text() == POLY_KEY
    assert (secrets_dir / "control_secret").read_text() == CONTROL

    programs = _program_environments(env, monkeypatch)
    assert set(programs) >= {"exporter", "venue_sim", "risk", "executor-polymarket",
                             "executor-kalshi", "ingest-polymarket", "ingest-kalshi",
                             "quoter-0", "quoter-1", "control", "reference"}
    poly_file = str(secrets_dir / "polymarket_key")
    control_file = str(secrets_dir / "control_secret")
    kalshi_file = str(secrets_dir / "kalshi_key.pem")
    for name, environment in programs.items():
        text = _values_in(environment)
        assert POLY_KEY not in text and CONTROL not in text, name
        assert (poly_file in text) == (name == "executor-polymarket"), name
        assert (control_file in text) == (name in ("risk", "control", "executor-polymarket",
                                                   "executor-kalshi")), name
        assert (kalshi_file in text) == (name in ("executor-kalshi", "ingest-kalshi")), name
    assert programs["executor-polymarket"]["PMM_POLY_PRIVATE_KEY_FILE"] == poly_file
    assert programs["risk"]["PMM_CONTROL_SECRET_FILE"] == control_file
    assert programs["executor-kalshi"]["PMM_KALSHI_PRIVATE_KEY_FILE"] == kalshi_file


def test_the_demo_makes_owner_only_throwaway_keys(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    secrets_dir = cfg.run_dir / "secrets"
    assert oct(secrets_dir.stat().st_mode & 0o777) == "0o700"
    for name in ("control_secret", "polymarket_key", "kalshi_key.pem", "sim_polymarket_key"):
        assert oct((secrets_dir / name).stat().st_mode & 0o777) == "0o600", name
    first = (secrets_dir / "polymarket_key").read_text()
    stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    assert (secrets_dir / "polymarket_key").read_text() == first  # stable per run dir


def test_a_loose_secrets_directory_we_made_is_fixed_with_a_message(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    secrets_dir = cfg.run_dir / "secrets"
    secrets_dir.mkdir(parents=True)
    secrets_dir.chmod(0o755)
    notes: list[str] = []
    stack.environment(cfg, tmp_path / "c.toml", notify=notes.append)
    assert notes == [f"secret directory {secrets_dir} had mode 0755; set it to 0700"]
    assert secrets_dir.stat().st_mode & 0o777 == 0o700


def test_a_loose_secret_file_in_the_run_dir_is_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    path = cfg.run_dir / "secrets" / "control_secret"
    path.chmod(0o644)
    with pytest.raises(stack.StackError) as err:
        stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    assert str(err.value) == (f"secret file {path} has mode 0644: group or others can read it; "
                              f"run `chmod 600 {path}` (and replace the secret if others may have "
                              "read it)")


@pytest.mark.parametrize(("variable", "mode"), [
    ("PMM_KALSHI_PRIVATE_KEY_FILE", 0o644),
    ("PMM_KALSHI_PRIVATE_KEY_FILE", 0o640),
    ("PMM_POLY_PRIVATE_KEY_FILE", 0o604),
    ("PMM_CONTROL_SECRET_FILE", 0o660),
])
def test_an_operators_loose_key_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, mode: int,
) -> None:
    key = tmp_path / "operator.key"
    key.write_text("k" * 64)
    key.chmod(mode)
    monkeypatch.setenv(variable, str(key))
    monkeypatch.setenv("PMM_KALSHI_KEY_ID", "key-id")
    cfg = _cfg(tmp_path)
    with pytest.raises(stack.StackError, match=rf"{key} has mode {mode:04o}: .*`chmod 600 {key}`"):
        stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    key.chmod(0o600)
    env = stack.environment(cfg, tmp_path / "c.toml", notify=lambda _: None)
    assert variable not in env and str(key) not in _values_in(env)


def test_the_kalshi_signer_refuses_a_loose_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from common.kalshi_auth import KalshiSigner, new_private_pem

    pem = tmp_path / "kalshi.pem"
    pem.write_bytes(new_private_pem())
    pem.chmod(0o644)
    monkeypatch.setenv("PMM_KALSHI_KEY_ID", "key-id")
    monkeypatch.setenv("PMM_KALSHI_PRIVATE_KEY_FILE", str(pem))
    with pytest.raises(ConfigError, match=rf"Kalshi private key .* {pem} has mode 0644"):
        KalshiSigner.from_env("PMM_KALSHI_KEY_ID", "PMM_KALSHI_PRIVATE_KEY_FILE")
    pem.chmod(0o600)
    assert KalshiSigner.from_env("PMM_KALSHI_KEY_ID", "PMM_KALSHI_PRIVATE_KEY_FILE") is not None


def test_the_executor_reads_the_signing_key_from_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.executor.__main__ import polymarket_key

    path = tmp_path / "polymarket_key"
    path.write_text(POLY_KEY + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("PMM_POLY_PRIVATE_KEY_FILE", str(path))
    assert polymarket_key(_cfg(tmp_path)) == POLY_KEY
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="mode 0644"):
        polymarket_key(_cfg(tmp_path))
