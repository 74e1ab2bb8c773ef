"""GPU plumbing shared by the TensorRT backend, the direct kernel path and the calibration
(pycuda + libcuda).

Imported only where a GPU is used. One process uses the device's primary context (the one the
CUDA runtime, and so TensorRT, uses too); worker threads push that same context, never a new one.
CUDA graphs go through libcuda directly (ctypes) with every return code checked.
"""

from __future__ import annotations

import atexit
import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pycuda.driver as cuda

# A PTX empty kernel: the launch-overhead floor without depending on the compiled plugin, so the
# calibration does not rerun when a kernel source changes. The driver JIT-compiles it once.
EMPTY_KERNEL_PTX = b"""
.version 7.0
.target sm_50
.address_size 64
.visible .entry tpb_empty_kernel()
{
    ret;
}
"""

# nvbench's blocking kernel: one thread spins on a flag in mapped host memory, so the stream stays
# busy while the host enqueues the start event, the timed work and the stop event; the host then
# releases it and the work runs back to back on the GPU. Launch and host enqueue latency drop out
# of the measurement. A timeout (read from %globaltimer) sets flags[1] instead of hanging forever
# when the enqueue synchronizes the stream it was given.
BLOCK_STREAM_PTX = b"""
.version 7.0
.target sm_70
.address_size 64
.visible .entry tpb_block_stream(.param .u64 flags, .param .u64 timeout_ns)
{
    .reg .pred %p<3>;
    .reg .b32 %r<3>;
    .reg .b64 %rd<8>;
    ld.param.u64 %rd1, [flags];
    ld.param.u64 %rd2, [timeout_ns];
    cvta.to.global.u64 %rd3, %rd1;
    mov.u64 %rd4, %globaltimer;
SPIN:
    ld.volatile.global.u32 %r1, [%rd3];
    setp.ne.s32 %p1, %r1, 0;
    @%p1 bra DONE;
    mov.u64 %rd5, %globaltimer;
    sub.s64 %rd6, %rd5, %rd4;
    setp.lt.u64 %p2, %rd6, %rd2;
    @%p2 bra SPIN;
    mov.u32 %r2, 1;
    st.volatile.global.u32 [%rd3+4], %r2;
DONE:
    ret;
}
"""

# A copy kernel with the access pattern of a pointwise kernel (one 16-byte load and store per
# thread, 256-thread blocks): the calibration's second copy ceiling beside cudaMemcpy, which on the
# H100 lands 0.1-0.4 % below what such a kernel sustains (2026-11-24).
COPY_KERNEL_PTX = b"""
.version 7.0
.target sm_70
.address_size 64
.visible .entry tpb_copy16(.param .u64 src, .param .u64 dst, .param .u64 nvec)
{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<10>;
    ld.param.u64 %rd1, [src];
    ld.param.u64 %rd2, [dst];
    ld.param.u64 %rd3, [nvec];
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mul.wide.u32 %rd4, %r1, %r2;
    cvt.u64.u32 %rd5, %r3;
    add.s64 %rd6, %rd4, %rd5;
    setp.ge.u64 %p1, %rd6, %rd3;
    @%p1 bra DONE;
    shl.b64 %rd7, %rd6, 4;
    cvta.to.global.u64 %rd8, %rd1;
    add.s64 %rd8, %rd8, %rd7;
    cvta.to.global.u64 %rd9, %rd2;
    add.s64 %rd9, %rd9, %rd7;
    ld.global.v4.u32 {%r4, %r5, %r6, %r7}, [%rd8];
    st.global.v4.u32 [%rd9], {%r4, %r5, %r6, %r7};
DONE:
    ret;
}
"""
# The clean cold-mode flush (L2Flush "clean"): one 16-byte load per thread over the flush buffer.
# The loads stay because the value decides a store (to a sink, never taken for a buffer whose
# 16-byte words XOR to 0, as a memset pattern does).
READ_KERNEL_PTX = b"""
.version 7.0
.target sm_70
.address_size 64
.visible .entry tpb_read16(.param .u64 src, .param .u64 nvec, .param .u64 sink)
{
    .reg .pred %p<3>;
    .reg .b32 %r<10>;
    .reg .b64 %rd<10>;
    ld.param.u64 %rd1, [src];
    ld.param.u64 %rd2, [nvec];
    ld.param.u64 %rd3, [sink];
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mul.wide.u32 %rd4, %r1, %r2;
    cvt.u64.u32 %rd5, %r3;
    add.s64 %rd6, %rd4, %rd5;
    setp.ge.u64 %p1, %rd6, %rd2;
    @%p1 bra DONE;
    shl.b64 %rd7, %rd6, 4;
    cvta.to.global.u64 %rd8, %rd1;
    add.s64 %rd8, %rd8, %rd7;
    ld.global.v4.u32 {%r4, %r5, %r6, %r7}, [%rd8];
    xor.b32 %r8, %r4, %r5;
    xor.b32 %r8, %r8, %r6;
    xor.b32 %r8, %r8, %r7;
    setp.ne.u32 %p2, %r8, 623244433;
    @%p2 bra DONE;
    cvta.to.global.u64 %rd9, %rd3;
    st.global.u32 [%rd9], %r8;
DONE:
    ret;
}
"""
COPY_KERNEL_BLOCK = 256  # copy16's and read16's default block (calibration.COPY_KERNEL_BLOCKS: the calibration's)
NON_BLOCKING = 0x1  # CU_STREAM_NON_BLOCKING: never implicitly synchronized with the default stream

