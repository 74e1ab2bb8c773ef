"""GELU's specs (ops/gelu) on the CPU: the float64 reference against textbook forms and known values,
the CPU implementation (the fp32 kernels' math) within the ulp model on random and edge inputs, the
TensorRT-native twins evaluated on numpy layers, the kernel ids against the names geluKernels.def gives
the library, and the plugins' field validation (against TensorRT headers, where TENSORRT_INCLUDE_DIR
names some: CI has none)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf
from trt_plugin_bench.core import oracle
from trt_plugin_bench.core.operators import OPERATORS, KernelIdMismatch, check_kernel_ids
from trt_plugin_bench.core.specs import numerics_of

ROOT = Path(__file__).resolve().parents[1]
GELU_DIR = ROOT / "plugin" / "geluPlugin"
PLUGINS = ("gelu_plugin", "gelu_plugin_naive", "gelu_plugin_v3", "gelu_tanh_plugin", "gelu_tanh_plugin_v3")
NATIVES = ("gelu_native", "gelu_tanh_native")
FORM = {name: (1 if "tanh" in name else 0) for name in (*PLUGINS, *NATIVES)}
EDGES = np.array([0.0, -0.0, 1e-38, -1e-38, 1e-6, -1e-6, 1.0, -1.0, 3.0, -3.0, -5.5, -9.5, -10.3, -13.1, -13.5,
                  -14.0, -20.0, 60000.0, -60000.0, np.inf, -np.inf, np.nan])
CC = next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)


def gelu_module():  # noqa: ANN201 - the spec's own module, imported the way the loader does
    return sys.modules[OPERATORS["gelu_plugin"].fn("reference").__module__]


def test_the_gelu_operators_are_built_in() -> None:
    assert {*PLUGINS, *NATIVES} <= set(OPERATORS)
    for name in PLUGINS:
        spec = OPERATORS[name]
        assert spec.plugin.creator == "Gelu" and spec.plugin.init == "initTpbOpsPlugins"
        assert spec.plugin.library.target == "libtpb_ops_plugin.so"
        assert spec.plugin.version == ("2" if name.endswith("_v3") else "1")
        assert [f.name for f in spec.fields] == ["approximation", "kernel", "kernel_table"]
        assert {f.name: f.default for f in spec.fields}["approximation"] == FORM[name]
        assert spec.variants.direct_library == "libtpb_ops_kernels.so"
        assert spec.variants.direct_launch == ("tpbGeluTanhLaunch" if FORM[name] else "tpbGeluErfLaunch")
    assert OPERATORS["gelu_plugin"].native_operator == "gelu_native"
    assert OPERATORS["gelu_tanh_plugin"].native_operator == "gelu_tanh_native"
    assert OPERATORS["gelu_plugin_naive"].kernel == "naive"
    for name in NATIVES:
        assert OPERATORS[name].implementation == "native" and OPERATORS[name].tensorrt_layers


def test_the_reference_matches_the_textbook_forms_where_they_do_not_cancel() -> None:
    g = gelu_module()
    x = np.linspace(0.0, 8.0, 4001)
    np.testing.assert_allclose(g.gelu64(x, 0), 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))), rtol=1e-15, atol=0)
    u = np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)
    np.testing.assert_allclose(g.gelu64(x, 1), 0.5 * x * (1.0 + np.tanh(u)), rtol=1e-14, atol=0)
    # GELU(x) - GELU(-x) = x (Phi(x) + Phi(-x) = 1), also where 1 + erf cancels for -x
    for form in (0, 1):
        np.testing.assert_allclose(g.gelu64(x, form) - g.gelu64(-x, form), x, rtol=1e-14, atol=1e-300)
    # known values: Phi(-1) = 0.158655253931457, Phi(-5) = 2.866515718791939e-07 (relative error, not absolute)
    np.testing.assert_allclose(g.gelu64(np.array([-1.0, -5.0]), 0), [-0.158655253931457, -5 * 2.866515718791939e-07],
                               rtol=1e-13)
    assert g.gelu64(np.array([-10.0]), 0)[0] < 0 and g.gelu64(np.array([-10.0]), 0)[0] > -1e-22  # no cancellation to 0


def test_edge_values_of_the_reference() -> None:
    g = gelu_module()
    for form in (0, 1):
        y = g.gelu64(EDGES, form)
        assert np.signbit(y[1]) and y[0] == 0.0 and not np.signbit(y[0]), "signed zeros kept"
        assert y[EDGES.tolist().index(np.inf)] == np.inf
        assert np.isnan(y[-1]) and np.isnan(y[-2]), "NaN in, and -inf (-inf * 0), give NaN"
        assert y[EDGES.tolist().index(60000.0)] == 60000.0 and y[EDGES.tolist().index(-60000.0)] == 0.0


@pytest.mark.parametrize("name", ["gelu_plugin", "gelu_tanh_plugin"])
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_the_cpu_implementation_is_within_the_ulp_model(name: str, dtype: str) -> None:
    """The fp32 kernels' math (gelu_float32) against the float64 reference in ulps of the dtype, on
    random inputs, a dense grid through the tails (fp32's subnormal results included) and the edges."""
    spec = OPERATORS[name]
    num = numerics_of(spec)
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0.0, 3.0, 50_000), np.linspace(-16.0, 16.0, 64_001), EDGES]).astype(np.float32)
    x = oracle.to_device_dtype(x, dtype)
    x32 = oracle.to_float64(x, dtype).astype(np.float32)
    out = oracle.to_device_dtype(num.cpu_of(x32, 1.0, dtype), dtype)
    result = oracle.check_output(out, x, num, dtype)
    assert result.ok, result.message
    assert result.max_bound_ratio < (0.5 if dtype == "fp32" else 1.0), result.message


