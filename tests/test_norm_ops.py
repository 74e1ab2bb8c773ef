"""LayerNorm and the fused residual add + RMSNorm (ops/layer_norm, ops/residual_rms_norm) on the CPU:
the CPU implementations (the kernels' fp32 math) against the float64 references through the specs'
own tolerances, at the hidden sizes of issue 24 and odd ones; rows whose mean is far above their spread
(where a one-pass variance fails the same check); edge rows; both outputs of the residual op; the cost
models; eps refused at spec load where it is not finite and > 0; the specs' plugin/twin pairing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.operators import OPERATORS
from trt_plugin_bench.core.specs import SpecError, load_spec, numerics_of

ROOT = Path(__file__).resolve().parents[1]
LAYER_NORM = ROOT / "ops" / "layer_norm"
RMS_NORM = ROOT / "ops" / "residual_rms_norm"
PLUGINS = ("layer_norm_plugin", "residual_rms_norm_plugin")
PLUGIN_DIR = ROOT / "plugin"


def header_default_kernel(folder: str, header: str, table: str) -> str:
    """The kernel field's default as the C++ plugin has it (k...DefaultKernelId in the kernel header, an
    enumerator of the one table), by name: the spec's variants.default must be the same kernel."""
    text = (PLUGIN_DIR / folder / header).read_text()
    enumerator = re.search(r"DefaultKernelId = static_cast<int32_t>\(\w+::(\w+)\);", text)
    assert enumerator is not None, f"{header}: no k...DefaultKernelId line"
    rows = re.findall(r"^TPB_\w+_KERNEL\((\d+), (\w+), (\w+), \w+\)", (PLUGIN_DIR / folder / table).read_text(), re.M)
    names = {e: n for _, e, n in rows}
    assert enumerator.group(1) in names, f"{header}: {enumerator.group(1)} is not in {table}"
    return names[enumerator.group(1)]


DEFAULT_KERNEL = {
    "layer_norm": header_default_kernel("layerNormPlugin", "layerNormKernel.h", "layerNormKernels.def"),
    "residual_rms_norm": header_default_kernel("residualRmsNormPlugin", "residualRmsNormKernel.h",
                                               "residualRmsNormKernels.def"),
}
SHAPES = [(16, 256), (3, 1024), (2, 4096), (1, 8192), (2, 3, 1000), (5, 7), (4, 1)]


def test_every_plugin_spec_names_an_existing_twin_of_the_same_function() -> None:
    for name in ("layer_norm", "residual_rms_norm"):
        for suffix in ("plugin", "plugin_naive", "plugin_v3"):
            spec = OPERATORS[f"{name}_{suffix}"]
            twin = OPERATORS[spec.native_operator]
            assert twin.implementation == "native" and twin.function == spec.function == name
            assert [f.name for f in spec.fields] == ["eps", "kernel", "kernel_table"]
            assert spec.variants is not None and spec.variants.default == DEFAULT_KERNEL[name]
    assert OPERATORS["layer_norm_plugin_naive"].kernel == "naive"
    assert OPERATORS["residual_rms_norm_plugin"].outputs == ("y", "h")


@pytest.mark.parametrize("name", PLUGINS)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_cpu_implementation_is_within_the_tolerance_and_a_planted_error_fails(name: str, shape: tuple) -> None:
    spec = OPERATORS[name]
    num = numerics_of(spec)
    for dtype in spec.dtypes:
        x = ref.random_input(shape, dtype, 11, generator=spec.inputs[0].generator)
        for j in range(num.outputs):
            y = ref.compute_float32(num, x, dtype, output=j)
            check = ref.check_output(y, x, num, dtype, output=j)
            assert check.ok, (name, shape, dtype, j, check)
            bad = y.copy()
            flat = bad.reshape(-1)
            k = flat.size // 2
            flat[k] = ref.to_device_dtype(np.array([ref.to_float64(flat[k:k + 1], dtype)[0] + 0.25], np.float32), dtype)[0]
            assert not ref.check_output(bad, x, num, dtype, output=j).ok, (name, shape, dtype, j)


