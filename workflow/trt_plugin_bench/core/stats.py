"""Timing statistics: summaries, the median's standard error, and the adaptive stopping rule.

nvbench's idea, kept small: sample until the noise is known to be small enough, or a time budget
ends, and always report how noisy the number is. The median's standard error is the larger of two
estimates: the distribution-free order-statistic interval (right for independent samples, however
skewed) and the spread of the medians of consecutive batches (the batch-means method: it also sees
the samples drift during the window, which the order statistics cannot).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import schema_defaults

Z95 = 1.959963984540054
DRIFT_BATCHES = 8  # consecutive batches for the batch-median standard error
MIN_PER_BATCH = 5  # below 8 x 5 samples only the order-statistic estimate is used


_TIMING = schema_defaults("timing")  # the schema is the one place defaults live


@dataclass(frozen=True)
class StoppingRule:
    """When sampling one state stops; each default is config timing's schema default."""

    target_rse: float = _TIMING["target_rse"]
    min_samples: int = _TIMING["min_samples"]
    max_samples: int = _TIMING["max_samples"]
    max_time_s: float = _TIMING["max_time_s"]
    warmup_min: int = _TIMING["warmup_min"]
    warmup_time_s: float = _TIMING["warmup_time_s"]
    # warm-up ends when two consecutive warm-up batch medians agree within this fraction
    warmup_stable_tol: float = 0.05
    warmup_max_batches: int = 20

    @classmethod
    def from_config(cls, timing: Any) -> StoppingRule:
        """From a timing section: settings.TimingSettings, or a validated mapping (timing, tune.timing)."""
        get = timing.__getitem__ if isinstance(timing, Mapping) else lambda k: getattr(timing, k)
        return cls(**{k: get(k) for k in ("target_rse", "min_samples", "max_samples", "max_time_s", "warmup_min",
                                          "warmup_time_s")})


@dataclass(frozen=True)
class TimingSummary:
    """Statistics of one measured state, in seconds unless named otherwise."""

    n: int
    min: float
    median: float
    mean: float
    p90: float
    p99: float
    max: float
    stdev: float
    median_se: float
    stop_reason: str

    @property
    def rse(self) -> float:
        """Relative standard error of the median: the noise figure reported with every number
        (see noise_standard_error)."""
        return self.median_se / self.median if self.median > 0 else math.inf


def median_standard_error(samples: np.ndarray) -> float:
    """Standard error of the median from the 95 % order-statistic interval (n >= 3).

    Hand-written on purpose: scipy.stats has no standard error of the median (its bootstrap would
    cost thousands of medians, and this runs inside the sampling loop at every geometric check);
    scipy.stats.mstats.median_cihs gives an interpolated (Hettmansperger-Sheather) interval through
    masked arrays, a different number at small n, slower, for the same binomial argument. The two lines
    below are that argument: the ranks n/2 ± z·√n/2 bracket the median with 95 % probability."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = x.size
    if n < 3:
        return math.inf
    half_width = Z95 * math.sqrt(n) / 2.0
    lo = max(int(math.floor(n / 2.0 - half_width)), 0)
    hi = min(int(math.ceil(n / 2.0 + half_width)), n - 1)
    return float(x[hi] - x[lo]) / (2.0 * Z95)


def batch_median_standard_error(samples: np.ndarray | list[float], batches: int = DRIFT_BATCHES) -> float:
    """Standard error of the median from the medians of ``batches`` consecutive batches of the
    samples, in the order they were taken; NaN with fewer than batches x MIN_PER_BATCH samples.

    For independent samples it estimates the same quantity as the order-statistic interval (the
    median of n/B samples varies B times as much as the median of n); when the timing drifts
    during the window (clocks, temperature, host load) the batches disagree and it grows.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.size < batches * MIN_PER_BATCH:
        return math.nan
    medians = np.array([np.median(b) for b in np.array_split(x, batches)])
    return float(medians.std(ddof=1) / math.sqrt(batches))


