"""The real Polymarket adapter (py_clob_client_v2) against the venue simulator subprocess."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from common import metrics
from common.config import Config, load
from common.messages import Level
from eth_account import Account

from services.executor.__main__ import market_tokens
from services.executor.adapter import Placed, Rejected
from services.executor.diff import diff, express_ladder
from services.executor.orders import LiveOrder
from common.errors import VenueError
from services.executor.polymarket import PolymarketExecution
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
YES = "65994051353407136026068139642239762195551974674481254671171801932086235956830"
NO = "86366076304153652201713126200538373994702803233695533981746898961753912700602"



def _sim_config(tmp_path: Path) -> tuple[Path, int]:
    """A simulator config with market fed and no takers; its path and port."""
    port = free_port()
    path = tmp_path / "sim.toml"
    path.write_text(f"""
[stack]
run_dir = "{tmp_path}/run"
[venues.polymarket]
rest_url = "http://127.0.0.1:{port}"
ws_url = "ws://127.0.0.1:{port}/ws"
[sim]
port = {port}
[sim.flow]
noise_rate_hz = 0
informed_rate_hz = 0
[[markets]]
id = "fed"
venue = "polymarket"
venue_market = "0x13a44ed22ff7755475ea352bb336b7ec03626169d64d27056538d0a4bbdda389"
yes_token = "{YES}"
no_token = "{NO}"
tick = 0.01
min_size = 5
sim_start_probability = 0.5
""")
    return path, port


@pytest.fixture()
def sim(tmp_path: Path) -> Iterator[Config]:
    path, port = _sim_config(tmp_path)
    proc = _start_sim(path, port)
    try:
        yield load(path)
    finally:
        _stop_sim(proc)


def _start_sim(path: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "services.venue_sim", "--config", str(path)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    with httpx.Client() as client:
        while True:
            try:
                if client.get(f"http://127.0.0.1:{port}/ok").status_code == 200:
                    return proc
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                _stop_sim(proc)
                pytest.fail(f"simulator did not start: {err[-2000:]}")
            time.sleep(0.1)


def _stop_sim(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


def test_ladder_lifecycle_on_the_simulator(sim: Config) -> None:
    asyncio.run(_lifecycle(sim))


async def _lifecycle(cfg: Config) -> None:
    (tokens,) = market_tokens(cfg, "polymarket")
    with ThreadPoolExecutor(cfg.executor.workers) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=Account.create().key.hex(), pool=pool)
        await venue.start()
        await venue.cancel_all()
        await venue.heartbeat()
        desired, _ = express_ladder(tokens, [Level(1000, 1000), Level(900, 1000)],
                                    [Level(9000, 1000), Level(9100, 1000)])
        report = await venue.place(desired)
        assert all(isinstance(r, Placed) for r in report.results), report.results
        assert report.wire_ns > 0
        open_ = await venue.open_orders()
        assert sorted((o.token, o.price, o.size) for o in open_) == sorted(
            (d.token, d.price, d.size) for d in desired)
        placed = {r.order_id for r in report.results if isinstance(r, Placed)}
        assert {o.order_id for o in open_} == placed

        live = [LiveOrder(order_id=o.order_id, market=tokens.market, token=o.token,
                          outcome=tokens.outcome_of(o.token) or "YES", side=o.side,
                          price=o.price, size=o.size) for o in open_]
        changed, _ = express_ladder(tokens, [Level(1000, 1000), Level(800, 1000)],
                                    [Level(9000, 1000), Level(9100, 1000)])
        actions = diff(changed, live)
        assert len(actions.cancels) == 1 and [(p.token, p.price) for p in actions.placements] == [
            (YES, 800)]
        cancelled = await venue.cancel(actions.cancels)
        assert cancelled.gone == actions.cancels and not cancelled.ambiguous
        again = await venue.place(actions.placements)
        assert all(isinstance(r, Placed) for r in again.results)
        after = await venue.open_orders()
        unchanged = placed - set(actions.cancels)
        assert unchanged <= {o.order_id for o in after}  # no churn of kept levels
        assert sorted((o.token, o.price) for o in after) == sorted(
            (d.token, d.price) for d in changed)

        crossing, _ = express_ladder(tokens, [Level(9900, 1000)], [])
        (rejected,) = (await venue.place(crossing)).results
        assert isinstance(rejected, Rejected), rejected

        outcome = await venue.cancel_all()
        assert outcome.everything and not outcome.ambiguous
        assert await venue.open_orders() == []
        await venue.close()


def test_signing_and_wire_figures(sim: Config) -> None:
    """Not a timed assert: prints receive-to-wire and orders signed per second."""
    asyncio.run(_figures(sim))


async def _figures(cfg: Config) -> None:
    (tokens,) = market_tokens(cfg, "polymarket")
    with ThreadPoolExecutor(cfg.executor.workers) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=Account.create().key.hex(), pool=pool)
        await venue.start()
        desired, _ = express_ladder(tokens, [Level(p, 1000) for p in range(500, 2000, 100)], [])
        samples = []
        for _ in range(5):
            t0 = time.monotonic_ns()
            report = await venue.place(desired)
            samples.append((report.wire_ns - t0) / len(desired))
            assert all(isinstance(r, Placed) for r in report.results)
            await venue.cancel_all()
        per_order_us = min(samples) / 1000
        print(f"\nsign+prepare per order: {per_order_us:.0f} us "
              f"({1e6 / per_order_us:.0f} orders signed/s, one thread)")
        assert per_order_us > 0


def test_a_kill_before_the_api_key_is_derived_derives_it_and_cancels(sim: Config) -> None:
    """A kill can reach the executor while start() is still deriving the API key (CI met
    it: "kill not acknowledged ... API Credentials are needed"): cancel-all now derives the
    key first instead of being refused by the SDK."""
    asyncio.run(_kill_before_key(sim))


async def _kill_before_key(cfg: Config) -> None:
    (tokens,) = market_tokens(cfg, "polymarket")
    with ThreadPoolExecutor(2) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=Account.create().key.hex(), pool=pool)
        assert venue._api_key == ""  # the fault: no start(), so no key yet
        outcome = await venue.cancel_all()
        assert outcome.everything and not outcome.ambiguous, outcome
        assert venue._api_key
        await venue.close()


def test_a_venue_that_forgot_our_api_key_gets_it_derived_again(tmp_path: Path) -> None:
    """The venue restarts and no longer knows our API key: the first call fails 401, the
    adapter derives the key again (L1-signed, deterministic) and the next calls succeed.
    Before, the key was derived only at start: every call failed 401 until a restart."""
    path, port = _sim_config(tmp_path)
    proc = _start_sim(path, port)
    try:
        proc = asyncio.run(_forgotten_key(load(path), path, port, proc))
    finally:
        _stop_sim(proc)


async def _forgotten_key(cfg: Config, path: Path, port: int,
                         proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    (tokens,) = market_tokens(cfg, "polymarket")
    reauths = metrics.VENUE_REAUTH.labels(venue="polymarket")
    with ThreadPoolExecutor(2) as pool:
        venue = PolymarketExecution(cfg, [tokens], private_key=Account.create().key.hex(), pool=pool)
        await venue.start()
        assert await venue.open_orders() == []
        _stop_sim(proc, signal.SIGKILL)
        proc = _start_sim(path, port)  # a new venue process: every API key forgotten
        before = reauths._value.get()
        with pytest.raises(VenueError, match="401"):  # the fault fired
            await venue.open_orders()
        assert await venue.open_orders() == []  # derived again before this call
        assert reauths._value.get() == before + 1
        desired, _ = express_ladder(tokens, [Level(1000, 1000)], [])
        assert all(isinstance(r, Placed) for r in (await venue.place(desired)).results)
        # A kill's cancel-all is sent once: refused 401, it derives the key at once (no
        # 5 s wait) and cancels again, instead of reporting the orders as not cancelled.
        _stop_sim(proc, signal.SIGKILL)
        proc = _start_sim(path, port)
        before = reauths._value.get()
        outcome = await venue.cancel_all()
        assert outcome.everything and not outcome.ambiguous, outcome  # the venue confirmed it
        assert reauths._value.get() == before + 1  # the 401 happened and was answered
    return proc
