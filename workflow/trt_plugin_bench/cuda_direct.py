"""The direct kernel path: the plugin's CUDA kernels called through the compiled library's C ABI,
no TensorRT in between. A kernel change is measured in seconds, and bf16 is measured here even
where TensorRT 8.6 cannot carry it."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pycuda.driver as cuda

from . import oracle as ref
from .cuda_utils import (
    DeviceBuffer,
    EventTimer,
    GpuContext,
    L2Flush,
    StreamBlocker,
    fill_tiled,
    set_pattern,
)
from .gpu_state import read_state, throttled
from .host import quiet_host
from .operators import ITEMSIZE, KERNEL_IDS, check_kernel_ids
from .records import KernelRow
from .stats import StoppingRule, sample_until_stable, summarize, warm_up
from .sweeps import log

DTYPE_IDS = {"fp32": 0, "fp16": 1, "bf16": 2}
ABI_VERSION = 1
RANDOM_BLOCK_ELEMENTS = 1 << 20  # 1 Mi elements (4 MiB of fp32) tiled over the input; its output checked in full


class KernelLibrary:
    """ctypes view of libswish_kernels.so (plugin/swishPlugin/swishKernelCApi.cu)."""

    def __init__(self, path: Path):
        if not Path(path).exists():
            raise FileNotFoundError(f"kernel library {path} does not exist; run the compile_plugin rule")
        self.lib = ctypes.CDLL(str(path))
        self.lib.tpbSwishLaunch.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_float,
                                            ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
        self.lib.tpbSwishLaunch.restype = ctypes.c_int
        self.lib.tpbCudaErrorString.argtypes = [ctypes.c_int]
        self.lib.tpbCudaErrorString.restype = ctypes.c_char_p
        self.lib.tpbAbiVersion.restype = ctypes.c_int
        if self.lib.tpbAbiVersion() != ABI_VERSION:
            raise RuntimeError(f"kernel library ABI {self.lib.tpbAbiVersion()} != expected {ABI_VERSION}")
        check_kernel_ids(self.lib, path)

    def swish(self, d_in: int, d_out: int, n: int, beta: float, dtype: str, kernel: str, stream: cuda.Stream) -> None:
        err = self.lib.tpbSwishLaunch(ctypes.c_void_p(d_in), ctypes.c_void_p(d_out), n, beta, DTYPE_IDS[dtype],
                                      KERNEL_IDS[kernel], ctypes.c_void_p(stream.handle))
        if err != 0:
            raise RuntimeError(f"tpbSwishLaunch({dtype}, {kernel}, n={n}) failed: "
                               f"{self.lib.tpbCudaErrorString(err).decode()}")


def kernel_bench(config: dict, manifest_path: Path) -> list[KernelRow]:
    lib = kernel_library(manifest_path)
    gpu = GpuContext(0)
    bench = DirectBench(lib, gpu, config["kernel_bench"]["kernels"],
                        StoppingRule.from_config(config["timing"]), float(config.get("beta", 1.0)),
                        l2_flush=config["timing"]["l2_flush"])
    rows: list[KernelRow] = []
    try:
        with quiet_host(config.get("timing", {}).get("pin_cpu", True)):
            for dtype in config["dtypes"]:
                for i, n in enumerate(sorted(config["kernel_bench"]["elements"]), 1):
                    rows.extend(bench.size(dtype, n, seed=i))
    finally:
        bench.flush.free()
    return rows


def kernel_library(manifest_path: Path) -> KernelLibrary:
    manifest = json.loads(Path(manifest_path).read_text())
    if not manifest.get("kernels_library"):
        raise RuntimeError(f"the compile rule built no kernel library: {manifest.get('reason')}")
    return KernelLibrary(Path(manifest["kernels_library"]))


class DirectBench:
    """Every given kernel at one (dtype, size), in each of ``modes`` (warm, cold), output checked
    first: the kernel_bench rule, and the tune rule's direct path."""

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
        block = ref.random_input((min(n, self.block_elements),), dtype, seed=seed)
        rows: list[KernelRow] = []
        stream, beta = self.stream, self.beta
        with DeviceBuffer(nbytes) as d_in, DeviceBuffer(nbytes) as d_out:
            fill_tiled(d_in, block, nbytes, stream)
            for kernel in self.kernels:
                set_pattern(d_out, ref.poison((1,), dtype), stream)
                self.lib.swish(d_in.ptr, d_out.ptr, n, beta, dtype, kernel, stream)
                stream.synchronize()
                head = np.empty(block.size, dtype=block.dtype)
                cuda.memcpy_dtoh(head, d_out.ptr)
                check = ref.check_output(head, block, "swish", dtype, beta, tensorrt_layers=False)  # plugin kernels never flush
                if not check.ok:
                    raise RuntimeError(f"kernel {kernel}/{dtype} n={n} is wrong: {check.message}")
                for mode in self.modes:
                    def sample(mode: str = mode, kernel: str = kernel) -> tuple[float, float]:
                        if mode == "cold":
                            self.flush.enqueue(stream)
                        return self.events.time(lambda: self.lib.swish(d_in.ptr, d_out.ptr, n, beta, dtype, kernel, stream))

                    warm_up(sample, self.rule)
                    before = read_state()
                    dev, _, reason = sample_until_stable(sample, self.rule)
                    after = read_state()
                    s = summarize(dev, reason)
                    bw = 2 * nbytes / s.median / 1e9
                    rows.append(KernelRow(
                        backend="cuda_direct", device_name=self.gpu.name, kernel=kernel, dtype=dtype, elements=n,
                        bytes_moved=2 * nbytes, mode=mode, start=self.events.start_kind, n=s.n,
                        median_us=s.median * 1e6, p90_us=s.p90 * 1e6, rse=s.rse, bandwidth_gbs=bw,
                        copy_ceiling_gbs=float("nan"), pct_of_copy_ceiling=float("nan"),  # joined by aggregate
                        verified=check.ok, max_abs_err=check.max_abs_err, throttled=throttled(before, after),
                    ))
                    log(f"{dtype} {n} elements {kernel} {mode}: {s.median * 1e6:.2f} us, {bw:.0f} GB/s")
        return rows
