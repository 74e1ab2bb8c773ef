"""`verdict`: did the change help? Two results folders compared state by state.

For every state (operator x dtype x profile x shape x mode) in both runs, the ratio candidate ÷
baseline of the medians, with a confidence interval from the raw samples (results/samples/*.npz,
samples.py), judged against a noise band:

- **The interval**: a percentile bootstrap of the ratio of the two pooled medians, resampling
  within each repeat (each repeat is a stratum, so a resample keeps every repeat's share), with a
  fixed seed per state (``scipy.stats.bootstrap``, percentile method, each repeat one sample). The
  project reports medians everywhere, and a latency change is a scale
  change on a skewed, heavy-tailed distribution: the bootstrap interval is of exactly that
  number, with no shift model (Hodges-Lehmann's estimate is of a location shift, in µs, and its
  Mann-Whitney interval assumes the two distributions differ by that shift only). A results folder
  without samples (from before they were kept) gets a normal interval on the log ratio from the
  tables' median standard errors instead; the ``method`` column says which.
- **The band**: the largest of ``min_effect`` (1 %), the candidate's A/A control at that shape
  (|b′ ÷ b − 1| + min(2 SE, max_band), the compare table: aa_term), the two runs' own repeat
  disagreement (|repeat 0 − repeat 1| ÷ their mean, the larger of the two runs), 2.5 steps of the
  timer's grain over the median (``resolution_term``) and the between-run drift and scatter of the states
  the change cannot touch (between_run_terms: the operators without the plugin): a difference smaller
  than what the method reports for identical work, than a run disagrees with itself or with another
  run, or than the clock can tell, is not the change's.
- **The verdict**: SLOW when the interval lies entirely above 1 + band, FAST entirely below
  1 − band (either also needing a two-sided Mann-Whitney rank test, ``scipy.stats.mannwhitneyu``, at
  P < 1 − confidence: confirm_by_ranks), SAME entirely inside [1 − band, 1 + band] (and the band at most ``max_band``, 10 %: a
  wider one says nothing), AMBIGUOUS otherwise; FAIL whatever the speed
  when the candidate's output check failed (verified false); AMBIGUOUS, saying so, when a GPU row
  is throttled or the SM clocks at the start differ by more than 5 % between the runs (a hot GPU,
  not the change).

A run whose repeats disagree far beyond chance, or whose A/A control lies outside its band, is
*noisy beyond chance*: the header and the MLflow tag say so, and every state's band is widened to that
run's own disagreement (run_noise); noise widens the band, it never vetoes a FAST or SLOW (issue 28).
"More rows than chance explains" is a one-sided ``scipy.stats.binomtest``. Runs from different devices,
drivers, TensorRT versions or backends are refused unless forced. On the CPU reference backend, an
edit of the plugin's sources alone is "not measurable here" (NotMeasurableHere): that backend never
runs the kernel; plugin states that separate CPU runs leave undecided are re-timed interleaved in one process
where the baseline is reproducible there (``refine``: cpu_retime.CpuRetime, which the verdict command hands in).

**Baselines from the MLflow store** (the second half of this module): a pipeline parent run is
materialised into a results-like folder from its artifacts (the parent's ``tables/``, each child
run's ``samples/``), so the two-folder comparison does the rest. Which run:

- ``--baseline-run ID``: that run (a child run's id means its parent);
- ``--baseline-rev REV``: the latest parent run whose ``tpb.git_commit`` is ``git rev-parse REV``
  (a clean tree's run before a dirty one's; one of the candidate's setup before others);
- by default: the latest parent run started before the candidate's with the same ``tpb.setup_hash``
  (the config hash without what counts as the plugin: tracking.PLUGIN_CONFIG_KEYS), backend, GPU,
  driver and TensorRT, and another ``tpb.plugin_hash`` (provenance.plugin_hash: the plugin sources;
  on the CPU reference backend the reference modules and reference.extra_work).

The candidate's run (``--candidate-run``, or the one ``<candidate>/mlflow/logged.json`` names when it
is in the same store) is tagged ``tpb.verdict.*``, gets one metric per verdict (``verdict.slow``, ...)
and the verdict files as artifacts (``verdict/``), so runs chart and compare in ``mlflow ui``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from .analysis import expected_disagreements, repeat_agreement
from .mlflow_store import RECORD_TRIES, log_record

VERDICTS = ("FAIL", "SLOW", "AMBIGUOUS", "FAST", "SAME")  # also the report's order: worst first
STATE_KEYS = ["operator", "dtype", "profile", "shape", "mode"]
# what two runs must share to be compared: another GPU, driver or TensorRT is another experiment
IDENTITY = ("backend", "device_name", "driver_version", "tensorrt_version")
CLOCK_TOLERANCE = 0.05  # SM clocks at the start of the two runs' rows differ by more: a hot GPU
# An A/A control further from 1 than max(min_effect, CONTROL_K x its SE) is outside its band; repeats
# disagree beyond 3 combined SE (analysis.repeat_agreement). The method allows an honest row to be
# flagged at its per-state false-positive rate alpha = 1 - confidence (5 %: the normal tail of 3 SE,
# 0.27 %, is too optimistic where the timer's grain makes the SE small: 6 of 42 H200 compare rows); a
# run is too noisy when more rows are flagged than that rate explains, a one-sided binomial test at
# NOISY_SIGNIFICANCE (beyond_chance).
CONTROL_K = 3.0
NOISY_SIGNIFICANCE = 0.01
BOOTSTRAP_CHUNK = 1 << 22  # resampled values held at once (per run): 32 MiB of float64


class VerdictInputError(ValueError):
    """Bad input (a missing table, runs that cannot be compared): exit status 2."""


class NotMeasurableHere(VerdictInputError):
    """No baseline because the change cannot show on this backend (a kernel edit on the CPU reference backend)."""

    title = "not measurable here"


@dataclass(frozen=True)
class Settings:
    min_effect: float = 0.01
    # SAME claims "no change beyond the band": with a band wider than this it claims too little, so
    # the state is AMBIGUOUS (CPU cold states of a few samples had bands of +-2000 %)
    max_band: float = 0.10
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 20261202
    force: bool = False


@dataclass
class Run:
    """One results folder: its tables, device record and raw samples."""

    path: Path
    device: dict
    latency: pd.DataFrame
    compare: pd.DataFrame
    # (operator, dtype, profile, shape, mode) -> one array of µs per repeat, in repeat order
    samples: dict[tuple[str, str, str, str, str], list[np.ndarray]] = field(default_factory=dict)
    samples_note: str = ""


@dataclass
class VerdictRow:
    operator: str
    dtype: str
    profile: str
    shape: str
    elements: int
    mode: str
    backend: str
    median_baseline_us: float
    median_candidate_us: float
    ratio: float  # candidate ÷ baseline: above 1, the candidate is slower
    ci_low: float
    ci_high: float
    band: float  # the noise band's half width (relative)
    band_from: str  # which term set the band: min_effect, aa_control, repeats or resolution
    method: str  # "bootstrap" (raw samples) or "normal" (the tables' standard errors)
    n_baseline: int
    n_candidate: int
    verdict: str
    reason: str
    rank_p: float = math.nan  # two-sided Mann-Whitney P of the pooled samples (NaN: no samples)

    @property
    def state(self) -> tuple[str, str, str, str, str]:
        """The state this row judges: (operator, dtype, profile, shape, mode), STATE_KEYS' order."""
        return self.operator, self.dtype, self.profile, self.shape, self.mode


@dataclass
class Refinement:
    """What a second look at a separate-run verdict changed (Refine): the rows, with those it re-judged
    replaced, and what the outputs say about it (notes, header facts, MLflow tags)."""

    rows: list[VerdictRow]
    notes: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


# A second look at a separate-run verdict (the CPU reference backend's interleaved re-time, cpu_retime.py):
# called with the judged rows, the two runs, the settings, the runs' MLflow parent runs where known
# ({"baseline": StoreRun | None, "candidate": StoreRun | None}) and the verdict's folder.
Refine = Callable[[list[VerdictRow], Run, Run, Settings, dict, Path], Refinement]


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() and path.stat().st_size > 0 else pd.DataFrame()


