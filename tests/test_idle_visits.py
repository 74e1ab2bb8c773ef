"""Idle-start modes are sampled in visits spread over the rule (sweeps._idle_rows), on a fake
engine whose host drifts slowly: no GPU needed."""

from __future__ import annotations

import numpy as np
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.commands.sweeps import _latency_rows
from trt_plugin_bench.core.oracle import CheckResult
from trt_plugin_bench.core.records import LatencyRow
from trt_plugin_bench.core.stats import StoppingRule, TimingSummary, agree_within_noise
from typed import typed


def _summary_of(r: LatencyRow) -> TimingSummary:
    return TimingSummary(r.n, r.min_us, r.median_us, r.mean_us, r.p90_us, r.p99_us, r.max_us, r.stdev_us,
                         r.median_se_us, r.stop_reason)


class DriftingHost:
    """Latency 10 us on a fast spell, 11 us on a slow one; spells change every 300 samples,
    far slower than one state's window."""

    def __init__(self) -> None:
        self.calls = 0
        self.rng = np.random.default_rng(3)

    def sample(self) -> float:
        self.calls += 1
        level = 10e-6 if (self.calls // 300) % 2 == 0 else 11e-6
        return level + self.rng.normal(0, 2e-8)


class FakeTimer:
    def __init__(self, host: DriftingHost, log: list, shape: tuple[int, ...], mode: str) -> None:
        self.host, self.start = host, "idle" if mode in ("stream", "graph") else "blocked"
        log.append((shape, mode))

    def __enter__(self) -> FakeTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def sample(self) -> tuple[float, float]:
        return self.host.sample(), 1e-6

    def verify(self) -> CheckResult:
        return CheckResult(True, 4, 0, 0, 0.0, 0.0, "ok")


class FakeEngine:
    def __init__(self) -> None:
        self.spec = EngineSpec("relu", "relu", "native", "", "fp32", "p", (1, 4), (1, 4), (64, 4), 1.0)
        self.host = DriftingHost()
        self.opened: list = []

    def timer(self, shape, mode, seed, verify_max_elements):  # noqa: ANN001, ANN201
        return FakeTimer(self.host, self.opened, tuple(shape), mode)


class FakeBackend:
    name, timing_clock = "fake", "cuda_event"


def test_idle_modes_visit_every_state_in_turn_and_report_the_drift() -> None:
    engine = FakeEngine()
    rule = StoppingRule(target_rse=0.01, min_samples=20, max_samples=5000, max_time_s=10.0, warmup_min=3,
                        warmup_time_s=0.0)
    config = typed("timing.verify_max_elements=1048576", "timing.idle_visits=6")
    shapes = [(1, 4), (8, 4), (64, 4)]
    rows = _latency_rows(config, FakeBackend(), engine, shapes, ["warm", "stream", "graph"], None, 2, rule, "fake")
    assert len(rows) == 3 * 3 * 2
    idle = [r for r in rows if r.mode in ("stream", "graph")]
    assert all(r.stop_reason.startswith("6 visits") and r.n >= 6 * 20 for r in idle)
    # the warm rows first, state by state; then round-robin visits: stream then graph over every shape
    warm_opened = [o for o in engine.opened if o[1] == "warm"]
    assert warm_opened == [(s, "warm") for s in shapes]
    visits = engine.opened[len(shapes):]
    assert visits == [(s, m) for _ in range(6) for m in ("stream", "graph") for s in shapes]
    # every repeat pooled spells of both speeds, so its noise reports them, and repeats agree
    by_state: dict = {}
    for r in idle:
        by_state.setdefault((r.shape, r.mode), []).append(r)
        assert r.rse > 0.005  # a 10 % two-level drift, not the 0.2 % of one window
    for a, b in by_state.values():
        assert agree_within_noise(_summary_of(a), _summary_of(b))