@pytest.mark.parametrize("form", [0, 1])
def test_the_bound_rejects_a_planted_error(form: int) -> None:
    """One ulp beyond the bound fails; the bound is finite and at least 1 ulp on finite inputs."""
    g = gelu_module()
    x = np.linspace(-12.0, 12.0, 2001)
    bound = g.gelu_ulp_bound(x, "fp32", False, form)
    assert np.all(np.isfinite(bound)) and np.all(bound >= 1.0)
    assert np.all(g.gelu_ulp_bound(x, "fp16", False, form) == 1.0)
    spec = OPERATORS["gelu_tanh_plugin" if form else "gelu_plugin"]
    x32 = x.astype(np.float32)
    ref = g.gelu64(x32.astype(np.float64), form)
    i = int(np.argmax(np.abs(ref) > 1.0))
    bad = ref.astype(np.float32)
    bad[i] = np.float32(ref[i] - np.sign(ref[i]) * (bound[i] + 2) * oracle.ulp(ref[i : i + 1], "fp32")[0])
    result = oracle.check_output(bad, x32, numerics_of(spec), "fp32")
    assert not result.ok and result.mismatches == 1, result.message


# -- the twins on numpy layers ------------------------------------------------------------------------
class _Tensor:
    def __init__(self, value: np.ndarray) -> None:
        self.value, self.shape = value, value.shape


class _Layer:
    def __init__(self, value: np.ndarray) -> None:
        self.out = _Tensor(value)

    def get_output(self, index: int) -> _Tensor:
        return self.out


class NumpyTrt:
    """The few tensorrt names a GELU twin uses, evaluated eagerly in the tensors' own dtype (fp16 in half
    arithmetic: the worst TensorRT's layers may do)."""

    class ElementWiseOperation:
        SUM, PROD = "add", "multiply"

    class UnaryOperation:
        ERF = "erf"

    class ActivationType:
        TANH = "tanh"

    Weights = staticmethod(lambda a: a)


class NumpyNetwork:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    def add_constant(self, shape: tuple, weights: np.ndarray) -> _Layer:
        self.kinds.append("constant")
        return _Layer(weights.reshape(shape))

    def add_elementwise(self, a: _Tensor, b: _Tensor, op: str) -> _Layer:
        self.kinds.append(f"elementwise {op}")
        with np.errstate(all="ignore"):
            return _Layer(getattr(np, op)(a.value, b.value).astype(a.value.dtype))

    def add_unary(self, a: _Tensor, op: str) -> _Layer:
        self.kinds.append(f"unary {op}")
        return _Layer(erf(a.value.astype(np.float64)).astype(a.value.dtype))

    def add_activation(self, a: _Tensor, kind: str) -> _Layer:
        self.kinds.append(f"activation {kind}")
        return _Layer(np.tanh(a.value))


@pytest.mark.parametrize("name", NATIVES)
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_the_native_twin_computes_the_reference(name: str, dtype: str) -> None:
    spec = OPERATORS[name]
    twin = spec.fn("native_twin")
    rng = np.random.default_rng(3)
    x = oracle.to_device_dtype(np.concatenate([rng.normal(0.0, 3.0, 4000), EDGES]).astype(np.float32), dtype)
    net, keep = NumpyNetwork(), []
    layers = twin(NumpyTrt, net, [_Tensor(x)], dtype, keep, approximation=FORM[name])
    assert keep and layers
    assert ("unary erf" in net.kinds) == (FORM[name] == 0) and ("activation tanh" in net.kinds) == (FORM[name] == 1)
    result = oracle.check_output(layers[-1].get_output(0).value, x, numerics_of(spec), dtype, tensorrt_layers=True)
    assert result.ok, result.message


