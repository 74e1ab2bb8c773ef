"""Typed settings (settings.py): parsed once from the validated config, the schema's defaults the
only defaults, one serialized form, and `--set key.sub=value` overrides typed by the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from trt_plugin_bench.cli import main
from trt_plugin_bench.commands import dag
from trt_plugin_bench.core.config import ConfigError, apply_overrides, load_config, schema_defaults, split_overrides
from trt_plugin_bench.core.settings import NotHanded, Settings
from trt_plugin_bench.core.stats import StoppingRule

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
    assert s.threads.profile == "tiny" and s.threads.shape == (16, 256), "resolved once: first profile, its opt"
    assert s.plugin_kernel == {"fp32": "auto", "fp16": "auto", "bf16": "auto"}
    assert s.builder.profiles_per_engine == 1 and s.kernel_bench.enabled is False  # sections the file leaves out
    partial = Settings.from_json(s.to_json({"timing": ["modes", "verify_max_elements"]}))
    assert partial.timing.modes == ("warm", "cold") and partial.timing.verify_max_elements == 67108864
    assert partial.timing.handed("modes") and not partial.timing.handed("max_time_s")
    with pytest.raises(NotHanded, match=r"'timing\.max_time_s' was not handed.*dag\.RULE_READS"):
        partial.timing.max_time_s  # noqa: B018 - the read is the test
    with pytest.raises(NotHanded, match="'threads' was not handed"):
        partial.threads  # noqa: B018
    with pytest.raises(ConfigError, match=r"'timing': unknown key\(s\) max_tim_s"):
        Settings.from_json('{"timing": {"modes": ["warm"], "max_tim_s": 1}}')
    with pytest.raises(ConfigError, match=r"--settings-json: unknown key\(s\) timming"):
        Settings.from_json('{"timming": {}}')
    with pytest.raises(ConfigError, match="needs a validated config"):
        Settings.from_config({"timing": {"modes": ["warm"]}})


def _rule(cfg: dict, command: str, **wildcards: str) -> dict:
    return json.loads(dag.rule_settings(Settings.from_config(cfg), command, **wildcards))


def test_a_rule_is_handed_what_it_reads_and_reruns_only_on_that() -> None:
    """Each rule's params are its command's settings (dag.RULE_READS): a key it reads changes
    them (Snakemake reruns it), any other key leaves them equal."""
    base = load_config(SMALL)
    slower = load_config(SMALL, ["timing.max_time_s=0.5"])
    assert _rule(base, "dynamic", profile="tiny") == _rule(slower, "dynamic", profile="tiny")
    assert _rule(base, "latency", profile="tiny") != _rule(slower, "latency", profile="tiny")
    assert _rule(slower, "latency", profile="tiny")["timing"]["max_time_s"] == 0.5
    assert _rule(base, "threads") == _rule(slower, "threads")
    assert _rule(base, "tune", op="swish_plugin") == _rule(slower, "tune", op="swish_plugin")  # tune.timing
    assert set(_rule(base, "latency", profile="tiny")["profiles"]) == {"tiny"}
    # build: plugin_kernel of its own dtype, for an operator whose kernel it chooses; its engine's builder
    both = load_config(SMALL, ["plugin_kernel={fp32: vectorized, fp16: vectorized}"])
    fp16 = load_config(SMALL, ["plugin_kernel={fp32: vectorized, fp16: vectorized_oneshot_x1}"])
    assert _rule(both, "build", op="swish_plugin", dtype="fp32", profile="tiny") == \
        _rule(fp16, "build", op="swish_plugin", dtype="fp32", profile="tiny")
    assert _rule(fp16, "build", op="swish_plugin", dtype="fp16", profile="tiny")["plugin_kernel"] == \
        {"fp16": "vectorized_oneshot_x1"}
    assert _rule(load_config(SMALL, ["plugin_kernel={fp32: vectorized}"]), "build", op="swish_plugin", dtype="fp16",
                 profile="tiny")["plugin_kernel"] == {"fp16": ""}  # left out: each operator's own default
    assert _rule(base, "build", op="relu", dtype="fp16", profile="tiny") == \
        _rule(fp16, "build", op="relu", dtype="fp16", profile="tiny")
    # operator_kernels: an operator named there reads only its own choice, the others plugin_kernel
    own = load_config(SMALL, ["operator_kernels={swish_plugin: {fp16: vectorized}}"])
    swish16 = _rule(own, "build", op="swish_plugin", dtype="fp16", profile="tiny")
    assert "plugin_kernel" not in swish16 and swish16["operator_kernels"] == {"swish_plugin": {"fp16": "vectorized"}}
    assert _rule(own, "build", op="swish_plugin", dtype="fp32", profile="tiny")["operator_kernels"] == \
        {"swish_plugin": {"fp32": "auto"}}  # left out of its map: plugin_kernel's (auto)
    gelu = _rule(own, "build", op="gelu_plugin", dtype="fp16", profile="tiny")
    assert gelu["operator_kernels"] == {} and gelu["plugin_kernel"] == {"fp16": "auto"}
    assert _rule(base, "build", op="gelu_plugin", dtype="fp16", profile="tiny") == gelu
    assert dag.plugin_kernel("swish_plugin", Settings.from_json(json.dumps(swish16)), "fp16") == "vectorized"
    three = load_config(SMALL, ["threads.counts=[1, 3]"])
    assert _rule(three, "build", op="relu", dtype="fp32", profile="tiny")["builder"]["profiles_per_engine"] == 3
    # compare: extra_shapes of its own profile only
    assert _rule(base, "compare", profile="tiny")["compare"]["extra_shapes"] == {"tiny": [[32, 256]]}
    assert _rule(base, "log-mlflow") == Settings.from_config(base).to_data()


def test_a_dtype_the_plugin_kernel_map_leaves_out_runs_each_operators_own_default() -> None:
    """plugin_kernel {fp32: name} leaves fp16 to every operator's own default (its spec's
    variants.default), not one operator's kernel name: a row norm's fp16 engine runs the row norm's."""
    from trt_plugin_bench.commands.sweeps import make_spec
    from trt_plugin_bench.core.operators import get_operator

    norms = Settings.from_config(load_config(ROOT / "tests" / "configs" / "norm-small.yaml",
                                             ["plugin_kernel={fp32: warp_per_row}"]))
    default = get_operator("layer_norm_plugin").variants.default
    assert default != "warp_per_row"
    assert dag.plugin_kernel("layer_norm_plugin", norms, "fp32") == "warp_per_row"
    assert dag.plugin_kernel("layer_norm_plugin", norms, "fp16") == default
    assert make_spec(norms, "layer_norm_plugin", "fp16", "tiny").kernel == default
    assert make_spec(norms, "layer_norm_plugin", "fp32", "tiny").kernel == "warp_per_row"
    # the same through a rule's serialized settings (the build rule's command)
    handed = Settings.from_json(dag.rule_settings(norms, "build", op="layer_norm_plugin", dtype="fp16", profile="tiny"))
    assert make_spec(handed, "layer_norm_plugin", "fp16", "tiny").kernel == default
    # an operator map's left-out dtype follows plugin_kernel's, so the operator's own default too
    own = Settings.from_config(load_config(ROOT / "tests" / "configs" / "norm-small.yaml",
                                           ["plugin_kernel={fp32: warp_per_row}",
                                            "operator_kernels={residual_rms_norm_plugin: {fp32: two_rows}}"]))
    rms = get_operator("residual_rms_norm_plugin").variants.default
    assert dag.plugin_kernel("residual_rms_norm_plugin", own, "fp16") == rms
    assert dag.plugin_kernel("residual_rms_norm_plugin", own, "fp32") == "two_rows"
    # an operator without variants has no kernel to choose
    assert dag.plugin_kernel("layer_norm_native", norms, "fp16") == ""