def load_run(path: Path) -> Run:
    """A results/ folder (tables/latency.csv, tables/compare.csv, tables/device.json, samples/*.npz)."""
    path = Path(path)
    tables = path / "tables"
    for need in ("latency.csv", "device.json"):
        if not (tables / need).is_file():
            raise VerdictInputError(f"{path} is not a results folder: {tables / need} is missing "
                                    "(run the pipeline, or point at its results/ folder)")
    try:
        device = json.loads((tables / "device.json").read_text())
    except json.JSONDecodeError as exc:
        raise VerdictInputError(f"{tables / 'device.json'} is not valid JSON: {exc}") from exc
    latency = _read_csv(tables / "latency.csv")
    if latency.empty:
        raise VerdictInputError(f"{tables / 'latency.csv'} has no rows: nothing to compare")
    states, controls = in_network_states(_read_csv(tables / "in_network.csv"))
    run = Run(path, device, pd.concat([latency, states], ignore_index=True) if not states.empty else latency,
              pd.concat([_read_csv(tables / "compare.csv"), controls], ignore_index=True))
    run.samples, run.samples_note = _load_samples_dir(path / "samples")
    return run


IN_NETWORK_SIDES = (("plugin", "{op}@{block}"), ("twin", "{op}@{block}:twin"))


