"""The in_network rule on the CPU (docs/in-network.md): the engine inspector's layer list read from a
recorded TensorRT 8.6 sample (roles, fusions, reformats, formats at the plugin's edges, the reason),
IProfiler reports aggregated, the pair's output check catching a poisoned or misformatted output,
the sentence, summary, figure and MLflow metrics from recorded rows, the verdict's states, the DAG's
jobs, the shipped and a user's neighbourhood on the CPU stand-in (labelled so, never TensorRT), and
the neighbourhoods' TensorRT networks against the stand-in tensorrt module (tests/fake_trt). The
GPU half (real engines, profiler, inspector) is tests/test_gpu_in_network.py."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trt_plugin_bench.commands import dag, neighbourhoods
from trt_plugin_bench.commands.in_network import (
    NO_TIMING_CACHE,
    OP_PLUGIN,
    STANDIN_LABEL,
    aggregate_layer_times,
    block_input,
    classify_layers,
    edge_reason,
    fused_description,
    layer_rows,
    load_function,
    operator_layer_us,
    pair_check,
    prepare_job,
    run_standin,
    sentence,
)
from trt_plugin_bench.core.config import ConfigError, load_config
from trt_plugin_bench.core.records import InNetworkRow
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.report.summary import in_network_lines
from trt_plugin_bench.report.tracking import in_network_metrics
from trt_plugin_bench.report.verdict import in_network_states

ROOT = Path(__file__).resolve().parents[1]
HWC8 = "Channel major FP16 format where channel % 8 == 0"
LINEAR = "Row major linear FP16 format"


def _t(name: str, fmt: str) -> dict:
    return {"Name": name, "Location": "Device", "Dimensions": [8, 256, 56, 56], "Format/Datatype": fmt}


# the engine inspector's layers (LayerInformationFormat.JSON, ProfilingVerbosity.DETAILED) of a
# conv3x3 -> Swish -> conv3x3 block in fp16 on TensorRT 8.6, in the shape 8.6 writes them: the
# linear-only plugin between two convolutions that chose HWC8, and the twin fused into the first
PLUGIN_ENGINE = [
    {"Name": "Reformatting CopyNode for Input Tensor 0 to producer.conv3x3", "LayerType": "Reformat",
     "Inputs": [_t("x", LINEAR)], "Outputs": [_t("x.hwc8", HWC8)]},
    {"Name": "producer.conv3x3", "LayerType": "CaskConvolution", "Inputs": [_t("x", HWC8)],
     "Outputs": [_t("producer.out", HWC8)], "TacticName": "sm80_xmma_fprop_implicit_gemm_f16f16"},
    {"Name": "Reformatting CopyNode for Input Tensor 0 to op.plugin", "LayerType": "Reformat",
     "Inputs": [_t("producer.out", HWC8)], "Outputs": [_t("reformatted", LINEAR)]},
    {"Name": OP_PLUGIN, "LayerType": "PluginV2", "Inputs": [_t("reformatted", LINEAR)],
     "Outputs": [_t("op.out", LINEAR)]},
    {"Name": "Reformatting CopyNode for Input Tensor 0 to consumer.conv3x3", "LayerType": "Reformat",
     "Inputs": [_t("op.out", LINEAR)], "Outputs": [_t("reformatted2", HWC8)]},
    {"Name": "consumer.conv3x3", "LayerType": "CaskConvolution", "Inputs": [_t("reformatted2", HWC8)],
     "Outputs": [_t("y", HWC8)]},
]
TWIN_ENGINE = [
    {"Name": "producer.conv3x3 + PWN(op.twin.0, op.twin.1)", "LayerType": "CaskConvolution",
     "Inputs": [_t("x", HWC8)], "Outputs": [_t("t", HWC8)]},
    {"Name": "consumer.conv3x3", "LayerType": "CaskConvolution", "Inputs": [_t("t", HWC8)], "Outputs": [_t("y", HWC8)]},
]
ANY_FORMAT_ENGINE = [
    PLUGIN_ENGINE[1],
    {"Name": OP_PLUGIN, "LayerType": "PluginV2", "Inputs": [_t("producer.out", HWC8)], "Outputs": [_t("op.out", HWC8)]},
    {**PLUGIN_ENGINE[5], "Inputs": [_t("op.out", HWC8)]},
]


def test_the_inspector_sample_says_what_tensorrt_fused_and_inserted() -> None:
    roles = [c["role"] for c in classify_layers(PLUGIN_ENGINE)]
    assert roles == ["inserted", "neighbour", "inserted", "operator", "inserted", "neighbour"]
    edges = edge_reason(PLUGIN_ENGINE)
    assert edges["reformats"] == 3 and edges["around"] == 2 and edges["plugin_in_format"] == "linear FP16"
    assert "TensorRT inserted 2 reformat layers around the plugin" in edges["reason"]
    assert "(and 1 elsewhere in the block)" in edges["reason"]
    assert f"{HWC8} -> linear FP16" in edges["reason"] and f"while its neighbours chose {HWC8}" in edges["reason"]
    assert [c["role"] for c in classify_layers(TWIN_ENGINE)] == ["fused operator", "neighbour"]
    assert fused_description(TWIN_ENGINE) == "fused producer.conv3x3+twin (CaskConvolution)"
    unfused = [{"Name": "PWN(op.twin.0, op.twin.1)", "LayerType": "PointWiseV2"}]
    assert fused_description(unfused) == "unfused twin (PointWiseV2)"
    # TensorRT's own helper layers of the twin's constants ("unsqueeze_node_after_<its layer>", H100 GELU matmul
    # block, 2026-12-07) are the operator's, not a neighbour's: the twin alone is unfused, with the GEMM it is fused
    helpers = ("PWN(PWN(PWN(op.twin.k0 + unsqueeze_node_after_op.twin.k0_(Unnamed Layer* 3) [Constant]_output + "
               "op.twin.0, PWN(op.twin.1)), op.twin.k5 + unsqueeze_node_after_op.twin.k5_(Unnamed Layer* 8) "
               "[Constant]_output + op.twin.3), PWN(op.twin.k3 + unsqueeze_node_after_op.twin.k3_(Unnamed Layer* 6) "
               "[Constant]_output + op.twin.2, op.twin.4))")
    assert fused_description([{"Name": helpers, "LayerType": "PointWiseV2"}]) == "unfused twin (PointWiseV2)"
    gemm = [{"Name": "producer.gemm + " + helpers, "LayerType": "CaskConvolution"}]
    assert fused_description(gemm) == "fused producer.gemm+twin (CaskConvolution)"
    assert classify_layers([{"Name": "loop.conv + op.twin.0", "LayerType": "X"}])[0]["role"] == "fused operator"
    # a plugin that takes the neighbours' format: nothing inserted, and the engine says so
    any_format = edge_reason(ANY_FORMAT_ENGINE)
    assert any_format["reformats"] == 0 and any_format["plugin_in_format"] == HWC8
    assert "inserted no reformat" in any_format["reason"]
    # an engine built without detailed verbosity lists names only: no roles invented
    assert edge_reason(["producer.conv3x3", OP_PLUGIN])["reformats"] == 0


def test_profiler_reports_are_medians_per_layer_in_engine_order() -> None:
    runs = [[("a", 1.0), ("b", 2.0), ("b", 1.0)], [("a", 3.0), ("b", 2.0)], [("a", 2.0), ("c", 9.0)]]
    assert aggregate_layer_times(runs) == [("a", 2.0), ("b", 2.0), ("c", 0.0)]  # b: 3, 2, 0; c: 0, 0, 9


def test_layer_rows_join_the_inspector_and_the_profiler() -> None:
    times = [(c["Name"], 0.01 * (i + 1)) for i, c in enumerate(PLUGIN_ENGINE)] + [("unlisted", 0.5)]
    rows = layer_rows("tensorrt", "swish_plugin", "conv3x3", "s", "fp16", "plugin", PLUGIN_ENGINE, times)
    assert [r.role for r in rows] == ["inserted", "neighbour", "inserted", "operator", "inserted", "neighbour", "neighbour"]
    assert rows[3].median_us == pytest.approx(40.0) and rows[-1].layer == "unlisted"
    assert operator_layer_us(rows) == pytest.approx(40.0)
    assert math.isnan(operator_layer_us(rows[:3]))


def test_the_pair_check_catches_a_poisoned_or_misformatted_output() -> None:
    rng = np.random.default_rng(1)
    twin = rng.standard_normal(4096).astype(np.float16)
    assert pair_check(twin.copy(), twin, 0.05).ok
    poisoned = twin.copy()
    poisoned[100:200] = np.nan  # unwritten by the plugin's block
    bad = pair_check(poisoned, twin, 0.05)
    assert not bad.ok and bad.unwritten == 100
    # a plugin that read a vectorized format as linear: the values land in the wrong places
    assert not pair_check(twin.reshape(8, 512).T.ravel(), twin, 0.05).ok


def _row(**kw: object) -> InNetworkRow:
    base = dict(backend="tensorrt", label="TensorRT 8.6.1 on NVIDIA H100", device_name="NVIDIA H100", operator="swish_plugin",
                twin="swish_native", block="conv3x3", size="n8c256s56", dtype="fp16", shape="8x256x56x56",
                operator_shape="8x256x56x56", elements=6422528, mode="warm", start="blocked", n=400,
                median_plugin_us=157.7, median_twin_us=139.8, median_se_plugin_us=0.1, median_se_twin_us=0.1,
                ratio=157.7 / 139.8, ratio_se=0.001, difference_us=17.9, control_ratio=1.0004, control_ratio_se=0.0005,
                stop_reason="target", verified=True, check_message="ok", throttled=False, sm_clock_start_mhz=1980,
                timing_clock="cuda_event", plugin_layer_us=14.2, plugin_alone_us=13.9, integration_overhead_us=0.3,
                plugin_engine_layers=5, twin_engine_layers=2, reformats_plugin=2, reformats_twin=0,
                plugin_in_format="linear FP16", plugin_out_format="linear FP16",
                twin_built_as=fused_description(TWIN_ENGINE), reason=edge_reason(PLUGIN_ENGINE)["reason"], sentence="")
    base.update(kw)
    row = InNetworkRow(**base)  # type: ignore[arg-type]
    row.sentence = sentence(row.block, row.shape, row.dtype, row.difference_us, row.ratio, row.twin_built_as, row.reason,
                            row.backend)
    return row


def test_the_sentence_summary_figure_and_metrics_from_recorded_rows(tmp_path: Path) -> None:
    from trt_plugin_bench.report.figures import draw, plan_from_tables

    row = _row()
    assert row.sentence.startswith("in a conv3x3 block at 8x256x56x56 fp16 the plugin costs +17.9 us (+12.8 %) "
                                   "against TensorRT's fused producer.conv3x3+twin (CaskConvolution); TensorRT inserted 2 "
                                   "reformat layers around the plugin")
    any_row = _row(operator="swish_plugin_anyformat", median_plugin_us=141.0, difference_us=1.2, ratio=141.0 / 139.8,
                   reformats_plugin=0, reason=edge_reason(ANY_FORMAT_ENGINE)["reason"])
    pairs = pd.DataFrame([asdict(row), asdict(any_row)])
    text = "\n".join(in_network_lines(pairs))
    assert row.sentence in text and "inserted no reformat" in text and "| 2 / 0 |" in text and "| 0 / 0 |" in text
    times = [(c["Name"], 0.01) for c in PLUGIN_ENGINE]
    layers = pd.DataFrame([asdict(r) for r in layer_rows("tensorrt", "swish_plugin", "conv3x3", "n8c256s56", "fp16", "plugin",
                                                         PLUGIN_ENGINE, times)])
    tables = {"in_network": pairs, "in_network_layers": layers}
    assert "in_network" in plan_from_tables("tensorrt", tables)[0]
    device = {"backend": "tensorrt", "backend_label": "TensorRT 8.6.1 on NVIDIA H100", "device_name": "NVIDIA H100",
              "driver_version": "x", "cuda_version": "y", "tensorrt_version": "8.6.1", "date": "2026-12-06"}
    fig = draw("in_network", tables, device)
    gids = {p.get_gid() for ax in fig.axes for p in ax.patches}
    assert "layer=Reformatting CopyNode for Input Tensor 0 to op.plugin" in gids
    fig.savefig(tmp_path / "in_network.png")
    metrics = dict((name, value) for name, value, _ in in_network_metrics(pairs))
    assert metrics["in_network.swish_plugin.conv3x3.n8c256s56.fp16.reformats_plugin"] == 2
    assert metrics["in_network.swish_plugin_anyformat.conv3x3.n8c256s56.fp16.difference_us"] == pytest.approx(1.2)


def test_the_verdict_compares_in_network_states() -> None:
    states, controls = in_network_states(pd.DataFrame([asdict(_row())]))
    assert list(states["operator"]) == ["swish_plugin@conv3x3", "swish_plugin@conv3x3:twin"]
    assert list(states["median_us"]) == [157.7, 139.8] and set(states["profile"]) == {"n8c256s56"}
    assert float(controls["control_ratio"].iloc[0]) == pytest.approx(1.0004)
    empty_states, _ = in_network_states(pd.DataFrame())
    assert empty_states.empty


def _settings(tmp_path: Path, extra: str = "") -> Settings:
    cfg = tmp_path / "c.yaml"
    cfg.write_text((ROOT / "tests" / "configs" / "small.yaml").read_text() + """
