"""GPU suite, plugin creators: field validation and where the plugin's rejection reasons end up.

Skipped, with the reason, where TensorRT, pycuda or a GPU is missing. Run on the GPU host:
`python3 -m pytest -m gpu tests/test_gpu_plugin.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gpu_env import require_gpu

pytestmark = pytest.mark.gpu

trt, cuda = require_gpu()

from trt_plugin_bench.backends import get_backend  # noqa: E402
from trt_plugin_bench.backends.base import EngineSpec  # noqa: E402
from trt_plugin_bench.commands import sweeps  # noqa: E402
from trt_plugin_bench.commands.compile import compile_plugin  # noqa: E402
from trt_plugin_bench.core import oracle as ref  # noqa: E402
from trt_plugin_bench.core.operators import OPERATORS, kernel_ids  # noqa: E402

KERNEL_IDS = kernel_ids(OPERATORS["swish_plugin"])  # ops/swish/kernel_ids.csv
from trt_plugin_bench.commands.tune import _build_one  # noqa: E402

TRT_MAJOR = int(trt.__version__.split(".")[0])
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def plugin_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("TPB_TEST_BUILD_DIR", tmp_path_factory.mktemp("plugin-build")))
    manifest = out / "manifest.json"
    compile_plugin("tensorrt", out / "plugin", manifest, out / "cmake.log", op_specs=list(OPERATORS.values()))
    return manifest


@pytest.fixture(scope="session")
def plugin_library(plugin_manifest: Path) -> Path:
    """libswish_plugin.so, by Swish's spec (the manifest's main library is the first spec's)."""
    return sweeps.plugin_library_from_manifest(plugin_manifest, OPERATORS["swish_plugin"])


@pytest.fixture(scope="session")
def registry(plugin_library: Path) -> trt.IPluginRegistry:
    """The process's plugin registry with the Swish creators registered (the backend's own path)."""
    get_backend("tensorrt").load_library_of(OPERATORS["swish_plugin"], plugin_library)
    return trt.get_plugin_registry()


def _field(name: str, value: float | int) -> trt.PluginField:
    if isinstance(value, float):
        return trt.PluginField(name, np.array([value], np.float32), trt.PluginFieldType.FLOAT32)
    return trt.PluginField(name, np.array([value], np.int32), trt.PluginFieldType.INT32)


def _collections() -> dict[str, trt.PluginFieldCollection]:
    rng = np.random.default_rng(20261124)
    beta, other_beta = (float(b) for b in rng.uniform(0.25, 2.0, size=2))
    kernel = int(rng.choice(sorted(KERNEL_IDS.values())))  # a valid id (11 and 15 are retired)
    return {
        # Before the fix: "Beta" was ignored with a warning and the plugin built with beta = 1.
        "misspelled Beta": trt.PluginFieldCollection([_field("Beta", beta), _field("kernel", kernel)]),
        # Before the fix: the last "beta" won silently.
        "two beta": trt.PluginFieldCollection([_field("beta", beta), _field("kernel", kernel),
                                               _field("beta", other_beta)]),
        "valid": trt.PluginFieldCollection([_field("beta", beta), _field("kernel", kernel)]),
    }


def test_v2_creator_refuses_unknown_and_repeated_fields(registry: trt.IPluginRegistry) -> None:
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    creator = lookup("Swish", "1", "")
    assert creator is not None, "the Swish v1 creator is not registered"
    fields = _collections()
    assert creator.create_plugin("valid", fields["valid"]) is not None, "the control collection was refused"
    for what in ("misspelled Beta", "two beta"):
        assert creator.create_plugin(what, fields[what]) is None, f"{what}: a plugin was created"


@pytest.mark.skipif(TRT_MAJOR < 10, reason="IPluginV3 needs TensorRT >= 10")
def test_v3_creator_refuses_unknown_and_repeated_fields(registry: trt.IPluginRegistry) -> None:
    creator = registry.get_creator("Swish", "2", "")
    assert creator is not None, "the Swish v2 (IPluginV3) creator is not registered"
    fields = _collections()
    for phase in (trt.TensorRTPhase.BUILD, trt.TensorRTPhase.RUNTIME):
        assert creator.create_plugin("valid", fields["valid"], phase) is not None, f"{phase}: control refused"
        for what in ("misspelled Beta", "two beta"):
            assert creator.create_plugin(what, fields[what], phase) is None, f"{phase} {what}: a plugin was created"


