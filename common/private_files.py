"""Secret files and directories: owner-only modes, checked before a secret is read.

A signing key, the control secret or the Kalshi private key in a file that group or
others can read has already leaked to every account on the host, so reading it is
refused with the file, its mode and the chmod that fixes it. Directories pmm creates
itself (`<run_dir>/secrets`) are tightened with a message instead: pmm owns them.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from common.errors import ConfigError

__all__ = ["LOOSE_BITS", "check_private_file", "link_private_file", "mode_of", "private_dir",
    "read_private_file", "secret_from_env", "write_private_file"]

log = logging.getLogger(__name__)

LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO
"""Any permission for group or others makes a secret file or directory loose."""


def mode_of(path: Path) -> int:
    """The permission bits of `path` (following a symlink to the file it names)."""
    return stat.S_IMODE(path.stat().st_mode)


def check_private_file(path: Path, what: str) -> None:
    """Raise ConfigError unless `path` is a regular file only its owner can read or write."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} {path} is not a regular file")
    mode = stat.S_IMODE(st.st_mode)
    if mode & LOOSE_BITS:
        raise ConfigError(
            f"{what} {path} has mode {mode:04o}: group or others can read it; "
            f"run `chmod 600 {path}` (and replace the secret if others may have read it)"
        )


def read_private_file(path: Path, what: str) -> str:
    """The stripped text of an owner-only secret file (see `check_private_file`)."""
    check_private_file(path, what)
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc


def private_dir(path: Path, notify: Callable[[str], None]) -> Path:
    """Create `path` as an owner-only directory, or tighten one pmm made earlier: `notify`
    gets the message saying so."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = mode_of(path)
    if mode & LOOSE_BITS:
        note = f"secret directory {path} had mode {mode:04o}; set it to 0700"
        log.warning(note)
        notify(note)
        path.chmod(0o700)
    return path


def write_private_file(path: Path, text: str) -> Path:
    """Write `text` to `path` with mode 0600 (replacing a file or link there), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def link_private_file(link: Path, target: Path, what: str) -> Path:
    """Point `link` at the operator's secret file `target` after checking its mode."""
    target = target.resolve()
    check_private_file(target, what)
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)
    return link


def secret_from_env(env_name: str, what: str) -> str:
    """`$ENV`, or the text of the owner-only file named by `$ENV_FILE`; "" if neither is set."""
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    file = os.environ.get(f"{env_name}_FILE", "").strip()
    return read_private_file(Path(file), f"{what} (${env_name}_FILE)") if file else ""
