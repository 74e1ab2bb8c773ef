"""The in_network rule on TensorRT: a block's two engines (producer -> plugin -> consumer and
producer -> native twin -> consumer) and the plugin alone, built from the block's network function
(in_network.py, neighbourhoods.py), timed interleaved on shared buffers (measure.measure_interleaved,
the compare rule's method, with its A/A control), then run under TensorRT's IProfiler and read with
the engine inspector (ProfilingVerbosity.DETAILED, JSON layer information).

The builder is configured as the pipeline's engines are (backends.trt_engine: no cuBLAS/cuDNN tactic
sources, the config's workspace and optimization level, detailed profiling verbosity); fp16 without
strong typing (TensorRT 8.6) pins every non-constant layer to fp16 with obeyed precision constraints,
so the block is an fp16 block throughout and TensorRT picks the formats.

Imported only by the in-network command on the tensorrt backend, never at package import.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pycuda.driver as cuda
import tensorrt as trt

from ..backends.base import EngineSpec, TimingArena
from ..backends.tensorrt_backend import TensorRTBackend
from ..backends.trt_common import INPUT, OUTPUT, TRT_MAJOR, BuildError
from ..backends.trt_engine import tactic_sources_without_libraries
from ..backends.trt_network import TRT_DTYPE, _add_spec_plugin, _weight_constants, network_flags
from ..core.operators import field_values
from ..core.oracle import CheckResult
from ..core.settings import Settings
from ..core.specs import OperatorSpec
from ..core.stats import AA_PATTERN
from ..device.cuda_utils import (
    NON_BLOCKING,
    BlockedStartTimeout,
    DeviceBuffer,
    EventTimer,
    L2Flush,
    StreamBlocker,
    set_pattern,
    upload,
)
from ..device.gpu_slot import NO_SLOT, HostWork
from ..device.host import quiet_host
from ..measure.cuda_direct import DirectBench, kernel_library
from ..measure.measure import Plan, State, log, measure_interleaved
from .in_network import (
    OP_PLUGIN,
    OP_TWIN,
    SHARED_TIMING_CACHE,
    WEIGHT_SEED,
    InNetworkLayerRow,
    InNetworkRow,
    Prepared,
    _pair_row,
    _rule,
    aggregate_layer_times,
    block_input,
    classify_layers,
    edge_reason,
    fused_description,
    layer_rows,
    load_function,
    operator_layer_us,
    pair_check,
)

Operator = Callable[[Any], Any]


# -- build ---------------------------------------------------------------------------------------
def _operator_spec(op_spec: OperatorSpec, dtype: str, shape: tuple[int, ...], beta: float, kernel: str) -> EngineSpec:
    """The EngineSpec the spec's plugin fields and weights are drawn for, at the tensor it sees."""
    return EngineSpec(operator=op_spec.name, function=op_spec.function, implementation=op_spec.implementation,
                      kernel=kernel, dtype=dtype, profile="in_network", min=shape, opt=shape, max=shape, beta=beta)


def plugin_operator(network: trt.INetworkDefinition, keep: list, op_spec: OperatorSpec, dtype: str, beta: float,
                    kernel: str, seen: list) -> Operator:
    """operator(tensor) -> tensor adding the spec's plugin layer (named OP_PLUGIN) and its weights."""
    def add(t: trt.ITensor) -> trt.ITensor:
        shape = tuple(int(d) for d in t.shape)
        seen.append(shape)
        spec = _operator_spec(op_spec, dtype, shape, beta, kernel)
        weights = _weight_constants(network, op_spec, spec, keep)
        layer = _add_spec_plugin(network, [t, *weights], op_spec, spec, keep)
        layer.name = OP_PLUGIN
        return layer.get_output(0)

    return add


