"""Small pieces: figures, the ncu CSV parser, GPU slot assignment, the DAG plan."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pandas as pd
import pytest
from trt_plugin_bench import dag, gpu_slot
from trt_plugin_bench.figures import FIGURES, draw_all
from trt_plugin_bench.profiling import parse_ncu_csv

DEVICE = {"backend": "reference", "backend_label": "reference backend (CPU, numpy) - CPU timings, not TensorRT",
          "device_name": "CPU", "driver_version": "n/a", "tensorrt_version": "n/a", "date": "2026-11-24",
          "timing_clock": "cpu_perf_counter", "l2_bytes": 0}


def test_figures_are_written_even_without_data(tmp_path: Path) -> None:
    paths = draw_all({}, DEVICE, tmp_path)
    assert [p.stem for p in paths] == list(FIGURES)
    assert all(p.stat().st_size > 5000 for p in paths)


def test_figures_from_rows(tmp_path: Path) -> None:
    lat = pd.DataFrame([dict(operator=op, dtype="fp32", profile="p", shape=f"{n}", elements=n, bytes_moved=8 * n,
                             mode=mode, repeat=0, median_us=1 + n / 1e3 * (1.1 if op == "swish_plugin" else 1.0),
                             bandwidth_gbs=8 * n / (1 + n / 1e3) / 1e3, pct_of_copy_ceiling=10.0, backend="reference")
                        for op in ("swish_plugin", "swish_native") for n in (1024, 65536) for mode in ("warm", "cold")])
    cal = pd.DataFrame([dict(measurement="copy", bytes=2 << 20, bandwidth_gbs=90.0, median_us=20.0),
                        dict(measurement="empty_launch", bytes=0, bandwidth_gbs=0.0, median_us=1.0)])
    paths = draw_all({"latency": lat, "calibration": cal}, DEVICE, tmp_path)
    assert all(p.exists() for p in paths)


NCU_SAMPLE = '''==PROF== Connected to process 123
"ID","Process ID","Kernel Name","dram__throughput.avg.pct_of_peak_sustained_elapsed","gpu__time_duration.sum","sm__warps_active.avg.pct_of_peak_sustained_active","smsp__thread_inst_executed_per_inst_executed.ratio"
"","","","%","ns","%",""
"0","123","swishVectorizedKernel","91.5","1,234","85.2","31.9"
'''


def test_parse_ncu_csv() -> None:
    [row] = parse_ncu_csv(NCU_SAMPLE)
    assert row["Kernel Name"] == "swishVectorizedKernel"
    assert row["gpu__time_duration.sum"] == "1,234"
    assert parse_ncu_csv("==PROF== nothing") == []


def _take_slot(lock_dir: str, barrier, out) -> None:  # noqa: ANN001 - multiprocessing objects
    gpu_slot.gpu_count = lambda: 2
    with gpu_slot.gpu_slot(Path(lock_dir)) as device:
        out.put(device)
        barrier.wait(timeout=20)  # both hold a slot at the same time


def test_gpu_slots_are_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two concurrent GPU jobs (processes) on a 2-GPU host get different devices."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_take_slot, args=(str(tmp_path), barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert sorted([out.get(timeout=5), out.get(timeout=5)]) == ["0", "1"]


def test_plan_skips_what_tensorrt_86_cannot_build() -> None:
    cfg = {"operators": ["relu", "swish_plugin_v3"], "dtypes": ["fp32", "bf16"], "profiles": {"a": {}, "b": {}},
           "threads": {}}
    keys, skipped = dag.plan_sweeps(cfg, "tensorrt", 8)
    assert keys == ["relu__fp32__a", "relu__fp32__b"]
    assert len(skipped) == 3 and all("TensorRT >= 10" in s for s in skipped)
    keys10, skipped10 = dag.plan_sweeps(cfg, "tensorrt", 10)
    assert len(keys10) == 8 and skipped10 == []
    assert len(dag.plan_sweeps(cfg, "reference", None)[0]) == 8
    assert dag.thread_keys(cfg, keys) == ["relu__fp32__a"]
    assert json.loads(dag.cfg_json(b=1, a=2)) == {"a": 2, "b": 1}


def test_builder_cfg_gives_thread_engines_one_profile_per_thread() -> None:
    cfg = {"profiles": {"a": {}, "b": {}}, "threads": {"counts": [1, 8], "profile": "b"}, "builder": {"workspace_mib": 64}}
    assert dag.builder_cfg(cfg, "a") == {"workspace_mib": 64}
    assert dag.builder_cfg(cfg, "b") == {"workspace_mib": 64, "profiles_per_engine": 8}


def test_plugin_kernel_resolution() -> None:
    assert dag.plugin_kernel("swish_plugin", {"plugin_kernel": "vectorized"}) == "vectorized"
    assert dag.plugin_kernel("swish_plugin", {}) == "vectorized_oneshot"
    assert dag.plugin_kernel("swish_plugin_naive", {"plugin_kernel": "vectorized"}) == "naive"
    assert dag.plugin_kernel("relu", {}) == ""
