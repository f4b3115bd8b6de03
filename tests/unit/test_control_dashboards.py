"""Dashboards and alert rules are consistent with their sources and with the metrics defined."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import common.metrics  # noqa: F401 - registers every metric
from tests.integration.cockpit import dashboard_queries, with_bool

ROOT = Path(__file__).resolve().parents[2]


def _build() -> object:
    spec = importlib.util.spec_from_file_location("grafana_build", ROOT / "deploy/grafana/build.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_checked_in_dashboards_match_the_generator() -> None:
    rendered = _build().render()  # type: ignore[attr-defined]
    assert len(rendered) == 5
    for name, text in rendered.items():
        assert (ROOT / "deploy/grafana/dashboards" / name).read_text() == text, (
            f"{name} is out of date: run `python deploy/grafana/build.py`")


def test_every_series_in_dashboards_and_rules_is_a_defined_metric() -> None:
    defined = {m.name + suffix for m in REGISTRY.collect()
               for suffix in ("", "_total", "_bucket", "_sum", "_count")}
    defined |= {"pmm_program_running", "pmm_program_uptime_seconds", "pmm_program_restarts_total"}
    exprs = [e for _, e in dashboard_queries()]
    exprs += re.findall(r"expr: (.*)", (ROOT / "deploy/prometheus/alerts.yml").read_text())
    used = {n for e in exprs for n in re.findall(r"\bpmm_[a-z_]+", e)}
    assert used, "no pmm series found"
    unknown = used - defined
    assert not unknown, unknown


def test_metric_names_follow_prometheus_conventions() -> None:
    for metric in REGISTRY.collect():
        if not metric.name.startswith("pmm_"):
            continue
        if metric.type == "counter":
            assert not metric.name.endswith("_total")  # the client appends it
        if metric.type == "histogram":
            assert metric.name.endswith(("_seconds", "_per_contract")), metric.name


def test_bool_keeps_quiet_alerts_answering() -> None:
    assert with_bool("max(x) > 0") == "max(x) > bool 0"
    assert with_bool('a{p=~"q.*"} < 1') == 'a{p=~"q.*"} < bool 1'
    doc = json.loads((ROOT / "deploy/grafana/dashboards/pmm-market.json").read_text())
    assert doc["templating"]["list"][0]["name"] == "market"