def twin_operator(network: trt.INetworkDefinition, keep: list, op_spec: OperatorSpec, dtype: str, beta: float,
                  seen: list) -> Operator:
    """operator(tensor) -> tensor adding the spec's native twin (its layers named OP_TWIN.<i>)."""
    def add(t: trt.ITensor) -> trt.ITensor:
        shape = tuple(int(d) for d in t.shape)
        seen.append(shape)
        spec = _operator_spec(op_spec, dtype, shape, beta, "")
        first = network.num_layers
        weights = _weight_constants(network, op_spec, spec, keep)
        twin = op_spec.fn("native_twin")
        layers = twin(trt, network, [t, *weights], dtype, keep, **op_spec.kwargs(twin, field_values(op_spec, beta)))
        if not layers:
            raise BuildError(f"operator spec {op_spec.path}: key 'native_twin': {op_spec.native_twin} added no layer")
        # every layer the twin added is the operator's, its constants too (a twin need not return them:
        # unnamed, they read as a neighbour's and the twin's own pointwise layer as "fused" with them,
        # seen for GELU's constants on the H100, 2026-12-06)
        for j in range(first, network.num_layers):
            network.get_layer(j).name = f"{OP_TWIN}.k{j - first}"
        for i, layer in enumerate(layers):
            layer.name = f"{OP_TWIN}.{i}"
        return layers[-1].get_output(0)

    return add


def alone(trt_: Any, network: Any, x: Any, dtype: str, keep: list, operator: Operator, rng: Any) -> Any:  # noqa: ARG001
    """The block of the operator alone (its engine of one layer, at the tensor it sees in the block)."""
    return operator(x)


