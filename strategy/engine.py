"""The quoting engine's one entry point: `step(state, inputs, params, market, now_ns)`.

Pure and deterministic: the same state, inputs, parameters and time give the same
`(new_state, Decision)`, with no I/O, clock or randomness. The quoter actor, `pmm preview`
and the backtester all call it unchanged. `now_ns` is unix time in nanoseconds (the
resolution time is wall-clock); trades carry the same clock.

One step:
1. Window the trades for vwap; if the book is new, fold its mid into the EMA and the
   volatility estimator; for A-S also the one sampled every `vol_sample_ms` and the count of
   trades reaching each depth from the mid (intensity.py, its k).
2. Fair value by `fv_method` (fair_value.py); none (one-sided/crossed book) or a stale
   feed gives an empty ladder: pull every quote.
3. Model `heuristic`: half-spread with every widening (spread.py; its volatility is the
   per-update one: how fast the book moves now), reservation = fair minus the whole-tick
   skew (inventory.py). Model `avellaneda_stoikov`: reservation and spread from the closed
   forms (avellaneda.py): sigma of the value (the larger of the two estimators), tau to
   the market's resolution capped at `horizon_s` and where sigma^2 * tau reaches
   p * (1 - p), k from the trades; half-spread clamped to [min_spread, max_spread] and
   widened on thin books.
   Model `symmetric` (the baseline): one level each side at `spread` around the mid,
   `size` contracts within `max_inventory`; steps 4 and 5 do not apply.
4. Sizes per side by inventory regime (inventory.py); inside the stop-adding window only
   the reducing side, at most |net| (resolution.py); exit orders inside the exit window.
5. Signals (issue 5, strategy/signals/; `[quoting.signals] enabled`, or
   `fv_method = "threshold"`, or lead-lag on a market with a `reference` feed): one action per market - both, bid_only, ask_only, widen or
   pull - and a fair-value nudge. The nudge moves fair value before step 3; each side's
   half-spread is widened by its factor (never narrowed, capped at max_spread); a pulled
   side quotes nothing. Exit orders are not quotes and are left alone.
6. Post-only levels on the tick grid (ladder.py). With a Polymarket reward programme and
   `reward_reach` > 0, a side none of whose levels scores has its best level moved into
   the band (by at most `reward_reach`, never across the book, never on a side a signal
   widened) and raised to the min size within the side's room (rewards.py `reach`).
7. The requote decision (requote.py).
"""

from __future__ import annotations

import math

import msgspec

from common.config import QuotingConfig
from common.prices import ONE_DOLLAR, PRICE_SCALE
from strategy import (
    avellaneda,
    fair_value,
    intensity,
    inventory,
    ladder,
    resolution,
    rewards,
    spread,
    volatility,
)
from strategy.model import (
    Decision,
    EngineInputs,
    EngineState,
    Ladder,
    MarketLike,
)
from strategy.requote import requote
from strategy.signals.combine import widened
from strategy.signals.evaluate import SignalInputs, SignalOutcome, evaluate

__all__ = ["Decision", "EngineInputs", "EngineState", "Ladder", "step", "commit_unsent"]