def _module(folder: Path, name: str):  # noqa: ANN202 - a spec module
    import importlib.util

    loaded = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def _within(got: np.ndarray, want: np.ndarray, ulps: float, abs_tol: float, dtype: str = "fp32") -> bool:
    err = np.abs(got.astype(np.float64) - want)
    return bool(np.all(err <= np.maximum(ulps * ref.ulp(want, dtype), abs_tol)))


def test_rows_with_a_mean_far_above_their_spread_pass_where_a_one_pass_variance_fails() -> None:
    ln = _module(LAYER_NORM, "layer_norm")
    tol = OPERATORS["layer_norm_plugin"].tolerance("fp32")
    rng = np.random.default_rng(24)
    hidden = 4096
    x = (1.0e4 + rng.normal(0.0, 1.0, (8, hidden))).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, hidden).astype(np.float32)
    beta = rng.uniform(-0.5, 0.5, hidden).astype(np.float32)
    want = ln.layer_norm64(x, gamma, beta)
    assert _within(ln.layer_norm_float32(x, gamma, beta), want, tol.ulps, tol.abs)
    # E[x^2] - E[x]^2 in fp32: the check must catch it on these rows (they are there to break it)
    mean = x.mean(axis=-1, keepdims=True, dtype=np.float32)
    var = np.maximum((x * x).mean(axis=-1, keepdims=True, dtype=np.float32) - mean * mean, np.float32(0))
    one_pass = ((x - mean) / np.sqrt(var + np.float32(1e-5)) * gamma + beta).astype(np.float32)
    assert not _within(one_pass, want, tol.ulps, tol.abs)


def test_edge_rows_constant_infinite_nan_and_zero_rows() -> None:
    ln = _module(LAYER_NORM, "layer_norm")
    hidden = 64
    gamma = np.linspace(0.5, 1.5, hidden, dtype=np.float32)
    beta = np.linspace(-0.5, 0.5, hidden, dtype=np.float32)
    x = np.full((3, hidden), 5.0, np.float32)
    x[1, 3] = np.inf
    x[2, 0] = np.nan
    for fn in (ln.layer_norm64, ln.layer_norm_float32):
        y = fn(x, gamma, beta)
        assert np.array_equal(y[0], beta.astype(y.dtype))  # var 0: y = beta
        assert np.isnan(y[1]).all() and np.isnan(y[2]).all()
        assert fn(np.zeros((0, hidden), np.float32), gamma, beta).shape == (0, hidden)


def test_the_residual_outputs_cancel_exactly_and_h_is_one_rounding() -> None:
    rms = _module(RMS_NORM, "residual_rms_norm")
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, (4, 1024)).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, 1024).astype(np.float32)
    r = -x.copy()
    r[1:] = rng.normal(0, 3, (3, 1024)).astype(np.float32)
    for fn in (rms.residual_rms_norm64, rms.residual_rms_norm_float32):
        y, h = fn(x, r, gamma)
        assert not np.any(y[0]) and not np.any(h[0])  # r = -x: h = 0, y = 0
    y64, h64 = rms.residual_rms_norm64(x, r, gamma)
    y32, h32 = rms.residual_rms_norm_float32(x, r, gamma)
    assert _within(h32, h64, 0.5, 0.0) and _within(y32, y64, 8, 0.0)


def test_the_cost_models_count_every_tensor_once() -> None:
    ln, rms = OPERATORS["layer_norm_plugin"], OPERATORS["residual_rms_norm_plugin"]
    for dtype, item in (("fp32", 4), ("fp16", 2)):
        shapes = ln.all_shapes((64, 4096))
        assert shapes == [(64, 4096), (4096,), (4096,)]
        assert ln.cost_of(shapes, dtype)["bytes"] == (2 * 64 * 4096 + 2 * 4096) * item  # x, y; gamma, beta
        shapes = rms.all_shapes((64, 4096))
        assert shapes == [(64, 4096), (64, 4096), (4096,)]
        assert rms.cost_of(shapes, dtype)["bytes"] == (4 * 64 * 4096 + 4096) * item  # x, r, y, h; gamma
        assert ln.cost_of(ln.all_shapes((2, 8)), dtype)["flops"] > 0 < rms.cost_of(rms.all_shapes((2, 8)), dtype)["flops"]


