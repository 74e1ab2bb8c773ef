"""Issue 23 on the CPU: the test operator scale (tests/specs/scale: a plugin whose fp16 output overflows
for |x| > 65.5, its TensorRT-native twin, and scale_ftz_native, TensorRT's layers whose CPU stand-in
flushes subnormal results) runs through the whole DAG on the reference backend: the plugin passes,
the accuracy table shows the flush, the timing, dynamic and threads rules go on. The same config runs
on TensorRT in tests/test_gpu_specs.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from spec_dags import project_with, scale_config, snakemake


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = project_with(tmp_path_factory.mktemp("scale"), "scale", scale_config("reference"))
    proc = snakemake(project, "scale")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.mark.slow
def test_scale_runs_through_the_dag_and_the_accuracy_table_shows_the_flush(project: Path) -> None:
    tables = project / "results" / "scale" / "tables"
    acc = pd.read_csv(tables / "accuracy.csv")
    plugin = acc[acc["operator"] == "scale"]
    assert set(plugin["side"]) == {"plugin"} and set(plugin["dtype"]) == {"fp32", "fp16"}
    assert plugin["within_tolerance"].all()  # fp16 overflows to inf where the rounded reference does
    flushed = acc[acc["operator"] == "scale_ftz_native"]
    assert set(flushed["side"]) == {"tensorrt_layers"} and not flushed["within_tolerance"].any()
    assert flushed["worst"].str.contains("got=0.0").all()
    lat = pd.read_csv(tables / "latency.csv")
    assert lat[lat["operator"] == "scale"]["verified"].all()
    assert not lat[lat["operator"] == "scale_ftz_native"].empty  # timed all the same, marked unverified
    assert not lat[lat["operator"] == "scale_ftz_native"]["verified"].any()
    dyn = pd.read_csv(tables / "dynamic.csv")
    assert (dyn[dyn["in_profile"]]["status"] == "ok").all()
    threads = pd.read_csv(tables / "threads.csv")
    assert set(threads["operator"]) == {"scale", "scale_native", "scale_ftz_native"}
    compare = pd.read_csv(tables / "compare.csv")
    assert set(compare["operator_a"]) == {"scale"} and compare["verified"].all()
    assert "scale_ftz_native | fp16 | tensorrt_layers" in (tables / "summary.md").read_text()