def in_network_states(pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The in_network rule's block pairs (tables/in_network.csv) as states like the latency table's:
    each pair gives the plugin's block (operator <op>@<block>) and the twin's (<op>@<block>:twin), the
    size's name as the profile; and its A/A control as a compare row, so a state's band takes it."""
    if pairs.empty:
        return pd.DataFrame(), pd.DataFrame()
    states = []
    for side, name in IN_NETWORK_SIDES:
        states.append(pd.DataFrame({
            "operator": [name.format(op=o, block=b) for o, b in zip(pairs["operator"], pairs["block"])],
            "dtype": pairs["dtype"], "profile": pairs["size"], "shape": pairs["shape"].astype(str), "mode": pairs["mode"],
            "elements": pairs["elements"], "backend": pairs["backend"], "repeat": 0, "n": pairs["n"],
            "median_us": pairs[f"median_{side}_us"], "median_se_us": pairs[f"median_se_{side}_us"],
            "verified": pairs["verified"], "throttled": pairs["throttled"],
            "sm_clock_start_mhz": pairs["sm_clock_start_mhz"]}))
    controls = pd.DataFrame({"dtype": pairs["dtype"], "profile": pairs["size"], "shape": pairs["shape"].astype(str),
                             "mode": pairs["mode"], "control_ratio": pairs["control_ratio"],
                             "control_ratio_se": pairs["control_ratio_se"]})
    return pd.concat(states, ignore_index=True), controls


def _load_samples_dir(folder: Path) -> tuple[dict, str]:
    files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    if not files:
        return {}, f"no raw samples under {folder}: intervals from the tables' standard errors"
    from ..measure.samples import load_samples

    out: dict[tuple[str, str, str, str, str], list[np.ndarray]] = {}
    for f in files:
        meta, samples = load_samples(f)  # a corrupt file names itself (SamplesFileError)
        by_state: dict[tuple[str, str], dict[int, np.ndarray]] = {}
        for (shape, mode, repeat), values in samples.items():
            by_state.setdefault((shape, mode), {})[repeat] = np.asarray(values, dtype=np.float64)
        for (shape, mode), reps in by_state.items():
            key = (str(meta["operator"]), str(meta["dtype"]), str(meta["profile"]), shape, mode)
            out[key] = [reps[r] for r in sorted(reps)]
    return out, ""


def identity_differences(baseline: dict, candidate: dict) -> list[str]:
    """What differs between the two runs' devices, one phrase each ('device_name: A vs B')."""
    return [f"{k}: {baseline.get(k)!r} vs {candidate.get(k)!r}" for k in IDENTITY if baseline.get(k) != candidate.get(k)]


# -- statistics ----------------------------------------------------------------------------------
def _state_seed(seed: int, key: tuple) -> int:
    """A fixed seed per state, independent of which other states are in the runs."""
    return seed ^ zlib.crc32("|".join(map(str, key)).encode())


def bootstrap_ratio(baseline: list[np.ndarray], candidate: list[np.ndarray], confidence: float = 0.95,
                    resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(ratio, low, high): median(candidate) ÷ median(baseline) of the pooled samples, and its
    percentile-bootstrap interval, resampling within each repeat: ``scipy.stats.bootstrap`` with every
    repeat of either run a sample of its own (scipy resamples each sample within itself, which is the
    stratified bootstrap) and the statistic the ratio of the pooled medians. Percentile, not scipy's
    default BCa: BCa's jackknife is O(n²) in a sample's size, and a GPU state has 10⁵ samples."""
    b = [np.asarray(s, dtype=np.float64) for s in baseline if len(s)]
    c = [np.asarray(s, dtype=np.float64) for s in candidate if len(s)]
    if not b or not c:
        raise ValueError("no samples in one of the runs")
    ratio = float(np.median(np.concatenate(c)) / np.median(np.concatenate(b)))
    nb = len(b)

    def statistic(*xs: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(np.concatenate(xs[nb:], axis=axis), axis=axis) / np.median(np.concatenate(xs[:nb], axis=axis),
                                                                                    axis=axis)

    n = sum(map(len, b)) + sum(map(len, c))
    if all(np.ptp(x) == 0 for x in (*b, *c)):  # every sample one value: no spread to resample
        return ratio, ratio, ratio
    res = sps.bootstrap((*b, *c), statistic, n_resamples=resamples, batch=max(1, BOOTSTRAP_CHUNK // max(n, 1)),
                        vectorized=True, confidence_level=confidence, method="percentile",
                        rng=np.random.default_rng(seed))
    return ratio, float(res.confidence_interval.low), float(res.confidence_interval.high)


def rank_test(baseline: list[np.ndarray], candidate: list[np.ndarray]) -> float:
    """Two-sided Mann-Whitney U P value of the pooled samples (``scipy.stats.mannwhitneyu``): the
    second opinion asv and Chromium's Pinpoint take, without the bootstrap's assumptions. A FAST or
    SLOW needs it below 1 − confidence as well as the interval beyond the band (confirm_by_ranks)."""
    b, c = np.concatenate([np.asarray(s, dtype=np.float64) for s in baseline]), np.concatenate(
        [np.asarray(s, dtype=np.float64) for s in candidate])
    if b.size == 0 or c.size == 0:
        return math.nan
    if np.ptp(np.concatenate([b, c])) == 0:
        return 1.0
    return float(sps.mannwhitneyu(c, b, alternative="two-sided").pvalue)


def confirm_by_ranks(verdict: str, reason: str, p: float, confidence: float) -> tuple[str, str]:
    """A FAST or SLOW whose rank test is not significant at 1 − confidence is AMBIGUOUS, saying so."""
    if verdict in ("FAST", "SLOW") and not (p < 1.0 - confidence):
        return "AMBIGUOUS", (f"the interval is beyond the band but the rank test is not significant (Mann-Whitney "
                             f"P = {p:.2g}): would be {verdict}")
    return verdict, reason


def normal_ratio(med_b: float, se_b: float, med_c: float, se_c: float,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """(ratio, low, high) from two medians and their standard errors: a normal interval on the log ratio."""
    z = float(sps.norm.ppf(0.5 + confidence / 2.0))
    ratio = med_c / med_b
    se = math.hypot(se_b / med_b, se_c / med_c)
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)


def judge(low: float, high: float, band: float) -> str:
    if low > 1.0 + band:
        return "SLOW"
    if high < 1.0 - band:
        return "FAST"
    if low >= 1.0 - band and high <= 1.0 + band:
        return "SAME"
    return "AMBIGUOUS"


def judge_band(low: float, high: float, terms: dict[str, float], max_band: float) -> tuple[str, str, float, str]:
    """(verdict, reason, band, the term it came from): the interval against the widest of the noise
    terms; SAME under a band wider than ``max_band`` says nothing, so it is AMBIGUOUS."""
    band_from = max(terms, key=terms.__getitem__)
    band = terms[band_from]
    verdict, reason = judge(low, high, band), ""
    if verdict == "SAME" and band > max_band:
        verdict, reason = "AMBIGUOUS", (f"noise band ±{100 * band:.1f} % ({band_from}) is wider than "
                                        f"{100 * max_band:g} % (--max-band): SAME would say nothing")
    return verdict, reason, band, band_from


def repeat_spread(rows: pd.DataFrame) -> float:
    """|max − min| ÷ mean of a state's repeat medians: how far the run disagrees with itself."""
    m = rows["median_us"].astype(float)
    return float((m.max() - m.min()) / m.mean()) if len(m) > 1 and m.mean() > 0 else 0.0


def aa_term(control: pd.Series | float, se: pd.Series | float, max_band: float = 0.10) -> pd.Series | float:
    """An A/A control's share of the band: its measured offset |control − 1| plus its imprecision (2 SE)
    up to ``max_band``. A control of a few samples (a CPU cold state: ± 30 % and more) is imprecise, not
    biased: its imprecision counts no further than a band that still says anything, and so does an offset
    within its own noise (|control − 1| <= CONTROL_K SE, what too_noisy calls inside its band): on a loaded
    CPU one compare row's control read 13.9 ± 5.8 (SE), and counted in full it made every state of that
    shape ±1300 %, AMBIGUOUS at a planted 4x (2026-12-06). An offset beyond its noise (a bias) counts in
    full, so the band widens without vetoing a 3x effect (issue 28)."""
    offset = abs(control - 1.0)
    biased = offset > CONTROL_K * se
    return np.where(biased, offset, np.minimum(offset, max_band)) + np.minimum(2.0 * se, max_band)


def aa_spread(compare: pd.DataFrame, dtype: str, profile: str, shape: str, mode: str,
              max_band: float = 0.10) -> float | None:
    """The candidate's A/A control at this shape (aa_term, the worst of its pairs), or None."""
    if compare.empty or "control_ratio" not in compare:
        return None
    c = compare[(compare["dtype"] == dtype) & (compare["profile"] == profile) & (compare["shape"].astype(str) == shape)
                & (compare["mode"] == mode)]
    c = c[np.isfinite(c["control_ratio"].astype(float))]
    if c.empty:
        return None
    return float(aa_term(c["control_ratio"].astype(float), c["control_ratio_se"].astype(float).fillna(0.0), max_band).max())


def hot_gpu(base: pd.DataFrame, cand: pd.DataFrame) -> str:
    """Why this state's timings may be the GPU's, not the change's ('' if none). CPU rows have no clocks."""
    rows = pd.concat([base, cand])
    if (rows["backend"] == "reference").all():
        return ""
    if rows["throttled"].astype(str).str.lower().isin(["true", "1"]).any():
        return "hot GPU: a row is throttled"
    b = base["sm_clock_start_mhz"].astype(float).median()
    c = cand["sm_clock_start_mhz"].astype(float).median()
    if b > 0 and c > 0 and abs(c / b - 1.0) > CLOCK_TOLERANCE:
        return f"hot GPU: SM clock at start {b:.0f} MHz (baseline) vs {c:.0f} MHz (candidate)"
    return ""


HOST_BOUND_MODES = ("stream",)  # back-to-back enqueues: the host's enqueue is on the critical path


def host_moved(base: pd.DataFrame, cand: pd.DataFrame, mode: str, band: float) -> str:
    """Why a separate-run FAST/SLOW of a back-to-back state may be the host's, not the change's ('' if
    not): TensorRT's enqueue is host work, the same in both runs' code, so its median moving by more
    than the band (or CLOCK_TOLERANCE) between the runs is the machine. On the H200 (2026-12-02) a
    1 MiB stream state read 0.89x with the naive kernel as the change: the enqueue took 9.95 us in
    one run and 6.68 us in the other, and the naive kernel (warm: 5.9 us) hides under either. Like
    hot_gpu, flagged, not blamed; --rebuild times both in one process, where the host is common."""
    if mode not in HOST_BOUND_MODES or "host_enqueue_median_us" not in base or "host_enqueue_median_us" not in cand:
        return ""
    if pd.concat([base, cand])["backend"].eq("reference").all():
        return ""
    hb = float(base["host_enqueue_median_us"].astype(float).median())
    hc = float(cand["host_enqueue_median_us"].astype(float).median())
    if not (hb > 0 and hc > 0) or abs(hc / hb - 1.0) <= max(band, CLOCK_TOLERANCE):
        return ""
    return (f"host moved: the enqueue took {hb:.2f} us (baseline) vs {hc:.2f} us (candidate), and back-to-back "
            "enqueues count it; separate runs can't tell that from the change (verdict --rebuild can)")


def _verified(rows: pd.DataFrame) -> bool:
    return bool(rows["verified"].astype(str).str.lower().isin(["true", "1"]).all())


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the one-sided ``scipy.stats.binomtest`` P value."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return float(sps.binomtest(int(k), int(n), p, alternative="greater").pvalue)


def beyond_chance(k: int, n: int, p: float, alpha: float) -> bool:
    """Whether ``k`` of ``n`` rows flagged is more than chance explains, each row flagged with
    probability ``p`` by chance alone: a one-sided binomial test at level ``alpha``."""
    return k > 0 and binomial_tail(k, n, p) < alpha


def too_noisy(run: Run, min_effect: float, max_band: float = Settings.max_band,
              alpha: float = 1.0 - Settings.confidence) -> list[str]:
    """Why this run is too noisy to judge ([] if it is not): its repeats disagree, or its A/A
    controls lie outside their band, in more rows than chance explains (beyond_chance at ``alpha``,
    the method's per-state false-positive rate), or an A/A control is too wide to judge with."""
    reasons = []
    agree = repeat_agreement(run.latency)
    if not agree.empty:
        disagree, n = int((~agree["agree"].astype(bool)).sum()), len(agree)
        if beyond_chance(disagree, n, alpha, NOISY_SIGNIFICANCE):
            reasons.append(f"repeats disagree in {disagree} of {n} states ({expected_disagreements(n):.1f} expected "
                           f"of honest normal noise, {alpha * n:.1f} allowed at the {100 * alpha:g} % per-state "
                           f"false-positive rate; binomial P = {binomial_tail(disagree, n, alpha):.2g})")
    cmp = run.compare
    if not cmp.empty and "control_ratio" in cmp:
        dev = (cmp["control_ratio"].astype(float) - 1.0).abs()
        limit = np.maximum(min_effect, CONTROL_K * cmp["control_ratio_se"].astype(float).fillna(0.0))
        # outside: biased beyond its own noise, in more rows than chance explains
        outside = dev > limit
        if beyond_chance(int(outside.sum()), len(cmp), alpha, NOISY_SIGNIFICANCE):
            reasons.append(_control_reason(cmp, outside, "outside its band")
                           + f", {alpha * len(cmp):.1f} allowed at the {100 * alpha:g} % per-state false-positive rate")
    return reasons


def _control_reason(cmp: pd.DataFrame, rows: pd.Series, what: str) -> str:
    spread = (cmp["control_ratio"].astype(float) - 1.0).abs() + 2.0 * cmp["control_ratio_se"].astype(float).fillna(0.0)
    worst = cmp.loc[spread[rows].idxmax()]
    return (f"A/A control {what} in {int(rows.sum())} of {len(cmp)} compare rows (worst {worst['control_ratio']:.4f} "
            f"± {worst['control_ratio_se']:.4f} at {worst['dtype']}/{worst['profile']}/{worst['shape']})")


def imprecise_controls(run: Run, max_band: float = Settings.max_band) -> list[str]:
    """A/A controls too wide to tell anything (|c − 1| + 2 SE beyond ``max_band``): imprecise, not
    biased, so not "too noisy" (a state's band takes its A/A control, so those states are AMBIGUOUS
    by themselves; a CPU compare row of a few samples is often this wide)."""
    cmp = run.compare
    if cmp.empty or "control_ratio" not in cmp:
        return []
    spread = (cmp["control_ratio"].astype(float) - 1.0).abs() + 2.0 * cmp["control_ratio_se"].astype(float).fillna(0.0)
    wide = spread > max_band
    return [_control_reason(cmp, wide, f"wider than ±{100 * max_band:g} %")] if wide.any() else []


def _state_key(row: pd.Series | tuple) -> tuple[str, str, str, str, str]:
    return tuple(str(v) for v in row)  # type: ignore[return-value]


def timer_tick(samples: list[np.ndarray]) -> float:
    """The timer's resolution as the samples show it: the smallest step between distinct values
    (µs). CUDA events count in 32 ns steps on the H200 (every sample a multiple of 0.032 µs), so two
    medians of a 3 µs state are 1 % apart when they differ by one step, and a bootstrap of such
    samples has no width to say otherwise: on the H200 (2026-12-02) the same code measured twice was
    "FAST" by one or three steps in 6 of 60 small blocked-start states. The band counts RESOLUTION_STEPS
    of them (resolution_term). A fine timer (the CPU's perf_counter) gives a step far below any other
    term."""
    values = np.unique(np.round(np.concatenate([np.asarray(s, dtype=np.float64) for s in samples]), 4))
    steps = np.diff(values)
    steps = steps[steps > 0]
    return float(steps.min()) if steps.size else 0.0


# The resolution term of the band, in timer steps: a difference of two steps is the clock's grain, three are not.
# Halfway between the two, not at two: the H100's event times are float32 (3.8719999 and 3.9360002 µs for 121 and
# 123 steps of 32 ns), so two medians exactly two steps apart read 6e-8 beyond a band of exactly two steps, and the
# same code rebuilt was "SLOW" at 1.0165 beside a band of 0.0165 (2026-12-07, docs/runs/h100-2026-12-07d/verdict/);
# and a bootstrap resample whose medians sit a step lower reads a two-step difference as 1.0150 beside a band of
# 0.0149 (AMBIGUOUS). At 2.5 steps neither rounding nor a denominator a step or two off moves a two-step difference
# across, and three steps stay beyond.
RESOLUTION_STEPS = 2.5


def resolution_term(samples: list[np.ndarray], median_us: float) -> float:
    """The band's resolution term: RESOLUTION_STEPS timer steps (timer_tick) as a share of ``median_us``."""
    return RESOLUTION_STEPS * timer_tick(samples) / max(median_us, 1e-12)


CONTROL_IMPLEMENTATIONS = ("native",)  # operators without the plugin: a plugin change leaves them as they were
BETWEEN_QUANTILE = 0.95  # of the unchanged states' |log ratio|: an unchanged plugin state exceeds it 5 % of the time
MIN_CONTROL_STATES = 4  # fewer in a mode: every mode's unchanged states pooled


def _is_control(rows: pd.DataFrame) -> bool:
    return "implementation" in rows and rows["implementation"].astype(str).isin(CONTROL_IMPLEMENTATIONS).all()


def between_run_terms(pairs: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]],
                      quantile: float = BETWEEN_QUANTILE) -> dict[str, tuple[float, int]]:
    """The between-run control of separate runs, per mode: {mode: (band term, states it came from)}.

    Two runs minutes apart differ by more than either run's repeats or A/A control see (on a CPU
    shared with other work, 2026-12-06: one plugin state 2.6x apart between two runs of the same code,
    its repeats in each run within 7 %; on the H200, idle-start modes drifted up to 32 %). The states
    of operators without the plugin (CONTROL_IMPLEMENTATIONS) are identical work in both runs whatever
    the change, so their ratios are draws of that between-run difference: the ``quantile`` of their
    |log(candidate ÷ baseline)| (as a relative band, exp(q) − 1) is the band an unchanged plugin state
    exceeds at most 1 − ``quantile`` of the time, measured around their median (a whole run slower under
    load is a drift, not scatter): |median| + max(z·MAD, the ``quantile`` of the deviations). Measured
    on CPU A/A pairs (docs/verdict.md): 2.9 % of 756 states FAST or SLOW. Empty without such states."""
    by_mode: dict[str, list[float]] = {}
    for (_, _, _, _, mode), (b, c) in pairs.items():
        if _is_control(b) and _is_control(c):
            mb, mc = float(b["median_us"].astype(float).mean()), float(c["median_us"].astype(float).mean())
            if mb > 0 and mc > 0:
                by_mode.setdefault(mode, []).append(math.log(mc / mb))
    if not by_mode:
        return {}
    pooled = [v for vs in by_mode.values() for v in vs]
    modes = {m for (_, _, _, _, m) in pairs}
    out = {}
    z = float(sps.norm.ppf(1.0 - (1.0 - quantile) / 2.0))
    for mode in modes:
        values = by_mode.get(mode, [])
        values = np.asarray(values if len(values) >= MIN_CONTROL_STATES else pooled)
        # robust: the drift (median) and the scatter (MAD, scipy.stats.median_abs_deviation, normal scale) of
        # the log ratios, so one state 12x off under load does not make the band 780 % for every state
        center = float(np.median(values))
        scatter = float(sps.median_abs_deviation(values, scale="normal"))
        spread = float(np.quantile(np.abs(values - center), quantile))
        out[mode] = (float(math.expm1(abs(center) + max(z * scatter, spread))), int(values.size))
    return out