class SharedTimingCache:
    """One builder timing cache for the engines of a pair (the plugin's block and the twin's): the
    neighbours' tactics (the convolutions, the GEMMs) are timed once, in the first build, and the second
    build takes the same tactics for the same unfused neighbour layers from the cache (TensorRT 8.6:
    IBuilderConfig.create_timing_cache / set_timing_cache; "it can be shared by multiple builder
    instances", NvInfer.h). The builder adds each build's new timings to the cache in place.

    With ``file`` (run_trt_job: one per experiment and plugin source, beside the rule's outputs) the cache
    starts from what earlier jobs saved there and ``save`` merges this job's timings into it
    (ITimingCache.combine), under a file lock, as trtexec's --timingCacheFile does: the same neighbour in
    another operator's pair (two operators' conv3x3 blocks at one size) is timed once per experiment,
    not once per pair. (H100, 2026-12-07: a pair took about 45 s, most of it in builds: 10-18 s each.) A file
    that TensorRT refuses (another GPU or TensorRT, or damaged) is set aside with a line in the log, and the
    job starts from an empty cache."""

    def __init__(self, file: Path | None = None) -> None:
        self.cache: trt.ITimingCache | None = None
        self.sizes: list[int] = []  # the serialized cache's bytes after each build
        self.file = Path(file) if file is not None else None
        self.loaded_bytes = 0  # what the file held when this job started from it
        self.saved = ""  # what save() did
        self._config: trt.IBuilderConfig | None = None

    def _read(self) -> bytes:
        """The file as the last save left it (save replaces it whole: no lock needed to read it)."""
        return self.file.read_bytes() if self.file is not None and self.file.is_file() else b""

    def attach(self, config: trt.IBuilderConfig, what: str) -> None:
        if self.cache is None:
            blob = self._read()
            self.cache = config.create_timing_cache(blob) if blob else None
            if self.cache is not None and config.set_timing_cache(self.cache, False):
                self.loaded_bytes, self._config = len(blob), config
                return
            if blob:  # refused: from another device or TensorRT, or damaged
                log(f"in_network {what}: TensorRT refused the timing cache {self.file} ({len(blob)} bytes); "
                    "this job starts from an empty one and saves its own")
            self.cache = config.create_timing_cache(b"")  # empty: a new cache
            if self.cache is None:
                raise BuildError(f"in_network {what}: TensorRT could not create a timing cache")
        self._config = config
        if not config.set_timing_cache(self.cache, False):  # False: no mismatch ignored (one device, one process)
            raise BuildError(f"in_network {what}: TensorRT refused the pair's timing cache")

    def save(self) -> None:
        """Merge this job's timings into the file (another job may have saved meanwhile), atomically."""
        if self.file is None or self.cache is None or self._config is None:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.with_name(self.file.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one merge at a time: another job's save is not lost
            merged = "written"
            if self.file.is_file():
                other = self._config.create_timing_cache(self.file.read_bytes())
                if other is not None and self.cache.combine(other, False):
                    merged = "merged with the file's"
                else:
                    merged = "written over the file's (TensorRT refused to combine them)"
            tmp = self.file.with_name(self.file.name + f".{os.getpid()}.tmp")
            tmp.write_bytes(bytes(self.cache.serialize()))
            tmp.replace(self.file)
            self.saved = f"{merged}: {self.file.stat().st_size} bytes"

    def built(self) -> None:
        """After a build: the cache's serialized size, a sign of what it took in (informational only)."""
        assert self.cache is not None
        try:
            self.sizes.append(len(bytes(self.cache.serialize())))
        except Exception as exc:  # noqa: BLE001 - the size only informs; the build itself succeeded
            log(f"the pair's timing cache did not serialize ({type(exc).__name__}: {exc}); its size is not recorded")
            self.sizes.append(-1)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shared_by": ["plugin", "twin"], "bytes_after_each_build": self.sizes}
        if self.file is not None:
            out.update(file=str(self.file), loaded_bytes=self.loaded_bytes, saved=self.saved)
        return out


def build_block(backend: TensorRTBackend, settings: Settings, block_fn: Callable, shape: tuple[int, ...], dtype: str,
                make_operator: Callable[[trt.INetworkDefinition, list], Operator], what: str,
                timing_cache: SharedTimingCache | None = None, builder: trt.Builder | None = None) -> bytes:
    """Build one block engine: input x of ``shape`` (static), the block's layers around the operator
    that ``make_operator(network, keep)`` adds, output y; returns the serialized engine. With
    ``timing_cache``, the builder times tactics into (and takes them from) that cache, shared with the
    pair's other engine; without, each build times every tactic afresh. ``builder``: one the caller
    keeps for several builds; None: a builder of its own. (On the H200, 2026-12-06, each call spent 6-7 s
    outside its timed build, which took 0.0-8.9 s; a new builder's start, where TensorRT loads its kernel
    library, is the likely part: not yet measured apart.)"""
    if dtype not in TRT_DTYPE:
        raise BuildError(f"in_network {what}: dtype {dtype} is not available with TensorRT {trt.__version__}")
    since = backend.logger.mark()  # this build's errors alone in its BuildError (the logger is the process's)
    builder = builder if builder is not None else trt.Builder(backend.logger)
    strongly_typed = TRT_MAJOR >= 11  # 8.6: never; 10: opt-in, left off (weights in the I/O dtype either way)
    network = builder.create_network(network_flags(strongly_typed))
    weakly_typed_half = dtype == "fp16" and not strongly_typed
    keep: list = []
    x = network.add_input(INPUT, TRT_DTYPE[dtype], shape)
    rng = np.random.default_rng(WEIGHT_SEED)
    try:
        y = block_fn(trt, network, x, dtype, keep, make_operator(network, keep), rng)
    except BuildError as exc:
        raise BuildError(f"in_network {what}: {exc}: {backend.logger.errors(since)}") from None
    y.name = OUTPUT
    network.mark_output(y)
    if weakly_typed_half:
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.type == trt.LayerType.CONSTANT:
                continue
            layer.precision = trt.float16
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float16)
        y.dtype = trt.float16
    config = builder.create_builder_config()
    config.set_tactic_sources(tactic_sources_without_libraries())
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.builder.workspace_mib) << 20)
    config.builder_optimization_level = int(settings.builder.optimization_level)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if weakly_typed_half:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    if timing_cache is not None:
        timing_cache.attach(config, what)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BuildError(f"TensorRT failed to build the in_network {what} engine: {backend.logger.errors(since)}")
    shared = ""
    if timing_cache is not None:
        timing_cache.built()
        shared = f" (the pair's shared timing cache: {timing_cache.sizes[-1]} bytes)"
    log(f"built the {what} engine in {time.perf_counter() - t0:.1f} s{shared}")
    return bytes(serialized)