_CU_STREAM_CAPTURE_MODE_GLOBAL = 0


class CudaError(RuntimeError):
    pass


class GpuContext:
    """The process's handle on one GPU's primary context."""

    def __init__(self, index: int = 0):
        cuda.init()
        if cuda.Device.count() == 0:
            raise CudaError("no CUDA device is visible (check CUDA_VISIBLE_DEVICES and the driver)")
        self.device = cuda.Device(index)
        self.context = self.device.retain_primary_context()
        self.context.push()
        self._owner = threading.get_ident()
        self._pushed = True
        # pycuda aborts the process if a context is still pushed when it cleans up; atexit runs
        # this before pycuda's own handler (registered earlier, at import)
        atexit.register(self.close)
        self._lib = ctypes.CDLL("libcuda.so.1")
        self._empty_module = cuda.module_from_buffer(EMPTY_KERNEL_PTX)
        self.empty_kernel = self._empty_module.get_function("tpb_empty_kernel")
        self._block_module = cuda.module_from_buffer(BLOCK_STREAM_PTX)
        self.block_stream_kernel = self._block_module.get_function("tpb_block_stream")
        self._copy_module = cuda.module_from_buffer(COPY_KERNEL_PTX)
        self._copy_kernel = self._copy_module.get_function("tpb_copy16")
        self._read_module = cuda.module_from_buffer(READ_KERNEL_PTX)
        self._read_kernel = self._read_module.get_function("tpb_read16")

    def copy16(self, dst: int, src: int, nbytes: int, stream: cuda.Stream, block: int = COPY_KERNEL_BLOCK) -> None:
        """dst[:nbytes] = src[:nbytes] with the 16-byte copy kernel (nbytes a multiple of 16), one
        vector per thread in blocks of ``block`` threads."""
        if nbytes % 16:
            raise ValueError(f"copy16 copies whole 16-byte vectors; {nbytes} bytes is not a multiple of 16")
        if not 32 <= block <= 1024 or block % 32:
            raise ValueError(f"copy16 block must be a multiple of 32 in [32, 1024], got {block}")
        vectors = nbytes // 16
        blocks = max(1, -(-vectors // block))
        self._copy_kernel(np.uintp(src), np.uintp(dst), np.uint64(vectors), block=(block, 1, 1),
                          grid=(blocks, 1), stream=stream)

    def read16(self, src: int, nbytes: int, sink: int, stream: cuda.Stream) -> None:
        """Load src[:nbytes] (a multiple of 16) once, 16 bytes per thread, storing nothing (``sink``:
        a 4-byte device word written only for a value a memset pattern never gives)."""
        if nbytes % 16:
            raise ValueError(f"read16 reads whole 16-byte vectors; {nbytes} bytes is not a multiple of 16")
        vectors = nbytes // 16
        blocks = max(1, -(-vectors // COPY_KERNEL_BLOCK))
        self._read_kernel(np.uintp(src), np.uint64(vectors), np.uintp(sink), block=(COPY_KERNEL_BLOCK, 1, 1),
                          grid=(blocks, 1), stream=stream)

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make the primary context current on this thread (for worker threads)."""
        self.context.push()
        try:
            yield
        finally:
            cuda.Context.pop()

    def attribute(self, name: str) -> int:
        return int(self.device.get_attribute(getattr(cuda.device_attribute, name)))

    @property
    def name(self) -> str:
        return str(self.device.name())

    @property
    def l2_bytes(self) -> int:
        return self.attribute("L2_CACHE_SIZE")

    @property
    def sm_count(self) -> int:
        return self.attribute("MULTIPROCESSOR_COUNT")

    def check(self, result: int, what: str) -> None:
        if result != 0:
            msg = ctypes.c_char_p()
            self._lib.cuGetErrorString(ctypes.c_int(result), ctypes.byref(msg))
            text = msg.value.decode() if msg.value else "unknown error"
            raise CudaError(f"{what} failed: CUDA error {result} ({text})")

    def close(self) -> None:
        if self._pushed and threading.get_ident() == self._owner:
            cuda.Context.pop()
            self._pushed = False


class DeviceBuffer:
    """RAII device allocation. Zero-size tensors still get a valid (tiny) allocation."""

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self._alloc = cuda.mem_alloc(max(self.nbytes, 256))

    @property
    def ptr(self) -> int:
        return int(self._alloc)

    def free(self) -> None:
        if self._alloc is not None:
            self._alloc.free()
            self._alloc = None

    def __enter__(self) -> DeviceBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.free()


def upload(ptr: int, host: np.ndarray) -> None:
    """A synchronous host-to-device copy of pageable memory that has landed when it returns.

    cuMemcpyHtoD from pageable memory may return once the bytes are staged, before its DMA lands on
    the device, and a non-blocking stream (every stream of the backends) is not ordered behind the
    legacy stream it went on: a kernel enqueued next could read, or a memset next be overwritten by,
    bytes still in flight (CUDA's "API synchronization behavior"; the "synchronous" memset is as
    asynchronous to the host). Hence the context sync. The GPU suite's test_l2_flush_kinds, which copied
    and set on the legacy stream and flushed on a non-blocking one, failed once that way under load
    (H100, 2026-12-07)."""
    cuda.memcpy_htod(ptr, np.ascontiguousarray(host))
    cuda.Context.synchronize()

def fill_tiled_async(dst: DeviceBuffer, block: np.ndarray, total_bytes: int, stream: cuda.Stream) -> np.ndarray:
    """Enqueue on ``stream``: upload ``block``, then repeat it on the device until ``total_bytes``
    are filled. Returns without waiting; the returned page-locked staging copy of the block must
    stay alive until the stream has passed the upload (synchronize the stream, then drop it).

    Random data for a 2 GiB tensor would take seconds to draw on the host; a tiled 64 MiB block
    is just as incompressible to the memory system and checks the same kernel paths. Every copy
    is on ``stream``, from page-locked memory: a synchronous copy from pageable memory goes through
    the legacy stream and may return before its DMA lands, which orders nothing against a
    non-blocking stream's device-to-device copies (they could tile stale bytes).
    """
    block = np.ascontiguousarray(block)
    head = min(block.nbytes, total_bytes)
    staging = cuda.pagelocked_empty(max(head, 1), np.uint8)
    if head == 0:
        return staging
    staging[:head] = block.reshape(-1).view(np.uint8)[:head]
    cuda.memcpy_htod_async(dst.ptr, staging[:head], stream)
    offset = head
    while offset < total_bytes:
        size = min(offset, total_bytes - offset)  # doubling: copy what is already filled
        cuda.memcpy_dtod_async(dst.ptr + offset, dst.ptr, size, stream)
        offset += size
    return staging


def fill_tiled(dst: DeviceBuffer, block: np.ndarray, total_bytes: int, stream: cuda.Stream) -> None:
    """fill_tiled_async, then wait for ``stream`` (and so for the staging buffer's last reader)."""
    staging = fill_tiled_async(dst, block, total_bytes, stream)
    stream.synchronize()
    del staging


def set_pattern(buf: DeviceBuffer, value: np.ndarray, stream: cuda.Stream) -> None:
    """Fill a buffer with one element's bit pattern (poisoning outputs before a run)."""
    value = np.asarray(value).reshape(1)
    if buf.nbytes == 0:
        return
    if value.itemsize == 4:
        cuda.memset_d32_async(buf.ptr, int(value.view(np.uint32)[0]), buf.nbytes // 4, stream)
    elif value.itemsize == 2:
        cuda.memset_d16_async(buf.ptr, int(value.view(np.uint16)[0]), buf.nbytes // 2, stream)
    else:
        raise ValueError(f"no fill pattern for {value.itemsize}-byte elements")


class CudaGraph:
    """Capture the work a callable enqueues on ``stream`` once; replay it with ``launch``."""

    def __init__(self, gpu: GpuContext, stream: cuda.Stream, enqueue) -> None:  # noqa: ANN001
        self.gpu, self.stream = gpu, stream
        lib = gpu._lib
        self._graph = ctypes.c_void_p()
        self._exec = ctypes.c_void_p()
        handle = ctypes.c_void_p(stream.handle)
        gpu.check(lib.cuStreamBeginCapture_v2(handle, ctypes.c_int(_CU_STREAM_CAPTURE_MODE_GLOBAL)),
                  "cuStreamBeginCapture")
        try:
            try:
                enqueue()
            finally:
                end = lib.cuStreamEndCapture(handle, ctypes.byref(self._graph))
            gpu.check(end, "cuStreamEndCapture (was the enqueue capturable?)")
            gpu.check(lib.cuGraphInstantiateWithFlags(ctypes.byref(self._exec), self._graph, ctypes.c_ulonglong(0)),
                      "cuGraphInstantiateWithFlags")
        except BaseException:
            self.close()  # a captured graph that fails to instantiate is still destroyed
            raise

    def launch(self) -> None:
        self.gpu.check(self.gpu._lib.cuGraphLaunch(self._exec, ctypes.c_void_p(self.stream.handle)),
                       "cuGraphLaunch")

    def close(self) -> None:
        lib = self.gpu._lib
        if self._exec:
            self.gpu.check(lib.cuGraphExecDestroy(self._exec), "cuGraphExecDestroy")
            self._exec = ctypes.c_void_p()
        if self._graph:
            self.gpu.check(lib.cuGraphDestroy(self._graph), "cuGraphDestroy")
            self._graph = ctypes.c_void_p()


class BlockedStartTimeout(CudaError):
    """The enqueue waited for its own stream, so it cannot be timed behind a blocking kernel."""


class StreamBlocker:
    """Holds a stream with the blocking kernel until ``release``; see BLOCK_STREAM_PTX."""

    def __init__(self, gpu: GpuContext, timeout_s: float = 2.0):
        self.gpu = gpu
        self.timeout_ns = np.uint64(int(timeout_s * 1e9))
        # page-locked and mapped: the GPU polls it over the bus while the host writes it
        self.flags = cuda.pagelocked_zeros(2, np.int32, mem_flags=cuda.host_alloc_flags.DEVICEMAP)
        self._device_flags = np.uintp(self.flags.base.get_device_pointer())

    def block(self, stream: cuda.Stream) -> None:
        self.flags[:] = 0
        self.gpu.block_stream_kernel(self._device_flags, self.timeout_ns, block=(1, 1, 1), grid=(1, 1), stream=stream)

    def release(self) -> None:
        self.flags[0] = 1

    @property
    def timed_out(self) -> bool:
        return bool(self.flags[1])


class EventTimer:
    """Times one enqueue with CUDA events on a dedicated stream; host enqueue time is kept apart.

    Two starts (the ``start`` column of the results):
    * ``blocked`` (with a StreamBlocker, nvbench's method): the stream is held while the host
      enqueues, so the number is the GPU time of the work alone, independent of host speed.
    * ``idle``: the stream starts drained, so the number is the latency an application sees from
      enqueue to completion, host enqueue and submission included.
    """

    def __init__(self, stream: cuda.Stream, blocker: StreamBlocker | None = None):
        self.stream = stream
        self.blocker = blocker
        self.fallback_reason = ""  # why a blocked start fell back to idle, if it did
        self.start = cuda.Event()
        self.end = cuda.Event()

    @property
    def start_kind(self) -> str:
        return "blocked" if self.blocker is not None else "idle"

    def time(self, enqueue) -> tuple[float, float]:  # noqa: ANN001
        if self.blocker is not None:
            self.blocker.block(self.stream)
        self.start.record(self.stream)
        t0 = time.perf_counter()
        try:
            enqueue()
        finally:
            host = time.perf_counter() - t0
            self.end.record(self.stream)
            if self.blocker is not None:
                self.blocker.release()
        self.end.synchronize()
        if self.blocker is not None and self.blocker.timed_out:
            # nvbench's answer too: this enqueue is timed from idle from now on, and says so; the
            # sample that waited for the timeout is not returned
            self.fallback_reason = (
                "the timed enqueue waited for its own stream while a blocking kernel held it "
                f"(released only by the {int(self.blocker.timeout_ns) / 1e9:.1f} s timeout): "
                "it cannot be timed with a blocked start"
            )
            self.blocker = None
            raise BlockedStartTimeout(self.fallback_reason)
        return self.end.time_since(self.start) * 1e-3, host


def l2_flush_bytes(gpu: GpuContext) -> int:
    """Touching 4x the L2 (at least 256 MiB) before a sample leaves none of the tensor cached."""
    return max(4 * gpu.l2_bytes, 256 << 20)


# timing.l2_flush: what the cold mode leaves in the L2 before each sample
L2_FLUSH_KINDS = ("clean", "dirty")


class L2Flush:
    """The cold-mode flush before each sample: none of the timed tensors stays in the L2.

    - ``clean`` (the default): a read of the whole buffer (4x the L2). The L2 then holds clean lines
      of the flush buffer only: their eviction costs the timed work nothing, so the sample starts
      from an L2 that is empty of the tensors and of dirty lines, as Nsight Compute's
      ``--cache-control all`` (flush and invalidate) leaves it. Whatever the last sample left dirty
      is written back inside the flush, not inside the next sample.
    - ``dirty``: nvbench's flush, a write (memset) of the buffer. Up to the L2's size of dirty flush
      lines stay, and the timed work pays their write-back: on the H200 (2026-12-02) 256 MiB tensors
      read 96.6-96.9 % of the copy ceiling cold this way, against 97.8 % warm.

    Behind a blocked start the flush need not finish before the timed work is enqueued: the
    blocking kernel waits for it."""

    def __init__(self, gpu: GpuContext, kind: str = "clean"):
        if kind not in L2_FLUSH_KINDS:
            raise ValueError(f"unknown timing.l2_flush {kind!r}; allowed values: {', '.join(L2_FLUSH_KINDS)}")
        self.gpu, self.kind = gpu, kind
        self.buffer = DeviceBuffer(l2_flush_bytes(gpu))
        self._sink = DeviceBuffer(256)
        # a memset pattern: every 16-byte word XORs to 0, so read16 never stores to the sink; landed before
        # any flush on a non-blocking stream reads it (the legacy stream's memset is asynchronous: upload)
        cuda.memset_d8(self.buffer.ptr, 0x5A, self.buffer.nbytes)
        cuda.Context.synchronize()

    def enqueue(self, stream: cuda.Stream) -> None:
        if self.kind == "dirty":
            cuda.memset_d8_async(self.buffer.ptr, 0x5A, self.buffer.nbytes, stream)
        else:
            self.gpu.read16(self.buffer.ptr, self.buffer.nbytes, self._sink.ptr, stream)

    def free(self) -> None:
        self.buffer.free()
        self._sink.free()
