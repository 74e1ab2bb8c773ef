"""The verdict command (issue 14): planted slowdowns are SLOW, identical work is never SLOW or FAST,
a wrong output is FAIL, runs of different setups are refused, and the exit status follows --fail-on.

Synthetic results folders are written in the pipeline's formats (tables/latency.csv with
LatencyRow's columns, tables/device.json, samples/*.npz as samples.py writes them)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from project_copy import copy_project
from trt_plugin_bench.cli import main
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.config import ConfigError, validate_config
from trt_plugin_bench.core.operators import OPERATORS
from trt_plugin_bench.core.records import CompareRow, LatencyRow, columns
from trt_plugin_bench.core.specs import numerics_of
from trt_plugin_bench.core.stats import summarize
from trt_plugin_bench.report import mlflow_store
from trt_plugin_bench.report import verdict as verdict_mod
from trt_plugin_bench.report.verdict import (
    STATE_KEYS,
    Settings,
    VerdictInputError,
    bootstrap_ratio,
    judge,
    verdict,
    verdict_from_store,
)
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
DEVICE = {"backend": "tensorrt", "backend_label": "TensorRT 8.6.1 on NVIDIA H200", "timing_clock": "cuda_event",
          "device_name": "NVIDIA H200", "driver_version": "580.159.04", "cuda_version": "12.8",
          "tensorrt_version": "8.6.1", "date": "2026-12-02"}
STATES = [(op, dtype, "sweep", shape, mode) for op in ("swish_plugin", "relu") for dtype in ("fp32", "fp16")
          for shape in ("1024x1024", "4096x1024") for mode in ("warm", "cold")]
# the rate of identical runs called SLOW or FAST that the tests allow (measured: 0 of 20 x 16 states)
MAX_FALSE_POSITIVE_RATE = 0.0


def write_run(root: Path, seed: int, *, scale: dict | None = None, n: int = 400, sigma: float = 0.05,
              device: dict | None = None, unverified: tuple = (), repeat_skew: float = 1.0, sm_clock: int = 1980,
              samples: bool = True, compare_control: float | None = None, control_se: float = 0.001) -> Path:
    """A results folder: every state of STATES twice (repeats), lognormal samples around a state's
    own base time times ``scale[operator]``. ``repeat_skew`` scales repeat 1 (a run disagreeing
    with itself); ``unverified`` lists states whose output check failed."""
    rng = np.random.default_rng(seed)
    rows, files = [], {}
    for key in STATES:
        op, dtype, profile, shape, mode = key
        base = 10.0 + 40.0 * (zlib_hash(key) % 97) / 97.0  # each state its own time, the same in every run
        for r in range(2):
            x = base * (scale or {}).get(op, 1.0) * (repeat_skew if r else 1.0) * rng.lognormal(0.0, sigma, n)
            s = summarize(x)
            row = dict.fromkeys(columns(LatencyRow), 0)
            row.update(backend=(device or DEVICE)["backend"], device_name=(device or DEVICE)["device_name"], operator=op,
                       implementation="plugin_v2" if op.startswith("swish") else "native", kernel="x1", dtype=dtype,
                       profile=profile, shape=shape, elements=int(np.prod([int(v) for v in shape.split("x")])),
                       mode=mode, start="blocked", repeat=r, n=s.n, min_us=s.min, median_us=s.median,
                       mean_us=s.mean, p90_us=s.p90, p99_us=s.p99, max_us=s.max, stdev_us=s.stdev,
                       median_se_us=s.median_se, rse=s.median_se / s.median, stop_reason="converged",
                       verified=key not in unverified, throttled=False, sm_clock_start_mhz=sm_clock,
                       sm_clock_end_mhz=sm_clock, timing_clock="cuda_event")
            rows.append(row)
            files.setdefault((op, dtype, profile), {})[f"{shape}|{mode}|{r}"] = x.astype(np.float32)
    tables = root / "tables"
    tables.mkdir(parents=True)
    pd.DataFrame(rows, columns=columns(LatencyRow)).to_csv(tables / "latency.csv", index=False)
    (tables / "device.json").write_text(json.dumps(device or DEVICE))
    if compare_control is not None:  # one compare row per shape and mode of fp32, its A/A control as given
        cmp = []
        for shape in ("1024x1024", "4096x1024"):
            row = dict.fromkeys(columns(CompareRow), 0)
            row.update(backend="tensorrt", operator_a="swish_plugin", operator_b="swish_native", dtype="fp32",
                       profile="sweep", shape=shape, mode="cold", ratio=1.0, ratio_se=0.001,
                       control_ratio=compare_control, control_ratio_se=control_se, verified=True)
            cmp.append(row)
        pd.DataFrame(cmp, columns=columns(CompareRow)).to_csv(tables / "compare.csv", index=False)
    if samples:
        (root / "samples").mkdir()
        for (op, dtype, profile), arrays in files.items():
            meta = {"operator": op, "dtype": dtype, "profile": profile, "backend": (device or DEVICE)["backend"],
                    "device_name": (device or DEVICE)["device_name"], "kernel": "x1"}
            np.savez_compressed(root / "samples" / f"{op}__{dtype}__{profile}.npz", __meta__=np.str_(json.dumps(meta)),
                                **arrays)
    return root


def zlib_hash(key: tuple) -> int:
    import zlib

    return zlib.crc32("|".join(key).encode())


def by_op(rows: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r.operator, set()).add(r.verdict)
    return out


def test_judge_bands() -> None:
    assert judge(1.05, 1.08, 0.01) == "SLOW"
    assert judge(0.90, 0.95, 0.01) == "FAST"
    assert judge(0.995, 1.004, 0.01) == "SAME"
    assert judge(1.005, 1.02, 0.01) == "AMBIGUOUS"  # above 1, but not beyond the band
    assert judge(0.98, 1.03, 0.01) == "AMBIGUOUS"


def test_bootstrap_interval_covers_a_known_ratio() -> None:
    rng = np.random.default_rng(1)
    b = [rng.lognormal(0, 0.05, 500) for _ in range(2)]
    c = [1.07 * rng.lognormal(0, 0.05, 500) for _ in range(2)]
    ratio, low, high = bootstrap_ratio(b, c, seed=3)
    assert low < 1.07 < high and low < ratio < high
    assert bootstrap_ratio(b, c, seed=3) == (ratio, low, high)  # the fixed seed: the same interval every time


def _as_stream(root: Path, host_us: float) -> None:
    """Relabel a run's warm states as back-to-back (stream) ones whose enqueue took ``host_us``."""
    table = pd.read_csv(root / "tables" / "latency.csv")
    table["host_enqueue_median_us"] = table["host_enqueue_median_us"].astype(float)
    table.loc[table["mode"] == "warm", "host_enqueue_median_us"] = host_us
    table["mode"] = table["mode"].replace({"warm": "stream"})
    table.to_csv(root / "tables" / "latency.csv", index=False)
    for f in (root / "samples").glob("*.npz"):
        with np.load(f) as z:
            arrays = {k.replace("|warm|", "|stream|"): z[k] for k in z.files}
        np.savez_compressed(f, **arrays)


