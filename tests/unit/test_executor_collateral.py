"""The executor trims ladders to the account's free collateral (sequencer + collateral.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from common import metrics
from common.errors import VenueError
from common.messages import Fill
from services.executor.adapter import PlaceReport
from services.executor.collateral import Balance
from services.executor.orders import DesiredOrder
from services.executor.report import market_reports
from tests.support.executor import FakeVenue, intent, ready_actor


def _placed(venue: FakeVenue) -> list[tuple[str, int, int]]:
    return sorted((o.token, o.price, o.size) for o in venue.open.values())


def _orders(outcome: str) -> float:
    return metrics.ORDERS.labels(venue="polymarket", action="place", outcome=outcome)._value.get()


def test_a_ladder_the_wallet_cannot_fund_is_trimmed_nearest_the_touch_first(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = FakeVenue()
        venue.collateral = Balance(12_000_000, net_of_orders=False)  # 12 USD
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.funding.read()
            trimmed, unfunded = _orders("trimmed"), _orders("unfunded")
            # bids 0.48 and 0.47, asks 0.52 and 0.53 (BUY NO at 0.48 and 0.47), 10 each
            await actor.sequencer.apply_intent(intent(
                "m1", [(4_800, 1_000), (4_700, 1_000)], [(5_200, 1_000), (5_300, 1_000)]), 0)
            # 4.80 + 4.80 for the best level of each side, 2.40 left: 5 contracts at 0.47
            assert _placed(venue) == [("N1", 4_800, 1_000), ("Y1", 4_700, 500),
                                      ("Y1", 4_800, 1_000)]
            assert (_orders("trimmed") - trimmed, _orders("unfunded") - unfunded) == (1, 1)
            assert actor.sequencer.funding.locked() == 11_950_000
            # the other market finds nothing free and places nothing
            await actor.sequencer.apply_intent(intent("m2", [(4_000, 1_000)], []), 0)
            assert all(o.token != "Y2" for o in venue.open.values())
            # a fill moves 4.80 USD out of the lock and out of the collateral: still 0 free
            oid = next(k for k, o in venue.open.items() if (o.token, o.price) == ("Y1", 4_800))
            await actor.sink.on_fill(Fill(
                venue="polymarket", market="m1", trade_id="t1", order_id=oid, outcome="YES",
                side="BUY", price=4_800, size=1_000, fee=0, ts_venue_ms=1, ts_recv_ns=1))
            assert actor.sequencer.funding.collateral() == 12_000_000 - 4_800_000
            assert actor.sequencer.funding.locked() == 11_950_000 - 4_800_000
            # a deposit shows at the next read, and the next ladder is funded whole
            venue.collateral = Balance(100_000_000, net_of_orders=False)
            await actor.sequencer.funding.read()
            await actor.sequencer.apply_intent(intent("m2", [(4_000, 1_000)], []), 0)
            assert ("Y2", 4_000, 1_000) in _placed(venue)
            reports = {r.market: r for r in market_reports(
                "polymarket", actor.state.markets, actor.state.ledger.live.values(), 0,
                actor.sequencer.funding.collateral())}
            assert reports["m2"].locked == 4_000_000
            assert reports["m1"].collateral == 100_000_000 and reports["m1"].locked == 7_150_000

    asyncio.run(scenario())


class SlowVenue(FakeVenue):
    """Every placement waits on the wire until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def place(self, orders: Sequence[DesiredOrder]) -> PlaceReport:
        await self.release.wait()
        return await super().place(orders)


