"""The CPU reference backend's interleaved re-time (report/cpu_retime.py, issue 28): plugin states that
two separate runs leave AMBIGUOUS are timed again, baseline and candidate reference.extra_work
interleaved in one process, when the baseline is reproducible there; else the separate-run verdict
stands and says why. The engines are real (ReferenceEngine on a 16x256 input); the separate runs'
tables are constructed: a whole candidate run ~4x slower, as a machine whose speed moved between
runs makes it, so the between-run band swallows a planted 4x."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trt_plugin_bench.commands.sweeps import make_spec
from trt_plugin_bench.core.provenance import plugin_hash
from trt_plugin_bench.core.records import LatencyRow, columns
from trt_plugin_bench.core.schema import PROJECT_ROOT
from trt_plugin_bench.core.stats import StoppingRule, summarize
from trt_plugin_bench.report.cpu_retime import CpuRetime, RetimeSettings, near_band, reproducible
from trt_plugin_bench.report.verdict import (
    NOISY_SIGNIFICANCE,
    StoreRun,
    VerdictRow,
    beyond_chance,
    verdict,
)
from typed import typed

CPU = {"backend": "reference", "backend_label": "reference backend (CPU, numpy) - CPU timings, not TensorRT",
       "timing_clock": "cpu_perf_counter", "device_name": "CPU: test (reference backend, no GPU)",
       "driver_version": "n/a (CPU)", "cuda_version": "n/a (CPU)", "tensorrt_version": "n/a (reference backend)"}
PLUGIN = [("swish_plugin", "fp32", "tiny", "16x256", mode) for mode in ("warm", "cold")]
NATIVE = [("relu", "fp32", "tiny", shape, mode) for shape in ("1x256", "16x256", "64x256") for mode in ("warm", "cold")]
# the re-time's budget in these tests: seconds, so the whole file runs in well under a minute
FAST_RULE = StoppingRule(target_rse=0.05, min_samples=5, max_samples=200, max_time_s=0.02, warmup_min=2,
                         warmup_time_s=0.0)


def write_cpu_run(root: Path, seed: int, *, plugin_scale: float = 1.0, native_scale: tuple[float, ...] = (1.0,),
                  plugin_drift: float = 1.0) -> Path:
    """A CPU results folder: the states above, 2 repeats of 60 samples each, lognormal around a state's
    own time; the plugin states times ``plugin_scale`` x ``plugin_drift``, native state i times
    native_scale[i % len]; the plugin sweep's engine record (engines/), as the build rule writes it."""
    rng = np.random.default_rng(seed)
    rows, files = [], {}
    for i, key in enumerate(PLUGIN + NATIVE):
        op, dtype, profile, shape, mode = key
        scale = plugin_scale * plugin_drift if key in PLUGIN else native_scale[i % len(native_scale)]
        base = (20.0 if mode == "warm" else 300.0) * (1 + i / 10)
        for r in range(2):
            x = base * scale * rng.lognormal(0.0, 0.05, 60)
            s = summarize(x)
            row = dict.fromkeys(columns(LatencyRow), 0)
            row.update(backend="reference", device_name=CPU["device_name"], operator=op,
                       implementation="plugin_v2" if key in PLUGIN else "native", kernel="", dtype=dtype,
                       profile=profile, shape=shape, elements=int(np.prod([int(v) for v in shape.split("x")])),
                       mode=mode, start="cpu", repeat=r, n=s.n, min_us=s.min, median_us=s.median, mean_us=s.mean,
                       p90_us=s.p90, p99_us=s.p99, max_us=s.max, stdev_us=s.stdev, median_se_us=s.median_se,
                       rse=s.median_se / s.median, stop_reason="converged", verified=True, throttled=False,
                       sm_clock_start_mhz=0, sm_clock_end_mhz=0, timing_clock="cpu_perf_counter")
            rows.append(row)
            files.setdefault((op, dtype, profile), {})[f"{shape}|{mode}|{r}"] = x.astype(np.float32)
    (root / "tables").mkdir(parents=True)
    pd.DataFrame(rows, columns=columns(LatencyRow)).to_csv(root / "tables" / "latency.csv", index=False)
    (root / "tables" / "device.json").write_text(json.dumps(CPU))
    (root / "samples").mkdir()
    for (op, dtype, profile), arrays in files.items():
        meta = {"operator": op, "dtype": dtype, "profile": profile, "backend": "reference",
                "device_name": CPU["device_name"], "kernel": ""}
        np.savez_compressed(root / "samples" / f"{op}__{dtype}__{profile}.npz", __meta__=np.str_(json.dumps(meta)), **arrays)
    (root / "engines").mkdir()
    spec = make_spec(typed(), "swish_plugin", "fp32", "tiny")
    (root / "engines" / "swish_plugin__fp32__tiny.build.json").write_text(json.dumps({"spec": spec.to_json()}))
    return root