def test_every_command_reads_only_what_it_is_handed(tmp_path: Path) -> None:
    """A command that read a key its rule does not hand would raise NotHanded: the CPU commands
    run on their rule's settings alone."""
    from trt_plugin_bench.commands import sweeps

    cfg = load_config(SMALL)
    settings = Settings.from_config(cfg)
    engine = tmp_path / "swish_plugin__fp32__tiny.engine"
    build = Settings.from_json(dag.rule_settings(settings, "build", op="swish_plugin", dtype="fp32", profile="tiny"))
    sweeps.build_engine(build, "reference", "swish_plugin", "fp32", "tiny", engine, tmp_path / "g.npz", None)
    for command, run in (("latency", sweeps.latency_sweep), ("dynamic", sweeps.dynamic_sweep),
                         ("threads", sweeps.thread_sweep)):
        handed = Settings.from_json(dag.rule_settings(settings, command, profile="tiny"))
        assert run(handed, "reference", engine, None), command


def test_snakemake_config_set_reaches_the_rules_typed(tmp_path: Path) -> None:
    """snakemake --config set='timing.max_time_s=0.5,threads.counts=[1,3]' (its parser refuses a
    dotted key): a dry run shows the typed values in the rules' --settings-json."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--configfile", str(SMALL),
         "--config", "set=timing.max_time_s=0.5,threads.counts=[1,3],mlflow.experiment=e2", "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    def handed(command: str) -> dict:
        # the rules' command starts with shlex.join([python, tpb.py]): quoted where the path needs it
        line = next(ln for ln in proc.stdout.splitlines() if re.search(rf"tpb\.py'? {command} ", ln))
        return json.loads(re.search(r"--settings-json '(.*?)' ", line).group(1))

    assert handed("latency")["timing"]["max_time_s"] == 0.5  # a number, not "0.5"
    assert handed("threads")["threads"]["counts"] == [1, 3]
    assert handed("log-mlflow")["mlflow"]["experiment"] == "e2"
    assert handed("log-mlflow")["mlflow"]["cli_keys"] == ["experiment"]  # it wins over MLFLOW_EXPERIMENT_NAME
    bad = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(SMALL),
         "--config", "set=timing.max_time_s=fast", "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "timing.max_time_s" in bad.stdout + bad.stderr


def test_split_overrides_keeps_list_values_whole() -> None:
    assert split_overrides("timing.max_time_s=0.5,threads.counts=[1,2]") == ["timing.max_time_s=0.5", "threads.counts=[1,2]"]
    assert split_overrides("timing.modes=[warm, cold]; mlflow.experiment=a,b") == ["timing.modes=[warm, cold]",
                                                                                 "mlflow.experiment=a,b"]
    assert split_overrides("compare.extra_shapes={tiny: [[32, 256]]}") == ["compare.extra_shapes={tiny: [[32, 256]]}"]
    cfg = load_config(SMALL, split_overrides("timing.max_time_s=0.5,threads.counts=[1,2]"))
    assert cfg["timing"]["max_time_s"] == 0.5 and cfg["threads"]["counts"] == [1, 2]


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
