"""The CPU reference backend: the same operators in numpy, so the DAG runs without a GPU.

Its numbers are CPU timings of numpy, labelled as such in every row, figure and MLflow run; they
say nothing about TensorRT. Its "engine" is a small self-checking file holding the engine spec,
so the build / serialize / load / round-trip path is exercised the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..core import oracle as ref
from ..core.operators import generator_for, numerics_for
from ..core.oracle import CheckResult
from ..core.records import CalibrationRow, DeviceInfo
from ..core.settings import ReferenceSettings, section_from
from .base import (
    Backend,
    Engine,
    EngineLoadError,
    EngineSpec,
    Timer,
    TimingArena,
    Worker,
    combine_checks,
    read_build_record,
)
from .engine_files import discard_corrupt

MAGIC = b"TPBREF\x00\x01"
LABEL = "reference backend (CPU, numpy) - CPU timings, not TensorRT"
# Writing this much between cold samples evicts the CPU's last-level cache.
CACHE_FLUSH_BYTES = 64 << 20
# The planted slowdown (config reference.extra_work, forwarded by the build rule under this builder
# key): a plugin engine computes its output 1 + extra_work times, a known "kernel change" for the
# verdict command to catch. It lives in the engine's build record, so changing it rebuilds the
# engines and reruns what follows, as a kernel edit does; the other operators are the controls.
# A cold sample times every pass after its own flush (ReferenceTimer.sample): back to back, the extra
# passes found the input and numpy's code in cache, and a 4x plant timed 1.4-1.6x in tiny cold states.
EXTRA_WORK_KEY = "reference_extra_work"
# A cold sample sleeps this long after its flush, before its timer starts: the flush (a 64 MiB write,
# ~10 ms) spends the scheduler's time slice, and on a loaded CPU the timed pass that followed was
# preempted: 6-10 % of cold samples 17-20 ms instead of 0.4 ms (a 2-core machine at load 5,
# 2026-12-06), medians of 5 samples a bootstrap could not bound. Woken from a sleep, the process
# starts the pass on a fresh slice: 0 of 300 such samples.
COLD_PAUSE_S = 1e-4
# A sample during which the process was descheduled times other processes' work: its wall time (the
# clock, perf_counter) exceeds the thread's CPU time (time.thread_time) by more than PREEMPTED_S and
# PREEMPTED_FRACTION of it. It is taken again, at most PREEMPTED_RETRIES times (then kept: the
# clock is never replaced by the CPU time). Under load 9-12 on 2 cores (2026-12-06) 4 of 10 samples of
# a state were 10-40x their median, and a bootstrap of 5 samples a repeat could not bound a 4x ratio.
PREEMPTED_S = 50e-6
PREEMPTED_FRACTION = 0.2
PREEMPTED_RETRIES = 8


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def serialize_spec(spec: EngineSpec) -> bytes:
    payload = json.dumps(spec.to_json(), sort_keys=True).encode()
    return MAGIC + struct.pack("<I", len(payload)) + payload + hashlib.sha256(payload).digest()


def deserialize_spec(blob: bytes) -> EngineSpec:
    """Validate and decode a reference engine; every failure names what is wrong."""
    if len(blob) < len(MAGIC) + 4 + 32:
        raise EngineLoadError(f"reference engine is truncated: {len(blob)} bytes")
    if blob[: len(MAGIC)] != MAGIC:
        raise EngineLoadError("not a reference engine: bad magic (was it built by another backend?)")
    (length,) = struct.unpack_from("<I", blob, len(MAGIC))
    start = len(MAGIC) + 4
    if len(blob) != start + length + 32:
        raise EngineLoadError(
            f"reference engine has wrong length: header says {length} payload bytes, file has "
            f"{len(blob) - start - 32}"
        )
    payload, digest = blob[start : start + length], blob[start + length :]
    if hashlib.sha256(payload).digest() != digest:
        raise EngineLoadError("reference engine payload checksum mismatch: the file is corrupted")
    try:
        spec = EngineSpec.from_json(json.loads(payload))
    except (ValueError, TypeError) as exc:
        raise EngineLoadError(f"reference engine payload is not a valid engine spec: {exc}") from exc
    if not np.isfinite(spec.beta) or spec.beta <= 0:
        raise EngineLoadError(f"reference engine has invalid beta {spec.beta!r}: must be finite and > 0")
    return spec


def extra_work_for(spec: EngineSpec, builder_cfg: dict) -> int:
    """The extra computations a plugin engine built with ``builder_cfg`` does (EXTRA_WORK_KEY); 0
    for the other implementations, which stay the unchanged controls."""
    extra_work = builder_cfg.get(EXTRA_WORK_KEY, 0)
    if isinstance(extra_work, bool) or not isinstance(extra_work, int) or extra_work < 0:
        raise ValueError(f"reference.extra_work must be an integer >= 0, got {extra_work!r}")
    return extra_work if spec.implementation.startswith("plugin") else 0


class ReferenceArena(TimingArena):
    """The reference backend's shared buffers: one input array (per dtype and seed) and one cache
    flush array for every timer of a comparison."""

    def __init__(self) -> None:
        super().__init__()
        self._inputs: dict[tuple, np.ndarray] = {}
        self._flush: np.ndarray | None = None

    def input(self, shape: tuple[int, ...], dtype: str, seed: int, generator: object | None = None) -> np.ndarray:
        self.reserve(int(np.prod(shape, dtype=np.int64)) * ref.numpy_dtype(dtype).itemsize)
        key = (tuple(shape), dtype, seed)
        if key not in self._inputs:  # the first timer's operator draws it (a comparison's two share its math)
            self._inputs[key] = ref.random_input(tuple(shape), dtype, seed, generator=generator)
        return self._inputs[key]

    def flush(self) -> np.ndarray:
        if self._flush is None:
            self._flush = np.zeros(CACHE_FLUSH_BYTES // 8, dtype=np.float64)
        return self._flush

    def close(self) -> None:
        self._inputs.clear()
        self._flush = None


class ReferenceTimer(Timer):
    start = "cpu"

    def __init__(self, engine: ReferenceEngine, shape: tuple[int, ...], mode: str, seed: int,
                 arena: ReferenceArena | None = None):
        if mode not in ReferenceBackend.modes:
            raise ValueError(f"mode {mode!r} is not supported by the reference backend; allowed: warm, cold")
        engine.spec.check_shape(shape)
        self.engine, self.shape, self.mode = engine, tuple(shape), mode
        arena = arena if arena is not None else ReferenceArena()  # alone: buffers of its own
        self.x = arena.input(self.shape, engine.spec.dtype, seed, generator_for(engine.spec))
        self._flush = arena.flush() if mode == "cold" else None

    def sample(self) -> tuple[float, float]:
        if self._flush is None:
            elapsed = self._timed(self.engine.compute)
            return elapsed, elapsed  # on the CPU, enqueue and execution are the same call
        # cold: every pass of the computation (1 + extra_work, the planted slowdown) starts from a
        # cold cache, the flush between passes untimed, so the plant scales the cold time as it
        # scales the warm time (back to back, the extra passes ran warm: 4x the work timed 1.4-1.6x)
        elapsed = sum(self._timed(self.engine.compute_once) for _ in range(self.engine.passes))
        return elapsed, elapsed

    def _timed(self, compute: Callable[[np.ndarray], np.ndarray]) -> float:
        """Seconds of one ``compute(x)`` by the clock (perf_counter), cold after its own flush and a
        pause; taken again while the thread's CPU time shows it was descheduled (PREEMPTED_*)."""
        for _ in range(PREEMPTED_RETRIES + 1):
            if self._flush is not None:
                self._flush += 1.0  # touch every line so the pass starts with a cold cache
                time.sleep(COLD_PAUSE_S)  # the pass on a fresh time slice, not at the end of the flush's
            c0 = time.thread_time()
            t0 = time.perf_counter()
            compute(self.x)
            elapsed = time.perf_counter() - t0
            off_cpu = elapsed - (time.thread_time() - c0)
            if off_cpu <= max(PREEMPTED_S, PREEMPTED_FRACTION * elapsed):
                break
        return elapsed

    def verify(self) -> CheckResult:
        out = self.engine.infer(self.x)
        return self.engine.check(out, self.x, self.shape)  # numpy never flushes: held to the contract