def compare_runs(baseline: Run, candidate: Run, settings: Settings) -> tuple[list[VerdictRow], dict]:
    """The verdict of every state in both runs, and facts for the header (states in one run only)."""
    b_groups = {_state_key(k): g for k, g in baseline.latency.groupby(STATE_KEYS)}
    c_groups = {_state_key(k): g for k, g in candidate.latency.groupby(STATE_KEYS)}
    common = sorted(set(b_groups) & set(c_groups))
    facts = {"only_baseline": len(set(b_groups) - set(c_groups)), "only_candidate": len(set(c_groups) - set(b_groups))}
    between = between_run_terms({k: (b_groups[k], c_groups[k]) for k in common})
    if between:
        facts["facts"] = {**facts.get("facts", {}), "between runs": "; ".join(
            f"{mode}: ±{100 * v:.1f} % from {n} unchanged states" for mode, (v, n) in sorted(between.items()))}
    out: list[VerdictRow] = []
    for key in common:
        b, c = b_groups[key], c_groups[key]
        op, dtype, profile, shape, mode = key
        bs, cs = baseline.samples.get(key), candidate.samples.get(key)
        if bs and cs:
            ratio, low, high = bootstrap_ratio(bs, cs, settings.confidence, settings.resamples,
                                               _state_seed(settings.seed, key))
            method, nb, nc = "bootstrap", sum(map(len, bs)), sum(map(len, cs))
            med_b, med_c = float(np.median(np.concatenate(bs))), float(np.median(np.concatenate(cs)))
        else:  # the tables' numbers: each state's median over repeats, its SE that of a mean of the repeats
            med_b, med_c = float(b["median_us"].mean()), float(c["median_us"].mean())
            se_b = float(np.sqrt((b["median_se_us"] ** 2).sum()) / len(b))
            se_c = float(np.sqrt((c["median_se_us"] ** 2).sum()) / len(c))
            ratio, low, high = normal_ratio(med_b, se_b, med_c, se_c, settings.confidence)
            method, nb, nc = "normal", int(b["n"].sum()), int(c["n"].sum())
        terms = {"min_effect": settings.min_effect, "repeats": max(repeat_spread(b), repeat_spread(c))}
        if bs and cs:
            terms["resolution"] = resolution_term([*bs, *cs], min(med_b, med_c))
        if mode in between:
            terms["between_runs"] = between[mode][0]
        aa = aa_spread(candidate.compare, dtype, profile, shape, mode, settings.max_band)
        if aa is not None:
            terms["aa_control"] = aa
        verdict, reason, band, band_from = judge_band(low, high, terms, settings.max_band)
        rank_p = rank_test(bs, cs) if bs and cs else math.nan
        if bs and cs:
            verdict, reason = confirm_by_ranks(verdict, reason, rank_p, settings.confidence)
        hot = hot_gpu(b, c) or (host_moved(b, c, mode, band) if verdict in ("FAST", "SLOW") else "")
        if not _verified(c):
            verdict, reason = "FAIL", "the candidate's output check failed (verified false)"
        elif hot:
            verdict, reason = "AMBIGUOUS", hot
        elif not _verified(b):
            reason = "the baseline's output check failed: its timing may not be of correct work"
        out.append(VerdictRow(op, dtype, profile, shape, int(c["elements"].iloc[0]), mode, str(c["backend"].iloc[0]),
                              med_b, med_c, ratio, low, high, band, band_from, method, nb, nc, verdict, reason, rank_p))
    return out, facts