def test_a_stream_state_whose_host_enqueue_moved_between_runs_is_flagged_not_blamed(tmp_path: Path) -> None:
    """Planted: the candidate 10 % slower everywhere, and its run's host 33 % faster at enqueue (the
    H200's naive-kernel run: 9.95 vs 6.68 us). Separate runs can't tell the host from the change in a
    back-to-back state: AMBIGUOUS, naming the host; the states that don't count the host stay SLOW;
    the same host in both runs leaves the stream states SLOW."""
    from trt_plugin_bench.report.verdict import host_moved

    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 1.10})
    same_host = write_run(tmp_path / "same_host", 2, scale={"swish_plugin": 1.10})
    _as_stream(base, 9.95)
    _as_stream(cand, 6.68)
    _as_stream(same_host, 9.90)
    _, rows = verdict(base, cand, tmp_path / "out")
    plugin = [r for r in rows if r.operator == "swish_plugin"]
    assert {r.verdict for r in plugin if r.mode == "stream"} == {"AMBIGUOUS"}
    assert all("host moved" in r.reason and "6.68" in r.reason for r in plugin if r.mode == "stream")
    assert {r.verdict for r in plugin if r.mode == "cold"} == {"SLOW"}
    _, rows = verdict(base, same_host, tmp_path / "out_same_host")
    assert {r.verdict for r in rows if r.operator == "swish_plugin"} == {"SLOW"}
    frame = pd.DataFrame({"backend": ["reference"], "host_enqueue_median_us": [1.0]})
    assert host_moved(frame, frame.assign(host_enqueue_median_us=2.0), "stream", 0.01) == ""  # the CPU: no host to blame


def test_planted_slowdown_is_slow(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 1.10})
    status, rows = verdict(base, cand, tmp_path / "out", fail_on="SLOW")
    verdicts = by_op(rows)
    assert verdicts["swish_plugin"] == {"SLOW"}, [(r.shape, r.ratio, r.ci_low, r.band) for r in rows]
    assert "SLOW" not in verdicts["relu"] and "FAST" not in verdicts["relu"]
    assert status == 1
    assert {r.method for r in rows} == {"bootstrap"}
    for name in ("verdict.md", "verdict.csv", "verdict.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    table = pd.read_csv(tmp_path / "out" / "verdict.csv")
    assert len(table) == len(STATES) and (table["ci_low"] <= table["ratio"]).all()
    md = (tmp_path / "out" / "verdict.md").read_text()
    assert f"SLOW {len(STATES) // 2}" in md and "noisy beyond chance" not in md
    assert (table["rank_p"] < 0.05).sum() >= len(STATES) // 2  # the rank test's P, confirming each SLOW


def test_planted_speedup_is_fast_and_tables_alone_suffice(tmp_path: Path) -> None:
    """Without samples (a results folder from before they were kept) the tables' standard errors give
    the interval, and the header says so."""
    base = write_run(tmp_path / "base", 1, samples=False)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 0.85}, samples=False)
    _, rows = verdict(base, cand, tmp_path / "out")
    assert by_op(rows)["swish_plugin"] == {"FAST"}
    assert {r.method for r in rows} == {"normal"}
    assert "no raw samples" in (tmp_path / "out" / "verdict.md").read_text()


def test_identical_work_is_never_slow_or_fast(tmp_path: Path) -> None:
    """Twenty pairs of runs of the same distributions: no state may be called SLOW or FAST (the
    band is at least 1 %, the interval 95 %: a false positive needs both to fail at once)."""
    judged, wrong, same = 0, 0, 0
    for seed in range(20):
        base = write_run(tmp_path / f"b{seed}", 100 + seed, n=1000)
        cand = write_run(tmp_path / f"c{seed}", 200 + seed, n=1000)
        _, rows = verdict(base, cand, tmp_path / f"o{seed}", Settings(resamples=500))
        judged += len(rows)
        wrong += sum(r.verdict in ("SLOW", "FAST") for r in rows)
        same += sum(r.verdict == "SAME" for r in rows)
    assert wrong <= MAX_FALSE_POSITIVE_RATE * judged, f"{wrong} of {judged} identical states called SLOW/FAST"
    assert same > judged // 2  # and mostly positively SAME, not merely undecided


def test_a_difference_of_one_timer_step_is_not_a_verdict(tmp_path: Path) -> None:
    """CUDA events count in 32 ns steps: the H200's 3 µs states come as a handful of distinct values,
    so two runs of the same code can differ by one step in the median (1 %) with a bootstrap interval
    of no width. Two steps of that grain are the smallest difference the band lets count; a real
    10 % slowdown of the same quantized kind is still SLOW."""
    tick = 0.032

    def quantize(root: Path) -> None:
        for f in (root / "samples").glob("*.npz"):
            with np.load(f) as z:
                arrays = {k: z[k] for k in z.files}
            for k, v in arrays.items():
                if k != "__meta__":
                    arrays[k] = (np.round(v.astype(np.float64) / 10.0 / tick) * tick).astype(np.float32)  # ~1-5 µs
            np.savez_compressed(f, **arrays)

    def shift_one_step(root: Path) -> None:  # every candidate sample one step later: medians one step apart
        for f in (root / "samples").glob("*.npz"):
            with np.load(f) as z:
                arrays = {k: (z[k] if k == "__meta__" else (z[k].astype(np.float64) + tick).astype(np.float32))
                          for k in z.files}
            np.savez_compressed(f, **arrays)

    base = write_run(tmp_path / "base", 1, sigma=0.01)
    cand = write_run(tmp_path / "cand", 1, sigma=0.01)  # the same samples, then one step later
    slow = write_run(tmp_path / "slow", 1, sigma=0.01, scale={"swish_plugin": 1.10})
    for root in (base, cand, slow):
        quantize(root)
    shift_one_step(cand)
    _, rows = verdict(base, cand, tmp_path / "o1")
    assert not [r for r in rows if r.verdict in ("SLOW", "FAST")], [(r.shape, r.ratio, r.band, r.band_from) for r in rows]
    assert {r.band_from for r in rows} == {"resolution"}
    _, rows = verdict(base, slow, tmp_path / "o2")
    assert by_op(rows)["swish_plugin"] == {"SLOW"}


