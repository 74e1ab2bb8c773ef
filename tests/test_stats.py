"""The timing statistics and the adaptive stopping rule, on synthetic samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from trt_plugin_bench.stats import (
    StoppingRule,
    agree_within_noise,
    median_standard_error,
    sample_until_stable,
    summarize,
    warm_up,
)


class FakeClock:
    """Advances by a fixed step per sample so time budgets are deterministic."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def sampler(values: np.ndarray, clock: FakeClock, step: float = 1e-3):
    it = iter(values)

    def sample() -> tuple[float, float]:
        clock.t += step
        v = float(next(it))
        return v, v / 10

    return sample


def test_summary_percentiles_match_numpy() -> None:
    x = np.random.default_rng(1).lognormal(0, 0.3, 1001)
    s = summarize(x, "converged")
    assert s.n == 1001
    assert s.median == pytest.approx(np.median(x))
    assert s.p90 == pytest.approx(np.percentile(x, 90))
    assert s.p99 == pytest.approx(np.percentile(x, 99))
    assert s.min == x.min() and s.max == x.max()
    assert s.mean == pytest.approx(x.mean())


def test_median_se_matches_theory_for_normal_samples() -> None:
    # for N(mu, sigma), SE(median) ~ 1.2533 sigma / sqrt(n)
    rng = np.random.default_rng(2)
    ses = [median_standard_error(rng.normal(10, 1, 400)) for _ in range(200)]
    assert np.mean(ses) == pytest.approx(1.2533 / math.sqrt(400), rel=0.15)


def test_median_se_needs_three_samples() -> None:
    assert median_standard_error(np.array([1.0, 2.0])) == math.inf


def test_stops_when_converged() -> None:
    clock = FakeClock()
    values = np.random.default_rng(3).normal(1.0, 0.05, 100000)
    rule = StoppingRule(target_rse=0.01, min_samples=10, max_samples=100000, max_time_s=1e9)
    dev, host, reason = sample_until_stable(sampler(values, clock), rule, clock)
    assert reason == "converged"
    # theory: n ~ (1.2533 * 0.05 / 0.01)^2 ~ 39; geometric checks overshoot a little
    assert 20 <= dev.size <= 120
    assert median_standard_error(dev) / np.median(dev) <= 0.01
    assert host.size == dev.size


def test_stops_on_time_budget_when_too_noisy() -> None:
    clock = FakeClock()
    values = np.random.default_rng(4).lognormal(0, 2.0, 100000)
    rule = StoppingRule(target_rse=1e-4, min_samples=10, max_samples=100000, max_time_s=0.05)
    dev, _, reason = sample_until_stable(sampler(values, clock, step=1e-3), rule, clock)
    assert reason == "time_budget"
    assert dev.size == 50


def test_stops_at_max_samples() -> None:
    clock = FakeClock()
    values = np.random.default_rng(5).lognormal(0, 2.0, 1000)
    rule = StoppingRule(target_rse=1e-6, min_samples=5, max_samples=37, max_time_s=1e9)
    dev, _, reason = sample_until_stable(sampler(values, clock), rule, clock)
    assert reason == "max_samples" and dev.size == 37


def test_min_samples_respected_even_if_budget_spent() -> None:
    clock = FakeClock()
    values = np.random.default_rng(6).lognormal(0, 2.0, 1000)
    rule = StoppingRule(target_rse=1e-6, min_samples=25, max_samples=1000, max_time_s=0.0)
    dev, _, reason = sample_until_stable(sampler(values, clock), rule, clock)
    assert dev.size == 25 and reason == "time_budget"


def test_warm_up_runs_until_stable() -> None:
    # first runs are slow (module load, clocks ramping), then steady
    values = np.concatenate([np.linspace(10, 2, 15), np.full(1000, 1.0)])
    clock = FakeClock()
    runs = warm_up(sampler(values, clock), StoppingRule(warmup_min=5, warmup_time_s=0.0), clock)
    assert runs >= 20  # it kept going through the slow start
    assert runs <= 30


def test_agreement_within_noise() -> None:
    a = summarize(np.random.default_rng(7).normal(1.0, 0.01, 500))
    b = summarize(np.random.default_rng(8).normal(1.0, 0.01, 500))
    c = summarize(np.random.default_rng(9).normal(1.1, 0.01, 500))
    assert agree_within_noise(a, b)
    assert not agree_within_noise(a, c)
    quantized = summarize(np.full(50, 2.0))
    one_tick = summarize(np.full(50, 2.5))
    assert not agree_within_noise(quantized, one_tick)
    assert agree_within_noise(quantized, one_tick, resolution=0.5)


def test_measure_warms_up_then_summarizes() -> None:
    from trt_plugin_bench.stats import measure

    calls = []

    def sample() -> tuple[float, float]:
        calls.append(1)
        return (2.0 if len(calls) <= 5 else 1.0), 0.1  # the first (warm-up) runs are slower

    s = measure(sample, StoppingRule(target_rse=0.01, min_samples=10, warmup_min=5, warmup_time_s=0.0))
    assert s.median == 1.0 and s.stop_reason == "converged" and s.n >= 10
