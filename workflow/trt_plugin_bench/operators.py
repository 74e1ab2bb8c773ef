"""The operators the pipeline sweeps, and which backend versions can build them."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from . import oracle as ref
from . import specs
from .specs import OperatorSpec

DTYPES = ("fp32", "fp16", "bf16")
ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


# The operators are specs (ops/*.yaml, trt_plugin_bench.specs): OPERATORS holds the built-in ones
# by name; config operators: may add spec files (resolve_operators), found by name afterwards.
OPERATORS: dict[str, OperatorSpec] = specs.builtin_specs()


def get_operator(name: str) -> OperatorSpec:
    """The operator ``name``: built in (ops/), or an external spec loaded in this process."""
    spec = specs.lookup(name, OPERATORS)
    if spec is None:
        raise KeyError(f"{name!r} is not an operator; allowed values: {', '.join(specs.known_names(OPERATORS))}, "
                       "or the path of a spec file given in config operators:")
    return spec


def resolve_operators(entries: list[str]) -> list[OperatorSpec]:
    """config ``operators:`` (names and spec paths) as specs; raises specs.SpecError."""
    return specs.resolve(list(entries), OPERATORS)


def operator_ref(op: str) -> str:
    """How a rule's command names operator ``op`` (specs.spec_ref): its name, or its spec file."""
    return specs.spec_ref(get_operator(op))


def from_ref(ref: str) -> OperatorSpec:
    return specs.from_ref(ref, OPERATORS)


def for_engine(engine_spec: object) -> OperatorSpec:
    """The operator an engine computes: its spec file (spec_file, an external spec) or its name."""
    ref = getattr(engine_spec, "spec_file", "") or ""
    if ref:
        spec = from_ref(ref)
        op = getattr(engine_spec, "operator", spec.name)
        return spec if spec.name == op else get_operator(op)
    return get_operator(engine_spec.operator)  # type: ignore[attr-defined]


def field_values(spec: OperatorSpec, beta: float = 1.0, kernel: str = "", kernel_table: tuple = ()) -> dict:
    """Every field's value for one engine: its default, or what value_from names."""
    values = {}
    for f in spec.fields:
        if f.value_from == "beta":
            values[f.name] = float(beta)
        elif f.value_from == "kernel":
            values[f.name] = KERNEL_IDS[kernel] if kernel else None
        elif f.value_from == "kernel_table":
            values[f.name] = [v for kib, name in kernel_table for v in (kib, KERNEL_IDS[name])]
        else:
            values[f.name] = f.default
    return values


def numerics_of(spec: OperatorSpec) -> ref.Numerics:
    """The oracle's view of ``spec``: its reference, tolerances and CPU implementation."""
    reference = spec.fn("reference")
    beta_fields = [f.name for f in spec.fields if f.value_from == "beta"]

    def kw(fn: object, beta: float) -> dict:
        return spec.kwargs(fn, {name: beta for name in beta_fields})

    def reference64(x64: np.ndarray, beta: float) -> np.ndarray:
        return reference(x64, **kw(reference, beta))

    if spec.tolerance_model:
        model = spec.fn("tolerance_model")

        def bound(dtype: str, x64: np.ndarray, ref64: np.ndarray, beta: float, trt_layers: bool) -> np.ndarray:
            return model(x64, dtype, trt_layers, **kw(model, beta))

        describe = getattr(model, "describe", None)

        def text(dtype: str, trt_layers: bool) -> str:
            return describe(dtype, trt_layers) if describe else f"{spec.tolerance_model}'s bound"
    else:
        def bound(dtype: str, x64: np.ndarray, ref64: np.ndarray, beta: float, trt_layers: bool) -> np.ndarray:
            tol = spec.tolerance(dtype)
            if tol is None:
                raise ValueError(f"operator spec {spec.path}: no tolerance for {dtype}; allowed dtypes: "
                                 f"{', '.join(d for d, _ in spec.tolerances)}")
            floor = tol.abs / ref.ulp(np.where(np.isfinite(ref64), ref64, 0.0), dtype) if tol.abs else 0.0
            return np.maximum(tol.ulps, floor)

        def text(dtype: str, trt_layers: bool) -> str:
            tol = spec.tolerance(dtype)
            if tol is None:
                return "no tolerance"
            if tol.ulps == 0 and tol.abs == 0:
                return "0 ulp (exact)"
            return f"{tol.ulps:g} ulp" + (f" or {tol.abs:g} absolute" if tol.abs else "")
    cpu = None
    if spec.cpu_implementation:
        cpu_fn = spec.fn("cpu_implementation")

        def cpu(x32: np.ndarray, beta: float) -> np.ndarray:
            return cpu_fn(x32, **kw(cpu_fn, beta))

    return ref.Numerics(spec.function, reference64, bound, text, cpu, spec.nan_input_may_give_zero)