def noise_standard_error(samples: np.ndarray | list[float]) -> float:
    """The reported noise: the larger of the order-statistic and the batch-median estimates."""
    se = median_standard_error(samples)
    drift = batch_median_standard_error(samples)
    return se if math.isnan(drift) else max(se, drift)


def summarize(samples: np.ndarray | list[float], stop_reason: str = "") -> TimingSummary:
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    p90, p99 = np.percentile(x, [90, 99])
    return TimingSummary(
        n=int(x.size),
        min=float(x.min()),
        median=float(np.median(x)),
        mean=float(x.mean()),
        p90=float(p90),
        p99=float(p99),
        max=float(x.max()),
        stdev=float(x.std(ddof=1)) if x.size > 1 else 0.0,
        median_se=noise_standard_error(x),
        stop_reason=stop_reason,
    )


def visit_standard_error(visits: list[np.ndarray]) -> float:
    """Standard error of the median from the medians of separate visits to one state (NaN with
    fewer than 3): the batch-means method with batches spread over minutes, not milliseconds, so
    it sees drift slower than one window, which consecutive batches cannot."""
    medians = np.array([np.median(v) for v in visits if len(v)])
    if medians.size < 3:
        return math.nan
    return float(medians.std(ddof=1) / math.sqrt(medians.size))


def summarize_visits(visits: list[np.ndarray], stop_reason: str = "") -> TimingSummary:
    """One state sampled in several visits: statistics of all samples together, noise the larger
    of the pooled estimate and the spread of the visit medians."""
    pooled = summarize(np.concatenate([np.asarray(v, dtype=np.float64) for v in visits]), stop_reason)
    spread = visit_standard_error(visits)
    if math.isnan(spread) or spread <= pooled.median_se:
        return pooled
    return replace(pooled, median_se=spread)


SampleFn = Callable[[], tuple[float, float]]
"""One timed execution: returns (device seconds, host enqueue seconds)."""


def warm_up(sample: SampleFn, rule: StoppingRule, clock: Callable[[], float] = time.perf_counter) -> int:
    """Run until the time is stable: consecutive batch medians agree, after a minimum of runs."""
    start = clock()
    runs = 0
    previous: float | None = None
    for _ in range(rule.warmup_max_batches):
        batch = [sample()[0] for _ in range(rule.warmup_min)]
        runs += len(batch)
        current = float(np.median(batch))
        stable = previous is not None and abs(current - previous) <= rule.warmup_stable_tol * previous
        if stable and clock() - start >= rule.warmup_time_s:
            break
        previous = current
    return runs


def sample_until_stable(
    sample: SampleFn, rule: StoppingRule, clock: Callable[[], float] = time.perf_counter
) -> tuple[np.ndarray, np.ndarray, str]:
    """Sample until the median's relative standard error is under target, or a budget ends.

    Returns device samples, host enqueue samples and why sampling stopped: 'converged',
    'time_budget' or 'max_samples'. The error is re-estimated at geometric intervals so the
    check costs O(n log n) overall, not O(n^2 log n).
    """
    device: list[float] = []
    host: list[float] = []

    def step() -> None:
        d, h = sample()
        device.append(d)
        host.append(h)

    reason = _sample_loop(step, [device], rule, clock, rule.max_time_s)
    return np.asarray(device), np.asarray(host), reason


def _relative_noise(samples: list[float]) -> float:
    med = float(np.median(samples))
    return noise_standard_error(samples) / med if med > 0 else math.inf