in_network:
  enabled: true
  operators: [swish_plugin, swish_plugin_anyformat]
  dtypes: [fp32, fp16]
  max_time_s: 0.01
  blocks:
    conv3x3:
      network: trt_plugin_bench.commands.neighbourhoods:conv3x3
      cpu: trt_plugin_bench.commands.neighbourhoods:conv3x3_cpu
      sizes: {n2c8s8: [2, 8, 8, 8], big: [8, 256, 56, 56]}
    matmul_mm:
      network: trt_plugin_bench.commands.neighbourhoods:matmul_mm
      sizes: {m64k32: [64, 32]}
""" + extra)
    return Settings.from_config(load_config(cfg))


def test_the_dag_plans_each_block_pair_and_says_what_it_leaves_out(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    keys, skipped = dag.in_network_keys(s, "reference", None)
    assert keys == ["swish_plugin__conv3x3__fp32__n2c8s8", "swish_plugin__conv3x3__fp16__n2c8s8",
                    "swish_plugin_anyformat__conv3x3__fp32__n2c8s8", "swish_plugin_anyformat__conv3x3__fp16__n2c8s8"]
    assert any("big: 6422528 elements > reference.max_elements" in w for w in skipped)
    assert any("matmul_mm: no CPU stand-in" in w for w in skipped)
    gpu_keys, _ = dag.in_network_keys(s, "tensorrt", 8)
    assert "swish_plugin__conv3x3__fp16__big" in gpu_keys and "swish_plugin__matmul_mm__fp32__m64k32" in gpu_keys
    assert dag.in_network_keys(_settings(tmp_path, "").__class__.from_config(load_config(ROOT / "tests" / "configs" /
                                                                                         "small.yaml")), "reference",
                               None) == ([], [])
    assert "swish_plugin_anyformat" in dag.compile_operators(s)


def test_the_cpu_stand_in_labels_itself_and_checks_the_pair(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    rows, layers, record = run_standin(s, prepare_job(s, "swish_plugin", "conv3x3", "fp16", "n2c8s8"))
    (row,) = rows
    assert row.backend == "reference" and row.label == STANDIN_LABEL and "TensorRT" not in row.twin_built_as
    assert row.timing_cache == NO_TIMING_CACHE  # no engine, no builder timing cache
    assert row.sentence.startswith(STANDIN_LABEL) and row.verified and row.n > 0
    assert row.operator_shape == "2x8x8x8" and math.isnan(row.plugin_layer_us) and layers == []
    assert record["label"] == STANDIN_LABEL
    with pytest.raises(ConfigError, match="in_network.blocks.conv3x3.sizes"):
        prepare_job(s, "swish_plugin", "conv3x3", "fp16", "nope")
    with pytest.raises(ConfigError, match="not a plugin operator with a native twin"):
        prepare_job(s, "swish_native", "conv3x3", "fp16", "n2c8s8")


def test_a_users_own_neighbourhood_runs_through_the_same_rule() -> None:
    s = Settings.from_config(load_config(ROOT / "examples" / "byo-plugin" / "config.yaml", ["backend=reference"]))
    keys, _ = dag.in_network_keys(s, "reference", None)
    assert keys == ["hardswish__expand__fp32__n1c16s16", "hardswish__expand__fp16__n1c16s16"]
    rows, _, _ = run_standin(s, prepare_job(s, "examples/byo-plugin/hardswish.yaml", "expand", "fp32", "n1c16s16"))
    assert rows[0].operator == "hardswish" and rows[0].twin == "hardswish_native" and rows[0].verified
    assert rows[0].label == STANDIN_LABEL
    with pytest.raises(ConfigError, match="in_network.blocks.x.network.*does not exist"):
        load_function("examples/byo-plugin/missing.py:f", "in_network.blocks.x.network")


def test_the_numpy_convolution_against_float64_loops() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 3, 5, 6))
    for n in range(2):
        for o in range(3):
            for h in range(5):
                for v in range(6):
                    ref[n, o, h, v] = (xp[n, :, h:h + 3, v:v + 3] * w[o]).sum() + b[o]
    np.testing.assert_allclose(neighbourhoods.conv_np(x, w, b), ref, rtol=1e-5, atol=1e-5)
    assert block_input((2, 3), "fp16").dtype == np.float16 and np.isfinite(block_input((64,), "fp32")).all()


SCRIPT = r"""
import json
import numpy as np
import tensorrt as trt
from trt_plugin_bench.commands import neighbourhoods as nb

