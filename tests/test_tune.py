"""The tune rule's choice (tune.py) from planted measurements, and how a choice reaches the engines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from trt_plugin_bench.commands import dag
from trt_plugin_bench.commands.sweeps import make_spec
from trt_plugin_bench.commands.tune import (
    KIB,
    Band,
    _row,
    bands,
    choice_table,
    engine_winner,
    finalists_of,
    load_kernel_tables,
    rank,
    sample_sizes,
    tune,
)
from trt_plugin_bench.core.operators import get_operator, tuned_kernel
from typed import DEFAULT, typed

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


@pytest.mark.parametrize("l2_mib", [40, 50, 60, 96, 126])
def test_bands_follow_the_l2_and_every_sample_lies_in_its_band(l2_mib: int) -> None:
    band_list = bands(l2_mib * MIB, [0.0625, 0.25, 1, 4])
    assert [b.hi_bytes for b in band_list[:-1]] == [round(e * l2_mib * MIB / KIB) * KIB for e in (0.0625, 0.25, 1, 4)]
    assert band_list[-1].hi_bytes == -1 and band_list[-1].lo_bytes == 4 * l2_mib * MIB
    for b in band_list:
        sizes = sample_sizes(b, 1 << 40)
        assert len(sizes) == 2 and all(b.contains(s) and s % (64 * KIB) == 0 for s in sizes), (b, sizes)
    # a small GPU memory caps the last band's samples, never placing one outside it
    assert all(band_list[-1].contains(s) for s in sample_sizes(band_list[-1], 5 * l2_mib * MIB))


def test_an_l2_size_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="L2 size of 0"):
        bands(0, [1.0])


def planted(rng: np.random.Generator, band_list: list[Band], best: dict[int, str], kernels: list[str]) -> list:
    """Direct rows where ``best[band]`` is the fastest kernel of each band by 2-9 %, random times otherwise."""
    rows = []
    for b in band_list:
        for nbytes in sample_sizes(b, 1 << 34):
            base = nbytes / 3.0e3 * rng.uniform(1.0, 1.2)
            for k in kernels:
                t = base * (1.0 if k == best[b.index] else rng.uniform(1.02, 1.09))
                rows.append(_row("tensorrt", "gpu", "fp16", b, nbytes, k, "direct", "cold", 50, t, 0.002))
    return rows


def test_the_planted_best_kernel_of_each_band_ranks_first_and_the_table_merges_runs() -> None:
    rng = np.random.default_rng(7)
    kernels = ["vectorized_oneshot", "vectorized_oneshot_x1", "vectorized_oneshot_x1_b128", "vectorized_oneshot_x2_b128"]
    band_list = bands(60 * MIB, [0.0625, 0.25, 1, 4])
    best = {0: kernels[2], 1: kernels[2], 2: kernels[1], 3: kernels[3], 4: kernels[3]}
    rows = planted(rng, band_list, best, kernels)
    winners = {b.index: rank(rows, b.index)[0] for b in band_list}
    assert winners == best
    table = choice_table(band_list, winners)
    assert table == [[band_list[1].hi_bytes // KIB, kernels[2]], [band_list[2].hi_bytes // KIB, kernels[1]],
                     [-1, kernels[3]]]
    kernel, fields = tuned_kernel(table, "naive")
    assert kernel == kernels[3] and fields == tuple((kib, k) for kib, k in table)


def test_in_the_engine_the_lowest_worst_ratio_wins_not_the_best_direct_time() -> None:
    b = Band(2, 4 * MIB, 16 * MIB)
    rows = []
    # a: faster on average but 1 % behind native at one size; b: never behind
    for nbytes, ra, rb in ((8 * MIB, 0.95, 0.99), (16 * MIB, 1.01, 0.995)):
        rows.append(_row("tensorrt", "gpu", "fp32", b, nbytes, "a", "engine", "cold", 40, 10.0 * ra, 0.001, ra, 1.0))
        rows.append(_row("tensorrt", "gpu", "fp32", b, nbytes, "b", "engine", "cold", 40, 10.0 * rb, 0.001, rb, 1.0))
    assert engine_winner(rows, 2) == "b"
    assert engine_winner(rows, 3) is None  # no engine rows: the direct ranking decides
    assert math.isclose(rows[0].gbps, 2 * 8 * MIB / 9.5 / 1e3)


def test_reference_backend_writes_an_empty_choice_that_says_why(tmp_path: Path) -> None:
    config = typed(path=DEFAULT)
    choice = tmp_path / "tune" / "swish_plugin" / "choice.json"
    assert tune(config, "reference", "swish_plugin", None, choice) == []
    written = json.loads(choice.read_text())
    assert written["tables"] == {} and "reference backend" in written["reason"]
    assert written["operator"] == "swish_plugin"
    assert load_kernel_tables(choice) == {}


def test_auto_builds_with_the_choice_table_and_an_explicit_kernel_wins() -> None:
    config = typed(path=DEFAULT)
    assert config.plugin_kernel == {"fp32": "auto", "fp16": "auto", "bf16": "auto"}
    table = [[15 * KIB, "vectorized_oneshot_x1_b128"], [-1, "vectorized_oneshot_x2_b128"]]
    spec = make_spec(config, "swish_plugin", "fp16", "sweep", {"fp16": table})
    assert spec.kernel == "vectorized_oneshot_x2_b128" and spec.kernel_table == tuple(map(tuple, table))
    assert spec.kernel_label == "tuned"
    # a dtype the rule could not tune runs the operator's own default kernel, without a table
    untuned = make_spec(config, "swish_plugin", "bf16", "sweep", {})
    assert (untuned.kernel, untuned.kernel_table) == (get_operator("swish_plugin").variants.default, ())
    assert tuned_kernel([], "registers") == ("registers", ())
    # the naive plugin and TensorRT's own layers never depend on the tune rule
    assert dag.tune_input("swish_plugin", config, "fp16") == ["results/default/tune/swish_plugin/choice.json"]
    # the V3 interface runs the same kernels: it shares swish_plugin's tune and choice table
    assert dag.tune_input("swish_plugin_v3", config, "fp16") == ["results/default/tune/swish_plugin/choice.json"]
    assert dag.tune_input("swish_plugin_naive", config, "fp16") == []
    assert dag.tune_input("swish_native", config, "fp16") == []
    explicit = typed("plugin_kernel={fp32: vectorized_oneshot_x1, fp16: auto}", path=DEFAULT)
    assert dag.tune_input("swish_plugin", explicit, "fp32") == []
    assert dag.tune_input("swish_plugin", explicit, "fp16") == ["results/default/tune/swish_plugin/choice.json"]
    assert not dag.tune_planned(typed("plugin_kernel=vectorized_oneshot_x1", path=DEFAULT),
                                ["swish_plugin__fp32__sweep", "relu__fp32__sweep"])


def test_a_retired_kernel_name_is_refused_by_the_config(tmp_path: Path) -> None:
    import yaml
    from trt_plugin_bench.core.config import ConfigError, load_config

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["plugin_kernel"] = "vectorized_oneshot_sized"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="plugin_kernel"):
        load_config(path)


def test_cuda_architectures_come_from_config_or_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dag.cuda_architectures(typed("compile.cuda_architectures='80;90'"), "tensorrt") == "80;90"
    monkeypatch.setattr(dag, "_nvidia_smi", lambda query: "9.0" if query == "compute_cap" else None)
    assert dag.cuda_architectures(typed("compile.cuda_architectures=auto"), "tensorrt") == "90"
    assert dag.cuda_architectures(typed(), "reference") == ""  # the compiler's default: nothing runs on the CPU
    monkeypatch.setattr(dag, "_nvidia_smi", lambda query: None)
    assert dag.cuda_architectures(typed(), "tensorrt") == ""
    assert dag.gpu_identity("reference").startswith("cpu")


def test_tensorrts_own_shape_is_a_finalist_whatever_its_direct_rank() -> None:
    ranked = ["vectorized_oneshot_x1_b128", "vectorized_oneshot_x1", "vectorized_oneshot", "vectorized_oneshot_x4",
              "vectorized_oneshot_x2_b128"]
    config = typed(path=DEFAULT).tune.for_operator(get_operator("swish_plugin"))
    count, include = config.finalists, config.finalists_include
    assert finalists_of(ranked, count, include) == [*ranked[:3], "vectorized_oneshot_x2_b128"]
    assert finalists_of(ranked[:4], count, include) == ranked[:3]  # not measured: nothing to add
    assert finalists_of(["vectorized_oneshot_x2_b128", *ranked[:2]], count, include) == ["vectorized_oneshot_x2_b128",
                                                                                        *ranked[:2]]


def test_finalist_engines_build_in_worker_processes_with_their_records(tmp_path: Path) -> None:
    """The tune rule builds its plugin engines side by side in spawned workers (build_engines): each
    must come back loadable, with the build record load() checks it against; a failing build must
    raise in the rule, not vanish in a worker."""
    from trt_plugin_bench.backends import get_backend
    from trt_plugin_bench.backends.base import read_build_record
    from trt_plugin_bench.commands.tune import build_engines

    tune_profile = "profiles={tune: {min: [1], opt: [64], max: [4096], shapes: [[64]]}}"
    specs = [make_spec(typed(tune_profile, "compare.extra_shapes={}", f"plugin_kernel={k}"), "swish_plugin", "fp32", "tune")
             for k in ("vectorized_oneshot_x1", "vectorized_oneshot_x2_b128")]
    jobs = [(spec, tmp_path / f"{spec.kernel}.engine", None) for spec in specs]
    build_engines(jobs, {}, workers=2, backend_name="reference")
    backend = get_backend("reference")
    for spec, path, _ in jobs:
        assert read_build_record(path)["spec"]["kernel"] == spec.kernel
        assert backend.load(path, None).spec == spec
    bad = [(specs[0], tmp_path / "missing-dir" / "x.engine", None)]
    with pytest.raises(OSError):
        build_engines(bad, {}, workers=1, backend_name="reference")


NORM_GPU = ROOT / "tests" / "configs" / "norm-gpu.yaml"
AUTO = "plugin_kernel=auto"  # the GPU configs fix their kernels; the tune rule runs where it is auto
NORM_SMALL = ROOT / "tests" / "configs" / "norm-small.yaml"
GELU_GPU = ROOT / "tests" / "configs" / "gelu-gpu.yaml"


def _planned(settings) -> list[str]:
    keys, _ = dag.plan_sweeps(settings, "tensorrt", 8)
    return dag.tune_operators(settings, keys)


def test_every_plugin_operator_that_runs_auto_is_tuned_on_its_own() -> None:
    """One tune job per operator whose kernel is auto; the V2 and V3 interface of one kernel share
    the first one's; each plugin engine depends on its own operator's choice table only."""
    default = typed(path=DEFAULT)
    assert _planned(default) == ["swish_plugin"]  # config.yaml: Swish alone, as before (its V3 shares it)
    norms = typed(AUTO, path=NORM_GPU)
    assert _planned(norms) == ["layer_norm_plugin", "residual_rms_norm_plugin"]
    assert dag.tune_input("residual_rms_norm_plugin", norms, "fp16") == [
        "results/norm-gpu/tune/residual_rms_norm_plugin/choice.json"]
    assert dag.tune_input("layer_norm_native", norms, "fp16") == []
    # the two GELU forms have their own direct kernels (erf, tanh): two tunes
    assert _planned(typed(AUTO, path=GELU_GPU)) == ["gelu_plugin", "gelu_tanh_plugin"]
    # an operator with its own explicit kernel (operator_kernels) is not tuned, the others still are
    mixed = typed(AUTO, "operator_kernels={layer_norm_plugin: prefetch}", path=NORM_GPU)
    assert _planned(mixed) == ["residual_rms_norm_plugin"]
    assert dag.tune_input("layer_norm_plugin", mixed, "fp32") == []
    assert _planned(typed("plugin_kernel=registers", path=NORM_GPU)) == []


def test_candidates_per_operator_from_a_list_or_a_map() -> None:
    ln, rms = get_operator("layer_norm_plugin"), get_operator("residual_rms_norm_plugin")
    gelu = get_operator("gelu_plugin")
    norms = typed(AUTO, path=NORM_GPU).tune
    assert norms.for_operator(ln).kernels == ("registers", "block_per_row", "warp_per_row", "prefetch", "two_rows",
                                              "weights_first")
    # one list: each operator keeps its own variants' names; where none is, all its live variants but naive
    one = typed(AUTO, "tune.kernels=[vectorized_oneshot_x1, registers]", "plugin_kernel=auto",
                "operators=[gelu_plugin, layer_norm_plugin, layer_norm_native, gelu_native]",
                "compare.pairs=[[gelu_plugin, gelu_native]]", path=NORM_GPU).tune
    assert one.for_operator(gelu).kernels == ("vectorized_oneshot_x1",)
    assert one.for_operator(ln).kernels == ("registers",)
    assert one.for_operator(rms).kernels == ("registers",)
    anything = typed(AUTO, "tune.kernels={}", path=NORM_GPU).tune
    assert "naive" not in anything.for_operator(ln).kernels
    assert set(anything.for_operator(ln).kernels) == set(ln.variants.table()[0]) - {"naive"}
    # finalists_include: a list filtered to the operator's variants (possibly none), or its own map entry
    inc = typed(AUTO, "tune.finalists_include={layer_norm_plugin: [prefetch]}", path=NORM_GPU).tune
    assert inc.for_operator(ln).finalists_include == ("prefetch",) and inc.for_operator(rms).finalists_include == ()


@pytest.mark.parametrize(("override", "message"), [
    ("tune.kernels={layer_norm_plugin: [registers, vectorized_oneshot]}",
     r"tune.kernels.layer_norm_plugin\[1\]': 'vectorized_oneshot' is not allowed: not one of layer_norm_plugin"),
    ("tune.kernels={gelu_plugin: [vectorized_oneshot]}",
     r"tune.kernels.gelu_plugin': 'gelu_plugin' is not an operator the tune rule tunes.*allowed values: "
     r"layer_norm_plugin, "
     r"residual_rms_norm_plugin"),
    ("tune.kernels=[registers, vectorized_oneshot_x1]",
     r"tune.kernels\[1\]': 'vectorized_oneshot_x1' is not a kernel variant of any tuned operator"),
    ("tune.finalists_include={residual_rms_norm_plugin: [nope]}",
     r"tune.finalists_include.residual_rms_norm_plugin\[0\]': 'nope'"),
    ("tune.operator=layer_norm_plugin", r"tune.operator': removed.*kernel_bench.operator"),
])
def test_a_tune_candidate_outside_its_operators_variants_is_refused_naming_the_key(override: str, message: str) -> None:
    from trt_plugin_bench.core.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=message):
        load_config(NORM_GPU, [AUTO, override])


def test_a_change_to_one_operators_tune_keys_reruns_only_its_tune() -> None:
    """The tune rule's params are its operator's own lists (dag.RULE_READS narrowed to {op})."""
    import json as _json

    base = typed(AUTO, path=NORM_GPU)
    other = typed(AUTO, "tune.kernels={layer_norm_plugin: [registers, prefetch], residual_rms_norm_plugin: [registers, "
                  "block_per_row, warp_per_row, prefetch, two_rows, weights_first]}", path=NORM_GPU)
    rms = "residual_rms_norm_plugin"
    assert dag.rule_settings(base, "tune", op=rms) == dag.rule_settings(other, "tune", op=rms)
    assert dag.rule_settings(base, "tune", op="layer_norm_plugin") != dag.rule_settings(other, "tune", op="layer_norm_plugin")
    handed = _json.loads(dag.rule_settings(base, "tune", op=rms))
    assert handed["compare"]["pairs"] == [[rms, "residual_rms_norm_native"]]
    assert "profiles" in handed  # a row norm's tune runs at the profiles' hidden sizes
    # an elementwise operator is sampled flat: a profile change never reruns its tune
    swish = typed(path=DEFAULT)
    assert "profiles" not in _json.loads(dag.rule_settings(swish, "tune", op="swish_plugin"))
    assert _json.loads(dag.rule_settings(swish, "tune", op="swish_plugin"))["tune"]["kernels"] == list(
        swish.tune.kernels)


def test_row_shapes_and_sample_shapes() -> None:
    from trt_plugin_bench.commands.tune import plan_job, row_shapes, sample_shape

    norms = typed(AUTO, path=NORM_GPU)
    assert row_shapes(get_operator("layer_norm_plugin"), norms) == ((1024,), (4096,), (8192,))
    assert row_shapes(get_operator("swish_plugin"), norms) == ((),)
    assert sample_shape(4 * MIB, "fp16", (4096,)) == (512, 4096)
    assert sample_shape(4 * MIB, "fp32", ()) == (MIB,)
    assert sample_shape(64 * KIB, "fp32", (8192,)) == (2, 8192)
    assert sample_shape(KIB, "fp32", (8192,)) == (1, 8192)  # one row at least
    job = plan_job(norms, get_operator("residual_rms_norm_plugin"))
    assert (job.native, job.direct, job.default) == ("residual_rms_norm_native", False, "two_rows")
    swish = plan_job(typed(path=DEFAULT), get_operator("swish_plugin"))
    assert (swish.native, swish.direct, swish.rows) == ("swish_native", True, ((),))


def test_without_an_engine_or_a_direct_library_a_dtype_keeps_its_default_kernel() -> None:
    from trt_plugin_bench.commands.tune import plan_job, winners_of

    job = plan_job(typed(AUTO, path=NORM_GPU), get_operator("layer_norm_plugin"))
    band_list = bands(50 * MIB, [1.0])
    finalists = {b.index: list(job.kernels) for b in band_list}
    assert winners_of(job, [], band_list, finalists, engine_ok=False) == ({}, "none")
    norm = make_spec(typed(AUTO, path=NORM_GPU), "layer_norm_plugin", "fp16", "h1024", {})
    assert (norm.kernel, norm.kernel_table) == ("two_rows", ())  # the spec's default, not Swish's


def test_the_engine_path_times_every_finalist_at_each_row_shape_against_the_twin(tmp_path: Path) -> None:
    """tune.engine_rows, the GPU path's engine half, run on the CPU reference backend: a row norm
    without a direct library, every candidate a finalist, one engine per hidden size, each finalist
    timed interleaved with the native twin and its A/A control; the band's worst ratio decides."""
    from trt_plugin_bench.backends import get_backend
    from trt_plugin_bench.commands.tune import engine_rows, plan_job, winners_of

    settings = typed("profiles={a: {min: [1, 256], opt: [4, 256], max: [64, 256], shapes: [[4, 256]]}, "
                     "b: {min: [1, 512], opt: [4, 512], max: [64, 512], shapes: [[4, 512]]}}",
                     "tune.kernels={residual_rms_norm_plugin: [registers, warp_per_row]}",
                     "tune.timing={target_rse: 0.5, min_samples: 3, max_samples: 6, max_time_s: 0.01, "
                     "warmup_min: 1, warmup_time_s: 0.0, pin_cpu: false}", "threads.profile=a", "threads.shape=[4, 256]",
                     "compare.extra_shapes={}", path=NORM_SMALL)
    job = plan_job(settings, get_operator("residual_rms_norm_plugin"))
    assert job.rows == ((256,), (512,)) and job.kernels == ("registers", "warp_per_row")
    band_list = [Band(0, 0, 64 * KIB), Band(1, 64 * KIB, -1)]
    sizes = {0: [64 * KIB], 1: [128 * KIB]}
    finalists = {b.index: list(job.kernels) for b in band_list}
    rows = engine_rows(get_backend("reference"), job, settings, "fp32", band_list, sizes, finalists, None, tmp_path,
                       "cpu", backend_name="reference", workers=1)
    assert len(rows) == 2 * 2 * 2  # kernels x sizes x row shapes
    assert {r.shape for r in rows} == {"64x256", "32x512", "128x256", "64x512"}
    assert all(r.operator == "residual_rms_norm_plugin" and r.path == "engine" for r in rows)
    assert all(math.isfinite(r.ratio_to_native) and math.isfinite(r.control_ratio) for r in rows)
    # the cost model's bytes: x, r read, y, h written, gamma once
    r0 = next(r for r in rows if r.shape == "64x256")
    assert math.isclose(r0.gbps, (4 * 64 * 256 * 4 + 256 * 4) / r0.median_us / 1e3)
    winners, path = winners_of(job, rows, band_list, finalists, engine_ok=True)
    assert path == "engine" and set(winners) == {0, 1}
    for b in band_list:  # the lowest worst ratio over the band's sizes and row shapes
        worst = {k: max(r.ratio_to_native for r in rows if r.band == b.index and r.kernel == k) for k in job.kernels}
        assert winners[b.index] == min(worst, key=lambda k: (worst[k], k))
    assert sorted(p.name for p in tmp_path.glob("*.engine")) == sorted(
        [f"residual_rms_norm_native__fp32__{h}.engine" for h in (256, 512)]
        + [f"residual_rms_norm_plugin__fp32__{h}__{k}.engine" for h in (256, 512) for k in job.kernels])


