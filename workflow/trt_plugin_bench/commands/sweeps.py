"""What each benchmark rule does: small functions over a backend, returning tidy rows.

Every function takes the typed settings (settings.Settings: what the rule handed its command) and
paths, never Snakemake objects, so each is testable on its own and a rule stays one command line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..backends import get_backend
from ..backends.base import (
    MODE_START,
    Backend,
    EngineSpec,
    ShapeOutOfProfileError,
    build_record_path,
    combine_checks,
    write_build_record,
)
from ..core import oracle as ref
from ..core.config import TPB_SCRIPT, ConfigError, Profile
from ..core.operators import (
    AUTO_KERNEL,
    default_kernel,
    field_values,
    for_engine,
    from_ref,
    generator_for,
    moved_bytes,
    numerics_for,
    operator_ref,
    plugin_library_in,
    tuned_kernel,
)
from ..core.provenance import plugin_source_hash
from ..core.records import (
    AccuracyRow,
    CompareRow,
    DynamicRow,
    LatencyRow,
    RoundtripRow,
    ThreadRow,
    shape_str,
    write_rows,
)
from ..core.settings import BuilderSettings, Settings, plugin_kernel
from ..core.specs import OperatorSpec, aux_arrays
from ..core.stats import AA_PATTERN, StoppingRule
from ..device.gpu_slot import HostWork
from ..device.host import quiet_host
from ..measure.measure import (
    Measurement,
    Plan,
    SizeLimit,
    State,
    engine_timers,
    log,
    measure_interleaved,
    measure_state,
    measure_visits,
)
from ..measure.native_runner import (
    ENGINE_INPUT0,
    ENGINE_OUTPUT0,
    NativeRunnerError,
    NativeRunResult,
    bare_not_measured,
    dump_files,
    native_way,
    native_way_label,
    read_tensor_file,
    run_native,
    thread_row,
    write_tensor_files,
)
from ..measure.rows import CompareReport, LatencyReport
from ..measure.samples import write_samples

GOLDEN_SEED = 20261124
# The reference backend's round trip checks numpy against numpy: a changed output shows in 256 Ki
# elements as well as in the 16 Mi of the llm profile's opt shape, in a fraction of the time.
REFERENCE_GOLDEN_MAX_ELEMENTS = 1 << 18
# how to run what the CPU reference backend's quick default leaves out (README, summary.md, logs)
FULL_SWEEP_SWITCH = "snakemake --cores 1 --configfile config.yaml config.cpu-full.yaml"


def plugin_library_from_manifest(manifest_path: Path | None, op_spec: object | None = None) -> Path | None:
    """The plugin library an operator's engines load: its spec's CMake folder's build (the
    manifest's spec_libraries, the main build's plugin/ included) or its prebuilt .so
    (operators.plugin_library_in); no operator: the main build's library (an engine's own build
    record names its library)."""
    library = getattr(getattr(op_spec, "plugin", None), "library", None)
    if library is not None and library.prebuilt is not None:
        return library.prebuilt
    if manifest_path is None:
        return None
    manifest = json.loads(Path(manifest_path).read_text())
    if op_spec is not None:
        return plugin_library_in(manifest, op_spec)  # type: ignore[arg-type]
    lib = manifest.get("plugin_library")
    return Path(lib) if lib else None


def make_spec(settings: Settings, op: str, dtype: str, profile_name: str,
              kernel_tables: dict[str, list] | None = None) -> EngineSpec:
    """The engine of ``op`` at ``dtype`` in profile ``profile_name``. ``kernel_tables``: the tune
    rule's choice tables per dtype (choice.json), which plugin_kernel auto runs (none: the default)."""
    prof = settings.profile_named(profile_name)
    spec = from_ref(op)  # a name, or an external operator's spec file (dag.op_arg)
    kernel, table = plugin_kernel(spec.name, settings, dtype), ()
    if kernel == AUTO_KERNEL:  # the tune rule's choice for this dtype (from choice.json); none: the spec's default
        kernel, table = tuned_kernel((kernel_tables or {}).get(dtype, []), default_kernel(spec))
    return EngineSpec(
        operator=spec.name,
        spec_file="" if spec.builtin else operator_ref(spec.name),
        function=spec.function,
        implementation=spec.implementation,
        kernel=kernel,
        kernel_table=table,
        dtype=dtype,
        profile=profile_name,
        min=prof.min,
        opt=prof.opt,
        max=prof.max,
        beta=settings.beta,
    )