def step(
    state: EngineState,
    inputs: EngineInputs,
    params: QuotingConfig,
    market: MarketLike,
    now_ns: int,
) -> tuple[EngineState, Decision]:
    """Advance one market's engine by one step; see the module docstring."""
    trades = fair_value.window_trades(
        (*state.trades, *inputs.trades), now_ns, params.vwap_window_ms, params.vwap_max_trades
    )
    fv_ema, vol, vol_sampled = state.fv_ema, state.vol, state.vol_sampled
    book = inputs.book
    mid = None if book is None else fair_value.mid_price(book)
    if mid is not None and inputs.new_book:
        fv_ema = fair_value.ema_update(fv_ema, mid, params.alpha)
        vol = volatility.update(vol, mid, now_ns, params.vol_alpha)
    as_model = params.model == "avellaneda_stoikov"  # only A-S reads the next two
    if as_model and mid is not None and inputs.new_book:
        vol_sampled = volatility.update(vol_sampled, mid, now_ns, params.vol_alpha,
                                        params.vol_sample_ms * 1_000_000)
    arrivals = state.intensity
    if as_model and mid is not None and book is not None and params.intensity_window_s > 0:
        arrivals = intensity.update(arrivals, (t.price for t in inputs.trades), mid, book.tick,
                                    now_ns, params.intensity_window_s)
    learned = msgspec.structs.replace(
        state, fv_ema=fv_ema, vol=vol, vol_sampled=vol_sampled, intensity=arrivals,
        trades=trades, last_step_ns=now_ns)
    ttr = resolution.time_to_resolution_s(market.resolves_at_ns, now_ns)
    locked = inventory.locked_value(inputs.position_yes, inputs.position_no)
    fair = None
    if book is not None:
        fair = fair_value.fair_value(book, params.fv_method, trades=trades, ema=fv_ema)
    if book is None or fair is None or inputs.stale:
        why = "stale" if (inputs.stale and fair is not None) else "no_fair_value"
        pulled = Ladder(fair_value=0 if fair is None else _to_price(fair))
        return _decide(
            learned, pulled, params, now_ns, why, ttr=ttr, locked=locked, timer=inputs.timer,
            extra={"action": "pull"},
        )

    if params.model == "symmetric":
        return _symmetric(learned, inputs, params, now_ns, ttr=ttr, locked=locked)

    sigs: SignalOutcome | None = None
    if (params.signals.enabled or params.fv_method == "threshold"
            or (market.reference and params.signals.lead_lag.enabled)):
        sigs = evaluate(
            state.signals,
            SignalInputs(
                now_ns=now_ns, book=book, mid=mid, fair=fair, new_book=inputs.new_book,
                trades=inputs.trades, reference=inputs.reference,
                reference_ts_ns=inputs.reference_ts_ns, has_reference=bool(market.reference),
                strike=market.strike, ttr_s=ttr, half_spread_usd=params.spread,
            ),
            params.signals, enabled=params.signals.enabled,
            threshold_fv=params.fv_method == "threshold",
        )
        learned = msgspec.structs.replace(learned, signals=sigs.state)
        fair = min(max(sigs.fair + sigs.combined.fv_nudge, 0.0), float(ONE_DOLLAR))

    tick = book.tick
    q = inventory.inventory_ratio(inputs.net_centi, params)
    depth = fair_value.depth_contracts(book)
    sigma = volatility.sigma_per_sqrt_second(vol)  # how fast the book moves now
    base = spread.base_half_spread(params)
    if params.model == "avellaneda_stoikov":
        s_usd = fair / PRICE_SCALE
        sigma = volatility.sigma(vol, vol_sampled)  # of the value the book lags
        tau = avellaneda.bounded_tau(
            avellaneda.tau_seconds(market.resolves_at_ns, now_ns, params.horizon_s), sigma, s_usd)
        k = intensity.k_per_dollar(arrivals, tick) or params.order_intensity
        clips = inputs.net_centi / 100 / params.size
        r = avellaneda.reservation_price(s_usd, clips, params.gamma, sigma, tau)
        reservation = r * PRICE_SCALE
        delta = avellaneda.optimal_spread(params.gamma, sigma, tau, k)
        h = spread.clamp_half(
            params, delta / 2 * PRICE_SCALE * spread.liquidity_factor(params, depth)
        )
    else:
        h = spread.half_spread(
            params, sigma_pips=sigma * PRICE_SCALE, ttr_s=ttr, depth_contracts=depth, q_abs=abs(q)
        ).total
        reservation = fair - inventory.skew_pips(q, params, h, tick)

    offsets, base_sizes = ladder.layout(params, h, base)
    ask_offsets = offsets
    extra: dict[str, object] = {}
    if sigs is not None:
        c = sigs.combined
        max_half = params.max_spread * PRICE_SCALE
        offsets, _ = ladder.layout(params, widened(h, c.widen_bid, max_half), base)
        ask_offsets, _ = ladder.layout(params, widened(h, c.widen_ask, max_half), base)
        extra = {"action": c.action, "widen_bid": c.widen_bid, "widen_ask": c.widen_ask,
                 "fv_nudge": c.fv_nudge, "signals": sigs.readings,
                 "market_regime": sigs.market_regime}
    add, reduce = inventory.size_factors(abs(q), params)
    max_inv = int(params.max_inventory * 100 + 1e-6)
    net = inputs.net_centi
    bid_room, ask_room = max_inv - net, max_inv + net
    if resolution.stop_adding(params, ttr):
        bid_room, ask_room = max(0, -net), max(0, net)
    bid_sizes = inventory.side_sizes(base_sizes, add if q > 0 else reduce if q < 0 else 1.0,
                                     max(0, bid_room))
    ask_sizes = inventory.side_sizes(base_sizes, add if q < 0 else reduce if q > 0 else 1.0,
                                     max(0, ask_room))
    min_size = inputs.min_size_centi
    exit_bids, exit_asks = resolution.exit_orders(book, net, params, ttr)
    pull_bid = sigs is not None and sigs.combined.pull_bid
    pull_ask = sigs is not None and sigs.combined.pull_ask
    bids = () if pull_bid else ladder.bid_side(book, reservation, offsets, bid_sizes, min_size)
    asks = () if pull_ask else ladder.ask_side(book, reservation, ask_offsets, ask_sizes, min_size)
    if inputs.reward is not None and params.reward_reach > 0:
        # a side a signal widened keeps its distance: the reward never undoes a defence
        held_bid = sigs is not None and sigs.combined.widen_bid > 1
        held_ask = sigs is not None and sigs.combined.widen_ask > 1
        rb, ra = rewards.reach(
            () if held_bid else bids, () if held_ask else asks, inputs.reward,
            book_bids=[(lv.price, lv.size) for lv in book.bids],
            book_asks=[(lv.price, lv.size) for lv in book.asks], tick=tick,
            reach_pips=round(params.reward_reach * PRICE_SCALE),
            bid_room=max(0, bid_room), ask_room=max(0, ask_room),
            bid_max=math.floor(reservation - params.min_spread * PRICE_SCALE),
            ask_min=math.ceil(reservation + params.min_spread * PRICE_SCALE))
        bids, asks = (bids if held_bid else rb), (asks if held_ask else ra)
    out = Ladder(fair_value=_to_price(fair), bids=bids, asks=asks, exit_bids=exit_bids,
                 exit_asks=exit_asks)
    return _decide(
        learned, out, params, now_ns, None, ttr=ttr, locked=locked, half=h,
        reservation=reservation, sigma=sigma, regime=inventory.regime(abs(q), params),
        timer=inputs.timer, extra=extra,
        top=(book.bids[0].price if book.bids else 0,
             book.asks[0].price if book.asks else PRICE_SCALE),
    )


