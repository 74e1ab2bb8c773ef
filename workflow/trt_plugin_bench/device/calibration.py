"""The GPU's copy ceiling and launch floors: the calibrate command's rows on a GPU.

The ceiling is the fastest device-to-device copy there is, timed as GPU time (blocked start) like
the warm and cold rows it is compared with: cudaMemcpy and the 16-byte copy kernel
(cuda_utils.COPY_KERNEL_PTX, the access pattern of a pointwise kernel) in each of
COPY_KERNEL_BLOCKS. The floors are the empty kernel from idle (the stream mode's), behind a blocked
start (the warm and cold modes') and as a CUDA graph (the graph mode's). Nothing here needs
TensorRT: only the GPU's primary context (cuda_utils.GpuContext); the TensorRT backend's
``calibrate`` is this, and the CPU reference backend has a numpy copy of its own.

Imported only where a GPU is used (it imports pycuda through cuda_utils).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pycuda.driver as cuda

from ..core.records import CalibrationRow
from ..core.stats import StoppingRule, measure
from .cuda_utils import (
    COPY_KERNEL_BLOCK,
    NON_BLOCKING,
    CudaGraph,
    DeviceBuffer,
    EventTimer,
    GpuContext,
    L2Flush,
    StreamBlocker,
    fill_tiled,
)

# The calibration copies with both: on the H100 (2026-11-24, workflow/scripts/probes.py
# copy-family) 1024-thread blocks copied 0.8 % faster than 256-thread ones and cudaMemcpy, and
# were the only copy faster than the plugin's kernel: the ceiling must be the fastest copy there is.
COPY_KERNEL_BLOCKS = (256, 1024)


COLD_SUFFIX = "_cold"  # a copy row timed after the cold mode's L2 flush, as the cold states are


def copy_kernel_measurement(block: int) -> str:
    """The calibration row's name for the copy kernel in blocks of ``block`` threads ("copy_kernel"
    for the default block, the name earlier runs' tables use)."""
    return "copy_kernel" if block == COPY_KERNEL_BLOCK else f"copy_kernel_b{block}"


def gpu_calibration(gpu: GpuContext, copy_mib: Iterable[int], rule: StoppingRule, backend: str,
                    timing_clock: str, l2_flush: str = "clean") -> list[CalibrationRow]:
    """The copy ceiling at each of ``copy_mib`` MiB and the three launch floors on ``gpu``, each
    sampled by ``rule``; ``backend`` and ``timing_clock`` label the rows. Copies of at least 4x the L2
    (the ones the ceiling is taken from, analysis.copy_ceiling) are also timed after the cold mode's
    flush (cuda_utils.L2Flush of kind ``l2_flush``, rows named ``<copy>_cold``): the same flush as the
    cold states the roofline divides. On the H100 and the H200 a plugin read up to 100.6 % of a
    ceiling timed without it (a warm copy pays the write-back of the lines its previous sample left dirty)."""
    rows: list[CalibrationRow] = []
    stream = cuda.Stream(flags=NON_BLOCKING)
    idle = EventTimer(stream)
    blocked = EventTimer(stream, StreamBlocker(gpu))
    name = gpu.name

    def row(measurement: str, timer: EventTimer, nbytes: int, enqueue: Callable[[], object],
            flush: L2Flush | None = None) -> CalibrationRow:
        if flush is None:
            s = measure(lambda: timer.time(enqueue), rule)
        else:  # the flush first; behind the blocked start the blocking kernel waits for it (as in the cold mode)
            s = measure(lambda: (flush.enqueue(stream), timer.time(enqueue))[1], rule)
        bw = nbytes / s.median / 1e9 if nbytes else 0.0
        return CalibrationRow(backend, name, measurement, nbytes, s.n, s.median * 1e6, s.rse, bw,
                              timing_clock, timer.start_kind)

    # The ceiling is GPU time (blocked start), like the cold and warm rows it is compared with.
    cold = L2Flush(gpu, l2_flush)
    try:
        for mib in sorted(set(copy_mib)):
            size = mib << 20
            flushes = [None, cold] if size >= 4 * gpu.l2_bytes else [None]
            with DeviceBuffer(size) as a, DeviceBuffer(size) as b:
                fill_tiled(a, np.random.default_rng(0).integers(0, 255, min(size, 64 << 20), dtype=np.uint8), size,
                           stream)
                for flush in flushes:
                    suffix = COLD_SUFFIX if flush is not None else ""
                    rows.append(row("copy" + suffix, blocked, 2 * size,
                                    lambda a=a, b=b, size=size: cuda.memcpy_dtod_async(b.ptr, a.ptr, size, stream),
                                    flush))
                    for block in COPY_KERNEL_BLOCKS:
                        rows.append(row(copy_kernel_measurement(block) + suffix, blocked, 2 * size,
                                        lambda a=a, b=b, size=size, block=block: gpu.copy16(b.ptr, a.ptr, size, stream,
                                                                                            block), flush))
    finally:
        cold.free()

    def empty() -> None:
        gpu.empty_kernel(block=(1, 1, 1), grid=(1, 1), stream=stream)

    rows.append(row("empty_launch", idle, 0, empty))  # the floor of the stream mode
    rows.append(row("empty_kernel", blocked, 0, empty))  # the floor of the warm and cold modes
    graph = CudaGraph(gpu, stream, empty)
    try:
        rows.append(row("empty_graph_launch", idle, 0, graph.launch))  # the floor of the graph mode
    finally:
        graph.close()
    return rows
