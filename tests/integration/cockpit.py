"""Helpers for the cockpit tests: a throwaway Prometheus server and the queries to check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.integration.stack import ROOT
from tests.support.net import free_port
from tests.support.wait import eventually

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
_COMPARISON = re.compile(r"\s(>=|<=|==|!=|>|<)\s")


def ensure_prometheus() -> str | None:
    """Install Debian's prometheus if needed; return why it is impossible, or None."""
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_prometheus.sh")],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode == 3:
        return proc.stderr.strip()
    if proc.returncode != 0:
        raise AssertionError(f"ensure_prometheus.sh failed ({proc.returncode}): {proc.stderr}")
    return None


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every target of every provisioned dashboard, variables expanded."""
    out = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        for panel in doc["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$market", ".*")
                out.append((f"{path.name}: {panel['title']}", expr))
    return out


def with_bool(expr: str) -> str:
    """Make every comparison return 0/1 instead of filtering, so a quiet alert still has data."""
    return _COMPARISON.sub(lambda m: f" {m.group(1)} bool ", expr)


class Prometheus:
    """A Prometheus server on a free loopback port scraping one exporter, data in a tmp dir."""

    def __init__(self, exporter_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pmm-prom-", dir="/tmp"))
        self.port = free_port()
        shutil.copy(PROMETHEUS_DIR / "alerts.yml", self.dir / "alerts.yml")
        text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
        text = text.replace("127.0.0.1:9464", f"127.0.0.1:{exporter_port}")
        text = re.sub(r"(scrape|evaluation)_interval: \d+s", r"\1_interval: 1s", text)
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(text)
        self.log = (self.dir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        eventually(self._ready, timeout=30, what="prometheus ready")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {(self.dir / 'prometheus.log').read_text()}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"query failed: {expr}: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def rules(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/rules", timeout=5)
        return [rule for g in r.json()["data"]["groups"] for rule in g["rules"]]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