_NUMERICS: dict[tuple[str, str], ref.Numerics] = {}


def numerics_for(engine_spec: object) -> ref.Numerics:
    """The Numerics an engine's outputs are checked with (and the CPU backend computes), from its spec."""
    spec = for_engine(engine_spec)
    key = (str(spec.path), spec.name)
    if key not in _NUMERICS:
        _NUMERICS[key] = numerics_of(spec)
    return _NUMERICS[key]


def generator_for(engine_spec: object) -> specs.Generator | None:
    """Input 0's value generator of an engine's operator (oracle.random_input's ``generator``)."""
    return for_engine(engine_spec).inputs[0].generator


def moved_bytes(engine_spec: object, shape: tuple[int, ...]) -> int:
    """Bytes read + written by one inference at ``shape``: the operator's cost model."""
    spec = for_engine(engine_spec)
    values = {f.name: getattr(engine_spec, "beta", 1.0) for f in spec.fields if f.value_from == "beta"}
    return spec.cost_of([tuple(shape)], engine_spec.dtype, values)["bytes"]  # type: ignore[attr-defined]


DEFAULT_PLUGIN_KERNEL = "vectorized_oneshot"
# plugin_kernel: auto (the default) runs the tune rule's choice table (tune.py)
AUTO_KERNEL = "auto"


def tuned_kernel(table: list) -> tuple[str, tuple[tuple[int, str], ...]]:
    """(kernel field, kernel_table field) for a tune choice table [[upper KiB, kernel], ..., [-1, kernel]]:
    one band is just that kernel; no table (a dtype the rule could not tune) is the default kernel."""
    bands = tuple((int(kib), str(kernel)) for kib, kernel in table)
    if not bands:
        return DEFAULT_PLUGIN_KERNEL, ()
    if len(bands) == 1:
        return bands[0][1], ()
    return bands[-1][1], bands


def plugin_kernel_per_dtype(chosen: str | dict[str, str], dtypes: tuple[str, ...]) -> dict[str, str]:
    """config plugin_kernel (one name, or a {dtype: name} map) for each of ``dtypes``: a dtype the
    map leaves out runs DEFAULT_PLUGIN_KERNEL, as the schema says (settings.py resolves it once)."""
    if isinstance(chosen, dict):
        return {dt: chosen[dt] if dt in chosen else DEFAULT_PLUGIN_KERNEL for dt in dtypes}
    return {dt: chosen for dt in dtypes}


# The plugin's "kernel" field (plugin/swishPlugin/swishPluginKernel.h: SwishKernel). Copied by
# hand, so check_kernel_ids compares it with the library's own names whenever one is loaded.
KERNEL_IDS = {"naive": 0, "vectorized": 1, "vectorized_streaming": 2, "vectorized_oneshot": 3,
              "vectorized_oneshot_x1": 4, "vectorized_oneshot_x4": 5, "vectorized_oneshot_x1_b128": 6,
              "vectorized_oneshot_x2_b128": 7, "vectorized_oneshot_x1_ef": 8, "vectorized_oneshot_x1_cs": 9,
              "vectorized_oneshot_x1_b128_ef": 10,
              "vectorized_oneshot_x1_l2ef": 12, "vectorized_oneshot_x1_b128_l2ef": 13, "vectorized_oneshot_x1_b1024": 14}
