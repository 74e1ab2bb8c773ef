"""Typed settings (settings.py): parsed once from the validated config, the schema's defaults the
only defaults, one serialized form, and `--set key.sub=value` overrides typed by the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from trt_plugin_bench.cli import main
from trt_plugin_bench.config import ConfigError, apply_overrides, load_config, schema_defaults
from trt_plugin_bench.settings import Settings, TimingSettings
from trt_plugin_bench.stats import StoppingRule

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "configs" / "small.yaml"


def test_stopping_rule_defaults_are_the_schemas() -> None:
    timing = schema_defaults("timing")
    rule = StoppingRule()
    for f in ("target_rse", "min_samples", "max_samples", "max_time_s", "warmup_min", "warmup_time_s"):
        assert getattr(rule, f) == timing[f], f


def test_nested_overrides_arrive_typed() -> None:
    cfg = load_config(SMALL, ["timing.max_time_s=0.5", "timing.repeats=3", "timing.pin_cpu=false",
                              "timing.modes=[warm]", "threads.counts=[1, 4]"])
    s = Settings.from_config(cfg)
    assert s.timing.max_time_s == 0.5 and isinstance(s.timing.max_time_s, float)
    assert s.timing.repeats == 3 and s.timing.pin_cpu is False and s.timing.modes == ("warm",)
    assert s.threads.counts == (1, 4)
    assert StoppingRule.from_config(s.timing).max_time_s == 0.5
    assert load_config(SMALL)["timing"]["max_time_s"] == 0.02, "the file itself is untouched"


@pytest.mark.parametrize("override, words", [
    ("timing.max_time_s=fast", ["timing.max_time_s", "number"]),
    ("timing.no_such_key=1", ["no_such_key", "allowed keys"]),
    ("timing=", ["timing", "object"]),
    ("max_time_s", ["KEY.SUBKEY=VALUE"]),
    ("backend.x=1", ["'backend' is not a section"]),
])
def test_a_bad_override_names_the_key(override: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(SMALL, [override])
    for w in words:
        assert w in str(err.value)


def test_one_serialized_form_round_trips_and_refuses_unknown_keys() -> None:
    s = Settings.from_config(load_config(SMALL))
    assert Settings.from_json(s.to_json()) == s
    partial = Settings.from_json('{"timing": {"modes": ["warm"], "verify_max_elements": 7}}')  # the rest: the schema's
    assert partial.timing == TimingSettings(**{**schema_defaults("timing"), "modes": ("warm",), "verify_max_elements": 7})
    assert partial.threads is None
    with pytest.raises(ConfigError, match="needs the config section 'threads'"):
        partial.need("threads")
    with pytest.raises(ConfigError, match=r"'timing': unknown key\(s\) max_tim_s"):
        Settings.from_json('{"timing": {"modes": ["warm"], "max_tim_s": 1}}')
    with pytest.raises(ConfigError, match=r"'timing': missing key\(s\) modes"):
        Settings.from_json('{"timing": {}}')


def test_apply_overrides_copies() -> None:
    raw = {"timing": {"max_time_s": 0.1}}
    assert apply_overrides(raw, ["timing.max_time_s=0.5"]) == {"timing": {"max_time_s": 0.5}}
    assert raw == {"timing": {"max_time_s": 0.1}}


def test_tpb_check_config_takes_overrides(capsys: pytest.CaptureFixture) -> None:
    assert main(["check-config", str(SMALL), "--set", "timing.max_time_s=0.5", "--print"]) == 0
    out = capsys.readouterr().out
    assert '"max_time_s": 0.5' in out and "valid (with timing.max_time_s=0.5)" in out
    assert main(["check-config", str(SMALL), "--set", "timing.max_time_s=fast"]) == 2
    assert "timing.max_time_s" in capsys.readouterr().err
