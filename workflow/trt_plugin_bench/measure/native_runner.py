"""Drive the native runner (plugin/runner/trtRunner.cpp, built as ``trt_runner``): a trtexec in
miniature that runs N threads, each with its own execution context and stream, and prints one JSON
object. Builds its argument list, runs it and validates that JSON into a dataclass; thread_row turns
it into the threads table's row (driver "native"; with --bare-kernel driver "bare": the launch-rate
probe's kernel reading and writing the engine's I/O bytes, no TensorRT, timed the same way). The
threads rule drives it (sweeps.thread_sweep); concurrency_table sets the plugin beside the bare kernel
and the twin at each thread count.

Values: Python draws every input with the spec's generators and writes them with write_tensor_files
(raw little-endian in the binding's dtype; the runner's --input-file NAME:DTYPE=PATH, refused there
where the dtype or the byte count is not the binding's); the runner writes its single-context run's
outputs back (--dump-output NAME:DTYPE=PATH, read_tensor_file), which Python checks against the
spec's float64 reference with the spec's tolerances. The runner itself checks that every thread's
outputs equal that single-context run's, bit for bit.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.oracle import numpy_dtype
from ..core.records import ThreadRow, shape_str

# The engine's binding names of input 0 and output 0 (backends.trt_common.INPUT / OUTPUT: that module
# imports tensorrt; tests/test_native_runner.py pins the two equal); the others are the spec's names.
ENGINE_INPUT0, ENGINE_OUTPUT0 = "x", "y"
# The clone drive's names of input 0 and of output 0 where no --output-shape names it (trtRunner.cpp)
CLONE_INPUT0, CLONE_OUTPUT0 = "input0", "output0"


@dataclass(frozen=True)
class TensorFile:
    """One --input-file / --dump-output of the runner: a tensor's raw little-endian values."""

    name: str  # the binding's name
    dtype: str  # fp32, fp16 or bf16 (oracle.numpy_dtype's host representation)
    shape: tuple[int, ...]
    path: Path

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * numpy_dtype(self.dtype).itemsize

    def argument(self) -> str:
        """NAME:DTYPE=PATH, as the runner parses it."""
        return f"{self.name}:{self.dtype}={self.path}"


def _host_dtype(name: str, dtype: str) -> np.dtype:
    """The host representation of binding ``name``'s ``dtype``; a clear ValueError for one the files cannot hold."""
    try:
        return numpy_dtype(dtype)
    except KeyError:
        raise ValueError(f"tensor {name!r} is {dtype}: the runner's files hold fp32, fp16 or bf16 here") from None


def _file_name(index: int, name: str, kind: str) -> str:
    return f"{kind}{index}_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + ".bin"


