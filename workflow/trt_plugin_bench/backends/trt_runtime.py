"""Running a TensorRT engine: execution contexts with their streams and I/O buffers (_Bindings),
the timers of one (engine, shape, mode) state (TrtTimer, on CUDA events: cuda_utils), the buffers
the timers of one comparison share (TrtArena) and a thread's worker (TrtWorker).

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pycuda.driver as cuda

from ..core import oracle as ref
from ..core.operators import field_values, for_engine, generator_for
from ..core.oracle import CheckResult
from ..core.row_check import RowLayout, choose_rows, row_runs, take_rows, tiled_rows
from ..core.specs import aux_arrays, aux_drawn
from ..device.cuda_utils import (
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

    def check_all(self, outs: list[np.ndarray], x: np.ndarray, shape: tuple[int, ...] | None = None) -> CheckResult: ...

    def check_rows(self, outs: list[np.ndarray], x_rows: np.ndarray, others: list[tuple[np.ndarray, str]],
                   layout: RowLayout, chosen: np.ndarray) -> CheckResult: ...

# The TensorRT backend's timing modes (base.MODE_START says what each measures)
MODES = ("warm", "cold", "stream", "graph")
# Host random data is drawn for at most this many elements and tiled on the device beyond it.
# 1 Mi elements (4 MiB of fp32): the block is checked against float64, the repeats of it by bit
# identity (oracle.check_tiled); the values only need to be random, not many
RANDOM_BLOCK_ELEMENTS = 1 << 20
# Above timing.verify_max_elements, an operator of several inputs, weights or outputs whose spec declares
# independent_rows is checked on whole rows of every output, about this many elements (the simple
# path's head and tail blocks), at most verify_max_elements: at 512 MiB every element was 8-18 s of host
# work a shape (docs/runs/h100-2026-12-06-wave3)
ROW_CHECK_ELEMENTS = 2 * RANDOM_BLOCK_ELEMENTS
# the operators' reasons for a full check already said in this process (one log line each)
_FULL_CHECK_SAID: set[str] = set()


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return int(np.prod(shape, dtype=np.int64)) * ref.numpy_dtype(dtype).itemsize


@dataclasses.dataclass(frozen=True)
class IoLayout:
    """An engine's I/O tensors at one shape of input 0: every input (input 0 is INPUT, the others
    their spec names; shapes from the spec's rules, OperatorSpec.input_shapes) and every output
    (output 0 is OUTPUT, the others their spec names; shapes from the spec's rules), with dtypes."""

    inputs: tuple[tuple[str, tuple[int, ...], str], ...]
    outputs: tuple[tuple[str, tuple[int, ...], str], ...]
    weights: int = 0  # constants built into the engine (a scale, a shift): not bound

    @property
    def input_bytes(self) -> list[int]:
        return [_nbytes(s, dt) for _, s, dt in self.inputs]

    @property
    def output_bytes(self) -> list[int]:
        return [_nbytes(s, dt) for _, s, dt in self.outputs]

    @property
    def simple(self) -> bool:
        """One input, no weights, one output of its shape: the elementwise case the tiled checks are
        for (a weight is along an axis, so its operator is not elementwise in input 0's order)."""
        return (len(self.inputs) == 1 and len(self.outputs) == 1 and not self.weights
                and self.outputs[0][1] == self.inputs[0][1])


def io_layout(engine_spec: Any, shape: tuple[int, ...]) -> IoLayout:
    """The I/O tensors of ``engine_spec``'s engine when input 0 has ``shape`` (IoLayout)."""
    op = for_engine(engine_spec)
    dtype = engine_spec.dtype
    in_names = [INPUT, *(t.name for t in op.inputs[1:])]
    inputs = tuple((name, tuple(s), t.dtype_for(dtype)) for name, s, t in zip(in_names, op.input_shapes(shape), op.inputs))
    out_names = [OUTPUT, *op.outputs[1:]]
    values = field_values(op, engine_spec.beta)
    outputs = tuple((name, tuple(s), dtype) for name, s in zip(out_names, op.output_shapes(shape, values)))
    return IoLayout(inputs, outputs, len(op.weights))


def other_inputs(engine_spec: Any, shape: tuple[int, ...], op: Any = None) -> list[np.ndarray]:
    """Inputs 1.. of an inference whose input 0 has ``shape``: the spec's values (specs.aux_arrays,
    what the float64 reference and the CPU backend use), in device representation. ``op``: the
    engine's operator spec where the caller holds it (one object: aux_arrays caches per spec object)."""
    op = op if op is not None else for_engine(engine_spec)
    n_others = len(op.inputs) - 1
    return [np.ascontiguousarray(a) for a, _ in aux_arrays(op, tuple(shape), engine_spec.dtype)[:n_others]]


class _Bindings:
    """One execution context with its own stream and I/O buffers (every input and every output of
    the engine, bound by name: TensorRT 8.6's set_input_shape / set_tensor_address /
    execute_async_v3), sized for a shape."""

    def __init__(self, engine: TrtEngine, context_lock: threading.Lock):
        self.engine = engine
        self.context: trt.IExecutionContext | None = None
        self.d_ins: list[DeviceBuffer] = []
        self.d_outs: list[DeviceBuffer] = []
        self._borrowed = False  # the buffers belong to a TrtArena: bound here, freed there
        self._staging: dict[tuple[str, int], np.ndarray] = {}  # page-locked, so copies are truly async
        self.shape: tuple[int, ...] | None = None
        self.layout: IoLayout | None = None
        self.op = for_engine(engine.spec)  # one object for this context's life (aux_arrays caches by it)
        self.several_inputs = len(self.op.inputs) > 1
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

    @property
    def d_in(self) -> DeviceBuffer | None:
        """Input 0's buffer."""
        return self.d_ins[0] if self.d_ins else None

    @property
    def d_out(self) -> DeviceBuffer | None:
        """Output 0's buffer."""
        return self.d_outs[0] if self.d_outs else None

    def _fits(self, layout: IoLayout) -> bool:
        return (len(self.d_ins) == len(layout.inputs) and len(self.d_outs) == len(layout.outputs)
                and all(b.nbytes >= n for b, n in zip(self.d_ins, layout.input_bytes))
                and all(b.nbytes >= n for b, n in zip(self.d_outs, layout.output_bytes)))

    def prepare(self, shape: tuple[int, ...], io: TrtIo | None = None) -> int:
        """Set every input's shape and bind every input and output: ``io`` (an arena's buffers) or
        our own. Returns input 0's bytes."""
        spec = self.engine.spec
        spec.check_shape(shape)
        # the same shape again (every inference of a worker): the layout already known
        layout = self.layout if self.layout is not None and self.shape == tuple(shape) else io_layout(spec, tuple(shape))
        if io is not None:
            if not io.fits(layout):
                raise ValueError(f"shared buffers ({io.describe()}) cannot hold the tensors of {list(shape)} "
                                 f"(inputs {layout.input_bytes} bytes, outputs {layout.output_bytes} bytes)")
            self.free_buffers()
            self.d_ins, self.d_outs = list(io.inputs), list(io.outputs)
            self._borrowed = True
        elif self._borrowed or not self._fits(layout):
            self.free_buffers()
            for n in layout.input_bytes:  # one at a time: what a failing allocation leaves, free_buffers frees
                self.d_ins.append(DeviceBuffer(n))
            for n in layout.output_bytes:
                self.d_outs.append(DeviceBuffer(n))
        logger = self.engine.backend.logger
        for name, s, _ in layout.inputs:
            # a static input (a broadcast one of fixed shape) has no shape to set
            if any(d < 0 for d in self.engine.engine.get_tensor_shape(name)) and not self.context.set_input_shape(name, s):
                raise RuntimeError(f"TensorRT refused shape {list(s)} for input {name}: {logger.errors()}")
        for name, s, _ in layout.outputs:
            got = tuple(self.context.get_tensor_shape(name))
            if got != tuple(s):
                raise RuntimeError(f"output {name} has shape {list(got)}, its spec's shape rule says {list(s)} "
                                   f"(input 0 {list(shape)})")
        for (name, _, _), buf in zip((*layout.inputs, *layout.outputs), (*self.d_ins, *self.d_outs)):
            if not self.context.set_tensor_address(name, buf.ptr):
                raise RuntimeError(f"set_tensor_address({name}) failed: {logger.errors()}")
        self.shape, self.layout = tuple(shape), layout
        return layout.input_bytes[0]

    def enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"execute_async_v3 failed: {self.engine.backend.logger.errors()}")

    def _stage(self, key: tuple[str, int], nbytes: int) -> np.ndarray:
        h = self._staging.get(key)
        if h is None or h.size < nbytes:
            h = self._staging[key] = cuda.pagelocked_empty(max(nbytes, 1), np.uint8)
        return h

    def poison_outputs(self) -> None:
        for (_, _, dtype), buf in zip(self.layout.outputs, self.d_outs):
            set_pattern(buf, ref.poison((1,), dtype), self.stream)

    def read_output_rows(self, layout: RowLayout, rows: np.ndarray) -> list[np.ndarray]:
        """Rows ``rows`` (sorted) of every output (after the stream's work), output j as an array
        (len(rows), layout.out_rows[j]): one synchronous copy per contiguous run of rows, through the
        legacy stream, so this waits for our stream first."""
        self.stream.synchronize()
        runs = row_runs(rows)
        outs = []
        for (_, s, dtype), buf, per in zip(self.layout.outputs, self.d_outs, layout.out_rows):
            dt = ref.numpy_dtype(dtype)
            if math.prod(s) != layout.rows * per:
                raise RuntimeError(f"output of shape {list(s)} is not {layout.rows} rows of {per} elements")
            out = np.empty((len(rows), per), dtype=dt)
            at = 0
            for first, count in runs:
                if per:
                    cuda.memcpy_dtoh(out[at:at + count], buf.ptr + first * per * dt.itemsize)
                at += count
            outs.append(out)
        return outs

    def read_outputs(self) -> list[np.ndarray]:
        """Every output (after the stream's work), host arrays of their shapes: synchronous copies
        through the legacy stream, so this waits for our stream first."""
        self.stream.synchronize()
        outs = []
        for (_, s, dtype), buf in zip(self.layout.outputs, self.d_outs):
            out = np.empty(s, dtype=ref.numpy_dtype(dtype))
            if out.size:
                cuda.memcpy_dtoh(out, buf.ptr)
            outs.append(out)
        return outs

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """One inference: stage every input in (input 0 ``x``, the others the spec's), poison every
        output, enqueue, stage every output out, wait. Every output, output 0 first."""
        spec = self.engine.spec
        if x.dtype != ref.numpy_dtype(spec.dtype):
            raise TypeError(f"input dtype {x.dtype} does not match engine dtype {spec.dtype}")
        spec.check_shape(tuple(x.shape))
        others = other_inputs(spec, tuple(x.shape), self.op) if self.several_inputs else []
        inputs = [np.ascontiguousarray(x), *others]
        self.prepare(tuple(x.shape))
        for k, (a, buf) in enumerate(zip(inputs, self.d_ins)):
            if a.nbytes:
                h = self._stage(("in", k), a.nbytes)
                h[:a.nbytes] = a.reshape(-1).view(np.uint8)
                cuda.memcpy_htod_async(buf.ptr, h[:a.nbytes], self.stream)
        self.poison_outputs()
        self.enqueue()
        outs = []
        for j, ((_, s, dtype), buf) in enumerate(zip(self.layout.outputs, self.d_outs)):
            nbytes = _nbytes(s, dtype)
            h = self._stage(("out", j), nbytes)
            if nbytes:
                cuda.memcpy_dtoh_async(h[:nbytes], buf.ptr, self.stream)
            outs.append((h, nbytes, s, dtype))
        self.stream.synchronize()
        return [h[:n].copy().view(ref.numpy_dtype(dtype)).reshape(s) for h, n, s, dtype in outs]

    def free_buffers(self) -> None:
        if not self._borrowed:
            for buf in (*self.d_ins, *self.d_outs):
                buf.free()
        self.d_ins, self.d_outs = [], []
        self._borrowed = False
        self._staging = {}

    def free(self) -> None:
        """Release buffers, destroy the context and hand its optimization profile back (once)."""
        self.free_buffers()
        self.context = None  # the last reference: TensorRT destroys the context here
        if self.profile_index is not None:
            self.engine.release_profile(self.profile_index)
            self.profile_index = None