def test_unverified_candidate_fails_whatever_its_speed(tmp_path: Path) -> None:
    bad = ("swish_plugin", "fp16", "sweep", "4096x1024", "cold")
    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 0.5}, unverified=(bad,))
    status, rows = verdict(base, cand, tmp_path / "out", fail_on="FAIL")
    got = {(r.operator, r.dtype, r.profile, r.shape, r.mode): r for r in rows}
    assert got[bad].verdict == "FAIL" and "verified" in got[bad].reason
    assert sum(r.verdict == "FAIL" for r in rows) == 1 and status == 1


def test_different_gpu_is_refused_unless_forced(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, device={**DEVICE, "device_name": "NVIDIA H100 80GB HBM3",
                                                   "driver_version": "550.54"})
    with pytest.raises(VerdictInputError, match="device_name.*H200.*H100.*driver_version"):
        verdict(base, cand, tmp_path / "out")
    assert main(["verdict", "--baseline", str(base), "--candidate", str(cand), "--out-dir", str(tmp_path / "o")]) == 2
    _, rows = verdict(base, cand, tmp_path / "forced", Settings(force=True))
    assert rows and "setups differ" in (tmp_path / "forced" / "verdict.md").read_text()


def test_fail_on_sets_the_exit_status(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", 1)
    slow = write_run(tmp_path / "slow", 2, scale={"swish_plugin": 1.10})
    args = ["verdict", "--baseline", str(base), "--out-dir", str(tmp_path / "o")]
    assert main([*args, "--candidate", str(slow), "--fail-on", "SLOW,FAIL"]) == 1
    assert main([*args, "--candidate", str(slow)]) == 0  # no --fail-on: the verdict is only reported
    assert main([*args, "--candidate", str(slow), "--fail-on", "FAIL"]) == 0
    assert main([*args, "--candidate", str(slow), "--fail-on", "SLOWER"]) == 2  # an unknown verdict name
    assert main([*args, "--candidate", str(tmp_path / "missing")]) == 2


def test_hot_gpu_is_flagged_not_blamed_on_the_change(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", 1, sm_clock=1980)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 1.10}, sm_clock=1700)
    _, rows = verdict(base, cand, tmp_path / "out")
    assert {r.verdict for r in rows} == {"AMBIGUOUS"} and all("hot GPU" in r.reason for r in rows)


def test_cpu_rows_skip_the_clock_check(tmp_path: Path) -> None:
    cpu = {**DEVICE, "backend": "reference", "device_name": "CPU: test (reference backend, no GPU)"}
    base = write_run(tmp_path / "base", 1, device=cpu, sm_clock=0)
    cand = write_run(tmp_path / "cand", 2, device=cpu, sm_clock=0, scale={"swish_plugin": 1.10})
    _, rows = verdict(base, cand, tmp_path / "out")
    assert by_op(rows)["swish_plugin"] == {"SLOW"}


def test_a_band_too_wide_is_not_same(tmp_path: Path) -> None:
    """Repeats 30 % apart: the ratio's interval lies inside the band, but a ±30 % band cannot
    vouch for "unchanged"."""
    base = write_run(tmp_path / "base", 1, repeat_skew=1.3)
    cand = write_run(tmp_path / "cand", 2, repeat_skew=1.3)
    _, rows = verdict(base, cand, tmp_path / "out")
    assert {r.verdict for r in rows} == {"AMBIGUOUS"} and all("--max-band" in r.reason for r in rows)
    _, rows = verdict(base, cand, tmp_path / "wide", Settings(max_band=0.5))
    assert "SAME" in {r.verdict for r in rows}


def test_noisy_runs_are_named_in_the_header(tmp_path: Path) -> None:
    """Repeats 20 % apart in every state, or an A/A control 3 % off: noisy beyond chance. The repeat
    disagreement also widens each state's band, so a 10 % change is no longer called SLOW."""
    base = write_run(tmp_path / "base", 1, repeat_skew=1.2)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 1.10}, compare_control=1.03)
    wide = write_run(tmp_path / "wide", 3, compare_control=1.15)
    _, rows = verdict(base, cand, tmp_path / "out")
    md = (tmp_path / "out" / "verdict.md").read_text()
    assert "baseline run is noisy beyond chance** (bands widened to its own disagreement, nothing vetoed): repeats " \
        "disagree" in md
    assert "candidate run is noisy beyond chance** (bands widened to its own disagreement, nothing vetoed): A/A " \
        "control outside its band" in md
    assert "SLOW" not in {r.verdict for r in rows}
    assert {r.band_from for r in rows} == {"repeats"}
    verdict(base, wide, tmp_path / "out2")
    assert "A/A control wider than ±10 %" in (tmp_path / "out2" / "verdict.md").read_text()


def test_noise_widens_the_band_and_never_vetoes(tmp_path: Path) -> None:
    """Issue 28: both runs too noisy to judge (repeats 20 % apart in every state, as on a loaded CPU), the
    plugin 3x slower (the README's planted slowdown): every plugin state is still SLOW, its band widened
    to the runs' own disagreement and saying so; the unchanged operators are never FAST or SLOW. Before,
    the flag vetoed every FAST/SLOW (0 SLOW, all AMBIGUOUS)."""
    base = write_run(tmp_path / "base", 1, repeat_skew=1.2)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 3.0}, repeat_skew=1.2)
    _, rows = verdict(base, cand, tmp_path / "out")
    md = (tmp_path / "out" / "verdict.md").read_text()
    assert "noisy beyond chance" in md and "noise widens the band, it never vetoes: every state's band is at least" in md
    plugin = [r for r in rows if r.operator == "swish_plugin"]
    assert plugin and {r.verdict for r in plugin} == {"SLOW"}
    assert {r.verdict for r in rows if r.operator != "swish_plugin"} <= {"SAME", "AMBIGUOUS"}
    assert all(r.band >= 0.15 for r in rows)  # at least the runs' repeat disagreement


