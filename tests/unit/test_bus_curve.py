"""CURVE per role over real loopback tcp (issue 15): the executor's command PULL admits only
risk's key; `pmm kill`'s sender reaches a CURVE risk and executor; the allow-list verdicts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import zmq

from common import bus, bus_curve, metrics
from common.config import Config, parse
from common.errors import BusError
from common.messages import Kill
from services.control.commands.keys import write_keys
from services.control.sender import deliver
from services.executor.__main__ import market_tokens
from services.executor.process import ExecutorActor
from services.risk.actor import RiskActor
from tests.support.executor import SECRET, FakeVenue
from tests.support.net import free_port
from tests.support.wait import eventually_async


def tcp_config(tmp_path: Path, keys: Path) -> Config:
    ep = {k: f"tcp://127.0.0.1:{free_port()}" for k in
          ("intents", "state", "md", "events", "commands", "ctl_risk", "ctl_ex")}
    return parse(f"""
[stack]
run_dir = "{tmp_path / 'run'}"
[bus]
intents = "{ep['intents']}"
state = "{ep['state']}"
md = {{ polymarket = "{ep['md']}" }}
events = {{ polymarket = "{ep['events']}" }}
commands = {{ polymarket = "{ep['commands']}" }}
control = {{ risk = "{ep['ctl_risk']}", executor-polymarket = "{ep['ctl_ex']}" }}
[bus.curve]
enabled = true
keys_dir = "{keys}"
[risk]
journal = "{tmp_path / 'risk.db'}"
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xc1"
yes_token = "Y1"
no_token = "N1"
""")


def refused(domain: str) -> float:
    return metrics.BUS_AUTH_REFUSED.labels(process="executor-polymarket", domain=domain)._value.get()  # noqa: SLF001


def test_keys_are_written_per_role_with_private_modes(tmp_path: Path) -> None:
    roles = write_keys(tmp_path / "k")
    assert {"risk", "quoter", "control", "executor-kalshi", "ingest-polymarket"} <= set(roles)
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "k" / "risk.key_secret").stat().st_mode & 0o777 == 0o600
    with pytest.raises(Exception, match="already holds keys"):
        write_keys(tmp_path / "k")


def test_executor_commands_admit_only_risk(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    write_keys(keys)
    asyncio.run(_commands_scenario(tcp_config(tmp_path, keys)))


async def _commands_scenario(cfg: Config) -> None:
    actor = ExecutorActor(cfg, FakeVenue(), market_tokens(cfg, "polymarket"), secret=SECRET)
    ep = cfg.bus.commands["polymarket"]
    server_key = bus_curve.public_key(cfg, "executor-polymarket")
    stranger_pub, stranger_sec = zmq.curve_keypair()
    stranger = bus.Curve(public_key=stranger_pub, secret_key=stranger_sec, server_keys={ep: server_key})
    quoter = bus_curve.client(cfg, "quoter", [("commands", "polymarket")])
    risk = bus_curve.client(cfg, "risk", [("commands", "polymarket")])
    socks: list[zmq.asyncio.Socket] = []
    try:
        for who, curve in (("stranger", stranger), ("quoter", quoter)):
            before = refused("commands.polymarket")
            sock = bus.push([ep], curve=curve, send_timeout_ms=50)
            socks.append(sock)
            deadline = asyncio.get_running_loop().time() + 5
            while refused("commands.polymarket") <= before:
                assert asyncio.get_running_loop().time() < deadline, f"{who} was not refused"
                try:
                    await sock.send(f"from {who}".encode(), flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass  # IMMEDIATE: nothing is queued for a peer refused at the handshake
                await asyncio.sleep(0.02)
        friend = bus.push([ep], curve=risk, send_timeout_ms=1000)
        socks.append(friend)
        got = b""
        deadline = asyncio.get_running_loop().time() + 5
        while not got and asyncio.get_running_loop().time() < deadline:
            try:
                await friend.send(b"from risk", flags=zmq.NOBLOCK)
            except zmq.Again:
                pass
            if await actor._cmd.poll(50):  # noqa: SLF001
                got = await actor._cmd.recv()  # noqa: SLF001
        assert got == b"from risk"
        while await actor._cmd.poll(200):  # noqa: SLF001 - only risk's frames ever arrive
            assert await actor._cmd.recv() == b"from risk"  # noqa: SLF001
    finally:
        for s in socks:
            s.close(linger=0)
        for s in (actor._cmd, actor._pub, actor._state, actor._ctl):  # noqa: SLF001
            s.close(linger=0)
        if actor._auth is not None:  # noqa: SLF001
            actor._auth.stop()  # noqa: SLF001
        actor.journal.close()
        actor.fill_journal.close()


def test_kill_reaches_curve_risk_and_executor_over_tcp(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    write_keys(keys)
    asyncio.run(_kill_scenario(tcp_config(tmp_path, keys)))


async def _kill_scenario(cfg: Config) -> None:
    stop, ready = asyncio.Event(), asyncio.Event()
    risk = RiskActor(cfg, SECRET)
    executor = ExecutorActor(cfg, FakeVenue(), market_tokens(cfg, "polymarket"), secret=SECRET)
    tasks = [asyncio.create_task(risk.run(stop, ready)), asyncio.create_task(executor.run(stop))]
    try:
        await asyncio.wait_for(ready.wait(), 10)
        targets = {"risk": cfg.bus.control["risk"],
                   "executor-polymarket": cfg.bus.control["executor-polymarket"]}
        assert all(t.startswith("tcp://") for t in targets.values())

        def make(nonce: str, ts: int) -> Kill:
            return Kill(sender="cli", nonce=nonce, ts_ns=ts, reason="test")

        plain = await deliver(targets, make, SECRET, ack_timeout_ms=200, retries=2)
        assert plain == {"risk": None, "executor-polymarket": None}  # no key: no answer
        acks = await deliver(targets, make, SECRET, ack_timeout_ms=500, retries=10,
                             curves=bus_curve.control_curves(cfg, targets))
        assert all(a is not None and a.ok for a in acks.values()), acks
        await eventually_async(lambda: executor.state.kill_all)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)


def test_allow_list_verdicts_name_the_refused_role() -> None:
    rules = bus_curve.RoleAuthenticator({"commands.kalshi": {b"R": "risk"}},
                                        {b"R": "risk", b"Q": "quoter"}, process="t")
    assert rules.verdict("commands.kalshi", b"R") == (True, "role risk")
    assert rules.verdict("commands.kalshi", b"Q") == (False, "role quoter is not allowed on commands.kalshi")
    assert rules.verdict("commands.kalshi", b"X") == (False, "unknown key")
    assert not rules.verdict("state", b"R")[0]
    assert bus_curve.allowed_roles("commands", "kalshi", ["kalshi"]) == {"risk"}
    assert "executor-kalshi" in bus_curve.allowed_roles("state", "", ["kalshi"])
    assert bus_curve.allowed_roles("control", "risk", []) == {"control"}


def test_missing_role_key_stops_startup(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    write_keys(keys)
    (keys / "risk.key").unlink()
    cfg = tcp_config(tmp_path, keys)
    with pytest.raises(BusError, match=r"lacks risk\.key .*pmm keys"):
        bus_curve.start_authenticator(cfg, process="executor-polymarket",
                                      serves=[("commands", "polymarket")])
    with pytest.raises(BusError, match="is not a directory"):
        bus_curve.own_keys(tcp_config(tmp_path, tmp_path / "nowhere"), "risk")
