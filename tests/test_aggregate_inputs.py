"""The aggregate rule refuses a damaged per-sweep CSV (issue 26 item 8): empty, cut short, a header
alone, a cell that is no number. The error names the file and the remedy, and the file is set aside
so a plain rerun measures it again; the tables already written are not touched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trt_plugin_bench.core.records import CalibrationRow, RoundtripRow, write_rows
from trt_plugin_bench.report.aggregate import SweepFileError, aggregate, check_sweep_files, sweep_file_problem

DEVICE = {"backend": "reference", "backend_label": "reference backend (CPU, numpy) - CPU timings, not TensorRT",
          "timing_clock": "cpu_perf_counter", "device_name": "CPU", "driver_version": "n/a", "cuda_version": "n/a",
          "tensorrt_version": "n/a", "compute_capability": "n/a", "sm_count": 2, "l2_bytes": 0, "cpu": "cpu",
          "python": "3.11", "numpy_version": "2", "hostname": "h"}


def _roundtrip(path: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(3)
    rows = [RoundtripRow(backend="reference", operator="relu", dtype="fp32", profile="tiny", shape=f"{i + 1}x256",
                         engine_bytes=int(rng.integers(100, 10_000)), engine_sha256="ab" * 32, builder_pid=1,
                         loader_pid=2, bit_identical=True, differing_elements=0,
                         deserialize_ms=float(rng.uniform(0.1, 2)), message="ok, with a comma") for i in range(n)]
    write_rows(path, RoundtripRow, rows)
    return path


def _calibration(path: Path) -> Path:
    write_rows(path, CalibrationRow, [CalibrationRow("reference", "CPU", "copy", 1 << 20, 9, 50.0, 0.01, 20.0,
                                                     "cpu_perf_counter", "cpu")])
    return path


@pytest.mark.parametrize("damage,said", [
    (lambda b: b"", "is empty (0 bytes)"),
    (lambda b: b[:len(b) // 2], "cut short"),  # mid-line: 12 rows would read as 6 and a NaN-filled one
    (lambda b: b[:b.index(b"\n") + 1], "holds the header but no row"),  # 12 rows -> 0
    (lambda b: b.replace(b",True,0,", b",True,,", 1), "is not a number"),  # a NaN cell
    (lambda b: b.replace(b"backend,", b"", 1), "header"),
    (lambda b: b"\xff\xfe" + b, "not a CSV table"),
])
def test_a_damaged_sweep_file_is_refused_named_and_set_aside(tmp_path: Path, damage, said: str) -> None:  # noqa: ANN001
    good = _roundtrip(tmp_path / "roundtrip" / "relu__fp32__tiny.csv")
    assert sweep_file_problem(good, "roundtrip") is None and len(pd.read_csv(good)) == 12
    bad = _roundtrip(tmp_path / "roundtrip" / "swish__fp32__tiny.csv")
    bad.write_bytes(damage(bad.read_bytes()))
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "roundtrip.csv").write_text("the tables of the last good run\n")
    (tmp_path / "device.json").write_text(json.dumps(DEVICE))
    inputs = {"roundtrip": [good, bad], "calibration": [_calibration(tmp_path / "calibration.csv")]}
    with pytest.raises(SweepFileError) as exc:
        aggregate(inputs, tmp_path / "device.json", tables, [])
    message = str(exc.value)
    assert str(bad) in message and said in message and "a plain rerun" in message and "\n" not in message
    assert str(good) not in message
    # set aside: its rule finds its output missing and makes it again; the good one stays
    assert not bad.exists() and bad.with_name(bad.name + ".corrupt").exists() and good.exists()
    assert (tables / "roundtrip.csv").read_text() == "the tables of the last good run\n"


def test_sound_files_aggregate_and_optional_tables_may_be_empty(tmp_path: Path) -> None:
    (tmp_path / "device.json").write_text(json.dumps(DEVICE))
    tune = tmp_path / "tune.csv"
    from trt_plugin_bench.core.records import TuneRow

    write_rows(tune, TuneRow, [])  # the tune, kernel and profile rules may find nothing to write
    inputs = {"roundtrip": [_roundtrip(tmp_path / "r.csv")], "calibration": [_calibration(tmp_path / "c.csv")],
              "tune": [tune]}
    check_sweep_files(inputs)
    aggregate(inputs, tmp_path / "device.json", tmp_path / "tables", [])
    assert len(pd.read_csv(tmp_path / "tables" / "roundtrip.csv")) == 12
    assert sweep_file_problem(tmp_path / "missing.csv", "roundtrip") == "does not exist"
