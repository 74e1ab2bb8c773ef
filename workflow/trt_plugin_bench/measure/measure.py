"""The one measuring loop: skip -> timer -> verify -> warm up -> GPU state -> sample -> summarise -> row.

nvbench's split, kept small. A sweep *declares* what it measures (``State``: operator, dtype,
profile, shape, mode, bytes) and how (``Plan``: the timer source, the stopping rule, repeats, the
size limit, the row and log line to make of a measurement); this module *measures*, and nothing
else in the package warms up, reads the GPU's state or samples a timer:

- ``measure_state``: one state alone, each repeat one window (or, with ``visits``, one visit of
  several spread over a sweep: ``measure_visits``);
- ``measure_interleaved``: several states sampled in alternation on one arena (shared buffers),
  optionally with an A/A control (the last state sampled a second time).

Turning a measurement into a table row and a log line is the third part (rows.py, and the caller's
own row functions): the measurement itself never knows which table it lands in. Any object with
base.Timer's ``sample``/``verify``/``start`` is a timer here: an engine's, the CPU reference
backend's, or the direct-kernel path's (cuda_direct.KernelTimer).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..backends.base import CheckResult
from ..core.operators import for_engine
from ..core.records import shape_str
from ..core.stats import (
    StoppingRule,
    TimingSummary,
    sample_interleaved,
    sample_until_stable,
    summarize,
    summarize_visits,
    warm_up,
)
from ..device.gpu_state import GpuState, read_state


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass(frozen=True)
class State:
    """One measured state, as the benchmark declares it. ``bytes_moved`` is what the roofline's
    bandwidth divides by; ``seed`` picks the input; ``kernel`` names a direct-path kernel (or is
    empty); ``label`` says where the state stands in its sweep, for the log ("shape 2 of 5")."""

    operator: str
    dtype: str
    profile: str
    shape: tuple[int, ...]
    mode: str
    bytes_moved: int
    seed: int = 0
    kernel: str = ""
    label: str = ""
    # what is timed: the engine (base.Engine) whose timer engine_timers opens, or None where the
    # plan's timer source knows (the direct-kernel path)
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def check_key(self) -> tuple:
        """What one output check covers: the state in every mode (same engine, input and kernels)."""
        return (id(self.source), self.operator, self.kernel, self.dtype, self.profile, self.shape, self.seed)

    def describe(self) -> str:
        what = f"kernel {self.kernel}/{self.dtype}" if self.kernel else f"{self.operator}/{self.dtype}"
        return f"{what} shape {shape_str(self.shape)}"


@dataclass(frozen=True)
class SizeLimit:
    """States of more than ``max_elements`` are left out; ``why(elements)`` says why and how to run them."""

    max_elements: int
    why: Callable[[int], str]

    def reason(self, state: State) -> str:
        n = state.elements
        return self.why(n) if n > self.max_elements else ""


@dataclass
class Measurement:
    """One repeat of one state: its summary (None when skipped), the samples in the order they
    were taken (seconds), the output check and the GPU state before and after sampling."""

    state: State
    repeat: int
    summary: TimingSummary | None
    device: np.ndarray
    host: np.ndarray
    check: CheckResult | None
    before: GpuState
    after: GpuState
    start: str
    skipped: str = ""
    row: Any = None


OpenTimer = Callable[[State, Any], AbstractContextManager]
"""Opens a timer (base.Timer) for a state; the second argument is the arena to share, or None."""


def engine_timers(verify_max_elements: int) -> OpenTimer:
    """Timers of engines: each state's own (``State.source``), on the arena given."""

    def open_timer(state: State, arena: Any) -> AbstractContextManager:
        shared = {} if arena is None else {"arena": arena}
        return state.source.timer(state.shape, state.mode, seed=state.seed, verify_max_elements=verify_max_elements,
                                  **shared)

    return open_timer


