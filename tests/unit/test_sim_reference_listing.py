"""The simulator's issue-5 surfaces: a followed market lags its reference feed, `/ref/ws`
streams ticks, and the listings (`/gamma/markets`, Kalshi `/markets`) carry candidates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from websockets.sync.client import connect

from common.config import Config, KalshiConfig, VenuesConfig, parse
from common.kalshi_auth import KalshiSigner, new_private_pem
from services.control.commands.scan import fetch_kalshi
from services.venue_sim.flow import TRUE_MAX, TRUE_MIN
from services.venue_sim.reference import ReferenceHub
from services.venue_sim.venue import Venue
from tests.support.sim import SimThread
from tests.support.wait import eventually

CONFIG = """
[sim]
seed = 4
candidate_markets = 3
[sim.flow]
noise_rate_hz = 0
informed_rate_hz = 0
[[sim.references]]
feed = "BTC-USD"
start_price = 100000
volatility = 0
jump_probability = 0
step_ms = 100
lag_ms = 1000
[[references]]
feed = "BTC-USD"
url = "ws://127.0.0.1:1/ref/ws"
[[markets]]
id = "btc"
venue = "polymarket"
venue_market = "0xb7c"
yes_token = "11"
no_token = "22"
reference = "BTC-USD"
strike = 100000
[[markets]]
id = "plain"
venue = "polymarket"
venue_market = "0x91a"
yes_token = "33"
no_token = "44"
"""


def test_a_followed_market_moves_only_after_the_lag() -> None:
    cfg: Config = parse(CONFIG.replace("volatility = 0\n", "volatility = 0.0005\n"))
    now = [0]
    hub = ReferenceHub(cfg, lambda: now[0])
    prob = hub.followers(cfg)["0xb7c"]
    walk = hub.walks["BTC-USD"]
    assert prob() == 0.5  # at the strike
    for ms in range(100, 600, 100):
        walk.history.append((ms, 100_000.0))
    walk.history.append((600, 101_000.0))  # a 1% jump at 600 ms
    now[0] = 600
    assert prob() == 0.5  # the book's truth has not seen it yet
    now[0] = 1599
    assert prob() == 0.5
    now[0] = 1600
    assert prob() > 0.6  # ln(1.01) / (0.0005 * 60) = 0.33 sd: 0.63
    assert "0x91a" not in hub.followers(cfg)


def test_followers_draw_nothing_from_the_truth_stream() -> None:
    cfg = parse(CONFIG)
    venue = Venue(cfg, clock_ms=lambda: 0)
    truth = venue.flow.models["0xb7c"].truth
    state = truth.rng.getstate()
    venue.flow.step()
    assert truth.rng.getstate() == state
    assert TRUE_MIN <= venue.flow.true_p["0xb7c"] <= TRUE_MAX


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    s = SimThread(parse(CONFIG)).start()
    try:
        yield s
    finally:
        s.stop()


def test_ref_ws_streams_the_feed(sim: SimThread) -> None:
    with connect(f"ws://127.0.0.1:{sim.port}/ref/ws?feed=BTC-USD") as ws:
        ticks = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
        ws.send("PING")
        assert "PONG" in [ws.recv(timeout=5) for _ in range(5)]
    assert all(t["feed"] == "BTC-USD" and t["price"] == 100000 for t in ticks)
    assert ticks[2]["ts"] > ticks[1]["ts"]
    assert httpx.get(f"{sim.url}/ref/ws?feed=NOPE").status_code == 404


def test_gamma_listing_has_configured_and_candidate_markets(sim: SimThread) -> None:
    rows = eventually(lambda: (r := httpx.get(f"{sim.url}/gamma/markets").json())
                      and all(x["bestBid"] for x in r) and r)
    assert len(rows) == 5 and {"0xb7c", "0x91a"} <= {r["conditionId"] for r in rows}
    cand = [r for r in rows if "candidate" in r["question"]]
    assert len(cand) == 3
    for r in cand:
        tokens = json.loads(r["clobTokenIds"])
        assert len(tokens) == 2 and r["endDate"].endswith("Z") and r["volume24hr"] > 0
        assert r["liquidityNum"] > 0 and 0 < r["spread"] < 1
        # Candidates are real markets of the venue: the CLOB knows them (pmm start looks here).
        assert httpx.get(f"{sim.url}/markets/{r['conditionId']}").json()["tokens"][0]["token_id"] == tokens[0]
    # Paging: the same markets in the same order (prices and liquidity move between calls).
    page = httpx.get(f"{sim.url}/gamma/markets?limit=2&offset=4").json()
    assert [r["conditionId"] for r in page] == [r["conditionId"] for r in rows[4:]]
    assert httpx.get(f"{sim.url}/gamma/markets?closed=true").json() == []
    assert httpx.get(f"{sim.url}/gamma/markets?limit=x").status_code == 400


def test_scan_reads_kalshi_markets_signed_with_the_stacks_key(tmp_path: Path) -> None:
    """`pmm scan --venue kalshi` against the simulator: signed with the run dir's sim key."""
    run = tmp_path
    cfg = parse(f"""
[stack]
run_dir = "{run}"
[sim]
seed = 2
candidate_markets = 2
[[markets]]
id = "k"
venue = "kalshi"
venue_market = "KXTEST-26DEC31"
""")
    sim = SimThread(cfg).start()
    try:
        pem = new_private_pem()
        signer = KalshiSigner.from_pem("scan-key", pem)
        secrets = cfg.run_dir / "secrets"
        secrets.mkdir(parents=True)
        (secrets / "sim_kalshi_key.pem").write_bytes(pem)
        (secrets / "sim_kalshi_key_id").write_text("scan-key")
        assert httpx.post(f"{sim.url}/_sim/kalshi/keys", json={
            "key_id": "scan-key", "public_key_pem": signer.public_pem().decode()}).status_code == 200
        cfg = msgspec.structs.replace(cfg, venues=VenuesConfig(kalshi=KalshiConfig(
            rest_url=f"{sim.url}/trade-api/v2")))
        found, bad = fetch_kalshi(cfg)
        assert bad == 0 and len(found) == 3
        cand = [c for c in found if c.venue_market.startswith("KXSIMCAND-")]
        assert len(cand) == 2 and all(c.resolves_at_s and c.token == c.venue_market for c in cand)
        assert all(c.volume_usd > 0 for c in cand)
    finally:
        sim.stop()