def store_run(run_id: str, extra_work: int, *, plugin: str | None = None, setup: str = "setup") -> StoreRun:
    """A CPU parent run as the log rule tags it (tracking.log_results): its plugin hash that of this
    checkout's reference modules with ``extra_work`` unless ``plugin`` says otherwise."""
    return StoreRun(run_id, run_id, "0", 0, {"tpb.backend": "reference", "tpb.setup_hash": setup,
                                             "tpb.plugin_hash": plugin or plugin_hash("reference", extra_work),
                                             "tpb.git_commit": "unknown"},
                    {"reference.extra_work": json.dumps(extra_work)})


def retime(max_time_s: float = 8.0) -> CpuRetime:
    return CpuRetime(RetimeSettings(max_time_s=max_time_s, rounds=1, rule=FAST_RULE, verify_max_elements=1 << 20))


def _plugin_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["operator"] == "swish_plugin"]


def test_separate_runs_leave_a_planted_4x_ambiguous_and_the_interleaved_retime_makes_it_slow(tmp_path: Path) -> None:
    """The candidate run is a machine ~4x slower throughout (its native states 3x..5x, its plugin states
    4x in the tables as well): the between-run band is ±300 % and more, so separate runs
    leave the plugin AMBIGUOUS; interleaved in one process, extra_work 0 against 3, the 4x plant is SLOW."""
    base = write_cpu_run(tmp_path / "base", 1)
    cand = write_cpu_run(tmp_path / "cand", 2, plugin_scale=1.0, plugin_drift=4.0, native_scale=(3.0, 4.0, 5.0))
    _, separate = verdict(base, cand, tmp_path / "separate")
    assert {r.verdict for r in separate if r.operator == "swish_plugin"} == {"AMBIGUOUS"}, separate
    status, rows = verdict(base, cand, tmp_path / "v", fail_on="SLOW", refine=retime(),
                           stores={"baseline": store_run("b", 0), "candidate": store_run("c", 3)})
    table = pd.read_csv(tmp_path / "v" / "verdict.csv")
    plug = _plugin_rows(table)
    assert (plug["verdict"] == "SLOW").all(), plug.to_string()
    assert (plug["method"] == "bootstrap (interleaved)").all()
    assert plug["reason"].str.contains("re-timed interleaved in one process").all()
    assert plug["reason"].str.contains("separate runs said AMBIGUOUS").all()
    assert status == 1
    # the unchanged states keep their separate-run verdicts
    natives = table[table["operator"] == "relu"]
    assert (natives["method"] == "bootstrap").all()
    md = (tmp_path / "v" / "verdict.md").read_text()
    assert "- CPU re-time: 2 of 2 plugin state(s)" in md and "wall time" in md and "verdict.cpu_retime_max_s" in md
    assert "reference backend (CPU, numpy) - CPU timings, not TensorRT" in md
    assert len(list((tmp_path / "v" / "cpu_retime").glob("*.npz"))) == 3  # candidate, baseline, control


def test_an_aa_retime_stays_within_the_false_positive_rate(tmp_path: Path) -> None:
    """The same extra_work on both sides (the same plugin hash): re-timed interleaved, the ratio is of identical
    work, so no more FAST/SLOW than the 5 % per-state rate explains, and never the 4x of a plant."""
    base = write_cpu_run(tmp_path / "base", 3)
    cand = write_cpu_run(tmp_path / "cand", 4, plugin_drift=2.0, native_scale=(1.5, 2.0, 2.5))
    _, rows = verdict(base, cand, tmp_path / "v", refine=retime(),
                      stores={"baseline": store_run("b", 0), "candidate": store_run("c", 0)})
    plug = [r for r in rows if r.operator == "swish_plugin"]
    assert all(r.method == "bootstrap (interleaved)" for r in plug), plug
    wrong = [r for r in plug if r.verdict in ("FAST", "SLOW")]
    assert not beyond_chance(len(wrong), len(plug), 0.05, NOISY_SIGNIFICANCE), wrong
    assert all(0.5 < r.ratio < 2.0 for r in plug), plug