@dataclasses.dataclass(frozen=True)
class TrtIo:
    """A TrtArena's buffers for every input and every output, in the engines' order."""

    inputs: tuple[DeviceBuffer, ...]
    outputs: tuple[DeviceBuffer, ...]

    def fits(self, layout: IoLayout) -> bool:
        return (len(self.inputs) == len(layout.inputs) and len(self.outputs) == len(layout.outputs)
                and all(b.nbytes >= n for b, n in zip(self.inputs, layout.input_bytes))
                and all(b.nbytes >= n for b, n in zip(self.outputs, layout.output_bytes)))

    def describe(self) -> str:
        return (f"inputs {[b.nbytes for b in self.inputs]} bytes, outputs {[b.nbytes for b in self.outputs]} bytes")


class TrtArena(TimingArena):
    """Device buffers shared by the timers of one comparison (see TimingArena): every input, every
    output and the cold-mode flush buffer, allocated by the first timer that needs them (both
    engines of a comparison compute one operator: the same I/O tensors)."""

    def __init__(self, gpu: GpuContext, l2_flush: str = "clean"):
        super().__init__()
        self.gpu, self.l2_flush = gpu, l2_flush
        self._io: TrtIo | None = None
        self._flush: L2Flush | None = None

    def io(self, layout: IoLayout) -> TrtIo:
        self.reserve(sum(layout.input_bytes) + sum(layout.output_bytes))
        if self._io is None:
            made: list[DeviceBuffer] = []
            try:
                for n in (*layout.input_bytes, *layout.output_bytes):
                    made.append(DeviceBuffer(n))
            except BaseException:
                for buf in made:  # a failing allocation leaves none of the others behind
                    buf.free()
                raise
            k = len(layout.inputs)
            self._io = TrtIo(tuple(made[:k]), tuple(made[k:]))
        if not self._io.fits(layout):
            raise ValueError(f"this timing arena's buffers ({self._io.describe()}) do not fit a timer's tensors "
                             f"(inputs {layout.input_bytes}, outputs {layout.output_bytes}): one arena per shape and operator")
        return self._io

    def flush(self) -> L2Flush:
        if self._flush is None:
            self._flush = L2Flush(self.gpu, self.l2_flush)
        return self._flush

    def close(self) -> None:
        for buf in (*(self._io.inputs + self._io.outputs if self._io else ()), self._flush):
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
        self.verify_max_elements, self.seed = verify_max_elements, seed
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
        self.layout = io_layout(spec, self.shape)
        nbytes = self.b.prepare(self.shape, arena.io(self.layout) if arena is not None else None)
        block_n = min(self.n, RANDOM_BLOCK_ELEMENTS)
        # the other inputs are drawn at full shape, once per shape (aux_arrays caches them)
        drawn = block_n + (0 if aux_drawn(self.b.op, self.shape, spec.dtype)
                           else sum(math.prod(s) for _, s, _ in self.layout.inputs[1:]))
        # drawing the inputs is host work: a large draw steps out of the GPU slot (TensorRTBackend.host_work)
        with self.engine.backend.host_work(drawn):
            self.block = ref.random_input((block_n,), spec.dtype, seed, generator=generator_for(spec))  # the spec's values
            # the other inputs: the spec's values at this shape (specs.aux_arrays), what the reference uses
            others = other_inputs(spec, self.shape, self.b.op)
        fill_tiled(self.b.d_in, self.block, nbytes, self.b.stream)
        for a, buf in zip(others, self.b.d_ins[1:]):
            fill_tiled(buf, a, a.nbytes, self.b.stream)
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
        self.b.poison_outputs()
        self.b.enqueue()
        # the synchronous copies below go through the legacy stream, which a non-blocking stream
        # is not ordered with: they read finished output only because this waits for the stream
        self.b.stream.synchronize()
        # the outputs are copied out first (GPU work); the check against float64 is host work, which
        # over a large output steps out of the GPU slot (TensorRTBackend.host_work)
        if not self.layout.simple:
            plan = self._row_plan()
            if plan is not None:
                return self._verify_rows(*plan)
            # several inputs or outputs (a broadcast, a reduction, weights), up to verify_max_elements or
            # without independent rows: every output in full against float64 of the inputs as filled
            # (input 0 the block repeated, the others the spec's)
            outs = self.b.read_outputs()
            with self.engine.backend.host_work(self.n):
                x = np.resize(self.block, self.n).reshape(self.shape)
                return self.engine.check_all(outs, x, self.shape)
        item = ref.numpy_dtype(spec.dtype).itemsize
        if self.n <= self.verify_max_elements:
            out = np.empty(self.n, dtype=ref.numpy_dtype(spec.dtype))
            if self.n:
                cuda.memcpy_dtoh(out, self.b.d_out.ptr)
            with self.engine.backend.host_work(self.n):
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

    def _row_plan(self) -> tuple[RowLayout, np.ndarray] | None:
        """Above verify_max_elements, the rows of every output the check takes (row_check.choose_rows:
        the first, the last, a few seeded random ones, ROW_CHECK_ELEMENTS at most) where the spec
        declares independent rows and the tensors split into rows; None: the full check (logged once
        per operator and reason when the size is over the limit)."""
        if self.n <= self.verify_max_elements:
            return None
        op = self.b.op
        layout = op.row_layout(self.shape, field_values(op, self.engine.spec.beta))
        if isinstance(layout, str):
            if layout not in _FULL_CHECK_SAID:
                _FULL_CHECK_SAID.add(layout)
                print(f"trt_plugin_bench: {layout}: every element of every output is checked against float64 "
                      f"above timing.verify_max_elements ({self.n} > {self.verify_max_elements} at "
                      f"{list(self.shape)})", file=sys.stderr)
            return None
        chosen = choose_rows(layout.rows, layout.per_row, min(self.verify_max_elements, ROW_CHECK_ELEMENTS), self.seed)
        return None if chosen is None else (layout, chosen)

    def _verify_rows(self, layout: RowLayout, chosen: np.ndarray) -> CheckResult:
        """Rows ``chosen`` of every output against the float64 reference of just those rows: input 0's
        rows of the block repeated (tiled_rows), the row-aligned inputs' same rows and the broadcast
        inputs and weights whole, all the values the device was filled with (aux_arrays, drawn in
        _setup and cached: sliced here, never drawn again unless the cache let them go)."""
        spec = self.engine.spec
        outs = self.b.read_output_rows(layout, chosen)
        # the other inputs at full shape are drawn again only if the cache let them go: then that is the work
        drawn = aux_drawn(self.b.op, self.shape, spec.dtype)
        with self.engine.backend.host_work(int(chosen.size) * layout.per_row if drawn else self.n):
            x_rows = tiled_rows(self.block, chosen, layout)
            others = [(take_rows(a, chosen, layout) if aligned else a, dt)
                      for (a, dt), aligned in zip(aux_arrays(self.b.op, self.shape, spec.dtype), layout.aligned)]
            return self.engine.check_rows(outs, x_rows, others, layout, chosen)

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
        return self.b.run(x)[0]

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
        return self.b.run(x)

    def close(self) -> None:
        try:
            self.b.free()
            del self.b
        finally:
            self._current.__exit__(None, None, None)