@dataclass
class Plan:
    """How one sweep measures its states: the timer source, the stopping rule, the repeats of
    each state, the size limit, whether a wrong output stops the sweep (else it is the
    measurement's check to report), and what becomes of a measurement (``row``, ``line``)."""

    open_timer: OpenTimer
    rule: StoppingRule
    repeats: int = 1
    limit: SizeLimit | None = None
    raise_on_wrong: bool = True
    row: Callable[[Measurement], Any] | None = None
    line: Callable[[Measurement], str] | None = None
    checks: dict[tuple, CheckResult] = field(default_factory=dict)
    skipped: dict[tuple, str] = field(default_factory=dict)
    # (state, repeat) -> what its visits gathered so far (measure_visits)
    tally: dict[tuple, _Tally] = field(default_factory=dict)


@dataclass
class _Tally:
    device: list[np.ndarray] = field(default_factory=list)
    host: list[np.ndarray] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    before: GpuState | None = None
    after: GpuState | None = None
    start: str = ""


def _skip(state: State, plan: Plan) -> str:
    """Why ``state`` is left out ('' if it is measured), logged once per state in every mode."""
    why = plan.limit.reason(state) if plan.limit is not None else ""
    if why and state.check_key not in plan.skipped:
        plan.skipped[state.check_key] = why
        log(f"{state.label + ': ' if state.label else ''}{shape_str(state.shape)} skipped ({why})")
    return why


def reported_only(state: State) -> bool:
    """A wrong output that is reported, not raised: TensorRT's own layers (a native operator, the
    twin) outside their tolerance go to the accuracy table and the timing goes on."""
    spec = getattr(state.source, "spec", None)
    return spec is not None and for_engine(spec).tensorrt_layers


def _verify(timer: Any, state: State, plan: Plan) -> CheckResult:
    """The output check of ``state``, on its first timer: same engine, input and kernels in every mode."""
    key = state.check_key
    if key not in plan.checks:
        check = timer.verify()
        if not check.ok and plan.raise_on_wrong and not reported_only(state):
            raise RuntimeError(f"{state.describe()}: wrong output: {check.message}")
        plan.checks[key] = check
    return plan.checks[key]


def _finish(m: Measurement, plan: Plan) -> Measurement:
    if plan.row is not None:
        m.row = plan.row(m)
    if plan.line is not None and m.summary is not None:
        log(plan.line(m))
    return m


def measure_state(state: State, plan: Plan, visits: int = 1, visit: int = 0) -> list[Measurement]:
    """Measure ``state`` ``plan.repeats`` times: open its timer, check its output (once per state
    in every mode), warm up, then per repeat read the GPU state, sample until the rule stops and
    read it again; summarise and make each repeat's row. A skipped state gives one Measurement
    with ``skipped`` set (its row, if the plan makes one for it, says why).

    With ``visits`` > 1 this is visit ``visit`` of that many (measure_visits): each visit samples
    every repeat for 1/visits of the rule, the repeats taking turns first (forward on even visits,
    backward on odd ones); the GPU state is read before a repeat's first visit and after its last,
    and the measurements come back after the last visit, summarised over all of them
    (stats.summarize_visits). With one visit, every repeat is a window of its own, warmed up first."""
    why = _skip(state, plan)
    if why:
        if visit != visits - 1:
            return []
        empty = np.empty(0)
        return [_finish(Measurement(state, 0, None, empty, empty, None, GpuState(), GpuState(), "", why), plan)]
    rule = plan.rule if visits == 1 else replace(plan.rule, max_samples=max(plan.rule.max_samples // visits,
                                                                            plan.rule.min_samples),
                                                 max_time_s=plan.rule.max_time_s / visits)
    order = range(plan.repeats) if visit % 2 == 0 else reversed(range(plan.repeats))
    with plan.open_timer(state, None) as timer:
        check = _verify(timer, state, plan)
        for k, r in enumerate(order):
            if k == 0 or visits == 1:  # a visit's repeats follow each other; a window is warmed up alone
                warm_up(timer.sample, rule)
            tally = plan.tally.setdefault((state, r), _Tally())
            if tally.before is None:
                tally.before = read_state()
            dev, host, reason = sample_until_stable(timer.sample, rule)
            tally.device.append(dev)
            tally.host.append(host)
            tally.reasons.append(reason)
            tally.start = timer.start
            if visit == visits - 1:
                tally.after = read_state()
    if visit != visits - 1:
        return []
    out = []
    for r in range(plan.repeats):
        tally = plan.tally.pop((state, r))
        if visits == 1:
            summary = summarize(tally.device[0], tally.reasons[0])
        else:
            common = max(set(tally.reasons), key=tally.reasons.count)
            summary = summarize_visits(tally.device, f"{visits} visits ({common})")
        out.append(_finish(Measurement(state, r, summary, np.concatenate(tally.device).astype(np.float64),
                                       np.concatenate(tally.host), check, tally.before, tally.after, tally.start),
                           plan))
    return out