def test_cost_model_counts_one_read_and_one_write() -> None:
    for name in PLUGINS:
        cost = OPERATORS[name].cost_of([(16, 1024)], "fp16", {"approximation": FORM[name]})
        assert cost["bytes"] == 2 * 16 * 1024 * 2 and cost["flops"] > 0


# -- kernel ids: kernel_ids.csv against the names the library gets from geluKernels.def -------------------
def names_library(tmp_path: Path, tag: str, rename: dict[int, str] | None = None) -> tuple[ctypes.CDLL, Path]:
    """A shared library exporting tpbGeluKernelCount / tpbGeluKernelName expanded from geluKernels.def
    with the X-macro the real library uses (geluKernel.cu's name table), ids optionally renamed."""
    if CC is None:
        pytest.skip("no C++ compiler (c++, g++, clang++) to build the kernel-name library")
    overrides = "".join(f"    if (k == {k}) return \"{v}\";\n" for k, v in (rename or {}).items())
    source = tmp_path / f"{tag}.cpp"
    source.write_text(
        "static const char* const kNames[] = {\n"
        "#define TPB_GELU_KERNEL(name, label, vectors, block, policy) label,\n"
        '#include "geluKernels.def"\n'
        "#undef TPB_GELU_KERNEL\n};\n"
        'extern "C" int tpbGeluKernelCount(void) { return sizeof(kNames) / sizeof(kNames[0]); }\n'
        'extern "C" const char* tpbGeluKernelName(int k) {\n'
        f"{overrides}"
        "    return k >= 0 && k < tpbGeluKernelCount() ? kNames[k] : nullptr;\n}\n")
    lib = tmp_path / f"lib{tag}.so"
    subprocess.run([CC, "-shared", "-fPIC", "-I", str(GELU_DIR), "-o", str(lib), str(source)], check=True,
                   capture_output=True)
    return ctypes.CDLL(str(lib)), lib


def test_kernel_ids_match_the_names_the_library_is_built_with(tmp_path: Path) -> None:
    for name in PLUGINS:
        check_kernel_ids(*names_library(tmp_path, "gelu_names"), OPERATORS[name].variants)
    live, retired, count = OPERATORS["gelu_plugin"].variants.table()
    assert live["naive"] == 0 and not retired and count == len(live) >= 4
    assert OPERATORS["gelu_plugin"].variants.default in live


def test_a_kernel_id_file_out_of_step_with_the_library_is_refused(tmp_path: Path) -> None:
    lib, path = names_library(tmp_path, "gelu_swapped", {2: "vectorized_oneshot_x1", 1: "vectorized_oneshot"})
    with pytest.raises(KernelIdMismatch, match="kernel id 1 is 'vectorized_oneshot_x1' in .*kernel_ids.csv"):
        check_kernel_ids(lib, path, OPERATORS["gelu_plugin"].variants)


# -- the plugins' fields, against TensorRT headers (skipped without) --------------------------------------
def include_dirs() -> list[str]:
    return [d for d in os.environ.get("TENSORRT_INCLUDE_DIR", "").split(os.pathsep) if d]


@pytest.mark.parametrize("include_dir", include_dirs() or [pytest.param("", marks=pytest.mark.skip(
    reason="TENSORRT_INCLUDE_DIR names no TensorRT include dir (CI has none): the field check needs NvInferRuntime.h"))])
