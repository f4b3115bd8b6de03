"""Long-running structures stay bounded (issue 9's one-hour memory soak).

The simulator forgets finished external orders past FINISHED_KEEP and keeps the newest
TRADES_KEEP trades per account; the executor's order journal prunes rows of orders that
are no longer open once they are older than its retention window. Each test runs many
times the bound through the real structure and checks its size, and that what the bound
must not break (exact positions, duplicate detection of recent ids, live orders kept) holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from common.messages import Fill
from services.executor import ledger as ledger_mod
from services.executor.adapter import Placed
from services.executor.journal import JournalRow, OrderJournal
from services.executor.orders import DesiredOrder, MarketTokens
from services.venue_sim import engine as engine_mod
from services.venue_sim import model as model_mod
from services.venue_sim.engine import Engine, OrderRejected, OrderRequest, SimMarket
from services.venue_sim.counters import VenueCounters
from services.venue_sim.faults import Faults
from services.venue_sim.kalshi import KalshiBook
from services.venue_sim.kalshi_groups import OrderGroups
from services.venue_sim.kalshi_keys import KalshiKeys

YES, NO, CID = "111", "222", "0xmarket"
M = 1_000_000
_n = 0


def make_engine(*accounts: str) -> Engine:
    market = SimMarket(condition_id=CID, yes_token=YES, no_token=NO, tick=100, min_size=500)
    engine = Engine([market], clock_ms=lambda: 1_700_000_000_000, id_seed=1)
    for a in accounts:
        engine.open_account(a, 10**9 * M)
    return engine


def order(account: str, token: str, side: str, price: int, size: int) -> OrderRequest:
    global _n
    _n += 1
    return OrderRequest(order_id=f"0x{_n:064x}", account=account, asset_id=token,
                        side=side, price=price, size=size)  # type: ignore[arg-type]


def test_sim_forgets_finished_orders_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "FINISHED_KEEP", 50)
    e = make_engine("a")
    resting = e.place(order("a", YES, "BUY", 1000, 500)).order  # stays live throughout
    ids = []
    for _ in range(500):
        o = e.place(order("a", YES, "BUY", 4000, 500)).order
        assert e.cancel("a", o.id) is None
        ids.append(o.id)
    assert len(e.orders) == 51 and len(e.seen) == 51  # the live one + the newest 50
    assert e.forgotten == 450
    assert resting.id in e.orders and ids[-1] in e.orders and ids[0] not in e.orders
    with pytest.raises(OrderRejected, match="Duplicated"):  # recent ids are still duplicates
        e.place(OrderRequest(order_id=ids[-1], account="a", asset_id=YES, side="BUY",
                             price=4000, size=500))
    assert e.cancel("a", ids[-1]) == "already canceled or matched"
    assert e.cancel("a", ids[0]) == "Order not found or already canceled"


def test_sim_keeps_newest_trades_and_exact_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_mod, "TRADES_KEEP", 40)
    monkeypatch.setattr(engine_mod, "FINISHED_KEEP", 30)
    e = make_engine("maker", "taker")
    for _ in range(300):  # each round: one trade between two external accounts
        e.place(order("maker", YES, "BUY", 5000, 500))
        e.place(order("taker", NO, "BUY", 5000, 500))  # BUY NO at 0.50 meets BUY YES (mint)
    maker, taker = e.accounts["maker"], e.accounts["taker"]
    assert maker.trades_total == taker.trades_total == 300
    assert len(maker.trades) == len(taker.trades) == 40
    assert maker.trades[-1].match_ms == 1_700_000_000_000
    assert maker.positions[YES] == 300 * 500 and taker.positions[NO] == 300 * 500
    assert len(e.orders) <= 30 and not maker.open_orders and not taker.open_orders


def test_kalshi_client_ids_follow_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "FINISHED_KEEP", 20)
    e = make_engine("k")
    groups = OrderGroups(e, announce=lambda *args, **kwargs: None)  # no websockets here
    book = KalshiBook(e, keys=KalshiKeys(clock_ms=lambda: 0, window_ms=0), groups=groups,
                      client_ids={}, faults=Faults(), counters=VenueCounters(),
                      start_collateral=0)
    group = book.groups.create("k", 10_000)
    for i in range(200):
        o = e.place(order("k", YES, "BUY", 4000, 500)).order
        book.client_ids[o.id] = f"c{i}"
        book.open_ids[("k", f"c{i}")] = o.id
        book.groups.attach(group, o.id)
        e.cancel("k", o.id)
    assert len(book.client_ids) == len(book.open_ids) == 20
    assert len(group.orders) == 20 and len(book.groups._by_order) == 20


def row(key: str, ts_ns: int) -> JournalRow:
    return JournalRow(key=key, market="m", token="t", price=5000, size=500, ts_ns=ts_ns)


def test_journal_prunes_retired_orders_and_keeps_open_and_recent() -> None:
    j = OrderJournal(":memory:")
    minute = 60 * 10**9
    now = 100 * minute
    j.intend(row(f"old{i}", now - 30 * minute + i) for i in range(5_000))
    j.intend(row(f"new{i}", now - minute) for i in range(100))
    j.placed("old7", "venue-id-7")
    pruned = j.prune_retired({"old3", "venue-id-7"}, now, retention_ns=10 * minute,
                             every_ns=minute)
    assert pruned == 4_998 and len(j) == 102
    assert j.owns("old3") and j.owns("venue-id-7") and j.owns("new99")
    assert not j.owns("old4")
    j.intend([row("later", now - 20 * minute)])
    assert j.prune_retired(set(), now + minute // 2, retention_ns=10 * minute,
                           every_ns=minute) == 0  # at most once per `every_ns`
    assert j.prune_retired(set(), now + minute, retention_ns=10 * minute,
                           every_ns=minute) == 3  # old3, old7 and `later` are gone now
    assert len(j) == 100
    j.close()


def test_journal_stays_bounded_over_many_reconciliations() -> None:
    """Orders placed and finished at a steady rate: the journal plateaus at the window."""
    j = OrderJournal(":memory:")
    second = 10**9
    sizes = []
    for t in range(0, 3_600, 5):  # an hour, 10 orders every 5 s, reconciled every 5 s
        now = t * second
        j.intend(row(f"o{t}-{i}", now) for i in range(10))
        j.prune_retired({f"o{t}-0"}, now, retention_ns=600 * second, every_ns=60 * second)
        sizes.append(len(j))
    bound = (600 + 60) // 5 * 10 + 10  # retention + one prune period of orders, + one batch
    assert max(sizes) <= bound < 7_200 // 5  # far below the hour's 7,200 orders
    assert min(sizes[len(sizes) // 2:]) >= 600 // 5 * 10  # the window itself is kept
    j.close()


def test_executor_ledger_fill_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_mod, "FILL_MEMORY", 100)
    monkeypatch.setattr(ledger_mod, "RECENT_FILLS", 10)
    tokens = MarketTokens(market="m", venue_market="0xc", yes_token="Y", no_token="N",
                          tick=100, min_size=500)
    led = ledger_mod.OrderLedger("polymarket", {"Y": tokens, "N": tokens}, lambda: 42)
    req = DesiredOrder(market="m", token="Y", outcome="YES", price=4800, size=500)

    def fill(i: int) -> Fill:
        return Fill(venue="polymarket", market="m", trade_id=f"t{i}", order_id=f"o{i}",
                    outcome="YES", side="BUY", price=4800, size=500, fee=0, ts_venue_ms=1,
                    ts_recv_ns=2)

    for i in range(1_000):  # place, fill completely, hear the trade's later status again
        led.record_place("m", Placed(req, f"o{i}"), i)
        assert led.on_fill(fill(i), i)[0]
        assert not led.on_fill(fill(i), i)[0]  # a repeat inside the window is not new
        led.reconcile([], requested_ns=i + 1, blocked=frozenset())  # prunes `removed`
    assert len(led._seen_fills) == 100 and len(led.fills) == 10
    assert not led.live and len(led.removed) <= 1
    reversal = led.on_fill_failed(fill(999))  # a recent trade going FAILED is still reversed
    assert reversal is not None and reversal.trade_id == "t999"
    assert len(led._seen_fills) == 100 and len(led._reversed) <= 100


def test_memtrace_reports_the_growing_site(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """PMM_TRACEMALLOC's report names the line whose live allocations grew."""
    import tracemalloc

    from common import memtrace

    was = tracemalloc.is_tracing()
    tracemalloc.start(1)
    try:
        base = tracemalloc.take_snapshot()
        hoard = [bytearray(1000) for _ in range(2_000)]  # ~2 MB held at this line
        text = memtrace.report(base, tracemalloc.take_snapshot(), top=3)
    finally:
        if not was:
            tracemalloc.stop()
    first = text.splitlines()[1]
    assert "test_memory_bounds.py" in first and len(hoard) == 2_000
    assert float(first.split()[0]) > 1_500  # KiB
    monkeypatch.delenv(memtrace.ENV_DIR, raising=False)
    assert memtrace.start("x") is None  # off unless asked for


def test_memtrace_only_traces_the_named_processes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """PMM_TRACEMALLOC_ONLY leaves every other process untraced; a named one is traced."""
    import asyncio
    import tracemalloc

    from common import memtrace

    monkeypatch.setenv(memtrace.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(memtrace.ENV_ONLY, "executor-polymarket,risk")

    async def started(name: str) -> bool:
        task = memtrace.start(name)
        if task is None:
            return False
        task.cancel()
        return True

    was = tracemalloc.is_tracing()
    try:
        assert asyncio.run(started("quoter-0")) is False
        assert asyncio.run(started("risk")) is True
        assert tracemalloc.is_tracing()
    finally:
        if not was:
            tracemalloc.stop()
    assert "RSS" in memtrace.report(tracemalloc.Snapshot([], 1), tracemalloc.Snapshot([], 1))