out = {}
for name, shape in (("conv3x3", (8, 64, 14, 14)), ("matmul", (256, 128)), ("matmul_mm", (256, 128)),
                    ("norm_after", (2, 16, 8, 8)), ("norm_before", (2, 16, 8, 8))):
    net = trt.Network()
    x = net.add_input("x", trt.float16, shape)
    seen = []
    def op(t):
        seen.append(list(t.shape))
        layer = net.add_activation(t, trt.ActivationType.SIGMOID)
        layer.name = "op.twin.0"
        return layer.get_output(0)
    y = getattr(nb, name)(trt, net, x, "fp16", [], op, np.random.default_rng(0))
    out[name] = {"kinds": [l.kind for l in net.layers if l.kind != "constant"], "seen": seen, "out": list(y.shape),
                 "names": [getattr(l, "name", "") for l in net.layers if l.kind != "constant"],
                 "weights": sorted({str(l.extra["weights"].array.dtype) for l in net.layers if "weights" in l.extra})}
print(json.dumps(out))
"""


def test_the_shipped_neighbourhoods_build_their_tensorrt_networks() -> None:
    """Against the stand-in tensorrt module (tests/fake_trt): each block's layers, where the operator
    goes, what tensor it sees, the block's output shape (the real build runs on the GPU)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    conv = got["conv3x3"]
    assert conv["kinds"] == ["convolution", "activation", "convolution"] and conv["seen"] == [[8, 64, 14, 14]]
    assert conv["names"] == ["producer.conv3x3", "op.twin.0", "consumer.conv3x3"] and conv["weights"] == ["float16"]
    mm = got["matmul"]  # the GEMMs as 1x1 convolutions, the operator on (M, K)
    assert mm["kinds"] == ["shuffle", "convolution", "shuffle", "activation", "shuffle", "convolution", "shuffle"]
    assert mm["seen"] == [[256, 128]] and mm["out"] == [256, 128]
    assert got["matmul_mm"]["kinds"] == ["matrix_multiply", "activation", "matrix_multiply"]
    assert got["norm_after"]["kinds"] == ["convolution", "activation", "normalization"]
    assert got["norm_before"]["kinds"] == ["normalization", "activation", "convolution"]


