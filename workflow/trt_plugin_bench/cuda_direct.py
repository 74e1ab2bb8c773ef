"""The direct kernel path: the plugin's CUDA kernels called through the compiled library's C ABI,
no TensorRT in between. A kernel change is measured in seconds, and bf16 is measured here even
where TensorRT 8.6 cannot carry it."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pycuda.driver as cuda

from . import reference as ref
from .cuda_utils import DeviceBuffer, EventTimer, GpuContext, fill_tiled, l2_flush_bytes, set_pattern
from .gpu_state import read_state, throttled
from .operators import ITEMSIZE, KERNEL_IDS
from .records import KernelRow
from .stats import StoppingRule, sample_until_stable, summarize, warm_up
from .sweeps import log

DTYPE_IDS = {"fp32": 0, "fp16": 1, "bf16": 2}
ABI_VERSION = 1
RANDOM_BLOCK_ELEMENTS = 1 << 22  # 4 Mi elements: 16 MiB of fp32, checked in full


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

    def swish(self, d_in: int, d_out: int, n: int, beta: float, dtype: str, kernel: str, stream: cuda.Stream) -> None:
        err = self.lib.tpbSwishLaunch(ctypes.c_void_p(d_in), ctypes.c_void_p(d_out), n, beta, DTYPE_IDS[dtype],
                                      KERNEL_IDS[kernel], ctypes.c_void_p(stream.handle))
        if err != 0:
            raise RuntimeError(f"tpbSwishLaunch({dtype}, {kernel}, n={n}) failed: "
                               f"{self.lib.tpbCudaErrorString(err).decode()}")


def kernel_bench(config: dict, manifest_path: Path) -> list[KernelRow]:
    manifest = json.loads(Path(manifest_path).read_text())
    if not manifest.get("kernels_library"):
        raise RuntimeError(f"the compile rule built no kernel library: {manifest.get('reason')}")
    gpu = GpuContext(0)
    lib = KernelLibrary(Path(manifest["kernels_library"]))
    kcfg = config["kernel_bench"]
    rule = StoppingRule.from_config(config["timing"])
    ceiling = float("nan")  # joined in by the aggregate rule
    beta = float(config.get("beta", 1.0))
    stream = cuda.Stream(flags=0x1)
    events = EventTimer(stream)
    rows: list[KernelRow] = []
    flush = DeviceBuffer(l2_flush_bytes(gpu))
    sizes = sorted(kcfg["elements"])
    try:
        for dtype in config["dtypes"]:
            for i, n in enumerate(sizes, 1):
                nbytes = n * ITEMSIZE[dtype]
                block = ref.random_input((min(n, RANDOM_BLOCK_ELEMENTS),), dtype, seed=i)
                with DeviceBuffer(nbytes) as d_in, DeviceBuffer(nbytes) as d_out:
                    fill_tiled(d_in, block, nbytes, stream)
                    for kernel in kcfg["kernels"]:
                        set_pattern(d_out, ref.poison((1,), dtype), stream)
                        lib.swish(d_in.ptr, d_out.ptr, n, beta, dtype, kernel, stream)
                        stream.synchronize()
                        head = np.empty(block.size, dtype=block.dtype)
                        cuda.memcpy_dtoh(head, d_out.ptr)
                        check = ref.check_output(head, block, "swish", dtype, beta)
                        if not check.ok:
                            raise RuntimeError(f"kernel {kernel}/{dtype} n={n} is wrong: {check.message}")
                        for mode in ("warm", "cold"):
                            def sample() -> tuple[float, float]:
                                if mode == "cold":
                                    cuda.memset_d8_async(flush.ptr, 0x5A, flush.nbytes, stream)
                                    stream.synchronize()
                                return events.time(lambda: lib.swish(d_in.ptr, d_out.ptr, n, beta, dtype, kernel, stream))

                            warm_up(sample, rule)
                            before = read_state()
                            dev, _, reason = sample_until_stable(sample, rule)
                            after = read_state()
                            s = summarize(dev, reason)
                            moved = 2 * nbytes
                            bw = moved / s.median / 1e9
                            rows.append(KernelRow(
                                backend="cuda_direct", device_name=gpu.name, kernel=kernel, dtype=dtype, elements=n,
                                bytes_moved=moved, mode=mode, n=s.n, median_us=s.median * 1e6, p90_us=s.p90 * 1e6,
                                rse=s.rse, bandwidth_gbs=bw, copy_ceiling_gbs=ceiling,
                                pct_of_copy_ceiling=100 * bw / ceiling if ceiling == ceiling else float("nan"),
                                verified=check.ok, max_abs_err=check.max_abs_err, throttled=throttled(before, after),
                            ))
                            log(f"{dtype} size {i} of {len(sizes)} ({n} elements) {kernel} {mode}: "
                                f"{s.median * 1e6:.2f} us, {bw:.0f} GB/s")
    finally:
        flush.free()
    return rows