# -- outputs -------------------------------------------------------------------------------------
def counts(rows: list[VerdictRow]) -> dict[str, int]:
    return {v: sum(r.verdict == v for r in rows) for v in VERDICTS}


def _label(r: VerdictRow) -> str:
    return f"{r.operator} {r.dtype} {r.profile} {r.shape} {r.mode}"


def write_markdown(path: Path, rows: list[VerdictRow], header: dict) -> None:
    n = counts(rows)
    lines = [f"# Verdict: {header['candidate']} against {header['baseline']}", "",
             f"- backend: {header['backend_label']}", f"- device: {header['device_name']}",
             f"- states compared: {len(rows)} (only in the baseline: {header['only_baseline']}, only in the "
             f"candidate: {header['only_candidate']})",
             f"- counts: {', '.join(f'{v} {n[v]}' for v in VERDICTS)}",
             f"- method: {header['method']}",
             *([f"- false-positive rate: {header['false_positive_rate']}"] if "false_positive_rate" in header else []),
             *[f"- {k}: {v}" for k, v in header.get("facts", {}).items()], ""]
    for who, reasons in header["too_noisy"].items():
        for reason in reasons:
            lines.append(f"**The {who} run is noisy beyond chance** (bands widened to its own disagreement, nothing "
                         f"vetoed): {reason}.  ")
    for note in header["notes"]:
        lines.append(f"Note: {note}.  ")
    lines += ["", "| verdict | operator | dtype | profile | shape | mode | baseline µs | candidate µs | ratio | "
              f"{100 * header['confidence']:g} % interval | band ± | band from | reason |",
              "|---|---|---|---|---|---|---:|---:|---:|---|---:|---|---|"]
    order = {v: i for i, v in enumerate(VERDICTS)}
    for r in sorted(rows, key=lambda r: (order[r.verdict], r.operator, r.dtype, r.profile, r.mode, r.elements)):
        lines.append(f"| **{r.verdict}** | {r.operator} | {r.dtype} | {r.profile} | {r.shape} | {r.mode} | "
                     f"{r.median_baseline_us:.3f} | {r.median_candidate_us:.3f} | {r.ratio:.4f} | "
                     f"[{r.ci_low:.4f}, {r.ci_high:.4f}] | {100 * r.band:.2f} % | {r.band_from} | {r.reason} |")
    Path(path).write_text("\n".join(lines) + "\n")


def write_csv(path: Path, rows: list[VerdictRow]) -> None:
    pd.DataFrame([asdict(r) for r in rows], columns=[f.name for f in fields(VerdictRow)]).to_csv(path, index=False)


VERDICT_COLORS = {"FAIL": "#000000", "SLOW": "#d62728", "AMBIGUOUS": "#ff7f0e", "FAST": "#2ca02c", "SAME": "#7f7f7f"}


MAX_FIGURE_ROWS = 40  # the figure's height is bounded: verdict.md lists every state


@dataclass(frozen=True)
class FigureRow:
    """One row of verdict.png: a state that is not SAME, or the SAME states of one series."""

    label: str
    verdict: str
    ratio: float
    ci_low: float
    ci_high: float
    band: float


def _numeric_key(r: VerdictRow) -> tuple:
    return (r.operator, r.dtype, r.profile, r.mode, r.elements)