BUILD_SCRIPT = r"""
import json, types
import tensorrt as trt
from trt_plugin_bench.commands import neighbourhoods as nb
from trt_plugin_bench.commands.trt_blocks import SharedTimingCache, build_block, plugin_operator, twin_operator
from trt_plugin_bench.backends.trt_common import CapturingLogger
from trt_plugin_bench.core.operators import OPERATORS

backend = types.SimpleNamespace(logger=CapturingLogger(echo=False))
settings = types.SimpleNamespace(builder=types.SimpleNamespace(workspace_mib=64, optimization_level=3))
op = OPERATORS["swish_plugin"]
out = {}
for shared in (False, True):
    cache = SharedTimingCache() if shared else None
    trt.BUILDS.clear()
    build_block(backend, settings, nb.conv3x3, (8, 64, 14, 14), "fp32",
                lambda n, k: plugin_operator(n, k, op, "fp32", 1.0, "", []), "plugin", cache)
    build_block(backend, settings, nb.conv3x3, (8, 64, 14, 14), "fp32",
                lambda n, k: twin_operator(n, k, op, "fp32", 1.0, []), "twin", cache)
    out["shared" if shared else "own"] = {
        "builds": [{"timed": [json.loads(k)[0] for k in b["timed"]], "cached": [json.loads(k)[0] for k in b["cached"]],
                    "shared_cache": b["shared_cache"], "ignore_mismatch": b["ignore_mismatch"]} for b in trt.BUILDS],
        "record": cache.record() if cache else None}
print(json.dumps(out))
"""


