"""Config refuses what would leave the host unauthenticated (issue 15), naming the field."""

from __future__ import annotations

import pytest

from common import config
from common.errors import ConfigError


@pytest.mark.parametrize(("toml", "message"), [
    ('[bus.commands]\npolymarket = "tcp://0.0.0.0:7000"\n',
     "bus.commands.polymarket: tcp://0.0.0.0:7000 leaves the host; enable [bus.curve] "
     "(`pmm keys` makes the keys) or use a loopback address - at `$.bus.commands.polymarket`"),
    ('[bus]\nintents = "tcp://10.0.0.1:5555"\n',
     "bus.intents: tcp://10.0.0.1:5555 leaves the host; enable [bus.curve] (`pmm keys` makes "
     "the keys) or use a loopback address - at `$.bus.intents`"),
    ('[bus.md]\nkalshi = "tcp://*:7001"\n',
     "bus.md.kalshi: tcp://*:7001 leaves the host; enable [bus.curve] (`pmm keys` makes the "
     "keys) or use a loopback address - at `$.bus.md.kalshi`"),
    ('[bus.control]\nrisk = "pgm://eth0;239.0.0.1:5555"\n',
     "bus.control.risk: pgm://eth0;239.0.0.1:5555: only ipc:// and tcp:// endpoints are "
     "supported - at `$.bus.control.risk`"),
    ('[bus.curve]\nenabled = true\nkeys_dir = ""\n',
     "bus.curve.keys_dir: empty with CURVE enabled; set it to the directory `pmm keys --dir "
     "DIR` wrote - at `$.bus.curve.keys_dir`"),
    ('[control]\nhttp_host = "0.0.0.0"\n',
     "control.http_host: '0.0.0.0' is not loopback; serve HTTP off the host only behind a TLS "
     "proxy, with `allow_remote = true` in [control] - at `$.control.http_host`"),
    ('[exporter]\nhost = "192.168.1.5"\n',
     "exporter.host: '192.168.1.5' is not loopback; serve HTTP off the host only behind a TLS "
     "proxy, with `allow_remote = true` in [exporter] - at `$.exporter.host`"),
])
def test_refused_with_the_field_named(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.parse(toml)
    assert str(err.value) == f"<config>: {message}"


@pytest.mark.parametrize("toml", [
    '[bus]\nintents = "tcp://127.0.0.1:5555"\nstate = "tcp://127.9.9.9:5556"\n',
    '[bus.md]\npolymarket = "tcp://[::1]:7000"\nkalshi = "tcp://localhost:7001"\n',
    '[bus.commands]\npolymarket = "tcp://0.0.0.0:7000"\n[bus.curve]\nenabled = true\n',
    '[control]\nhttp_host = "0.0.0.0"\nallow_remote = true\n',
    '[exporter]\nhost = "::"\nallow_remote = true\n',
    '[bus]\nintents = "ipc:///tmp/pmm/intents.sock"\n',
])
def test_accepted(toml: str) -> None:
    config.parse(toml)
