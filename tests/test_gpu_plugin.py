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

from trt_plugin_bench import oracle as ref  # noqa: E402
from trt_plugin_bench import sweeps  # noqa: E402
from trt_plugin_bench.backends import get_backend  # noqa: E402
from trt_plugin_bench.backends.base import EngineSpec  # noqa: E402
from trt_plugin_bench.compile import compile_plugin  # noqa: E402
from trt_plugin_bench.operators import OPERATORS, kernel_ids  # noqa: E402

KERNEL_IDS = kernel_ids(OPERATORS["swish_plugin"])  # ops/swish/kernel_ids.csv
from trt_plugin_bench.tune import _build_one  # noqa: E402

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

    from trt_plugin_bench.operators import check_kernel_ids

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