# Ids the library refuses (swishPluginKernel.h: kSwishRetiredSized, kSwishRetiredWaves): kernels that
# switched shape inside at sizes measured on one GPU; the tune rule's choice table does that now.
RETIRED_KERNEL_IDS = {11: "vectorized_oneshot_sized", 15: "vectorized_oneshot_waves"}
KERNEL_ID_COUNT = 16  # one past the highest id, retired ones included (kSwishKernelCount)


class KernelIdMismatch(RuntimeError):
    """KERNEL_IDS and a compiled library disagree about which id is which kernel."""


def check_kernel_ids(lib: ctypes.CDLL, path: Path | str) -> None:
    """Fail unless KERNEL_IDS names every kernel of ``lib`` (libswish_kernels.so or
    libswish_plugin.so, loaded from ``path``) by the library's own id, through its exported
    tpbSwishKernelCount() and tpbSwishKernelName(int) (plugin/swishPlugin/swishKernelCApi.cu):
    a stale copy would silently time and report one kernel under another's name."""
    here = Path(__file__).resolve()
    try:
        count_fn, name_fn = lib.tpbSwishKernelCount, lib.tpbSwishKernelName
    except AttributeError as exc:
        raise KernelIdMismatch(f"{path} does not export tpbSwishKernelCount/tpbSwishKernelName ({exc}): "
                               "a library older than this checkout; rebuild it (the compile_plugin rule)") from exc
    count_fn.argtypes, count_fn.restype = [], ctypes.c_int
    name_fn.argtypes, name_fn.restype = [ctypes.c_int], ctypes.c_char_p
    count = int(count_fn())
    if count != KERNEL_ID_COUNT:
        raise KernelIdMismatch(
            f"{path} has {count} kernel ids but KERNEL_IDS in {here} expects {KERNEL_ID_COUNT}: make KERNEL_IDS match "
            "SwishKernel in plugin/swishPlugin/swishPluginKernel.h, or rebuild the library")
    names = {kernel_id: name for name, kernel_id in KERNEL_IDS.items()}
    for kernel_id in range(count):
        name = names.get(kernel_id)  # None: retired, the library must refuse it too (a null name)
        raw = name_fn(kernel_id)
        library_name = raw.decode() if raw is not None else None
        if library_name != name:
            raise KernelIdMismatch(
                f"kernel id {kernel_id} is {name!r} in KERNEL_IDS ({here}) but {library_name!r} in {path}: fix "
                "KERNEL_IDS to match SwishKernel in plugin/swishPlugin/swishPluginKernel.h, or rebuild the library")


def dtype_support(op: str, dtype: str) -> str | None:
    """None when the operator's spec declares ``dtype``; otherwise why it is skipped (every backend)."""
    spec = get_operator(op)
    if dtype not in spec.dtypes:
        return f"{op} declares dtypes {', '.join(spec.dtypes)} ({spec.path}), not {dtype}"
    return None


def tensorrt_support(op: str, dtype: str, major: int) -> str | None:
    """None when TensorRT ``major`` can build (op, dtype); otherwise the reason it cannot."""
    spec = get_operator(op)
    why = dtype_support(op, dtype)
    if why:
        return why
    if major < spec.min_tensorrt_major:
        return f"{op} needs TensorRT >= {spec.min_tensorrt_major} (IPluginV3); this is {major}"
    if dtype == "bf16" and major < 10:
        return f"bf16 needs TensorRT >= 10; this is {major}"
    return None


def sweep_key(op: str, dtype: str, profile: str) -> str:
    return f"{op}__{dtype}__{profile}"


def parse_sweep_key(key: str) -> tuple[str, str, str]:
    op, dtype, profile = key.split("__")
    return op, dtype, profile
