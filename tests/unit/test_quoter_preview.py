"""`pmm preview` end to end through the CLI entry point, and the presets that feed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common import config
from services.control.cli import main

ROOT = Path(__file__).resolve().parents[2]
PRESETS = sorted((ROOT / "deploy" / "presets").glob("*.toml"))
FLAT = {"tick": 0.01, "bids": [[0.49, 100]], "asks": [[0.51, 100]]}


def write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_every_preset_loads_and_quotes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {p.stem for p in PRESETS} == {"conservative", "aggressive", "high-frequency", "scalping",
                                         "informed-flow", "habits"}
    for preset in PRESETS:
        cfg = config.load(preset)
        assert cfg.quoting != config.QuotingConfig()
        assert main(["preview", "--config", str(preset), "--book", write(tmp_path, FLAT), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["bids"] and doc["asks"], preset.name


def test_preview_json_worked_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path, FLAT)
    assert main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--book", book, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "fair_value": 0.5,
        "bids": [{"price": 0.48, "size": 50.0}],
        "asks": [{"price": 0.52, "size": 50.0}],
    }
    assert main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--book", book,
                 "--position", "50", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # Long 50 of 500 at the defaults (1.75c, exact skew 1): the centre moves 1 * 0.1 * 2 *
    # 1.75c = 0.35c down. The bid (47.9) drops a tick, the ask (51.4) stays at 52; the bid
    # shrinks to 90%.
    assert doc["bids"] == [{"price": 0.47, "size": 45.0}]
    assert doc["asks"] == [{"price": 0.52, "size": 50.0}]
    # The habits preset (skew 0.5 in whole ticks) moves both sides a tick.
    assert main(["preview", "--config", str(ROOT / "deploy/presets/habits.toml"), "--book", book,
                 "--position", "25", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["bids"] == [{"price": 0.47, "size": 47.5}]
    assert doc["asks"] == [{"price": 0.51, "size": 50.0}]


def test_preview_table_and_market(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path, {"tick": 0.01, "bids": [[0.34, 100], [0.33, 100]], "asks": [[0.36, 100]]})
    assert main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--market", "fed-cut-dec",
                 "--book", book]) == 0
    out = capsys.readouterr().out
    assert "fair value" in out and "bid" in out and "ask" in out


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"tick": 0.01, "bids": [[1.2, 10]], "asks": [[0.51, 10]]}, "bids[0]"),
        ({"tick": 0.01, "bids": [[0.49, -1]], "asks": [[0.51, 10]]}, "size"),
        ({"tick": 0.01, "bids": [[0.495, 10]], "asks": [[0.51, 10]]}, "tick grid"),
        ({"tick": 0.01, "bids": [["x", 10]], "asks": [[0.51, 10]]}, "bids[0]"),
        ({"tick": 0.01, "bids": [[0.49, 10]]}, "`asks`"),
        ({"tick": 0.01, "bids": [[0.52, 10]], "asks": [[0.51, 10]]}, "crossed"),
        ({"tick": 0.5, "bids": [], "asks": []}, "`tick`"),
        ({"tick": 0.01, "bids": [0.49], "asks": [[0.51, 10]]}, "bids[0]"),
        ({"tick": 0.01, "bids": [[0.49, 10]], "asks": [[0.51, 10]], "depth": 3}, "depth"),
    ],
)
def test_bad_book_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: object, message: str
) -> None:
    rc = main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--book", write(tmp_path, doc)])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_out_of_range_position_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write(tmp_path, FLAT)
    for bad in ("2e6", "nan", "-inf"):
        assert main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--book", book,
                     f"--position={bad}"]) == 2
        assert "--position must lie in" in capsys.readouterr().err


def test_missing_book_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["preview", "--config", str(ROOT / "deploy/demo.toml"), "--book", str(tmp_path / "no.json")])
    assert rc == 2 and "cannot read book" in capsys.readouterr().err