def test_the_pair_builds_share_one_timing_cache() -> None:
    """The plugin's block and the twin's are built with one builder timing cache (trt_blocks.SharedTimingCache,
    against the stand-in builder of tests/fake_trt, which times a layer unless the cache holds its signature):
    the neighbours' convolutions are timed once, in the first build, and the twin's build takes them from the
    cache; without it each build times them afresh (as before)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", BUILD_SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    own, shared = got["own"]["builds"], got["shared"]["builds"]
    assert [b["timed"].count("convolution") for b in own] == [1, 1] and not any(b["shared_cache"] for b in own)
    plugin, twin = shared
    assert plugin["timed"] == ["convolution", "plugin_v2"] and "convolution" not in twin["timed"]
    assert twin["cached"] == ["convolution", "convolution"] and twin["timed"]  # the twin's own layers are timed
    assert all(b["shared_cache"] and b["ignore_mismatch"] is False for b in shared)
    record = got["shared"]["record"]
    assert record["shared_by"] == ["plugin", "twin"]
    assert len(record["bytes_after_each_build"]) == 2 and record["bytes_after_each_build"][1] > record["bytes_after_each_build"][0]


FILE_CACHE_SCRIPT = r"""
import json, sys, types
from pathlib import Path
import tensorrt as trt
from trt_plugin_bench.commands import neighbourhoods as nb
from trt_plugin_bench.commands.trt_blocks import SharedTimingCache, build_block, plugin_operator, timing_cache_file, twin_operator
from trt_plugin_bench.backends.trt_common import CapturingLogger
from trt_plugin_bench.core.operators import OPERATORS