def write_tensor_files(directory: Path, layout: Sequence[tuple[str, Sequence[int], str]],
                       arrays: Sequence[np.ndarray]) -> list[TensorFile]:
    """Write ``arrays`` (the inputs, in the order of ``layout``: (binding name, shape, dtype) each) as
    the runner's --input-file values. Each array must have its binding's shape and dtype's host
    representation (oracle.numpy_dtype): a wrong dtype or a swapped input is refused naming the binding."""
    if len(arrays) != len(layout):
        raise ValueError(f"{len(arrays)} arrays for the {len(layout)} inputs {[n for n, _, _ in layout]}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i, ((name, shape, dtype), array) in enumerate(zip(layout, arrays)):
        want = _host_dtype(name, dtype)
        if array.dtype != want:
            raise ValueError(f"input {name!r} is {dtype} ({want}), the array given is {array.dtype}: wrong dtype")
        if tuple(array.shape) != tuple(shape):
            raise ValueError(f"input {name!r} has shape {list(shape)}, the array given {list(array.shape)} "
                             "(a swapped or misshaped input)")
        f = TensorFile(name, dtype, tuple(int(d) for d in shape), directory / _file_name(i, name, "input"))
        f.path.write_bytes(np.ascontiguousarray(array, dtype=want.newbyteorder("<")).tobytes())
        files.append(f)
    return files


def dump_files(directory: Path, layout: Sequence[tuple[str, Sequence[int], str]]) -> list[TensorFile]:
    """Where the runner writes each output of ``layout`` ((binding name, shape, dtype) each): --dump-output."""
    for name, _, dtype in layout:
        _host_dtype(name, dtype)
    return [TensorFile(name, dtype, tuple(int(d) for d in shape), Path(directory) / _file_name(i, name, "output"))
            for i, (name, shape, dtype) in enumerate(layout)]


def read_tensor_file(f: TensorFile) -> np.ndarray:
    """A --dump-output file as an array of its shape and dtype; NativeRunnerError naming the file and
    the binding where it is missing or its size is not the binding's bytes."""
    try:
        data = f.path.read_bytes()
    except OSError as exc:
        raise NativeRunnerError(f"the runner wrote no output {f.name!r} ({f.path}): {exc}") from exc
    if len(data) != f.nbytes:
        raise NativeRunnerError(f"the runner's output {f.name!r} ({f.path}) holds {len(data)} bytes, "
                                f"{list(f.shape)} of {f.dtype} is {f.nbytes}")
    return np.frombuffer(data, dtype=numpy_dtype(f.dtype).newbyteorder("<")).astype(numpy_dtype(f.dtype)).reshape(f.shape)


class NativeRunnerError(RuntimeError):
    """The runner could not be run, or what it printed is not the JSON object it promises."""


@dataclass(frozen=True)
class ThreadLatency:
    thread: int
    profile: int  # the optimization profile its context used
    p50_us: float  # per-enqueue CUDA-event times
    p90_us: float
    p99_us: float
    mean_us: float


@dataclass(frozen=True)
class NativeRunResult:
    threads: int
    iterations: int  # per thread
    graph: bool  # CUDA-graph replays instead of enqueues
    profile_per_thread: bool
    shape: tuple[int, ...]
    tensorrt_version: str  # the headers the runner was built against
    wall_s: float
    inferences_per_second: float  # threads * iterations / wall, all threads together
    per_thread: tuple[ThreadLatency, ...]
    gpu_busy_fraction: float  # union of the event-timed intervals / wall, in [0, 1]
    gpu_interval_sum_over_wall: float  # their plain sum / wall: above 1 when streams overlap
    outputs_identical: bool  # every thread's output == thread 0's == a single-context reference
    errors: tuple[str, ...]
    graph_batch: int = 1  # enqueues per captured graph (--graph-batch): one launch runs this many
    bare_kernel: bool = False  # --bare-kernel: the bare kernel of the engine's I/O bytes instead of TensorRT
    bytes_in: int | None = None  # per inference: the engine's input bytes at the shapes (None: not reported)
    bytes_out: int | None = None  # and its output bytes

    @property
    def ok(self) -> bool:
        return self.outputs_identical and not self.errors


def runner_arguments(runner: Path, engine: Path, plugins: Sequence[Path], threads: int, iterations: int,
                     shape: Sequence[int], graph: bool = False, profile_per_thread: bool = False,
                     warmup: int | None = None, seed: int | None = None, time_every: int = 1,
                     graph_batch: int = 1, input_shapes: Sequence[tuple[str, Sequence[int]]] = (),
                     bare_kernel: bool = False, input_files: Sequence[TensorFile] = (),
                     dump_outputs: Sequence[TensorFile] = ()) -> list[str]:
    """The runner's command line; refuses values the runner would refuse. ``input_shapes``: (name,
    shape) of the engine's other inputs (an operator of several inputs; ``shape`` is input 0's):
    one --input-shape NAME=d0xd1 each. ``bare_kernel``: --bare-kernel, the bare kernel of the engine's
    I/O bytes in place of its enqueue (the same threads, graphs and timing). ``input_files``: one
    --input-file each (write_tensor_files); ``dump_outputs``: one --dump-output each (dump_files; not
    with ``bare_kernel``: the bare kernel writes no engine output)."""
    if dump_outputs and bare_kernel:
        raise ValueError("dump_outputs writes the engine's outputs: the bare kernel runs no engine")
    for f in (*input_files, *dump_outputs):
        if not f.name or "=" in f.name:
            raise ValueError(f"tensor file {f.name!r}: the runner's NAME:DTYPE=PATH needs a name without '='")
    if graph_batch != 1 and not graph:
        raise ValueError("graph_batch needs graph (enqueues captured into one CUDA graph)")
    for name, value in (("threads", threads), ("iterations", iterations), ("time_every", time_every),
                        ("graph_batch", graph_batch),
                        *(("shape", d) for d in shape)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not shape:
        raise ValueError("shape must have at least one dimension")
    for name, other in input_shapes:
        if not name or "=" in name or not other or any(
                not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in other):
            raise ValueError(f"input_shapes: input {name!r} needs a name without '=' and positive dimensions, "
                             f"got {list(other)}")
    args = [str(runner), "--engine", str(engine)]
    if plugins:
        if any("," in str(p) for p in plugins):
            raise ValueError(f"a plugin path contains ',', which the runner's --plugins list cannot carry: {plugins}")
        args += ["--plugins", ",".join(str(p) for p in plugins)]
    args += ["--threads", str(threads), "--iterations", str(iterations), "--shape", "x".join(str(d) for d in shape)]
    for name, other in input_shapes:
        args += ["--input-shape", f"{name}=" + "x".join(str(d) for d in other)]
    if graph:
        args.append("--graph")
    if graph_batch != 1:
        args += ["--graph-batch", str(graph_batch)]
    if profile_per_thread:
        args.append("--profile-per-thread")
    if warmup is not None:
        args += ["--warmup", str(warmup)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if time_every != 1:
        args += ["--time-every", str(time_every)]
    if bare_kernel:
        args.append("--bare-kernel")
    for f in input_files:
        args += ["--input-file", f.argument()]
    for f in dump_outputs:
        args += ["--dump-output", f.argument()]
    return args


def _field(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise NativeRunnerError(f"the runner's JSON lacks '{key}' ({where})")
    value = obj[key]
    if kind is float:  # JSON numbers; null where the runner had nothing to measure
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NativeRunnerError(f"'{key}' ({where}) is not a number: {value!r}")
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise NativeRunnerError(f"'{key}' ({where}) has the wrong type: {value!r}")
    return value


def _byte_count(obj: dict[str, Any], key: str) -> int | None:
    """A per-inference byte count of the runner's JSON: absent or null is None, else a whole number >= 0."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NativeRunnerError(f"'{key}' (top level) is not a byte count: {value!r}")
    return value


def parse_result(stdout: str) -> NativeRunResult:
    """The one JSON object the runner printed (the last non-empty stdout line), validated."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise NativeRunnerError("the runner printed nothing on stdout")
    try:
        obj = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise NativeRunnerError(f"the runner's last stdout line is not JSON ({exc}): {lines[-1][:300]!r}") from exc
    if not isinstance(obj, dict):
        raise NativeRunnerError(f"the runner's JSON is not an object: {lines[-1][:300]!r}")
    top = "top level"
    rows = _field(obj, "per_thread", list, top)
    per_thread = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise NativeRunnerError(f"per_thread[{i}] is not an object: {row!r}")
        where = f"per_thread[{i}]"
        per_thread.append(ThreadLatency(
            thread=_field(row, "thread", int, where), profile=_field(row, "profile", int, where),
            p50_us=_field(row, "p50_us", float, where), p90_us=_field(row, "p90_us", float, where),
            p99_us=_field(row, "p99_us", float, where), mean_us=_field(row, "mean_us", float, where)))
    shape = _field(obj, "shape", list, top)
    errors = _field(obj, "errors", list, top)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise NativeRunnerError(f"'shape' is not a list of integers: {shape!r}")
    if not all(isinstance(e, str) for e in errors):
        raise NativeRunnerError(f"'errors' is not a list of strings: {errors!r}")
    result = NativeRunResult(
        threads=_field(obj, "threads", int, top), iterations=_field(obj, "iterations", int, top),
        graph=_field(obj, "graph", bool, top), profile_per_thread=_field(obj, "profile_per_thread", bool, top),
        shape=tuple(shape), tensorrt_version=_field(obj, "tensorrt_version", str, top),
        wall_s=_field(obj, "wall_s", float, top), inferences_per_second=_field(obj, "inferences_per_second", float, top),
        per_thread=tuple(per_thread), gpu_busy_fraction=_field(obj, "gpu_busy_fraction", float, top),
        gpu_interval_sum_over_wall=_field(obj, "gpu_interval_sum_over_wall", float, top),
        outputs_identical=_field(obj, "outputs_identical", bool, top), errors=tuple(errors),
        graph_batch=_field(obj, "graph_batch", int, top) if "graph_batch" in obj else 1,
        # a runner from before --bare-kernel reports neither
        bare_kernel=_field(obj, "bare_kernel", bool, top) if "bare_kernel" in obj else False,
        bytes_in=_byte_count(obj, "bytes_in"), bytes_out=_byte_count(obj, "bytes_out"))
    if len(result.per_thread) != result.threads or [t.thread for t in result.per_thread] != list(range(result.threads)):
        raise NativeRunnerError(f"per_thread holds threads {[t.thread for t in result.per_thread]}, "
                                f"expected 0..{result.threads - 1}")
    if result.ok:  # a clean run measured something; a failed one may carry nulls
        numbers = [result.wall_s, result.inferences_per_second, result.gpu_busy_fraction]
        numbers += [v for t in result.per_thread for v in (t.p50_us, t.p90_us, t.p99_us, t.mean_us)]
        if not all(math.isfinite(v) and v >= 0 for v in numbers):
            raise NativeRunnerError(f"a clean run reported a missing or negative measurement: {lines[-1][:300]!r}")
        if result.gpu_busy_fraction > 1.0 + 1e-6:
            raise NativeRunnerError(f"gpu_busy_fraction {result.gpu_busy_fraction} is above 1")
        if any(not t.p50_us <= t.p90_us <= t.p99_us for t in result.per_thread):
            raise NativeRunnerError("a thread's latency percentiles are not ascending")
    return result


def run_native(runner: Path, engine: Path, plugins: Sequence[Path], threads: int, iterations: int,
               shape: Sequence[int], graph: bool = False, profile_per_thread: bool = False,
               timeout_s: float = 600.0, time_every: int = 1, graph_batch: int = 1,
               input_shapes: Sequence[tuple[str, Sequence[int]]] = (), bare_kernel: bool = False,
               input_files: Sequence[TensorFile] = (), dump_outputs: Sequence[TensorFile] = ()) -> NativeRunResult:
    """Run the runner and return its validated result. A run that reports errors or differing
    outputs still returns (result.ok is False: the caller labels or refuses it); a usage error, a
    crash or output that is not the promised JSON raises NativeRunnerError."""
    args = runner_arguments(runner, engine, plugins, threads, iterations, shape, graph, profile_per_thread,
                            time_every=time_every, graph_batch=graph_batch, input_shapes=input_shapes,
                            bare_kernel=bare_kernel, input_files=input_files, dump_outputs=dump_outputs)
    iterations = -(-iterations // graph_batch) * graph_batch  # the runner rounds up to whole launches
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NativeRunnerError(f"could not run {' '.join(args)}: {exc}") from exc
    if proc.returncode not in (0, 1):
        raise NativeRunnerError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    result = parse_result(proc.stdout)
    if (result.threads, result.iterations, result.shape) != (threads, iterations, tuple(shape)):
        raise NativeRunnerError(f"the runner reports {result.threads} threads x {result.iterations} at "
                                f"{result.shape}, asked for {threads} x {iterations} at {tuple(shape)}")
    if result.bare_kernel != bare_kernel:
        raise NativeRunnerError(f"asked for {'the bare kernel' if bare_kernel else 'the engine'}, the runner reports "
                                f"bare_kernel={str(result.bare_kernel).lower()}")
    if (proc.returncode == 0) != result.ok:
        raise NativeRunnerError(f"exit status {proc.returncode} disagrees with the JSON (ok={result.ok})")
    return result


def thread_row(result: NativeRunResult, backend: str, operator: str, dtype: str, profile: str) -> ThreadRow:
    """The threads table's row of one native run (records.ThreadRow, driver "native"; a --bare-kernel
    run's is driver "bare", under the operator whose engine's bytes it read and wrote)."""
    inferences = result.threads * result.iterations
    p50s = sorted(t.p50_us for t in result.per_thread)
    what = (f"bare kernel (plugin/probes/bareKernel.cuh, no TensorRT) of the engine's bytes, {result.bytes_in} B in, "
            f"{result.bytes_out} B out per inference: every thread's output bit-identical" if result.bare_kernel else
            "every thread's output bit-identical")
    return ThreadRow(
        backend=backend, operator=operator, dtype=dtype, profile=profile, shape=shape_str(result.shape),
        threads=result.threads, iterations_per_thread=result.iterations, inferences=inferences,
        # the runner checks every thread's final output, not each inference: a wrong run counts whole
        failures=0 if result.ok else inferences, wall_s=result.wall_s, throughput_per_s=result.inferences_per_second,
        median_latency_us=p50s[len(p50s) // 2] if p50s else math.nan, all_verified=result.ok,
        message=("; ".join(result.errors) or "outputs differ between threads") if not result.ok else
        f"trt_runner (TensorRT {result.tensorrt_version} headers): {what}",
        driver="bare" if result.bare_kernel else "native", graph=result.graph, graph_batch=result.graph_batch,
        p99_latency_us=max((t.p99_us for t in result.per_thread), default=math.nan),
        gpu_busy_fraction=result.gpu_busy_fraction, gpu_interval_sum_over_wall=result.gpu_interval_sum_over_wall,
        bytes_in=math.nan if result.bytes_in is None else float(result.bytes_in),
        bytes_out=math.nan if result.bytes_out is None else float(result.bytes_out))


def bare_not_measured(backend: str, operator: str, dtype: str, profile: str, shape: Sequence[int], threads: int,
                      graph: bool, graph_batch: int, reason: str) -> ThreadRow:
    """The threads table's row for a bare-kernel run that could not be made (driver "bare", no
    throughput, ``message`` "not measured: <reason>"): the rule goes on, the tables say why."""
    return ThreadRow(
        backend=backend, operator=operator, dtype=dtype, profile=profile, shape=shape_str(shape), threads=threads,
        iterations_per_thread=0, inferences=0, failures=0, wall_s=math.nan, throughput_per_s=math.nan,
        median_latency_us=math.nan, all_verified=False, message=f"{NOT_MEASURED}{reason}", driver="bare", graph=graph,
        graph_batch=graph_batch)


NOT_MEASURED = "not measured: "  # a bare row's message prefix where the bare kernel could not run


def native_way(graph: object, graph_batch: object = 1) -> str:
    """One native series' name in tables, figures and MLflow: plain, graph, or graph_x<B> (B enqueues
    per captured graph). Table cells may be strings ("True") or numbers (a CSV read back)."""
    replayed = str(graph).lower() in ("true", "1")
    try:
        batch = int(float(graph_batch))
    except (TypeError, ValueError):
        batch = 1
    batch = batch if batch > 1 else 1
    return "plain" if not replayed else ("graph" if batch == 1 else f"graph_x{batch}")


NATIVE_WAY_LABELS = {"plain": "plain enqueue", "graph": "CUDA-graph replay"}


def native_way_label(way: str) -> str:
    return NATIVE_WAY_LABELS.get(way, f"CUDA graph of {way.removeprefix('graph_x')} enqueues")


# The saturation point of one native sweep (one engine, one mode), the figure's and the summary's:
# the first thread count N (ascending) whose next thread count adds less than SATURATION_GAIN - 1 to
# the aggregate throughput. The runner's busy fraction is no test of saturation: an event pair on a
# stream the host keeps waiting spans the host's next launch too, so it reads 0.85 for one host-bound
# thread (H200, 2026-12-02: one plain enqueue per 6.7 us, a 3.8 us kernel) and 1.00 with
# threads.native_time_every > 1 (the union of the timed intervals x K). It stays in the tables.
SATURATION_GAIN = 1.10


def saturation_point(threads: Sequence[int], throughput: Sequence[float]) -> tuple[int, str] | None:
    """(N, why) of the saturation rule above; None where the sweep still grows at its largest N."""
    points = sorted(zip(threads, throughput))
    for (n, rate), (m, following) in zip(points, points[1:]):
        if following < SATURATION_GAIN * rate:
            return n, f"{m} threads add {100 * (following / rate - 1):+.0f} %"
    return None