# Runs in a fresh process so that nothing else has touched the library's logger finder or
# TensorRT's global logger: the library is registered only through ctypes + initSwishPlugins (as
# load_library_of does when registry.load_library fails), never through TensorRT's loader, so
# no setLoggerFinder call reaches it. The backend is created first, so its CapturingLogger is the
# process's first TensorRT logger: the one libnvinfer's getLogger() returns.
_BUILD_WITH_REFUSED_FIELDS = r"""
import ctypes, sys
from pathlib import Path
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.backends.tensorrt_backend import BuildError, TensorRTBackend

library, engine_path = sys.argv[1], sys.argv[2]
backend = TensorRTBackend()
handle = ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
init = handle.initSwishPlugins
init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
print("REGISTERED", init(b""), flush=True)
spec = EngineSpec(operator="swish_plugin", function="swish", implementation="plugin_v2",
                  kernel="vectorized_oneshot", dtype="fp32", profile="t", min=(1, 96), opt=(8, 96),
                  max=(64, 96), beta=float("inf"))  # beta must be finite: the creator refuses it
try:
    backend.build(spec, Path(engine_path), Path(library), {"workspace_mib": 64, "profiles_per_engine": 1})
except BuildError as exc:
    print("BUILD_ERROR", str(exc).replace("\n", " "))
else:
    print("NO_BUILD_ERROR")
print("REGISTRATION", repr(backend.plugin_registration))
print("LOGGER", " | ".join(m.replace("\n", " ") for m in backend.logger.messages))
"""


def test_a_choice_table_runs_each_bands_kernel(tmp_path: Path, plugin_library: Path) -> None:
    """plugin_kernel auto: the plugin applies its kernel_table field per input size. The naive kernel
    (IEEE expf and division) and the one-shot kernels (fast math) differ in the last bits of some fp32
    outputs, so the output's bits tell which kernel ran: at or below the first band's 16 KiB the
    naive one, above it x1. Before the field existed the table was ignored (or refused)."""
    backend = get_backend("tensorrt")
    base = dict(operator="swish_plugin", function="swish", implementation="plugin_v2", dtype="fp32", profile="t",
                min=(1,), opt=(4096,), max=(1 << 16,), beta=1.0)
    engines = {}
    for name, kernel, table in (("naive", "naive", ()), ("x1", "vectorized_oneshot_x1", ()),
                                ("table", "vectorized_oneshot_x1", ((16, "naive"), (-1, "vectorized_oneshot_x1")))):
        path = tmp_path / f"{name}.engine"
        # with its build record, which load() checks the engine against (built bare, it was refused as
        # corrupt on the H200, 2026-12-02)
        _build_one("tensorrt", EngineSpec(kernel=kernel, kernel_table=table, **base).to_json(), str(path),
                   str(plugin_library), {"optimization_level": 0})
        engines[name] = backend.load(path, plugin_library)
    assert engines["table"].spec.kernel_table == ((16, "naive"), (-1, "vectorized_oneshot_x1"))
    rng = np.random.default_rng(20261202)
    for n, expected in ((4096, "naive"), (4097, "x1"), (30000, "x1"), (1000, "naive")):  # 16 KiB = 4096 fp32
        x = rng.uniform(-12, 12, n).astype(np.float32)
        out = {name: e.infer(x) for name, e in engines.items()}
        assert engines["table"].check(out["table"], x).ok
        other = "x1" if expected == "naive" else "naive"
        assert not np.array_equal(out["naive"].view(np.uint32), out["x1"].view(np.uint32)), "the kernels agree: vacuous"
        assert np.array_equal(out["table"].view(np.uint32), out[expected].view(np.uint32)), (n, expected)
        assert not np.array_equal(out["table"].view(np.uint32), out[other].view(np.uint32)), (n, other)
    for e in engines.values():
        e.close()


def test_build_error_carries_the_plugin_rejection_text(tmp_path: Path, plugin_library: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "workflow"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-c", _BUILD_WITH_REFUSED_FIELDS, str(plugin_library),
                           str(tmp_path / "refused.engine")], env=env, capture_output=True, text=True, timeout=300)
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, report
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[-1] for line in proc.stdout.splitlines() if " " in line}
    assert int(lines.get("REGISTERED", "-1")) >= 1, report
    assert lines.get("REGISTRATION") == "''", f"the creators were not registered by initSwishPlugins alone\n{report}"
    rejection = "[Swish] Swish v1 createPlugin: beta must be finite"
    # The plugin's message must reach TensorRT's logger (before the fix it went to stderr) ...
    assert rejection in lines.get("LOGGER", ""), f"the plugin's rejection did not reach the TensorRT logger\n{report}"
    # ... and from there the BuildError the pipeline reports.
    assert "BUILD_ERROR" in lines, report
    assert rejection in lines["BUILD_ERROR"], f"the BuildError lacks the plugin's rejection text\n{report}"