folder, manifest = Path(sys.argv[1]), Path(sys.argv[2])
backend = types.SimpleNamespace(logger=CapturingLogger(echo=False))
settings = types.SimpleNamespace(builder=types.SimpleNamespace(workspace_mib=64, optimization_level=3))
def job(op_name):  # one in_network job's pair, as run_trt_job builds it (each job is a process of its own)
    op = OPERATORS[op_name]
    cache = SharedTimingCache(timing_cache_file(folder, manifest))
    trt.BUILDS.clear()
    build_block(backend, settings, nb.conv3x3, (8, 64, 14, 14), "fp32",
                lambda n, k: plugin_operator(n, k, op, "fp32", 1.0, "", []), "plugin", cache)
    build_block(backend, settings, nb.conv3x3, (8, 64, 14, 14), "fp32",
                lambda n, k: twin_operator(n, k, op, "fp32", 1.0, []), "twin", cache)
    cache.save()
    return {"timed": [[json.loads(k)[0] for k in b["timed"]] for b in trt.BUILDS], "record": cache.record()}
print(json.dumps({op: job(op) for op in sys.argv[3:]}))
"""


def _file_cache_jobs(tmp_path: Path, manifest: Path, *ops: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    got = {}
    for op in ops:  # a process per job, as the rule runs them
        proc = subprocess.run([sys.executable, "-c", FILE_CACHE_SCRIPT, str(tmp_path / "in_network"), str(manifest), op],
                              cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        got.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return got


def test_the_experiments_pairs_share_their_timings_through_a_file(tmp_path: Path) -> None:
    """A pair took about 45 s on the H100 (2026-12-07), mostly builds. The second plugin's pair at the same
    block size takes the neighbours' tactics from the file the first job saved (one per plugin source); a new
    plugin source starts a new file; a damaged file is set aside, not fatal."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"source_hash": "a" * 40}))
    got = _file_cache_jobs(tmp_path, manifest, "swish_plugin", "swish_plugin_anyformat")
    assert got["swish_plugin"]["timed"][0].count("convolution") == 1  # the first job times its neighbours
    assert "convolution" not in got["swish_plugin_anyformat"]["timed"][0], got  # the second takes them from the file
    first, second = got["swish_plugin"]["record"], got["swish_plugin_anyformat"]["record"]
    assert first["file"] == second["file"] == str(tmp_path / "in_network" / "timing-aaaaaaaaaaaa.cache")
    assert first["loaded_bytes"] == 0 and second["loaded_bytes"] > 0 and second["saved"].startswith("merged"), got
    manifest.write_text(json.dumps({"source_hash": "b" * 40}))  # a kernel edit: a new file, timed afresh
    edited = _file_cache_jobs(tmp_path, manifest, "swish_plugin_anyformat")["swish_plugin_anyformat"]
    assert edited["timed"][0].count("convolution") == 1 and edited["record"]["loaded_bytes"] == 0, edited
    (tmp_path / "in_network" / "timing-bbbbbbbbbbbb.cache").write_bytes(b"\x00not a cache")  # damaged
    damaged = _file_cache_jobs(tmp_path, manifest, "swish_plugin")["swish_plugin"]
    assert damaged["timed"][0].count("convolution") == 1 and damaged["record"]["saved"], damaged


