"""The one measuring loop (measure.py) on fake timers: no GPU, no timing thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from trt_plugin_bench.backends.base import CheckResult
from trt_plugin_bench.core.stats import AA_PATTERN, StoppingRule
from trt_plugin_bench.measure.measure import Plan, SizeLimit, State, measure_interleaved, measure_state, measure_visits

RULE = StoppingRule(target_rse=1e-9, min_samples=4, max_samples=12, max_time_s=10.0, warmup_min=2, warmup_time_s=0.0)


class Timer:
    """Samples ``level`` seconds with a little noise; its output is right unless ``wrong``."""

    def __init__(self, level: float, log: list, name: str, wrong: bool = False, start: str = "blocked") -> None:
        self.level, self.log, self.name, self.wrong, self.start = level, log, name, wrong, start
        self.rng = np.random.default_rng(int(level * 1e9))
        self.verified = 0

    def __enter__(self) -> Timer:
        self.log.append(("open", self.name))
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append(("close", self.name))

    def sample(self) -> tuple[float, float]:
        self.log.append(("sample", self.name))
        return self.level + self.rng.normal(0, 1e-9), 1e-7

    def verify(self) -> CheckResult:
        self.verified += 1
        ok = not self.wrong
        return CheckResult(ok, 4, 0 if ok else 4, 0, 0.0 if ok else 1.0, 0.0, "ok" if ok else "4 of 4 wrong")


def state(op: str = "relu", shape: tuple[int, ...] = (4, 4), mode: str = "warm", seed: int = 1) -> State:
    return State(op, "fp32", "p", shape, mode, 2 * 4 * int(np.prod(shape)), seed=seed, label="shape 1 of 1")


def test_one_check_per_state_in_every_mode_and_one_row_per_repeat() -> None:
    log: list = []
    timers: dict = {}

    def open_timer(st: State, arena: object) -> Timer:
        timers[st.mode] = Timer(1e-5 if st.mode == "warm" else 2e-5, log, st.mode)
        return timers[st.mode]

    plan = Plan(open_timer, RULE, repeats=3, row=lambda m: (m.state.mode, m.repeat, m.summary.median))
    rows = [m.row for mode in ("warm", "cold") for m in measure_state(state(mode=mode), plan)]
    assert [r[:2] for r in rows] == [(mode, r) for mode in ("warm", "cold") for r in range(3)]
    assert timers["warm"].verified == 1 and timers["cold"].verified == 0, "checked once, on the state's first timer"
    assert all(r[2] == pytest.approx(1e-5 if r[0] == "warm" else 2e-5, rel=1e-3) for r in rows)


def test_a_wrong_output_stops_or_is_reported() -> None:
    def wrong(st: State, arena: object) -> Timer:
        return Timer(1e-5, [], "w", wrong=True)

    with pytest.raises(RuntimeError, match=r"relu/fp32 shape 4x4: wrong output: 4 of 4 wrong"):
        measure_state(state(), Plan(wrong, RULE))
    (m,) = measure_state(state(), Plan(wrong, RULE, raise_on_wrong=False))
    assert not m.check.ok and m.summary is not None


def test_a_state_over_the_limit_opens_no_timer_and_says_why() -> None:
    log: list = []
    plan = Plan(lambda st, a: Timer(1e-5, log, "t"), RULE, limit=SizeLimit(8, lambda n: f"{n} elements > 8"),
                row=lambda m: m.skipped or "measured")
    (m,) = measure_state(state(shape=(4, 4)), plan)
    assert m.summary is None and m.row == "16 elements > 8" and log == []
    assert [m.row for m in measure_state(state(shape=(2, 4)), plan)] == ["measured"]


def test_visits_take_turns_over_states_and_pool_every_visit() -> None:
    log: list = []
    plan = Plan(lambda st, a: Timer(st.seed * 1e-5, log, f"s{st.seed}"), RULE, repeats=2)
    states = [state(seed=1), state(seed=2)]
    ms = measure_visits(states, plan, visits=3)
    assert [(m.state.seed, m.repeat) for m in ms] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert [name for kind, name in log if kind == "open"] == ["s1", "s2"] * 3
    for m in ms:  # three visits of max_samples // 3 samples each, in the order taken
        assert m.summary.n == m.device.size == 3 * 4 and m.summary.stop_reason.startswith("3 visits")


def test_interleaved_with_its_control_on_one_arena() -> None:
    log: list = []
    arenas: list = []

    class Arena:
        def __enter__(self) -> Arena:
            arenas.append(self)
            return self

        def __exit__(self, *exc: object) -> None:
            log.append(("close", "arena"))

    seen: list = []

    def open_timer(st: State, arena: object) -> Timer:
        seen.append(arena)
        return Timer(1e-5 if st.operator == "a" else 2e-5, log, st.operator)

    m = measure_interleaved([state("a"), state("b")], Plan(open_timer, RULE), arena=Arena, control=True,
                            pattern=AA_PATTERN)
    assert len(arenas) == 1 and seen == arenas * 2
    assert [s.n for s in m.summaries] == [24, 12, 12]  # a twice a round (a b a b'), b and b' once
    assert m.summaries[0].median == pytest.approx(1e-5, rel=1e-3)
    assert m.control_summary.median == pytest.approx(2e-5, rel=1e-3)
    assert log[-1] == ("close", "arena"), "timers close before their arena"
    warm_ups = RULE.warmup_min * 2  # each warm-up stops after two batches that agree
    sampled = [name for kind, name in log if kind == "sample"][2 * warm_ups:]
    assert sampled[:8] == ["a", "b", "a", "b"] * 2, "a b a b': never one engine twice in a row"


def test_interleaved_refuses_mixed_start_kinds() -> None:
    def open_timer(st: State, arena: object) -> Timer:
        return Timer(1e-5, [], st.operator, start="idle" if st.operator == "b" else "blocked")

    with pytest.raises(RuntimeError, match="ratio would mean nothing"):
        measure_interleaved([state("a"), state("b")], Plan(open_timer, RULE))