def _symmetric(state: EngineState, inputs: EngineInputs, params: QuotingConfig, now_ns: int,
               *, ttr: float | None, locked: int) -> tuple[EngineState, Decision]:
    """The baseline: fixed half-spread around the mid, fixed size, nothing else."""
    book = inputs.book
    assert book is not None  # step() pulled on no book
    mid = fair_value.mid_price(book)
    if mid is None:
        return _decide(state, Ladder(fair_value=0), params, now_ns, "no_fair_value", ttr=ttr,
                       locked=locked, timer=inputs.timer, extra={"action": "pull"})
    h = params.spread * PRICE_SCALE
    max_inv, net = int(params.max_inventory * 100 + 1e-6), inputs.net_centi
    bid_size = inventory.side_sizes([params.size], 1.0, max(0, max_inv - net))
    ask_size = inventory.side_sizes([params.size], 1.0, max(0, max_inv + net))
    out = Ladder(
        fair_value=_to_price(mid),
        bids=ladder.bid_side(book, mid, [h], bid_size, inputs.min_size_centi),
        asks=ladder.ask_side(book, mid, [h], ask_size, inputs.min_size_centi),
    )
    return _decide(state, out, params, now_ns, None, ttr=ttr, locked=locked, half=h,
                   reservation=mid, timer=inputs.timer,
                   top=(book.bids[0].price if book.bids else 0,
                        book.asks[0].price if book.asks else PRICE_SCALE))


def _decide(
    state: EngineState,
    out: Ladder,
    params: QuotingConfig,
    now_ns: int,
    pulled_reason: str | None,
    *,
    ttr: float | None,
    locked: int,
    half: float = 0.0,
    reservation: float = 0.0,
    sigma: float = 0.0,
    regime: str = "neutral",
    timer: bool = False,
    extra: dict[str, object] | None = None,
    top: tuple[int, int] | None = None,
) -> tuple[EngineState, Decision]:
    send, reason = requote(state.last_sent, state.last_sent_ns, out, now_ns, params, timer=timer)
    live = state.last_sent
    reaffirm = reason == "timer" and live is not None and _rests(live, top)
    if live is not None and reaffirm:
        # The floor re-affirms the live ladder: within threshold of `out`, so resending it
        # repairs levels that stopped resting without moving the ones still resting (a
        # drifted re-send would cancel and replace every level on every floor). Its age is
        # kept, so max_quote_age_ms still refreshes it.
        out = msgspec.structs.replace(live, fair_value=out.fair_value)
    if pulled_reason is not None and send:
        reason = pulled_reason  # type: ignore[assignment]
    new_state = state
    if send:
        new_state = msgspec.structs.replace(
            state, last_sent=out, last_sent_ns=state.last_sent_ns if reaffirm else now_ns)
    decision = Decision(
        ladder=out, send=send, reason=reason, model=params.model, regime=regime,
        half_spread=half, reservation=reservation, sigma=sigma, time_to_resolution_s=ttr,
        locked_value=locked, **(extra or {}),  # type: ignore[arg-type]
    )
    return new_state, decision


def _rests(ladder: Ladder, top: tuple[int, int] | None) -> bool:
    """True if `ladder`'s post-only levels still rest against the book's best bid/ask (a
    re-affirmed ladder must not cross a book that moved under it)."""
    if top is None:
        return False
    best_bid, best_ask = top
    return all(b.price < best_ask for b in ladder.bids) and all(
        a.price > best_bid for a in ladder.asks)


def commit_unsent(new_state: EngineState, old_state: EngineState) -> EngineState:
    """Undo the 'sent' bookkeeping of a step whose ladder could not be delivered, keeping
    what the estimators learned, so the next step tries again."""
    return msgspec.structs.replace(
        new_state, last_sent=old_state.last_sent, last_sent_ns=old_state.last_sent_ns
    )


def _to_price(value: float) -> int:
    return max(0, min(ONE_DOLLAR, round(value)))