def measure_visits(states: Sequence[State], plan: Plan, visits: int) -> list[Measurement]:
    """``states`` in ``visits`` round-robin visits (measure_state's visits): each state's samples
    pool host conditions from the whole sweep, and its noise comes from the spread of its visit
    medians. The measurements come back in the order of ``states``."""
    done: dict[int, list[Measurement]] = {}
    for v in range(visits):
        for i, state in enumerate(states):
            done.setdefault(i, []).extend(measure_state(state, plan, visits, v))
        log(f"visit {v + 1} of {visits} done ({len(states)} states)")
    return [m for i in range(len(states)) for m in done[i]]


@dataclass
class Interleaved:
    """States timed interleaved (measure_interleaved): per state its samples and summary, then,
    with a control, the A/A control's (the last state sampled again); the output checks, the
    stopping reason, the GPU state before and after, and the rows made of it."""

    states: list[State]
    samples: list[np.ndarray]
    summaries: list[TimingSummary]
    checks: list[CheckResult]
    reason: str
    before: GpuState
    after: GpuState
    start: str
    control: bool = False
    rows: list = field(default_factory=list)

    @property
    def control_summary(self) -> TimingSummary | None:
        return self.summaries[-1] if self.control else None


def measure_interleaved(states: Sequence[State], plan: Plan, *, arena: Callable[[], AbstractContextManager] | None = None,
                        control: bool = False, pattern: tuple[int, ...] | None = None,
                        rows: Callable[[Interleaved], list] | None = None,
                        line: Callable[[Interleaved], str] | None = None) -> Interleaved | None:
    """``states`` sampled in alternation until every median is known to ``plan.rule`` (or its
    budget ends): open each state's timer on one arena (``arena()``: shared input, output and
    flush buffer; None: each timer on buffers of its own), check every output, warm each up, read
    the GPU state, sample (``pattern``, indices into the samplers, or stats' counterbalanced order;
    with ``control`` the last state is sampled a second time, its A/A control), read the GPU state
    again, summarise and make the rows. None if the first state is over ``plan.limit`` (logged).
    Timers of different start kinds (blocked, idle) are refused: their ratio would mean nothing."""
    if _skip(states[0], plan):
        return None
    with ExitStack() as stack:
        shared = stack.enter_context(arena()) if arena is not None else None
        timers = [stack.enter_context(plan.open_timer(s, shared)) for s in states]
        checks = []
        for state, timer in zip(states, timers):
            check = timer.verify()
            if not check.ok and plan.raise_on_wrong and not reported_only(state):
                raise RuntimeError(f"{state.describe()}: wrong output: {check.message}")
            checks.append(check)
        starts = {t.start for t in timers}
        if len(starts) > 1:
            raise RuntimeError(" and ".join(f"{s.operator} was timed with a {t.start} start" for s, t in zip(states, timers))
                               + ": their ratio would mean nothing")
        for timer in timers:
            warm_up(timer.sample, plan.rule)
        samplers = [t.sample for t in timers] + ([timers[-1].sample] if control else [])
        before = read_state()
        series, reason = sample_interleaved(samplers, plan.rule, pattern=pattern)
        after = read_state()
        start = timers[0].start
    samples = [np.asarray(s, dtype=np.float64) for s in series]
    m = Interleaved(list(states), samples, [summarize(s, reason) for s in samples], checks, reason, before, after,
                    start, control)
    if rows is not None:
        m.rows = rows(m)
    if line is not None:
        log(line(m))
    return m


__all__ = ["Interleaved", "Measurement", "OpenTimer", "Plan", "SizeLimit", "State", "engine_timers", "log",
           "measure_interleaved",
           "measure_state", "measure_visits"]
