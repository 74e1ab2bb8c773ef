"""workflow/scripts/compare_runs.py: two runs' tables compared (issue 23's "the same tables as before").

Two CPU runs of tests/configs/small.yaml would take minutes: these tests write small tables with the real
column sets instead (records.py's row classes, records.write_rows) and plant what the comparison must
catch; the last test reads the committed H100 reference run (docs/runs/h100-2026-11-24d) against itself.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import shutil
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest
from trt_plugin_bench.core.records import CompareRow, LatencyRow, RoundtripRow, ThreadRow, write_rows

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "runs" / "h100-2026-11-24d"
SCRIPT = ROOT / "workflow" / "scripts" / "compare_runs.py"

_spec = importlib.util.spec_from_file_location("compare_runs", SCRIPT)
compare_runs = importlib.util.module_from_spec(_spec)
sys.modules["compare_runs"] = compare_runs  # its dataclasses look their module up there
_spec.loader.exec_module(compare_runs)

GPU = "NVIDIA H100 80GB HBM3"
SHAPES = [(1, 1024), (64, 1024), (4096, 1024)]


def latency_rows(backend: str) -> list[LatencyRow]:
    rows = []
    for op, impl in (("relu", "native"), ("swish_plugin", "plugin_v2")):
        for rows_, cols in SHAPES:
            for mode in ("warm", "cold"):
                for repeat in (0, 1):
                    median = 4.0 + rows_ * 0.01 + (0.3 if mode == "cold" else 0.0)
                    rows.append(LatencyRow(
                        backend=backend, device_name=GPU, operator=op, implementation=impl,
                        kernel="tuned" if impl == "plugin_v2" else "", dtype="fp32", profile="sweep",
                        shape=f"{rows_}x{cols}", elements=rows_ * cols, bytes_moved=8 * rows_ * cols, mode=mode,
                        start="blocked", repeat=repeat, n=100, min_us=median * 0.98, median_us=median,
                        mean_us=median * 1.01, p90_us=median * 1.02, p99_us=median * 1.05, max_us=median * 1.2,
                        stdev_us=median * 0.01, median_se_us=median * 0.002, rse=0.002, stop_reason="converged",
                        host_enqueue_median_us=7.5, bandwidth_gbs=8 * rows_ * cols / median / 1e3,
                        copy_ceiling_gbs=3061.3, pct_of_copy_ceiling=1.0, verified=True, max_abs_err=1e-7,
                        throttled=False, sm_clock_start_mhz=1980, sm_clock_end_mhz=1980, mem_clock_mhz=2619,
                        temperature_c=40, power_w=130.5, timing_clock="cuda_event"))
    return rows


def compare_rows(backend: str) -> list[CompareRow]:
    return [CompareRow(
        backend=backend, device_name=GPU, operator_a="swish_plugin", operator_b="swish_native", kernel_a="tuned",
        dtype="fp32", profile="sweep", shape=f"{r}x{c}", elements=r * c, tensor_bytes=4 * r * c, mode="cold",
        start="blocked", n=200, median_a_us=10.0 + r, median_b_us=10.2 + r, median_se_a_us=0.01, median_se_b_us=0.01,
        ratio=(10.0 + r) / (10.2 + r), ratio_se=0.002, difference_us=-0.2, stop_reason="converged", verified=True,
        throttled=False, timing_clock="cuda_event", control_ratio=1.0, control_ratio_se=0.001, shared_buffers=True)
        for r, c in SHAPES]


def roundtrip_rows(backend: str) -> list[RoundtripRow]:
    return [RoundtripRow(backend=backend, operator=op, dtype="fp32", profile="sweep", shape="4096x1024",
                         engine_bytes=40708, engine_sha256="ab" * 32, builder_pid=10, loader_pid=11, bit_identical=True,
                         differing_elements=0, deserialize_ms=12.0, message="outputs bit-identical")
            for op in ("relu", "swish_plugin")]


def thread_rows(backend: str) -> list[ThreadRow]:
    return [ThreadRow(backend=backend, operator="relu", dtype="fp32", profile="sweep", shape="64x1024", threads=t,
                      iterations_per_thread=200, inferences=200 * t, failures=0, wall_s=0.05 * t,
                      throughput_per_s=4000.0, median_latency_us=150.0, all_verified=True, message="all outputs verified")
            for t in (1, 2)]


def write_run(folder: Path, backend: str = "tensorrt", *, latency: list[LatencyRow] | None = None,
              gz: bool = False) -> Path:
    """A tables folder: latency, compare, roundtrip and threads with the real columns, and device.json."""
    folder.mkdir(parents=True)
    write_rows(folder / "latency.csv", LatencyRow, latency if latency is not None else latency_rows(backend))
    write_rows(folder / "compare.csv", CompareRow, compare_rows(backend))
    write_rows(folder / "roundtrip.csv", RoundtripRow, roundtrip_rows(backend))
    write_rows(folder / "threads.csv", ThreadRow, thread_rows(backend))
    if gz:
        with (folder / "latency.csv").open("rb") as src, gzip.open(folder / "latency.csv.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        (folder / "latency.csv").unlink()
    label = "TensorRT 8.6.1 on " + GPU if backend == "tensorrt" else "CPU reference backend (numpy), not TensorRT"
    (folder / "device.json").write_text(json.dumps({
        "backend": backend, "backend_label": label, "device_name": GPU if backend == "tensorrt" else "x86_64"}))
    return folder


def run(old: Path, new: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str, str]:
    status = compare_runs.main([str(old), str(new), *extra])
    out = capsys.readouterr()
    return status, out.out, out.err


def drop_columns(path: Path, names: set[str]) -> None:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [c for c in rows[0] if c not in names]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=kept, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_identical_runs_are_the_same(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new")
    out_md = tmp_path / "report.md"
    status, out, _ = run(old, new, capsys, "--out", str(out_md))
    assert status == 0, out
    assert "**THE SAME** (4 tables compared)" in out
    assert "- **latency: same**: 24 rows matched (OLD 24, NEW 24); 0 only in OLD, 0 only in NEW; " \
           "24 of 24 values within noise, 0 outside" in out
    assert "- **compare: same**: 3 rows matched" in out and "12 of 12 values within noise" in out
    assert out_md.read_text() == out


def test_a_planted_shift_outside_its_se_is_a_difference(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """10 % on one row (its SE 0.2 %, the floor 2 %): outside, named with its ratio; the others stay within."""
    rows = latency_rows("tensorrt")
    i = next(i for i, r in enumerate(rows) if r.operator == "swish_plugin" and r.shape == "4096x1024"
             and r.mode == "cold" and r.repeat == 1)
    rows[i] = replace(rows[i], median_us=rows[i].median_us * 1.10)
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new", latency=rows)
    status, out, _ = run(old, new, capsys)
    assert status == 1
    assert "**DIFFERENCES**" in out and "- **latency: DIFFERS**" in out and "23 of 24 values within noise, 1 outside" in out
    assert "outside, by operator and mode: swish_plugin cold (1)" in out
    assert "swish_plugin fp32 sweep 4096x1024 cold 1 median_us 45.26 -> 49.79 (x1.1000" in out
    # within its noise: 1 % on a row is inside the 2 % floor
    rows[i] = replace(rows[i], median_us=latency_rows("tensorrt")[i].median_us * 1.01)
    shutil.rmtree(tmp_path / "new")
    assert run(old, write_run(tmp_path / "new", latency=rows), capsys)[0] == 0


def test_a_missing_row_and_a_changed_flag_are_differences(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = latency_rows("tensorrt")
    lost = rows.pop(0)
    rows[0] = replace(rows[0], verified=False)
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new", latency=rows)
    status, out, _ = run(old, new, capsys)
    assert status == 1
    assert "23 rows matched (OLD 24, NEW 23); 1 only in OLD, 0 only in NEW" in out
    assert f"only in OLD (1), by operator and mode: relu warm (1); e.g. relu fp32 sweep {lost.shape} warm 0" in out
    assert "exact column verified changed in 1 rows: relu fp32 sweep 1x1024 warm 1: True -> False" in out
    # a row only in NEW is listed, not a difference (new features add rows) unless --strict
    status, out, _ = run(new, old, capsys)
    assert "1 only in NEW" in out and "exact column verified" in out and status == 1
    rows[0] = replace(rows[0], verified=True)
    shutil.rmtree(new)
    write_run(new, latency=rows)
    status, out, _ = run(new, old, capsys)
    assert status == 0 and "only in NEW (1)" in out
    assert run(new, old, capsys, "--strict")[0] == 1


def test_new_columns_are_listed_not_failed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An OLD table of before a column existed: listed as added. Threads rows of before the native runner read
    as the row class's defaults (driver python, graph False, graph_batch 1), so they match their keys."""
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new")
    added_threads = {f.name for f in fields(ThreadRow)[14:]}
    drop_columns(old / "threads.csv", added_threads)
    drop_columns(old / "compare.csv", {"control_ratio", "control_ratio_se", "shared_buffers"})
    status, out, _ = run(old, new, capsys)
    assert status == 0, out
    assert f"columns added: {', '.join(f.name for f in fields(ThreadRow)[14:])}" in out
    assert "columns added: control_ratio, control_ratio_se, shared_buffers" in out
    assert "- **threads: same**: 2 rows matched (OLD 2, NEW 2)" in out
    # a column removed is a difference
    drop_columns(new / "roundtrip.csv", {"differing_elements"})
    status, out, _ = run(old, new, capsys)
    assert status == 1 and "columns removed: differing_elements" in out


