"""The CPU reference backend's second look: plugin states that separate runs leave undecided,
re-timed with the baseline's and the candidate's settings interleaved in ONE process (issue 28).

Separate CPU runs cannot separate a change from the machine's own speed moving between runs: on a
shared 2-core VM (2026-12-06, ``--cores 1``) a whole state ran 2x slower in one run, so 5 of 72 planted
4x states stayed AMBIGUOUS at 1.9-2.2x and two A/A states were FAST at 0.51x (docs/verdict.md). The
TensorRT backend answers that with ``verdict --rebuild`` (rebuild.py: both libraries in one process,
interleaved). The reference backend has no library to rebuild, but its "plugin" is this checkout's
reference modules (provenance.REFERENCE_ENGINE_SOURCES) run 1 + ``reference.extra_work`` times, so a
baseline that differs only in ``extra_work`` is reproducible here exactly:

1. **Reproducible?** (reproducible): both runs are CPU runs in the MLflow store (the pipeline's
   parent runs: the store's baseline, or a folder's ``mlflow/logged.json``) of one setup
   (``tpb.setup_hash``: the config without ``reference.extra_work``), and each run's
   ``tpb.plugin_hash`` is what this checkout's reference modules give with that run's
   ``reference.extra_work`` param (provenance.plugin_hash); where the runs name git commits, ``ops/``
   (the operators' reference and CPU modules) is the same at both and here. Anything else (other
   reference sources, a folder without a run, a TensorRT run) is not re-timed, and the verdict says why.
2. **Which states** (to_retime): plugin states (implementation plugin*) that are AMBIGUOUS, and
   those FAST or SLOW whose interval's edge nearest 1 lies within the band doubled on the log scale
   (NEAR_BAND_FACTOR): the between-run band is the 95th percentile of a few dozen unchanged states'
   deviations, an unchanged state exceeds it by design 5 % of the time, and the A/A states FAST at
   0.51x sat just beyond it; a 4x plant against a ±60 % band is far beyond it and is not re-timed.
   Unchanged (native) states run the same work in both settings: nothing to re-time.
3. **Interleaved** (measure.measure_interleaved with stats.AA_PATTERN, the compare rule's and
   rebuild's machinery): per state a candidate engine (its ``extra_work``), a baseline engine (the
   baseline's) and a second baseline engine (the A/A control, its band term), each round candidate,
   baseline, candidate, control on one arena; judged by rebuild.judge_interleaved; states still
   AMBIGUOUS re-measured adaptively (rebuild.remeasure: 2x to 8x the time, at most
   ``verdict.remeasure_rounds`` rounds), the whole bounded by ``verdict.cpu_retime_max_s`` (wall time;
   states the budget leaves keep their separate-run verdict, saying so).
4. The re-timed rows replace the separate-run rows (method ``bootstrap (interleaved)``, the reason
   giving the separate-run verdict they replace); the header says which states, the wall time and the
   budget; the raw samples go to ``<verdict folder>/cpu_retime/``. CPU timings, not TensorRT.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..backends.base import EngineSpec
from ..backends.reference import ReferenceArena, ReferenceEngine
from ..core.provenance import plugin_hash
from ..core.schema import PROJECT_ROOT
from ..core.stats import AA_PATTERN, StoppingRule
from ..measure.measure import Plan, State, engine_timers, measure_interleaved
from .rebuild import InterleavedState, judge_interleaved, remeasure, write_interleaved_samples
from .verdict import (
    STATE_KEYS,
    Refinement,
    Run,
    Settings,
    StoreRun,
    VerdictRow,
    open_store,
    parent_run,
)

LABEL = "verdict (CPU reference backend, interleaved re-time)"
EXTRA_WORK_PARAM = "reference.extra_work"  # the parent run's flattened config (tracking.flatten_config)
NEAR_BAND_FACTOR = 2.0  # a FAST/SLOW whose near edge is within (1 + band) ** this of 1 is re-timed
PLUGIN_IMPLEMENTATION = "plugin"  # implementations plugin_v2, plugin_v3: what reference.extra_work repeats
STATE_MIN_S, STATE_MAX_S = 0.1, 2.0  # a state's first interleaved window, seconds (the budget shares it)
TARGET_RSE = 0.002  # the window is spent, not cut short at the timing section's looser target
MAX_ROUNDS = 100_000


@dataclass(frozen=True)
class RetimeSettings:
    """How the re-time runs: its wall-time budget (``verdict.cpu_retime_max_s``; 0: never), the
    re-measurement rounds (``verdict.remeasure_rounds``), the stopping rule's warm-up and minimum
    (config timing) and the output check's size limit (``timing.verify_max_elements``)."""

    max_time_s: float = 60.0
    rounds: int = 2
    rule: StoppingRule = StoppingRule()
    verify_max_elements: int = 1 << 22
    git_root: Path = PROJECT_ROOT

    @classmethod
    def from_settings(cls, settings: object, max_time_s: float | None = None) -> RetimeSettings:
        """From the project settings (settings.Settings: its verdict and timing sections)."""
        verdict, timing = settings.verdict, settings.timing  # type: ignore[attr-defined]
        return cls(float(verdict.cpu_retime_max_s if max_time_s is None else max_time_s), int(verdict.remeasure_rounds),
                   StoppingRule.from_config(timing), int(timing.verify_max_elements))