def test_bad_field_values_are_refused_with_a_clear_message(tmp_path: Path, include_dir: str) -> None:
    """plugin/tests/geluFieldCheck.cpp: parseGeluFields and readGeluRecord refuse every bad value, the
    message naming the field; good values and records pass. Host only (the launch is a stub)."""
    cuda_include = next((d for d in ("/usr/local/cuda/include", "/usr/include") if Path(d, "cuda_runtime_api.h").exists()),
                        None)
    if CC is None or cuda_include is None:
        pytest.skip("no C++ compiler or no cuda_runtime_api.h (TensorRT's headers include it)")
    plugin = ROOT / "plugin"
    exe = tmp_path / "gelu_field_check"
    build = subprocess.run(
        [CC, "-std=c++17", "-Wall", "-Wextra", "-Wno-deprecated-declarations", "-DTPB_LOG_PREFIX_ID=TpbOps",
         "-isystem", include_dir, "-isystem",
         cuda_include, "-I", str(plugin / "common"), "-I", str(GELU_DIR), "-o", str(exe),
         str(plugin / "tests" / "geluFieldCheck.cpp"), str(GELU_DIR / "geluPluginParams.cpp"),
         str(GELU_DIR / "geluRecord.cpp"), str(plugin / "common" / "pluginRecord.cpp"),
         str(plugin / "common" / "pluginLog.cpp")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "gelu_field_check: all passed" in run.stdout


ROW_NORM_STUBS = r"""
#include "layerNormKernel.h"
#include "residualRmsNormKernel.h"
namespace tpb
{
namespace
{
char const* const kLayerNormNames[] = {
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape) #name,
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
};
char const* const kResidualRmsNormNames[] = {
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape) #name,
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
};
} // namespace
bool isValidLayerNormKernel(int32_t k) noexcept { return k >= 0 && k < kLayerNormKernelCount; }
char const* layerNormKernelName(int32_t k) noexcept { return isValidLayerNormKernel(k) ? kLayerNormNames[k] : nullptr; }
cudaError_t launchLayerNorm(void const*, void const*, void const*, void*, int64_t, int64_t, float, RowNormDataType,
    LayerNormKernel, cudaStream_t) noexcept { return cudaSuccess; }
bool isValidResidualRmsNormKernel(int32_t k) noexcept { return k >= 0 && k < kResidualRmsNormKernelCount; }
char const* residualRmsNormKernelName(int32_t k) noexcept
{
    return isValidResidualRmsNormKernel(k) ? kResidualRmsNormNames[k] : nullptr;
}
cudaError_t launchResidualRmsNorm(void const*, void const*, void const*, void*, void*, int64_t, int64_t, float,
    RowNormDataType, ResidualRmsNormKernel, cudaStream_t) noexcept { return cudaSuccess; }
} // namespace tpb
"""


@pytest.mark.parametrize("include_dir", include_dirs() or [pytest.param("", marks=pytest.mark.skip(
    reason="TENSORRT_INCLUDE_DIR names no TensorRT include dir (CI has none): the creator check needs TensorRT headers"))])
def test_the_ops_library_creators_and_gelu_plugins_on_the_host(tmp_path: Path, include_dir: str) -> None:
    """plugin/tests/opsCreatorCheck.cpp over api/opsPluginLibrary.cpp and the GELU plugin sources (the CUDA
    launch a stub): the entry points list the creators; create, formats, serialize/deserialize, a corrupted
    record, clone; the V3 plugin with TensorRT >= 10 headers."""
    cuda_include = next((d for d in ("/usr/local/cuda/include", "/usr/include") if Path(d, "cuda_runtime_api.h").exists()),
                        None)
    if CC is None or cuda_include is None:
        pytest.skip("no C++ compiler or no cuda_runtime_api.h (TensorRT's headers include it)")
    plugin = ROOT / "plugin"
    # the library registers the row norms too: their plugin sources, and their kernels' host entry
    # points stubbed (names from their one table, launches that do nothing) as GELU's launch is
    row_norms = [("layerNormPlugin", "layerNorm"), ("residualRmsNormPlugin", "residualRmsNorm")]
    stubs = tmp_path / "row_norm_kernel_stubs.cpp"
    stubs.write_text(ROW_NORM_STUBS)
    sources = [plugin / "tests" / "opsCreatorCheck.cpp", plugin / "api" / "opsPluginLibrary.cpp", stubs,
               *(GELU_DIR / f for f in ("geluPluginParams.cpp", "geluPluginLegacy.cpp", "geluPlugin.cpp", "geluRecord.cpp")),
               *(plugin / d / f"{op}{f}" for d, op in row_norms for f in ("PluginParams.cpp", "PluginLegacy.cpp",
                                                                         "Plugin.cpp")),
               *(plugin / "common" / f for f in ("pluginRecord.cpp", "pluginLog.cpp", "creatorNamespace.cpp",
                                                 "creatorRegistration.cpp"))]
    exe = tmp_path / "ops_creator_check"
    build = subprocess.run(
        [CC, "-std=c++17", "-Wall", "-Wextra", "-Wno-deprecated-declarations", "-DTPB_LOG_PREFIX_ID=TpbOps",
         "-DTPB_PLUGIN_NAMESPACE_ID=", "-isystem", include_dir, "-isystem", cuda_include, "-I", str(plugin),
         "-I", str(plugin / "common"), "-I", str(GELU_DIR), *(a for d, _ in row_norms for a in ("-I", str(plugin / d))),
         "-o", str(exe), *map(str, sources), "-ldl", "-pthread"],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "ops_creator_check: all passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
