"""The timing statistics and the adaptive stopping rule, on synthetic samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from trt_plugin_bench.core.stats import (
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
    from trt_plugin_bench.core.stats import measure

    calls = []

    def sample() -> tuple[float, float]:
        calls.append(1)
        return (2.0 if len(calls) <= 5 else 1.0), 0.1  # the first (warm-up) runs are slower

    s = measure(sample, StoppingRule(target_rse=0.01, min_samples=10, warmup_min=5, warmup_time_s=0.0))
    assert s.median == 1.0 and s.stop_reason == "converged" and s.n >= 10


def test_batch_median_se_agrees_with_order_statistics_for_independent_samples() -> None:
    from trt_plugin_bench.core.stats import batch_median_standard_error

    rng = np.random.default_rng(11)
    ratios = [batch_median_standard_error(x) / median_standard_error(x) for x in rng.normal(10, 1, (200, 800))]
    assert np.median(ratios) == pytest.approx(1.0, abs=0.2)


def test_batch_median_se_sees_drift_the_order_statistics_miss() -> None:
    from trt_plugin_bench.core.stats import batch_median_standard_error, noise_standard_error

    rng = np.random.default_rng(12)
    # the timing creeps up 5 % across the window (clocks, temperature): each sample tight
    x = np.linspace(1.00, 1.05, 800) + rng.normal(0, 0.001, 800)
    assert batch_median_standard_error(x) > 5 * median_standard_error(x)
    assert noise_standard_error(x) == batch_median_standard_error(x)
    assert summarize(x).median_se == noise_standard_error(x)
    # too few samples for eight batches of five: the order statistics alone
    assert math.isnan(batch_median_standard_error(x[:39]))
    assert noise_standard_error(x[:39]) == median_standard_error(x[:39])


def test_interleaved_sampling_alternates_direction_and_converges() -> None:
    from trt_plugin_bench.core.stats import sample_interleaved

    order: list[str] = []
    rng = np.random.default_rng(14)

    def make(name: str, mean: float):  # noqa: ANN202
        def sample() -> tuple[float, float]:
            order.append(name)
            return float(rng.normal(mean, 0.01 * mean)), 0.0
        return sample

    (a, b), reason = sample_interleaved([make("a", 1.0), make("b", 2.0)],
                                        StoppingRule(target_rse=0.005, min_samples=10, max_samples=10000, max_time_s=1e9))
    assert reason == "converged" and a.size == b.size >= 10
    assert order[:6] == ["a", "b", "b", "a", "a", "b"]
    assert np.median(a) == pytest.approx(1.0, rel=0.01) and np.median(b) == pytest.approx(2.0, rel=0.01)


def test_aa_pattern_never_times_one_engine_twice_in_a_row_so_a_following_effect_cancels() -> None:
    """Planted fault: a sample taken right after one of the same engine is 6 % slower. Under the old
    order (a b b', b' b a) the A/A pair (b, b': one engine in two slots) came out about 5 % apart; each
    round a b a b' puts the other engine before every sample, so the A/A pair and a vs b (the same
    mean) agree. Rotation, the default for three samplers, never repeats a sampler either."""
    from trt_plugin_bench.core.stats import AA_PATTERN, interleave_order, sample_interleaved

    assert [interleave_order(3, r) for r in range(4)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]
    assert [interleave_order(2, r) for r in range(3)] == [[0, 1], [1, 0], [0, 1]]
    rng = np.random.default_rng(1402)
    last: list[str] = [""]
    engines: list[str] = []

    def make(engine: str):  # noqa: ANN202
        def sample() -> tuple[float, float]:
            engines.append(engine)
            value = float(rng.normal(3.3, 0.01)) * (1.06 if last[0] == engine else 1.0)
            last[0] = engine
            return value, 0.0
        return sample

    rule = StoppingRule(target_rse=1e-9, min_samples=10, max_samples=600, max_time_s=1e9)
    (a, b, b2), _ = sample_interleaved([make("cand"), make("base"), make("base")], rule, pattern=AA_PATTERN)
    assert all(engines[i] != engines[i + 1] for i in range(len(engines) - 1))
    assert np.median(b2) / np.median(b) == pytest.approx(1.0, abs=0.01)
    assert np.median(a) / np.median(b) == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="must name each"):
        sample_interleaved([make("cand"), make("base")], rule, pattern=(0, 0))


def test_interleaving_cancels_drift_in_a_ratio() -> None:
    from trt_plugin_bench.core.stats import sample_interleaved

    clock = FakeClock()
    t = iter(np.linspace(1.0, 1.2, 100000))  # the machine slows by 20 % over the window
    drift = {"value": 1.0}

    def make(scale: float):  # noqa: ANN202
        def sample() -> tuple[float, float]:
            drift["value"] = next(t)
            clock.t += 1e-3
            return scale * drift["value"], 0.0
        return sample

    rule = StoppingRule(target_rse=1e-9, min_samples=10, max_samples=400, max_time_s=1e9)
    (a, b), reason = sample_interleaved([make(0.99), make(1.0)], rule, clock)
    assert reason == "max_samples"
    assert np.median(a) / np.median(b) == pytest.approx(0.99, rel=1e-4)  # the true ratio despite the drift


def test_visit_noise_sees_drift_between_visits_that_each_window_misses() -> None:
    from trt_plugin_bench.core.stats import summarize_visits, visit_standard_error

    rng = np.random.default_rng(5)
    # the host's slow and fast spells (H100, 2026-11-24): each visit tight, visits 10 % apart
    levels = [10.0, 11.0, 10.2, 11.2, 10.1, 10.9, 10.4, 11.1]
    visits = [lvl + rng.normal(0, 0.05, 40) for lvl in levels]
    pooled = summarize(np.concatenate(visits))
    s = summarize_visits(visits, "8 visits")
    assert s.n == 320 and s.stop_reason == "8 visits"
    assert s.median == pooled.median
    expected = np.std([np.median(v) for v in visits], ddof=1) / math.sqrt(len(visits))
    assert s.median_se == pytest.approx(expected)
    # what one window alone reports is far smaller
    assert s.median_se > 10 * max(median_standard_error(v) for v in visits)
    # visits that agree leave the pooled estimate in charge; fewer than three say nothing
    same = [10.0 + rng.normal(0, 0.05, 40) for _ in range(8)]
    assert summarize_visits(same).median_se == summarize(np.concatenate(same)).median_se
    assert math.isnan(visit_standard_error(visits[:2]))
