"""The venues' own field sets, by message type name (see census_map.py for the names).

Kalshi's come from kalshi-python-sync's pydantic models, dumped at test time by
census_kalshi_dump.py under the Python 3.13 environment `.venv-kalshi` (the SDK needs
3.13; scripts/bootstrap.sh builds it). The rest come from the data files under
schemas/, each entry naming its official source.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conformance.census_reads import ROOT

HERE = Path(__file__).resolve().parent
KALSHI_PYTHON = ROOT / ".venv-kalshi" / "bin" / "python"
DUMP_SCRIPT = HERE / "census_kalshi_dump.py"
SCHEMA_FILES = ("polymarket_rest.json", "census_ws.json", "census_rest_docs.json")
KALSHI_SDK_VERSION = "3.34.0"


class CensusError(Exception):
    """The official field sets cannot be read, or a message type name is unknown."""


def kalshi_dump(python: Path = KALSHI_PYTHON) -> dict[str, Any]:
    """Run the dump script in the SDK's own environment and return its JSON."""
    if not python.exists():
        raise CensusError(
            f"{python} is missing: the census reads Kalshi's field sets from kalshi-python-sync "
            f"{KALSHI_SDK_VERSION} in a Python 3.13 venv (scripts/bootstrap.sh builds it)")
    done = subprocess.run([str(python), str(DUMP_SCRIPT)], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise CensusError(f"{DUMP_SCRIPT.name} failed: {done.stderr.strip()[-500:]}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def schema_messages(files: tuple[str, ...] = SCHEMA_FILES) -> dict[str, dict[str, Any]]:
    """Every `messages` entry of the schema data files, by name (a name defined twice fails)."""
    out: dict[str, dict[str, Any]] = {}
    for name in files:
        for key, entry in json.loads((HERE / "schemas" / name).read_text())["messages"].items():
            if key in out:
                raise CensusError(f"message type {key!r} defined twice ({name})")
            out[key] = entry
    return out


class Official:
    """Resolves a message type name to the set of wire keys the venue defines for it."""

    def __init__(self, kalshi: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
        self._models: dict[str, Any] = kalshi["models"]
        self._endpoints: dict[str, dict[str, str | None]] = kalshi["endpoints"]
        self._schemas = schemas

    def fields(self, name: str) -> frozenset[str]:
        """The wire keys of message type `name`; raise CensusError if the name is unknown."""
        if name.startswith("kalshi:"):
            return self._kalshi(name.removeprefix("kalshi:"))
        entry = self._schemas.get(name)
        if entry is None:
            raise CensusError(f"unknown message type {name!r}")
        return frozenset(entry["fields"])

    def _kalshi(self, spec: str) -> frozenset[str]:
        if " " not in spec:
            return self._model(spec)
        method, rest = spec.split(" ", 1)
        path, _, field = rest.partition(" .")
        statuses = self._endpoints.get(f"{method} {path}")
        if statuses is None:
            raise CensusError(f"kalshi-python-sync has no endpoint {method} {path}")
        ok = [model for code, model in sorted(statuses.items()) if code.startswith("2")]
        model = ok[0] if ok else None
        if model is None or model == "object":
            return frozenset()  # answers with no body (204) or an untyped one: no fields
        if not field:
            return self._model(model)
        ref = self._models[model]["refs"].get(field)
        if ref is None:
            raise CensusError(f"{model}.{field} is not a nested model in kalshi-python-sync")
        return self._model(ref)

    def _model(self, model: str) -> frozenset[str]:
        entry = self._models.get(model)
        if entry is None:
            raise CensusError(f"kalshi-python-sync has no model {model!r}")
        return frozenset(entry["fields"])

    def describe(self, name: str) -> str:
        """Where a message type's field set comes from (for failure messages)."""
        if name.startswith("kalshi:"):
            return f"kalshi-python-sync {KALSHI_SDK_VERSION} ({name.removeprefix('kalshi:')})"
        return str(self._schemas.get(name, {}).get("source", "?"))