def elements(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def backend_for(settings: Settings, backend_name: str, l2_flush: str = "clean", slot: HostWork | None = None) -> Backend:
    """The backend ``backend_name`` with the settings' limits (reference: the CPU reference backend's
    Backend.max_elements, max_time_s and max_thread_iterations) and, on TensorRT, the command's GPU
    slot (``slot``, gpu_slot.GpuSlot: its timers step out of it for host work; None: none held)."""
    # a command run by hand without settings: the schema's limits (get_backend's None)
    return get_backend(backend_name, l2_flush, settings.reference if settings.handed("reference") else None, slot)


def over_limit(settings: Settings, n: int, limit: int) -> str:
    """Why a shape of ``n`` elements is left out, and how to run it (summary.md parses the first part)."""
    key, _ = settings.reference.limit
    how = "" if key == "reference.full_max_elements" else f"; `{FULL_SWEEP_SWITCH}` runs it"
    return f"{n} elements > {key} {limit}{how}"


def time_budget(backend: Backend, max_time_s: float) -> float:
    """A timed state's budget: ``max_time_s``, at most the backend's cap (Backend.max_time_s: the
    CPU reference backend's quick default, reference.max_time_s; the GPU and the full CPU sweep
    have none)."""
    cap = backend.max_time_s
    return float(max_time_s) if cap is None else min(float(max_time_s), cap)


def digest(a: np.ndarray) -> str:
    """sha256 of an array's bytes in C order: what the round trip compares, bit for bit."""
    return hashlib.sha256(np.ascontiguousarray(a).reshape(-1).view(np.uint8)).hexdigest()


def digest_all(outs: list[np.ndarray]) -> str:
    """Every output's bytes (output 0 first): ``digest`` of the one output of a one-output operator
    (so golden files of before stay valid), else sha256 of each output's digest in order."""
    if len(outs) == 1:
        return digest(outs[0])
    return hashlib.sha256("".join(digest(y) for y in outs).encode()).hexdigest()


def golden_shape(spec: EngineSpec, backend: Backend) -> tuple[int, ...]:
    """The shape of the golden output: opt, or on a backend that limits sizes (Backend.max_elements:
    the CPU reference backend) min when opt has more than REFERENCE_GOLDEN_MAX_ELEMENTS elements."""
    if backend.max_elements is None or elements(spec.opt) <= REFERENCE_GOLDEN_MAX_ELEMENTS:
        return tuple(spec.opt)
    return tuple(spec.min)


# -- build ---------------------------------------------------------------------------------------
def builder_config(builder: BuilderSettings, extra_work: int = 0) -> dict:
    """The backends' builder configuration: config builder (the build rule hands each engine's,
    Settings.engine_builder) and the CPU backend's planted slowdown (reference.extra_work)."""
    cfg = {"workspace_mib": builder.workspace_mib, "optimization_level": builder.optimization_level,
           "profiles_per_engine": builder.profiles_per_engine}
    if extra_work:  # backends/reference.py: in the engine, so a change rebuilds it
        cfg["reference_extra_work"] = extra_work
    return cfg

def outside_tolerance(check: ref.CheckResult, tensorrt_layers: bool, what: str, goes_on: str) -> None:
    """A check outside its tolerance: wrong values from a plugin (or any operator that is not TensorRT's
    own layers) raise; TensorRT's own layers are reported (the accuracy table says how far) and ``goes_on``."""
    if check.ok:
        return
    if not tensorrt_layers:
        raise RuntimeError(f"{what} computes wrong values: {check.message}")
    log(f"{what} (TensorRT's own layers) is outside its tolerance: {check.message[:300]}; {goes_on}")



def check_profile_fits(backend: Backend, prof: Profile) -> None:
    """A ConfigError naming the profile key when the backend cannot build or run the profile's
    largest tensor (Backend.max_tensor_elements): one clear line instead of a traceback deep in the
    bindings (TensorRT 8.6 at 2^31 elements: 'ValueError: __len__() should return >= 0')."""
    limit = backend.max_tensor_elements
    if limit is None:
        return
    for key, shape in (("max", prof.max), *((f"shapes[{i}]", s) for i, s in enumerate(prof.shapes))):
        if elements(shape) > limit:
            raise ConfigError(f"config key 'profiles.{prof.name}.{key}': shape {list(shape)} has {elements(shape)} "
                              f"elements, more than the {limit} one tensor may have on the {backend.name} backend "
                              f"({backend.device_info().tensorrt_version or backend.name}); allowed: at most {limit} "
                              "elements per tensor (a smaller profile, or TensorRT >= 10)")


def build_engine(settings: Settings, backend_name: str, op: str, dtype: str, profile_name: str,
                 engine_path: Path, golden_path: Path, manifest_path: Path | None,
                 kernel_tables: dict[str, list] | None = None, accuracy_path: Path | None = None) -> dict:
    """Build and serialize one engine, then record what the building process computes with it
    and, in ``accuracy_path``, its accuracy (accuracy_rows)."""
    backend = backend_for(settings, backend_name)
    op_ref, op_spec = op, from_ref(op)
    op = op_spec.name
    reason = backend.support(op, dtype)
    if reason:
        raise RuntimeError(f"cannot build {op}/{dtype} on {backend.name}: {reason}")
    check_profile_fits(backend, settings.profile_named(profile_name))
    spec = make_spec(settings, op_ref, dtype, profile_name, kernel_tables)
    plugin_library = plugin_library_from_manifest(manifest_path, op_spec) if op_spec.uses_plugin else None
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    log(f"building {op}/{dtype}/{profile_name} on {backend.name}")
    facts = backend.build(spec, engine_path, plugin_library, builder_config(settings.builder, settings.reference.extra_work))
    record = write_build_record(engine_path, spec, facts, device=asdict(backend.device_info()),
                                plugin_source_hash=plugin_source_hash() if op_spec.uses_plugin else None,
                                plugin_library=str(plugin_library) if plugin_library else None,
                                created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    # the golden output: what this (building) process computes, for the round-trip rule. Only the
    # seed and digests are kept (a few hundred bytes, not up to 128 MiB): the loader regenerates
    # the input from the seed, and bit identity needs only the output's digest.
    engine = backend.load(engine_path, plugin_library)
    shape = golden_shape(spec, backend)
    x = ref.random_input(shape, dtype, GOLDEN_SEED, generator=generator_for(spec))
    ys = engine.infer_all(x)  # every output, checked against float64 and digested for the round trip
    check = engine.check_all(ys, x, shape)
    accuracy = accuracy_rows(backend.name, engine, op_spec, shape)
    if accuracy_path is not None:  # written first: a failing engine's accuracy is kept
        write_rows(accuracy_path, AccuracyRow, accuracy)
    outside_tolerance(check, op_spec.tensorrt_layers, f"engine {op}/{dtype}/{profile_name}",
                      "reported in the accuracy table, the timing goes on")
    tmp = golden_path.with_name(golden_path.name + ".tmp.npz")
    np.savez(tmp, seed=np.int64(GOLDEN_SEED), shape=np.asarray(shape, dtype=np.int64), dtype=np.str_(dtype),
             x_sha256=np.str_(digest(x)), y_sha256=np.str_(digest_all(ys)), pid=np.int64(os.getpid()))
    tmp.replace(golden_path)
    engine.close()
    log(f"built {engine_path.name}: {record['engine_bytes']} bytes in {facts.get('build_seconds', 0):.2f} s; {check.message}")
    return record


def accuracy_rows(backend_name: str, engine, op_spec: OperatorSpec, shape: tuple[int, ...]) -> list[AccuracyRow]:  # noqa: ANN001
    """``engine``'s outputs at ``shape`` against the float64 reference: on random inputs of its spec's
    generator (no edge values), and on the spec's edge values of the dtype, repeated over the tensor."""
    spec = engine.spec
    gen = generator_for(spec)
    n = int(np.prod(shape, dtype=np.int64))
    random_x = ref.random_input(shape, spec.dtype, GOLDEN_SEED + 1, with_edges=False, generator=gen)
    edges = ref.edge_values(tuple(gen.edges) if gen is not None else ref.DEFAULT_EDGES, spec.dtype)
    edge_x = ref.to_device_dtype(np.resize(edges, n).astype(np.float32).reshape(shape), spec.dtype)
    side = "tensorrt_layers" if op_spec.tensorrt_layers else "plugin"
    rows = []
    for inputs, x in (("random", random_x), ("edge", edge_x)):
        c = engine.check_all(engine.infer_all(x), x, shape)  # every output
        worst = "; ".join(f"x={w[0]!r} got={w[1]!r} ref={w[2]!r} ({w[3]:.3g} ulp)" for w in c.worst)
        if not c.ok:
            worst = c.message
        rows.append(AccuracyRow(backend_name, spec.operator, spec.implementation, side, spec.dtype, spec.profile,
                                shape_str(shape), inputs, n, c.max_ulp_err, c.mean_ulp_err, c.max_bound_ratio,
                                c.mismatches, bool(c.ok), numerics_for(spec).text(spec.dtype, engine.tensorrt_layers),
                                worst))
    return rows


# -- latency -------------------------------------------------------------------------------------
def latency_sweep(settings: Settings, backend_name: str, engine_path: Path, manifest_path: Path | None,
                  samples_path: Path | None = None, slot: HostWork | None = None) -> list[LatencyRow]:
    """Time every configured shape in every mode, after checking its output once. The copy
    ceiling is joined in by the aggregate rule, so recalibrating never forces a re-measurement.
    Given ``samples_path``, every state's raw samples go there too (samples.py's format). ``slot``:
    the command's GPU slot, stepped out of while inputs are drawn and outputs checked (backend_for)."""
    timing = settings.timing
    backend = backend_for(settings, backend_name, timing.l2_flush, slot)
    engine = backend.load(engine_path, plugin_library_from_manifest(manifest_path))
    rule = StoppingRule.from_config(timing)
    rule = replace(rule, max_time_s=time_budget(backend, rule.max_time_s))
    repeats = timing.repeats
    device = backend.device_info().device_name
    prof = settings.profile_named(engine.spec.profile)
    limit = backend.max_elements
    modes = [m for m in timing.modes if m in backend.modes]
    skipped_modes = [m for m in timing.modes if m not in backend.modes]
    if skipped_modes:
        log(f"modes {skipped_modes} are not available on the {backend.name} backend; skipped")
    shapes = list(prof.shapes)
    with quiet_host(timing.pin_cpu) as cpu:
        log(f"timing thread pinned to CPU {cpu}, garbage collector paused" if cpu is not None
            else "timing thread not pinned; garbage collector paused")
        raw: dict[tuple[str, str, int], np.ndarray] = {}
        rows = _latency_rows(settings, backend, engine, shapes, modes, limit, repeats, rule, device, raw)
    spec = engine.spec
    engine.close()
    if samples_path is not None:
        meta = {"operator": spec.operator, "dtype": spec.dtype, "profile": spec.profile, "backend": backend.name,
                "device_name": device, "kernel": spec.kernel_label}
        write_samples(samples_path, meta, {key: s * 1e6 for key, s in raw.items()})
        log(f"raw samples of {len(raw)} states: {samples_path} ({Path(samples_path).stat().st_size} bytes)")
    return rows


def _latency_rows(settings: Settings, backend: Backend, engine, shapes: list, modes: list[str], limit: int | None,  # noqa: ANN001
                  repeats: int, rule: StoppingRule, device: str,
                  raw: dict[tuple[str, str, int], np.ndarray] | None = None) -> list[LatencyRow]:
    """Blocked-start modes (GPU time) state by state, each repeat one window; idle-start modes
    (host enqueue included) in ``timing.idle_visits`` visits spread over the whole rule. ``raw``,
    if given, receives each row's device samples in seconds, keyed (shape, mode, repeat).

    Why visits: idle-start latency includes the host's enqueue, and the host drifts slowly: on the
    H100 of 2026-11-24 the medians of 0.25 s windows of one state ranged over 30 % within 8 s, and
    two 4-8 s runs of one state differed by up to 7 % (workflow/scripts/probes.py idle-series). A
    window of one state cannot see drift slower than itself, so its noise figure was too small.
    Round-robin visits over every idle state of the rule pool host conditions from the whole rule
    into each repeat's median, and its noise comes from the spread of its visit medians
    (measure.measure_visits, stats.summarize_visits)."""
    report = LatencyReport(backend.name, device, backend.timing_clock, engine.spec)
    # TensorRT's own layers outside their tolerance: the row says verified false (and the accuracy
    # table why), the timing goes on; a plugin's wrong output stops the rule
    plan = Plan(engine_timers(settings.timing.verify_max_elements), rule, repeats=repeats,
                limit=size_limit(settings, limit), row=report.row, line=report.line,
                raise_on_wrong=not for_engine(engine.spec).tensorrt_layers)
    idle_modes = [m for m in modes if MODE_START.get(m) == "idle"]
    blocked = [latency_state(engine, shape, mode, i, len(shapes)) for i, shape in enumerate(shapes, 1)
               for mode in modes if mode not in idle_modes]
    idle = [latency_state(engine, shape, mode, i, len(shapes)) for mode in idle_modes
            for i, shape in enumerate(shapes, 1)]
    measured = [m for st in blocked for m in measure_state(st, plan)]
    if idle:
        measured += measure_visits(idle, plan, settings.timing.idle_visits)
    if raw is not None:  # an idle state's visit after visit: the samples summarize_visits pooled, in that order
        raw.update({(shape_str(m.state.shape), m.state.mode, m.repeat): m.device for m in measured if m.row})
    return [m.row for m in measured if m.row is not None]


def latency_state(engine, shape: tuple[int, ...], mode: str, i: int, total: int) -> State:  # noqa: ANN001
    """The state of shape ``i`` of ``total`` of an engine's sweep in ``mode`` (its seed is ``i``)."""
    spec = engine.spec
    return State(spec.operator, spec.dtype, spec.profile, tuple(shape), mode, moved_bytes(spec, shape),
                 seed=i, label=f"shape {i} of {total}", source=engine)


def size_limit(settings: Settings, limit: int | None) -> SizeLimit | None:
    """A backend's size limit (Backend.max_elements) as the measuring loop takes it."""
    return None if limit is None else SizeLimit(limit, lambda n: over_limit(settings, n, limit))


# -- compare -------------------------------------------------------------------------------------
def compare_shapes(settings: Settings, profile: str) -> list[tuple[int, ...]]:
    """The profile's sweep shapes plus compare.extra_shapes of that profile, smallest first: the
    comparison's target holds at every size, so it may sample sizes the other sweeps skip."""
    prof = settings.profile_named(profile)
    extra_shapes = settings.compare.extra_shapes  # validated: a profile without extra shapes has no entry
    extra = list(extra_shapes[profile]) if profile in extra_shapes else []
    shapes = list(dict.fromkeys([*prof.shapes, *extra]))
    return sorted(shapes, key=lambda s: (elements(s), s))


def compare_sweep(settings: Settings, backend_name: str, engine_a: Path, engine_b: Path,
                  manifest_path: Path | None, slot: HostWork | None = None) -> list[CompareRow]:
    """Two engines of one dtype and profile (the plugin and the layers it replaces), each shape
    timed interleaved, a sample of one then of the other, in one process: clock, temperature and
    host drift fall on both alike, so the ratio of their medians resolves differences smaller than
    the run-to-run drift of either.

    Both engines run on one input, one output and one flush buffer (a TimingArena), so the ratio
    does not carry where each engine's buffers happen to lie. Every round also times b a second
    time: b' ÷ b is the A/A control, what the method reports for two identical things. Both
    outputs are checked before timing. ``slot``: as latency_sweep's."""
    timing, ccfg = settings.timing, settings.compare
    backend = backend_for(settings, backend_name, timing.l2_flush, slot)
    library = plugin_library_from_manifest(manifest_path)
    a = backend.load(engine_a, library)
    b = backend.load(engine_b, library)
    sa, sb = a.spec, b.spec
    if (sa.dtype, sa.profile, sa.min, sa.max) != (sb.dtype, sb.profile, sb.min, sb.max):
        raise RuntimeError(f"cannot compare {engine_a.name} with {engine_b.name}: different dtype or profile")
    mode = ccfg.mode
    if mode not in backend.modes:
        raise RuntimeError(f"compare.mode {mode!r} is not available on the {backend.name} backend "
                           f"(it has {', '.join(backend.modes)})")
    # its own noise target: the differences it must resolve (tenths of a percent) are below the
    # 1 % that is enough for a latency row
    rule = replace(StoppingRule.from_config(timing), target_rse=ccfg.target_rse,
                   max_time_s=time_budget(backend, ccfg.max_time_s))
    shapes = compare_shapes(settings, sa.profile)
    device = backend.device_info().device_name
    plan = Plan(engine_timers(timing.verify_max_elements), rule, limit=size_limit(settings, backend.max_elements))
    report = CompareReport(backend.name, device, backend.timing_clock, sa)
    rows: list[CompareRow] = []
    with quiet_host(timing.pin_cpu):
        for i, shape in enumerate(shapes, 1):
            states = [latency_state(e, shape, mode, i, len(shapes)) for e in (a, b)]
            m = measure_interleaved(states, plan, arena=backend.arena, control=True, pattern=AA_PATTERN,
                                    rows=report.rows, line=report.line)
            rows += m.rows if m is not None else []
    a.close()
    b.close()
    return rows


# -- dynamic shapes ------------------------------------------------------------------------------
def out_of_profile_shapes(prof: Profile) -> list[tuple[int, ...]]:
    """Shapes an engine must refuse: one past max, one below min, the wrong rank."""
    shapes = [tuple(d + 1 if axis == 0 else d for axis, d in enumerate(prof.max))]
    if prof.min[0] > 0:
        shapes.append(tuple(d - 1 if axis == 0 else d for axis, d in enumerate(prof.min)))
    shapes.append(tuple(prof.opt) + (1,))
    return shapes


def dynamic_shapes(prof: Profile) -> list[tuple[int, ...]]:
    """min, opt, max, the configured shapes and an odd shape, each once, small to large."""
    odd = tuple(max(lo, min(hi, o + 3)) for lo, o, hi in zip(prof.min, prof.opt, prof.max))
    unique = dict.fromkeys([prof.min, prof.opt, prof.max, odd, *prof.shapes])
    return sorted(unique, key=lambda s: (elements(s), s))


def dynamic_sweep(settings: Settings, backend_name: str, engine_path: Path, manifest_path: Path | None,
                  slot: HostWork | None = None) -> list[DynamicRow]:
    """One engine, every shape in its profile: output shape and values checked, then timed briefly;
    shapes outside the profile must be refused with a clear error. ``slot``: as latency_sweep's."""
    backend = backend_for(settings, backend_name, slot=slot)
    engine = backend.load(engine_path, plugin_library_from_manifest(manifest_path))
    spec = engine.spec
    prof = settings.profile_named(spec.profile)
    check_profile_fits(backend, prof)
    brief = StoppingRule(target_rse=0.02, min_samples=10, max_samples=200, max_time_s=0.05, warmup_min=3)

    def base(shape: tuple[int, ...]) -> dict:
        return dict(backend=backend.name, operator=spec.operator, dtype=spec.dtype, profile=spec.profile,
                    shape=shape_str(shape), elements=elements(shape), in_profile=True)

    # TensorRT's own layers outside their tolerance (a twin that flushes): verified false, the
    # accuracy table says why, the shape is not a failure of the sweep; a plugin's wrong output is
    layers_reported = for_engine(spec).tensorrt_layers

    def row(m: Measurement) -> DynamicRow:
        if m.summary is None:
            return DynamicRow(**base(m.state.shape), status="skipped", output_shape="", verified=False,
                              median_us=float("nan"), message=m.skipped)
        return DynamicRow(**base(m.state.shape), status="ok" if m.check.ok or layers_reported else "failed",
                          output_shape=shape_str(m.state.shape), verified=m.check.ok,
                          median_us=m.summary.median * 1e6, message=m.check.message)

    plan = Plan(engine_timers(settings.timing.verify_max_elements), brief,
                limit=size_limit(settings, backend.max_elements), raise_on_wrong=False, row=row)
    rows: list[DynamicRow] = []
    shapes = dynamic_shapes(prof)
    for i, shape in enumerate(shapes, 1):
        state = State(spec.operator, spec.dtype, spec.profile, shape, "warm", moved_bytes(spec, shape),
                      seed=100 + i, label=f"shape {i} of {len(shapes)}", source=engine)
        try:
            rows += [m.row for m in measure_state(state, plan)]
        except Exception as exc:  # a failing shape is a result to report, not a reason to stop
            rows.append(DynamicRow(**base(shape), status="failed", output_shape="", verified=False,
                                   median_us=float("nan"), message=f"{type(exc).__name__}: {exc}"))
        log(f"shape {i} of {len(shapes)}: {shape_str(shape)} -> {rows[-1].status}")
    limit = backend.max_tensor_elements
    for shape in out_of_profile_shapes(prof):
        if limit is not None and elements(shape) > limit:  # the backend cannot address it at all
            status, message = "skipped", (f"{elements(shape)} elements > {limit}, what one tensor may have on the "
                                          f"{backend.name} backend (profile key 'profiles.{prof.name}.max'): "
                                          "its refusal is not tested")
        else:
            # a zero-copy view of the right shape: the engine must refuse it before touching the data
            x = np.broadcast_to(ref.random_input((1,), spec.dtype, seed=7, generator=generator_for(spec)), shape)
            try:
                engine.infer(x)
                status, message = "failed", "an out-of-profile shape was accepted"
            except ShapeOutOfProfileError as exc:
                status, message = "rejected", str(exc)
            except Exception as exc:  # noqa: BLE001 - a crash of the refusal is a result, not a traceback
                status, message = "failed", (f"{type(exc).__name__}: {exc} (profile key 'profiles.{prof.name}.max', "
                                             f"shape {shape_str(shape)})")
        rows.append(DynamicRow(backend=backend.name, operator=spec.operator, dtype=spec.dtype, profile=spec.profile,
                               shape=shape_str(shape), elements=elements(shape), in_profile=False, status=status,
                               output_shape="", verified=False, median_us=float("nan"), message=message))
        log(f"out-of-profile shape {shape_str(shape)} -> {status}: {message}")
    engine.close()
    failed = [r for r in rows if r.status == "failed"]
    if failed:
        raise RuntimeError("dynamic-shape sweep failed: " + "; ".join(f"{r.shape}: {r.message}" for r in failed))
    return rows


# -- round trip ----------------------------------------------------------------------------------
def roundtrip_child(backend_name: str, engine_path: Path, golden_path: Path, manifest_path: Path | None) -> dict:
    """Runs in a fresh process: load the serialized engine, regenerate the golden input from its
    seed and compare the output's digest with the building process's. ``differing_bytes`` is 0 or,
    as only digests are kept, -1 (unknown how many)."""
    backend = get_backend(backend_name)
    t0 = time.perf_counter()
    engine = backend.load(engine_path, plugin_library_from_manifest(manifest_path))
    deserialize_ms = (time.perf_counter() - t0) * 1e3
    with np.load(golden_path) as golden:
        g = {k: golden[k] for k in golden.files}
    if "y" in g:  # a golden file of full arrays, from before digests
        x, shape, expected = g["x"], tuple(g["x"].shape), digest(g["y"])
    else:
        shape, expected = tuple(int(d) for d in g["shape"]), str(g["y_sha256"])
        # the operator's own value generator, as build_engine drew it (the spec's edges and distribution)
        x = ref.random_input(shape, str(g["dtype"]), int(g["seed"]), generator=generator_for(engine.spec))
        if digest(x) != str(g["x_sha256"]):
            raise RuntimeError(f"the loader regenerated a different input from seed {int(g['seed'])} than the "
                               "building process: are both running the same numpy?")
    ys = engine.infer_all(x)  # every output, digested as the building process did (digest_all)
    actual = digest_all(ys)
    engine.close()
    same = tuple(ys[0].shape) == shape and actual == expected
    return {"loader_pid": os.getpid(), "builder_pid": int(g["pid"]), "bit_identical": same,
            "differing_bytes": 0 if same else -1, "deserialize_ms": deserialize_ms,
            "sha256": actual, "golden_sha256": expected, "shape": list(shape)}


def roundtrip(backend_name: str, engine_path: Path, golden_path: Path,
              manifest_path: Path | None) -> list[RoundtripRow]:
    """Deserialize the engine in a separate process; its outputs must equal the builder's bit for bit."""
    cmd = [sys.executable, str(TPB_SCRIPT), "roundtrip-child", "--backend", backend_name,
           "--engine", str(engine_path), "--golden", str(golden_path)]
    if manifest_path is not None:
        cmd += ["--manifest", str(manifest_path)]
    log("starting loader process: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        # the child ends with one `tpb roundtrip-child: error: <reason>` line: pass that reason on
        reasons = re.findall(r"^tpb roundtrip-child: error: (.*)$", proc.stderr, re.M)
        why = reasons[-1] if reasons else proc.stderr.strip()[-2000:]
        raise RuntimeError(f"round-trip loader process exited with {proc.returncode}: {why}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    record = json.loads(build_record_path(engine_path).read_text())
    spec = EngineSpec.from_json(record["spec"])
    if result["loader_pid"] == result["builder_pid"] or result["loader_pid"] == os.getpid():
        raise RuntimeError("the round trip did not run in a separate process")
    row = RoundtripRow(
        backend=record["device"]["backend"], operator=spec.operator, dtype=spec.dtype, profile=spec.profile,
        shape=shape_str(tuple(result.get("shape", spec.opt))), engine_bytes=record["engine_bytes"], engine_sha256=record["engine_sha256"],
        builder_pid=result["builder_pid"], loader_pid=result["loader_pid"], bit_identical=result["bit_identical"],
        differing_elements=result["differing_bytes"], deserialize_ms=result["deserialize_ms"],
        message="outputs bit-identical to the building process" if result["bit_identical"]
        else (f"outputs differ from the building process (sha256 {result.get('sha256', '?')[:16]}…, the builder's "
              f"{result.get('golden_sha256', '?')[:16]}…)"),
    )
    log(row.message)
    if not row.bit_identical:
        raise RuntimeError(f"round trip of {engine_path.name}: {row.message}")
    return [row]


# -- threads -------------------------------------------------------------------------------------
# A native run shorter than threads.native_min_wall_s is run again with its enqueues scaled to last
# that long, with this margin for the rerun's own jitter; at most MAX_NATIVE_SCALE times as many.
NATIVE_RERUN_MARGIN = 1.25
MAX_NATIVE_SCALE = 20


def runner_from_manifest(manifest_path: Path | None) -> Path | None:
    """The native runner the compile rule built (its manifest's "trt_runner"), or None."""
    if manifest_path is None:
        return None
    runner = json.loads(Path(manifest_path).read_text()).get("trt_runner")
    return Path(runner) if runner else None


def check_profile_count(counts: list[int], profile_count: int, engine_name: str) -> None:
    """Every thread runs its own context on its own optimization profile (TensorRT 8.6 allows one
    live context per profile): threads.counts may not exceed the engine's profiles."""
    if max(counts) > profile_count:
        raise ValueError(
            f"threads.counts goes up to {max(counts)} threads, but engine {engine_name} has {profile_count} "
            f"optimization profile{'s' * (profile_count != 1)}: each thread needs its own (TensorRT 8.6 runs one "
            "execution context per profile at a time). The build_engine rule gives threads.profile's engines "
            "max(threads.counts) profiles (builder.profiles_per_engine): rebuild this engine "
            "(snakemake -R build_engine) or lower threads.counts")


def _engine_profile_count(engine: object) -> int | None:
    """The optimization profiles of a TensorRT engine (TrtEngine.engine); None where the backend has none."""
    return getattr(getattr(engine, "engine", None), "num_optimization_profiles", None)


NATIVE_INPUT_SEED = 1000  # input 0's draw: thread_sweep's first input, which the native runner binds too

Layout = list[tuple[str, tuple[int, ...], str]]  # (binding name, shape, dtype) per tensor, in binding order


def native_inputs(spec: EngineSpec, shape: tuple[int, ...]) -> tuple[Layout, list[np.ndarray], Layout]:
    """(inputs' layout, their values, outputs' layout) of ``spec``'s engine when input 0 has ``shape``:
    input 0 drawn with the spec's generator (seed NATIVE_INPUT_SEED, as thread_sweep's first input),
    the others the spec's values (specs.aux_arrays: their generators, edge values paired across inputs),
    each in its binding's dtype: what the native runner binds (--input-file)."""
    op = for_engine(spec)
    shape = tuple(int(d) for d in shape)
    names = [ENGINE_INPUT0, *(t.name for t in op.inputs[1:])]
    inputs = [(n, tuple(s), t.dtype_for(spec.dtype)) for n, s, t in zip(names, op.input_shapes(shape), op.inputs)]
    x = ref.random_input(shape, spec.dtype, seed=NATIVE_INPUT_SEED, generator=generator_for(spec))
    others = [np.ascontiguousarray(a) for a, _ in aux_arrays(op, shape, spec.dtype)[: len(op.inputs) - 1]]
    out_shapes = op.output_shapes(shape, field_values(op, spec.beta))
    outputs = [(n, tuple(s), spec.dtype) for n, s in zip([ENGINE_OUTPUT0, *op.outputs[1:]], out_shapes)]
    return inputs, [x, *others], outputs


def reference_check(spec: EngineSpec, outs: list[np.ndarray], x: np.ndarray) -> ref.CheckResult:
    """Every output of one inference of input 0 ``x`` against the spec's float64 reference, each held to
    the spec's tolerance of the engine's side (TensorRT's layers or the plugin) and its shape rule."""
    op = for_engine(spec)
    shapes = op.output_shapes(tuple(x.shape), field_values(op, spec.beta))
    num = numerics_for(spec)
    return combine_checks([ref.check_output(y, x, num, spec.dtype, spec.beta, tuple(s),
                                            tensorrt_layers=op.tensorrt_layers, output=j)
                           for j, (y, s) in enumerate(zip(outs, shapes))])


def native_thread_sweep(settings: Settings, spec: EngineSpec, engine_path: Path, runner: Path, plugins: list[Path],
                        profile_count: int, backend_name: str = "tensorrt", bare: bool = False) -> list[ThreadRow]:
    """The native runner at every threads.counts: plain enqueues, CUDA-graph replays of one enqueue,
    and replays of a graph of threads.native_graph_batch enqueues (the host's launch cost paid once
    per batch: what is left is the GPU's). Each thread its own context on its own profile (the engine
    has ``profile_count``), device-resident buffers. A run whose threads' outputs are not
    bit-identical (or that reports an error) fails the rule, naming the engine, thread count and mode.

    ``bare``: right after each run, the same run with --bare-kernel (driver "bare" rows): the
    launch-rate probe's kernel reading the engine's input bytes and writing its output bytes at the
    same thread count, way, enqueues and timing, in the same job, so the two share the GPU's state.
    A bare run that cannot be made (a runner without --bare-kernel: not tried again) or that reports
    errors or differing outputs gets a "not measured: <reason>" row, and the sweep goes on.

    Values: every run binds the spec's values (native_inputs, written once: --input-file) and writes
    its single-context run's outputs back (--dump-output): the first run's are checked against the
    spec's float64 reference with the spec's tolerances (reference_check: a plugin outside them fails
    the rule; TensorRT's own layers are reported and the sweep goes on), every later run's must equal
    them bit for bit (the same engine, the same inputs). The runner checks each run's threads against
    its single-context run."""
    tcfg = settings.threads
    check_profile_count(list(tcfg.counts), profile_count, Path(engine_path).name)
    shape = tcfg.shape
    every = tcfg.native_time_every
    op_spec = for_engine(spec)
    # the other inputs' shapes from the spec's rules (input 0 is threads.shape): the runner binds them all by name
    others = list(zip((t.name for t in op_spec.inputs[1:]), op_spec.input_shapes(tuple(shape))[1:]))
    rows: list[ThreadRow] = []
    wrong: list[str] = []
    in_layout, values, out_layout = native_inputs(spec, tuple(shape))
    with tempfile.TemporaryDirectory(prefix="tpb-runner-") as scratch:
        in_files = write_tensor_files(Path(scratch), in_layout, values)
        dumps = dump_files(Path(scratch), out_layout)
        first: list[np.ndarray] = []  # the first run's outputs, checked against the float64 reference

        def checked(result: NativeRunResult, where: str) -> None:
            """The run's dumped outputs: the first against the reference, the others equal to it."""
            try:
                outs = [read_tensor_file(f) for f in dumps]
            except NativeRunnerError as exc:
                wrong.append(f"{where}: {exc}")
                return
            if not first:
                first.extend(outs)
                outside_tolerance(reference_check(spec, outs, values[0]), op_spec.tensorrt_layers,
                                  f"the native runner's output of {Path(engine_path).name} (the spec's inputs)",
                                  "the threads are compared with it bit for bit")
            elif not all(np.array_equal(a.view(np.uint8), b.view(np.uint8)) for a, b in zip(outs, first)):
                wrong.append(f"{where}: the single-context output differs from the first run's (the same engine "
                             "and inputs)")

        def once(count: int, graph: bool, graph_batch: int, iterations: int, bare_kernel: bool = False) -> NativeRunResult:
            result = run_native(runner, engine_path, plugins, count, iterations, shape, graph=graph,
                                profile_per_thread=True, time_every=every, graph_batch=graph_batch,
                                input_shapes=others, bare_kernel=bare_kernel, input_files=in_files,
                                dump_outputs=() if bare_kernel else dumps)
            where = f"{Path(engine_path).name} at {count} threads ({native_way_label(native_way(graph, graph_batch))})"
            if not result.ok and not bare_kernel:  # the bare kernel's own failures are its rows' reasons, below
                wrong.append(f"{where}: outputs_identical={str(result.outputs_identical).lower()}"
                             + (f", errors: {'; '.join(result.errors)}" if result.errors else ""))
            elif not bare_kernel:
                checked(result, where)
            return result

        _native_runs(settings, spec, rows, once, bare, backend_name, shape)
    if wrong:
        raise RuntimeError("the native runner found wrong outputs: " + " | ".join(wrong))
    return rows


def _native_runs(settings: Settings, spec: EngineSpec, rows: list[ThreadRow],
                 once: Callable[..., NativeRunResult], bare: bool, backend_name: str, shape: tuple[int, ...]) -> None:
    """native_thread_sweep's runs (``once`` makes one), each way and count, its rows appended to ``rows``."""
    tcfg = settings.threads
    base, min_wall = tcfg.native_iterations, tcfg.native_min_wall_s
    batch = tcfg.native_graph_batch

    def timed(count: int, graph: bool, graph_batch: int, bare_kernel: bool = False) -> NativeRunResult:
        result = once(count, graph, graph_batch, base, bare_kernel)
        if result.ok and result.wall_s < min_wall:  # too short to mean much: once more, longer
            scale = min(MAX_NATIVE_SCALE, min_wall / max(result.wall_s, 1e-9) * NATIVE_RERUN_MARGIN)
            result = once(count, graph, graph_batch, math.ceil(base * scale), bare_kernel)
        return result

    bare_reason = ""  # set once a bare run could not be made: the rest are not tried
    for graph, graph_batch in ((False, 1), (True, 1), *(((True, batch),) if batch > 1 else ())):
        mode = native_way_label(native_way(graph, graph_batch))
        for count in sorted(tcfg.counts):
            result = timed(count, graph, graph_batch)
            rows.append(thread_row(result, backend_name, spec.operator, spec.dtype, spec.profile))
            log(f"native {mode}, {count} threads: {result.threads * result.iterations} enqueues in "
                f"{result.wall_s:.3f} s, {result.inferences_per_second:.0f} inferences/s, GPU busy "
                f"{result.gpu_busy_fraction:.3f}, outputs {'identical' if result.ok else 'WRONG'}")
            if not bare:
                continue
            if not bare_reason:
                try:
                    b = timed(count, graph, graph_batch, bare_kernel=True)
                except NativeRunnerError as exc:  # e.g. a runner built before --bare-kernel: exit 2, usage
                    bare_reason = f"trt_runner --bare-kernel could not run ({exc})"[:600]
                    log(f"bare kernel not measured from here on: {bare_reason}")
                else:
                    if b.ok:
                        rows.append(thread_row(b, backend_name, spec.operator, spec.dtype, spec.profile))
                        log(f"bare kernel ({b.bytes_in} B in, {b.bytes_out} B out), {mode}, {count} threads: "
                            f"{b.inferences_per_second:.0f} launches/s ({b.inferences_per_second / max(result.inferences_per_second, 1e-9):.3f} "
                            "x the engine's inferences/s), outputs identical")
                        continue
                    # a bare run that failed is no fault of the engine: this row says why, the sweep goes on
                    failed = (f"trt_runner --bare-kernel reported outputs_identical={str(b.outputs_identical).lower()}"
                              + (f", errors: {'; '.join(b.errors)}" if b.errors else ""))[:600]
                    log(f"bare kernel not measured at {count} threads, {mode}: {failed}")
                    rows.append(bare_not_measured(backend_name, spec.operator, spec.dtype, spec.profile, shape, count,
                                                  graph, graph_batch, failed))
                    continue
            rows.append(bare_not_measured(backend_name, spec.operator, spec.dtype, spec.profile, shape, count, graph,
                                          graph_batch, bare_reason))


def thread_sweep(settings: Settings, backend_name: str, engine_path: Path, manifest_path: Path | None) -> list[ThreadRow]:
    """1..N threads on one engine, each with its own execution context and stream; every output
    compared bit for bit with the single-threaded output for that input (itself checked against
    float64), so a race anywhere shows up as a failure. These are the "python" driver's rows
    (Python serving: host copies in every inference). On the TensorRT backend the native runner
    (trt_runner, from the compile rule's manifest) then adds the "native" rows: native_thread_sweep."""
    backend = backend_for(settings, backend_name)
    runner = runner_from_manifest(manifest_path) if backend.name == "tensorrt" else None
    if backend.name == "tensorrt" and runner is None:
        raise RuntimeError(f"the tensorrt backend's thread sweep drives the native runner, but the compile rule's "
                           f"manifest ({manifest_path}) names no trt_runner: CMake builds it only where it finds "
                           "libnvinfer (see results/logs/compile_plugin.cmake.log)")
    engine = backend.load(engine_path, plugin_library_from_manifest(manifest_path))
    spec = engine.spec
    tcfg = settings.threads
    shape = tcfg.shape  # threads.shape, or its profile's opt shape (resolved by Settings.from_config)
    spec.check_shape(shape)
    profile_count = _engine_profile_count(engine)
    if profile_count is not None:
        check_profile_count(list(tcfg.counts), profile_count, Path(engine_path).name)
    iterations = tcfg.iterations
    if backend.max_thread_iterations is not None:  # the CPU reference backend's quick default
        iterations = min(iterations, backend.max_thread_iterations)
    inputs = [ref.random_input(shape, spec.dtype, seed=1000 + k, generator=generator_for(spec)) for k in range(4)]
    expected = []
    with engine.worker() as w:
        for x in inputs:
            ys = w.infer_all(x)  # every output
            check = engine.check_all(ys, x, shape)
            outside_tolerance(check, for_engine(spec).tensorrt_layers, "the single-threaded output",
                              "the threads are compared with it bit for bit")
            expected.append(ys)
    rows: list[ThreadRow] = []
    counts = sorted(tcfg.counts)
    for i, count in enumerate(counts, 1):
        failures = [0] * count
        latencies: list[list[float]] = [[] for _ in range(count)]
        errors: list[str] = []
        barrier = threading.Barrier(count)

        def work(t: int) -> None:
            try:
                with engine.worker() as w:
                    barrier.wait()
                    for it in range(iterations):
                        k = (t + it) % len(inputs)
                        t0 = time.perf_counter()
                        ys = w.infer_all(inputs[k])
                        latencies[t].append(time.perf_counter() - t0)
                        if not all(np.array_equal(y.view(np.uint8), e.view(np.uint8)) for y, e in zip(ys, expected[k])):
                            failures[t] += 1
            except Exception as exc:
                errors.append(f"thread {t}: {type(exc).__name__}: {exc}")
                failures[t] += iterations - len(latencies[t])
                barrier.abort()

        threads = [threading.Thread(target=work, args=(t,)) for t in range(count)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        total = count * iterations
        all_lat = [v for lst in latencies for v in lst]
        rows.append(ThreadRow(  # driver "python": Python serving, host copies included
            backend=backend.name, operator=spec.operator, dtype=spec.dtype, profile=spec.profile,
            shape=shape_str(shape), threads=count, iterations_per_thread=iterations, inferences=total,
            failures=sum(failures), wall_s=wall, throughput_per_s=total / wall,
            median_latency_us=float(np.median(all_lat)) * 1e6 if all_lat else float("nan"),
            all_verified=sum(failures) == 0 and not errors, message="; ".join(errors) or "all outputs verified",
            driver="python", p99_latency_us=float(np.percentile(all_lat, 99)) * 1e6 if all_lat else float("nan"),
        ))
        log(f"threads {count} ({i} of {len(counts)}): {total} inferences, {sum(failures)} failures, "
            f"{total / wall:.0f} inferences/s")
    engine.close()
    bad = [r for r in rows if not r.all_verified]
    if bad:
        raise RuntimeError("thread sweep found wrong outputs: " + "; ".join(f"{r.threads} threads: {r.failures} failures, {r.message}" for r in bad))
    if runner is None or profile_count is None:
        log("no native runner rows: trt_runner needs the tensorrt backend (these are the Python loop's rows)")
        return rows
    op_spec = for_engine(spec)
    plugin = plugin_library_from_manifest(manifest_path, op_spec) if op_spec.uses_plugin else None
    return rows + native_thread_sweep(settings, spec, Path(engine_path), runner, [plugin] if plugin else [],
                                      profile_count, backend.name, bare=True)
