"""Running a TensorRT engine: execution contexts with their streams and I/O buffers (_Bindings),
the timers of one (engine, shape, mode) state (TrtTimer, on CUDA events: cuda_utils), the buffers
the timers of one comparison share (TrtArena) and a thread's worker (TrtWorker).

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pycuda.driver as cuda

from .. import oracle as ref
from ..cuda_utils import (
    NON_BLOCKING,
    BlockedStartTimeout,
    CudaGraph,
    DeviceBuffer,
    EventTimer,
    GpuContext,
    L2Flush,
    StreamBlocker,
    fill_tiled,
    set_pattern,
)
from ..operators import generator_for
from ..oracle import CheckResult
from .base import MODE_START, Timer, TimingArena, Worker
from .trt_common import INPUT, OUTPUT

if TYPE_CHECKING:
    import tensorrt as trt


class TrtEngine(Protocol):
    """What the runtime uses of an engine (trt_engine.TrtEngine): a Protocol, so this module does
    not import the engine module that imports it."""

    backend: Any  # trt_engine.EngineOwner
    engine: trt.ICudaEngine
    spec: Any  # base.EngineSpec
    context_lock: threading.Lock

    def acquire_profile(self) -> int: ...

    def release_profile(self, index: int) -> None: ...

    def check(self, out: np.ndarray, x: np.ndarray, expected_shape: tuple[int, ...] | None = None) -> CheckResult: ...

    def check_tiled(self, out: np.ndarray, block: np.ndarray) -> CheckResult: ...

# The TensorRT backend's timing modes (base.MODE_START says what each measures)
MODES = ("warm", "cold", "stream", "graph")
# Host random data is drawn for at most this many elements and tiled on the device beyond it.
# 1 Mi elements (4 MiB of fp32): the block is checked against float64, the repeats of it by bit
# identity (oracle.check_tiled); the values only need to be random, not many
RANDOM_BLOCK_ELEMENTS = 1 << 20


class _Bindings:
    """One execution context with its own stream and I/O buffers, sized for a shape."""

    def __init__(self, engine: TrtEngine, context_lock: threading.Lock):
        self.engine = engine
        self.context: trt.IExecutionContext | None = None
        self.d_in: DeviceBuffer | None = None
        self.d_out: DeviceBuffer | None = None
        self._borrowed = False  # d_in/d_out belong to a TrtArena: bound here, freed there
        self.h_in: np.ndarray | None = None  # page-locked staging, so copies are truly async
        self.h_out: np.ndarray | None = None
        self.shape: tuple[int, ...] | None = None
        self.profile_index: int | None = engine.acquire_profile()
        try:
            with context_lock:  # context creation touches the engine's shared state
                self.context = engine.engine.create_execution_context()
            if self.context is None:
                raise RuntimeError(f"could not create an execution context: {engine.backend.logger.errors()}")
            self.stream = cuda.Stream(flags=NON_BLOCKING)
            # TensorRT 8.6 binds each optimization profile to one live context at a time: take our own
            if not self.context.set_optimization_profile_async(self.profile_index, self.stream.handle):
                raise RuntimeError(f"could not select optimization profile {self.profile_index}: "
                                   f"{engine.backend.logger.errors()}")
            self.stream.synchronize()
        except BaseException:
            # with one profile per engine, a profile kept here would refuse every later timer
            self.free()
            raise

    def prepare(self, shape: tuple[int, ...], io: tuple[DeviceBuffer, DeviceBuffer] | None = None) -> int:
        """Set the input shape and bind input and output: ``io`` (an arena's buffers) or our own."""
        spec = self.engine.spec
        spec.check_shape(shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * ref.numpy_dtype(spec.dtype).itemsize
        if io is not None:
            if min(io[0].nbytes, io[1].nbytes) < nbytes:
                raise ValueError(f"shared buffers of {min(io[0].nbytes, io[1].nbytes)} bytes cannot hold "
                                 f"{list(shape)} ({nbytes} bytes)")
            self.free_buffers()
            self.d_in, self.d_out = io
            self._borrowed = True
        elif self.d_in is None or self._borrowed or self.d_in.nbytes < nbytes:
            self.free_buffers()
            self.d_in, self.d_out = DeviceBuffer(nbytes), DeviceBuffer(nbytes)
        if not self.context.set_input_shape(INPUT, tuple(shape)):
            raise RuntimeError(f"TensorRT refused input shape {list(shape)}: {self.engine.backend.logger.errors()}")
        out_shape = tuple(self.context.get_tensor_shape(OUTPUT))
        if out_shape != tuple(shape):
            raise RuntimeError(f"output shape {list(out_shape)} differs from input shape {list(shape)}")
        for name, buf in ((INPUT, self.d_in), (OUTPUT, self.d_out)):
            if not self.context.set_tensor_address(name, buf.ptr):
                raise RuntimeError(f"set_tensor_address({name}) failed: {self.engine.backend.logger.errors()}")
        self.shape = tuple(shape)
        return nbytes

    def enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"execute_async_v3 failed: {self.engine.backend.logger.errors()}")

    def run(self, x: np.ndarray) -> np.ndarray:
        """One inference: stage in, poison the output, enqueue, stage out, wait."""
        spec = self.engine.spec
        if x.dtype != ref.numpy_dtype(spec.dtype):
            raise TypeError(f"input dtype {x.dtype} does not match engine dtype {spec.dtype}")
        self.prepare(tuple(x.shape))
        n = x.size
        if self.h_in is None or self.h_in.size < n:
            self.h_in = cuda.pagelocked_empty(max(n, 1), x.dtype)
            self.h_out = cuda.pagelocked_empty(max(n, 1), x.dtype)
        set_pattern(self.d_out, ref.poison((1,), spec.dtype), self.stream)
        if n:
            self.h_in[:n] = x.ravel()
            cuda.memcpy_htod_async(self.d_in.ptr, self.h_in[:n], self.stream)
        self.enqueue()
        if n:
            cuda.memcpy_dtoh_async(self.h_out[:n], self.d_out.ptr, self.stream)
        self.stream.synchronize()
        return self.h_out[:n].copy().reshape(x.shape)

    def free_buffers(self) -> None:
        if not self._borrowed:
            for buf in (self.d_in, self.d_out):
                if buf is not None:
                    buf.free()
        self.d_in = self.d_out = None
        self._borrowed = False
        self.h_in = self.h_out = None

    def free(self) -> None:
        """Release buffers, destroy the context and hand its optimization profile back (once)."""
        self.free_buffers()
        self.context = None  # the last reference: TensorRT destroys the context here
        if self.profile_index is not None:
            self.engine.release_profile(self.profile_index)
            self.profile_index = None


class TrtArena(TimingArena):
    """Device buffers shared by the timers of one comparison (see TimingArena): input, output and
    the cold-mode flush buffer, allocated by the first timer that needs them."""

    def __init__(self, gpu: GpuContext, l2_flush: str = "clean"):
        super().__init__()
        self.gpu, self.l2_flush = gpu, l2_flush
        self._io: tuple[DeviceBuffer, DeviceBuffer] | None = None
        self._flush: L2Flush | None = None

    def io(self, nbytes: int) -> tuple[DeviceBuffer, DeviceBuffer]:
        self.reserve(nbytes)
        if self._io is None:
            self._io = DeviceBuffer(self.nbytes), DeviceBuffer(self.nbytes)
        return self._io

    def flush(self) -> L2Flush:
        if self._flush is None:
            self._flush = L2Flush(self.gpu, self.l2_flush)
        return self._flush

    def close(self) -> None:
        for buf in (*(self._io or ()), self._flush):
            if buf is not None:
                buf.free()
        self._io = self._flush = None


class TrtTimer(Timer):
    def __init__(self, engine: TrtEngine, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
                 arena: TrtArena | None = None):
        if mode not in MODES:
            raise ValueError(f"unknown timing mode {mode!r}; allowed values: {', '.join(MODES)}")
        self.engine, self.mode, self.shape = engine, mode, tuple(shape)
        self.gpu = engine.backend.gpu
        self.verify_max_elements = verify_max_elements
        self.flush: L2Flush | None = None
        self._owns_flush = arena is None
        self.graph: CudaGraph | None = None
        self.b = _Bindings(engine, engine.context_lock)
        try:
            self._setup(seed, arena)
        except BaseException:
            self.close()  # hand the profile and the context back: a failed timer keeps nothing
            raise

    def _setup(self, seed: int, arena: TrtArena | None) -> None:
        spec = self.engine.spec
        self.n = int(np.prod(self.shape, dtype=np.int64))
        tensor_bytes = self.n * ref.numpy_dtype(spec.dtype).itemsize
        nbytes = self.b.prepare(self.shape, arena.io(tensor_bytes) if arena is not None else None)
        block_n = min(self.n, RANDOM_BLOCK_ELEMENTS)
        self.block = ref.random_input((block_n,), spec.dtype, seed, generator=generator_for(spec))  # the spec's values
        fill_tiled(self.b.d_in, self.block, nbytes, self.b.stream)
        blocked = MODE_START[self.mode] == "blocked"
        self.events = EventTimer(self.b.stream, StreamBlocker(self.gpu) if blocked else None)
        if self.mode == "cold":
            self.flush = L2Flush(self.gpu, self.engine.backend.l2_flush) if arena is None else arena.flush()
        if self.mode == "graph":
            self.b.enqueue()  # TensorRT needs one enqueue after a shape change before capture
            self.b.stream.synchronize()
            self.graph = CudaGraph(self.gpu, self.b.stream, self.b.enqueue)

    def sample(self) -> tuple[float, float]:
        if self.flush is not None:
            self.flush.enqueue(self.b.stream)
            if self.events.blocker is None:
                self.b.stream.synchronize()
        try:
            return self.events.time(self.graph.launch if self.graph is not None else self.b.enqueue)
        except BlockedStartTimeout as exc:  # the timer now starts from idle: sample again (flush included)
            print(f"trt_plugin_bench: {self.engine.spec.operator} {self.mode}: {exc}; timing from idle", file=sys.stderr)
            return self.sample()

    @property
    def start(self) -> str:  # "blocked", or "idle" (also after a blocked start fell back)
        return self.events.start_kind

    @property
    def fallback_reason(self) -> str:
        return self.events.fallback_reason

    def verify(self) -> CheckResult:
        spec = self.engine.spec
        set_pattern(self.b.d_out, ref.poison((1,), spec.dtype), self.b.stream)
        self.b.enqueue()
        # the synchronous copies below go through the legacy stream, which a non-blocking stream
        # is not ordered with: they read finished output only because this waits for the stream
        self.b.stream.synchronize()
        item = ref.numpy_dtype(spec.dtype).itemsize
        if self.n <= self.verify_max_elements:
            out = np.empty(self.n, dtype=ref.numpy_dtype(spec.dtype))
            if self.n:
                cuda.memcpy_dtoh(out, self.b.d_out.ptr)
            return self.engine.check_tiled(out, self.block)  # the input is self.block, repeated
        # large tensors: the first random block in full, then the last block's worth
        b = self.block.size
        head = np.empty(b, dtype=self.block.dtype)
        cuda.memcpy_dtoh(head, self.b.d_out.ptr)
        tail_start = self.n - b
        tail = np.empty(b, dtype=self.block.dtype)
        cuda.memcpy_dtoh(tail, self.b.d_out.ptr + tail_start * item)
        first = self.engine.check(head, self.block)  # the head is one whole block
        if first.ok and ref.tiles_match(tail, head, start=tail_start):
            return dataclasses.replace(first, checked=2 * b)  # the tail is the head's output, bit for bit
        x_tail = self.block[(np.arange(tail_start, self.n) % b)]
        return self.engine.check(np.concatenate([head, tail]), np.concatenate([self.block, x_tail]))

    def close(self) -> None:
        try:
            if self.graph is not None:
                self.graph.close()
                self.graph = None
            if self.flush is not None and self._owns_flush:
                self.flush.free()
            self.flush = None
        finally:
            self.b.free()


class TrtWorker(Worker):
    """A thread's own execution context and stream on the shared engine, in the primary context."""

    def __init__(self, engine: TrtEngine):
        self.engine = engine
        self._current = engine.backend.gpu.current()
        self._current.__enter__()
        try:
            self.b = _Bindings(engine, engine.context_lock)
        except BaseException:
            self._current.__exit__(None, None, None)  # leave this thread's context stack as it was
            raise

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.b.run(x)

    def close(self) -> None:
        try:
            self.b.free()
            del self.b
        finally:
            self._current.__exit__(None, None, None)