def figure_rows(rows: list[VerdictRow], limit: int = MAX_FIGURE_ROWS) -> tuple[list[FigureRow], int]:
    """What verdict.png draws: each state that is not SAME on its own row, sorted by operator, dtype,
    profile, mode and size (numerically), and the SAME states as one row per series (operator, dtype,
    profile, mode: the span of their intervals). At most ``limit`` rows: beyond that the states
    furthest from 1 are kept. Returns the rows and how many states were left out."""
    changed = sorted((r for r in rows if r.verdict != "SAME"), key=_numeric_key)
    left_out = 0
    same: dict[tuple, list[VerdictRow]] = {}
    for r in sorted((r for r in rows if r.verdict == "SAME"), key=_numeric_key):
        same.setdefault((r.operator, r.dtype, r.profile, r.mode), []).append(r)
    if len(changed) + len(same) > limit:
        room = max(limit - min(len(same), limit // 4), 1)
        if len(changed) > room:
            keep = set(map(id, sorted(changed, key=lambda r: -abs(math.log(max(r.ratio, 1e-12))))[:room]))
            left_out = len(changed) - room
            changed = [r for r in changed if id(r) in keep]
        groups = list(same.items())[:max(limit - len(changed), 0)]
        left_out += sum(len(v) for _, v in list(same.items())[len(groups):])
        same = dict(groups)
    out = [FigureRow(_label(r), r.verdict, r.ratio, r.ci_low, r.ci_high, r.band) for r in changed]
    for (op, dtype, profile, mode), group in same.items():
        ratios = sorted(r.ratio for r in group)
        sizes = f"{group[0].shape}" if len(group) == 1 else f"{len(group)} sizes, {group[0].shape} .. {group[-1].shape}"
        out.append(FigureRow(f"{op} {dtype} {profile} {mode}: {sizes}", "SAME", ratios[len(ratios) // 2],
                             min(r.ci_low for r in group), max(r.ci_high for r in group), max(r.band for r in group)))
    return out, left_out


def draw(path: Path, rows: list[VerdictRow], header: dict) -> None:
    """Ratio ± interval per state that changed, coloured by verdict, its noise band in grey; the SAME
    states one row per series (figure_rows): the height stays bounded whatever the sweep's size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    sns.set_theme(style="whitegrid", font_scale=0.8)
    shown, left_out = figure_rows(rows)
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.22 * max(len(shown), 1)), layout="constrained")
    for y, r in enumerate(shown):
        ax.plot([1 - r.band, 1 + r.band], [y, y], color="#dddddd", lw=7, solid_capstyle="butt", zorder=1)
        # the ratio and the interval's ends are computed apart: a rounding may put it a hair outside them
        below, above = max(r.ratio - r.ci_low, 0.0), max(r.ci_high - r.ratio, 0.0)
        ax.errorbar(r.ratio, y, xerr=[[below], [above]], fmt="o", ms=4, capsize=2,
                    color=VERDICT_COLORS[r.verdict], zorder=2)
    ax.axvline(1.0, color="#444444", lw=0.8)
    ax.set_yticks(range(len(shown)), [r.label for r in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")  # 0.5x and 2x equally far from 1
    plain = FuncFormatter(lambda v, _: f"{v:.3g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.set_xlabel(f"candidate ÷ baseline median latency ({100 * header['confidence']:g} % interval; grey: noise band)")
    ax.legend(handles=[Line2D([], [], marker="o", ls="", color=VERDICT_COLORS[v], label=f"{v} ({n})")
                       for v, n in counts(rows).items() if n], loc="best", fontsize=7)
    more = f"; {left_out} more states in verdict.md" if left_out else ""
    fig.suptitle(f"Did the change help? {header['candidate']} ÷ {header['baseline']}\n"
                 f"{header['backend_label']} | {header['device_name']} | SAME states: one row per series{more}",
                 fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def counts_tag(n: dict[str, int]) -> str:
    """'FAIL=0,SLOW=3,...,SAME=40': readable in mlflow ui's run table and compare view."""
    return ",".join(f"{v}={n[v]}" for v in VERDICTS)


def _verdict_metrics(rows: list[VerdictRow], noisy: list[str]) -> dict[str, float]:
    """verdict.<verdict> (states of each verdict), verdict.states and verdict.too_noisy (1: a run is)."""
    return {**{f"verdict.{v.lower()}": k for v, k in counts(rows).items()}, "verdict.states": len(rows),
            "verdict.too_noisy": float(bool(noisy))}


def record_in_mlflow(run_id: str, tracking_uri: str | None, tags: dict[str, str], metrics: dict[str, float],
                     files: list[Path], tries: int = RECORD_TRIES) -> None:
    """Tags, metrics (each at the time of this verdict) and artifacts (folder verdict/) on ``run_id``;
    written again, up to ``tries`` times, when another process recording on the run collided with it
    (mlflow_store.log_record: two DAGs' verdict rules on one shared parent run)."""
    import time

    from mlflow.entities import Metric, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db")
    now = int(time.time() * 1000)
    log_record(client, run_id, tags=[RunTag(k, v[:5000]) for k, v in tags.items()],  # MLflow's tag value limit
               metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()], tries=tries, who="verdict")
    for f in files:
        if Path(f).is_file():
            client.log_artifact(run_id, str(f), artifact_path="verdict")


def parse_fail_on(text: str) -> set[str]:
    names = {t.strip().upper() for t in text.split(",") if t.strip()}
    unknown = names - set(VERDICTS)
    if unknown:
        raise VerdictInputError(f"--fail-on: unknown verdict(s) {sorted(unknown)}; allowed: {', '.join(VERDICTS)}")
    return names


def verdict(baseline_dir: Path, candidate_dir: Path, out_dir: Path, settings: Settings | None = None,
            fail_on: str = "", mlflow_run: str | None = None, tracking_uri: str | None = None,
            labels: dict[str, str] | None = None, baseline_id: str | None = None, refine: Refine | None = None,
            stores: dict | None = None) -> tuple[int, list[VerdictRow]]:
    """Compare two results folders; write verdict.md, verdict.csv and verdict.png under ``out_dir``.
    Returns (exit status, rows): 1 when a state's verdict is in ``fail_on``, else 0; bad input
    raises VerdictInputError (exit status 2). ``labels`` name the runs in the outputs (default:
    their folders); ``baseline_id`` is the tag tpb.verdict.baseline (default: the baseline folder).
    ``refine`` takes a second look at the judged rows (Refine: the CPU backend's interleaved re-time),
    ``stores`` the runs' MLflow parent runs where known ({"baseline": StoreRun, "candidate": StoreRun})."""
    settings = settings or Settings()
    if not 0 < settings.confidence < 1 or not 0 <= settings.min_effect <= settings.max_band or settings.resamples < 100:
        raise VerdictInputError("need 0 < confidence < 1, 0 <= min_effect <= max_band and at least 100 resamples")
    failing = parse_fail_on(fail_on)
    baseline, candidate = load_run(baseline_dir), load_run(candidate_dir)
    notes = [n for n in (baseline.samples_note, candidate.samples_note) if n]
    differs = identity_differences(baseline.device, candidate.device)
    if differs and not settings.force:
        raise VerdictInputError("the runs are from different setups, so their timings are not comparable: "
                                + "; ".join(differs) + " (--force compares them anyway)")
    if differs:
        notes.append("compared although the setups differ (--force): " + "; ".join(differs))
    rows, facts = compare_runs(baseline, candidate, settings)
    if not rows:
        raise VerdictInputError(f"no state is in both {baseline_dir} and {candidate_dir}")
    noisy_runs = {"baseline": too_noisy(baseline, settings.min_effect, settings.max_band, 1.0 - settings.confidence),
                  "candidate": too_noisy(candidate, settings.min_effect, settings.max_band, 1.0 - settings.confidence)}
    widen = max([run_noise(run, max_band=settings.max_band) for who, run in (("baseline", baseline), ("candidate", candidate)) if noisy_runs[who]],
                default=0.0)
    rows = widen_when_noisy(rows, widen, settings.max_band)
    if widen > 0:
        notes.append(f"noise widens the band, it never vetoes: every state's band is at least ±{100 * widen:.1f} %, the "
                     "95th percentile of the noisy run's own repeat and A/A disagreement (run_noise)")
    for who, run in (("baseline", baseline), ("candidate", candidate)):
        notes += [f"the {who} run's {r} (those states' bands are as wide)" for r in imprecise_controls(run, settings.max_band)]
    mode_tags = {"tpb.verdict.mode": "separate runs"}
    if refine is not None:
        second = refine(rows, baseline, candidate, settings, dict(stores or {}), Path(out_dir))
        rows = second.rows
        notes += second.notes
        facts["facts"] = {**facts.get("facts", {}), **second.facts}
        mode_tags.update(second.tags)
    labels = labels or {}
    return finish_verdict(rows, facts, noisy_runs, notes, settings, out_dir, failing, mlflow_run, tracking_uri,
                          {"baseline": labels.get("baseline", str(baseline_dir)),
                           "candidate": labels.get("candidate", str(candidate_dir)),
                           "backend_label": candidate.device.get("backend_label", candidate.device.get("backend", "")),
                           "device_name": candidate.device.get("device_name", "")},
                          baseline_id or str(baseline_dir), mode_tags)


def run_noise(run: Run, quantile: float = 0.95, max_band: float = Settings.max_band) -> float:
    """How far a run disagrees with itself, run-wide: the ``quantile`` over its states of the spread of
    their repeats (repeat_spread) and over its compare rows of the A/A control's aa_term. Only a
    run too noisy to judge (too_noisy) uses it: every state's band widens to it (widen_when_noisy)."""
    spreads = [repeat_spread(g) for _, g in run.latency.groupby(STATE_KEYS)]
    cmp = run.compare
    if not cmp.empty and "control_ratio" in cmp:
        aa = aa_term(cmp["control_ratio"].astype(float), cmp["control_ratio_se"].astype(float).fillna(0.0), max_band)
        spreads += [float(v) for v in aa if np.isfinite(v)]
    return float(np.quantile(spreads, quantile)) if spreads else 0.0


def widen_when_noisy(rows: list[VerdictRow], widen: float, max_band: float) -> list[VerdictRow]:
    """Noise widens the band; it never vetoes (issue 28). In a comparison with a run too noisy to judge
    (``widen`` > 0: run_noise of that run), each state's band is at least ``widen`` and the state is
    judged again against it: an effect beyond what the run's own disagreement explains (a planted 3x
    slowdown on a loaded CPU) stays SLOW or FAST; a SAME under a band wider than ``max_band`` is
    AMBIGUOUS, as ever. A FAIL, or an AMBIGUOUS for a hot GPU or a moved host, stays as it is."""
    if widen <= 0:
        return rows
    out = []
    for r in rows:
        if r.verdict in ("FAST", "SLOW", "SAME") and widen > r.band:
            verdict = judge(r.ci_low, r.ci_high, widen)
            reason = f"band widened to ±{100 * widen:.1f} % from ±{100 * r.band:.1f} %: a run noisy beyond chance (header)"
            if verdict == "SAME" and widen > max_band:
                verdict = "AMBIGUOUS"
                reason += f"; wider than {100 * max_band:g} %, SAME would say nothing"
            r = replace(r, verdict=verdict, band=widen, band_from="noisy run", reason=reason)
        out.append(r)
    return out


def finish_verdict(rows: list[VerdictRow], facts: dict, noisy_runs: dict[str, list[str]], notes: list[str],
                   settings: Settings, out_dir: Path, failing: set[str], mlflow_run: str | None,
                   tracking_uri: str | None, names: dict[str, str], baseline_tag: str,
                   extra_tags: dict[str, str]) -> tuple[int, list[VerdictRow]]:
    """The outputs of a judged comparison (verdict.md/csv/png, MLflow tags and metrics) and its exit status."""
    methods = sorted({r.method for r in rows})
    alpha = 1.0 - settings.confidence
    header = {**names, "confidence": settings.confidence, "notes": notes, **facts, "too_noisy": noisy_runs,
              "false_positive_rate": (f"{100 * alpha:g} % per state at most (1 − the interval's confidence; a FAST or "
                                      f"SLOW also needs the Mann-Whitney rank test at P < {alpha:g} and the interval "
                                      f"beyond the band, so fewer: measured on CPU A/A pairs in docs/verdict.md); a "
                                      f"run whose repeat or A/A rows disagree more often than that rate explains "
                                      f"(binomial test, P < {NOISY_SIGNIFICANCE:g}) is too noisy: its band is widened "
                                      f"to its own disagreement (each such row says so), it is never vetoed"),
              "method": (f"{' and '.join(methods)} intervals"
                         + (f" (bootstrap: {settings.resamples} resamples within each repeat, seed {settings.seed})"
                            if any(m.startswith("bootstrap") for m in methods) else " (from the tables' median standard errors)")
                         + f"; band = max(min_effect {100 * settings.min_effect:g} %, A/A control |b′ ÷ b − 1| + "
                         f"min(2 SE, {100 * settings.max_band:g} %), repeat disagreement, {RESOLUTION_STEPS:g} timer steps, and in "
                         "separate runs the drift and scatter of the unchanged (native) states of the same mode: |median "
                         f"log ratio| + max(1.96 MAD, {100 * BETWEEN_QUANTILE:g}th percentile of the deviations): between "
                         "runs); FAST/SLOW "
                         "confirmed by a Mann-Whitney rank test (scipy.stats)")}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_markdown(out_dir / "verdict.md", rows, header)
    write_csv(out_dir / "verdict.csv", rows)
    draw(out_dir / "verdict.png", rows, header)
    n = counts(rows)
    noisy = [f"{who}: {r}" for who, rs in header["too_noisy"].items() for r in rs]
    if mlflow_run:
        record_in_mlflow(mlflow_run, tracking_uri,
                         {"tpb.verdict.baseline": baseline_tag, "tpb.verdict.counts": counts_tag(n),
                          "tpb.verdict.too_noisy": "; ".join(noisy) or "no", **extra_tags},
                         _verdict_metrics(rows, noisy),
                         [out_dir / f"verdict.{ext}" for ext in ("md", "csv", "png")])
    print(f"verdict: {', '.join(f'{v} {k}' for v, k in n.items())} -> {out_dir / 'verdict.md'}")
    for reason in noisy:
        print(f"noisy beyond chance (bands widened, nothing vetoed): {reason}")
    status = 1 if any(r.verdict in failing for r in rows) else 0
    for r in rows:  # a failed CI job's log names the states that failed it (Snakemake removes the outputs)
        if status and r.verdict in failing:
            print(f"  {r.verdict}: {_label(r)} ratio {r.ratio:.4f} [{r.ci_low:.4f}, {r.ci_high:.4f}]")
    return status, rows


# -- baselines from the MLflow store --------------------------------------------------------------
PARENT_ROLE, CHILD_ROLE = "pipeline", "sweep"  # tracking.py's roles (not imported: it imports pandas' world)
# the tags two runs must share to be the same setup (tracking.py's base tags), and what must differ
SAME_SETUP_TAGS = ("tpb.setup_hash", "tpb.backend", "tpb.gpu", "tpb.driver", "tpb.tensorrt")
PLUGIN_TAG = "tpb.plugin_hash"
SOURCE_TAG = "tpb.plugin_source_hash"  # the plugin's sources (plugin/), whatever the backend runs


@dataclass(frozen=True)
class StoreRun:
    """A pipeline parent run in the MLflow store."""

    run_id: str
    name: str
    experiment_id: str
    start_time: int
    tags: dict[str, str]
    params: dict[str, str] = field(default_factory=dict, compare=False)  # the flattened config (reference.extra_work)

    @property
    def label(self) -> str:
        return f"run {self.run_id[:12]} ({self.name})"


def open_store(tracking_uri: str):  # noqa: ANN201 - an MlflowClient (mlflow imported only when used)
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def _store_run(run) -> StoreRun:  # noqa: ANN001 - mlflow.entities.Run
    return StoreRun(run.info.run_id, run.info.run_name or "", run.info.experiment_id, int(run.info.start_time or 0),
                    dict(run.data.tags), dict(run.data.params))


def parent_run(client, run_id: str, uri: str) -> StoreRun:  # noqa: ANN001
    """The pipeline parent run ``run_id`` (a child run's id: its parent)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise VerdictInputError(f"no run {run_id} in the MLflow store {uri}") from exc
    if run.data.tags.get("tpb.role") == CHILD_ROLE and run.data.tags.get("mlflow.parentRunId"):
        run = client.get_run(run.data.tags["mlflow.parentRunId"])
    if run.data.tags.get("tpb.role") != PARENT_ROLE:
        raise VerdictInputError(f"run {run_id} in {uri} is not a trt-plugin-bench pipeline run (no tag tpb.role = "
                                f"{PARENT_ROLE}): name a parent run the log_mlflow rule made")
    return _store_run(run)


def _pipeline_runs(client, experiment_ids: list[str]) -> list[StoreRun]:  # noqa: ANN001
    """Every complete pipeline parent run, newest first."""
    runs = client.search_runs(experiment_ids, filter_string=f"tags.`tpb.role` = '{PARENT_ROLE}' and "
                              "tags.`tpb.complete` = 'true'", order_by=["attributes.start_time DESC"], max_results=50000)
    return [_store_run(r) for r in runs]


def _experiments(client, candidate: StoreRun | None) -> list[str]:  # noqa: ANN001
    if candidate is not None:
        return [candidate.experiment_id]
    return [e.experiment_id for e in client.search_experiments()]


def default_baseline(client, candidate: StoreRun, uri: str) -> StoreRun:  # noqa: ANN001
    """The latest run started before ``candidate`` of the same setup (SAME_SETUP_TAGS) but another
    plugin (PLUGIN_TAG); VerdictInputError saying what is missing when there is none."""
    missing = [t for t in (*SAME_SETUP_TAGS, PLUGIN_TAG) if not candidate.tags.get(t)]
    if missing:
        raise VerdictInputError(f"the candidate {candidate.label} has no tag {', '.join(missing)} (logged before "
                                "the verdict's baselines were): name the baseline with --baseline-run or --baseline")
    same_setup = [r for r in _pipeline_runs(client, [candidate.experiment_id])
                  if r.start_time < candidate.start_time and r.run_id != candidate.run_id
                  and all(r.tags.get(t) == candidate.tags[t] for t in SAME_SETUP_TAGS)]
    for run in same_setup:  # newest first
        if run.tags.get(PLUGIN_TAG) != candidate.tags[PLUGIN_TAG]:
            return run
    source = candidate.tags.get(SOURCE_TAG, "unknown")
    edited = [r for r in same_setup if r.tags.get(SOURCE_TAG, "unknown") not in ("unknown", source)]
    if candidate.tags.get("tpb.backend") == "reference" and source != "unknown" and edited:
        raise NotMeasurableHere(
            f"not measurable here (the CPU backend does not run the kernel): the plugin's sources changed since "
            f"{edited[0].label} ({SOURCE_TAG} {edited[0].tags[SOURCE_TAG][:12]} -> {source[:12]}), but the CPU reference "
            "backend times the operator's reference modules, never the plugin's kernel, so the edit cannot show in "
            "its timings; measure it with the TensorRT backend on a GPU (verdict --rebuild REV)")
    raise VerdictInputError(
        f"no baseline in the MLflow store {uri}: no run before the candidate {candidate.label} with the same setup "
        f"(tpb.setup_hash {candidate.tags['tpb.setup_hash'][:12]}, {candidate.tags['tpb.gpu']}, driver "
        f"{candidate.tags['tpb.driver']}, TensorRT {candidate.tags['tpb.tensorrt']}) and another plugin "
        f"(tpb.plugin_hash); {len(same_setup)} earlier run(s) of this setup have the same plugin: "
        "name one with --baseline-run, or a git revision with --baseline-rev")


def resolve_rev(rev: str, root: Path) -> str:
    """The commit ``git rev-parse`` names ``rev`` in ``root``; VerdictInputError naming the rev when none."""
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root,
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VerdictInputError(f"--baseline-rev {rev}: git rev-parse failed in {root} ({exc})") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        why = proc.stderr.strip().splitlines()
        raise VerdictInputError(f"--baseline-rev {rev}: not a git revision or tag in {root}"
                                + (f" ({why[-1]})" if why else ""))
    return proc.stdout.strip()


def rev_baseline(client, rev: str, root: Path, candidate: StoreRun | None, uri: str) -> StoreRun:  # noqa: ANN001
    """The latest run logged at the commit ``rev`` names (tag tpb.git_commit; '<sha>-dirty' for a
    tree with uncommitted changes): of the candidate's setup first, a clean tree's before a dirty one's."""
    sha = resolve_rev(rev, root)
    at = [r for r in _pipeline_runs(client, _experiments(client, candidate))
          if r.tags.get("tpb.git_commit") in (sha, f"{sha}-dirty")
          and (candidate is None or r.run_id != candidate.run_id)]
    if not at:
        raise VerdictInputError(f"--baseline-rev {rev}: no pipeline run in the MLflow store {uri} was logged at "
                                f"commit {sha[:12]} (tag tpb.git_commit)")

    def rank(r: StoreRun) -> tuple:
        same = candidate is not None and all(r.tags.get(t) == candidate.tags.get(t) for t in SAME_SETUP_TAGS)
        return (same, r.tags.get("tpb.git_commit") == sha, r.start_time)

    return max(at, key=rank)


def materialise(client, run: StoreRun, dest: Path, uri: str) -> Path:  # noqa: ANN001
    """A results-like folder of ``run`` under ``dest``: tables/ from the parent's artifacts, samples/
    from its child runs' (and those of the earlier children it reuses, tag tpb.reused_child_runs)."""
    dest = Path(dest)
    (dest / "samples").mkdir(parents=True, exist_ok=True)
    have = {a.path for a in client.list_artifacts(run.run_id, "tables")}
    if "tables/latency.csv" not in have or "tables/device.json" not in have:
        raise VerdictInputError(f"{run.label} in {uri} has no tables/latency.csv and tables/device.json artifacts "
                                "(logged before the tables were): compare against its results/ folder with --baseline")
    client.download_artifacts(run.run_id, "tables", str(dest))  # -> dest/tables/
    children = [c.info.run_id for c in client.search_runs(
        [run.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run.run_id}' and "
                                           f"tags.`tpb.role` = '{CHILD_ROLE}'", max_results=50000)]
    children += [c for c in run.tags.get("tpb.reused_child_runs", "").split(",") if c]
    for child in children:
        if client.list_artifacts(child, "samples"):
            client.download_artifacts(child, "samples", str(dest))  # -> dest/samples/<sweep>.npz
    return dest


def candidate_from_folder(folder: Path, uri: str) -> str | None:
    """The parent run id ``<folder>/mlflow/logged.json`` names, when it was logged to ``uri``."""
    logged = Path(folder) / "mlflow" / "logged.json"
    try:
        summary = json.loads(logged.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return summary.get("parent_run_id") if summary.get("tracking_uri") == uri else None


def write_no_baseline(out_dir: Path, reason: str, noisy: list[str], title: str = "no baseline") -> None:
    """The verdict files when there is nothing to compare with (a project's first run): they say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "verdict.md").write_text(f"# Verdict: {title}\n\nNothing to compare with: {reason}.\n"
                                        + "".join(f"\n**The {r.replace(': ', ' run is noisy beyond chance**: ', 1)}.\n"
                                                  for r in noisy))
    write_csv(out_dir / "verdict.csv", [])
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{title[0].upper()}{title[1:]}: no baseline run to compare with\n(see verdict.md)", ha="center",
            va="center")
    fig.savefig(out_dir / "verdict.png", dpi=100)
    plt.close(fig)


def verdict_from_store(candidate_dir: Path | None, out_dir: Path, tracking_uri: str, *, candidate_run: str | None = None,
                       baseline_dir: Path | None = None, baseline_run: str | None = None,
                       baseline_rev: str | None = None, settings: Settings | None = None, fail_on: str = "",
                       tag_run: str | None = None, missing_baseline_ok: bool = False,
                       git_root: Path | None = None, refine: Refine | None = None) -> tuple[int, list[VerdictRow]]:
    """The verdict with a baseline folder, run id, git revision or (none given) the default rule,
    and a candidate folder or run id; runs from the store are materialised in a temporary folder.
    The candidate's run (``candidate_run``, ``tag_run`` or the one its folder's logged.json names) is
    tagged. With ``missing_baseline_ok``, no default baseline writes verdict files saying so (exit 0).
    ``refine``: verdict's second look, handed the store runs of both sides where known."""
    from ..core.schema import PROJECT_ROOT

    parse_fail_on(fail_on)  # a bad name is exit 2 before anything is downloaded
    cand_id = candidate_run or (candidate_from_folder(candidate_dir, tracking_uri) if candidate_dir else None)
    needs_store = cand_id is not None or baseline_run or baseline_rev or baseline_dir is None
    client = open_store(tracking_uri) if needs_store else None
    candidate = parent_run(client, cand_id, tracking_uri) if cand_id else None
    tag_run = tag_run or (candidate.run_id if candidate else None)
    with tempfile.TemporaryDirectory(prefix="tpb-verdict-") as tmp:
        labels: dict[str, str] = {}
        if candidate_run:
            candidate_dir = materialise(client, candidate, Path(tmp) / "candidate", tracking_uri)
            labels["candidate"] = candidate.label
        baseline_id, base = None, None
        if baseline_dir is None:
            try:
                if baseline_run:
                    base = parent_run(client, baseline_run, tracking_uri)
                elif baseline_rev:
                    base = rev_baseline(client, baseline_rev, git_root or PROJECT_ROOT, candidate, tracking_uri)
                elif candidate is None:
                    raise VerdictInputError(
                        f"no baseline named and no candidate run to find one for: {candidate_dir}/mlflow/logged.json "
                        f"names no run in {tracking_uri}; give --baseline DIR, --baseline-run ID, --baseline-rev REV "
                        "or --candidate-run ID")
                else:
                    base = default_baseline(client, candidate, tracking_uri)
            except VerdictInputError as exc:
                if not (missing_baseline_ok and not baseline_run and not baseline_rev):
                    raise
                settings = settings or Settings()
                noisy = [f"candidate: {r}" for r in too_noisy(load_run(candidate_dir), settings.min_effect,
                                                              settings.max_band)]
                write_no_baseline(out_dir, str(exc), noisy, getattr(exc, "title", "no baseline"))
                if tag_run:  # the same tags and metric names as a judged run's, so mlflow ui compares them
                    record_in_mlflow(tag_run, tracking_uri,
                                     {"tpb.verdict.baseline": "none", "tpb.verdict.counts": counts_tag(counts([])),
                                      "tpb.verdict.too_noisy": "; ".join(noisy) or "no"},
                                     _verdict_metrics([], noisy), [Path(out_dir) / f"verdict.{e}" for e in ("md", "csv", "png")])
                print(f"verdict: {exc} -> {Path(out_dir) / 'verdict.md'}")
                return 0, []
            baseline_dir = materialise(client, base, Path(tmp) / "baseline", tracking_uri)
            labels["baseline"], baseline_id = base.label, base.run_id
            print(f"verdict: baseline {base.label}, started {base.start_time}")
        if candidate is not None and "candidate" not in labels:
            labels["candidate"] = f"{candidate_dir}, {candidate.label}"
        return verdict(Path(baseline_dir), Path(candidate_dir), out_dir, settings, fail_on, tag_run, tracking_uri,
                       labels, baseline_id, refine, {"baseline": base, "candidate": candidate})


__all__ = ["IDENTITY", "STATE_KEYS", "VERDICTS", "NotMeasurableHere", "Refine", "Refinement", "Settings", "StoreRun",
           "VerdictInputError", "VerdictRow",
           "bootstrap_ratio", "compare_runs", "default_baseline", "identity_differences", "judge", "load_run",
           "materialise", "normal_ratio", "rev_baseline", "too_noisy", "verdict", "verdict_from_store"]
