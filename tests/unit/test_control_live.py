"""The live view (services/control/live.py), the program lines (render.py, programs.py)
and config paths resolved against the config file (common/config.load)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

from common.config import load
from services.control import live, programs, render

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def doc(**over: Any) -> dict[str, Any]:
    market = {"id": "a-very-long-market-name-that-will-not-fit", "fair_value": 0.5,
              "book_bid": 0.49, "book_ask": 0.51, "bid": 0.48, "ask": 0.52, "net_position": 10.0,
              "realized_pnl_usd": 1.0, "marked_pnl_usd": -0.5, "open_orders": 2, "fills": 3,
              "halted": False, "halt_reason": "", "stale": False, "position_yes": 10.0,
              "position_no": 0.0, "avg_price": 0.5, "skew": 0.1}
    base: dict[str, Any] = {
        "markets": [market, {**market, "id": "halted-one", "halted": True,
                             "halt_reason": "position_mismatch"}],
        "kill": {"active": True, "reason": "operator"}, "paused": False, "total_pnl_usd": 0.5,
        "processes": {"risk": {"role": "risk", "alive": True}},
        "programs": [
            {"name": "risk", "state": "RUNNING", "pid": 1, "uptime_s": 125, "restarts": 0,
             "impact": ""},
            {"name": "quoter-1", "state": "RUNNING", "pid": 2, "uptime_s": 3, "restarts": 2,
             "impact": ""},
            {"name": "exporter", "state": "STOPPED", "pid": 0, "uptime_s": 0, "restarts": 0,
             "impact": programs.impact("exporter")},
        ],
    }
    return base | over


def test_on_a_terminal_the_view_redraws_in_place_fits_the_width_and_colours() -> None:
    out = io.StringIO()
    with live.Watch(out, terminal=True, width=72) as watch:
        watch.show(doc(), "frame one")
        watch.show(doc(), "frame two")
    text = out.getvalue()
    assert "\x1b[1A" in text or "\x1b[2K" in text, "no cursor movement: not redrawn in place"
    assert "\x1b[31m" in text or "\x1b[1;31m" in text, "nothing coloured red (halted, kill)"
    plain = ANSI.sub("", text)
    assert "frame two" in plain and "HALTED position_mis" in plain
    assert "(2 restarts)" in plain
    assert max(len(line) for line in plain.splitlines()) <= 72, "wider than the terminal"
    assert "exporter is STOPPED: no metrics" in plain and "pmm reset" in plain


def test_off_a_terminal_frames_are_appended_as_plain_text() -> None:
    out = io.StringIO()
    with live.Watch(out, terminal=False) as watch:
        watch.show(doc(), "frame one")
        watch.show(None, "frame two", "(the stack does not answer)")
    text = out.getvalue()
    assert "\x1b" not in text
    assert text.index("frame one") < text.index("frame two")
    assert "the stack does not answer" in text
    for terminal in (False, True):  # `pmm status <id> --watch`: the detail under the table
        out = io.StringIO()
        with live.Watch(out, terminal=terminal, width=120) as watch:
            watch.show(doc(), "one market", extra="hedge analysis: flat, nothing to hedge")
        assert "hedge analysis: flat" in ANSI.sub("", out.getvalue())


def test_program_lines_name_uptime_restarts_and_the_cost_of_a_stopped_one() -> None:
    lines = render.programs(doc())
    assert lines[0] == ("programs: risk 2m05s, quoter-1 3s (2 restarts), exporter STOPPED")
    assert lines[1] == "  exporter is STOPPED: no metrics: dashboards and alerts go blind"
    silent = render.programs(doc(processes={"risk": {"role": "risk", "alive": False}}))
    assert any("risk is RUNNING but silent" in ln and "nothing quotes" in ln for ln in silent)
    # no supervisord in the document: the heartbeat view, as before
    old = render.programs(doc(programs=[]))
    assert old == ["processes alive: risk"]


@pytest.mark.parametrize(("seconds", "text"), [(3, "3s"), (125, "2m05s"), (7_380, "2h03m"),
                                               (273_600, "3d04h")])
def test_durations(seconds: int, text: str) -> None:
    assert render.duration(seconds) == text


def test_restarts_are_spawns_after_the_first_since_supervisord_started() -> None:
    log = "\n".join([
        "2026-12-06 INFO supervisord started with pid 1",
        "INFO spawned: 'risk' with pid 10", "INFO spawned: 'quoter-0' with pid 11",
        "INFO spawned: 'quoter-0' with pid 12", "INFO spawned: 'quoter-0' with pid 13",
        "2026-12-06 INFO supervisord started with pid 2",  # pmm down, pmm up: counts anew
        "INFO spawned: 'risk' with pid 20", "INFO spawned: 'quoter-0' with pid 21",
        "INFO spawned: 'quoter-0' with pid 22",
    ])
    assert programs.restarts_from_log(log) == {"risk": 0, "quoter-0": 1}
    assert all(programs.impact(n) for n in ("risk", "executor-kalshi", "ingest-polymarket",
                                            "quoter-3", "control", "exporter", "venue_sim",
                                            "reference"))


def test_relative_paths_in_a_config_are_the_files_own(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    conf_dir = tmp_path / "deploy"
    conf_dir.mkdir()
    (conf_dir / "c.toml").write_text('[stack]\nrun_dir = "../.pmm/x"\n'
                                     '[bus.curve]\nkeys_dir = "keys"\n')
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = load(Path(os.path.relpath(conf_dir / "c.toml")))
    assert cfg.run_dir == tmp_path / ".pmm" / "x"
    assert cfg.bus.curve.keys_dir == str(conf_dir / "keys")
    (conf_dir / "abs.toml").write_text(f'[stack]\nrun_dir = "{tmp_path}/abs"\n')
    assert load(conf_dir / "abs.toml").run_dir == tmp_path / "abs"


def test_up_refuses_a_journal_left_where_a_relative_run_dir_used_to_point(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.control import stack

    conf = tmp_path / "deploy" / "c.toml"
    conf.parent.mkdir()
    conf.write_text('[stack]\nrun_dir = ".pmm/x"\n[risk]\njournal = "j/risk.sqlite"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load(conf)
    assert cfg.risk.journal == str(tmp_path / "deploy" / "j" / "risk.sqlite")
    stack.refuse_a_moved_journal(cfg, conf)  # nothing anywhere: a first start
    old = tmp_path / ".pmm" / "x"  # where the CLI resolved it, run from tmp_path
    old.mkdir(parents=True)
    (old / "journal.sqlite").write_bytes(b"")
    with pytest.raises(stack.StackError, match=r"mv .*\.pmm/x .*deploy/\.pmm/x"):
        stack.refuse_a_moved_journal(cfg, conf)
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "journal.sqlite").write_bytes(b"")  # moved: the new one wins
    stack.refuse_a_moved_journal(cfg, conf)


def test_the_log_is_read_from_where_the_last_frame_stopped(tmp_path: Path) -> None:
    log = tmp_path / "supervisord.log"
    log.write_text("INFO supervisord started with pid 1\nINFO spawned: 'risk' with pid 2\n")
    tail = programs._LogTail()
    assert tail.restarts(log) == {"risk": 0}
    with log.open("a") as f:
        f.write("INFO spawned: 'risk' with pid 3\nINFO spawned: 'risk' wi")  # half a line
    assert tail.restarts(log) == {"risk": 1} and tail.offset < log.stat().st_size
    with log.open("a") as f:
        f.write("th pid 4\n")
    assert tail.restarts(log) == {"risk": 2}
    log.write_text("INFO spawned: 'risk' with pid 5\n")  # rotated: a new, shorter file
    assert tail.restarts(log) == {"risk": 0}
