"""Issue 16, a new user's first run: a quick CPU default (compact golden outputs, the reference
backend's own limits, the GPU defaults untouched), the summary saying what the limit left out,
one error line per failed job on the console, and a corrupt engine rebuilt on the next run."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from project_copy import copy_project
from trt_plugin_bench import cli
from trt_plugin_bench.backends import get_backend
from trt_plugin_bench.backends.base import Backend
from trt_plugin_bench.backends.engine_files import engine_files
from trt_plugin_bench.commands import dag, sweeps
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.config import ConfigError, validate_config
from trt_plugin_bench.core.records import DynamicRow, write_rows
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.report.summary import write_summary
from typed import DEFAULT, typed

ROOT = Path(__file__).resolve().parents[1]
ERROR_LINE = re.compile(r"^tpb [\w-]+: error: .+$")


@pytest.fixture(scope="module")
def small() -> Settings:
    return typed()


def wide_profile() -> Settings:
    """small.yaml with a profile whose opt and max are above the quick limit (4096 elements here)."""
    return typed("profiles={wide: {min: [1, 256], opt: [1024, 256], max: [2048, 256], "
                 "shapes: [[1, 256], [16, 256], [1024, 256], [2048, 256]]}}", "compare.extra_shapes={}",
                 "reference.max_elements=4096")


def build(cfg: Settings, tmp_path: Path, op: str = "swish_plugin", dtype: str = "fp16", profile: str = "tiny") -> Path:
    engine = tmp_path / f"{op}__{dtype}__{profile}.engine"
    sweeps.build_engine(cfg, "reference", op, dtype, profile, engine, engine.with_suffix(".golden.npz"), None)
    return engine


# -- a quick default on the CPU, the GPU defaults as they were ----------------------------------------
def test_default_config_is_quick_on_the_cpu_and_unchanged_on_the_gpu() -> None:
    """The limits are the backend's (Backend.max_elements, max_time_s, max_thread_iterations): the
    CPU reference backend's from config reference, none on the base class (the GPU's)."""
    cfg = typed(path=DEFAULT)
    cpu = sweeps.backend_for(cfg, "reference")
    # a backend that keeps the base class's limits, as the TensorRT backend does
    gpu = type("Gpu", (), {"name": "tensorrt", **{k: getattr(Backend, k) for k in
                                                  ("max_elements", "max_time_s", "max_thread_iterations")}})()
    assert cfg.reference.full is False
    assert cpu.max_elements == cfg.reference.max_elements < cfg.reference.full_max_elements
    assert sweeps.time_budget(cpu, cfg.timing.max_time_s) == cfg.reference.max_time_s
    assert cpu.max_thread_iterations == cfg.reference.thread_iterations
    # the GPU keeps every budget of the timing and compare sections, and has no size limit
    assert gpu.max_elements is None and gpu.max_thread_iterations is None
    assert sweeps.time_budget(gpu, cfg.timing.max_time_s) == cfg.timing.max_time_s == 0.25
    assert sweeps.time_budget(gpu, cfg.compare.max_time_s) == cfg.compare.max_time_s == 2.0
    # the full CPU sweep: one switch, the old limit and the timing section's budgets
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    full_file = yaml.safe_load((ROOT / "config.cpu-full.yaml").read_text())  # what FULL_SWEEP_SWITCH adds
    full = Settings.from_config(validate_config({**raw, "reference": {**raw["reference"], **full_file["reference"]}}))
    assert "config.cpu-full.yaml" in sweeps.FULL_SWEEP_SWITCH
    cpu_full = sweeps.backend_for(full, "reference")
    assert cpu_full.max_elements == 4194304
    assert sweeps.time_budget(cpu_full, full.timing.max_time_s) == 0.25
    assert cpu_full.max_thread_iterations is None
    # without settings, the schema's defaults: the quick run
    assert get_backend("reference").max_elements == cfg.reference.max_elements


def test_reference_keys_are_validated_by_name() -> None:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    with pytest.raises(ConfigError, match="unknown config key.*quick.*allowed keys: extra_work, full, full_max_elements, "
                                          "max_elements, max_time_s, thread_iterations"):
        validate_config({**raw, "reference": {"quick": True}})
    with pytest.raises(ConfigError, match="reference.max_time_s"):
        validate_config({**raw, "reference": {"max_time_s": 0}})


def test_golden_is_a_seed_and_digests(tmp_path: Path) -> None:
    """Before: the golden held the input and output arrays of opt (128 MiB for the llm profile);
    now a seed and digests, at min on the CPU when opt is large, and the round trip still checks
    bit identity."""
    cfg = typed("profiles={big: {min: [1, 256], opt: [2048, 256], max: [2048, 256], shapes: [[1, 256], [2048, 256]]}}",
                "compare.extra_shapes={}")
    saved = sweeps.REFERENCE_GOLDEN_MAX_ELEMENTS
    try:
        sweeps.REFERENCE_GOLDEN_MAX_ELEMENTS = 4096  # opt 512 Ki elements is above it
        engine = build(cfg, tmp_path, profile="big")
    finally:
        sweeps.REFERENCE_GOLDEN_MAX_ELEMENTS = saved
    golden = engine.with_suffix(".golden.npz")
    assert golden.stat().st_size < 4096  # the arrays alone would be 2 MiB
    data = np.load(golden)
    assert "x" not in data.files and "y" not in data.files and tuple(data["shape"]) == (1, 256)
    [row] = sweeps.roundtrip("reference", engine, golden, None)
    assert row.bit_identical and row.shape == "1x256" and row.differing_elements == 0


def test_roundtrip_reads_golden_files_of_full_arrays(small: dict, tmp_path: Path) -> None:
    """Results from before the digests still round-trip (and a planted one-ulp change is caught)."""
    engine = build(small, tmp_path)
    golden = engine.with_suffix(".golden.npz")
    x = ref.random_input((16, 256), "fp16", 5)
    y = get_backend("reference").load(engine, None).infer(x)
    np.savez(golden, x=x, y=y, pid=np.int64(1))
    assert sweeps.roundtrip("reference", engine, golden, None)[0].bit_identical
    y.view(np.uint16).flat[100] ^= 1
    np.savez(golden, x=x, y=y, pid=np.int64(1))
    with pytest.raises(RuntimeError, match="differ from the building process"):
        sweeps.roundtrip("reference", engine, golden, None)


# -- what the limit left out, in the summary ----------------------------------------------------------
def test_summary_says_which_shapes_the_limit_left_out(tmp_path: Path) -> None:
    cfg = wide_profile()
    engine = build(cfg, tmp_path, profile="wide")
    rows = sweeps.dynamic_sweep(cfg, "reference", engine, None)
    skipped = [r for r in rows if r.status == "skipped"]
    # opt, the odd shape (opt + 3) and max: 256 Ki to 512 Ki elements
    assert {r.shape for r in skipped} == {"1024x256", "1027x256", "2048x256"}
    assert all("--configfile config.yaml config.cpu-full.yaml` runs it" in r.message for r in skipped)
    tables = tmp_path / "tables"
    tables.mkdir()
    write_rows(tables / "dynamic.csv", DynamicRow, rows)
    device = {"backend": "reference", "backend_label": "reference backend (CPU, numpy)", "device_name": "CPU",
              "driver_version": "n/a", "cuda_version": "n/a", "tensorrt_version": "n/a", "timing_clock": "cpu_perf_counter",
              "skipped": []}
    write_summary(tables, device, tables / "summary.md")
    text = (tables / "summary.md").read_text()
    assert "## Left out" in text
    assert "Shapes above reference.max_elements (4096 elements), left out of every sweep on the CPU reference backend: 3." in text
    assert "- wide: 1024x256, 1027x256, 2048x256" in text and sweeps.FULL_SWEEP_SWITCH in text
    # nothing cut: no such line
    write_rows(tables / "dynamic.csv", DynamicRow, [r for r in rows if r.status != "skipped"])
    write_summary(tables, device, tables / "summary.md")
    assert "Shapes above" not in (tables / "summary.md").read_text()


# -- errors that reach the person ---------------------------------------------------------------------
def tpb(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "workflow" / "scripts" / "tpb.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_corrupt_engine_is_one_line_and_removed(small: dict, tmp_path: Path) -> None:
    """Before: a 19-line traceback with no hint, and the corrupt engine left in place (so Snakemake
    never rebuilt it). Now one line that says what happened, and the engine's files are gone."""
    engine = build(small, tmp_path)
    blob = bytearray(engine.read_bytes())
    blob[-3] ^= 0x55  # in the payload's checksum
    engine.write_bytes(bytes(blob))
    proc = tpb("latency", "--backend", "reference", "--settings-json",
               dag.rule_settings(small, "latency", profile="tiny"), "--engine", str(engine),
               "--out", str(tmp_path / "latency.csv"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), proc.stderr
    assert lines[0].startswith(f"tpb latency: error: engine {engine} is corrupt (reference engine payload checksum "
                               "mismatch")
    assert "so the next `snakemake` run rebuilds it" in lines[0] and "Traceback" not in proc.stderr
    assert not any(p.exists() for p in engine_files(engine))


def test_roundtrip_passes_the_loaders_reason_on(small: dict, tmp_path: Path) -> None:
    engine = build(small, tmp_path)
    engine.write_bytes(engine.read_bytes()[:20])
    proc = tpb("roundtrip", "--backend", "reference", "--engine", str(engine), "--golden",
               str(engine.with_suffix(".golden.npz")), "--out", str(tmp_path / "rt.csv"), cwd=tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("tpb roundtrip: error: RuntimeError: round-trip loader process exited with 2: engine ")
    assert "is corrupt (reference engine is truncated: 20 bytes)" in last and not engine.exists()


def test_config_error_is_one_line_with_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**yaml.safe_load((ROOT / "config.yaml").read_text()), "bogus": 1}))
    proc = tpb("check-config", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("tpb check-config: error: invalid configuration: unknown config key(s) bogus in the top level")
    assert line.endswith("[fix: edit the key named above in config.yaml (or your --configfile / --config)]")


def test_unexpected_errors_keep_the_traceback_and_end_with_the_line(small: dict, tmp_path: Path) -> None:
    engine = build(small, tmp_path)  # a good engine, but no settings handed: a bug in the rule, not the config
    proc = tpb("latency", "--backend", "reference", "--settings-json", "{}", "--engine", str(engine), "--out", "o.csv",
               cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    assert re.match(r"tpb latency: error: NotHanded: config key 'timing' was not handed to this command",
                    proc.stderr.strip().splitlines()[-1])


def test_a_missing_engine_is_not_called_corrupt(tmp_path: Path) -> None:
    proc = tpb("dynamic", "--backend", "reference", "--engine", "x.engine", "--out", "o.csv", cwd=tmp_path)
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("tpb dynamic: error: engine file x.engine does not exist") and "corrupt" not in line
    assert "[fix: rebuild with `snakemake --cores 1 -R compile_plugin build_engine`]" in line


def test_failure_lines_reads_only_this_runs_logs(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "latency").mkdir(parents=True)
    old = logs / "latency" / "old.log"
    old.write_text("tpb latency: error: from an earlier run\n")
    past = time.time() - 3600
    import os

    os.utime(old, (past, past))
    since = time.time() - 0.5
    (logs / "latency" / "a.log").write_text("[00:00:00] timing\ntpb roundtrip-child: error: inner\n"
                                            "tpb latency: error: the reason [fix: this]\n")
    (logs / "ok.log").write_text("all fine\n")
    assert cli.failure_lines(logs, since) == [f"{logs / 'latency' / 'a.log'}: tpb latency: error: the reason [fix: this]"]
    assert cli.one_line("invalid configuration:\n  a\n  b") == "invalid configuration: a; b"


# -- end to end: the console says why, and the next run rebuilds the engine ---------------------------


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "tests/configs/small.yaml",
                           *args], cwd=project, capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
def test_corrupt_engine_fails_with_one_line_then_is_rebuilt(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)
    first = snakemake(project)
    assert first.returncode == 0, first.stderr[-3000:]
    engine = project / "results" / "small" / "engines" / "swish_plugin__fp32__tiny.engine"
    blob = bytearray(engine.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    engine.write_bytes(bytes(blob))
    # a changed config value the latency rule reads: it reruns on the corrupt engine
    small = yaml.safe_load((project / "tests" / "configs" / "small.yaml").read_text())
    small["timing"]["max_time_s"] = 0.01
    (project / "tests" / "configs" / "small.yaml").write_text(yaml.safe_dump(small))
    failed = snakemake(project)
    assert failed.returncode != 0
    console = failed.stdout + failed.stderr
    assert "trt-plugin-bench: why it failed, from each failed job's log:" in console
    reasons = [line for line in console.splitlines() if re.search(r"\.log: tpb \w+: error: ", line)]
    # the first job to load it finds it corrupt and removes it; a job running beside it (the CPU
    # backend runs latency and compare at once) may then find it gone
    corrupt = [r for r in reasons if "swish_plugin__fp32__tiny.engine is corrupt" in r]
    assert corrupt and all(r in corrupt or "does not exist" in r for r in reasons), console[-3000:]
    assert "so the next `snakemake` run rebuilds it" in corrupt[0]
    assert not engine.exists()
    again = snakemake(project)
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"rule build_engine:\n(?:.*\n)*?\s+wildcards: op=swish_plugin, dtype=fp32, profile=tiny",
                     again.stdout + again.stderr)
    assert engine.exists() and (project / "results" / "small" / "mlflow" / "logged.json").exists()
    assert pd.read_csv(project / "results" / "small" / "tables" / "roundtrip.csv")["bit_identical"].all()


# -- the TensorRT load path (GPU suite) ---------------------------------------------------------------
@pytest.mark.gpu
def test_tensorrt_corrupt_engine_is_removed(tmp_path: Path) -> None:
    """Before, TensorRT's load raised and left the engine, its record and golden output in place,
    so Snakemake never rebuilt it; now they are removed and the error says so."""
    from gpu_env import require_gpu

    require_gpu()
    from trt_plugin_bench.backends.base import EngineLoadError

    cfg = typed("profiles={t: {min: [1, 96], opt: [8, 96], max: [64, 96], shapes: [[8, 96]]}}", "compare.extra_shapes={}",
                "builder.workspace_mib=256", "builder.optimization_level=0")
    engine = tmp_path / "relu__fp32__t.engine"
    sweeps.build_engine(cfg, "tensorrt", "relu", "fp32", "t", engine, engine.with_suffix(".golden.npz"), None)
    backend = get_backend("tensorrt")
    backend.load(engine, None).close()
    blob = engine.read_bytes()
    engine.write_bytes(blob[: len(blob) // 3])
    with pytest.raises(EngineLoadError, match="is corrupt .*does not match its build record.*removed .*rebuilds it"):
        backend.load(engine, None)
    assert not any(p.exists() for p in engine_files(engine))
