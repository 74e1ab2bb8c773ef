"""The conformance rule: does the plugin keep the contract TensorRT relies on? (issue 15)

Seven checks per operator, each PASS, FAIL or N/A with its reason, never an N/A passed off as a pass:

1. graph_capture: the enqueue is CUDA-graph capturable (captured in cudaStreamCaptureModeGlobal, where
   a synchronization or a cudaMalloc inside it invalidates the capture; replayed; outputs right against
   float64) and does not synchronize (an enqueue onto a stream held by a spinning kernel, StreamBlocker,
   returns within ``enqueue_max_s`` while the kernel holds for ``blocker_hold_s``);
2. multi_profile: contexts on different optimization profiles of one engine at once, each at its own
   shape, enqueued in turn on their own streams (so they run side by side), every output right;
3. clone_independence: two contexts at one shape (TensorRT clones the plugin per context): destroy one,
   the other still right; and, for a V2 plugin, the clone lifecycle driven on the plugin itself
   (run_clone_drive: trt_runner --clone-check), since TensorRT 8.6's contexts did not catch a clone
   sharing state that its destroy() spoils (H200, 2026-12-02). A V2 plugin passes only when both
   halves ran and passed: without trt_runner the drive cannot run and the check is N/A, saying what
   the contexts half found (a failure of either half is a FAIL). For a V3 plugin the contexts half is
   the whole check (the runner drives V2 clones only), and its PASS says so;
4. fresh_process_shapes: a fresh process deserializes the engine and runs at shapes other than the
   build's opt shape, one context, outputs right;
5. library_loading: plain dlopen (ctypes.CDLL), IPluginRegistry.load_library and the init entry point
   (the spec's plugin.init, N/A where it names none), each in a fresh process, each registering every creator exactly once, no
   duplicate-registration error in TensorRT's log (a way that cannot work in this process is N/A);
6. v2_v3_identical: the V2 and V3 plugins' outputs bit-identical (TensorRT >= 10 only, a creator with two versions);
7. sanitizer: the enqueue under compute-sanitizer memcheck, racecheck, synccheck and initcheck, through
   the native runner on a small shape (N/A without compute-sanitizer or trt_runner).

Every GPU check runs in a fresh subprocess (``run_child``: conformance_gpu.py), so a crash is a FAIL
with its reason and the checks already done are kept. The bad-plugin fixture (tests/fixtures/bad-plugins,
built with -DTPB_BAD_PLUGINS=ON) plants one fault per flag; BAD_FLAGS says which check each must fail, alone.
This module imports neither tensorrt nor pycuda.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backends.base import EngineSpec, combine_checks
from ..core import oracle as ref
from ..core.config import schema_defaults
from ..core.operators import OPERATORS, field_values, from_ref, get_operator, plugin_library_in, tensorrt_support
from ..core.specs import OperatorSpec, SpecError, aux_arrays, input0_generator, known_names, numerics_of, spec_ref
from ..measure.native_runner import (
    CLONE_INPUT0,
    CLONE_OUTPUT0,
    ENGINE_INPUT0,
    NativeRunnerError,
    TensorFile,
    dump_files,
    read_tensor_file,
    write_tensor_files,
)

if TYPE_CHECKING:
    from ..core.settings import ConformanceSettings
    from ..core.settings import Settings as TypedSettings

PASS, FAIL, NA = "pass", "fail", "n/a"
STATUSES = (PASS, FAIL, NA)


@dataclass(frozen=True)
class Check:
    name: str
    number: int
    title: str
    plugin_only: bool  # N/A for TensorRT's own layers (no plugin to check)


CHECKS: tuple[Check, ...] = (
    Check("graph_capture", 1, "enqueue CUDA-graph capturable and does not synchronize", False),
    Check("multi_profile", 2, "contexts on different optimization profiles at once", False),
    Check("clone_independence", 3, "destroying one context's plugin clone leaves the other right", True),
    Check("fresh_process_shapes", 4, "a fresh process deserializes and runs at shapes other than opt", False),
    Check("library_loading", 5, "dlopen, load_library and the init function each register every creator once", True),
    Check("v2_v3_identical", 6, "V2 and V3 outputs bit-identical", True),
    Check("sanitizer", 7, "compute-sanitizer memcheck, racecheck, synccheck, initcheck", True),
)
CHECK_NAMES = tuple(c.name for c in CHECKS)

# The bad-plugin fixture: flag -> the one check it must fail (tests/fixtures/bad-plugins/badPlugins.cmake
# TPB_BAD_PLUGIN_FLAGS: the faults in classes derived from the project plugin's V2 class, and its library's registration).
BAD_FLAGS: dict[str, str] = {
    "SYNC_IN_ENQUEUE": "graph_capture",
    "GLOBAL_STATE": "multi_profile",
    "SHALLOW_CLONE": "clone_independence",
    "INIT_ONLY_REGISTRATION": "library_loading",
}
SANITIZER_TOOLS = ("memcheck", "racecheck", "synccheck", "initcheck")
# the small shapes of the conformance engines (rank 2): one profile range, twice in every engine
PROFILE_MIN, PROFILE_OPT, PROFILE_MAX = (1, 8), (4, 256), (16, 1024)
PROFILES_PER_ENGINE = 2
GRAPH_SHAPE = (3, 500)
MULTI_PROFILE_SHAPES = ((16, 1024), (2, 96))  # context i on profile i; different sizes on purpose
CLONE_SHAPE = (5, 200)
FRESH_SHAPES = ((1, 8), (16, 1024), (3, 77))  # min, max and an odd one: none is opt
SANITIZER_SHAPE = (3, 77)
RESULT_PREFIX = "TPB_CONFORMANCE_RESULT "


def fit_shape(op: OperatorSpec, shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """A conformance shape of input 0 as the operator can take it: an axis a weight keeps (a row's
    hidden size: its constants are built at opt) or that inputs[0].dims fixes is opt's (or the fixed
    value); the other axes as given."""
    shape = list(shape)
    first = op.inputs[0].name
    for w in op.weights:
        if (w.like or first) == first and w.axes is not None:
            for axis in w.axes:
                shape[axis] = PROFILE_OPT[axis]
    for axis, d in enumerate(op.inputs[0].dims[: len(shape)]):
        if isinstance(d, int):
            shape[axis] = d
    return tuple(shape)


def clone_shapes(op: OperatorSpec) -> list[str]:
    """The clone drive's shapes beyond --shape for a plugin of several inputs (its weights included:
    they are plugin inputs) or outputs: --input-shape for each input 1.. then each weight, and
    --output-shape for every output, in the plugin's order, at CLONE_SHAPE (fit_shape); none for an
    operator of one input and one output of its shape."""
    shape = fit_shape(op, CLONE_SHAPE)
    shapes = op.all_shapes(shape)
    outs = op.output_shapes(shape)
    if len(shapes) == 1 and len(outs) == 1 and tuple(outs[0]) == tuple(shape):
        return []
    names = [t.name for t in (*op.inputs, *op.weights)]
    args = []
    for name, s in zip(names[1:], shapes[1:]):
        args += ["--input-shape", f"{name}=" + "x".join(str(d) for d in s)]
    for name, s in zip(op.outputs, outs):
        args += ["--output-shape", f"{name}=" + "x".join(str(d) for d in s)]
    return args


class ConformanceError(RuntimeError):
    """A bad request to the conformance rule (unknown operator or flag, a missing library)."""


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    status: str  # PASS | FAIL | NA
    reason: str
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}; allowed values: {', '.join(STATUSES)}")
        if self.check not in CHECK_NAMES:
            raise ValueError(f"unknown check {self.check!r}; allowed values: {', '.join(CHECK_NAMES)}")


@dataclass(frozen=True)
class Target:
    """What is checked: an operator of the pipeline, or the fixture's library for one bad flag."""

    operator: str  # the operator whose engine is built (its implementation and kernel)
    label: str  # the results' name: the operator, or bad_<flag>
    function: str
    implementation: str
    kernel: str
    library: str | None  # the plugin library (None for TensorRT's own layers)
    plugin_name: str = ""  # the creator (the spec's plugin.creator; a fixture's own for a flag)
    plugin_namespace: str = ""
    flag: str | None = None
    plugin_init: str | None = None  # the spec's plugin.init: the library's registration entry point
    # every creator (name, version, min TensorRT major) the library registers: the specs naming it
    creators: tuple[tuple[str, str, int], ...] = ()
    spec: str = ""  # how a child process finds the operator (operators.operator_ref: a name or a spec file)
    dtype: str = "fp32"
    beta: float = 1.0

    @property
    def uses_plugin(self) -> bool:
        return self.implementation.startswith("plugin")

    def expected_creators(self, trt_major: int) -> list[tuple[str, str]]:
        """(name, version) of each creator the library registers on TensorRT ``trt_major``."""
        return [(str(n), str(v)) for n, v, major in self.creators if trt_major >= int(major)]


