"""MLflow logging: idempotent, resumable, and failing clearly when the store is unreachable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from trt_plugin_bench.records import DeviceInfo
from trt_plugin_bench.tracking import TrackingStoreUnreachable, check_store, log_results

DEVICE = DeviceInfo(backend="reference", backend_label="reference backend (CPU, numpy) - CPU timings, not TensorRT",
                    timing_clock="cpu_perf_counter", device_name="CPU", driver_version="n/a", cuda_version="n/a",
                    tensorrt_version="n/a", compute_capability="n/a", sm_count=2, l2_bytes=0, cpu="cpu",
                    python="3.11", numpy_version="2", hostname="h")


def make_tables(tables: Path) -> None:
    tables.mkdir(parents=True)
    rows = []
    for op in ("relu", "swish_plugin"):
        for elements in (256, 4096):
            for repeat in (0, 1):
                rows.append(dict(operator=op, dtype="fp32", profile="tiny", kernel="", implementation="native",
                                 shape=f"1x{elements}", elements=elements, mode="warm", repeat=repeat,
                                 median_us=10.0 + elements / 100, p99_us=20.0, rse=0.01, bandwidth_gbs=1.0,
                                 pct_of_copy_ceiling=1.0, host_enqueue_median_us=5.0, throttled=False))
    pd.DataFrame(rows).to_csv(tables / "latency.csv", index=False)
    pd.DataFrame([dict(operator="relu", dtype="fp32", profile="tiny", threads=t, throughput_per_s=100.0 * t, failures=0)
                  for t in (1, 2)]).to_csv(tables / "threads.csv", index=False)
    pd.DataFrame([dict(measurement="copy", bandwidth_gbs=90.0, median_us=20.0)]).to_csv(tables / "calibration.csv", index=False)
    (tables / "device.json").write_text(json.dumps(DEVICE.__dict__))


def config_for(uri: str) -> dict:
    return {"mlflow": {"experiment": "tpb-test", "tracking_uri": uri}, "beta": 1.0, "timing": {"modes": ["warm"]}}


def runs(uri: str) -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tpb-test")
    return client.search_runs([exp.experiment_id]) if exp else []


def test_logging_twice_creates_no_duplicates(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert sorted(first["created"]) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]
    assert len(runs(uri)) == 3  # parent + 2 nested sweeps
    second = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert second["parent_run_id"] == first["parent_run_id"] and second["created"] == []
    assert len(runs(uri)) == 3
    client = MlflowClient(tracking_uri=uri)
    child = [r for r in runs(uri) if r.data.tags.get("tpb.role") == "sweep"][0]
    assert child.data.tags["mlflow.parentRunId"] == first["parent_run_id"]
    assert child.data.tags["tpb.backend"] == "reference"
    assert "not TensorRT" in child.data.tags["mlflow.note.content"]
    history = client.get_metric_history(child.info.run_id, "latency_median_us.warm")
    assert sorted(m.step for m in history) == [256, 4096]


def test_interrupted_logging_resumes_without_duplicates(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    client = MlflowClient(tracking_uri=uri)
    # simulate an interruption: the parent not finished, one child half-logged
    client.set_tag(first["parent_run_id"], "tpb.complete", "false")
    child = [r for r in runs(uri) if r.data.tags.get("tpb.sweep_key") == "relu__fp32__tiny"][0]
    client.set_tag(child.info.run_id, "tpb.complete", "false")
    again = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert again["created"] == ["relu__fp32__tiny"] and again["skipped"] == ["swish_plugin__fp32__tiny"]
    keys = [r.data.tags.get("tpb.sweep_key") for r in runs(uri) if r.data.tags.get("tpb.role") == "sweep"]
    assert sorted(keys) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]


def test_new_measurements_make_a_new_parent_run(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    lat = pd.read_csv(tables / "latency.csv")
    lat["median_us"] *= 0.9  # a kernel change made it faster
    lat.to_csv(tables / "latency.csv", index=False)
    second = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert second["parent_run_id"] != first["parent_run_id"]
    assert len(runs(uri)) == 6


def test_unreachable_store_fails_fast_and_keeps_measurements(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    before = {p.name: p.read_bytes() for p in tables.iterdir()}
    for uri in ("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'missing-dir' / 'mlflow.db'}"):
        with pytest.raises(TrackingStoreUnreachable, match="measurements stay under results/"):
            log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert not (tmp_path / "logged.json").exists()
    assert {p.name: p.read_bytes() for p in tables.iterdir()} == before
    # once the store is back, everything is logged exactly once
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert len(runs(uri)) == 3


def test_check_store_accepts_a_reachable_sqlite(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path / 'ok.db'}")
    shutil.rmtree(tmp_path)
