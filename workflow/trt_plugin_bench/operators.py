"""The operators the pipeline sweeps, and which backend versions can build them."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

DTYPES = ("fp32", "fp16", "bf16")
ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


@dataclass(frozen=True)
class OperatorSpec:
    """What a benchmarked operator is and how TensorRT expresses it."""

    name: str
    description: str
    function: str  # "relu" | "swish": the math, shared by every implementation
    implementation: str  # "native" (TensorRT layers) | "plugin_v2" | "plugin_v3"
    kernel: str | None = None  # plugin kernel variant, see plugin/swishPlugin/README.md
    min_tensorrt_major: int = 8

    @property
    def uses_plugin(self) -> bool:
        return self.implementation.startswith("plugin")

    @property
    def tensorrt_layers(self) -> bool:
        """TensorRT's own layers compute this operator, so its outputs are held to what TensorRT's
        layers do (reference.check_output's tensorrt_layers: flushed subnormals, a half-precision
        sigmoid in fp16); the plugin kernels are held to the numerics contract."""
        return self.implementation == "native"


OPERATORS: dict[str, OperatorSpec] = {
    spec.name: spec
    for spec in (
        OperatorSpec("relu", "TensorRT ReLU activation layer", "relu", "native"),
        OperatorSpec(
            "swish_native",
            "TensorRT-native swish: sigmoid activation x elementwise product",
            "swish",
            "native",
        ),
        OperatorSpec(
            "swish_plugin",
            "Swish plugin, IPluginV2DynamicExt, the optimised kernel (config: plugin_kernel)",
            "swish",
            "plugin_v2",
            kernel="optimised",
        ),
        OperatorSpec(
            "swish_plugin_naive",
            "Swish plugin, IPluginV2DynamicExt, the seed's scalar kernel (baseline)",
            "swish",
            "plugin_v2",
            kernel="naive",
        ),
        OperatorSpec(
            "swish_plugin_v3",
            "Swish plugin, IPluginV3 (TensorRT >= 10), the optimised kernel (config: plugin_kernel)",
            "swish",
            "plugin_v3",
            kernel="optimised",
            min_tensorrt_major=10,
        ),
    )
}

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


def plugin_kernel(op: str, config: dict, dtype: str) -> str:
    """The kernel variant an operator's plugin runs: 'optimised' resolves to config plugin_kernel,
    one name or a {dtype: name} map (the kernel measured best can differ by dtype)."""
    kernel = OPERATORS[op].kernel or ""
    if kernel != "optimised":
        return kernel
    chosen = config.get("plugin_kernel", DEFAULT_PLUGIN_KERNEL)
    return chosen.get(dtype, DEFAULT_PLUGIN_KERNEL) if isinstance(chosen, dict) else chosen


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


def tensorrt_support(op: str, dtype: str, major: int) -> str | None:
    """None when TensorRT ``major`` can build (op, dtype); otherwise the reason it cannot."""
    spec = OPERATORS[op]
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
