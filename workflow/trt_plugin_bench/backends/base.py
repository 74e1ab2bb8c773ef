"""The backend seam. A backend builds engines, loads them, and hands out timers and workers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core.config import Profile
from ..core.oracle import CheckResult, check_output, check_tiled
from ..core.records import CalibrationRow, DeviceInfo
from ..core.row_check import RowLayout, describe_rows


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (missing package, no GPU)."""


class EngineLoadError(RuntimeError):
    """A serialized engine (or the plugin data inside it) failed validation on load."""


class ShapeOutOfProfileError(ValueError):
    """An input shape outside the engine's optimization profile was refused."""


@dataclass(frozen=True)
class EngineSpec:
    """What an engine computes; stored beside the engine in its build record."""

    operator: str
    function: str
    implementation: str
    kernel: str
    dtype: str
    profile: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]
    beta: float
    # the tune rule's choice table, ((upper KiB of the input tensor, kernel), ...), the last upper -1
    # (unbounded): the plugin's "kernel_table" field. Empty: ``kernel`` runs at every size.
    kernel_table: tuple[tuple[int, str], ...] = ()
    # an operator from outside ops/: its spec file (operators.operator_ref), so any process that
    # loads the engine finds the operator's reference, tolerances and cost model; "": ops/ by name
    spec_file: str = ""

    @property
    def kernel_label(self) -> str:
        """What the tables' kernel column says: the kernel, or "tuned" when a choice table bands sizes."""
        return "tuned" if self.kernel_table else self.kernel

    @property
    def profile_obj(self) -> Profile:
        return Profile(self.profile, self.min, self.opt, self.max, ())

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if not self.profile_obj.contains(tuple(shape)):
            raise ShapeOutOfProfileError(
                f"input shape {list(shape)} is outside the optimization profile of engine "
                f"{self.operator}/{self.dtype}/{self.profile} "
                f"(min {list(self.min)}, max {list(self.max)}, rank {len(self.opt)}); "
                "rebuild the engine with a profile that covers it"
            )

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> EngineSpec:
        data = dict(data)
        for key in ("min", "opt", "max"):
            data[key] = tuple(data[key])
        data["kernel_table"] = tuple((int(kib), str(kernel)) for kib, kernel in data.get("kernel_table", ()))
        return cls(**data)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_record_path(engine_path: Path) -> Path:
    return Path(engine_path).with_suffix(".build.json")


def write_build_record(engine_path: Path, spec: EngineSpec, facts: dict, **extra: object) -> dict:
    """The record beside a freshly built engine, which load() checks the engine against (its spec,
    its digest and size, and what the build reported); ``extra`` adds the caller's own facts."""
    engine_path = Path(engine_path)
    record = {"spec": spec.to_json(), "engine_sha256": sha256_file(engine_path),
              "engine_bytes": engine_path.stat().st_size, **extra, **facts}
    build_record_path(engine_path).write_text(json.dumps(record, indent=2, default=str))
    return record


def read_build_record(engine_path: Path) -> dict:
    """Load the build record and check the engine file is the one that was built."""
    engine_path = Path(engine_path)
    record_path = build_record_path(engine_path)
    if not engine_path.exists():
        raise EngineLoadError(f"engine file {engine_path} does not exist")
    try:
        record = json.loads(record_path.read_text())
    except FileNotFoundError as exc:
        raise EngineLoadError(f"build record {record_path} is missing; rebuild the engine") from exc
    except json.JSONDecodeError as exc:
        raise EngineLoadError(f"build record {record_path} is not valid JSON: {exc}") from exc
    actual = sha256_file(engine_path)
    if record.get("engine_sha256") != actual:
        raise EngineLoadError(
            f"engine file {engine_path} does not match its build record (sha256 {actual[:12]}… "
            f"vs recorded {str(record.get('engine_sha256'))[:12]}…): truncated, corrupted or "
            "replaced; rebuild it"
        )
    return record


# What each timing mode measures (config timing.modes; the `mode` and `start` columns).
#   warm    GPU time, blocked start (nvbench), the same buffers every sample: L2 stays warm
#   cold    GPU time, blocked start, L2 flushed before every sample
#   stream  latency from an idle stream (host enqueue and submission included), warm L2: what one
#           synchronous inference waits for
#   graph   the same from idle, replaying a captured CUDA graph: the launch-overhead floor
MODE_START = {"warm": "blocked", "cold": "blocked", "stream": "idle", "graph": "idle"}