def test_mlflow_tune_names_keep_swishs_alone_and_name_the_operator_when_several() -> None:
    import pandas as pd
    from trt_plugin_bench.report.tracking import parent_payload

    b = Band(0, 0, -1)
    one = [_row("tensorrt", "gpu", "fp32", b, MIB, "x1", "engine", "cold", 20, 10.0, 0.001, 0.99, 1.0,
                operator="swish_plugin")]
    one[0].chosen = True
    params, metrics = parent_payload({"tune": pd.DataFrame([r.__dict__ for r in one])}, {})
    assert params["tune.fp32.table"] == "above: x1"
    assert {m[0] for m in metrics} >= {"tune.fp32.engine.x1.gbps", "tune.fp32.engine.x1.ratio_to_native"}
    norm = [_row("tensorrt", "gpu", "fp32", b, MIB, "registers", "engine", "cold", 20, 10.0, 0.001, 0.98, 1.0,
                 operator="layer_norm_plugin", shape=(256, 1024))]
    params, metrics = parent_payload({"tune": pd.DataFrame([r.__dict__ for r in one + norm])}, {})
    assert params["tune.swish_plugin.fp32.table"] == "above: x1" and "tune.layer_norm_plugin.fp32.table" in params
    assert "tune.layer_norm_plugin.fp32.engine.registers.x1024.ratio_to_native" in {m[0] for m in metrics}