def test_a_baseline_of_other_reference_sources_is_not_retimed_and_says_why(tmp_path: Path) -> None:
    """A baseline whose plugin hash is not what this checkout's reference modules give with its extra_work (another
    version of the reference backend ran it): its engines cannot be run here, so the separate-run verdict stands."""
    base = write_cpu_run(tmp_path / "base", 1)
    cand = write_cpu_run(tmp_path / "cand", 2, plugin_drift=4.0, native_scale=(3.0, 4.0, 5.0))
    _, rows = verdict(base, cand, tmp_path / "v", refine=retime(),
                      stores={"baseline": store_run("b", 0, plugin="f" * 64), "candidate": store_run("c", 3)})
    plug = [r for r in rows if r.operator == "swish_plugin"]
    assert {r.verdict for r in plug} == {"AMBIGUOUS"} and all(r.method == "bootstrap" for r in plug)
    md = (tmp_path / "v" / "verdict.md").read_text()
    assert "kept the separate-run verdict, not re-timed interleaved: the baseline is not reproducible" in md
    assert "ran other reference sources than this checkout's" in md
    assert not (tmp_path / "v" / "cpu_retime").exists()
    # a folder without an MLflow run (no mlflow/logged.json): not re-timed either, saying so
    verdict(base, cand, tmp_path / "w", refine=retime())
    assert "has no MLflow parent run this verdict can read" in (tmp_path / "w" / "verdict.md").read_text()


def test_reproducible_needs_one_setup_and_this_checkouts_reference_modules() -> None:
    assert reproducible(store_run("b", 0), store_run("c", 3))[:2] == ((0, 3), "")
    assert "tpb.setup_hash" in reproducible(store_run("b", 0, setup="x"), store_run("c", 3))[1]
    assert "no integer param reference.extra_work" in reproducible(
        StoreRun("b", "b", "0", 0, store_run("b", 0).tags, {}), store_run("c", 3))[1]
    assert "ran other reference sources" in reproducible(store_run("b", 0), store_run("c", 3, plugin="0" * 64))[1]


def test_only_fast_or_slow_near_the_band_is_retimed() -> None:
    def row(verdict: str, low: float, high: float, band: float) -> VerdictRow:
        return VerdictRow("swish_plugin", "fp32", "tiny", "16x256", 4096, "warm", "reference", 1.0, (low + high) / 2,
                          (low + high) / 2, low, high, band, "between_runs", "bootstrap", 10, 10, verdict, "")

    assert near_band(row("FAST", 0.49, 0.53, 0.45))  # the A/A states FAST at 0.51x beside a ±45 % band
    assert not near_band(row("SLOW", 3.6, 4.4, 0.60))  # a 4x plant far beyond a ±60 % band
    assert near_band(row("SLOW", 1.9, 2.3, 0.40))


def test_a_baseline_at_a_commit_with_other_operators_is_not_reproducible() -> None:
    """The reference engines compute what ops/ says: a baseline run at a commit whose ops/ differs from this
    checkout's is not re-timed (git tells; a copy without git cannot, and the note says so)."""
    last = subprocess.run(["git", "log", "-1", "--format=%H", "--", "ops"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True)
    if last.returncode != 0 or not last.stdout.strip():
        pytest.skip("not a git checkout: ops/ cannot be compared by commit")
    before = f"{last.stdout.strip()}~1"
    old = store_run("b", 0)
    old = StoreRun("b", "b", "0", 0, {**old.tags, "tpb.git_commit": before}, old.params)
    work, why, _ = reproducible(old, store_run("c", 3))
    assert work is None and "ops/ differs between" in why
    assert "ops/ not compared for baseline unknown" in reproducible(store_run("b", 0), store_run("c", 3))[2]
