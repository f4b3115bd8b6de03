"""CURVE on the bus: one key pair per role, and an allow-list per bound socket (issue 15).

Every process runs as one role (`risk`, `quoter`, `control`, `reference`, `recorder`,
`ingest-<venue>`, `executor-<venue>`) whose zmq.auth certificate pair lives in
`[bus.curve] keys_dir` as `<role>.key_secret` (public and secret key) and `<role>.key`
(public only); `pmm keys` writes the whole set. A socket bound on a tcp:// endpoint is a
CURVE server with its own ZAP domain (`commands.polymarket`, `state`, ...); the process's
one authenticator admits a client only if its key is the key of a role on that domain's
allow-list (`ALLOWED`), and counts every refusal with the domain. A connecting socket uses
its role's key and, per tcp:// endpoint, the public key of the role that binds it.
ipc:// endpoints never leave the host and are left alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import metrics
from common.bus import Curve, context
from common.errors import BusError

__all__ = ["AuthHandle", "BASE_ROLES", "PUBLIC_SUFFIX", "RoleAuthenticator", "SECRET_SUFFIX",
    "VENUES", "all_roles", "allowed_roles", "client", "control_curves", "domain", "own_keys",
    "public_key", "server", "server_role", "start_authenticator"]

if TYPE_CHECKING:
    from common.config import Config

log = logging.getLogger(__name__)

VENUES = ("polymarket", "kalshi")
BASE_ROLES = ("risk", "quoter", "control", "reference", "recorder")
SECRET_SUFFIX = ".key_secret"  # noqa: S105 - a file suffix
PUBLIC_SUFFIX = ".key"


def all_roles(venues: tuple[str, ...] | list[str] = VENUES) -> list[str]:
    """Every role that holds a key, for these venues (`pmm keys` writes them all)."""
    per_venue = [f"{kind}-{v}" for v in venues for kind in ("ingest", "executor")]
    return [*BASE_ROLES, *per_venue]


def domain(kind: str, name: str = "") -> str:
    """The ZAP domain of a bound socket: its endpoint kind, dot, name (`commands.kalshi`)."""
    return f"{kind}.{name}" if name else kind


def server_role(kind: str, name: str = "") -> str:
    """The role that binds the endpoint `(kind, name)` of `common.config.endpoint`."""
    if kind == "md":
        return "reference" if name == "reference" else f"ingest-{name}"
    if kind in ("intents", "state"):
        return "risk"
    if kind in ("events", "commands"):
        return f"executor-{name}"
    if kind == "control":
        return name
    raise BusError(f"unknown bus endpoint kind {kind!r}")


def allowed_roles(kind: str, name: str, venues: list[str]) -> frozenset[str]:
    """The roles that may connect to the socket bound on `(kind, name)` (the allow-list)."""
    executors = {f"executor-{v}" for v in venues}
    table: dict[str, set[str]] = {
        "commands": {"risk"},
        "intents": {"quoter"},
        "state": {"quoter", "control", *executors},
        "md": {"quoter", "risk", "control", "recorder", *executors},
        # ingest re-reads its venue's price grid on a rejected order (services/ingest/grid.py)
        "events": {"risk", "control", f"ingest-{name}"},
        "control": {"control"},  # the control process and the CLI (`pmm kill`)
    }
    if kind not in table:
        raise BusError(f"unknown bus endpoint kind {kind!r}")
    return frozenset(table[kind])


def _keys_dir(cfg: Config) -> Path:
    where = cfg.bus.curve.keys_dir
    path = Path(where)
    if not where or not path.is_dir():
        raise BusError(f"[bus.curve] keys_dir {where!r} is not a directory; create the keys "
                       "with `pmm keys --dir DIR` and set keys_dir to it")
    return path


def _load(path: Path, *, secret: bool) -> tuple[bytes, bytes]:
    import zmq.auth

    if not path.is_file():
        what = "secret certificate" if secret else "public certificate"
        raise BusError(f"[bus.curve] keys_dir lacks {path.name} ({what} of role "
                       f"{path.name.split('.')[0]!r}) at {path}; run `pmm keys --dir "
                       f"{path.parent}` or copy it from the host that made the keys")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise BusError(f"[bus.curve] {path}: cannot load certificate: {exc}") from exc
    if secret and not secret_key:
        raise BusError(f"[bus.curve] {path} has no secret key")
    return public, secret_key or b""


def public_key(cfg: Config, role: str) -> bytes:
    """The z85 public key of `role`, from `<keys_dir>/<role>.key`."""
    return _load(_keys_dir(cfg) / f"{role}{PUBLIC_SUFFIX}", secret=False)[0]


def own_keys(cfg: Config, role: str) -> tuple[bytes, bytes]:
    """This process's (public, secret) z85 keys, from `<keys_dir>/<role>.key_secret`."""
    return _load(_keys_dir(cfg) / f"{role}{SECRET_SUFFIX}", secret=True)


def server(cfg: Config, role: str, kind: str, name: str = "") -> Curve | None:
    """CURVE server keys for the socket `role` binds on `(kind, name)`; None when off."""
    if not cfg.bus.curve.enabled:
        return None
    if server_role(kind, name) != role:
        raise BusError(f"role {role!r} does not bind {domain(kind, name)}")
    public, secret = own_keys(cfg, role)
    return Curve(public_key=public, secret_key=secret, zap_domain=domain(kind, name))