# -- the row norms (ops/layer_norm, ops/residual_rms_norm): creators and engines ------------------------
# Built and run with TensorRT's own API here (every input and output bound by name), so these checks do
# not depend on the pipeline runtime's I/O binding.
from trt_plugin_bench.backends.trt_common import OUTPUT  # noqa: E402
from trt_plugin_bench.backends.trt_engine import tactic_sources_without_libraries  # noqa: E402
from trt_plugin_bench.backends.trt_network import input_names, network_flags, populate_network  # noqa: E402
from trt_plugin_bench.backends.trt_network import input_profiles as _input_profiles  # noqa: E402
from trt_plugin_bench.core import oracle  # noqa: E402
from trt_plugin_bench.core.specs import aux_arrays, numerics_of  # noqa: E402

ROW_NORM_CREATORS = {"layer_norm_plugin": "TpbLayerNorm", "residual_rms_norm_plugin": "TpbResidualRmsNorm"}


@pytest.fixture(scope="session")
def ops_library(plugin_library: Path) -> Path:
    """The row norms' plugin library (libtpb_ops_plugin.so), where the same compile put it (its manifest)."""
    manifest = next((p / "manifest.json" for p in plugin_library.parents if (p / "manifest.json").is_file()), None)
    lib = sweeps.plugin_library_from_manifest(manifest, OPERATORS["layer_norm_plugin"]) if manifest else None
    lib = Path(lib) if lib else plugin_library.with_name("libtpb_ops_plugin.so")
    assert lib.is_file(), f"no row-norm plugin library at {lib}"
    return lib


@pytest.mark.parametrize("op", sorted(ROW_NORM_CREATORS))
def test_row_norm_v2_creators_refuse_bad_fields(ops_library: Path, op: str) -> None:
    get_backend("tensorrt").load_library_of(OPERATORS[op], ops_library)
    creator = trt.get_plugin_registry().get_plugin_creator(ROW_NORM_CREATORS[op], "1", "")
    assert creator is not None, f"{ROW_NORM_CREATORS[op]} v1 is not registered"
    assert [f.name for f in creator.field_names] == ["eps", "kernel", "kernel_table"]
    refused = {"eps 0": [_field("eps", 0.0)], "eps -1": [_field("eps", -1.0)], "eps nan": [_field("eps", float("nan"))],
               "eps inf": [_field("eps", float("inf"))], "kernel 99": [_field("kernel", 99)],
               "misspelled Eps": [_field("Eps", 1e-5)], "two eps": [_field("eps", 1e-5), _field("eps", 1e-6)],
               "eps as int32": [_field("eps", 1)]}
    for what, fields in refused.items():
        assert creator.create_plugin(op, trt.PluginFieldCollection(fields)) is None, what
    for kernel in kernel_ids(OPERATORS[op]).values():
        ok = creator.create_plugin(op, trt.PluginFieldCollection([_field("eps", 1e-5), _field("kernel", kernel)]))
        assert ok is not None, kernel


def _row_norm_engine(op: str, dtype: str, lo: tuple, opt: tuple, hi: tuple, kernel: str, plugin_library: Path):  # noqa: ANN202
    """(engine, spec) of ``op`` built with the pipeline's own network (populate_network)."""
    backend = get_backend("tensorrt")
    o = OPERATORS[op]
    if o.uses_plugin:
        backend.load_library_of(o, plugin_library)
    spec = EngineSpec(operator=op, function=o.function, implementation=o.implementation, kernel=kernel, dtype=dtype,
                      profile="t", min=lo, opt=opt, max=hi, beta=1.0)
    builder = trt.Builder(backend.logger)
    strongly_typed = TRT_MAJOR >= 10
    network = builder.create_network(network_flags(strongly_typed))
    half = dtype == "fp16" and not strongly_typed
    keep: list = []
    populate_network(network, spec, half, keep)
    config = builder.create_builder_config()
    config.set_tactic_sources(tactic_sources_without_libraries())
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 256 << 20)
    config.builder_optimization_level = 0
    if half:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    profile = builder.create_optimization_profile()
    for name, a, b, c in _input_profiles(o, spec):
        profile.set_shape(name, a, b, c)
    config.add_optimization_profile(profile)
    blob = builder.build_serialized_network(network, config)
    assert blob is not None, f"{op} {dtype}: the build failed: {backend.logger.errors()}"
    engine = backend.runtime.deserialize_cuda_engine(blob)
    assert engine is not None
    return engine, o


