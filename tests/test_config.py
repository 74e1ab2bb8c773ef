"""Config validation: every bad input stops the run before any work, naming the key and the allowed values."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from trt_plugin_bench.core.config import ConfigError, load_config, resolve_tracking_uri, validate_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def good() -> dict:
    return yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())


def error_of(cfg: dict) -> str:
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    return str(info.value)


def test_default_and_small_configs_are_valid(good: dict) -> None:
    assert load_config(ROOT / "config.yaml")["backend"] == "auto"
    cfg = validate_config(good)
    assert cfg["timing"]["verify_max_elements"] == 67108864  # schema default filled in
    assert cfg["threads"]["iterations"] == 5


def test_unknown_top_level_key_names_key_and_allowed(good: dict) -> None:
    good["operatorz"] = ["relu"]
    msg = error_of(good)
    assert "operatorz" in msg and "allowed keys" in msg and "operators" in msg


def test_unknown_nested_key(good: dict) -> None:
    good["timing"]["mode"] = ["warm"]
    msg = error_of(good)
    assert "'mode'" in msg or "mode" in msg
    assert "timing" in msg and "modes" in msg


def test_negative_dim(good: dict) -> None:
    good["profiles"]["tiny"]["min"] = [-1, 256]
    msg = error_of(good)
    assert "profiles.tiny.min[0]" in msg and "minimum 0" in msg


def test_shape_outside_profile(good: dict) -> None:
    good["profiles"]["tiny"]["shapes"].append([65, 256])
    msg = error_of(good)
    assert "profiles.tiny.shapes[3]" in msg and "outside" in msg and "max [64, 256]" in msg


def test_unknown_operator_lists_allowed_values(good: dict) -> None:
    good["operators"] = ["relu", "swsh"]
    msg = error_of(good)
    assert "operators[1]" in msg and "'swsh'" in msg
    for allowed in ("relu", "swish_native", "swish_plugin", "swish_plugin_naive", "swish_plugin_v3"):
        assert allowed in msg


def test_unknown_backend_and_dtype(good: dict) -> None:
    bad = copy.deepcopy(good)
    bad["backend"] = "onnxruntime"
    bad["dtypes"] = ["int8"]
    msg = error_of(bad)
    assert "backend" in msg and "auto, tensorrt, reference" in msg
    assert "dtypes[0]" in msg and "fp32, fp16, bf16" in msg


def test_profile_rank_and_order(good: dict) -> None:
    bad = copy.deepcopy(good)
    bad["profiles"]["tiny"]["max"] = [64, 256, 1]
    assert "rank 3 differs from opt's rank 2" in error_of(bad)
    bad = copy.deepcopy(good)
    bad["profiles"]["tiny"]["opt"] = [128, 256]
    assert "min <= opt <= max" in error_of(bad)


def test_threads_and_profile_references(good: dict) -> None:
    bad = copy.deepcopy(good)
    bad["threads"]["profile"] = "huge"
    assert "threads.profile" in error_of(bad) and "tiny" in error_of(bad)
    bad = copy.deepcopy(good)
    bad["profile"] = {"enabled": True, "operator": "swish_plugin", "dtype": "fp32", "profile": "tiny", "shape": [1000, 256]}
    assert "profile.shape" in error_of(bad)


def test_snakemake_stops_before_any_work(tmp_path: Path, good: dict) -> None:
    good["profiles"]["tiny"]["shapes"].append([1, 4096])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(good))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
         "--configfile", str(bad), "--directory", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "profiles.tiny.shapes[3]" in out and "outside its profile" in out
    assert not (tmp_path / "results").exists(), "no work may start on a bad config"


def test_relative_sqlite_uri_resolves_in_working_directory(tmp_path: Path) -> None:
    assert resolve_tracking_uri("sqlite:///mlflow.db", tmp_path) == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert resolve_tracking_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_compare_defaults_and_pair_errors(good: dict) -> None:
    cfg = validate_config(copy.deepcopy(good))
    assert cfg["compare"] == {"enabled": True, "pairs": [["swish_plugin", "swish_native"]], "mode": "cold",
                              "target_rse": 0.002, "max_time_s": 2.0, "extra_shapes": {"tiny": [[32, 256]]}}
    assert cfg["timing"]["pin_cpu"] is True
    bad = copy.deepcopy(good)
    bad["compare"] = {"pairs": [["swish_plugin", "swish_plugin"], ["swish_plugin_naive", "relu"]]}
    msg = error_of(bad)
    assert "compare.pairs[0]" in msg and "itself" in msg
    assert "compare.pairs[1]" in msg and "'swish_plugin_naive' is not swept" in msg
    bad = copy.deepcopy(good)
    bad["compare"] = {"mode": "graph"}
    assert "compare.mode" in error_of(bad)


def test_compare_extra_shapes_must_lie_in_their_profile(good: dict) -> None:
    profile = next(iter(good["profiles"]))
    prof = good["profiles"][profile]
    inside = [prof["max"][0]] + list(prof["max"][1:])
    ok = copy.deepcopy(good)
    ok["compare"] = {"extra_shapes": {profile: [inside]}}
    assert validate_config(ok)["compare"]["extra_shapes"] == {profile: [inside]}
    bad = copy.deepcopy(good)
    bad["compare"] = {"extra_shapes": {profile: [[prof["max"][0] + 1] + list(prof["max"][1:])],
                                       "nope": [inside]}}
    msg = error_of(bad)
    assert f"compare.extra_shapes.{profile}[0]" in msg and "outside its profile" in msg
    assert "compare.extra_shapes.nope" in msg and "'nope' is not a profile" in msg


def test_stream_mode_is_a_timing_mode(good: dict) -> None:
    good["timing"]["modes"] = ["warm", "cold", "stream", "graph"]
    assert validate_config(good)["timing"]["modes"] == ["warm", "cold", "stream", "graph"]
    good["timing"]["modes"] = ["blocked"]
    msg = error_of(good)
    assert "timing.modes" in msg and "stream" in msg


def test_plugin_kernel_is_a_name_or_a_map_by_dtype(good: dict) -> None:
    good["plugin_kernel"] = {"fp32": "vectorized_oneshot_x2_b128", "fp16": "vectorized_oneshot_x1"}
    assert validate_config(copy.deepcopy(good))["plugin_kernel"]["fp32"] == "vectorized_oneshot_x2_b128"
    good["plugin_kernel"] = {"fp32": "bogus"}
    msg = error_of(copy.deepcopy(good))
    assert "plugin_kernel.fp32" in msg and "'bogus' is not allowed" in msg and "vectorized_oneshot_x1" in msg
    good["plugin_kernel"] = {"fp64": "vectorized"}
    msg = error_of(copy.deepcopy(good))
    assert "fp64" in msg and "allowed keys: bf16, fp16, fp32" in msg


def test_operator_kernels_give_an_operator_its_own_kernel(good: dict) -> None:
    """plugin_kernel names one family's kernels; an operator with other variants beside it (a row norm
    beside a pointwise op) gets its own in operator_kernels, checked against its own spec's variants,
    each error naming its key."""
    good["operators"] = ["swish_plugin", "swish_native", "layer_norm_plugin", "layer_norm_native"]
    good["plugin_kernel"] = "vectorized_oneshot"
    msg = error_of(copy.deepcopy(good))
    assert "config key 'plugin_kernel'" in msg and "layer_norm_plugin's kernel variants" in msg and "registers" in msg
    good["operator_kernels"] = {"layer_norm_plugin": "registers"}
    assert validate_config(copy.deepcopy(good))["operator_kernels"] == {"layer_norm_plugin": "registers"}
    good["operator_kernels"] = {"layer_norm_plugin": {"fp32": "registers", "fp16": "warp_per_row"}}
    msg = error_of(copy.deepcopy(good))  # bf16 is left to plugin_kernel, which is not a LayerNorm kernel
    assert "config key 'plugin_kernel'" in msg and "layer_norm_plugin" in msg
    good["operator_kernels"]["layer_norm_plugin"]["bf16"] = "registers"
    validate_config(copy.deepcopy(good))
    good["operator_kernels"] = {"layer_norm_plugin": {"fp16": "bogus", "fp32": "registers", "bf16": "registers"}}
    msg = error_of(copy.deepcopy(good))
    assert "config key 'operator_kernels.layer_norm_plugin.fp16'" in msg and "'bogus' is not allowed" in msg
    good["operator_kernels"] = {"layer_norm_plugin": "registers", "layer_norm_native": "registers"}
    msg = error_of(copy.deepcopy(good))
    assert "config key 'operator_kernels.layer_norm_native'" in msg and "allowed values: " in msg
    assert "swish_plugin" in msg.split("operator_kernels.layer_norm_native")[1]


def test_kernel_bench_kernels_are_the_chosen_operators_own_variants(good: dict) -> None:
    """kernel_bench.kernels names kernel_bench.operator's own variants (no operator's list in the
    schema): a GELU name for a GELU operator is taken, another's refused naming the key and the
    allowed names; left out, every live variant of the operator is timed."""
    good["kernel_bench"] = {"operator": "gelu_plugin", "kernels": ["naive", "vectorized_oneshot_x1_b128_ef"]}
    assert validate_config(copy.deepcopy(good))["kernel_bench"]["kernels"] == ["naive", "vectorized_oneshot_x1_b128_ef"]
    good["kernel_bench"]["kernels"] = ["naive", "vectorized_streaming"]  # a Swish variant GELU lacks
    msg = error_of(copy.deepcopy(good))
    assert "config key 'kernel_bench.kernels[1]'" in msg and "'vectorized_streaming' is not allowed" in msg
    assert "gelu_plugin's kernel variants" in msg and "allowed values: naive, vectorized_oneshot_x1," in msg
    good["kernel_bench"] = {"operator": "layer_norm_plugin", "kernels": ["registers", "two_rows"], "enabled": False}
    assert validate_config(copy.deepcopy(good))["kernel_bench"]["kernels"] == ["registers", "two_rows"]
    good["kernel_bench"]["enabled"] = True  # a row norm has no direct library: nothing to call
    assert "layer_norm_plugin declares no direct kernel library" in error_of(copy.deepcopy(good))
    good["kernel_bench"] = {"operator": "gelu_plugin"}
    live = ["naive", "vectorized_oneshot_x1", "vectorized_oneshot", "vectorized_oneshot_x4", "vectorized_oneshot_x1_b128",
            "vectorized_oneshot_x2_b128", "vectorized_oneshot_x1_b1024", "vectorized_oneshot_x1_ef",
            "vectorized_oneshot_x1_b128_ef", "vectorized"]
    assert validate_config(copy.deepcopy(good))["kernel_bench"]["kernels"] == live
    good["kernel_bench"] = {"operator": "relu", "kernels": ["naive"]}
    assert "config key 'kernel_bench.operator': relu declares no kernel variants" in error_of(copy.deepcopy(good))


def test_nested_cli_overrides_arrive_typed(good: dict) -> None:
    """`snakemake --config 'timing={max_time_s: 0.5}'` hands the nested values over as strings; they
    used to be refused ("'0.5' is not of type 'number'"). Strings the schema wants as numbers,
    integers, booleans or lists are read as YAML; a string that is no such value is still refused by
    name, and string-typed keys stay strings."""
    cli = copy.deepcopy(good)
    cli["timing"].update(max_time_s="0.5", repeats="3", pin_cpu="false")
    cli["threads"]["counts"] = "[1, 2]"
    cli["mlflow"]["experiment"] = "123"  # a string key: stays a string
    cfg = validate_config(cli)
    assert cfg["timing"]["max_time_s"] == 0.5 and cfg["timing"]["repeats"] == 3 and cfg["timing"]["pin_cpu"] is False
    assert cfg["threads"]["counts"] == [1, 2] and cfg["mlflow"]["experiment"] == "123"
    bad = copy.deepcopy(good)
    bad["timing"]["max_time_s"] = "half a second"
    assert "timing.max_time_s" in error_of(bad) and "number" in error_of(bad)
    bad["timing"]["max_time_s"] = "true"  # YAML's boolean is no number
    assert "timing.max_time_s" in error_of(bad)


def test_snakemake_takes_a_nested_number_from_the_command_line(tmp_path: Path, good: dict) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(good))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
         "--configfile", str(cfg), "--directory", str(tmp_path), "--config", "timing={max_time_s: 0.5}"],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert '"max_time_s": 0.5' in out and '"repeats": 2' in out  # the number, and the other timing keys kept


def test_l2_flush_defaults_to_clean_and_names_its_values(good: dict) -> None:
    assert validate_config(copy.deepcopy(good))["timing"]["l2_flush"] == "clean"
    good["timing"]["l2_flush"] = "memset"
    msg = error_of(good)
    assert "timing.l2_flush" in msg and "'memset'" in msg and "clean, dirty" in msg


@pytest.mark.parametrize("value", ["90; touch pwned", "$(touch pwned)", "`id`", "80' '90", "90 -DX=1", "", "sm_90"])
def test_cuda_architectures_that_could_reach_a_shell_are_refused(good: dict, value: str) -> None:
    """Issue 26 item 1: compile.cuda_architectures reaches the compile rule's command line and CMake;
    only CMake's architecture forms are accepted, at config load, naming the key."""
    good["compile"] = {"cuda_architectures": value}
    message = error_of(good)
    assert "config key 'compile.cuda_architectures'" in message and repr(value) in message
    assert "allowed values: auto, native" in message


@pytest.mark.parametrize("value", ["auto", "native", "all-major", "90", "90a", "80;90", "80-real;90-virtual", "100a"])
def test_cuda_architectures_in_cmake_forms_are_accepted(good: dict, value: str) -> None:
    good["compile"] = {"cuda_architectures": value}
    assert validate_config(good)["compile"]["cuda_architectures"] == value