def engine_spec(target: Target, implementation: str | None = None) -> EngineSpec:
    """The conformance engine of ``target`` (the small profile, twice per engine), naming the spec file
    of an operator from outside ops/ so the fresh process that builds or loads it finds the operator
    (operators.for_engine): without it an external spec's name was unknown there."""
    spec = from_ref(target.spec or target.operator)
    return EngineSpec(operator=target.operator, function=target.function,
                      implementation=implementation or target.implementation, kernel=target.kernel, dtype=target.dtype,
                      profile="conformance", min=fit_shape(spec, PROFILE_MIN), opt=fit_shape(spec, PROFILE_OPT),
                      max=fit_shape(spec, PROFILE_MAX), beta=target.beta,
                      spec_file="" if spec.builtin else target.spec)


def camel(flag: str) -> str:
    return "".join(word.capitalize() for word in flag.lower().split("_"))


def bad_library_name(flag: str, library_target: str) -> str:
    """The fixture's library for ``flag``: the plugin library's file name with _bad_<flag> before .so."""
    _check_flag(flag)
    return f"{Path(library_target).name.removesuffix('.so')}_bad_{flag.lower()}.so"


def bad_plugin_name(flag: str, creator: str) -> str:
    """The fixture's creator for ``flag``: the plugin's creator name + Bad + the flag in CamelCase."""
    _check_flag(flag)
    return f"{creator}Bad{camel(flag)}"


def library_creators(spec: OperatorSpec) -> tuple[tuple[str, str, int], ...]:
    """Every creator (name, version, min TensorRT major) registered by ``spec``'s plugin library:
    those of the specs known here (ops/ and loaded ones) naming the same library and creator."""
    if spec.plugin is None:
        return ()
    key, name = spec.plugin.library.manifest_key, spec.plugin.creator
    known = [get_operator(n) for n in known_names(OPERATORS)]
    found = {(s.plugin.creator, s.plugin.version, s.min_tensorrt_major) for s in known
             if s.plugin is not None and s.plugin.library.manifest_key == key and s.plugin.creator == name}
    found.add((name, spec.plugin.version, spec.min_tensorrt_major))
    versions: dict[tuple[str, str], int] = {}
    for n, v, major in sorted(found):
        versions[(n, v)] = min(major, versions.get((n, v), major))
    return tuple((n, v, m) for (n, v), m in sorted(versions.items()))


def _check_flag(flag: str) -> None:
    if flag not in BAD_FLAGS:
        raise ConformanceError(f"unknown bad-plugin flag {flag!r}; allowed values: {', '.join(BAD_FLAGS)}")


def make_target(operator: str, library: Path | str | None, flag: str | None = None, beta: float = 1.0,
                kernel: str | None = None) -> Target:
    """The target for ``operator`` (its plugin library ``library``), or with ``flag`` the fixture's
    library for that flag built as ``operator``'s engine (a V2 plugin operator)."""
    try:
        spec = from_ref(operator)  # a name, or an external operator's spec file (dag.op_arg)
    except SpecError as exc:
        raise ConformanceError(f"unknown operator {operator!r}; allowed values: {', '.join(OPERATORS)}") from exc
    operator = spec.name
    default = spec.variants.default if spec.variants is not None else ""
    kernel = kernel or (default if spec.kernel == "optimised" else (spec.kernel or ""))
    p = spec.plugin
    plugin = dict(plugin_name=p.creator, plugin_namespace=p.namespace, plugin_init=p.init,
                  creators=library_creators(spec)) if p is not None else {}
    if flag is not None:
        _check_flag(flag)
        if spec.implementation != "plugin_v2" or p is None:
            raise ConformanceError(f"the bad-plugin faults are in a V2 plugin: build flag {flag} as a plugin_v2 "
                                   f"operator, not {operator} ({spec.implementation})")
        if library is None:
            raise ConformanceError(f"flag {flag} needs the fixture library "
                                   f"{bad_library_name(flag, p.library.target or 'lib.so')} (--library)")
        bad = bad_plugin_name(flag, p.creator)
        creators = tuple((bad, v, m) for _, v, m in library_creators(spec))
        return Target(operator, f"bad_{flag.lower()}", spec.function, spec.implementation, kernel, str(library),
                      **{**plugin, "plugin_name": bad, "plugin_namespace": "", "creators": creators}, flag=flag,
                      spec=spec_ref(spec), beta=beta)
    return Target(operator, operator, spec.function, spec.implementation, kernel,
                  str(library) if (library and spec.uses_plugin) else None, **plugin, spec=spec_ref(spec), beta=beta)