def _sample_loop(step: Callable[[], None], series: list[list[float]], rule: StoppingRule,
                 clock: Callable[[], float], budget_s: float) -> str:
    """Call ``step`` (one sample onto each series) until every series' median is known to the
    target, ``max_samples`` steps, or ``budget_s`` after at least ``min_samples``; returns why it
    stopped. The noise is re-estimated at geometric intervals: O(n log n) overall."""
    start = clock()
    next_check = rule.min_samples
    n = 0
    while True:
        step()
        n += 1
        if n >= next_check:
            if all(_relative_noise(s) <= rule.target_rse for s in series):
                return "converged"
            next_check = max(n + 1, int(n * 1.25))
        if n >= rule.max_samples:
            return "max_samples"
        if n >= rule.min_samples and clock() - start >= budget_s:
            return "time_budget"


def measure(sample: SampleFn, rule: StoppingRule) -> TimingSummary:
    """Warm up, sample until stable, summarize: one measured state whose GPU state is not read
    between warm-up and sampling (calibration, the brief dynamic-shape timings)."""
    warm_up(sample, rule)
    device, _, reason = sample_until_stable(sample, rule)
    return summarize(device, reason)


def interleave_order(n: int, round_index: int) -> list[int]:
    """The samplers' order in one round of sample_interleaved when no pattern is given. Two
    alternate (A B, B A, ...); three or more rotate (A B C, B C A, C A B, ...), so each takes every
    position equally often and none is sampled twice in a row."""
    if n <= 2:
        return list(range(n)) if round_index % 2 == 0 else list(reversed(range(n)))
    k = round_index % n
    return [(k + i) % n for i in range(n)]


# An A/A control: samplers [a, b, b again] where b and "b again" time ONE engine. Each round is
# a b a b', so every sample of either engine follows one of the other: no slot of b's is the
# second of two b samples in a row. The older order (a b b', b' b a) sampled b twice or more in a
# row at every turn, and on the H200 (2026-12-02) that alone put the A/A control 5-8 % from 1 in
# small warm states (3.3 us, one engine timed twice), and a ratio of the same code as far.
AA_PATTERN = (0, 1, 0, 2)


def sample_interleaved(
    samplers: list[SampleFn], rule: StoppingRule, clock: Callable[[], float] = time.perf_counter,
    pattern: tuple[int, ...] | None = None,
) -> tuple[list[np.ndarray], str]:
    """Sample several states in alternation until every one's median is known to the target, or
    the budget (``max_time_s`` per state) ends: the way to compare two implementations whose
    difference is smaller than run-to-run drift. Each round samples in ``pattern`` (indices into
    ``samplers``; AA_PATTERN for an A/A control) or, by default, in interleave_order's
    counterbalanced order, so drift during the window and any effect of a position fall on every
    state alike."""
    if not samplers:
        raise ValueError("nothing to sample")
    if pattern is not None and sorted(set(pattern)) != list(range(len(samplers))):
        raise ValueError(f"pattern {pattern} must name each of the {len(samplers)} samplers")
    samples: list[list[float]] = [[] for _ in samplers]
    rounds = [0]

    def step() -> None:
        for i in pattern if pattern is not None else interleave_order(len(samplers), rounds[0]):
            samples[i].append(samplers[i]()[0])
        rounds[0] += 1

    per_round = len(pattern) if pattern is not None else len(samplers)
    reason = _sample_loop(step, samples, rule, clock, rule.max_time_s * per_round)
    return [np.asarray(s) for s in samples], reason


def median_ratio(a: TimingSummary, b: TimingSummary) -> tuple[float, float]:
    """a's median over b's, and its standard error (relative errors added in quadrature)."""
    ratio = a.median / b.median
    return ratio, ratio * math.hypot(a.rse, b.rse)


def agree_within_noise(
    a: TimingSummary, b: TimingSummary, k: float = 3.0, resolution: float = 0.0
) -> bool:
    """Two measurements of one state agree when their medians differ by <= k combined SEs.

    ``resolution`` is the clock's tick: identical quantized samples have a zero SE, yet two runs
    can still land one tick apart.
    """
    combined = math.hypot(a.median_se, b.median_se, resolution)
    return abs(a.median - b.median) <= k * combined