# -- run -----------------------------------------------------------------------------------------
class _Profiler(trt.IProfiler):
    """Keeps each run's (layer, ms) reports (IProfiler.report_layer_time)."""

    def __init__(self) -> None:
        trt.IProfiler.__init__(self)
        self.runs: list[list[tuple[str, float]]] = []

    def report_layer_time(self, layer_name: str, ms: float) -> None:
        if not self.runs:
            self.runs.append([])
        self.runs[-1].append((str(layer_name), float(ms)))


class BlockEngine:
    """One deserialized block engine with one execution context and stream."""

    def __init__(self, backend: TensorRTBackend, blob: bytes, what: str) -> None:
        self.backend, self.what = backend, what
        self.engine = backend.runtime.deserialize_cuda_engine(blob)
        if self.engine is None:
            raise BuildError(f"the in_network {what} engine does not deserialize: {backend.logger.errors()}")
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise BuildError(f"no execution context for the in_network {what} engine: {backend.logger.errors()}")
        self.stream = cuda.Stream(flags=NON_BLOCKING)
        self.in_shape = tuple(int(d) for d in self.engine.get_tensor_shape(INPUT))
        self.out_shape = tuple(int(d) for d in self.engine.get_tensor_shape(OUTPUT))
        self.in_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(INPUT)))
        self.out_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(OUTPUT)))
        self.in_bytes = int(np.prod(self.in_shape, dtype=np.int64)) * self.in_dtype.itemsize
        self.out_bytes = int(np.prod(self.out_shape, dtype=np.int64)) * self.out_dtype.itemsize
        self.check: CheckResult | None = None
        self._profiler: _Profiler | None = None

    def bind(self, d_in: DeviceBuffer, d_out: DeviceBuffer) -> None:
        for name, buf in ((INPUT, d_in), (OUTPUT, d_out)):
            if not self.context.set_tensor_address(name, buf.ptr):
                raise RuntimeError(f"set_tensor_address({name}) failed: {self.backend.logger.errors()}")

    def enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"execute_async_v3 of the in_network {self.what} engine failed: "
                               f"{self.backend.logger.errors()}")

    def run(self, x: np.ndarray) -> np.ndarray:
        """One inference on buffers of its own, the output poisoned first (NaN)."""
        d_in, d_out = DeviceBuffer(self.in_bytes), DeviceBuffer(self.out_bytes)
        try:
            upload(d_in.ptr, x.astype(self.in_dtype))  # landed before the non-blocking stream's work
            set_pattern(d_out, np.full((1,), np.nan, dtype=self.out_dtype), self.stream)
            self.bind(d_in, d_out)
            self.enqueue()
            self.stream.synchronize()
            out = np.empty(self.out_shape, dtype=self.out_dtype)
            cuda.memcpy_dtoh(out, d_out.ptr)
            return out
        finally:
            d_in.free()
            d_out.free()

    def timer(self, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
              arena: TimingArena | None = None) -> BlockTimer:
        if not isinstance(arena, BlockArena):
            raise TypeError("an in_network block timer needs the block arena")
        return BlockTimer(self, mode, arena)

    def inspect(self) -> list:
        """The engine inspector's layers (JSON layer information, detailed verbosity)."""
        inspector = self.engine.create_engine_inspector()
        try:
            inspector.execution_context = self.context
        except Exception:  # noqa: BLE001 - the context only adds runtime shapes; the layers come without it
            pass
        return list(json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON)).get("Layers", []))

    def layer_times(self, runs: int, d_in: DeviceBuffer, d_out: DeviceBuffer) -> list[tuple[str, float]]:
        """Each layer's median time (ms) over ``runs`` inferences under IProfiler, reported after
        each run's stream synchronization (report_to_profiler where the bindings have it)."""
        profiler = _Profiler()
        self._profiler = profiler  # TensorRT keeps a raw pointer: keep the object alive
        self.context.profiler = profiler
        deferred = hasattr(self.context, "report_to_profiler")
        if deferred:
            self.context.enqueue_emits_profile = False
        self.bind(d_in, d_out)
        self.enqueue()  # a first run, not reported
        self.stream.synchronize()
        for _ in range(runs):
            profiler.runs.append([])
            self.enqueue()
            self.stream.synchronize()
            if deferred:
                self.context.report_to_profiler()
        return aggregate_layer_times([r for r in profiler.runs if r])