class Timer(AbstractContextManager):
    """Times one (engine, shape, mode) state. ``sample()`` returns (device s, host enqueue s).

    ``start`` says how a sample begins: "blocked" (GPU time only), "idle" (launch included) or
    "cpu" (the reference backend's host clock).
    """

    start: str = "idle"

    @abstractmethod
    def sample(self) -> tuple[float, float]: ...

    @abstractmethod
    def verify(self) -> CheckResult:
        """Run once on fresh poisoned output and check it against the float64 reference."""

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class TimingArena(AbstractContextManager):
    """Memory that the timers of one comparison share: one input, one output and (cold mode) one
    L2-flush buffer for every engine timed at a shape. Two engines timed on buffers of their own
    are also timed on different pages, DRAM channels and flush leftovers in the L2, which moved one
    and the same kernel by up to 3 % on the H100 (docs/kernel-notes.md); on shared buffers an A/B
    ratio compares the engines and nothing else. One arena serves one shape: the first timer sizes
    it, and a later timer may not ask for more."""

    def __init__(self) -> None:
        self.nbytes: int | None = None

    def reserve(self, nbytes: int) -> None:
        if self.nbytes is None:
            self.nbytes = int(nbytes)
        elif nbytes > self.nbytes:
            raise ValueError(f"this timing arena holds {self.nbytes}-byte tensors, a timer asked for {nbytes}: "
                             "use one arena per shape")

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Worker(AbstractContextManager):
    """One thread's execution context and stream on a shared engine."""

    @abstractmethod
    def infer(self, x: np.ndarray) -> np.ndarray: ...

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
        """Every output of one inference (output 0 first); input 0 is ``x``, the other inputs the
        spec's (specs.aux_arrays). An operator of one output: ``[infer(x)]``."""
        return [self.infer(x)]

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Engine(ABC):
    spec: EngineSpec

    @abstractmethod
    def infer(self, x: np.ndarray) -> np.ndarray:
        """One inference, host in and out; refuses shapes outside the profile. Output 0."""

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
        """Every output of one inference, output 0 first (input 0 is ``x``; the other inputs and the
        weights are the spec's, specs.aux_arrays). An operator of one output: ``[infer(x)]``."""
        return [self.infer(x)]

    @abstractmethod
    def timer(self, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
              arena: TimingArena | None = None) -> Timer:
        """A timer at ``shape``; with ``arena``, on the arena's shared buffers (see TimingArena)."""

    @abstractmethod
    def worker(self) -> Worker: ...

    @property
    def tensorrt_layers(self) -> bool:
        """Whether TensorRT's own layers compute this engine's operator (check_output's
        tensorrt_layers, OperatorSpec.tensorrt_layers); never for the CPU reference backend."""
        return False

    def check(self, out: np.ndarray, x: np.ndarray, expected_shape: tuple[int, ...] | None = None) -> CheckResult:
        """``out`` against the float64 reference of ``x`` for this engine's operator, with the
        numerics it is held to (the one place that passes the spec and tensorrt_layers on)."""
        from ..core.operators import numerics_for  # the operator's spec: its reference and tolerances

        spec = self.spec
        return check_output(out, x, numerics_for(spec), spec.dtype, spec.beta, expected_shape,
                            tensorrt_layers=self.tensorrt_layers)

    def check_all(self, outs: list[np.ndarray], x: np.ndarray, shape: tuple[int, ...] | None = None) -> CheckResult:
        """Every output of one inference (``infer_all``) against its float64 reference, each held to
        the spec's tolerance for this engine's side and to its own shape rule: one result, failing
        if any output fails (combine_checks). One output: ``check``."""
        from ..core.operators import for_engine, numerics_for

        if len(outs) == 1:
            return self.check(outs[0], x, shape)
        spec = self.spec
        shapes = for_engine(spec).output_shapes(tuple(x.shape)) if shape is not None else [None] * len(outs)
        num = numerics_for(spec)
        return combine_checks([check_output(y, x, num, spec.dtype, spec.beta, s, tensorrt_layers=self.tensorrt_layers,
                                            output=j) for j, (y, s) in enumerate(zip(outs, shapes))])

    def check_rows(self, outs: list[np.ndarray], x_rows: np.ndarray, others: list[tuple[np.ndarray, str]],
                   layout: RowLayout, chosen: np.ndarray) -> CheckResult:
        """Rows ``chosen`` of every output (output j as (rows, layout.out_rows[j])) against the float64
        reference of those rows alone: input 0's rows ``x_rows``, inputs 1.. and the weights ``others``
        ((array, dtype), each the same rows or whole: layout.aligned), for an operator whose spec
        declares independent_rows (row_check). One result (combine_checks), its message saying
        which rows; ``checked`` counts the elements compared."""
        from ..core.operators import for_engine
        from ..core.specs import numerics_with

        spec = self.spec
        num = numerics_with(for_engine(spec), others)
        result = combine_checks([check_output(y.reshape(-1), x_rows, num, spec.dtype, spec.beta,
                                              tensorrt_layers=self.tensorrt_layers, output=j)
                                 for j, y in enumerate(outs)])
        return dataclasses.replace(result, message=f"{describe_rows(chosen, layout)}: {result.message}")

    def check_tiled(self, out: np.ndarray, block: np.ndarray) -> CheckResult:
        """``check`` of an output whose input repeats ``block`` (oracle.check_tiled): one block
        against float64, the rest by bit identity with it."""
        from ..core.operators import numerics_for

        spec = self.spec
        return check_tiled(out, block, numerics_for(spec), spec.dtype, spec.beta, tensorrt_layers=self.tensorrt_layers)

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def combine_checks(results: list[CheckResult]) -> CheckResult:
    """The checks of an inference's outputs (output 0 first) as one result: failing if any output
    fails, its counts summed, its worst element the worst output's, its message one part per output."""
    if len(results) == 1:
        return results[0]
    bad = [r for r in results if not r.ok]
    worst = max(results, key=lambda r: r.max_ulp_err)
    return dataclasses.replace(
        bad[0] if bad else results[0], ok=not bad, checked=sum(r.checked for r in results),
        mismatches=sum(r.mismatches for r in results), unwritten=sum(r.unwritten for r in results),
        max_ulp_err=worst.max_ulp_err, max_bound_ratio=max(r.max_bound_ratio for r in results),
        mean_ulp_err=float(np.mean([r.mean_ulp_err for r in results])), worst=worst.worst,
        message="; ".join(f"output {j}: {r.message}" for j, r in enumerate(results)))