class ReferenceWorker(Worker):
    def __init__(self, engine: ReferenceEngine):
        self.engine = engine

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.engine.infer(x)

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
        return self.engine.infer_all(x)


class ReferenceEngine(Engine):
    def __init__(self, spec: EngineSpec, extra_work: int = 0):
        self.spec = spec
        self.extra_work = extra_work
        # the operator's spec: its CPU implementation, or its reference; looked up once, not per timed sample
        self.math = numerics_for(spec)

    @property
    def passes(self) -> int:
        """How many times compute() computes the output: 1 + extra_work (the planted slowdown)."""
        return 1 + self.extra_work

    def compute_once(self, x: np.ndarray) -> np.ndarray:
        return ref.compute_float32(self.math, x, self.spec.dtype, self.spec.beta)

    def compute(self, x: np.ndarray) -> np.ndarray:
        out = self.compute_once(x)
        for _ in range(self.extra_work):  # the planted slowdown: the same result, computed again
            out = self.compute_once(x)
        return out

    def check(self, out: np.ndarray, x: np.ndarray, expected_shape: tuple[int, ...] | None = None) -> CheckResult:
        """Output 0 (``out``) as every backend checks it; an operator of several outputs has the
        others, which this engine computes alongside (the spec's CPU implementation returns them
        all), checked too: one result, failing if any output fails."""
        first = super().check(out, x, expected_shape)
        if self.math.outputs == 1:
            return first
        spec, results = self.spec, [first]
        for j in range(1, self.math.outputs):
            y = ref.compute_float32(self.math, x, spec.dtype, spec.beta, output=j)
            results.append(ref.check_output(y, x, self.math, spec.dtype, spec.beta, output=j))
        return combine_checks(results)

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
        """Every output, as the spec's CPU implementation computes them (output 0 through ``infer``)."""
        first = self.infer(x)
        spec = self.spec
        return [first, *(ref.compute_float32(self.math, x, spec.dtype, spec.beta, output=j)
                         for j in range(1, self.math.outputs))]

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.spec.check_shape(tuple(x.shape))
        expected = ref.numpy_dtype(self.spec.dtype)
        if x.dtype != expected:
            raise TypeError(f"input dtype {x.dtype} does not match engine dtype {self.spec.dtype} ({expected})")
        out = ref.poison(tuple(x.shape), self.spec.dtype)
        out[...] = self.compute(x)
        return out

    def timer(self, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
              arena: TimingArena | None = None) -> Timer:
        if arena is not None and not isinstance(arena, ReferenceArena):
            raise TypeError(f"a reference timer needs the reference backend's arena, got {type(arena).__name__}")
        return ReferenceTimer(self, shape, mode, seed, arena)

    def worker(self) -> Worker:
        return ReferenceWorker(self)