class BlockArena(TimingArena):
    """The pair's shared input (filled once with the block's input), output and flush buffers."""

    def __init__(self, backend: TensorRTBackend, x: np.ndarray) -> None:
        super().__init__()
        self.backend, self.x = backend, x
        self.d_in: DeviceBuffer | None = None
        self.d_out: DeviceBuffer | None = None
        self._flush: L2Flush | None = None

    def io(self, engine: BlockEngine) -> tuple[DeviceBuffer, DeviceBuffer]:
        if self.d_in is None:
            self.reserve(max(engine.in_bytes, engine.out_bytes))
            self.d_in, self.d_out = DeviceBuffer(engine.in_bytes), DeviceBuffer(engine.out_bytes)
            upload(self.d_in.ptr, self.x.astype(engine.in_dtype))
        if engine.in_bytes > self.d_in.nbytes or self.d_out is None or engine.out_bytes > self.d_out.nbytes:
            raise ValueError(f"the in_network {engine.what} engine's I/O does not fit the pair's shared buffers")
        return self.d_in, self.d_out

    def flush(self) -> L2Flush:
        if self._flush is None:
            self._flush = L2Flush(self.backend.gpu, self.backend.l2_flush)
        return self._flush

    def close(self) -> None:
        for buf in (self.d_in, self.d_out, self._flush):
            if buf is not None:
                buf.free()
        self.d_in = self.d_out = self._flush = None


class BlockTimer:
    """Times a block engine's enqueue with a blocked start (GPU time) on the arena's buffers."""

    def __init__(self, engine: BlockEngine, mode: str, arena: BlockArena) -> None:
        self.engine = engine
        engine.bind(*arena.io(engine))
        self.events = EventTimer(engine.stream, StreamBlocker(engine.backend.gpu))
        self.flush = arena.flush() if mode == "cold" else None

    def __enter__(self) -> BlockTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @property
    def start(self) -> str:
        return self.events.start_kind

    def sample(self) -> tuple[float, float]:
        if self.flush is not None:
            self.flush.enqueue(self.engine.stream)
        try:
            return self.events.time(self.engine.enqueue)
        except BlockedStartTimeout as exc:
            print(f"trt_plugin_bench: in_network {self.engine.what}: {exc}; timing from idle", file=sys.stderr)
            return self.sample()

    def verify(self) -> CheckResult:
        assert self.engine.check is not None
        return self.engine.check


