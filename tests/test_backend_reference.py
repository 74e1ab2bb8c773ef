"""The reference backend behind the seam: engines validated on load, shapes refused outside the profile,
the round trip run in a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from trt_plugin_bench.backends import get_backend, resolve_backend_name
from trt_plugin_bench.backends.base import EngineLoadError, ShapeOutOfProfileError
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.operators import OPERATORS
from trt_plugin_bench.core.settings import ReferenceSettings, Settings, section_from
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = OPERATORS["swish_plugin"].inputs[0].generator  # the golden input is drawn with the spec's generator


@pytest.fixture(scope="module")
def config() -> Settings:
    return typed()


@pytest.fixture()
def built(tmp_path: Path, config: Settings) -> tuple[Path, Path]:
    engine, golden = tmp_path / "swish_plugin__fp16__tiny.engine", tmp_path / "swish_plugin__fp16__tiny.golden.npz"
    sweeps.build_engine(config, "reference", "swish_plugin", "fp16", "tiny", engine, golden, None)
    return engine, golden


def test_auto_resolves_to_reference_without_tensorrt() -> None:
    assert resolve_backend_name("reference") == "reference"
    with pytest.raises(ValueError, match="allowed values"):
        resolve_backend_name("onnx")


def test_build_writes_record_and_golden(built: tuple[Path, Path]) -> None:
    engine, golden = built
    record = json.loads(engine.with_suffix(".build.json").read_text())
    assert record["device"]["backend"] == "reference"
    assert "not TensorRT" in record["device"]["backend_label"]
    assert record["spec"]["dtype"] == "fp16" and record["spec"]["opt"] == [16, 256]
    data = np.load(golden)  # a seed and digests, not the arrays: a few hundred bytes
    assert tuple(data["shape"]) == (16, 256) and int(data["pid"]) == os.getpid()
    x = ref.random_input((16, 256), "fp16", int(data["seed"]), generator=GENERATOR)
    assert str(data["x_sha256"]) == sweeps.digest(x) and golden.stat().st_size < 4096


def test_out_of_profile_shapes_are_refused(built: tuple[Path, Path]) -> None:
    engine = get_backend("reference").load(built[0], None)
    for shape in [(65, 256), (0, 256), (16, 256, 1), (16, 255)]:
        with pytest.raises(ShapeOutOfProfileError, match="outside the optimization profile"):
            engine.infer(np.ones(shape, dtype=np.float16))
    with pytest.raises(TypeError, match="dtype"):
        engine.infer(np.ones((16, 256), dtype=np.float32))


def test_corrupted_engines_fail_with_clear_errors(built: tuple[Path, Path]) -> None:
    engine_path = built[0]
    backend = get_backend("reference")
    blob = engine_path.read_bytes()
    engine_path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(EngineLoadError, match="truncated|wrong length"):
        backend.load(engine_path, None)
    assert not engine_path.exists()  # removed, so that Snakemake rebuilds it (tests/test_new_user.py)
    engine_path.write_bytes(b"XXXXXXXX" + blob[8:])
    with pytest.raises(EngineLoadError, match="bad magic"):
        backend.load(engine_path, None)
    flipped = bytearray(blob)
    flipped[20] ^= 0xFF
    engine_path.write_bytes(bytes(flipped))
    with pytest.raises(EngineLoadError, match="checksum|not a valid"):
        backend.load(engine_path, None)


def test_latency_rows_checked_and_labelled(built: tuple[Path, Path], config: Settings) -> None:
    rows = sweeps.latency_sweep(config, "reference", built[0], None)
    assert {r.mode for r in rows} == {"warm", "cold"}
    assert {r.repeat for r in rows} == {0, 1}
    assert all(r.verified and r.backend == "reference" and r.timing_clock == "cpu_perf_counter" for r in rows)
    assert all(r.median_us > 0 and r.n >= config.timing.min_samples for r in rows)


def test_dynamic_sweep_checks_every_shape_and_rejects_outside(built: tuple[Path, Path], config: Settings) -> None:
    rows = sweeps.dynamic_sweep(config, "reference", built[0], None)
    ok = [r for r in rows if r.status == "ok"]
    rejected = [r for r in rows if r.status == "rejected"]
    assert {r.shape for r in ok} >= {"1x256", "16x256", "64x256"}
    assert len(rejected) == 3 and all("outside the optimization profile" in r.message for r in rejected)
    assert all(r.verified for r in ok)


def test_roundtrip_runs_in_a_separate_process(built: tuple[Path, Path], config: Settings) -> None:
    engine, golden = built
    [row] = sweeps.roundtrip("reference", engine, golden, None)
    assert row.bit_identical
    assert row.loader_pid != os.getpid() and row.builder_pid == os.getpid()


def test_roundtrip_detects_a_different_output(built: tuple[Path, Path], config: Settings) -> None:
    engine, golden = built
    data = dict(np.load(golden))
    # the builder's output one ulp off in one element: the loader's digest must differ from it
    x = ref.random_input(tuple(data["shape"]), "fp16", int(data["seed"]), generator=GENERATOR)
    y = get_backend("reference").load(engine, None).infer(x)
    y.view(np.uint16).flat[5] ^= 1
    data["y_sha256"] = np.str_(sweeps.digest(y))
    np.savez(golden, **data)
    with pytest.raises(RuntimeError, match="differ from the building process"):
        sweeps.roundtrip("reference", engine, golden, None)


def test_thread_sweep_checks_every_output(built: tuple[Path, Path], config: Settings) -> None:
    rows = sweeps.thread_sweep(config, "reference", built[0], None)
    assert [r.threads for r in rows] == [1, 2]
    assert all(r.all_verified and r.failures == 0 for r in rows)
    assert rows[1].inferences == 2 * config.threads.iterations
    # the CPU quick default caps the inferences per thread; the full CPU sweep does not
    quick = typed("threads.iterations=40", "reference.full=false", "reference.thread_iterations=7")
    assert sweeps.thread_sweep(quick, "reference", built[0], None)[1].inferences == 2 * 7
    full = typed("threads.iterations=40", "reference.full=true", "reference.thread_iterations=7")
    assert sweeps.thread_sweep(full, "reference", built[0], None)[1].inferences == 2 * 40


def test_timers_of_one_arena_share_input_and_flush(built: tuple[Path, Path]) -> None:
    backend = get_backend("reference")
    engine = backend.load(built[0], None)
    with backend.arena() as arena:
        a = engine.timer((16, 256), "cold", seed=3, verify_max_elements=1 << 20, arena=arena)
        b = engine.timer((16, 256), "cold", seed=3, verify_max_elements=1 << 20, arena=arena)
        assert a.x is b.x and a._flush is b._flush  # one input, one flush: the A/B sees the same memory
        assert a.verify().ok and b.verify().ok
        with pytest.raises(ValueError, match="one arena per shape"):
            engine.timer((64, 256), "cold", seed=3, verify_max_elements=1 << 20, arena=arena)
    alone = engine.timer((16, 256), "cold", seed=3, verify_max_elements=1 << 20)
    assert alone.x is not a.x and np.array_equal(alone.x, a.x, equal_nan=True)


def test_compare_rule_reports_the_aa_control_and_extra_shapes(tmp_path: Path, config: Settings) -> None:
    native = tmp_path / "swish_native__fp16__tiny.engine"
    sweeps.build_engine(config, "reference", "swish_native", "fp16", "tiny", native,
                        tmp_path / "swish_native__fp16__tiny.golden.npz", None)
    plugin = tmp_path / "swish_plugin__fp16__tiny.engine"
    sweeps.build_engine(config, "reference", "swish_plugin", "fp16", "tiny", plugin,
                        tmp_path / "swish_plugin__fp16__tiny.golden.npz", None)
    prof = config.profiles["tiny"]
    extra = (prof.min[0] + 1, *prof.min[1:])
    cfg = replace(config, compare=replace(config.compare, extra_shapes={"tiny": (extra, prof.shapes[0])}))
    shapes = sweeps.compare_shapes(cfg, "tiny")
    assert extra in shapes and len(shapes) == len(set(shapes)) == len(prof.shapes) + 1
    assert [int(np.prod(s)) for s in shapes] == sorted(int(np.prod(s)) for s in shapes)
    rows = sweeps.compare_sweep(cfg, "reference", plugin, native, None)
    assert [r.shape for r in rows] == ["x".join(map(str, s)) for s in shapes]
    for r in rows:
        assert r.verified and r.shared_buffers and r.control_ratio > 0 and r.control_ratio_se >= 0


def test_the_size_limit_is_the_backends(built: tuple[Path, Path], config: Settings) -> None:
    """Backend.max_elements gates the sweeps' sizes, not the backend's name: the CPU reference
    backend's comes from config reference (quick or full), and a planted limit below every shape
    but the smallest leaves exactly those out, saying which key to change."""
    def reference(**section: object) -> object:
        return get_backend("reference", reference=section_from(ReferenceSettings, section))

    assert reference(max_elements=4096).max_elements == 4096
    assert reference(full=True, max_elements=4096, full_max_elements=8192).max_elements == 8192
    assert reference(full=True).max_time_s is None and reference(max_time_s=0.5).max_time_s == 0.5
    planted = replace(config, reference=replace(config.reference, max_elements=256))  # only 1x256 fits
    rows = sweeps.dynamic_sweep(planted, "reference", built[0], None)
    skipped = [r for r in rows if r.status == "skipped"]
    assert skipped and all(r.elements > 256 for r in skipped)
    assert all("reference.max_elements 256" in r.message for r in skipped)
    assert {r.shape for r in rows if r.status == "ok"} == {"1x256"}


def test_no_gpu_package_is_imported_by_the_cpu_path() -> None:
    """tensorrt and pycuda are imported inside the TensorRT backend and the GPU modules only: with
    both made unimportable, the package, the commands and the CPU backend still import and build."""
    code = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorrt", "pycuda"):
            raise ImportError(f"{name} refused by the test")
sys.meta_path.insert(0, Refuse())
import trt_plugin_bench.cli, trt_plugin_bench.commands.sweeps, trt_plugin_bench.measure.measure, trt_plugin_bench.backends
from trt_plugin_bench.backends import get_backend
assert get_backend("reference").max_elements > 0
assert not any(m.split(".")[0] in ("tensorrt", "pycuda") for m in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