def _run_row_norm(engine, o, shape: tuple, dtype: str, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:  # noqa: ANN001
    """x, then every output of one inference at ``shape`` (inputs from the spec's generators)."""
    x = oracle.random_input(shape, dtype, seed, generator=o.inputs[0].generator)
    others = [a for a, _ in aux_arrays(o, shape, dtype)[: len(o.inputs) - 1]]
    ctx = engine.create_execution_context()
    stream = cuda.Stream()
    keep = []
    for name, host in zip(input_names(o), [x, *others]):
        host = np.ascontiguousarray(host)
        ctx.set_input_shape(name, host.shape)
        buf = cuda.mem_alloc(max(host.nbytes, 1))
        cuda.memcpy_htod(buf, host)
        ctx.set_tensor_address(name, int(buf))
        keep.append(buf)
    outs = []
    for j, spec_name in enumerate(o.outputs):
        name = OUTPUT if j == 0 else spec_name
        out_shape = tuple(ctx.get_tensor_shape(name))
        assert out_shape == tuple(shape), (name, out_shape, shape)
        host = np.full(out_shape, 7777.0, dtype=trt.nptype(engine.get_tensor_dtype(name)))  # poisoned
        buf = cuda.mem_alloc(max(host.nbytes, 1))
        cuda.memcpy_htod(buf, host)
        ctx.set_tensor_address(name, int(buf))
        outs.append((host, buf))
        keep.append(buf)
    assert ctx.execute_async_v3(stream.handle)
    stream.synchronize()
    results = []
    for host, buf in outs:
        cuda.memcpy_dtoh(host, buf)
        results.append(host)
    return x, results


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("hidden", [1024, 4096, 8192])
@pytest.mark.parametrize("op", ["layer_norm_plugin", "residual_rms_norm_plugin"])
def test_row_norm_plugin_engines_match_the_reference_and_the_twin_is_reported(ops_library: Path, op: str,
                                                                              hidden: int, dtype: str) -> None:
    o = OPERATORS[op]
    num = numerics_of(o)
    shapes = [(1, hidden), (37, hidden), (64, hidden)]
    for kernel in kernel_ids(o):  # every variant, the naive one included
        engine, _ = _row_norm_engine(op, dtype, (1, hidden), (16, hidden), (64, hidden), kernel, ops_library)
        for seed, shape in enumerate(shapes, 1):
            x, outs = _run_row_norm(engine, o, shape, dtype, seed)
            for j, y in enumerate(outs):
                check = oracle.check_output(y, x, num, dtype, output=j)
                assert check.ok, f"{op} {kernel} {dtype} {shape} output {o.outputs[j]}: {check.message}"
    twin_op = o.native_operator
    engine, twin = _row_norm_engine(twin_op, dtype, (1, hidden), (16, hidden), (64, hidden), "", ops_library)
    x, outs = _run_row_norm(engine, twin, (37, hidden), dtype, 99)
    for j, y in enumerate(outs):
        check = oracle.check_output(y, x, numerics_of(twin), dtype, output=j, tensorrt_layers=True)
        # TensorRT's own layers are reported, not held to the plugin's contract (the accuracy table's way)
        print(f"{twin_op} {dtype} hidden {hidden} output {twin.outputs[j]}: ok={check.ok} {check.message}")
        assert check.checked > 0


@pytest.mark.parametrize("op", ["layer_norm_plugin", "residual_rms_norm_plugin"])
def test_row_norm_plugins_take_any_rank_and_odd_hidden_sizes(ops_library: Path, op: str) -> None:
    o = OPERATORS[op]
    num = numerics_of(o)
    for dtype in ("fp32", "fp16"):
        engine, _ = _row_norm_engine(op, dtype, (1, 1, 1000), (2, 3, 1000), (4, 5, 1000), "registers", ops_library)
        x, outs = _run_row_norm(engine, o, (2, 5, 1000), dtype, 3)
        for j, y in enumerate(outs):
            check = oracle.check_output(y, x, num, dtype, output=j)
            assert check.ok, f"{op} {dtype} rank 3 hidden 1000 output {o.outputs[j]}: {check.message}"

# -- GELU (ops/gelu, libtpb_ops_plugin.so) -----------------------------------------------------------------
GELU_FORMS = {"gelu_plugin": 0, "gelu_plugin_naive": 0, "gelu_tanh_plugin": 1, "gelu_native": 0, "gelu_tanh_native": 1}


@pytest.fixture(scope="session")
def gelu_library(plugin_manifest: Path) -> Path:
    """libtpb_ops_plugin.so, registered through the backend's own path."""
    library = sweeps.plugin_library_from_manifest(plugin_manifest, OPERATORS["gelu_plugin"])
    assert library is not None and library.name == "libtpb_ops_plugin.so", library
    get_backend("tensorrt").load_library_of(OPERATORS["gelu_plugin"], library)
    return library


def test_gelu_kernel_ids_match_both_libraries(plugin_manifest: Path, gelu_library: Path) -> None:
    """ops/gelu/kernel_ids.csv against the names the built plugin and kernel libraries export."""
    import ctypes

    from trt_plugin_bench.core.operators import check_kernel_ids

    variants = OPERATORS["gelu_plugin"].variants
    kernels = Path(json.loads(plugin_manifest.read_text())["direct_libraries"]["libtpb_ops_kernels.so"])
    for library in (gelu_library, kernels):
        check_kernel_ids(ctypes.CDLL(str(library)), library, variants)


def test_gelu_creator_refuses_bad_fields(gelu_library: Path) -> None:
    registry = trt.get_plugin_registry()
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    creator = lookup("Gelu", "1", "")
    assert creator is not None, "the Gelu v1 creator is not registered"
    assert {f.name for f in creator.field_names} == {"approximation", "kernel", "kernel_table"}
    good = {form: trt.PluginFieldCollection([_field("approximation", form), _field("kernel", 2)]) for form in (0, 1)}
    for form, fields in good.items():
        assert creator.create_plugin(f"valid {form}", fields) is not None, f"approximation {form} was refused"
    bad = {
        "approximation 2": [_field("approximation", 2)],
        "approximation as float": [_field("approximation", 1.0)],
        "misspelled Approximation": [_field("Approximation", 1)],
        "two approximation": [_field("approximation", 0), _field("approximation", 1)],
        "kernel past the end": [_field("kernel", len(kernel_ids(OPERATORS["gelu_plugin"])))],
        "Swish's beta": [_field("beta", 1.0)],
    }
    for what, fields in bad.items():
        assert creator.create_plugin(what, trt.PluginFieldCollection(fields)) is None, f"{what}: a plugin was created"
    if TRT_MAJOR >= 10:
        v3 = registry.get_creator("Gelu", "2", "")
        assert v3 is not None, "the Gelu v2 (IPluginV3) creator is not registered"
        assert v3.create_plugin("valid", good[1], trt.TensorRTPhase.BUILD) is not None
        assert v3.create_plugin("bad", trt.PluginFieldCollection(bad["approximation 2"]), trt.TensorRTPhase.BUILD) is None


@pytest.mark.parametrize("op", list(GELU_FORMS))
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_gelu_engines_match_the_reference(tmp_path: Path, gelu_library: Path, op: str, dtype: str) -> None:
    """The plugin (erf and tanh forms, the default and the naive kernel) and its TensorRT twin, built as
    engines, on the spec's random and edge inputs at odd sizes and ranks: the plugin within the contract,
    the twin within TensorRT's side of the model (what the accuracy table reports), printed either way."""
    spec = OPERATORS[op]
    kernel = {"optimised": "vectorized_oneshot", "naive": "naive"}.get(spec.kernel or "", "")
    engine_spec = EngineSpec(operator=op, function=spec.function, implementation=spec.implementation, kernel=kernel,
                             dtype=dtype, profile="t", min=(1, 1), opt=(8, 1000), max=(64, 4099), beta=1.0)
    path = tmp_path / f"{op}.engine"
    _build_one("tensorrt", engine_spec.to_json(), str(path), str(gelu_library) if spec.uses_plugin else None,
               {"optimization_level": 0})
    engine = get_backend("tensorrt").load(path, gelu_library)
    try:
        for seed, shape in enumerate([(1, 1), (3, 7), (8, 1000), (64, 4099), (5, 1)]):
            x = ref.random_input(shape, dtype, seed=seed, generator=spec.inputs[0].generator)
            result = engine.check(engine.infer(x), x)
            print(f"{op}/{dtype} {shape}: {result.message}")
            assert result.ok, f"{op}/{dtype} {shape}: {result.message}"
    finally:
        engine.close()