# -- the job -------------------------------------------------------------------------------------
def direct_kernel_us(settings: Settings, backend: TensorRTBackend, op_spec: OperatorSpec, dtype: str,
                     shape: tuple[int, ...], kernel: str, manifest: Path | None) -> float:
    """The plugin's kernel called directly (no TensorRT) at the tensor it sees in the block, in the
    rule's mode: the third term of the integration overhead. nan, logged, where the spec declares no
    direct kernel library (variants.direct) or the compile rule built none."""
    if manifest is None or op_spec.variants is None or not op_spec.variants.direct_launch or not kernel:
        log(f"{op_spec.name}: no direct kernel library (spec key variants.direct): no direct-kernel time")
        return math.nan
    cfg = settings.in_network
    try:
        lib = kernel_library(manifest, op_spec)
        rule = replace(_rule(cfg, settings, None), max_time_s=max(cfg.max_time_s / 4, 0.05))
        bench = DirectBench(lib, backend.gpu, [kernel], rule, settings.beta, modes=(cfg.mode,),
                            l2_flush=settings.timing.l2_flush)
        try:
            rows = bench.size(dtype, int(np.prod(shape, dtype=np.int64)), seed=1)
        finally:
            bench.flush.free()
    except (RuntimeError, OSError) as exc:
        log(f"{op_spec.name}: the direct kernel path failed ({exc}): no direct-kernel time")
        return math.nan
    return float(rows[0].median_us) if rows and rows[0].median_us == rows[0].median_us else math.nan


def timing_cache_file(folder: Path | None, manifest: Path | None) -> Path | None:
    """The experiment's timing cache file for the plugin source a manifest names (its source_hash: a kernel
    edit starts a new file, so no plugin layer keeps an old build's timing), or None without a folder."""
    if folder is None:
        return None
    source = ""
    if manifest is not None and Path(manifest).is_file():
        source = str(json.loads(Path(manifest).read_text()).get("source_hash", ""))[:12]
    return Path(folder) / f"timing-{source or 'unknown'}.cache"


