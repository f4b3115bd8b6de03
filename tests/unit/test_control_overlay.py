"""The run-dir overlay (common/overlay.py) and market changes (services/control/markets.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from aiohttp import web

from common import config, overlay
from common.errors import ConfigError
from services.control import markets

ROOT = Path(__file__).resolve().parents[2]


def base(tmp_path: Path) -> config.Config:
    text = (ROOT / "deploy" / "demo.toml").read_text().replace('run_dir = "../.pmm/demo"',
                                                               f'run_dir = "{tmp_path}"')
    return config.parse(text)


def test_no_overlay_changes_nothing(tmp_path: Path) -> None:
    cfg = base(tmp_path)
    assert overlay.effective(cfg) == cfg


def test_configure_writes_an_override_that_round_trips(tmp_path: Path) -> None:
    cfg = base(tmp_path)
    new = markets.configure(cfg, "fed-cut-dec", {"spread": 0.03, "max_loss_usd": 50.0, "name": 'a "q"'})
    m = new.market("fed-cut-dec")
    assert new.quoting_for(m).spread == 0.03 and m.max_loss_usd == 50.0 and m.name == 'a "q"'
    assert overlay.effective(cfg) == new  # read back from the TOML file
    assert markets.settings(new, "fed-cut-dec")["spread"] == 0.03
    assert new.quoting_for(new.market("btc-150k")).spread == cfg.quoting.spread  # others untouched


@pytest.mark.parametrize(("changes", "needles"), [
    ({"spread": 0.7}, ("--spread 0.7", "<= 0.5")),
    ({"alpha": 0.0}, ("--alpha 0.0", "> 0")),
    ({"max_orders": 99}, ("--max-orders 99", "<= 20")),
    ({"max_loss_usd": -1.0}, ("--max-loss -1.0", "> 0")),
    ({"spread": 0.2}, ("--spread 0.2 must lie in", "--max-spread 0.1")),
])
def test_out_of_range_values_name_the_flag_and_range(tmp_path: Path, changes: dict, needles: tuple) -> None:
    cfg = base(tmp_path)
    with pytest.raises(ConfigError) as err:
        markets.configure(cfg, "fed-cut-dec", changes)
    for needle in needles:
        assert needle in str(err.value)
    assert not overlay.path_of(cfg.run_dir).exists()  # nothing written


def test_unknown_market_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown market 'nope'; configured markets: fed-cut-dec"):
        markets.configure(base(tmp_path), "nope", {"spread": 0.03})


def test_stop_removes_and_an_invalid_overlay_names_the_file(tmp_path: Path) -> None:
    cfg = base(tmp_path)
    new = markets.stop(cfg, "btc-150k")
    assert [m.id for m in new.markets] == ["fed-cut-dec", "eu-election", "rain-nyc",
                                           "btc-above-100k"]
    assert overlay.load(cfg.run_dir).removed == ["btc-150k"]
    overlay.path_of(cfg.run_dir).write_text("bogus = 1\n")
    with pytest.raises(ConfigError, match="overlay.toml"):
        overlay.effective(cfg)


def test_watch_calls_back_on_a_change(tmp_path: Path) -> None:
    cfg = base(tmp_path)
    seen: list[config.Config] = []

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(overlay.watch(cfg, seen.append, stop, interval_s=0.01))
        await asyncio.sleep(0.05)
        markets.configure(cfg, "rain-nyc", {"size": 10.0})
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(run())
    assert seen and seen[-1].quoting_for(seen[-1].market("rain-nyc")).size == 10.0


def test_applying_the_overlay_twice_changes_nothing(tmp_path: Path) -> None:
    cfg = base(tmp_path)
    markets.stop(cfg, "btc-150k")
    ov = overlay.load(cfg.run_dir)
    ov.markets.append({"id": "again", "venue": "polymarket", "venue_market": "0xabc",
                       "yes_token": "1", "no_token": "2", "quoting": {"spread": 0.03}})
    overlay.save(cfg.run_dir, ov)
    once = overlay.effective(cfg)
    assert overlay.effective(once) == once
    assert [m.id for m in once.markets][-1] == "again"


class _FakeClob:
    """A hand-written stand-in for the CLOB's GET /markets/{condition_id}, on a real socket."""

    def __init__(self, cfg: config.Config) -> None:
        self.markets = {m.venue_market: m for m in cfg.markets}

    async def market(self, request: web.Request) -> web.Response:
        m = self.markets.get(request.match_info["cid"])
        if m is None:
            return web.json_response({"error": "market not found"}, status=404)
        return web.json_response({"question": m.name, "minimum_tick_size": 0.01, "minimum_order_size": 5,
                                  "neg_risk": False, "tokens": [{"token_id": m.yes_token, "outcome": "Yes"},
                                                                {"token_id": m.no_token, "outcome": "No"}]})


def test_start_looks_the_market_up_and_reports_each_error(tmp_path: Path) -> None:
    import socket
    import threading

    cfg = base(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fake = _FakeClob(cfg)
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/markets/{cid}", fake.market)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        cfg = config.parse((ROOT / "deploy" / "demo.toml").read_text()
                           .replace('run_dir = "../.pmm/demo"', f'run_dir = "{tmp_path}"')
                           .replace("http://127.0.0.1:8711", f"http://127.0.0.1:{port}"))
        btc, eu = cfg.market("btc-150k"), cfg.market("eu-election")
        with pytest.raises(ConfigError, match="unknown market '0xdead'"):
            markets.start(cfg, "polymarket", "0xdead", "1", {})
        with pytest.raises(ConfigError, match="is not a token of market"):
            markets.start(cfg, "polymarket", eu.venue_market, "999", {})
        with pytest.raises(ConfigError, match="already running"):
            markets.start(cfg, "polymarket", eu.venue_market, eu.no_token, {})
        with pytest.raises(ConfigError, match="--spread 0.9"):
            markets.stop(cfg, "btc-150k")
            markets.start(cfg, "polymarket", btc.venue_market, btc.yes_token, {"spread": 0.9})
        # Risk journals positions by id: a stopped market comes back only under its old id,
        # and no other market may take that id while it is stopped.
        assert overlay.load(tmp_path).stopped == {f"polymarket:{btc.venue_market}": "btc-150k"}
        fake.markets["0xnew"] = SimpleNamespace(name="Brand new", yes_token="111", no_token="222")
        with pytest.raises(ConfigError, match="belongs to the stopped market polymarket:"):
            markets.start(cfg, "polymarket", "0xnew", "111", {}, "btc-150k")
        with pytest.raises(ConfigError, match="was stopped as 'btc-150k'.*--id btc-150k"):
            markets.start(cfg, "polymarket", btc.venue_market, btc.no_token, {}, "btc-again")
        new, market_id = markets.start(cfg, "polymarket", btc.venue_market, btc.no_token,
                                       {"spread": 0.03, "max_loss_usd": 20.0})
        assert market_id == "btc-150k" and overlay.load(tmp_path).stopped == {}
        m = new.market(market_id)
        assert (m.yes_token, m.no_token, m.max_loss_usd) == (btc.yes_token, btc.no_token, 20.0)
        assert new.quoting_for(m).spread == 0.03 and overlay.effective(cfg) == new
        # A market added at runtime, stopped and started again keeps its id too.
        markets.stop(cfg, "btc-150k")
        assert "btc-150k" not in [m.id for m in overlay.effective(cfg).markets]
        _, again = markets.start(cfg, "polymarket", btc.venue_market, btc.yes_token, {},
                                 "btc-150k")
        assert again == "btc-150k" and overlay.effective(cfg).market("btc-150k").yes_token == btc.yes_token
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
