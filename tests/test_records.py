"""The tidy tables' schemas are pinned: downstream (MLflow, figures, users' notebooks) reads them by name."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from trt_plugin_bench.core.records import TABLES, LatencyRow, columns, shape_str, write_rows

EXPECTED = {
    "latency": ["backend", "device_name", "operator", "implementation", "kernel", "dtype", "profile", "shape",
                "elements", "bytes_moved", "mode", "start", "repeat", "n", "min_us", "median_us", "mean_us", "p90_us",
                "p99_us", "max_us", "stdev_us", "median_se_us", "rse", "stop_reason", "host_enqueue_median_us",
                "bandwidth_gbs", "copy_ceiling_gbs", "pct_of_copy_ceiling", "verified", "max_abs_err", "throttled",
                "sm_clock_start_mhz", "sm_clock_end_mhz", "mem_clock_mhz", "temperature_c", "power_w", "timing_clock"],
    "dynamic": ["backend", "operator", "dtype", "profile", "shape", "elements", "in_profile", "status",
                "output_shape", "verified", "median_us", "message"],
    "roundtrip": ["backend", "operator", "dtype", "profile", "shape", "engine_bytes", "engine_sha256",
                  "builder_pid", "loader_pid", "bit_identical", "differing_elements", "deserialize_ms", "message"],
    "threads": ["backend", "operator", "dtype", "profile", "shape", "threads", "iterations_per_thread",
                "inferences", "failures", "wall_s", "throughput_per_s", "median_latency_us", "all_verified", "message",
                "driver", "graph", "p99_latency_us", "gpu_busy_fraction", "gpu_interval_sum_over_wall",
                "graph_batch", "bytes_in", "bytes_out"],
    "calibration": ["backend", "device_name", "measurement", "bytes", "n", "median_us", "rse", "bandwidth_gbs",
                    "timing_clock", "start"],
    "compare": ["backend", "device_name", "operator_a", "operator_b", "kernel_a", "dtype", "profile", "shape",
                "elements", "tensor_bytes", "mode", "start", "n", "median_a_us", "median_b_us", "median_se_a_us",
                "median_se_b_us", "ratio", "ratio_se", "difference_us", "stop_reason", "verified", "throttled",
                "timing_clock", "control_ratio", "control_ratio_se", "shared_buffers"],
    "in_network": ["backend", "label", "device_name", "operator", "twin", "block", "size", "dtype", "shape",
                "operator_shape", "elements", "mode", "start", "n", "median_plugin_us", "median_twin_us",
                "median_se_plugin_us", "median_se_twin_us", "ratio", "ratio_se", "difference_us", "control_ratio",
                "control_ratio_se", "stop_reason", "verified", "check_message", "throttled", "sm_clock_start_mhz",
                "timing_clock", "plugin_layer_us", "plugin_alone_us", "integration_overhead_us", "plugin_engine_layers",
                "twin_engine_layers", "reformats_plugin", "reformats_twin", "plugin_in_format", "plugin_out_format",
                "twin_built_as", "reason", "sentence", "plugin_direct_us", "timing_cache"],
    "in_network_layers": ["backend", "operator", "block", "size", "dtype", "engine", "index", "layer", "layer_type", "role",
                "median_us", "inputs_format", "outputs_format", "tactic"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_table_columns(name: str) -> None:
    assert columns(TABLES[name]) == EXPECTED[name]


def test_every_table_records_its_backend() -> None:
    for name, row_type in TABLES.items():
        assert "backend" in columns(row_type), name


def _row(**overrides: object) -> LatencyRow:
    values = {c: 0 for c in columns(LatencyRow)}
    values.update(backend="reference", device_name="cpu", operator="relu", implementation="native", kernel="",
                  dtype="fp32", profile="p", shape="1x2", mode="warm", stop_reason="converged",
                  timing_clock="cpu_perf_counter", verified=True, throttled=False)
    values.update(overrides)
    return LatencyRow(**values)


def test_write_rows_is_atomic_and_typed(tmp_path: Path) -> None:
    out = tmp_path / "t" / "latency.csv"
    write_rows(out, LatencyRow, [_row(), _row(mode="cold")])
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["mode"] for r in rows] == ["warm", "cold"]
    assert not out.with_suffix(".csv.tmp").exists()
    with pytest.raises(TypeError):
        write_rows(out, LatencyRow, [{"mode": "warm"}])


def test_shape_str() -> None:
    assert shape_str((8, 512, 4096)) == "8x512x4096"