@pytest.mark.parametrize("eps", [0.0, -1.0e-5, ".nan", ".inf"])
@pytest.mark.parametrize("folder,name", [(LAYER_NORM, "layer_norm_native"), (RMS_NORM, "residual_rms_norm_native")])
def test_an_eps_that_is_not_finite_and_positive_is_refused_naming_the_file(tmp_path: Path, folder: Path, name: str,
                                                                          eps: object) -> None:
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    path = copy / f"{name}.yaml"
    text = re.sub(r"eps: \{type: float32, default: [^}]*\}", f"eps: {{type: float32, default: {eps}}}", path.read_text())
    assert yaml.safe_load(text)["fields"]["eps"]["default"] != yaml.safe_load(path.read_text())["fields"]["eps"]["default"]
    path.write_text(text)
    with pytest.raises(SpecError, match=r"eps must be finite and > 0") as err:
        load_spec(path)
    assert str(path) in str(err.value)


# -- the native twins, evaluated on numpy layers (no TensorRT here) -----------------------------------
class _Tensor:
    def __init__(self, value: np.ndarray) -> None:
        self.value = value

    @property
    def shape(self) -> tuple:
        return self.value.shape


class _Layer:
    """A layer whose output is computed when asked (a shuffle's reshape_dims is set after it is added)."""

    def __init__(self, compute) -> None:  # noqa: ANN001
        self.compute = compute
        self.reshape_dims = None
        self.epsilon = 1e-5
        self.compute_precision = None
        self.precision = None

    def set_output_type(self, index: int, dtype: object) -> None:
        self.output_type = dtype

    def get_output(self, index: int) -> _Tensor:
        return _Tensor(self.compute(self))


class NumpyNetwork:
    """The INetworkDefinition calls the row norms' twins make, evaluated eagerly in the tensors' own
    dtype (fp16 in half arithmetic: the worst TensorRT's layers may do), reductions in fp32."""

    float32, float16 = np.float32, np.float16

    class ElementWiseOperation:
        SUM, DIV, PROD = "add", "divide", "multiply"

    class ReduceOperation:
        AVG = "mean"

    class UnaryOperation:
        SQRT = "sqrt"

    Weights = staticmethod(lambda a: a)

    def add_constant(self, shape: tuple, weights: np.ndarray) -> _Layer:
        return _Layer(lambda _: weights.reshape(shape))

    def add_elementwise(self, a: _Tensor, b: _Tensor, op: str) -> _Layer:
        def run(_: _Layer) -> np.ndarray:
            with np.errstate(all="ignore"):
                return getattr(np, op)(a.value, b.value).astype(a.value.dtype)
        return _Layer(run)

    def add_shuffle(self, t: _Tensor) -> _Layer:
        return _Layer(lambda layer: t.value.reshape(layer.reshape_dims))

    def add_reduce(self, t: _Tensor, op: str, axes: int, keep: bool) -> _Layer:
        axis = tuple(i for i in range(t.value.ndim) if axes >> i & 1)
        return _Layer(lambda _: getattr(np, op)(t.value.astype(np.float32), axis=axis, keepdims=keep).astype(t.value.dtype))

    def add_cast(self, t: _Tensor, dtype: type) -> _Layer:
        return _Layer(lambda _: t.value.astype(dtype))

    def add_unary(self, t: _Tensor, op: str) -> _Layer:
        return _Layer(lambda _: getattr(np, op)(t.value))

    def add_normalization(self, x: _Tensor, scale: _Tensor, bias: _Tensor, axes: int) -> _Layer:
        def run(layer: _Layer) -> np.ndarray:
            axis = tuple(i for i in range(x.value.ndim) if axes >> i & 1)
            v = x.value.astype(np.float32)
            mean = v.mean(axis=axis, keepdims=True)
            var = ((v - mean) ** 2).mean(axis=axis, keepdims=True)
            y = (v - mean) / np.sqrt(var + np.float32(layer.epsilon)) * scale.value + bias.value
            return y.astype(x.value.dtype)
        return _Layer(run)


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", ["layer_norm_native", "residual_rms_norm_native"])
def test_the_native_twins_compute_the_reference_with_outputs_in_order(name: str, dtype: str) -> None:
    spec = OPERATORS[name]
    num = numerics_of(spec)
    shape = (8, 3, 256)
    x = ref.random_input(shape, dtype, 4, generator=spec.inputs[0].generator)
    others = [ref.to_device_dtype(ref.to_float64(a, dt).astype(np.float32), dt)
              for a, dt in __import__("trt_plugin_bench.core.specs", fromlist=["aux_arrays"]).aux_arrays(spec, shape, dtype)]
    keep: list = []
    layers = spec.fn("native_twin")(NumpyNetwork, NumpyNetwork(), [_Tensor(x), *(_Tensor(a) for a in others)], dtype,
                                    keep, eps=spec.fields[0].default)
    # populate_network's rule: output 0 of each of the last M layers, in order (one layer: its outputs)
    outs = [layer.get_output(0).value for layer in layers[-len(spec.outputs):]]
    for j, y in enumerate(outs):
        assert y.shape == shape
        check = ref.check_output(y, x, num, dtype, output=j, tensorrt_layers=True)
        # fp16 elementwise layers in half arithmetic: a rounding per layer (the accuracy table reports
        # TensorRT's own); the statistics in fp32, so no overflow on the edge rows
        assert check.ok if dtype == "fp32" else check.max_bound_ratio < 4, (name, j, check.message)


