"""The order journal, ownership-aware reconciliation and fill reversals (pure parts)."""

from __future__ import annotations

from pathlib import Path

from common.messages import Fill, FillReversal
from services.executor.adapter import InFlight
from services.executor.journal import JournalRow, OrderJournal
from services.executor.ledger import OrderLedger
from services.executor.orders import DesiredOrder, LiveOrder, MarketTokens, VenueOrder, client_key
from services.executor.reconcile import reconcile

M1 = MarketTokens(market="m1", venue_market="c1", yes_token="Y1", no_token="N1", tick=100,
                  min_size=500)
TOKENS = {"Y1": M1, "N1": M1}


def row(key: str, ts: int = 10, order_id: str = "") -> JournalRow:
    return JournalRow(key=key, market="m1", token="Y1", price=4800, size=1000, ts_ns=ts,
                      order_id=order_id)


def test_journal_survives_a_restart_and_prunes_closed_orders(tmp_path: Path) -> None:
    path = tmp_path / "run" / "executor-kalshi.orders.sqlite"
    j = OrderJournal(path)
    j.intend([row("0xhash"), row("coid-1")])
    j.placed("coid-1", "venue-1")
    j.placed("unknown", "venue-2")  # not ours: ignored
    j.close()
    j = OrderJournal(path)  # a new process
    assert j.owns("0xhash") and j.owns("venue-1") and j.owns(client_id="coid-1")
    assert not j.owns("venue-2") and not j.owns("") and not j.owns(client_id="other")
    assert j.prune(keep={"venue-1"}, before_ns=11) == 1  # 0xhash no longer open
    assert not j.owns("0xhash") and j.owns("venue-1")
    j.intend([row("late", ts=20)])
    assert j.prune(keep=set(), before_ns=15) == 1 and j.owns("late")  # written after: kept
    j.close()


def vo(order_id: str, *, client_id: str = "", token: str = "Y1") -> VenueOrder:
    return VenueOrder(order_id=order_id, token=token, side="BUY", price=4800, size=1000,
                      client_id=client_id)


def test_reconcile_cancels_foreign_orders_and_resolves_client_keys() -> None:
    provisional = client_key("c9")
    local = {provisional: LiveOrder(order_id=provisional, market="m1", token="Y1",
                                    outcome="YES", side="BUY", price=4800, size=1000,
                                    state="inflight", created_ns=5)}
    owned = {"ours", "c9"}
    result = reconcile(local, [vo("ours"), vo("theirs"), vo("v9", client_id="c9")],
                       tokens=TOKENS, requested_ns=10, removed_since={},
                       owns=lambda o: o.order_id in owned or o.client_id in owned)
    assert result.cancel == ["theirs"] and result.foreign == 1
    assert set(result.live) == {"ours", "v9"}  # the in-flight order is kept once, by venue id
    assert result.resolved == {provisional: "v9"} and result.adopted == 1
    # without an ownership predicate every order on our tokens is adopted (old behaviour)
    assert set(reconcile({}, [vo("theirs")], tokens=TOKENS, requested_ns=10,
                         removed_since={}).live) == {"theirs"}


def test_an_inflight_order_known_by_client_id_blocks_a_duplicate() -> None:
    ledger = OrderLedger("kalshi", TOKENS, lambda: 1)
    d = DesiredOrder(market="m1", token="Y1", outcome="YES", price=4800, size=1000)
    ledger.record_place("m1", InFlight(d, client_key("c1"), "timeout"), now_ns=1)
    (order,) = ledger.in_market("m1")
    assert order.state == "inflight" and order.order_id == client_key("c1")


def fill(trade: str = "t1") -> Fill:
    return Fill(venue="polymarket", market="m1", trade_id=trade, order_id="o1", outcome="NO",
                side="BUY", price=5200, size=700, fee=0, ts_venue_ms=1, ts_recv_ns=1)


def test_a_failed_trade_reverses_its_fill_exactly_once() -> None:
    ledger = OrderLedger("polymarket", TOKENS, lambda: 42)
    assert ledger.on_fill(fill(), 1)[0]
    rev = ledger.on_fill_failed(fill())
    assert rev == FillReversal(venue="polymarket", market="m1", trade_id="t1", order_id="o1",
                               outcome="NO", side="BUY", price=5200, size=700, ts_ns=42)
    assert ledger.on_fill_failed(fill()) is None  # FAILED seen again (REST recovery)
    assert not ledger.on_fill(fill(), 2)[0]  # a replayed MATCHED is not applied again
    # FAILED before the fill was ever seen: nothing to reverse, and the fill never applies
    assert ledger.on_fill_failed(fill("t2")) is None
    assert not ledger.on_fill(fill("t2"), 3)[0]
    assert ledger.reversals == 1