def test_the_config_refuses_an_operator_without_a_plugin_or_twin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in_network.operators': swish_native is not a plugin operator"):
        _settings(tmp_path, "").__class__.from_config(load_config(_write(tmp_path, "[swish_native]", "")))
    with pytest.raises(ConfigError, match=r"in_network.blocks.conv3x3.operators': 'swish_plugin_naive' is not in"):
        load_config(_write(tmp_path, "[swish_plugin]", "      operators: [swish_plugin_naive]\n"))


def _write(tmp_path: Path, operators: str, block_extra: str) -> Path:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text((ROOT / "tests" / "configs" / "small.yaml").read_text() + f"""
in_network:
  enabled: true
  operators: {operators}
  blocks:
    conv3x3:
      network: trt_plugin_bench.commands.neighbourhoods:conv3x3
{block_extra}      sizes: {{n2c8s8: [2, 8, 8, 8]}}
""")
    return cfg


TWIN_NAMES_SCRIPT = """
import tensorrt as trt
from trt_plugin_bench.commands.trt_blocks import twin_operator
from trt_plugin_bench.commands.in_network import OP_PREFIX
from trt_plugin_bench.core.operators import OPERATORS
network = trt.Network()
x = network.add_input("x", trt.float32, (8, 64))
before = network.num_layers
twin_operator(network, [], OPERATORS["gelu_tanh_native"], "fp32", 1.0, [])(x)
names = [network.get_layer(i).name for i in range(before, network.num_layers)]
print(names)
assert names and all(n.startswith(OP_PREFIX) for n in names), names
"""


def test_every_layer_a_twin_adds_is_the_operators_its_constants_too() -> None:
    """The H100 run of 2026-12-06: GELU's twin made its constants inside the twin function; unnamed,
    they read as a neighbour's, and the twin's own pointwise layer as "fused" with them."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", TWIN_NAMES_SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_the_compile_rule_builds_the_kernel_bench_operators_library_when_no_config_operator_is_it() -> None:
    """tests/configs/gpu-multi.yaml times the shipped Swish kernels (kernel_bench) in an experiment of three
    TensorRT-native operators: its compile rule built no Swish kernel library, and kernel_bench failed ("the
    compile rule built no kernel library libswish_kernels.so for swish_plugin", H100 2026-12-07). The
    kernel_bench operator is one the compile rule builds, its spec handed on like a config operator's."""
    s = Settings.from_config(load_config(ROOT / "tests" / "configs" / "gpu-multi.yaml"))
    assert s.kernel_bench.enabled and s.kernel_bench.operator not in s.operators
    ops = dag.compile_operators(s)
    assert ops[:len(s.operators)] == list(s.operators) and s.kernel_bench.operator in ops
    assert [spec.name for spec in dag.own_library_specs(ops)] == [s.kernel_bench.operator]
    assert dag.operator_ref(s.kernel_bench.operator) in dag.compile_spec_args(ops)
    off = Settings.from_config(load_config(ROOT / "tests" / "configs" / "gpu-multi.yaml", ["kernel_bench.enabled=false"]))
    assert dag.compile_operators(off) == list(off.operators)
