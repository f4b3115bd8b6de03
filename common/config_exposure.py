"""What may leave the host (issue 15): a non-loopback tcp:// bus endpoint needs [bus.curve],
an HTTP bind off loopback needs its section's `allow_remote`. Errors name the field."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from common.errors import ConfigError

if TYPE_CHECKING:
    from common.config import Config


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


def bus_endpoints(cfg: Config) -> list[tuple[str, str]]:
    """Every explicitly configured bus endpoint as (field path, endpoint)."""
    b = cfg.bus
    out = [(f"bus.{k}", ep) for k, ep in (("intents", b.intents), ("state", b.state)) if ep]
    for kind in ("md", "events", "commands", "control"):
        out += [(f"bus.{kind}.{name}", ep) for name, ep in getattr(b, kind).items()]
    return out


def validate_exposure(cfg: Config) -> None:
    """Nothing leaves the host unauthenticated: a non-loopback tcp:// endpoint needs
    [bus.curve]; an HTTP bind off loopback needs its section's `allow_remote`."""
    for field, ep in bus_endpoints(cfg):
        if ep.startswith(("ipc://", "inproc://")):
            continue
        host = _endpoint_host(ep)
        if host is None:
            raise ConfigError(f"{field}: {ep}: only ipc:// and tcp:// endpoints are supported "
                              f"- at `$.{field}`")
        if not cfg.bus.curve.enabled and not is_loopback(host):
            raise ConfigError(f"{field}: {ep} leaves the host; enable [bus.curve] (`pmm keys` "
                              "makes the keys) or use a loopback address "
                              f"- at `$.{field}`")
    if cfg.bus.curve.enabled and not cfg.bus.curve.keys_dir:
        raise ConfigError("bus.curve.keys_dir: empty with CURVE enabled; set it to the "
                          "directory `pmm keys --dir DIR` wrote - at `$.bus.curve.keys_dir`")
    for field, host, allowed in (("control.http_host", cfg.control.http_host,
                                  cfg.control.allow_remote),
                                 ("exporter.host", cfg.exporter.host, cfg.exporter.allow_remote)):
        if not allowed and not is_loopback(host):
            section = field.split(".")[0]
            raise ConfigError(f"{field}: {host!r} is not loopback; serve HTTP off the host "
                              f"only behind a TLS proxy, with `allow_remote = true` in "
                              f"[{section}] - at `$.{field}`")