def client(cfg: Config, role: str, targets: list[tuple[str, str]]) -> Curve | None:
    """CURVE client keys for a socket `role` connects to `targets` [(kind, name)]; each
    tcp:// endpoint gets the public key of the role that binds it. None when off."""
    if not cfg.bus.curve.enabled:
        return None
    from common.config import endpoint

    public, secret = own_keys(cfg, role)
    servers = {endpoint(cfg, kind, name): public_key(cfg, server_role(kind, name))
               for kind, name in targets}
    return Curve(public_key=public, secret_key=secret,
                 server_keys={ep: key for ep, key in servers.items() if ep.startswith("tcp://")})


def control_curves(cfg: Config, targets: dict[str, str]) -> dict[str, Curve | None]:
    """Client keys of the control role (control process and CLI) for each control target."""
    return {name: client(cfg, "control", [("control", name)]) for name in targets}


class RoleAuthenticator:
    """Builds the ZAP handler for one process: per domain, the public keys it admits."""

    def __init__(self, allow: dict[str, dict[bytes, str]], known: dict[bytes, str],
                 *, process: str) -> None:
        self.allow = allow
        self.known = known
        self.process = process

    def verdict(self, zap_domain: str, z85_key: bytes) -> tuple[bool, str]:
        """(allowed, reason) for a client key on a domain; pure, so it is tested directly."""
        admitted = self.allow.get(zap_domain)
        if admitted is None:
            return False, f"no allow-list for domain {zap_domain!r}"
        if z85_key in admitted:
            return True, f"role {admitted[z85_key]}"
        role = self.known.get(z85_key)
        if role is not None:
            return False, f"role {role} is not allowed on {zap_domain}"
        return False, "unknown key"


class _Running:
    """The process's one ZAP handler (libzmq allows one per context) and its users."""

    def __init__(self, auth: Any, rules: RoleAuthenticator) -> None:
        self.auth = auth
        self.rules = rules
        self.users = 0


_running: _Running | None = None


class AuthHandle:
    """One user's share of the authenticator: `stop()` drops its domains, and the last
    user's stop ends the thread (risk and an executor in one test process share it)."""

    def __init__(self, domains: list[str]) -> None:
        self.domains = domains

    def stop(self) -> None:
        global _running
        if _running is None:
            return
        for d in self.domains:
            _running.rules.allow.pop(d, None)
        _running.users -= 1
        if _running.users <= 0:
            _running.auth.stop()
            _running = None


def start_authenticator(cfg: Config, *, process: str, serves: list[tuple[str, str]]) -> AuthHandle | None:
    """Start the process's ZAP handler for the sockets it binds (`serves` [(kind, name)]).

    Returns a handle (`.stop()` it on the way out), or None when CURVE is off. Raises
    BusError if a needed public key is missing: every peer would be refused."""
    global _running
    if not cfg.bus.curve.enabled:
        return None
    venues = cfg.venues_in_use()
    allow: dict[str, dict[bytes, str]] = {}
    for kind, name in serves:
        allow[domain(kind, name)] = {public_key(cfg, r): r
                                     for r in sorted(allowed_roles(kind, name, venues))}
    known = {k: Path(p).name.split(".")[0] for p, k in _public_files(cfg).items()}
    if _running is None:
        rules = RoleAuthenticator({}, {}, process=process)
        _running = _Running(_start(rules), rules)
    _running.rules.allow.update(allow)
    _running.rules.known.update(known)
    _running.users += 1
    for d in allow:
        metrics.BUS_AUTH_REFUSED.labels(process=process, domain=d)
    log.info("CURVE authenticator for %s", ", ".join(sorted(allow)),
             extra={"role_process": process})
    return AuthHandle(list(allow))


def _start(rules: RoleAuthenticator) -> Any:
    from zmq.auth.thread import ThreadAuthenticator
    from zmq.utils import z85

    class _ByRole(ThreadAuthenticator):
        rules: RoleAuthenticator

        async def _authenticate_curve(self, zap_domain: str, client_key: bytes) -> tuple[bool, bytes]:
            ok, reason = self.rules.verdict(zap_domain, z85.encode(client_key))
            if not ok:
                metrics.BUS_AUTH_REFUSED.labels(process=self.rules.process, domain=zap_domain).inc()
                log.warning("CURVE peer refused on %s: %s", zap_domain, reason,
                            extra={"role_process": self.rules.process})
            return ok, reason.encode()

    auth = _ByRole(context())
    auth.rules = rules
    auth.start()
    return auth


def _public_files(cfg: Config) -> dict[str, bytes]:
    """Every public key in keys_dir by file, to name a known role that is not allowed."""
    import zmq.auth

    out: dict[str, bytes] = {}
    for path in sorted(_keys_dir(cfg).glob(f"*{PUBLIC_SUFFIX}")):
        try:
            out[str(path)] = zmq.auth.load_certificate(path)[0]
        except (OSError, ValueError):
            continue
    return out