# -- is the baseline reproducible in this process? ---------------------------------------------------
def store_run_of_folder(folder: Path) -> StoreRun | None:
    """The pipeline parent run a results folder's ``mlflow/logged.json`` names, from the store it names
    (None: no such file, or the store or run cannot be read)."""
    try:
        logged = json.loads((Path(folder) / "mlflow" / "logged.json").read_text())
        uri, run_id = logged["tracking_uri"], logged["parent_run_id"]
        return parent_run(open_store(uri), run_id, uri)
    except Exception:  # noqa: BLE001 - any failure means "not known": the verdict says the baseline is not reproducible
        return None


def _extra_work(run: StoreRun) -> int | None:
    try:
        value = json.loads(run.params[EXTRA_WORK_PARAM])
    except (KeyError, json.JSONDecodeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _ops_differ(commit: str, git_root: Path) -> str | None:
    """Why ``ops/`` at ``commit`` is not this checkout's: '' when it is, None when git cannot tell (no git,
    a commit this checkout does not hold). A '-dirty' run's uncommitted edits are not seen."""
    sha = commit.removesuffix("-dirty")
    try:
        proc = subprocess.run(["git", "diff", "--quiet", sha, "--", "ops"], cwd=git_root, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode == 0:
        return ""
    return f"ops/ differs between {sha[:12]} and this checkout" if proc.returncode == 1 else None


def reproducible(baseline: StoreRun | None, candidate: StoreRun | None,
                 git_root: Path = PROJECT_ROOT) -> tuple[tuple[int, int] | None, str, str]:
    """((baseline extra_work, candidate extra_work), '', a note) when this process can run both sides'
    plugin engines: see the module docstring, 1. Else (None, why not, '')."""
    sides = {"baseline": baseline, "candidate": candidate}
    for who, run in sides.items():
        if run is None:
            return None, (f"the {who} has no MLflow parent run this verdict can read (a results folder without "
                          "mlflow/logged.json, or its store unreachable): its reference.extra_work and plugin hash are "
                          "unknown"), ""
        if run.tags.get("tpb.backend") != "reference":
            return None, f"the {who} {run.label} is not a CPU reference backend run", ""
    assert baseline is not None and candidate is not None
    if baseline.tags.get("tpb.setup_hash") != candidate.tags.get("tpb.setup_hash"):
        return None, (f"the runs' settings differ in more than reference.extra_work (tpb.setup_hash "
                      f"{str(baseline.tags.get('tpb.setup_hash'))[:12]} vs {str(candidate.tags.get('tpb.setup_hash'))[:12]})"), ""
    work = {}
    for who, run in sides.items():
        extra = _extra_work(run)
        if extra is None:
            return None, f"the {who} {run.label} has no integer param {EXTRA_WORK_PARAM}", ""
        here = plugin_hash("reference", extra)
        if run.tags.get("tpb.plugin_hash") != here:
            return None, (f"the {who} {run.label} ran other reference sources than this checkout's: its tpb.plugin_hash "
                          f"{str(run.tags.get('tpb.plugin_hash'))[:12]} is not {here[:12]}, the hash of core/oracle.py and "
                          f"backends/reference.py here with extra_work {extra}"), ""
        work[who] = extra
    compared, unknown = [], []
    for who, run in sides.items():
        commit = run.tags.get("tpb.git_commit", "unknown") or "unknown"
        why = None if commit == "unknown" else _ops_differ(commit, git_root)
        if why:
            return None, f"the {who}'s operators are not this checkout's: {why}", ""
        (compared if why == "" else unknown).append(f"{who} {commit[:12]}")
    note = "the plugin hashes of the reference modules match"
    if compared:
        note += "; ops/ (the operators' modules) the same as this checkout's at " + ", ".join(compared)
    if unknown:
        note += ("; ops/ not compared for " + ", ".join(unknown) + " (no git commit this checkout holds: a copy "
                 "without git)")
    return (work["baseline"], work["candidate"]), "", note


# -- which states ------------------------------------------------------------------------------------
def near_band(row: VerdictRow, factor: float = NEAR_BAND_FACTOR) -> bool:
    """A FAST or SLOW whose interval edge nearest 1 lies within (1 + band) ** factor of 1 (log scale)."""
    edge = row.ci_low if row.verdict == "SLOW" else row.ci_high
    if not (edge > 0 and math.isfinite(edge)):
        return False
    return abs(math.log(edge)) < factor * math.log1p(row.band)


def plugin_states(candidate: Run) -> set[tuple[str, str, str, str, str]]:
    lat = candidate.latency
    if "implementation" not in lat:
        return set()
    plug = lat[lat["implementation"].astype(str).str.startswith(PLUGIN_IMPLEMENTATION)]
    return {tuple(str(v) for v in k) for k, _ in plug.groupby(STATE_KEYS)}  # type: ignore[misc]


def to_retime(rows: list[VerdictRow], candidate: Run) -> list[VerdictRow]:
    """The plugin states a separate-run verdict leaves undecided: AMBIGUOUS, or FAST/SLOW near the band."""
    plugins = plugin_states(candidate)
    return [r for r in rows if r.state in plugins
            and (r.verdict == "AMBIGUOUS" or (r.verdict in ("FAST", "SLOW") and near_band(r)))]


def engine_spec(candidate_dir: Path, op: str, dtype: str, profile: str) -> EngineSpec | None:
    """The candidate's engine spec of a sweep (its build record, results/<exp>/engines/), or None."""
    record = Path(candidate_dir) / "engines" / f"{op}__{dtype}__{profile}.build.json"
    try:
        return EngineSpec.from_json(json.loads(record.read_text())["spec"])
    except (OSError, KeyError, json.JSONDecodeError):
        return None


# -- the re-time ---------------------------------------------------------------------------------------
StateKey = tuple[str, str, str, str, str]


class CpuRetime:
    """verdict.Refine for the CPU reference backend: see the module docstring."""

    def __init__(self, settings: RetimeSettings | None = None) -> None:
        self.settings = settings or RetimeSettings()

    def __call__(self, rows: list[VerdictRow], baseline: Run, candidate: Run, vsettings: Settings, stores: dict,
                 out_dir: Path) -> Refinement:
        if candidate.device.get("backend") != "reference" or baseline.device.get("backend") != "reference":
            return Refinement(rows)  # the TensorRT backend has its own interleaved mode (verdict --rebuild)
        todo = to_retime(rows, candidate)
        if not todo:
            return Refinement(rows, facts={"CPU re-time": "none needed: no plugin state AMBIGUOUS or FAST/SLOW near its "
                                                          "band"}, tags={"tpb.verdict.cpu_retime": "none needed"})
        if self.settings.max_time_s <= 0:
            return self._kept(rows, todo, "verdict.cpu_retime_max_s is 0")
        base_run = stores.get("baseline") or store_run_of_folder(baseline.path)
        cand_run = stores.get("candidate") or store_run_of_folder(candidate.path)
        work, why, note = reproducible(base_run, cand_run, self.settings.git_root)
        if work is None:
            return self._kept(rows, todo, f"the baseline is not reproducible in this process: {why}")
        specs: dict[tuple[str, str, str], EngineSpec] = {}
        missing = []
        for r in todo:
            sweep = (r.operator, r.dtype, r.profile)
            if sweep not in specs:
                spec = engine_spec(candidate.path, *sweep)
                if spec is None:
                    missing.append("/".join(sweep))
                    continue
                specs[sweep] = spec
        timed = [r for r in todo if (r.operator, r.dtype, r.profile) in specs]
        if not timed:
            return self._kept(rows, todo, f"the candidate's engine records are missing ({', '.join(missing)} under "
                                          f"{candidate.path / 'engines'}): no spec to build the engines from")
        return self._retime(rows, timed, specs, work, vsettings, out_dir, note, missing)

    def _kept(self, rows: list[VerdictRow], todo: list[VerdictRow], why: str) -> Refinement:
        """Nothing re-timed: the separate-run verdict stands, and the outputs say why."""
        text = (f"{len(todo)} plugin state(s) AMBIGUOUS or near the band kept the separate-run verdict, not re-timed "
                f"interleaved: {why}")
        return Refinement(rows, notes=[f"CPU re-time: {text}"], facts={"CPU re-time": text},
                          tags={"tpb.verdict.cpu_retime": f"not re-timed: {why}"})

    def _retime(self, rows: list[VerdictRow], todo: list[VerdictRow], specs: dict, work: tuple[int, int],
                vsettings: Settings, out_dir: Path, note: str, missing: list[str]) -> Refinement:
        cfg = self.settings
        base_work, cand_work = work
        t0 = time.perf_counter()
        deadline = t0 + cfg.max_time_s
        engines = {sweep: (ReferenceEngine(spec, cand_work), ReferenceEngine(spec, base_work),
                           ReferenceEngine(spec, base_work)) for sweep, spec in specs.items()}
        states: dict[StateKey, InterleavedState] = {}
        by_key = {r.state: r for r in todo}

        def measure(keys: list[StateKey], budget: float) -> dict[StateKey, tuple[np.ndarray, np.ndarray, np.ndarray]]:
            out = {}
            for i, key in enumerate(keys, 1):
                left = deadline - time.perf_counter()
                if left < STATE_MIN_S:
                    print(f"{LABEL}: the budget (verdict.cpu_retime_max_s {cfg.max_time_s:g} s) is spent: "
                          f"{len(keys) - i + 1} state(s) not timed this round", flush=True)
                    break
                op, dtype, profile, shape, mode = key
                window = min(budget, left)
                rule = replace(cfg.rule, target_rse=TARGET_RSE, max_samples=MAX_ROUNDS, max_time_s=window / len(AA_PATTERN))
                dims = tuple(int(v) for v in shape.split("x"))
                trio = [State(op, dtype, profile, dims, mode, 0, seed=i, source=e) for e in engines[(op, dtype, profile)]]
                t = measure_interleaved(trio, Plan(engine_timers(cfg.verify_max_elements), rule, raise_on_wrong=False),
                                        arena=ReferenceArena, pattern=AA_PATTERN)
                if t is None:
                    continue
                cand_us, base_us, control_us = (s * 1e6 for s in t.samples)
                st = states.setdefault(key, InterleavedState(key, math.prod(dims), "reference"))
                st.verified_candidate &= bool(t.checks[0].ok)
                st.verified_baseline &= bool(t.checks[1].ok) and bool(t.checks[2].ok)
                out[key] = (cand_us, base_us, control_us)
                print(f"[{time.strftime('%H:%M:%S')}] {LABEL} {i}/{len(keys)} {'/'.join(key)}: candidate (extra_work "
                      f"{cand_work}) {np.median(cand_us):.3f} us, baseline (extra_work {base_work}) "
                      f"{np.median(base_us):.3f} us ({np.median(cand_us) / np.median(base_us):.4f}), A/A "
                      f"{np.median(control_us) / np.median(base_us):.4f} (n {len(cand_us)}, {t.reason}); "
                      f"{time.perf_counter() - t0:.0f} s of at most {cfg.max_time_s:g} s", flush=True)
            return out

        window = min(STATE_MAX_S, max(STATE_MIN_S, cfg.max_time_s / (2 * len(todo))))
        print(f"{LABEL}: {len(todo)} plugin state(s) the separate runs left undecided, re-timed with extra_work "
              f"{base_work} (baseline) and {cand_work} (candidate) interleaved, {window:.2g} s each, at most "
              f"{cfg.max_time_s:g} s in all", flush=True)
        for key, samples in measure(list(by_key), window).items():
            states[key].add(*samples)
        first_rows, first_noisy = (judge_interleaved(list(states.values()), vsettings) if states else ([], []))
        new, noisy, done = (remeasure(list(states.values()), first_rows, measure, window, cfg.rounds, vsettings,
                                      first_noisy, label=LABEL) if states else ([], [], 0))
        wall = time.perf_counter() - t0
        written = write_interleaved_samples(Path(out_dir) / "cpu_retime", list(states.values()),
                                            "CPU (reference backend)", "reference") if states else []
        replaced = {}
        for r in new:
            key = r.state
            old = by_key[key]
            why = "AMBIGUOUS" if old.verdict == "AMBIGUOUS" else f"{old.verdict} near the band"
            replaced[key] = replace(r, reason=(
                f"re-timed interleaved in one process (CPU reference backend; extra_work {base_work} vs {cand_work}, "
                f"A/A a second baseline engine): separate runs said {why}, ratio {old.ratio:.3f} "
                f"[{old.ci_low:.3f}, {old.ci_high:.3f}], band ±{100 * old.band:.1f} % ({old.band_from})"
                + (f"; {r.reason}" if r.reason else "")))
        left = [k for k in by_key if k not in replaced]
        out_rows = [replaced.get(r.state, r) for r in rows]
        if left:
            out_rows = [replace(r, reason=(r.reason + "; " if r.reason else "") + "not re-timed: the CPU re-time budget "
                                "(verdict.cpu_retime_max_s) ran out") if r.state in left else r for r in out_rows]
        counts = ", ".join(f"{v} {sum(r.verdict == v for r in new)}" for v in ("SLOW", "FAST", "SAME", "AMBIGUOUS", "FAIL")
                           if any(r.verdict == v for r in new))
        summary = (f"{len(replaced)} of {len(by_key)} plugin state(s) the separate runs left AMBIGUOUS or near the "
                   f"band re-timed interleaved in this process (extra_work {base_work} baseline, {cand_work} candidate; "
                   f"each round candidate, baseline, candidate, a second baseline engine as the A/A control): "
                   f"{counts or 'none'}; wall time {wall:.1f} s of at most {cfg.max_time_s:g} s "
                   f"(verdict.cpu_retime_max_s), {done} re-measurement round(s) of at most {cfg.rounds}")
        if left:
            summary += f"; {len(left)} kept the separate-run verdict (the budget ran out)"
        if missing:
            summary += f"; not re-timed (no engine record): {', '.join(missing)}"
        notes = [f"CPU re-time (header): {note}; raw samples: {len(written)} files under {Path(out_dir) / 'cpu_retime'}"]
        notes += [f"CPU re-time: the interleaved run is noisy beyond chance: {n}" for n in noisy]
        print(f"{LABEL}: {summary}", flush=True)
        return Refinement(out_rows, notes=notes, facts={"CPU re-time": summary},
                          tags={"tpb.verdict.mode": f"separate runs; {len(replaced)} plugin state(s) re-timed interleaved "
                                                    "(CPU reference backend)",
                                "tpb.verdict.cpu_retime": f"{len(replaced)} states, {wall:.1f} s"})


def retimed(table: pd.DataFrame) -> pd.Series:
    """Which rows of a verdict.csv were re-timed interleaved (their method)."""
    return table["method"].astype(str).str.contains("interleaved")


__all__ = ["CpuRetime", "RetimeSettings", "near_band", "reproducible", "retimed", "store_run_of_folder", "to_retime"]