def test_an_imprecise_aa_control_widens_without_vetoing_a_3x_slowdown(tmp_path: Path) -> None:
    """A CPU compare row of a few samples: its A/A control 1.05 ± 1.5 (SE). Its offset (5 %) is measured, its
    imprecision is the few samples': the band takes the offset and at most max_band of the imprecision, so
    the planted 3x slowdown is SLOW in those states (before: a band of ±305 % made them AMBIGUOUS), and a
    state no slower is not SLOW."""
    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 3.0}, compare_control=1.05, control_se=1.5)
    _, rows = verdict(base, cand, tmp_path / "out")
    plugin = [r for r in rows if r.operator == "swish_plugin"]
    assert {r.verdict for r in plugin} == {"SLOW"}, [(r.shape, r.band, r.band_from) for r in plugin]
    assert max(r.band for r in rows if r.band_from == "aa_control") == pytest.approx(0.15)
    assert not {"SLOW", "FAST"} & {r.verdict for r in rows if r.operator != "swish_plugin"}


def test_an_aa_control_within_its_own_noise_does_not_veto_a_3x_slowdown(tmp_path: Path) -> None:
    """A CPU compare row's A/A control read 13.9 ± 5.8 (SE) on a loaded CPU (2026-12-06): an offset within
    3 SE of 1 is noise, not a bias, and counts no further than max_band (counted in full, the band was
    ±1300 % and a planted 4x AMBIGUOUS in every state of that shape). An offset beyond its noise (a bias:
    1.5 ± 0.01) still counts in full."""
    from trt_plugin_bench.report.verdict import aa_term

    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 3.0}, compare_control=13.9, control_se=5.8)
    _, rows = verdict(base, cand, tmp_path / "out")
    assert {r.verdict for r in rows if r.operator == "swish_plugin"} == {"SLOW"}, [(r.shape, r.band) for r in rows]
    assert max(r.band for r in rows) == pytest.approx(0.20)
    assert not {"SLOW", "FAST"} & {r.verdict for r in rows if r.operator != "swish_plugin"}
    assert float(aa_term(1.5, 0.01)) == pytest.approx(0.52)
    assert float(aa_term(13.9, 5.8)) == pytest.approx(0.20)


def test_a_drift_between_separate_runs_is_in_the_band(tmp_path: Path) -> None:
    """The candidate's run 15 % slower in every state, the plugin's and the unchanged operator's alike
    (a loaded machine, a clock: not the change). The unchanged (native) states measure that drift, so
    no state is SLOW (before: every state was); a 3x plugin slowdown on top of it still is, and the
    header states the between-run band."""
    base = write_run(tmp_path / "base", 1)
    drift = write_run(tmp_path / "drift", 2, scale={"swish_plugin": 1.15, "relu": 1.15})
    _, rows = verdict(base, drift, tmp_path / "o1")
    assert not {"SLOW", "FAST"} & {r.verdict for r in rows}, [(r.operator, r.ratio, r.band) for r in rows]
    assert {r.band_from for r in rows} == {"between_runs"}
    assert "between runs: cold: ±" in (tmp_path / "o1" / "verdict.md").read_text()
    slow = write_run(tmp_path / "slow", 3, scale={"swish_plugin": 3 * 1.15, "relu": 1.15})
    _, rows = verdict(base, slow, tmp_path / "o2")
    assert by_op(rows)["swish_plugin"] == {"SLOW"} and "SLOW" not in by_op(rows)["relu"]


def test_a_slow_interval_needs_the_rank_test_too() -> None:
    """The interval beyond the band and a rank test that sees nothing (P = 0.3): AMBIGUOUS, naming both."""
    from trt_plugin_bench.report.verdict import confirm_by_ranks, rank_test

    assert confirm_by_ranks("SLOW", "", 0.3, 0.95)[0] == "AMBIGUOUS"
    assert "Mann-Whitney" in confirm_by_ranks("FAST", "", 0.3, 0.95)[1]
    assert confirm_by_ranks("SLOW", "", 0.001, 0.95) == ("SLOW", "")
    assert confirm_by_ranks("SAME", "", 0.9, 0.95) == ("SAME", "")
    rng = np.random.default_rng(5)
    assert rank_test([rng.normal(10, 1, 200)], [rng.normal(13, 1, 200)]) < 1e-10
    assert rank_test([np.ones(5)], [np.ones(5)]) == 1.0


