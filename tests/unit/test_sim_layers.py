"""The simulator's layers: state, trading logic, per-venue protocols, server.

Each module of services/venue_sim imports only modules of its own layer or below, and a
Polymarket protocol module never a Kalshi one (nor the other way round). That the
simulator never imports our adapters' code is checked with the other layout rules in
test_layout.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "services" / "venue_sim"
PACKAGE = "services.venue_sim"

STATE = {"book", "model", "accounts", "wallets", "ratelimit", "faults", "counters", "ids"}
TRADING = {"ledger", "allowances", "rules", "engine", "markets", "flow", "listing", "lifecycle", "reference",
           "rewards"}
SHARED_PROTOCOL = {"responses", "ratelimit_http", "sim_state", "sim_routes"}
POLYMARKET = {"wire", "signing", "rest", "trading", "ws", "pm_feed", "gamma", "pm_rewards"}
KALSHI = {"kalshi_wire", "kalshi_requests", "kalshi_keys", "kalshi_http", "kalshi",
          "kalshi_groups", "kalshi_routes", "kalshi_ws_subs", "kalshi_ws_commands", "kalshi_ws",
          "kalshi_incentives"}
SERVER = {"venue", "server", "__main__", "__init__"}
LAYERS = [STATE, TRADING, SHARED_PROTOCOL | POLYMARKET | KALSHI, SERVER]


def layer_of(module: str) -> int:
    for rank, members in enumerate(LAYERS):
        if module in members:
            return rank
    raise AssertionError(f"services/venue_sim/{module}.py has no layer: add it to {__file__}")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (TYPE_CHECKING and function-local too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


MODULES = sorted(p.stem for p in SIM.glob("*.py"))


def sim_imports(module: str) -> set[str]:
    """The simulator modules `module` imports (`from services.venue_sim import wire` too)."""
    names = imports_of(SIM / f"{module}.py")
    return {n.removeprefix(PACKAGE + ".").split(".")[0] for n in names
            if n.startswith(PACKAGE + ".")} & set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_down_the_layers(module: str) -> None:
    rank = layer_of(module)
    above = {m for m in sim_imports(module) if layer_of(m) > rank}
    assert not above, f"{module} (layer {rank}) imports modules above it: {sorted(above)}"


@pytest.mark.parametrize("module", sorted(POLYMARKET | KALSHI))
def test_venue_protocols_are_independent(module: str) -> None:
    other = KALSHI if module in POLYMARKET else POLYMARKET
    crossing = sim_imports(module) & other
    assert not crossing, f"{module} imports the other venue's protocol: {sorted(crossing)}"


def test_no_private_names_cross_modules() -> None:
    for module in MODULES:
        for node in ast.walk(ast.parse((SIM / f"{module}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("services."):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{module} imports private names {private} of {node.module}"
