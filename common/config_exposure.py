"""The sections that face the network ([bus], [control], [exporter], re-exported by
common.config) and what may leave the host (issue 15): a non-loopback tcp:// bus endpoint
needs [bus.curve], an HTTP bind off loopback needs its section's `allow_remote`. Errors name
the field."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from msgspec import Meta

from common.config_base import ConfigSection, PositiveMs
from common.errors import ConfigError

__all__ = [
    "BusConfig", "ControlConfig", "CurveConfig", "ExporterConfig", "bus_endpoints", "is_loopback",
    "validate_exposure",
]


class CurveConfig(ConfigSection, frozen=True):
    """CURVE encryption and authentication (pyzmq zmq.auth) for sockets that leave the host.

    One certificate pair per role in `keys_dir` (`pmm keys` writes them): `<role>.key_secret`
    (public and secret key; stays private to the host that runs the role) and `<role>.key`
    (public). With `enabled`, every tcp:// socket is CURVE and admits only the roles on its
    allow-list (common/bus_curve.py); ipc:// stays on the host and is left alone."""

    enabled: bool = False
    keys_dir: str = ".pmm/keys"
    """The role certificates; every file a process needs is checked when it starts."""


class BusConfig(ConfigSection, frozen=True):
    """Endpoints. Empty means an ipc:// socket in the run dir; set tcp:// ones to span hosts."""

    md: dict[str, str] = {}
    intents: str = ""
    state: str = ""
    events: dict[str, str] = {}
    commands: dict[str, str] = {}
    control: dict[str, str] = {}
    send_hwm: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    recv_hwm: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    send_timeout_ms: PositiveMs = 100
    curve: CurveConfig = CurveConfig()


class ControlConfig(ConfigSection, frozen=True):
    http_host: str = "127.0.0.1"
    allow_remote: bool = False
    """A non-loopback `http_host` is refused unless this is true (put a TLS proxy in front)."""
    http_port: Annotated[int, Meta(ge=1, le=65535)] = 8780
    secret_env: str = "PMM_CONTROL_SECRET"  # noqa: S105 - the variable's name, not a secret
    ack_timeout_ms: PositiveMs = 300
    retries: Annotated[int, Meta(ge=1, le=100)] = 10
    replay_window_ms: Annotated[int, Meta(ge=1000, le=300_000)] = 30_000
    """A control message older than this is refused; newer ones are refused by nonce."""
    future_skew_ms: Annotated[int, Meta(ge=0, le=30_000)] = 2_000
    """How far a sender's clock may run ahead of a receiver's before its messages are refused."""


class ExporterConfig(ConfigSection, frozen=True):
    host: str = "127.0.0.1"
    allow_remote: bool = False
    """A non-loopback `host` is refused unless this is true (put a TLS proxy in front)."""
    port: Annotated[int, Meta(ge=1, le=65535)] = 9464


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (bracketed or not) and localhost; `*`, 0.0.0.0, names are not."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _endpoint_host(ep: str) -> str | None:
    """The host of a tcp:// endpoint (`tcp://h:p`, `tcp://[::1]:p`, `tcp://src;h:p`)."""
    if not ep.startswith("tcp://"):
        return None
    rest = ep[len("tcp://"):]
    if ";" in rest:  # a source address: the connection still goes to the part after it
        return "*"
    return rest.rsplit(":", 1)[0]


def bus_endpoints(b: BusConfig) -> list[tuple[str, str]]:
    """Every explicitly configured bus endpoint as (field path, endpoint)."""
    out = [(f"bus.{k}", ep) for k, ep in (("intents", b.intents), ("state", b.state)) if ep]
    for kind in ("md", "events", "commands", "control"):
        out += [(f"bus.{kind}.{name}", ep) for name, ep in getattr(b, kind).items()]
    return out


def validate_exposure(bus: BusConfig, control: ControlConfig, exporter: ExporterConfig) -> None:
    """Nothing leaves the host unauthenticated: a non-loopback tcp:// endpoint needs
    [bus.curve]; an HTTP bind off loopback needs its section's `allow_remote`."""
    for field, ep in bus_endpoints(bus):
        if ep.startswith(("ipc://", "inproc://")):
            continue
        host = _endpoint_host(ep)
        if host is None:
            raise ConfigError(f"{field}: {ep}: only ipc:// and tcp:// endpoints are supported "
                              f"- at `$.{field}`")
        if not bus.curve.enabled and not is_loopback(host):
            raise ConfigError(f"{field}: {ep} leaves the host; enable [bus.curve] (`pmm keys` "
                              "makes the keys) or use a loopback address "
                              f"- at `$.{field}`")
    if bus.curve.enabled and not bus.curve.keys_dir:
        raise ConfigError("bus.curve.keys_dir: empty with CURVE enabled; set it to the "
                          "directory `pmm keys --dir DIR` wrote - at `$.bus.curve.keys_dir`")
    for field, host, allowed in (("control.http_host", control.http_host,
                                  control.allow_remote),
                                 ("exporter.host", exporter.host, exporter.allow_remote)):
        if not allowed and not is_loopback(host):
            section = field.split(".")[0]
            raise ConfigError(f"{field}: {host!r} is not loopback; serve HTTP off the host "
                              f"only behind a TLS proxy, with `allow_remote = true` in "
                              f"[{section}] - at `$.{field}`")
