from pathlib import Path

import pytest

from common import config
from common.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MARKET = """
[[markets]]
id = "m1"
venue = "polymarket"
venue_market = "0xabc"
yes_token = "1"
no_token = "2"
"""


def test_demo_config_loads_with_four_markets() -> None:
    cfg = config.load(ROOT / "deploy" / "demo.toml")
    assert len(cfg.markets) >= 4
    assert cfg.stack.quoters == 2
    assert {m.venue for m in cfg.markets} == {"polymarket"}


def test_unknown_key_is_an_error_naming_the_path() -> None:
    with pytest.raises(ConfigError, match=r"\$\.quoting.*sprad|sprad.*\$\.quoting"):
        config.parse("[quoting]\nsprad = 0.02\n")


def test_out_of_range_value_names_field_and_range() -> None:
    with pytest.raises(ConfigError) as err:
        config.parse("[quoting]\nspread = 0.7\n")
    assert "$.quoting.spread" in str(err.value)
    assert "0.5" in str(err.value)


def test_wrong_type_names_field() -> None:
    with pytest.raises(ConfigError, match=r"\$\.stack\.quoters"):
        config.parse('[stack]\nquoters = "two"\n')


def test_spread_outside_its_bounds_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_spread"):
        config.parse("[quoting]\nspread = 0.005\nmin_spread = 0.01\n")


def test_market_override_merges_onto_defaults_and_is_validated() -> None:
    cfg = config.parse("[quoting]\nsize = 10\n" + MARKET + "quoting = {spread = 0.03}\n")
    q = cfg.quoting_for(cfg.markets[0])
    assert q.spread == 0.03 and q.size == 10
    with pytest.raises(ConfigError, match="m1"):
        config.parse(MARKET + "quoting = {spread = 2.0}\n")


def test_duplicate_market_ids_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate market id"):
        config.parse(MARKET + MARKET)


def test_polymarket_market_needs_tokens() -> None:
    with pytest.raises(ConfigError, match="yes_token"):
        config.parse('[[markets]]\nid = "x"\nvenue = "polymarket"\nvenue_market = "0x1"\n')


def test_unknown_market_lookup_lists_known_ones() -> None:
    cfg = config.parse(MARKET)
    with pytest.raises(ConfigError, match="configured markets: m1"):
        cfg.market("nope")


def test_endpoints_default_to_ipc_in_run_dir_and_honour_overrides() -> None:
    cfg = config.parse('[stack]\nrun_dir = "/tmp/pmmx"\n[bus]\nintents = "tcp://127.0.0.1:5555"\n')
    assert config.endpoint(cfg, "md", "polymarket") == "ipc:///tmp/pmmx/md-polymarket.sock"
    assert config.endpoint(cfg, "intents") == "tcp://127.0.0.1:5555"


def test_invalid_toml_is_reported() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.parse("[stack\n")


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        config.load(tmp_path / "nope.toml")