class Backend(ABC):
    name: str
    timing_clock: str
    modes: tuple[str, ...]

    # Limits of the backend itself, which the sweeps apply without asking which backend this is.
    # None: no limit (the GPU's); the CPU reference backend's come from its settings (config reference).
    @property
    def max_elements(self) -> int | None:
        """Tensors above this many elements are left out of every sweep on this backend."""
        return None

    @property
    def max_tensor_elements(self) -> int | None:
        """The most elements one tensor may have for this backend to build or run it (TensorRT 8.6:
        2^31 - 1, its 32-bit volumes); None: no such limit. A profile above it is a config error
        naming the profile key (sweeps.check_profile_fits), never a traceback."""
        return None

    @property
    def max_time_s(self) -> float | None:
        """A cap on each timed state's budget (timing.max_time_s, compare.max_time_s) here."""
        return None

    @property
    def max_thread_iterations(self) -> int | None:
        """A cap on the thread sweep's inferences per thread (threads.iterations) here."""
        return None

    @abstractmethod
    def device_info(self) -> DeviceInfo: ...

    @abstractmethod
    def support(self, operator: str, dtype: str) -> str | None:
        """None if (operator, dtype) can be built here, else the reason it cannot."""

    @abstractmethod
    def build(self, spec: EngineSpec, engine_path: Path, plugin_library: Path | None, builder_cfg: dict) -> dict:
        """Build and serialize one engine; returns build facts for the build record."""

    @abstractmethod
    def load(self, engine_path: Path, plugin_library: Path | None) -> Engine: ...

    @abstractmethod
    def calibrate(self, copy_mib: list[int], rule: object) -> list[CalibrationRow]: ...

    @abstractmethod
    def arena(self) -> TimingArena:
        """Shared buffers for the timers of one comparison at one shape."""