# -- fresh-process children --------------------------------------------------------------------------
@dataclass(frozen=True)
class ChildResult:
    ok: bool  # the child finished and printed its result
    data: dict = field(default_factory=dict)
    reason: str = ""  # why not, when not ok: crash, timeout, an exception's line
    seconds: float = 0.0


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def parse_child_output(returncode: int, stdout: str, stderr: str) -> ChildResult:
    """The child's result line (RESULT_PREFIX + JSON), or why there is none: a crash (a signal), a
    non-zero exit, an exception's last line."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if lines and returncode == 0:
        try:
            return ChildResult(True, json.loads(lines[-1][len(RESULT_PREFIX):]))
        except json.JSONDecodeError as exc:
            return ChildResult(False, reason=f"the child's result line is not JSON: {exc}")
    tail = [ln for ln in stderr.strip().splitlines() if ln.strip()][-3:]
    last = " | ".join(tail)[-600:] or "no output on stderr"
    if returncode < 0:
        return ChildResult(False, reason=f"the child process crashed ({_signal_name(returncode)}): {last}")
    if returncode != 0:
        return ChildResult(False, reason=f"the child process exited with {returncode}: {last}")
    return ChildResult(False, reason=f"the child process printed no result: {last}")


def child_command(mode: str, payload: dict) -> list[str]:
    return [sys.executable, "-m", "trt_plugin_bench.commands.conformance_gpu", mode, json.dumps(payload, sort_keys=True)]


def run_child(mode: str, payload: dict, timeout_s: float, command: Sequence[str] | None = None) -> ChildResult:
    """Run one check in a fresh process (conformance_gpu.py) and read its result line."""
    cmd = list(command) if command is not None else child_command(mode, payload)
    env = dict(os.environ)
    workflow_dir = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [workflow_dir, env.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired as exc:
        return ChildResult(False, reason=f"the child process ran past {timeout_s:g} s and was killed "
                                         f"({(exc.stderr or b'')[-300:]!r})", seconds=time.perf_counter() - t0)
    sys.stderr.write(proc.stderr[-4000:])
    result = parse_child_output(proc.returncode, proc.stdout, proc.stderr)
    return ChildResult(result.ok, result.data, result.reason, time.perf_counter() - t0)


ChildRunner = Callable[[str, dict, float], ChildResult]


# -- judging what the children saw (pure: tested with fakes) -----------------------------------------
def judge_outputs(results: Sequence[dict]) -> tuple[bool, str]:
    """Each {"what": ..., "ok": bool, "message": ...}: all right, or the first wrong ones named."""
    wrong = [r for r in results if not r.get("ok")]
    if not results:
        return False, "no output was checked"
    if wrong:
        return False, "; ".join(f"{r.get('what', '?')}: {r.get('message', 'wrong')}" for r in wrong[:3])
    return True, f"{len(results)} outputs right against float64 ({', '.join(str(r.get('what')) for r in results)})"


def judge_graph_capture(data: dict, enqueue_max_s: float) -> tuple[str, str]:
    """Child data: blocked_enqueue_s, blocker_timed_out, blocked_outputs_ok/message, capture_error,
    graph_outputs (judge_outputs' input)."""
    problems: list[str] = []
    blocked = float(data.get("blocked_enqueue_s", float("nan")))
    if not blocked <= enqueue_max_s:
        problems.append(f"an enqueue onto a stream held by a spinning kernel took {blocked:.3f} s (bound "
                        f"{enqueue_max_s:g} s): it waits for its stream (synchronizes)"
                        + (" until the blocker's timeout" if data.get("blocker_timed_out") else ""))
    if not data.get("blocked_outputs_ok", False):
        problems.append(f"output after the held enqueue: {data.get('blocked_message', 'not checked')}")
    if data.get("capture_error"):
        problems.append(f"capture in cudaStreamCaptureModeGlobal failed: {data['capture_error']}")
    else:
        ok, why = judge_outputs(data.get("graph_outputs", []))
        if not ok:
            problems.append(f"graph replay: {why}")
    if problems:
        return FAIL, "; ".join(problems)
    return PASS, (f"captured and replayed {len(data.get('graph_outputs', []))}x, outputs right; an enqueue onto a "
                  f"held stream returned in {blocked * 1e3:.1f} ms (bound {enqueue_max_s:g} s)")


def judge_multi_profile(data: dict) -> tuple[str, str]:
    ok, why = judge_outputs(data.get("outputs", []))
    if not ok:
        return FAIL, f"{data.get('contexts', '?')} contexts on their own profiles: {why}"
    return PASS, f"{data.get('contexts')} contexts on profiles {data.get('profiles')} at once: {why}"


def judge_outputs_check(data: dict, what: str) -> tuple[str, str]:
    ok, why = judge_outputs(data.get("outputs", []))
    return (PASS if ok else FAIL), f"{what}: {why}"


DUPLICATE_LOG = re.compile(r"already registered|exists already|already exists|duplicate", re.I)


def judge_loading_way(data: dict, expected: Sequence[str]) -> tuple[str, str]:
    """One way of loading, in its own process: data has way, unusable (why it cannot work here, or
    None), counts {creator: times registered after}, log (TensorRT's warnings and errors), error."""
    way = data.get("way", "?")
    if data.get("unusable"):
        return NA, f"{way}: not applicable: {data['unusable']}"
    if data.get("error"):
        return FAIL, f"{way}: {data['error']}"
    counts = data.get("counts", {})
    wrong = [f"{c} registered {counts.get(c, 0)}x" for c in expected if counts.get(c, 0) != 1]
    duplicates = [m for m in data.get("log", []) if DUPLICATE_LOG.search(m)]
    if wrong or duplicates:
        return FAIL, f"{way}: " + "; ".join(wrong + [f"TensorRT logged: {m}" for m in duplicates[:2]])
    return PASS, f"{way}: each of {', '.join(expected)} registered once"


def combine(parts: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """FAIL if any part fails; N/A only if every part is N/A; else PASS (its N/A parts said)."""
    statuses = [s for s, _ in parts]
    reasons = "; ".join(r for _, r in parts)
    if FAIL in statuses:
        return FAIL, reasons
    if statuses and all(s == NA for s in statuses):
        return NA, reasons
    return PASS, reasons


def judge_v2_v3(data: dict) -> tuple[str, str]:
    differing = data.get("differing", [])
    if data.get("error"):
        return FAIL, data["error"]
    if differing:
        return FAIL, "V2 and V3 outputs differ: " + "; ".join(differing[:3])
    return PASS, f"bit-identical at {', '.join(data.get('shapes', []))}"


SUMMARY = re.compile(r"ERROR SUMMARY:\s*(\d+)\s+errors?", re.I)
RACE_SUMMARY = re.compile(r"RACECHECK SUMMARY:\s*(\d+)\s+hazards?", re.I)


def parse_sanitizer(tool: str, returncode: int, output: str, error_exitcode: int = 99) -> tuple[str, str]:
    """One compute-sanitizer run of trt_runner: FAIL on reported errors/hazards, on the sanitizer's
    error exit code, on no summary (it did not finish) or on a runner that printed no JSON (crashed).
    The runner's own output comparison is not this check's business (checks 1-4 judge outputs)."""
    errors = [int(m) for m in SUMMARY.findall(output)]
    hazards = [int(m) for m in RACE_SUMMARY.findall(output)]
    findings = [ln.strip() for ln in output.splitlines() if ln.startswith("=========") and
                re.search(r"(Invalid|Uninitialized|Race|hazard|Barrier|error)", ln) and "SUMMARY" not in ln][:2]
    if sum(errors) or sum(hazards) or returncode == error_exitcode:
        return FAIL, (f"{tool}: {sum(errors)} errors, {sum(hazards)} hazards"
                      + (f" ({' | '.join(findings)})" if findings else ""))
    if not errors and not hazards:
        tail = " | ".join(output.strip().splitlines()[-2:])[-300:]
        return FAIL, f"{tool}: no sanitizer summary (exit {returncode}): {tail}"
    if not any(ln.lstrip().startswith("{") for ln in output.splitlines()):
        return FAIL, f"{tool}: the runner printed no result (exit {returncode})"
    return PASS, f"{tool}: 0 errors"


# -- the checks ----------------------------------------------------------------------------------------
_CONFORMANCE = schema_defaults("conformance")  # the schema is the one place defaults live


@dataclass
class Settings:
    """The checks' settings: config conformance's (each default its schema default) and the seed."""

    enqueue_max_s: float = _CONFORMANCE["enqueue_max_s"]
    blocker_hold_s: float = _CONFORMANCE["blocker_hold_s"]
    child_timeout_s: float = _CONFORMANCE["child_timeout_s"]
    sanitizer_timeout_s: float = _CONFORMANCE["sanitizer_timeout_s"]
    sanitizer_tools: tuple[str, ...] = tuple(_CONFORMANCE["sanitizer_tools"])
    seed: int = 20261215

    @classmethod
    def from_config(cls, section: ConformanceSettings) -> Settings:
        """From config conformance (typed, validated: enqueue_max_s below blocker_hold_s, the tools known)."""
        return cls(enqueue_max_s=section.enqueue_max_s, blocker_hold_s=section.blocker_hold_s,
                   child_timeout_s=section.child_timeout_s, sanitizer_timeout_s=section.sanitizer_timeout_s,
                   sanitizer_tools=tuple(section.sanitizer_tools))


def not_applicable(reason: str, checks: Sequence[str] = CHECK_NAMES) -> list[CheckOutcome]:
    return [CheckOutcome(c, NA, f"not applicable: {reason}") for c in checks]


def _payload(target: Target, settings: Settings, **extra: object) -> dict:
    return {"target": asdict(target), "seed": settings.seed, **extra}


def _outcome(check: str, result: ChildResult, judge: Callable[[dict], tuple[str, str]]) -> CheckOutcome:
    if not result.ok:
        return CheckOutcome(check, FAIL, result.reason, result.seconds)
    if result.data.get("error"):
        return CheckOutcome(check, FAIL, str(result.data["error"]), result.seconds)
    status, reason = judge(result.data)
    return CheckOutcome(check, status, reason, result.seconds)


def run_command(cmd: list[str], timeout: float) -> tuple[int, str]:
    """(exit status, stdout + stderr) of one command; -9 and a line saying so when it times out."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, f"timed out after {timeout:g} s"
    return proc.returncode, proc.stdout + proc.stderr


CLONE_SEED = 20261206  # the clone drive's input 0 (clone A's; clone B keeps the runner's own fill)
CLONE_DTYPE = "fp32"  # the clone drive describes every tensor as fp32 (trtRunner.cpp's CloneRun)


@dataclass(frozen=True)
class CloneValues:
    """What the clone drive binds and dumps: clone A's inputs drawn with the spec's generators."""

    x: np.ndarray  # input 0, the reference's argument
    inputs: list[TensorFile]  # --input-file: input 0, the other inputs, the weights (the plugin's inputs, in order)
    outputs: list[TensorFile]  # --dump-output: every output of A's first run
    beta: float  # the beta field's value (clone_fields passes it to the creator)


FIELD_TYPES = ("float32", "float64", "int32")  # the --field types the runner passes to a creator


def clone_fields(op: OperatorSpec, beta: float) -> list[str] | str:
    """The clone drive's --field arguments: every field of the spec that sets the math (its default,
    or ``beta`` for a beta field), so that the plugin computes what the reference does; the kernel and
    kernel_table fields keep the creator's defaults (they choose a kernel, not a value). A reason
    instead where a field's type is one the runner cannot pass (the values are then not checked)."""
    values = field_values(op, beta)
    args: list[str] = []
    for f in op.fields:
        value = values.get(f.name)
        if f.value_from in ("kernel", "kernel_table") or value is None:
            continue
        if f.type not in FIELD_TYPES:
            return f"values not checked: field {f.name} is {f.type}, the clone drive passes {', '.join(FIELD_TYPES)}"
        items = value if isinstance(value, (list, tuple)) else [value]
        text = ",".join(str(int(v)) if f.type == "int32" else repr(float(v)) for v in items)
        if text:
            args += ["--field", f"{f.name}:{f.type}={text}"]
    return args


def clone_values(op: OperatorSpec, directory: Path, beta: float = 1.0) -> CloneValues | str:
    """The clone drive's files at CLONE_SHAPE (fit_shape), in the drive's names (input 0 CLONE_INPUT0,
    the others as clone_shapes names them; output 0 CLONE_OUTPUT0 where clone_shapes gives no
    --output-shape): input 0 drawn with the spec's generator (input0_generator), the other inputs and
    the weights the spec's values (specs.aux_arrays). A reason instead where a tensor is not fp32 (the
    drive runs fp32: that tensor keeps the runner's fill and the values are not checked)."""
    shape = fit_shape(op, CLONE_SHAPE)
    tensors = [*op.inputs, *op.weights]
    odd = [t.name for t in tensors if t.dtype_for(CLONE_DTYPE) != CLONE_DTYPE]
    if odd:
        return f"values not checked: {', '.join(odd)} is not {CLONE_DTYPE}, the clone drive runs {CLONE_DTYPE}"
    simple = not clone_shapes(op)
    names = [CLONE_INPUT0, *(t.name for t in tensors[1:])]
    shapes = [shape, *op.all_shapes(shape)[1:]]
    x = ref.random_input(shape, CLONE_DTYPE, CLONE_SEED, generator=input0_generator(op))
    arrays = [x, *(np.ascontiguousarray(a) for a, _ in aux_arrays(op, shape, CLONE_DTYPE))]
    inputs = write_tensor_files(directory, [(n, tuple(s), CLONE_DTYPE) for n, s in zip(names, shapes)], arrays)
    out_names = [CLONE_OUTPUT0] if simple else list(op.outputs)
    outputs = dump_files(directory, [(n, tuple(s), CLONE_DTYPE) for n, s in zip(out_names, op.output_shapes(shape))])
    return CloneValues(x, inputs, outputs, float(beta))


def check_clone_values(op: OperatorSpec, values: CloneValues) -> tuple[bool, str]:
    """Clone A's dumped outputs against the spec's float64 reference, with the plugin's tolerances."""
    try:
        outs = [read_tensor_file(f) for f in values.outputs]
    except NativeRunnerError as exc:
        return False, f"clone A's outputs: {exc}"
    num = numerics_of(op)
    result = combine_checks([ref.check_output(y, values.x, num, CLONE_DTYPE, values.beta, f.shape, output=j)
                             for j, (y, f) in enumerate(zip(outs, values.outputs))])
    return bool(result.ok), ("clone A's output on the spec's inputs is right against the float64 reference"
                             if result.ok else f"clone A's output on the spec's inputs is wrong: {result.message}")


def run_clone_drive(target: Target, runner: Path | None, settings: Settings,
                    run: Callable[[list[str], float], tuple[int, str]] | None = None) -> tuple[str, str] | None:
    """Check 3's second half: `trt_runner --clone-check` drives the plugin's clone lifecycle itself
    (create, two clones configured and enqueued, one configured again, enqueued and destroyed, the
    other enqueued again: bit-identical), so a shallow clone is caught whatever objects TensorRT
    clones and destroys for its contexts. None where it does not apply (not a V2 plugin library);
    N/A with the reason where it applies but cannot run (no trt_runner). Clone A's inputs are the
    spec's values (clone_values: --input-file) and its first outputs are checked against the spec's
    float64 reference (check_clone_values: --dump-output): a lifecycle that is bit-identical on wrong
    values fails too."""
    if target.implementation != "plugin_v2" or target.library is None:
        return None
    if runner is None or not Path(runner).exists():
        return NA, (f"clone lifecycle: not run: no trt_runner ({runner}: the compile rule builds it where CMake "
                    "finds libnvinfer)")
    creator = target.plugin_name + (f"@{target.plugin_namespace}" if target.plugin_namespace else "")
    op = from_ref(target.spec or target.operator)
    cmd = [str(runner), "--clone-check", creator, "--plugins", str(target.library), "--plugin-init",
           "--shape", "x".join(str(d) for d in fit_shape(op, CLONE_SHAPE)), *clone_shapes(op)]
    fields = clone_fields(op, target.beta)
    cmd += fields if isinstance(fields, list) else []
    with tempfile.TemporaryDirectory(prefix="tpb-clone-") as scratch:
        values = clone_values(op, Path(scratch), target.beta) if isinstance(fields, list) else fields
        if isinstance(values, CloneValues):
            for f in values.inputs:
                cmd += ["--input-file", f.argument()]
            for f in values.outputs:
                cmd += ["--dump-output", f.argument()]
        returncode, output = (run or run_command)(cmd, settings.child_timeout_s)
        found = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"clone_check"' in line]
        if not found:
            return FAIL, f"clone lifecycle (trt_runner --clone-check): no result (exit {returncode}): {output[-300:]}"
        lifecycle = bool(found[-1].get("ok"))
        reason = f"clone lifecycle: {found[-1].get('message', '')}"
        if not isinstance(values, CloneValues):
            return (PASS if lifecycle else FAIL), f"{reason}; {values}"
        if not lifecycle and "could not run" in reason:
            return FAIL, reason  # no output was dumped: nothing to check
        right, said = check_clone_values(op, values)
    return (PASS if lifecycle and right else FAIL), f"{reason}; {said}"


def judge_clone_independence(contexts: CheckOutcome, drive: tuple[str, str] | None) -> CheckOutcome:
    """Check 3 from its two halves: the contexts (TensorRT's clones) and the clone drive (None where
    it does not apply: not a V2 plugin). Never a PASS with half of a V2 plugin's check not run: a
    drive that could not run makes it N/A, saying what the contexts half found; a FAIL of either
    half is a FAIL."""
    said = f"contexts: {contexts.reason}"
    if drive is None:
        status, reason = contexts.status, f"{said}; the clone lifecycle drive applies to V2 plugins only"
    elif FAIL in (contexts.status, drive[0]):
        status, reason = FAIL, f"{said}; {drive[1]}"
    elif drive[0] == NA:
        status, reason = NA, (f"not applicable: only half of the check ran ({said} [{contexts.status}]); "
                              f"{drive[1]}; the contexts alone did not catch a shallow clone on TensorRT 8.6")
    else:
        status, reason = combine([(contexts.status, said), drive])
    return CheckOutcome("clone_independence", status, reason, contexts.seconds)


SANITIZER_SEED = 20261207  # input 0 of the sanitizer's run


def engine_input_files(op: OperatorSpec, shape: tuple[int, ...], dtype: str, directory: Path,
                       seed: int) -> list[TensorFile]:
    """A conformance engine's inputs at input 0's ``shape`` as the runner's --input-file values: input 0
    drawn with the spec's generator (input0_generator), the others the spec's values (aux_arrays), in the
    engine's binding names (ENGINE_INPUT0, then the spec's) and dtypes."""
    names = [ENGINE_INPUT0, *(t.name for t in op.inputs[1:])]
    layout = [(n, tuple(s), t.dtype_for(dtype)) for n, s, t in zip(names, op.input_shapes(shape), op.inputs)]
    x = ref.random_input(tuple(shape), dtype, seed, generator=input0_generator(op))
    others = [np.ascontiguousarray(a) for a, _ in aux_arrays(op, tuple(shape), dtype)[: len(op.inputs) - 1]]
    return write_tensor_files(directory, layout, [x, *others])


def run_sanitizer(target: Target, engine: Path, runner: Path | None, settings: Settings,
                  sanitizer: str | None = None,
                  run: Callable[[list[str], float], tuple[int, str]] | None = None) -> CheckOutcome:
    """Check 7: trt_runner under each tool, the tools side by side (they share the GPU fine), on the
    spec's inputs (engine_input_files: --input-file)."""
    sanitizer = sanitizer if sanitizer is not None else shutil.which("compute-sanitizer")
    if sanitizer is None:
        return CheckOutcome("sanitizer", NA, "not applicable: compute-sanitizer is not on PATH")
    if runner is None or not Path(runner).exists():
        return CheckOutcome("sanitizer", NA, f"not applicable: no trt_runner ({runner}: the compile rule builds it "
                                             "where CMake finds libnvinfer)")

    run = run or run_command
    op = from_ref(target.spec or target.operator)
    fitted = fit_shape(op, SANITIZER_SHAPE)
    shape = "x".join(str(d) for d in fitted)
    # the engine's other inputs at their rules' shapes (the runner binds every input by name)
    others = [arg for t, s in zip(op.inputs[1:], op.input_shapes(fitted)[1:])
              for arg in ("--input-shape", f"{t.name}=" + "x".join(str(d) for d in s))]
    t0 = time.perf_counter()
    scratch = tempfile.TemporaryDirectory(prefix="tpb-sanitizer-")
    files = [a for f in engine_input_files(op, fitted, target.dtype, Path(scratch.name), SANITIZER_SEED)
             for a in ("--input-file", f.argument())]

    def one(tool: str) -> tuple[str, str]:
        # --report-api-errors no: a CUDA API call that returns an error (TensorRT probing what the
        # driver supports) is not a device memory error, hazard or sync error; the other checks see a
        # failed call of the plugin's own (a failed enqueue)
        cmd = [sanitizer, "--tool", tool, "--error-exitcode", "99", "--report-api-errors", "no",
               *(["--racecheck-report", "all"] if tool == "racecheck" else []),
               str(runner), "--engine", str(engine), "--plugins", str(target.library), "--plugin-init",
               "--threads", "1", "--iterations", "2", "--warmup", "1", "--shape", shape, *others, *files]
        returncode, output = run(cmd, settings.sanitizer_timeout_s)
        return parse_sanitizer(tool, returncode, output)

    with scratch, ThreadPoolExecutor(max_workers=len(settings.sanitizer_tools)) as pool:
        parts = list(pool.map(one, settings.sanitizer_tools))
    status, reason = combine(parts)
    return CheckOutcome("sanitizer", status, f"shape {shape}: {reason}", time.perf_counter() - t0)


def run_conformance(target: Target, backend: str, trt_major: int | None, workdir: Path, settings: Settings,
                    runner: Path | None = None, child: ChildRunner | None = None,
                    sanitizer_check: Callable[[Target, Path], CheckOutcome] | None = None,
                    progress: Callable[[CheckOutcome], None] | None = None,
                    clone_check: Callable[[Target], tuple[str, str] | None] | None = None) -> list[CheckOutcome]:
    """Every check for ``target``; ``child`` (run_child), ``sanitizer_check`` (run_sanitizer) and
    ``clone_check`` (run_clone_drive) are replaced by fakes in the tests; ``progress`` hears each
    outcome as it is decided (the log)."""
    def told(found: list[CheckOutcome]) -> list[CheckOutcome]:
        for outcome in found if progress is not None else ():
            progress(outcome)
        return found

    if backend != "tensorrt" or trt_major is None:
        return told(not_applicable("no TensorRT (reference backend: CPU, numpy; the checks need TensorRT and a GPU)"))
    why = tensorrt_support(target.operator, target.dtype, trt_major)
    if why:
        return told(not_applicable(why))
    child = child or (lambda mode, payload, timeout: run_child(mode, payload, timeout))
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    engine = workdir / f"{target.label}.engine"

    class Outcomes(dict):
        def __setitem__(self, key: str, value: CheckOutcome) -> None:
            super().__setitem__(key, value)
            if progress is not None:
                progress(value)

    outcomes: dict[str, CheckOutcome] = Outcomes()
    if not target.uses_plugin:
        for c in CHECKS:
            if c.plugin_only:
                outcomes[c.name] = CheckOutcome(c.name, NA, "not applicable: TensorRT's own layers, no plugin")
    if target.uses_plugin and target.library is not None and not Path(target.library).exists():
        raise ConformanceError(f"the plugin library {target.library} does not exist (the compile rule builds it; "
                               "the fixture: cmake -DTPB_BAD_PLUGINS=ON)")

    # 5 first: it needs no engine
    if "library_loading" not in outcomes:
        expected = [f"{n} v{v}" for n, v in target.expected_creators(trt_major or 0)]
        parts = []
        seconds = 0.0
        if not target.plugin_init:
            parts.append((NA, "init: the spec names no plugin.init function"))
        for way in ("dlopen", "load_library", *(("init",) if target.plugin_init else ())):
            r = child("load", _payload(target, settings, way=way), settings.child_timeout_s)
            seconds += r.seconds
            parts.append(judge_loading_way(r.data, expected) if r.ok else (FAIL, f"{way}: {r.reason}"))
        status, reason = combine(parts)
        outcomes["library_loading"] = CheckOutcome("library_loading", status, reason, seconds)

    build = child("build", _payload(target, settings, engine=str(engine)), settings.child_timeout_s)
    engine_checks = [c.name for c in CHECKS if c.name not in outcomes and c.name != "library_loading"]
    if not build.ok or build.data.get("error"):
        why = build.reason or build.data.get("error")
        for name in engine_checks:
            outcomes[name] = CheckOutcome(name, FAIL, f"the conformance engine did not build: {why}")
        return [outcomes[c] for c in CHECK_NAMES]

    def run_check(name: str, mode: str, judge: Callable[[dict], tuple[str, str]], **extra: object) -> None:
        if name in outcomes:
            return
        r = child(mode, _payload(target, settings, engine=str(engine), **extra), settings.child_timeout_s)
        outcomes[name] = _outcome(name, r, judge)

    run_check("graph_capture", "graph", lambda d: judge_graph_capture(d, settings.enqueue_max_s),
              blocker_hold_s=settings.blocker_hold_s, shape=list(GRAPH_SHAPE))
    run_check("multi_profile", "profiles", judge_multi_profile, shapes=[list(s) for s in MULTI_PROFILE_SHAPES])
    if "clone_independence" not in outcomes:  # its two halves judged together (judge_clone_independence)
        contexts = _outcome("clone_independence", child("clones", _payload(
            target, settings, engine=str(engine), shape=list(CLONE_SHAPE)), settings.child_timeout_s),
            lambda d: judge_outputs_check(d, "after destroying the second context"))
        drive = (clone_check or (lambda t: run_clone_drive(t, runner, settings)))(target) if target.uses_plugin else None
        outcomes["clone_independence"] = (contexts if contexts.status == NA
                                          else judge_clone_independence(contexts, drive))
    run_check("fresh_process_shapes", "fresh", lambda d: judge_outputs_check(d, "one context, a fresh process"),
              shapes=[list(s) for s in FRESH_SHAPES])
    if "v2_v3_identical" not in outcomes:
        versions = sorted({v for _, v, _ in target.creators})
        if trt_major < 10:
            outcomes["v2_v3_identical"] = CheckOutcome(
                "v2_v3_identical", NA, f"not applicable: TensorRT {trt_major} has no IPluginV3 (needs >= 10)")
        elif len(versions) < 2:  # an external V2 plugin alone: no V3 of its creator to build (its spec names none)
            outcomes["v2_v3_identical"] = CheckOutcome(
                "v2_v3_identical", NA, f"not applicable: {target.plugin_name} has one version in the specs "
                f"({', '.join(versions) or 'none'}): no IPluginV2 / IPluginV3 pair to compare")
        else:
            run_check("v2_v3_identical", "v2v3", judge_v2_v3, shapes=[list(s) for s in FRESH_SHAPES],
                      workdir=str(workdir))
    if "sanitizer" not in outcomes:
        outcomes["sanitizer"] = (sanitizer_check(target, engine) if sanitizer_check is not None
                                 else run_sanitizer(target, engine, runner, settings))
    return [outcomes[c] for c in CHECK_NAMES]


def report(target: Target, backend: str, tensorrt_version: str | None, outcomes: Sequence[CheckOutcome]) -> dict:
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    return {"operator": target.operator, "label": target.label, "flag": target.flag, "backend": backend,
            "tensorrt_version": tensorrt_version, "target": asdict(target), "counts": counts,
            "checks": [asdict(o) for o in outcomes]}


def write_report(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def load_reports(paths: Sequence[Path]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths if Path(p).exists()]


def table_rows(reports: Sequence[dict]) -> list[dict]:
    """One row per (label, check): the CSV in results/tables/conformance.csv."""
    rows = []
    for r in reports:
        for c in r["checks"]:
            number = next(k.number for k in CHECKS if k.name == c["check"])
            rows.append({"backend": r["backend"], "tensorrt_version": r.get("tensorrt_version") or "",
                         "operator": r["operator"], "label": r["label"], "flag": r.get("flag") or "",
                         "check_number": number, "check": c["check"], "status": c["status"], "reason": c["reason"],
                         "seconds": round(float(c.get("seconds", 0.0)), 3)})
    return rows


TABLE_COLUMNS = ("backend", "tensorrt_version", "operator", "label", "flag", "check_number", "check", "status",
                 "reason", "seconds")


def reports_from_rows(rows: Sequence[dict]) -> list[dict]:
    """table_rows' inverse, enough for mlflow_metrics and summary_lines (label order kept)."""
    reports: dict[str, dict] = {}
    for row in rows:
        r = reports.setdefault(str(row["label"]), {"label": str(row["label"]), "operator": row["operator"],
                                                   "flag": row.get("flag") or None, "backend": row["backend"],
                                                   "tensorrt_version": row.get("tensorrt_version") or None, "checks": []})
        r["checks"].append({"check": row["check"], "status": row["status"], "reason": row["reason"],
                            "seconds": float(row.get("seconds") or 0.0)})
    return list(reports.values())


def write_table(reports: Sequence[dict], path: Path) -> None:
    """results/tables/conformance.csv (header only when there are no reports)."""
    import csv

    path = Path(path)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TABLE_COLUMNS)
        writer.writeheader()
        writer.writerows(table_rows(reports))
    tmp.replace(path)


STATUS_CELL = {PASS: "PASS", FAIL: "**FAIL**", NA: "n/a"}


def summary_lines(reports: Sequence[dict]) -> list[str]:
    """summary.md's Conformance section: check x operator, then every FAIL and N/A with its reason."""
    if not reports:
        return []
    labels = [r["label"] for r in reports]
    lines = ["", "## Conformance", "",
             "The plugin contract, per operator (conformance rule; each check in a fresh process; n/a is not a pass).", "",
             "| check | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for c in CHECKS:
        cells = []
        for r in reports:
            status = next((x["status"] for x in r["checks"] if x["check"] == c.name), NA)
            cells.append(STATUS_CELL[status])
        lines.append(f"| {c.number}. {c.name} | " + " | ".join(cells) + " |")
    # every FAIL and n/a with its reason, one line per reason (the CPU backend's 7 x n "no TensorRT" is one)
    grouped: dict[tuple[str, str], dict[str, list[str]]] = {}
    for r in reports:
        for x in r["checks"]:
            if x["status"] != PASS:
                grouped.setdefault((x["status"], x["reason"]), {}).setdefault(r["label"], []).append(x["check"])
    notes = []
    for (status, reason), where in grouped.items():
        places = ", ".join(label if len(checks) == len(CHECKS) else f"{label} ({', '.join(checks)})"
                           for label, checks in where.items())
        notes.append(f"- {STATUS_CELL[status]}: {places}: {reason}")
    return lines + ([""] + notes if notes else []) + [""]


def expectation_problems(reports: Sequence[dict]) -> list[str]:
    """What the device session's matrix must show: every shipped operator passes or is N/A; each bad
    flag fails its own check (BAD_FLAGS) and no other. The list of violations (empty: as expected)."""
    problems = []
    for r in reports:
        statuses = {x["check"]: x["status"] for x in r["checks"]}
        flag = r.get("flag")
        if not flag:
            problems += [f"{r['label']}: {c} failed" for c, s in statuses.items() if s == FAIL]
            continue
        own = BAD_FLAGS[flag]
        if statuses.get(own) != FAIL:
            problems.append(f"{r['label']}: its own check {own} did not fail ({statuses.get(own)})")
        problems += [f"{r['label']}: {c} failed too (only {own} may)" for c, s in statuses.items()
                     if s == FAIL and c != own]
    return problems


def matrix_text(reports: Sequence[dict]) -> str:
    """The check x (operator | flag) matrix the device session prints."""
    labels = [r["label"] for r in reports]
    width = max([len(c.name) + 3 for c in CHECKS] + [10])
    cols = [max(len(label), 6) for label in labels]
    out = ["check".ljust(width) + "  " + "  ".join(label.ljust(w) for label, w in zip(labels, cols))]
    for c in CHECKS:
        cells = []
        for r, w in zip(reports, cols):
            status = next((x["status"] for x in r["checks"] if x["check"] == c.name), NA)
            expected_fail = r.get("flag") and BAD_FLAGS.get(r["flag"]) == c.name
            cells.append((status.upper() + ("*" if expected_fail else "")).ljust(w))
        out.append(f"{c.number}. {c.name}".ljust(width) + "  " + "  ".join(cells))
    out.append("(* the check that flag must fail)")
    return "\n".join(out)


def mlflow_metrics(reports: Sequence[dict]) -> tuple[dict[str, float], dict[str, str]]:
    """conformance.<label>.<check> = 1 (pass) / 0 (fail); an N/A is a tag with its reason, no metric."""
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    for r in reports:
        for x in r["checks"]:
            key = f"conformance.{r['label']}.{x['check']}"
            if x["status"] == NA:
                tags[f"tpb.{key}"] = f"n/a: {x['reason']}"[:5000]
            else:
                metrics[key] = 1.0 if x["status"] == PASS else 0.0
    return metrics, tags


def conformance_command(config: TypedSettings, backend: str, operator: str, manifest: Path | None, out: Path,
                        library: Path | None = None, flag: str | None = None, workdir: Path | None = None,
                        runner: Path | None = None) -> dict:
    """The conformance rule's command: the target from the compile manifest (its plugin library and
    trt_runner) or from ``library``/``runner``, every check, results/conformance/<label>.json."""
    from ..backends import tensorrt_version

    data = json.loads(Path(manifest).read_text()) if manifest is not None and Path(manifest).exists() else {}
    try:
        spec = from_ref(operator)
    except SpecError as exc:
        raise ConformanceError(f"unknown operator {operator!r}; allowed values: {', '.join(OPERATORS)}") from exc
    plugin = library or plugin_library_in(data, spec)
    runner = runner or (Path(data["trt_runner"]) if data.get("trt_runner") else None)
    version = tensorrt_version() if backend == "tensorrt" else None
    if backend == "tensorrt" and version is None:
        raise ConformanceError("backend tensorrt was requested but `import tensorrt` fails here: install the 'gpu' "
                               "extra, or run the rule on the reference backend (every check n/a: no TensorRT)")
    major = int(version.split(".")[0]) if version else None
    settings = Settings.from_config(config.conformance)
    target = make_target(operator, plugin, flag, beta=config.beta)
    if backend == "tensorrt" and target.uses_plugin and plugin is None:
        raise ConformanceError(f"{operator} uses the plugin but the manifest {manifest} names no plugin library: run "
                               "the compile_plugin rule on the tensorrt backend")
    workdir = Path(workdir) if workdir else Path(out).parent / "work" / target.label
    def say(o: CheckOutcome) -> None:
        print(f"{target.label} {o.check}: {o.status.upper()} ({o.seconds:.1f} s): {o.reason}", file=sys.stderr, flush=True)

    outcomes = run_conformance(target, backend, major, workdir, settings, runner, progress=say)
    data = report(target, backend, version, outcomes)
    write_report(Path(out), data)
    return data


__all__ = ["BAD_FLAGS", "CHECKS", "CHECK_NAMES", "FAIL", "NA", "PASS", "CheckOutcome", "ChildResult", "ConformanceError",
           "Settings", "Target", "bad_library_name", "bad_plugin_name", "combine", "conformance_command", "engine_spec",
           "expectation_problems",
           "judge_graph_capture", "judge_loading_way", "judge_multi_profile", "judge_outputs", "load_reports",
           "make_target", "matrix_text", "mlflow_metrics", "parse_child_output", "parse_sanitizer", "report",
           "reports_from_rows", "run_child", "run_conformance", "run_sanitizer", "summary_lines", "table_rows",
           "write_report", "write_table"]
