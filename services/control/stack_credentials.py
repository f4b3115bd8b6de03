"""The secrets `pmm up` hands to the stack, each to the programs that need it and no other.

supervisord passes its own environment to every program, so no secret may be in it.
`pmm up` takes each secret out of the environment and puts it in a file under
`<run_dir>/secrets/` (mode 0700; files 0600); supervisord.conf names the file in the
environment of the programs that need it only:

| secret | file | programs |
|---|---|---|
| control secret | `control_secret` | risk, executor-*, control |
| Polymarket signing key | `polymarket_key` | executor-polymarket |
| Kalshi private key (PEM) | `kalshi_key.pem` | executor-kalshi, ingest-kalshi (signed websocket) |

A secret the operator gives as a file (`$X_FILE`, or the Kalshi PEM path) is linked, not
copied, after its mode is checked; one given as a value is written to the file. The
simulator's throwaway keys (demo) are made once per run dir. A secret file readable by
group or others is refused with the chmod to run; the secrets directory, ours, is fixed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from pathlib import Path

from common.config import Config
from common.errors import PmmError
from common.private_files import (
    check_private_file, link_private_file, private_dir, write_private_file,
)

__all__ = ["CONTROL_SECRET", "KALSHI_KEY", "POLYMARKET_KEY", "SecretsError", "prepare",
    "secret_variables"]

CONTROL_SECRET = "control_secret"  # noqa: S105 - a file name
POLYMARKET_KEY = "polymarket_key"
KALSHI_KEY = "kalshi_key.pem"


class SecretsError(PmmError):
    """A credential is missing or unsafe; the message says what to set or chmod."""


def secret_variables(cfg: Config) -> list[str]:
    """Every environment variable that carries a secret or the path of one."""
    control = cfg.control.secret_env
    poly = cfg.venues.polymarket.private_key_env
    return [control, f"{control}_FILE", poly, f"{poly}_FILE",
            cfg.venues.kalshi.private_key_file_env]


def _made_once(directory: Path, name: str, make: Callable[[], str]) -> Path:
    """A generated secret kept across runs of one run dir (the simulator knows its key)."""
    path = directory / name
    if path.exists():
        check_private_file(path, "secret file")
        return path
    return write_private_file(path, make())


def _install(directory: Path, name: str, *, value: str, file: str, what: str) -> Path | None:
    """Put the operator's secret (a value, or a file to link) at `directory/name`."""
    if value:
        return write_private_file(directory / name, value.strip())
    if file:
        return link_private_file(directory / name, Path(file), what)
    return None


def prepare(
    cfg: Config, source: dict[str, str], env: dict[str, str], *, paper: bool,
    notify: Callable[[str], None],
) -> Path:
    """Move every secret out of `env` (a copy of `source`) into `<run_dir>/secrets/`.

    Sets the variable names supervisord.conf expands into each program's `environment=`.
    Returns the secrets directory."""
    for name in secret_variables(cfg):
        env.pop(name, None)
    directory = private_dir(cfg.run_dir / "secrets", notify)
    venues = set(cfg.venues_in_use())
    control = cfg.control.secret_env
    env["PMM_CONTROL_SECRET_ENV"] = control
    env["PMM_POLY_KEY_ENV"] = cfg.venues.polymarket.private_key_env
    env["PMM_KALSHI_KEY_FILE_ENV"] = cfg.venues.kalshi.private_key_file_env

    given = _install(directory, CONTROL_SECRET, value=source.get(control, ""),
                     file=source.get(f"{control}_FILE", ""),
                     what=f"the control secret (${control}_FILE)")
    if given is None:
        _made_once(directory, CONTROL_SECRET, lambda: secrets.token_hex(32))
    if paper:
        return directory  # paper executors need no venue credentials
    if "polymarket" in venues:
        _polymarket(cfg, source, directory)
    if "kalshi" in venues:
        _kalshi(cfg, source, env, directory)
    return directory


def _polymarket(cfg: Config, source: dict[str, str], directory: Path) -> None:
    name = cfg.venues.polymarket.private_key_env
    given = _install(directory, POLYMARKET_KEY, value=source.get(name, ""),
                     file=source.get(f"{name}_FILE", ""),
                     what=f"the Polymarket signing key (${name}_FILE)")
    if given is not None:
        return
    if not cfg.sim.enabled:
        raise SecretsError(
            f"${name} (or ${name}_FILE) is not set: export the Polymarket signer key (or run "
            "against the simulator with [sim] enabled = true)"
        )
    # The simulator accepts any key: a throwaway one for this run dir.
    sim_key = _made_once(directory, "sim_polymarket_key", lambda: "0x" + secrets.token_hex(32))
    link_private_file(directory / POLYMARKET_KEY, sim_key, "the simulator's Polymarket key")


def _kalshi(cfg: Config, source: dict[str, str], env: dict[str, str], directory: Path) -> None:
    """Kalshi: the operator's key, or a throwaway RSA key the simulator is told about."""
    k = cfg.venues.kalshi
    pem_path = source.get(k.private_key_file_env, "")
    if source.get(k.key_id_env) and pem_path:
        link_private_file(directory / KALSHI_KEY, Path(pem_path),
                          f"the Kalshi private key (${k.private_key_file_env})")
        return
    if not cfg.sim.enabled:
        raise SecretsError(
            f"${k.key_id_env} and ${k.private_key_file_env} are not set: export the Kalshi API "
            "key id and the path of its private key PEM (or run against the simulator with "
            "[sim] enabled = true)"
        )
    from common.kalshi_auth import KalshiSigner, new_private_pem

    key_path = _made_once(directory, "sim_kalshi_key.pem", lambda: new_private_pem().decode())
    key_id = _made_once(directory, "sim_kalshi_key_id", lambda: str(uuid.uuid4()))
    signer = KalshiSigner.from_pem("", key_path.read_bytes())
    # the public half is not secret: the simulator reads it to check signatures
    pub = directory / "sim_kalshi_key.pub.pem"
    if not pub.exists():
        write_private_file(pub, signer.public_pem().decode())
    link_private_file(directory / KALSHI_KEY, key_path, "the simulator's Kalshi key")
    env[k.key_id_env] = key_id.read_text().strip()
    env[cfg.sim.kalshi_public_key_file_env] = str(pub)
