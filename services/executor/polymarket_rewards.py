"""Whether our Polymarket orders score for the liquidity rewards, through the official SDK
(py-clob-client-v2): `POST /orders-scoring` with a JSON list of order ids (L2; the SDK's
`are_orders_scoring`), answered `{order_id: bool}` (polymarket-client
`parse_orders_scoring`). An answer that does not decode is dropped and counted. The
programmes themselves are public: ingest reads them (services/ingest/rewards.py)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrdersScoringParams
from py_clob_client_v2.exceptions import PolyException

from common.errors import VenueError
from common.venue_drops import drop
from services.executor.polymarket_rest import error_text
from services.executor.polymarket_sdk import SdkCalls

__all__ = ["PolymarketRewards", "SCORING_BATCH"]

SCORING_BATCH = 100
"""Order ids per `/orders-scoring` request (the venue states no limit; kept modest)."""


class PolymarketRewards:
    """The reward reads of one Polymarket account (services/executor/rewards.py uses it)."""

    venue = "polymarket"

    def __init__(self, sdk: SdkCalls, client: ClobClient) -> None:
        self._sdk = sdk
        self._client = client

    async def scoring(self, order_ids: Sequence[str]) -> dict[str, bool]:
        """Which of `order_ids` score now; VenueError if the venue cannot be asked."""
        out: dict[str, bool] = {}
        for i in range(0, len(order_ids), SCORING_BATCH):
            batch = list(order_ids[i:i + SCORING_BATCH])
            try:
                resp = await self._sdk.call("orders-scoring", self._client.are_orders_scoring,
                                            OrdersScoringParams(orderIds=batch))
            except PolyException as exc:
                raise VenueError(f"orders-scoring: {error_text(exc)}", definitive=False) from None
            try:
                answer = msgspec.convert(resp, dict[str, bool])
            except msgspec.ValidationError as exc:
                drop(self.venue, "rest", exc)
                raise VenueError("orders-scoring: answer not understood",
                                 definitive=False) from None
            out.update(answer)
        return out
