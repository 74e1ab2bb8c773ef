"""The direct kernel path: a plugin's CUDA kernel variants called through the C ABI of the library
its spec names (variants.direct: the library and its launch function), no TensorRT in between. A kernel change is measured in seconds, and bf16 is measured here even
where TensorRT 8.6 cannot carry it."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pycuda.driver as cuda

from ..backends.base import CheckResult, Timer
from ..core import oracle as ref
from ..core.operators import ITEMSIZE, check_kernel_ids, get_operator, kernel_ids
from ..core.records import KernelRow
from ..core.settings import Settings
from ..core.specs import OperatorSpec, numerics_of
from ..core.stats import StoppingRule
from ..device.cuda_utils import (
    DeviceBuffer,
    EventTimer,
    GpuContext,
    L2Flush,
    StreamBlocker,
    fill_tiled,
    set_pattern,
)
from ..device.host import quiet_host
from .measure import Plan, State, measure_state
from .rows import KernelReport

DTYPE_IDS = {"fp32": 0, "fp16": 1, "bf16": 2}
ABI_VERSION = 1
RANDOM_BLOCK_ELEMENTS = 1 << 20  # 1 Mi elements (4 MiB of fp32) tiled over the input; its output checked in full


class KernelLibrary:
    """ctypes view of an operator's direct kernel library (its spec's variants.direct: the library
    and its launch function, whose ABI the schema states), its kernel ids checked against the spec's."""

    def __init__(self, path: Path, spec: OperatorSpec):
        variants = spec.variants
        if variants is None or not variants.direct_launch:
            raise RuntimeError(f"operator spec {spec.path}: key 'variants.direct': {spec.name} declares no direct "
                               "kernel library (the kernel_bench rule and the tune rule's direct path need one)")
        if not Path(path).exists():
            raise FileNotFoundError(f"kernel library {path} does not exist; run the compile_plugin rule")
        self.spec, self.ids = spec, kernel_ids(spec)
        self.lib = ctypes.CDLL(str(path))
        self.launch_name = variants.direct_launch
        self._launch = getattr(self.lib, variants.direct_launch)
        self._launch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_float,
                                 ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        self._launch.restype = ctypes.c_int
        self.lib.tpbCudaErrorString.argtypes = [ctypes.c_int]
        self.lib.tpbCudaErrorString.restype = ctypes.c_char_p
        self.lib.tpbAbiVersion.restype = ctypes.c_int
        if self.lib.tpbAbiVersion() != ABI_VERSION:
            raise RuntimeError(f"kernel library ABI {self.lib.tpbAbiVersion()} != expected {ABI_VERSION}")
        check_kernel_ids(self.lib, path, variants)

    def launch(self, d_in: int, d_out: int, n: int, beta: float, dtype: str, kernel: str, stream: cuda.Stream) -> None:
        err = self._launch(ctypes.c_void_p(d_in), ctypes.c_void_p(d_out), n, beta, DTYPE_IDS[dtype],
                           self.ids[kernel], ctypes.c_void_p(stream.handle))
        if err != 0:
            raise RuntimeError(f"{self.launch_name}({dtype}, {kernel}, n={n}) failed: "
                               f"{self.lib.tpbCudaErrorString(err).decode()}")


def kernel_bench(settings: Settings, manifest_path: Path) -> list[KernelRow]:
    """The kernel variants of config kernel_bench.operator, called directly."""
    lib = kernel_library(manifest_path, get_operator(settings.kernel_bench.operator))
    gpu = GpuContext(0)
    timing = settings.timing
    bench = DirectBench(lib, gpu, list(settings.kernel_bench.kernels), StoppingRule.from_config(timing),
                        settings.beta, l2_flush=timing.l2_flush)
    rows: list[KernelRow] = []
    try:
        with quiet_host(timing.pin_cpu):
            for dtype in settings.dtypes:
                for i, n in enumerate(sorted(settings.kernel_bench.elements), 1):
                    rows.extend(bench.size(dtype, n, seed=i))
    finally:
        bench.flush.free()
    return rows