def test_a_kernel_edit_on_the_cpu_is_not_measurable_here(tmp_path: Path) -> None:
    """Two CPU runs of one setup and one reference plugin whose plugin/ sources differ (a kernel edit): the
    CPU backend never runs the kernel, so the verdict says "not measurable here", not "no baseline"."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        log_run(tmp_path / "before", uri, 1, 0, source="a" * 64)
        log_run(tmp_path / "after", uri, 2, 0, source="b" * 64)
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    status, rows = verdict_from_store(tmp_path / "after", tmp_path / "v", uri, missing_baseline_ok=True)
    md = (tmp_path / "v" / "verdict.md").read_text()
    assert status == 0 and not rows
    assert md.startswith("# Verdict: not measurable here")
    assert "not measurable here (the CPU backend does not run the kernel)" in md and "no baseline" not in md.lower()
    with pytest.raises(VerdictInputError, match=r"not measurable here \(the CPU backend does not run the kernel\)"):
        verdict_from_store(tmp_path / "after", tmp_path / "w", uri)


def test_the_false_positive_script_counts_aa_pairs_and_planted_slowdowns(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """workflow/scripts/verdict_false_positives.py on three runs of the same work and one 3x plugin slowdown:
    the A/A pairs' FAST/SLOW count and the planted slowdown's SLOW plugin states."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fp", ROOT / "workflow" / "scripts" / "verdict_false_positives.py")
    fp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fp)
    same = [write_run(tmp_path / f"a{i}", 10 + i) for i in range(3)]
    slow = write_run(tmp_path / "s", 20, scale={"swish_plugin": 3.0})
    md = tmp_path / "fp.md"
    assert fp.main(["--same", *map(str, same), "--slow", str(slow), "--out", str(tmp_path / "v"), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "A/A: 3 pairs of 3 runs of the same code, 48 states: FAST or SLOW 0 (0.0 %)" in out
    assert f"plugin states SLOW {3 * len(STATES) // 2} of {3 * len(STATES) // 2}" in out
    assert md.read_text().startswith("- A/A: 3 pairs")


def test_mlflow_tags(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("verdict-test"))
    base = write_run(tmp_path / "base", 1)
    cand = write_run(tmp_path / "cand", 2, scale={"swish_plugin": 1.10})
    verdict(base, cand, tmp_path / "out", mlflow_run=run.info.run_id, tracking_uri=uri)
    data = client.get_run(run.info.run_id).data
    assert data.tags["tpb.verdict.baseline"] == str(base)
    assert f"SLOW={len(STATES) // 2}," in data.tags["tpb.verdict.counts"]
    assert data.tags["tpb.verdict.too_noisy"] == "no"
    assert data.metrics["verdict.slow"] == len(STATES) // 2 and data.metrics["verdict.fail"] == 0
    assert data.metrics["verdict.states"] == len(STATES) and data.metrics["verdict.too_noisy"] == 0
    assert {a.path for a in client.list_artifacts(run.info.run_id, "verdict")} == {
        "verdict/verdict.md", "verdict/verdict.csv", "verdict/verdict.png"}


COLLISION = ('(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "tag_pk"\n'
             'DETAIL:  Key (key, run_uuid)=(tpb.verdict.baseline, ...) already exists.')  # the server's 400, 2026-12-07


def test_a_verdict_recorded_on_a_run_another_process_records_on_at_once_is_written_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two DAGs that logged the same measurements record their verdicts on one parent run at once
    (the cluster harness, CI 2026-12-07: the first DAG's verdict rule failed). The other process's
    insert of a tag lands between this one's read and insert: a tracking server answers with a unique
    violation. The record is written again and ends complete; any other error is raised at once."""
    import mlflow.tracking
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import BAD_REQUEST

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    real = mlflow.tracking.MlflowClient
    run_id = real(tracking_uri=uri).create_run(real(tracking_uri=uri).create_experiment("race")).info.run_id
    writes: list[str] = []

    class Raced(real):  # the first write loses the race: the other process's record is in, this one's is refused
        def _race(self, what: str) -> None:
            writes.append(what)
            if len(writes) == 1:
                real(tracking_uri=uri).set_tag(run_id, "tpb.verdict.baseline", "other process")
                raise MlflowException(COLLISION, BAD_REQUEST)

        def set_tag(self, *args, **kwargs):
            self._race("set_tag")
            return super().set_tag(*args, **kwargs)

        def log_batch(self, *args, **kwargs):
            self._race("log_batch")
            return super().log_batch(*args, **kwargs)

    monkeypatch.setattr(mlflow.tracking, "MlflowClient", Raced)
    monkeypatch.setattr(mlflow_store, "RECORD_BACKOFF_S", 0.0)
    md = tmp_path / "verdict.md"
    md.write_text("# verdict")
    verdict_mod.record_in_mlflow(run_id, uri, {"tpb.verdict.baseline": "run-a", "tpb.verdict.counts": "SAME=3"},
                                 {"verdict.same": 3.0, "verdict.states": 3.0}, [md])
    data = real(tracking_uri=uri).get_run(run_id).data
    assert data.tags["tpb.verdict.baseline"] == "run-a" and data.tags["tpb.verdict.counts"] == "SAME=3"
    assert data.metrics == {"verdict.same": 3.0, "verdict.states": 3.0}
    assert [a.path for a in real(tracking_uri=uri).list_artifacts(run_id, "verdict")] == ["verdict/verdict.md"]
    assert len(writes) > 1  # written again
    # anything but a collision is not retried: a run that does not exist
    writes.clear()
    monkeypatch.setattr(mlflow.tracking, "MlflowClient", real)
    with pytest.raises(MlflowException, match="not found|does not exist|No run"):
        verdict_mod.record_in_mlflow("0" * 32, uri, {"tpb.verdict.baseline": "x"}, {}, [])
    assert not mlflow_store.collided(MlflowException("Run '000' not found"))
    assert mlflow_store.collided(MlflowException(COLLISION))


# -- baselines from the MLflow store ---------------------------------------------------------------
CPU = {**DEVICE, "backend": "reference", "backend_label": "reference backend (CPU, numpy)",
       "device_name": "CPU: test (reference backend, no GPU)", "driver_version": "n/a", "tensorrt_version": "n/a"}


def _head() -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else None


def log_run(root: Path, uri: str, seed: int, extra_work: int, *, scale: dict | None = None, timing: float = 0.02,
            commit: str = "unknown", source: str = "unknown") -> str:
    """A synthetic CPU results folder logged as the pipeline logs it (tracking.log_results); its
    parent run id. ``extra_work`` is the plugin (tpb.plugin_hash), ``timing`` part of the setup."""
    from trt_plugin_bench.report.tracking import log_results

    write_run(root, seed, scale=scale, device={**CPU, "git_commit": commit, "plugin_source_hash": source}, sm_clock=0)
    settings = typed(f"timing.max_time_s={timing}", f"reference.extra_work={extra_work}", "mlflow.experiment=verdict-store",
                     f"mlflow.tracking_uri='{uri}'")
    summary = log_results(settings, root / "tables", root / "tables" / "device.json", root / "mlflow" / "logged.json")
    time.sleep(0.01)  # distinct start times: "earlier" is by start time
    return summary["parent_run_id"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Five runs, oldest first: A (plugin 0), S (another setup, plugin 3), B (plugin 3, at HEAD),
    C (plugin 3, the candidate, slower plugin than A), N (plugin 0 again)."""
    tmp = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    old = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        ids = {"A": log_run(tmp / "A", uri, 1, 0),
               "S": log_run(tmp / "S", uri, 2, 3, timing=0.05),
               "B": log_run(tmp / "B", uri, 3, 3, scale={"swish_plugin": 1.10}, commit=_head() or "unknown"),
               "C": log_run(tmp / "C", uri, 4, 3, scale={"swish_plugin": 1.10}),
               "N": log_run(tmp / "N", uri, 5, 0)}
    finally:
        if old is not None:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return {"uri": uri, "ids": ids, "dirs": {k: tmp / k for k in ids}, "tmp": tmp}


def test_runs_carry_setup_and_plugin_hashes(store: dict) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store["uri"])
    tags = {k: client.get_run(i).data.tags for k, i in store["ids"].items()}
    assert tags["A"]["tpb.setup_hash"] == tags["B"]["tpb.setup_hash"] != tags["S"]["tpb.setup_hash"]
    assert tags["A"]["tpb.plugin_hash"] != tags["B"]["tpb.plugin_hash"] == tags["C"]["tpb.plugin_hash"]
    assert tags["A"]["tpb.config_hash"] != tags["B"]["tpb.config_hash"]  # extra_work is in the config
    arts = {a.path for a in client.list_artifacts(store["ids"]["A"], "tables")}
    assert {"tables/latency.csv", "tables/device.json"} <= arts


def test_default_baseline_skips_runs_with_the_same_plugin(store: dict, tmp_path: Path) -> None:
    """The candidate C: B is later but has C's plugin, S another setup, N is later than C: A it is.
    C's plugin is 10 % slower than A's: SLOW, and the verdict lands on C's run."""
    from mlflow.tracking import MlflowClient

    out = tmp_path / "v"
    status, rows = verdict_from_store(store["dirs"]["C"], out, store["uri"], fail_on="SLOW")
    assert status == 1 and by_op(rows)["swish_plugin"] == {"SLOW"}
    assert "SLOW" not in by_op(rows)["relu"]
    data = MlflowClient(tracking_uri=store["uri"]).get_run(store["ids"]["C"]).data
    assert data.tags["tpb.verdict.baseline"] == store["ids"]["A"]
    assert f"SLOW={len(STATES) // 2}," in data.tags["tpb.verdict.counts"]
    assert data.metrics["verdict.slow"] == len(STATES) // 2
    assert store["ids"]["A"][:12] in (out / "verdict.md").read_text()
    # the baseline run is materialised from the store: its samples too
    assert {r.method for r in rows} == {"bootstrap"}


def test_no_default_baseline_exits_2_or_says_so(store: dict, tmp_path: Path) -> None:
    """A is the first run of its setup: no baseline. The CLI exits 2; the rule's way writes a
    verdict.md that says so and exits 0."""
    from mlflow.tracking import MlflowClient

    args = ["verdict", "--candidate", str(store["dirs"]["A"]), "--tracking-uri", store["uri"], "--out-dir"]
    assert main([*args, str(tmp_path / "a")]) == 2
    assert main([*args, str(tmp_path / "b"), "--missing-baseline-ok"]) == 0
    assert "no baseline" in (tmp_path / "b" / "verdict.md").read_text().lower()
    assert (tmp_path / "b" / "verdict.png").stat().st_size > 0
    assert pd.read_csv(tmp_path / "b" / "verdict.csv").empty
    data = MlflowClient(tracking_uri=store["uri"]).get_run(store["ids"]["A"]).data
    assert data.tags["tpb.verdict.baseline"] == "none" and data.tags["tpb.verdict.counts"].startswith("FAIL=0,SLOW=0,")
    # the metric names of a judged run (mlflow ui's compare view shows only the names both runs have)
    assert data.metrics["verdict.states"] == 0 and {"verdict.slow", "verdict.same", "verdict.too_noisy"} <= set(data.metrics)


def test_baseline_run_and_rev(store: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["verdict", "--tracking-uri", store["uri"], "--candidate-run", store["ids"]["N"]]
    assert main([*args, "--baseline-run", store["ids"]["A"], "--out-dir", str(tmp_path / "r")]) == 0
    table = pd.read_csv(tmp_path / "r" / "verdict.csv")
    assert not table["verdict"].isin(["SLOW", "FAST"]).any()  # A and N: the same plugin, the same work
    assert main([*args, "--baseline-rev", "no-such-rev-2f9c", "--out-dir", str(tmp_path / "x")]) == 2
    assert "no-such-rev-2f9c" in capsys.readouterr().err
    if _head() is None:
        pytest.skip("not a git checkout: --baseline-rev HEAD has nothing to resolve")
    assert main([*args, "--baseline-rev", "HEAD", "--out-dir", str(tmp_path / "h"), "--fail-on", "FAST"]) == 1  # B, 10 % slower
    assert f"run {store['ids']['B'][:12]}" in (tmp_path / "h" / "verdict.md").read_text()
    assert main([*args, "--baseline-rev", "HEAD~0^{tree}", "--out-dir", str(tmp_path / "t")]) == 2  # not a commit


def test_rev_with_no_run_names_the_rev(store: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if _head() is None:
        pytest.skip("not a git checkout")
    root = store["tmp"] / "repo"  # a repository whose commit no run was logged at
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "f").write_text("x")
    subprocess.run(["git", "add", "f"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], cwd=root, check=True)
    subprocess.run(["git", "tag", "v-none"], cwd=root, check=True)
    with pytest.raises(VerdictInputError, match=r"--baseline-rev v-none: no pipeline run .* at commit [0-9a-f]{12}"):
        verdict_from_store(store["dirs"]["C"], tmp_path / "o", store["uri"], baseline_rev="v-none", git_root=root)


# -- the planted slowdown of the CPU reference backend ---------------------------------------------
@pytest.fixture(scope="module")
def small() -> dict:
    return validate_config(yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text()))


def test_extra_work_is_in_the_schema(small: dict) -> None:
    assert small["reference"]["extra_work"] == 0
    bad = copy.deepcopy(small)
    bad["reference"]["extra_work"] = -1
    with pytest.raises(ConfigError, match="extra_work"):
        validate_config(bad)


def test_extra_work_repeats_the_plugin_computation(tmp_path: Path, small: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin engine built with extra_work 2 computes three times (same output); relu, the
    control, once. Counted calls, not timings."""
    config = typed("reference.extra_work=2")
    calls = []
    real = ref.compute_float32

    def counting(*a, **k):  # noqa: ANN002, ANN003, ANN202
        calls.append(getattr(a[0], "function", a[0]))  # a Numerics (the spec's) or a function name
        return real(*a, **k)

    engines = {}
    for op in ("swish_plugin", "relu"):
        engine = tmp_path / f"{op}__fp32__tiny.engine"
        sweeps.build_engine(config, "reference", op, "fp32", "tiny", engine, tmp_path / f"{op}.golden.npz", None)
        engines[op] = sweeps.get_backend("reference").load(engine, None)
    x = ref.random_input((16, 256), "fp32", 7)
    monkeypatch.setattr(ref, "compute_float32", counting)
    y = engines["swish_plugin"].infer(x)
    assert calls == ["swish"] * 3
    np.testing.assert_array_equal(y, real(numerics_of(OPERATORS["swish_plugin"]), x, "fp32", 1.0))
    calls.clear()
    engines["relu"].infer(x)
    assert calls == ["relu"]
    with pytest.raises(ValueError, match="extra_work"):
        wrong = replace(config, reference=replace(config.reference, extra_work=-1))  # past the schema's minimum
        sweeps.build_engine(wrong, "reference", "swish_plugin", "fp32",
                            "tiny", tmp_path / "bad.engine", tmp_path / "bad.golden.npz", None)


def test_a_cold_sample_flushes_before_every_pass_of_the_planted_slowdown(tmp_path: Path, small: dict,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The plant must scale the time it is timed in: in a cold sample, the extra passes ran back to back
    after one flush, found the input and numpy's code in cache, and a 4x plant timed 1.4-1.6x in tiny
    cold states (never SLOW). Each pass now starts after its own flush (the flush array's value, counted
    at each pass) and a pause; a warm sample computes its passes back to back; the control, once. A
    sample whose thread was descheduled (wall time beyond its CPU time) is taken again, at most
    PREEMPTED_RETRIES times. Counted, not timed."""
    from trt_plugin_bench.backends import reference
    from trt_plugin_bench.backends.reference import ReferenceArena, ReferenceTimer

    config = typed("reference.extra_work=3")
    engines = {}
    for op in ("swish_plugin", "relu"):
        engine = tmp_path / f"{op}__fp32__tiny.engine"
        sweeps.build_engine(config, "reference", op, "fp32", "tiny", engine, tmp_path / f"{op}.golden.npz", None)
        engines[op] = sweeps.get_backend("reference").load(engine, None)
    for op, passes in (("swish_plugin", 4), ("relu", 1)):
        for mode in ("cold", "warm"):
            arena = ReferenceArena()
            timer = ReferenceTimer(engines[op], (16, 256), mode, 7, arena)
            seen: list[tuple[float, int]] = []
            sleeps: list[float] = []
            real = type(engines[op]).compute_once

            def counting(self, x, real=real, seen=seen, arena=arena, sleeps=sleeps):  # noqa: ANN001, ANN202
                seen.append((float(arena.flush()[0]), len(sleeps)))  # flushes and pauses before this pass
                return real(self, x)

            monkeypatch.setattr(type(engines[op]), "compute_once", counting)
            monkeypatch.setattr(reference.time, "sleep", sleeps.append)
            # never descheduled: the CPU time is the wall time (a loaded machine must not retake a sample here)
            monkeypatch.setattr(reference.time, "thread_time", reference.time.perf_counter)
            timer.sample()
            timer.sample()
            # always descheduled (any time off the CPU counts): every pass is taken 1 + PREEMPTED_RETRIES times
            monkeypatch.setattr(reference, "PREEMPTED_S", -1.0)
            monkeypatch.setattr(reference.time, "thread_time", lambda: 0.0)
            timer.sample()
            monkeypatch.undo()
            tries = 1 + reference.PREEMPTED_RETRIES
            # cold: a flush, then a pause (a fresh time slice, not the flush's end), before every pass
            expected = [(k, k) for k in range(1, (2 + tries) * passes + 1)] if mode == "cold" else \
                [(0.0, 0)] * ((2 + tries) * passes)
            assert seen == expected, (op, mode, seen)
            assert sleeps == ([reference.COLD_PAUSE_S] * (2 + tries) * passes if mode == "cold" else [])


def _forwards_extra_work() -> bool:
    from trt_plugin_bench.commands import dag

    handed = dag.rule_settings(typed("reference.extra_work=3"), "build", op="swish_plugin", dtype="fp32", profile="tiny")
    return json.loads(handed)["reference"]["extra_work"] == 3


PLUGIN_IMPLEMENTATIONS = ("plugin_v2", "plugin_v3")
# the method's stated per-state false-positive rate (docs/verdict.md): 1 - the interval's confidence
STATED_FALSE_POSITIVE_RATE = 1.0 - Settings.confidence


@pytest.mark.slow
def test_end_to_end_planted_slowdown_is_slow(tmp_path: Path) -> None:
    """The small DAG three times on the CPU, extra_work 0, 3, then 0 again, all logging to one MLflow
    store (issue 28's CPU "Done when"): the second run's verdict rule finds the first as its baseline
    (same setup, another plugin hash) and calls EVERY plugin state SLOW (4x the work, warm and cold:
    a cold sample flushes before each pass), tagging its run; the first run's rule had no baseline
    and said so. The CLI on the two folders agrees, and --fail-on SLOW exits 1. The first and third
    runs are an A/A pair: no more FAST or SLOW states than the stated 5 % per-state rate explains
    (a one-sided binomial test at P < 0.01, as the verdict's own noisy-run check). Plugin states the separate
    runs leave undecided are re-timed interleaved in one process (cpu_retime.py): the runs differ only in
    reference.extra_work, so the baseline is reproducible there."""
    from mlflow.tracking import MlflowClient
    from trt_plugin_bench.report.cpu_retime import retimed
    from trt_plugin_bench.report.verdict import NOISY_SIGNIFICANCE, beyond_chance

    if not _forwards_extra_work():
        pytest.skip("dag.builder_cfg does not forward reference.extra_work to the build rule yet "
                    "(the one-line dag.py change in issue 14's verdict report)")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs, parents = {}, {}
    for name, extra in (("base", 0), ("cand", 3), ("again", 0)):
        project = copy_project(tmp_path / name)
        small = project / "tests" / "configs" / "small.yaml"
        cfg = yaml.safe_load(small.read_text())
        cfg["reference"]["extra_work"] = extra
        small.write_text(yaml.safe_dump(cfg))
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(small)],
                              cwd=project, capture_output=True, text=True, timeout=1200,
                              env={**os.environ, "MLFLOW_TRACKING_URI": uri})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        if not list((project / "results" / "small" / "samples").glob("*.npz")):
            pytest.skip("the latency rule wrote no results/samples/*.npz: the verdict needs the raw samples")
        runs[name] = project / "results" / "small"
        parents[name] = json.loads((runs[name] / "mlflow" / "logged.json").read_text())["parent_run_id"]
    assert "no baseline" in (runs["base"] / "verdict" / "verdict.md").read_text().lower()
    ruled = pd.read_csv(runs["cand"] / "verdict" / "verdict.csv")  # the verdict rule's, baseline from the store
    client = MlflowClient(tracking_uri=uri)
    data = client.get_run(parents["cand"]).data
    assert data.tags["tpb.verdict.baseline"] == parents["base"]
    assert data.tags["tpb.verdict.too_noisy"]
    assert data.metrics["verdict.slow"] == (ruled["verdict"] == "SLOW").sum() > 0
    assert "verdict/verdict.md" in {a.path for a in client.list_artifacts(parents["cand"], "verdict")}
    base_data = client.get_run(parents["base"]).data
    assert base_data.tags["tpb.verdict.baseline"] == "none"
    assert {m for m in data.metrics if m.startswith("verdict.")} == {m for m in base_data.metrics if m.startswith("verdict.")}
    out = tmp_path / "verdict"
    status = main(["verdict", "--baseline", str(runs["base"]), "--candidate", str(runs["cand"]), "--out-dir", str(out),
                   "--fail-on", "SLOW", "--tracking-uri", uri])
    table = pd.read_csv(out / "verdict.csv")
    # the store's copy of the baseline is the folder's: the same verdict, state by state; the plugin states the
    # separate runs left undecided are the same ones, re-timed interleaved by each verdict (cpu_retime.py: its own
    # samples each time, so their ratios differ)
    assert retimed(table).equals(retimed(ruled))
    cols = STATE_KEYS + ["verdict", "ratio"]
    assert table.loc[~retimed(table), cols].equals(ruled.loc[~retimed(ruled), cols])
    assert "CPU re-time" in (runs["cand"] / "verdict" / "verdict.md").read_text()
    latency = pd.read_csv(runs["base"] / "tables" / "latency.csv")
    plugins = set(latency.loc[latency["implementation"].isin(PLUGIN_IMPLEMENTATIONS), "operator"])
    assert {"swish_plugin", "gelu_plugin", "gelu_tanh_plugin"} <= plugins
    plugin = table[table["operator"].isin(plugins)]
    assert len(plugin) == len(latency[latency["operator"].isin(plugins)].groupby(STATE_KEYS))
    cols = STATE_KEYS + ["ratio", "ci_low", "ci_high", "band", "band_from", "verdict", "reason"]
    assert (plugin["verdict"] == "SLOW").all(), plugin[cols].to_string()  # every plugin state, warm and cold
    assert plugin["method"].str.startswith("bootstrap").all()
    assert status == 1
    # the A/A pair: two runs of the same code
    aa_status = main(["verdict", "--baseline", str(runs["base"]), "--candidate", str(runs["again"]),
                      "--out-dir", str(tmp_path / "aa"), "--fail-on", "SLOW,FAST", "--tracking-uri", uri])
    aa = pd.read_csv(tmp_path / "aa" / "verdict.csv")
    wrong = aa[aa["verdict"].isin(["FAST", "SLOW"])]
    assert len(aa) == len(table)
    assert not beyond_chance(len(wrong), len(aa), STATED_FALSE_POSITIVE_RATE, NOISY_SIGNIFICANCE), wrong[cols].to_string()
    assert aa_status == (1 if len(wrong) else 0)
    # a revision no run was logged at (the copies are not git checkouts: their runs say "unknown")
    assert main(["verdict", "--candidate", str(runs["cand"]), "--tracking-uri", uri, "--baseline-rev", "HEAD",
                 "--out-dir", str(tmp_path / "rev")]) == 2


def test_the_verdict_figure_stays_bounded_with_the_same_states_grouped(tmp_path: Path) -> None:
    """verdict.png was one row per state (4,944 px tall on the CPU sweep, shapes sorted as text): the
    states that changed get a row each, sorted by size numerically; the SAME ones one row per series."""
    from PIL import Image
    from trt_plugin_bench.report.verdict import MAX_FIGURE_ROWS, VerdictRow, draw, figure_rows

    def row(elements: int, verdict: str, op: str = "swish_plugin", ratio: float = 1.0) -> VerdictRow:
        return VerdictRow(operator=op, dtype="fp32", profile="sweep", shape=f"{elements // 1024}x1024",
                          elements=elements, mode="cold", backend="reference", median_baseline_us=1.0,
                          median_candidate_us=ratio, ratio=ratio, ci_low=ratio * 0.99, ci_high=ratio * 1.01,
                          band=0.02, band_from="min_effect", method="bootstrap", n_baseline=10, n_candidate=10,
                          verdict=verdict, reason="")
    sizes = [1024 * 4 ** k for k in range(11)]
    rows = [row(e, "SLOW", ratio=1.2) for e in sizes] + [row(e, "SAME", op=op) for e in sizes
                                                        for op in ("relu", "swish_native")]
    shown, left_out = figure_rows(rows)
    slow = [r.label for r in shown if r.verdict == "SLOW"]
    assert slow == [f"swish_plugin fp32 sweep {e // 1024}x1024 cold" for e in sizes]  # numeric, not text, order
    assert [r.label.split(":")[0] for r in shown if r.verdict == "SAME"] == ["relu fp32 sweep cold",
                                                                            "swish_native fp32 sweep cold"]
    assert left_out == 0 and len(shown) == 13
    many = [row(1024 * k, "FAST", op=f"op{k % 7}", ratio=0.5 + k / 1000) for k in range(1, 400)]
    shown, left_out = figure_rows(many + rows)
    assert len(shown) <= MAX_FIGURE_ROWS and left_out > 0
    header = {"confidence": 0.95, "candidate": "c", "baseline": "b", "backend_label": "CPU", "device_name": "cpu"}
    draw(tmp_path / "v.png", many + rows, header)
    assert Image.open(tmp_path / "v.png").size[1] < 1400


def test_the_verdict_figure_takes_a_ratio_a_rounding_outside_its_interval(tmp_path: Path) -> None:
    """A state whose samples are all one timer step has ratio = interval's ends, computed apart: a rounding
    can put the ratio a hair outside them. The figure drew a negative error bar and the command failed after
    writing its tables (H100, 2026-12-07, the naive kernel's check: "'xerr' must not contain negative values")."""
    from trt_plugin_bench.report.verdict import VerdictRow, draw

    ratio = 1.2892561983471074
    rows = [VerdictRow(operator="swish_plugin", dtype="fp32", profile="sweep", shape="1024x256", elements=262144,
                       mode="warm", backend="tensorrt", median_baseline_us=3.872, median_candidate_us=4.992,
                       ratio=ratio, ci_low=ratio + 2e-16, ci_high=ratio - 2e-16, band=0.0165, band_from="resolution",
                       method="bootstrap (interleaved)", n_baseline=40, n_candidate=40, verdict="SLOW", reason="")]
    header = {"confidence": 0.95, "candidate": "c", "baseline": "b", "backend_label": "TensorRT", "device_name": "gpu"}
    draw(tmp_path / "v.png", rows, header)  # failed before: ValueError 'xerr' must not contain negative values
    assert (tmp_path / "v.png").stat().st_size > 0
