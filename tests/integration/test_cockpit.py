"""The operator's cockpit against one running stack: Prometheus over every dashboard and alert
expression, then every `pmm` command and its error paths, then `pmm status --watch` in a pty.

One stack serves the module (stack starts are slow on 2 cores); tests run in file order and
each says what it leaves behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator

import pytest

from common import overlay
from tests.integration.cockpit import Prometheus, dashboard_queries, ensure_prometheus, with_bool
from tests.integration.stack import ROOT, Stack, running
from tests.support.wait import eventually

pytestmark = pytest.mark.integration
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running() as s:
        yield s


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[Prometheus]:
    why = ensure_prometheus()
    if why:
        pytest.skip(f"PROMETHEUS NOT AVAILABLE, dashboards and alerts NOT CHECKED: {why}")
    p = Prometheus(stack.exporter_port)
    try:
        yield p
    finally:
        p.close()


def test_promtool_accepts_the_config_and_the_rules(prometheus: Prometheus) -> None:
    for args in (["check", "config", str(ROOT / "deploy/prometheus/prometheus.yml")],
                 ["check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")]):
        proc = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_dashboard_and_alert_expression_returns_data(stack: Stack, prometheus: Prometheus) -> None:
    t0 = time.monotonic()
    eventually(lambda: stack.sim_fill_count() > 0, timeout=90, what="a fill at the simulator")
    rules = eventually(lambda: [r for r in prometheus.rules() if r.get("health") == "ok"]
                       and prometheus.rules(), timeout=20, what="rules evaluated")
    assert len(rules) >= 7
    assert {r["name"] for r in rules} >= {
        "PmmKillSwitchActive", "PmmMarketHalted", "PmmFeedStale", "PmmQuoterDown",
        "PmmLossNearLimit", "PmmTickToOrderP99High", "PmmReconnectStorm"}
    checks = dashboard_queries() + [(f"alert {r['name']}", with_bool(r["query"])) for r in rules]
    assert len(checks) > 60
    missing: list[str] = []
    deadline = time.monotonic() + 60
    for where, expr in checks:
        while not prometheus.query(expr) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not prometheus.query(expr):
            missing.append(f"{where}: {expr}")
    assert not missing, "expressions without data:\n" + "\n".join(missing)
    for r in rules:
        assert r["health"] == "ok", r
    print(f"{len(checks)} expressions return data, {time.monotonic() - t0:.0f}s after the stack was up")


def test_kill_fires_its_alert(stack: Stack, prometheus: Prometheus) -> None:
    stack.pmm("kill", "--reason", "alert test")
    try:
        eventually(lambda: any(r["name"] == "PmmKillSwitchActive" and r["state"] == "firing"
                               for r in prometheus.rules()), timeout=20, what="kill alert firing")
    finally:
        stack.pmm("reset")


# --- the CLI -----------------------------------------------------------------------------


def test_status_of_one_market_as_table_and_json(stack: Stack) -> None:
    doc = json.loads(stack.pmm("status", "fed-cut-dec", "--json").stdout)
    assert [m["id"] for m in doc["markets"]] == ["fed-cut-dec"]
    assert {"kill", "markets"} <= set(doc) and {"fair_value", "skew", "avg_price"} <= set(doc["markets"][0])
    out = stack.pmm("status", "fed-cut-dec").stdout
    assert "fed-cut-dec" in out and "btc-150k" not in out and "realized$" in out


def test_status_of_an_unknown_market_says_what_to_do(stack: Stack) -> None:
    proc = stack.pmm("status", "no-such-market", check=False)
    assert proc.returncode == 2
    assert "unknown market 'no-such-market'" in proc.stderr and "pmm list" in proc.stderr


def test_list(stack: Stack) -> None:
    rows = json.loads(stack.pmm("list", "--json").stdout)
    assert [r["id"] for r in rows] == [m.id for m in stack.cfg.markets]
    assert "fed-cut-dec" in stack.pmm("list").stdout


def test_config_view_and_change_survive_in_the_overlay(stack: Stack) -> None:
    view = json.loads(stack.pmm("config", "fed-cut-dec").stdout)
    assert view["spread"] == 0.0175 and view["max_loss_usd"] == 100.0 and view["fv_method"] == "mid_price"
    changed = json.loads(stack.pmm("config", "fed-cut-dec", "--spread", "0.03", "--size", "20").stdout)
    assert changed["spread"] == 0.03 and changed["size"] == 20.0
    ov = overlay.load(stack.run_dir)
    assert ov.overrides["fed-cut-dec"] == {"spread": 0.03, "size": 20.0}
    assert json.loads(stack.pmm("config", "fed-cut-dec").stdout)["spread"] == 0.03


def test_config_errors_name_the_flag_and_range(stack: Stack) -> None:
    proc = stack.pmm("config", "fed-cut-dec", "--spread", "0.7", check=False)
    assert proc.returncode == 2 and "--spread 0.7" in proc.stderr and "<= 0.5" in proc.stderr
    proc = stack.pmm("config", "fed-cut-dec", "--alpha", "0", check=False)
    assert proc.returncode == 2 and "--alpha" in proc.stderr and "> 0" in proc.stderr
    proc = stack.pmm("config", "nope", "--spread", "0.03", check=False)
    assert proc.returncode == 2 and "unknown market 'nope'" in proc.stderr
    assert overlay.load(stack.run_dir).overrides["fed-cut-dec"]["spread"] == 0.03  # unchanged


def test_pause_resume_and_flatten(stack: Stack) -> None:
    stack.pmm("pause")
    eventually(lambda: stack.status()["paused"] is True, timeout=5, what="paused")
    stack.pmm("resume")
    eventually(lambda: stack.status()["paused"] is False, timeout=5, what="resumed")
    out = stack.pmm("flatten", "--market", "fed-cut-dec").stdout
    assert out.startswith("risk") and "NO ANSWER" not in out
    proc = stack.pmm("flatten", "--market", "nope", check=False)
    assert proc.returncode == 2 and "unknown market" in proc.stderr


def test_stop_then_start_a_market(stack: Stack) -> None:
    btc = stack.cfg.market("btc-150k")
    stack.pmm("stop", "btc-150k", timeout=120)
    assert "btc-150k" not in [r["id"] for r in json.loads(stack.pmm("list", "--json").stdout)]
    eventually(lambda: stack.open_orders_by_market()["btc-150k"] == 0, timeout=20,
               what="no btc-150k orders left")
    eventually(lambda: "btc-150k" not in [m["id"] for m in stack.status()["markets"]], timeout=10)
    # Risk journals positions under the id: another id would start flat while the venue holds
    # the position, and the position check would halt it. So the old id is required.
    proc = stack.pmm("start", "polymarket", btc.venue_market, btc.yes_token, "--id", "btc-again",
                     check=False)
    assert proc.returncode == 2 and "was stopped as 'btc-150k'" in proc.stderr, proc.stderr
    out = stack.pmm("start", "polymarket", btc.venue_market, btc.yes_token, "--spread", "0.03",
                    timeout=120).stdout
    assert out.strip() == "btc-150k"
    assert json.loads(stack.pmm("config", "btc-150k").stdout)["spread"] == 0.03
    eventually(lambda: stack.open_orders_by_market()["btc-150k"] > 0, timeout=40,
               what="the restarted market is quoted")
    eventually(lambda: "btc-150k" in [m["id"] for m in stack.status()["markets"]], timeout=10)
    # Its journal carried over: the position checks at the restart (one at the executor's
    # start, one after its replay) find no difference, so it is not halted.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        btc_row = {m["id"]: m for m in stack.status()["markets"]}["btc-150k"]
        assert not btc_row["halted"], btc_row.get("halt_reason")
        time.sleep(0.25)


def test_start_errors(stack: Stack) -> None:
    proc = stack.pmm("start", "polymarket", "0xdeadbeef", "123", check=False)
    assert proc.returncode == 2 and "unknown market '0xdeadbeef'" in proc.stderr
    fed = stack.cfg.market("fed-cut-dec")
    proc = stack.pmm("start", "polymarket", fed.venue_market, fed.yes_token, check=False)
    assert proc.returncode == 2 and "already running" in proc.stderr
    btc = stack.cfg.market("eu-election")
    proc = stack.pmm("start", "polymarket", btc.venue_market, "999", check=False)
    assert proc.returncode == 2 and "is not a token of market" in proc.stderr


def test_status_watch_redraws_in_place_in_a_terminal(stack: Stack) -> None:
    main_fd, sub_fd = pty.openpty()
    fcntl.ioctl(sub_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))  # rows, cols
    cmd = [sys.executable, "-m", "services.control.cli", "status", "--watch", "--interval", "0.3",
           "--count", "3", "--config", str(stack.config_path)]
    proc = subprocess.Popen(cmd, stdin=sub_fd, stdout=sub_fd, stderr=sub_fd, cwd=stack.dir,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"})
    os.close(sub_fd)
    chunks = []
    try:
        while True:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=30) == 0
    finally:
        os.close(main_fd)
    screen = b"".join(chunks).decode(errors="replace")
    (stack.dir / "status-watch.txt").write_text(screen)
    assert "\x1b[1A" in screen and "\x1b[2K" in screen, "redrawn in place (cursor up, erase)"
    assert "\x1b[1m" in screen, "a bold header in a terminal"
    plain = ANSI.sub("", screen)
    assert all(f"refresh {k}" in plain for k in (1, 2, 3))
    last = plain[plain.rindex("refresh 3"):]
    print("\n" + last)
    assert "fed-cut-dec" in last and "kill switch: off" in last and "programs: " in last
    assert re.search(r"fed-cut-dec\s+0\.\d+\s+0\.\d+/0\.\d+", last), "fair value and book shown"
    assert max(len(line) for line in last.splitlines()) <= 140, "wider than the terminal"


def test_down_then_every_command_says_the_stack_is_not_running(stack: Stack) -> None:
    stack.pmm("down")
    for args, needle in ((["status"], "pmm up"), (["status", "--json"], "pmm up"),
                         (["stop", "fed-cut-dec"], "pmm up"),
                         (["start", "polymarket", "0x1", "2"], "pmm up"),
                         (["down"], "nothing to stop")):
        proc = stack.pmm(*args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr, (args, proc.stderr)
    # A config change with the stack down is kept for the next `pmm up`.
    proc = stack.pmm("config", "fed-cut-dec", "--skew", "0.7")
    assert "next `pmm up`" in proc.stderr
    assert overlay.load(stack.run_dir).overrides["fed-cut-dec"]["skew"] == 0.7
