"""Tolerances against the reference rounded to the output dtype, and accuracy as a table.

tests/specs/scale/: test operators (not product ops). scale (y = 1000 x, a plugin spec whose library
is never loaded on the CPU backend) overflows to +-inf in fp16 for |x| > 65.5 and underflows for tiny
x, where the rounded reference does the same; scale_ftz_native is a "TensorRT's own layers" operator
whose CPU stand-in flushes subnormal fp16 results to zero while its spec declares no flush.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from trt_plugin_bench.backends import get_backend
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.records import AccuracyRow, LatencyRow, columns
from trt_plugin_bench.core.specs import import_function, load_spec, numerics_of
from trt_plugin_bench.report.summary import accuracy_lines
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
SCALE = ROOT / "tests" / "specs" / "scale" / "scale.yaml"
FTZ_TWIN = ROOT / "tests" / "specs" / "scale" / "scale_ftz_native.yaml"


def test_an_fp16_overflow_to_inf_is_right_where_the_rounded_reference_overflows() -> None:
    spec = load_spec(SCALE)
    num = numerics_of(spec)
    x = ref.random_input((8, 64), "fp16", 3, generator=spec.inputs[0].generator)
    x64 = ref.to_float64(x, "fp16")
    y = ref.compute_float32(num, x, "fp16")
    got = ref.to_float64(y, "fp16")
    assert np.isinf(got[np.abs(x64) > 70]).all() and np.isfinite(x64[np.abs(x64) > 70]).any()  # it overflows
    result = ref.check_output(y, x, num, "fp16")
    assert result.ok, result.message
    # a wrong implementation: saturating at the fp16 maximum where the rounded reference is +-inf
    wrong = dataclasses.replace(num, cpu_all=lambda x32, *_: [import_function("scale:scale_float32_overflow_wrong",
                                                                                   spec.folder)(x32)])
    bad = ref.check_output(ref.compute_float32(wrong, x, "fp16"), x, num, "fp16")
    assert not bad.ok and "got=65504.0" in bad.message
    # underflow: a tiny result rounds to a subnormal or 0 in fp16, as the reference rounded does
    tiny = ref.to_device_dtype(np.array([1e-7, -1e-7, 3e-8, 6e-8], dtype=np.float32) * np.float32(1e-3), "fp16")
    assert ref.check_output(ref.compute_float32(num, tiny, "fp16"), tiny, num, "fp16").ok


def test_the_overflowing_op_passes_on_the_cpu_backend(tmp_path: Path) -> None:
    """The engine of the one-input op whose fp16 output overflows: built, checked (golden and the
    accuracy table), timed on the CPU reference backend."""
    settings = typed()
    engine, golden, acc = tmp_path / "scale.engine", tmp_path / "scale.golden.npz", tmp_path / "scale.acc.csv"
    sweeps.build_engine(settings, "reference", str(SCALE), "fp16", "tiny", engine, golden, None, accuracy_path=acc)
    table = pd.read_csv(acc)
    assert list(table.columns) == columns(AccuracyRow)
    assert set(table["inputs"]) == {"random", "edge"} and table["within_tolerance"].all()
    assert set(table["side"]) == {"plugin"}
    rows = sweeps.latency_sweep(settings, "reference", engine, None)
    assert rows and all(r.verified for r in rows)


def test_a_twin_that_flushes_shows_in_the_accuracy_table_and_the_timing_goes_on(tmp_path: Path) -> None:
    settings = typed()
    engine, golden, acc = tmp_path / "twin.engine", tmp_path / "twin.golden.npz", tmp_path / "twin.acc.csv"
    # the build does not fail: TensorRT's own layers outside their tolerance are reported
    sweeps.build_engine(settings, "reference", str(FTZ_TWIN), "fp16", "tiny", engine, golden, None, accuracy_path=acc)
    table = pd.read_csv(acc)
    assert set(table["side"]) == {"tensorrt_layers"}
    bad = table[~table["within_tolerance"]]
    assert not bad.empty and (bad["mismatches"] > 0).all()
    assert "got=0.0" in bad["worst"].iloc[0]  # the worst inputs: the flushed results
    rows: list[LatencyRow] = sweeps.latency_sweep(settings, "reference", engine, None)
    assert rows and not any(r.verified for r in rows)  # timed, marked unverified
    text = "\n".join(accuracy_lines(table))
    assert "scale_ftz_native | fp16 | tensorrt_layers" in text and "**no**" in text and "got=0.0" in text
    # the dynamic and threads rules go on too (before: "dynamic-shape sweep failed", "single-threaded output is wrong")
    dynamic = sweeps.dynamic_sweep(settings, "reference", engine, None)
    inside = [r for r in dynamic if r.in_profile]
    assert inside and all(r.status == "ok" for r in inside) and not any(r.verified for r in inside)
    threads = sweeps.thread_sweep(settings, "reference", engine, None)
    assert threads and all(r.all_verified for r in threads)  # bit for bit with the single-threaded outputs


def test_a_plugin_outside_its_tolerance_still_fails_its_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = typed()
    spec = load_spec(SCALE)
    num = numerics_of(spec)
    monkeypatch.setattr(ref, "compute_float32", lambda n, x, dtype, beta=1.0: ref.to_device_dtype(
        np.zeros(x.shape, dtype=np.float32), dtype))
    acc = tmp_path / "acc.csv"
    with pytest.raises(RuntimeError, match="computes wrong values"):
        sweeps.build_engine(settings, "reference", str(SCALE), "fp16", "tiny", tmp_path / "s.engine",
                            tmp_path / "s.golden.npz", None, accuracy_path=acc)
    assert not pd.read_csv(acc)["within_tolerance"].any()  # written before the failure: nothing lost
    assert num is numerics_of(spec)
    assert get_backend("reference").name == "reference"