def test_renamed_columns_are_read_under_their_new_names(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new")
    text = (old / "roundtrip.csv").read_text()
    (old / "roundtrip.csv").write_text(text.replace("bit_identical", "identical_bits", 1))
    status, out, _ = run(old, new, capsys)
    assert status == 1 and "columns removed: identical_bits" in out and "columns added: bit_identical" in out
    monkeypatch.setitem(compare_runs.RENAMES, "roundtrip", {"identical_bits": "bit_identical"})
    status, out, _ = run(old, new, capsys)
    assert status == 0 and "OLD columns read under their new names: identical_bits -> bit_identical" in out


def test_gzipped_tables_are_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, new = write_run(tmp_path / "old", gz=True), write_run(tmp_path / "new")
    status, out, _ = run(old, new, capsys)
    assert status == 0 and "- **latency: same**: 24 rows matched" in out


def test_backend_mismatch_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gpu, cpu = write_run(tmp_path / "gpu"), write_run(tmp_path / "cpu", "reference")
    status, _, err = run(gpu, cpu, capsys)
    assert status == 2
    assert "OLD is TensorRT 8.6.1 on NVIDIA H100 80GB HBM3 (backend tensorrt" in err
    assert "NEW is CPU reference backend (numpy), not TensorRT (backend reference" in err
    assert "--allow-backend-mismatch" in err
    status, out, _ = run(gpu, cpu, capsys, "--allow-backend-mismatch")
    assert status == 0, out  # the same rows, columns and exact columns: the numbers are not judged
    assert "**Backends differ**: the numbers are shown, not judged" in out and "24 values not judged" in out
    rows = latency_rows("reference")[1:]
    shutil.rmtree(cpu)
    status, out, _ = run(gpu, write_run(cpu, "reference", latency=rows), capsys, "--allow-backend-mismatch")
    assert status == 1 and "1 only in OLD" in out


def test_device_mismatch_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new")
    (new / "device.json").write_text(json.dumps({"backend": "tensorrt", "device_name": "NVIDIA H200"}))
    status, _, err = run(old, new, capsys)
    assert status == 2 and "NVIDIA H200" in err and "--allow-device-mismatch" in err
    status, out, _ = run(old, new, capsys, "--allow-device-mismatch")
    assert status == 0 and "**Devices differ**" in out


def test_without_device_json_the_backend_comes_from_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old, cpu = write_run(tmp_path / "old"), write_run(tmp_path / "cpu", "reference")
    (old / "device.json").unlink()
    (cpu / "device.json").unlink()
    status, _, err = run(old, cpu, capsys)
    assert status == 2 and "backend tensorrt, device NVIDIA H100 80GB HBM3; from the tables'" in err
    assert "backend reference" in err


@pytest.mark.parametrize("damage, message", [
    (lambda p: drop_columns(p / "latency.csv", {"mode"}),
     "latency.csv: no key column 'mode' (the latency table's rows are identified by operator, dtype, profile, "
     "shape, mode, repeat)"),
    (lambda p: (p / "latency.csv").write_text((p / "latency.csv").read_text().replace(",True,", ",yes,", 1)),
     "latency.csv:2: column verified: 'yes' is no bool"),
    (lambda p: (p / "latency.csv").write_text((p / "latency.csv").read_text().replace(",8192,", ",many,", 1)),
     "column bytes_moved: 'many' is no int"),
    (lambda p: (p / "latency.csv").write_text(""), "latency.csv: empty (not even a header)"),
    (lambda p: [f.unlink() for f in p.glob("*.csv")], "no tables (<table>.csv or <table>.csv.gz)"),
])
def test_bad_input_names_the_file_and_column(tmp_path: Path, capsys: pytest.CaptureFixture, damage, message) -> None:
    old, new = write_run(tmp_path / "old"), write_run(tmp_path / "new")
    damage(new)
    status, _, err = run(old, new, capsys)
    assert status == 2 and message in err, err


def test_the_committed_h100_reference_against_itself(capsys: pytest.CaptureFixture) -> None:
    """The command the GPU session runs (docs/pipeline.md), on the reference run both sides: every table read
    (latency gzipped), every row matched, nothing outside."""
    files = compare_runs.table_files(REFERENCE)
    assert set(files) == {"calibration", "compare", "dynamic", "kernel", "latency", "profile", "roundtrip", "threads"}
    assert files["latency"].name == "latency.csv.gz"
    status, out, _ = run(REFERENCE, REFERENCE, capsys)
    assert status == 0, out
    assert "**THE SAME** (8 tables compared)" in out
    for name, path in files.items():
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as f:
            n = sum(1 for _ in f) - 1
        assert f"- **{name}: same**: {n} rows matched (OLD {n}, NEW {n}); 0 only in OLD, 0 only in NEW" in out
    assert "960 of 960 values within noise, 0 outside" in out  # latency's median_us, row by row
    assert "TensorRT 8.6.1 on NVIDIA H100 80GB HBM3 (backend tensorrt" in out


def test_rows_sharing_a_key_are_matched_in_order_and_said_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A table whose rows the rule's keys do not tell apart (a column added since): no crash of the one GPU
    session's command; the rows are matched in file order and the report says so."""
    rows = latency_rows("tensorrt")
    rows.append(replace(rows[0], median_se_us=0.5))
    old, new = write_run(tmp_path / "old", latency=rows), write_run(tmp_path / "new", latency=rows)
    status, out, _ = run(old, new, capsys)
    assert status == 0, out
    assert "- **latency: same**: 25 rows matched (OLD 25, NEW 25)" in out
    assert "repeats an earlier row's: OLD 1, NEW 1; matched in file order" in out