# -- the DAG on the CPU (CI): tests/configs/norm-small.yaml ----------------------------------------------
NORM_OPS = ("layer_norm_native", "layer_norm_plugin", "residual_rms_norm_native", "residual_rms_norm_plugin")


@pytest.fixture(scope="module")
def norm_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess
    import sys

    from project_copy import copy_project

    project = copy_project(tmp_path_factory.mktemp("norm"))
    shutil.copy2(ROOT / "tests" / "configs" / "norm-small.yaml", project / "tests" / "configs")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile",
                           "tests/configs/norm-small.yaml"], cwd=project, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.mark.slow
def test_the_row_norms_run_through_every_rule_on_the_cpu(norm_project: Path) -> None:
    import pandas as pd

    tables = norm_project / "results" / "norm-small" / "tables"
    lat = pd.read_csv(tables / "latency.csv")
    assert set(lat["operator"]) == set(NORM_OPS) and lat["verified"].all()
    for _, r in lat.iterrows():  # the roofline's bytes are each cost model's
        spec = OPERATORS[r["operator"]]
        shape = tuple(int(v) for v in r["shape"].split("x"))
        assert r["bytes_moved"] == spec.cost_of(spec.all_shapes(shape), r["dtype"])["bytes"], (r["operator"], shape)
    acc = pd.read_csv(tables / "accuracy.csv")
    assert set(acc["operator"]) == set(NORM_OPS) and acc["within_tolerance"].all()
    compare = pd.read_csv(tables / "compare.csv")
    assert {("layer_norm_plugin", "layer_norm_native"), ("residual_rms_norm_plugin", "residual_rms_norm_native")} == \
        set(zip(compare["operator_a"], compare["operator_b"]))
    assert (pd.read_csv(tables / "dynamic.csv").query("in_profile")["status"] == "ok").all()
    assert sorted(p.stem for p in (norm_project / "results" / "norm-small" / "conformance").glob("*.json")) == \
        sorted(NORM_OPS)
    summary = (tables / "summary.md").read_text()
    assert "CPU timings, not TensorRT" in summary and "layer_norm_plugin ÷ layer_norm_native" in summary


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the planner is in a CUDA header; no GPU needed)")
def test_the_row_launch_planner_covers_every_row(tmp_path: Path) -> None:
    """plugin/tests/rowNormPlanCheck.cu, host only: the rows shapes' plans (prefetch chunks from the
    occupancy-derived resident units, row pairs) reach every row under the grid cap, with planted short
    chunks and grids caught by the same checks."""
    exe = tmp_path / "row_norm_plan_check"
    # paths relative to plugin/: nvcc hands them to the host compiler through sh, which would expand a `$`
    # of the checkout's path (CI's has one)
    build = subprocess.run(["nvcc", "-std=c++17", "-I", "common", "-o", str(exe), "tests/rowNormPlanCheck.cu"],
                           capture_output=True, text=True, cwd=PLUGIN_DIR)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and ", 0 failed" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
