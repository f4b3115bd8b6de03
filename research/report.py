"""The backtest report: PNG plots (price and quotes, inventory, P&L, markouts) and an HTML
page that shows them with the summary table. Matplotlib draws off-screen (Agg backend), so
a report needs no display; open `<dir>/index.html` in a browser after the run.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.prices import MONEY_SCALE, PRICE_SCALE, SIZE_SCALE
from research.backtest import RunResult
from research.metrics import _markout, summarize

__all__ = ["PLOTTED", "plot_summary", "write_report"]

PLOTTED = ("pnl_usd", "markout_60s_usd")
"""The sweep summary's metrics drawn as bar charts (mean +/- sd per config and scenario)."""


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_report(result: RunResult, out_dir: str | Path, *, title: str) -> Path:
    """Write the PNGs and index.html for a run; return the HTML path."""
    plt = _plt()
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    images = []
    for market, r in result.markets.items():
        if not r.samples:
            continue
        t0 = r.samples[0].ts_ns
        xs = [(s.ts_ns - t0) / 1e9 for s in r.samples]
        fig, ax = plt.subplots(figsize=(10, 4))
        ax.plot(xs, [s.mid / PRICE_SCALE for s in r.samples], label="mid", lw=1)
        if r.has_truth:
            ax.plot(xs, [(s.truth or 0) / PRICE_SCALE for s in r.samples], label="true", lw=1)
        ax.plot(xs, [None if s.bid is None else s.bid / PRICE_SCALE for s in r.samples],
                ".", ms=2, label="our bid")
        ax.plot(xs, [None if s.ask is None else s.ask / PRICE_SCALE for s in r.samples],
                ".", ms=2, label="our ask")
        fx = [(f.ts_ns - t0) / 1e9 for f in r.fills]
        ax.scatter(fx, [f.price / PRICE_SCALE for f in r.fills], s=12, c=[
            "green" if f.buy else "red" for f in r.fills], label="fills", zorder=3)
        ax.set(title=f"{market}: price and quotes", xlabel="s", ylabel="YES price")
        ax.legend(loc="best", fontsize=8)
        images.append(_save(fig, plt, d / f"{market}-price.png"))
        for key, label, scale, fn in (
            ("inventory", "net position (contracts)", SIZE_SCALE, lambda s: s.net),
            ("pnl", "P&L (USD, marked at mid)", MONEY_SCALE, lambda s: s.pnl),
        ):
            fig, ax = plt.subplots(figsize=(10, 3))
            ax.plot(xs, [fn(s) / scale for s in r.samples], lw=1)
            ax.set(title=f"{market}: {label}", xlabel="s")
            images.append(_save(fig, plt, d / f"{market}-{key}.png"))
        horizons = [1, 5, 10, 30, 60, 120]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(horizons, [_markout(r, h * 1_000_000_000) / MONEY_SCALE for h in horizons], "o-")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(title=f"{market}: markout of all fills", xlabel="horizon (s)", ylabel="USD")
        images.append(_save(fig, plt, d / f"{market}-markouts.png"))
    summ = summarize(result)
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in summ.items())
    imgs = "".join(f'<p><img src="{p.name}" alt="{p.stem}"></p>' for p in images)
    page = d / "index.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
        f"</style></head><body><h1>{html.escape(title)}</h1><table>{rows}</table>{imgs}"
        "</body></html>")
    return page


def _save(fig: Any, plt: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_summary(stats: Mapping[tuple[str, str], Mapping[str, tuple[float, float]]],
                 out_dir: Path) -> list[Path]:
    """One PNG per metric in PLOTTED: a panel per scenario, a bar per config (mean over its
    seeds, the whisker one sd). `stats`: (scenario, config) -> metric -> (mean, sd)."""
    plt = _plt()
    scenarios = list(dict.fromkeys(s for s, _ in stats))
    paths = []
    for metric in PLOTTED:
        fig, axes = plt.subplots(len(scenarios), 1, squeeze=False,
                                 figsize=(8, 1.2 + 0.45 * len(stats)))
        for ax, scenario in zip(axes[:, 0], scenarios):
            bars = [(c, s[metric]) for (sc, c), s in stats.items() if sc == scenario]
            ax.barh([c for c, _ in bars], [m for _, (m, _) in bars],
                    xerr=[sd for _, (_, sd) in bars], color="tab:blue", alpha=0.7)
            ax.axvline(0.0, color="black", linewidth=0.8)
            ax.set_title(f"{scenario}: {metric}, mean +/- sd over seeds", fontsize=9)
            ax.tick_params(labelsize=7)
        paths.append(_save(fig, plt, out_dir / f"summary-{metric}.png"))
    return paths