def test_two_markets_placing_at_once_cannot_both_spend_the_same_dollars(tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = SlowVenue()
        venue.collateral = Balance(6_000_000, net_of_orders=False)
        with ready_actor(tmp_path, venue) as actor:
            await actor.sequencer.funding.read()
            first = asyncio.create_task(
                actor.sequencer.apply_intent(intent("m1", [(5_000, 1_000)], []), 0))
            await asyncio.sleep(0.05)
            assert actor.sequencer.funding.wallet.on_wire == 5_000_000
            second = asyncio.create_task(
                actor.sequencer.apply_intent(intent("m2", [(5_000, 1_000)], []), 0))
            await asyncio.sleep(0.05)
            venue.release.set()
            await asyncio.gather(first, second)
            assert _placed(venue) == [("Y1", 5_000, 1_000)]  # 1 USD left: under 5 contracts
            assert actor.sequencer.funding.wallet.on_wire == 0

    asyncio.run(scenario())


def test_kalshi_style_available_balance_adds_our_locked_orders_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = FakeVenue()
        with ready_actor(tmp_path, venue) as actor:
            assert actor.sequencer.funding.collateral() is None  # unknown: nothing is trimmed
            await actor.sequencer.apply_intent(intent("m1", [(5_000, 2_000)], []), 0)
            assert _placed(venue) == [("Y1", 5_000, 2_000)]
            venue.collateral = Balance(3_000_000, net_of_orders=True)  # 10 USD locked + 3 free
            await actor.sequencer.funding.read()
            assert actor.sequencer.funding.collateral() == 13_000_000
            await actor.sequencer.apply_intent(intent("m2", [(5_000, 1_000)], []), 0)
            assert ("Y2", 5_000, 600) in _placed(venue)

    asyncio.run(scenario())


class BrokenBalance(FakeVenue):
    async def balance(self) -> Balance | None:
        self.balance_reads += 1
        raise VenueError("balance: 503", definitive=False)


def test_a_failed_read_keeps_the_last_figure(tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = BrokenBalance()
        with ready_actor(tmp_path, venue) as actor:
            errors = metrics.ORDERS.labels(venue="polymarket", action="balance",
                                           outcome="error")._value.get()
            await actor._read_collateral()
            assert venue.balance_reads == 1
            assert metrics.ORDERS.labels(venue="polymarket", action="balance",
                                         outcome="error")._value.get() == errors + 1
            assert actor.sequencer.funding.collateral() is None

    asyncio.run(scenario())


def test_fees_are_spent_and_a_reversal_gives_back_only_what_came_after_the_read(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = FakeVenue()
        venue.collateral = Balance(50_000_000, net_of_orders=False)
        with ready_actor(tmp_path, venue) as actor:
            funding = actor.sequencer.funding
            await funding.read()

            def fill(trade: str, fee: int) -> Fill:
                return Fill(venue="polymarket", market="m1", trade_id=trade, order_id="gone",
                            outcome="YES", side="BUY", price=5_000, size=1_000, fee=fee,
                            ts_venue_ms=1, ts_recv_ns=1)
            await actor.sink.on_fill(fill("t1", 20_000))  # 5 USD and a 0.02 USD fee
            assert funding.collateral() == 50_000_000 - 5_020_000
            await funding.read()  # the venue's figure now has t1 in it
            await actor.sink.on_fill(fill("t2", 0))
            assert funding.collateral() == 50_000_000 - 5_000_000
            await actor.sink.on_fill_failed(fill("t1", 20_000))  # before the read: no credit
            await actor.sink.on_fill_failed(fill("t2", 0))  # after it: given back
            assert actor.state.ledger.reversals == 2
            assert funding.collateral() == 50_000_000

    asyncio.run(scenario())


class Exploding(FakeVenue):
    """A balance read that raises something no venue adapter should."""

    async def balance(self) -> Balance | None:
        self.balance_reads += 1
        raise RuntimeError("worker pool gone")


def test_an_unexpected_failure_of_a_read_is_logged_not_fatal(tmp_path: Path) -> None:
    async def scenario() -> None:
        venue = Exploding()
        with ready_actor(tmp_path, venue) as actor:
            await actor._read_collateral()  # must not raise: the loop would end the executor
            assert venue.balance_reads == 1

    asyncio.run(scenario())


def test_a_wallet_with_room_to_spare_skips_the_sum_of_every_order(tmp_path: Path) -> None:
    """The exact lock is summed only when the upper bound says a batch might not fit;
    booked batches raise the bound, a read or a reconciliation drops it."""
    async def scenario() -> None:
        venue = FakeVenue()
        venue.collateral = Balance(13_000_000, net_of_orders=False)  # 13 USD
        with ready_actor(tmp_path, venue) as actor:
            funding = actor.sequencer.funding
            sums = []
            exact = funding.locked
            funding.locked = lambda: sums.append(1) or exact()  # type: ignore[method-assign]
            await funding.read()
            assert funding.wallet.locked_hi is None
            await actor.sequencer.apply_intent(intent("m1", [(5_000, 1_000)], []), 0)
            assert len(sums) == 1 and funding.wallet.locked_hi == 5_000_000
            await actor.sequencer.apply_intent(intent("m2", [(4_000, 1_000)], []), 0)
            assert len(sums) == 1  # 4 USD fits under 13 - 5: no sum
            assert funding.wallet.locked_hi == 9_000_000  # the booked batch raised the bound
            await actor.sequencer.apply_intent(intent("m2", [(4_000, 1_000), (3_900, 1_000)],
                                                      [], seq=2), 0)
            assert len(sums) == 1  # 3.90 more fits under 13 - 9 too
            assert ("Y2", 3_900, 1_000) in _placed(venue)
            await actor.sequencer.apply_intent(intent("m1", [(5_000, 1_000), (4_900, 1_000)],
                                                      [], seq=2), 0)
            assert len(sums) == 2  # 4.90 more may not fit by the bound: summed, and it does not
            assert all(o.price != 4_900 for o in venue.open.values())  # 0.10 USD left
            await actor.sequencer.reconcile_once()
            assert funding.wallet.locked_hi is None

    asyncio.run(scenario())