def run_trt_job(settings: Settings, prepared: Prepared, kernel: str, plugin_library: Path | None,
                manifest: Path | None = None, slot: HostWork = NO_SLOT, timing_cache_dir: Path | None = None,
                ) -> tuple[list[InNetworkRow], list[InNetworkLayerRow], dict]:
    """The in_network job on TensorRT: build the three engines (the plugin's block and the twin's with
    one timing cache: SharedTimingCache; the plugin alone with its own), check, time, profile, inspect.
    ``slot``: the command's GPU slot, stepped out of while the input is drawn and the pair checked.
    ``timing_cache_dir``: where the experiment's pairs keep one timing cache file per plugin source (the
    manifest's source_hash; SharedTimingCache); None: the pair's own cache only."""
    job, op_spec, twin, tolerance = prepared.job, prepared.op_spec, prepared.twin, prepared.tolerance
    cfg = settings.in_network
    backend = TensorRTBackend(settings.timing.l2_flush, slot)
    backend.load_library_of(op_spec, plugin_library)
    block_fn = load_function(job.block.network, f"in_network.blocks.{job.block.name}.network")
    beta, dtype = settings.beta, job.dtype
    seen_plugin: list = []
    seen_twin: list = []
    what = f"{op_spec.name}/{job.block.name}/{dtype}/{job.size}"
    pair_cache = SharedTimingCache(timing_cache_file(timing_cache_dir, manifest))
    # one builder for the job's three engines (its kernel library loaded once), gone before anything is timed
    builder = trt.Builder(backend.logger)
    plugin_blob = build_block(backend, settings, block_fn, job.shape, dtype,
                              lambda n, k: plugin_operator(n, k, op_spec, dtype, beta, kernel, seen_plugin),
                              f"{what} plugin", pair_cache, builder)
    twin_blob = build_block(backend, settings, block_fn, job.shape, dtype,
                            lambda n, k: twin_operator(n, k, op_spec, dtype, beta, seen_twin), f"{what} twin",
                            pair_cache, builder)
    if not seen_plugin:
        raise BuildError(f"config key 'in_network.blocks.{job.block.name}.network': {job.block.network} never called "
                         "operator(tensor): the block has no place for the operator")
    op_shape = seen_plugin[0]
    alone_blob = build_block(backend, settings, alone, op_shape, dtype,
                             lambda n, k: plugin_operator(n, k, op_spec, dtype, beta, kernel, []), f"{what} alone",
                             builder=builder)
    del builder
    pair_cache.save()
    engines = {"plugin": BlockEngine(backend, plugin_blob, f"{what} plugin"),
               "twin": BlockEngine(backend, twin_blob, f"{what} twin"),
               "alone": BlockEngine(backend, alone_blob, f"{what} alone")}
    n = int(np.prod(job.shape, dtype=np.int64))
    with backend.host_work(n):
        x = block_input(job.shape, dtype)
    outs = engines["plugin"].run(x), engines["twin"].run(x)
    with backend.host_work(n):
        check = pair_check(*outs, tolerance)
    del outs
    log(check.message)
    engines["plugin"].check = engines["twin"].check = check
    rule = _rule(cfg, settings, None)
    plan = Plan(lambda s, arena: s.source.timer(s.shape, s.mode, s.seed, 0, arena), rule,
                raise_on_wrong=False)  # a failed pair check is the row's verified false, with its message
    states = [State(name, dtype, job.size, job.shape, cfg.mode, 0, 0, source=engines[side])
              for name, side in ((op_spec.name, "plugin"), (twin, "twin"))]
    with quiet_host(settings.timing.pin_cpu):
        m = measure_interleaved(states, plan, arena=lambda: BlockArena(backend, x), control=True, pattern=AA_PATTERN)
    assert m is not None
    inspected = {side: e.inspect() for side, e in engines.items()}
    layers: list[InNetworkLayerRow] = []
    times: dict[str, list] = {}
    for side, e in engines.items():
        x_side = x if e.in_shape == tuple(job.shape) else block_input(e.in_shape, dtype)  # the same values
        arena = BlockArena(backend, x_side)
        try:
            times[side] = e.layer_times(int(cfg.profile_runs), *arena.io(e))
        finally:
            arena.close()
        layers += layer_rows("tensorrt", op_spec.name, job.block.name, job.size, dtype, side, inspected[side],
                             times[side])
    edges = edge_reason(inspected["plugin"])
    twin_edges = edge_reason(inspected["twin"])
    extra = {
        "plugin_layer_us": operator_layer_us([r for r in layers if r.engine == "plugin"]),
        "plugin_alone_us": operator_layer_us([r for r in layers if r.engine == "alone"]),
        "plugin_engine_layers": len(inspected["plugin"]), "twin_engine_layers": len(inspected["twin"]),
        "reformats_plugin": edges["reformats"], "reformats_twin": twin_edges["reformats"],
        "plugin_in_format": edges["plugin_in_format"], "plugin_out_format": edges["plugin_out_format"],
        "twin_built_as": fused_description(inspected["twin"]), "reason": edges["reason"],
        "timing_cache": SHARED_TIMING_CACHE,
    }
    direct_us = direct_kernel_us(settings, backend, op_spec, dtype, op_shape, kernel, manifest)
    info = backend.device_info()
    row = _pair_row(m, "tensorrt", info.backend_label, info.device_name, backend.timing_clock, job, op_spec, twin,
                    op_shape, check, extra)
    row.plugin_direct_us = direct_us
    log(row.sentence)
    if not math.isfinite(row.ratio):
        log("the pair's ratio is not finite: see the row's stop reason")
    record = {"backend": "tensorrt", "label": info.backend_label, "device": asdict(info), "operator_shape": list(op_shape),
              "engines": {side: [c["raw"] for c in classify_layers(v)] for side, v in inspected.items()},
              "layer_times_ms": times, "engine_bytes": {"plugin": len(plugin_blob), "twin": len(twin_blob),
                                                        "alone": len(alone_blob)},
              "timing_cache": pair_cache.record()}
    return [row], layers, record


__all__ = ["BlockArena", "BlockEngine", "BlockTimer", "SharedTimingCache", "alone", "build_block", "plugin_operator",
           "run_trt_job", "timing_cache_file", "twin_operator"]