def kernel_library(manifest_path: Path, spec: OperatorSpec) -> KernelLibrary:
    """``spec``'s direct kernel library, where the compile rule built it (the manifest's direct_libraries)."""
    manifest = json.loads(Path(manifest_path).read_text())
    name = spec.variants.direct_library if spec.variants is not None else None
    path = manifest.get("direct_libraries", {}).get(name or "")
    if not path:
        raise RuntimeError(f"the compile rule built no kernel library {name} for {spec.name}: {manifest.get('reason')}")
    return KernelLibrary(Path(path), spec)


class KernelTimer(Timer):
    """The direct-kernel path as a timer (base.Timer), for the measuring loop: each sample is one
    ``launch`` between two events behind a blocked start (``events``: GPU time, launch latency
    out), after an L2 flush when ``flush`` is given (cold). ``check``, if given, is the output
    check that ``verify`` runs (else the timed work is trusted: a probe's copy, checked apart)."""

    def __init__(self, events: EventTimer, launch: Callable[[], None], flush: Callable[[], None] | None = None,
                 check: Callable[[], CheckResult] | None = None):
        self.events, self.launch, self.flush, self.check = events, launch, flush, check
        self.start = events.start_kind

    def sample(self) -> tuple[float, float]:
        if self.flush is not None:
            self.flush()
        return self.events.time(self.launch)

    def verify(self) -> CheckResult:
        if self.check is None:
            return CheckResult(True, 0, 0, 0, 0.0, 0.0, "not checked here")
        return self.check()


class DirectBench:
    """Every given kernel at one (dtype, size), in each of ``modes`` (warm, cold), output checked
    first: the kernel_bench rule, and the tune rule's direct path. A state is (kernel, dtype, size,
    mode); its timer a KernelTimer on the size's buffers, measured by measure.measure_state."""

    def __init__(self, lib: KernelLibrary, gpu: GpuContext, kernels: list[str], rule: StoppingRule, beta: float,
                 modes: tuple[str, ...] = ("warm", "cold"), block_elements: int = RANDOM_BLOCK_ELEMENTS,
                 l2_flush: str = "clean"):
        self.lib, self.gpu = lib, gpu
        # the random block tiled over the input and checked against float64 after each kernel's first run
        self.block_elements = block_elements
        self.kernels = list(kernels)
        self.rule = rule
        self.beta = beta
        self.modes = modes
        self.stream = cuda.Stream(flags=0x1)
        # GPU time behind a blocked start, as the engines' warm and cold modes: launch latency out
        self.events = EventTimer(self.stream, StreamBlocker(gpu))
        self.flush = L2Flush(gpu, l2_flush)

    def size(self, dtype: str, n: int, seed: int) -> list[KernelRow]:
        nbytes = n * ITEMSIZE[dtype]
        spec = self.lib.spec
        block = ref.random_input((min(n, self.block_elements),), dtype, seed=seed, generator=spec.inputs[0].generator)
        stream, beta = self.stream, self.beta
        with DeviceBuffer(nbytes) as d_in, DeviceBuffer(nbytes) as d_out:
            fill_tiled(d_in, block, nbytes, stream)

            def launch(kernel: str) -> Callable[[], None]:
                return lambda: self.lib.launch(d_in.ptr, d_out.ptr, n, beta, dtype, kernel, stream)

            def check(kernel: str) -> CheckResult:
                set_pattern(d_out, ref.poison((1,), dtype), stream)
                launch(kernel)()
                stream.synchronize()
                head = np.empty(block.size, dtype=block.dtype)
                cuda.memcpy_dtoh(head, d_out.ptr)
                return ref.check_output(head, block, numerics_of(spec), dtype, beta, tensorrt_layers=False)  # the plugin side

            def open_timer(state: State, arena: object) -> KernelTimer:
                flush = (lambda: self.flush.enqueue(stream)) if state.mode == "cold" else None
                return KernelTimer(self.events, launch(state.kernel), flush, lambda: check(state.kernel))

            report = KernelReport(self.gpu.name)
            plan = Plan(open_timer, self.rule, row=report.row, line=report.line)
            nbytes_moved = spec.cost_of([(n,)], dtype, {f.name: beta for f in spec.fields if f.value_from == "beta"})["bytes"]
            states = [State(spec.name, dtype, "", (n,), mode, nbytes_moved, seed=seed, kernel=kernel)
                      for kernel in self.kernels for mode in self.modes]
            return [m.row for st in states for m in measure_state(st, plan)]