class ReferenceBackend(Backend):
    name = "reference"
    timing_clock = "cpu_perf_counter"
    modes = ("warm", "cold")

    def __init__(self, settings: ReferenceSettings | None = None) -> None:
        """``settings``: config reference, which sets the limits below (None: the schema's defaults,
        the quick run)."""
        self.settings = settings if settings is not None else section_from(ReferenceSettings)

    @property
    def max_elements(self) -> int:
        """reference.max_elements, or reference.full_max_elements in the full CPU sweep."""
        return self.settings.limit[1]

    @property
    def max_time_s(self) -> float | None:
        """reference.max_time_s in the quick run; the full CPU sweep keeps the config's budgets."""
        return None if self.settings.full else self.settings.max_time_s

    @property
    def max_thread_iterations(self) -> int | None:
        """reference.thread_iterations in the quick run; the full CPU sweep keeps threads.iterations."""
        return None if self.settings.full else self.settings.thread_iterations

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            backend=self.name,
            backend_label=LABEL,
            timing_clock=self.timing_clock,
            device_name=f"CPU: {_cpu_name()} (reference backend, no GPU)",
            driver_version="n/a (CPU)",
            cuda_version="n/a (CPU)",
            tensorrt_version="n/a (reference backend)",
            compute_capability="n/a",
            sm_count=os.cpu_count() or 1,
            l2_bytes=0,
            cpu=_cpu_name(),
            python=platform.python_version(),
            numpy_version=np.__version__,
            hostname=socket.gethostname(),
        )

    def support(self, operator: str, dtype: str) -> str | None:
        return None  # numpy computes every operator in every dtype

    def build(self, spec: EngineSpec, engine_path: Path, plugin_library: Path | None, builder_cfg: dict) -> dict:
        t0 = time.perf_counter()
        extra_work = extra_work_for(spec, builder_cfg)
        Path(engine_path).write_bytes(serialize_spec(spec))
        return {"build_seconds": time.perf_counter() - t0, "builder": LABEL, "extra_work": extra_work}

    def load(self, engine_path: Path, plugin_library: Path | None) -> Engine:
        """The engine, validated (its own checksum first, then the build record's digest, as the
        TensorRT backend does); one that fails is removed with its record and golden output, so
        the next `snakemake` run rebuilds it."""
        if not Path(engine_path).exists():
            raise EngineLoadError(f"engine file {engine_path} does not exist")  # missing, not corrupt
        try:
            spec = deserialize_spec(Path(engine_path).read_bytes())
            record = read_build_record(engine_path)
        except (EngineLoadError, OSError) as exc:
            raise discard_corrupt(engine_path, exc) from exc
        return ReferenceEngine(spec, int(record.get("extra_work", 0)))  # records older than extra_work: none

    def arena(self) -> ReferenceArena:
        return ReferenceArena()

    def calibrate(self, copy_mib: list[int], rule: object) -> list[CalibrationRow]:
        from ..core.stats import measure

        rows: list[CalibrationRow] = []
        name = self.device_info().device_name
        # CPU copies beyond a few hundred MiB only time the page allocator; cap them
        for mib in sorted({min(m, 256) for m in copy_mib}):
            src = np.random.default_rng(0).random((mib << 20) // 8)
            dst = np.empty_like(src)

            def copy() -> tuple[float, float]:
                t0 = time.perf_counter()
                np.copyto(dst, src)
                dt = time.perf_counter() - t0
                return dt, dt

            s = measure(copy, rule)
            moved = 2 * src.nbytes
            rows.append(CalibrationRow(self.name, name, "copy", moved, s.n, s.median * 1e6, s.rse,
                                       moved / s.median / 1e9, self.timing_clock, ReferenceTimer.start))
        one = np.ones(1)

        def noop() -> tuple[float, float]:
            t0 = time.perf_counter()
            np.add(one, 0.0, out=one)
            dt = time.perf_counter() - t0
            return dt, dt

        s = measure(noop, rule)
        rows.append(CalibrationRow(self.name, name, "empty_launch", 0, s.n, s.median * 1e6, s.rse, 0.0,
                                   self.timing_clock, ReferenceTimer.start))
        return rows
