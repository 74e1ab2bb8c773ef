"""The Snakemake DAG end to end on the CPU reference backend: every output, no duplicate MLflow
runs on re-run, and reruns scheduled exactly where a change reaches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from project_copy import copy_project
from trt_plugin_bench.core.operators import OPERATORS

ROOT = Path(__file__).resolve().parents[1]


def snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "tests/configs/small.yaml", *args],
        cwd=project, capture_output=True, text=True, timeout=1200, env=env,
    )


def small_operators(project: Path) -> list[str]:
    return yaml.safe_load((project / "tests" / "configs" / "small.yaml").read_text())["operators"]


def n_sweeps(project: Path) -> int:
    """The small config's sweeps (operator x dtype x profile): one nested MLflow run each."""
    cfg = yaml.safe_load((project / "tests" / "configs" / "small.yaml").read_text())
    return len(cfg["operators"]) * len(cfg["dtypes"]) * len(cfg["profiles"])


def scheduled(proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run would execute."""
    jobs = []
    for block in re.split(r"\n(?=\[[^\n]*\]\n)|\n\n", proc.stdout):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if m:
            w = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            jobs.append((m.group(1), w.group(1) if w else ""))
    return jobs


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project, run once end to end, at a path a shell would split or expand (a space,
    a `$`, a `;`): every rule's command must quote what it is handed, and CMake and nvcc (where
    present) build there (test_cmake_and_nvcc_get_a_path_they_cannot_misread)."""
    project = tmp_path_factory.mktemp("tpb project $HOME;x") / "sub dir $1"
    copy_project(project)
    proc = snakemake(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.mark.slow
def test_every_output_exists(project: Path) -> None:
    for name in ("latency", "dynamic", "roundtrip", "threads", "calibration", "compare"):
        assert (project / "results" / "small" / "tables" / f"{name}.csv").stat().st_size > 100, name
    figures = sorted(p.name for p in (project / "results" / "small" / "figures").glob("*.png"))
    assert figures == sorted(f"{n}.png" for n in ("latency", "bandwidth", "plugin_vs_native", "compare", "modes",
                                                  "dynamic_shapes", "thread_scaling", "calibration"))
    summary = (project / "results" / "small" / "tables" / "summary.md").read_text()
    assert "CPU timings, not TensorRT" in summary
    assert "timed interleaved" in summary and "## Repeat agreement" in summary
    # concurrency against its limit: the Python loop's rows, the bare kernel's cells empty with the reason
    concurrency = pd.read_csv(project / "results" / "small" / "tables" / "concurrency.csv")
    assert set(concurrency["way"]) == {"python"} and concurrency["bare_per_s"].isna().all()
    assert concurrency["bare_status"].str.contains("CPU reference backend runs no GPU kernel").all()
    assert "## Concurrency against its limit" in summary and "no bare kernel (the CPU reference backend runs none)" in summary
    # the speed targets mean nothing on a CPU: no "meets" verdict there
    assert "judged on a GPU backend only" in summary and "meets" not in summary
    # the conformance rule ran for every operator and says n/a, "no TensorRT", never a pass
    operators = yaml.safe_load((project / "tests" / "configs" / "small.yaml").read_text())["operators"]
    assert sorted(p.name for p in (project / "results" / "small" / "conformance").glob("*.json")) == sorted(
        f"{name}.json" for name in operators)
    assert "## Conformance" in summary and "| 1. graph_capture | n/a | n/a | n/a |" in summary
    conformance = (project / "results" / "small" / "tables" / "conformance.csv").read_text()
    assert conformance.count("n/a") == len(operators) * 7 and ",pass," not in conformance and "no TensorRT" in conformance
    compare = (project / "results" / "small" / "tables" / "compare.csv").read_text()
    assert ",32x256," in compare, "compare.extra_shapes reach the compare rule"
    assert "control_ratio" in compare.splitlines()[0]
    assert (project / "mlflow.db").exists(), "the default store is sqlite:///mlflow.db in the project root"
    report = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--configfile",
                             "tests/configs/small.yaml", "--report", "results/small/report.html"],
                            cwd=project, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-2000:]
    assert (project / "results" / "small" / "report.html").stat().st_size > 10000


@pytest.mark.slow
def test_the_dag_runs_at_a_path_with_a_space_a_dollar_and_a_semicolon(project: Path) -> None:
    """Every rule's shell gets its paths quoted (the interpreter, tpb.py, inputs, outputs, logs):
    the fixture's run above went through at such a path, and no stray file or folder appeared
    where an unquoted path would have been split at its space."""
    assert " " in str(project) and "$" in str(project) and ";" in str(project)
    assert (project / "results" / "small" / "tables" / "summary.md").is_file()
    split_at = [project.parent.parent / project.parent.name.split(" ")[0], project.parent / "sub"]
    assert not [p for p in split_at if p.exists()], split_at


@pytest.mark.slow
def test_second_run_has_nothing_to_do(project: Path) -> None:
    proc = snakemake(project, "-n")
    assert proc.returncode == 0
    assert scheduled(proc) == [], proc.stdout[-2000:]


@pytest.mark.slow
def test_kernel_edit_reruns_compile_and_only_its_dependents(project: Path) -> None:
    kernel = project / "plugin" / "swishPlugin" / "swishPluginKernel.cu"
    original = kernel.read_text()
    # a real edit: Snakemake 9 looks at content, a bare `touch` is not a change
    kernel.write_text(original + "\n// kernel edit\n")
    try:
        jobs = scheduled(snakemake(project, "-n"))
    finally:
        kernel.write_text(original)
    rules = {rule for rule, _ in jobs}
    # the kernel library changed, so the tune rule measures it again (plugin_kernel: auto)
    assert rules == {"compile_plugin", "tune", "build_engine", "latency", "compare", "dynamic_shapes", "roundtrip",
                     "threads", "conformance", "aggregate", "log_mlflow", "figures", "verdict", "all"}, jobs
    # plugin/ is one CMake project (Swish's library and the ops library beside it) and one compile rule
    # with one manifest: a kernel edit there reruns every operator built from it, and no native one
    plugin_ops = sorted(op for op in small_operators(project) if OPERATORS[op].uses_plugin)
    assert sorted(w for rule, w in jobs if rule == "conformance") == [f"op={op}" for op in plugin_ops]
    rebuilt = sorted(w for rule, w in jobs if rule == "build_engine")
    assert rebuilt == sorted(f"op={op}, dtype={d}, profile=tiny" for op in plugin_ops for d in ("fp16", "fp32"))
    assert all(any(op in w for op in plugin_ops) for rule, w in jobs
               if rule in {"latency", "compare", "dynamic_shapes", "roundtrip", "threads"})


@pytest.mark.slow
def test_config_change_reruns_only_its_users(project: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load((project / "tests" / "configs" / "small.yaml").read_text())
    cfg["timing"]["max_time_s"] = 0.03
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", "--configfile", str(changed)],
                          cwd=project, capture_output=True, text=True, timeout=600)
    rules = {rule for rule, _ in scheduled(proc)}
    # timing is used by latency, calibrate and the MLflow params: nothing is rebuilt or re-tuned (the
    # tune rule has its own tune.timing)
    assert "build_engine" not in rules and "compile_plugin" not in rules and "roundtrip" not in rules
    assert "tune" not in rules
    assert {"latency", "compare", "calibrate", "aggregate", "log_mlflow", "figures"} <= rules
    assert "dynamic_shapes" not in rules and "threads" not in rules


@pytest.mark.slow
def test_rerunning_the_log_rule_does_not_duplicate_runs(project: Path) -> None:
    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("trt-plugin-bench-small")
    before = len(client.search_runs([exp.experiment_id]))
    assert before == 1 + n_sweeps(project)  # one parent per invocation, one nested run per sweep
    [parent] = client.search_runs([exp.experiment_id], filter_string="tags.`tpb.role` = 'pipeline'")
    # conformance on the CPU: n/a tags with the reason, no 1/0 metric that could read as a pass
    assert parent.data.tags["tpb.conformance.swish_plugin.graph_capture"].startswith("n/a: not applicable: no TensorRT")
    assert not [k for k in parent.data.metrics if k.startswith("conformance.")]
    proc = snakemake(project, "--forcerun", "log_mlflow")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(client.search_runs([exp.experiment_id])) == before


@pytest.mark.slow
def test_a_deleted_store_is_noticed_and_logged_again(project: Path) -> None:
    """Issue 26 item 2: mlflow.db deleted after a complete run. Snakemake alone says "Nothing to be
    done" (the log rule's marker is there); the workflow notices the store is gone, and a plain rerun
    logs what is on disk into a new store (the log and verdict rules only: nothing is measured)."""
    (project / "mlflow.db").unlink()
    dry = snakemake(project, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert {rule for rule, _ in scheduled(dry)} == {"log_mlflow", "verdict", "all"}, dry.stdout[-2000:]
    assert "does not exist: what results/small/mlflow/logged.json says was logged is logged again" in dry.stdout + dry.stderr
    proc = snakemake(project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    exp = client.get_experiment_by_name("trt-plugin-bench-small")
    assert len(client.search_runs([exp.experiment_id])) == 1 + n_sweeps(project)
    assert scheduled(snakemake(project, "-n")) == []


@pytest.mark.slow
def test_a_sweep_file_damaged_after_its_run_is_measured_again(project: Path) -> None:
    """Issue 26 item 8: a per-sweep CSV cut to its header after a complete run, its time stamp kept:
    Snakemake alone says "Nothing to be done" and aggregate used to take 0 rows. The workflow sets
    it aside (<file>.corrupt) when it reads the DAG and a plain rerun measures that sweep again."""
    path = project / "results" / "small" / "latency" / "relu__fp32__tiny.csv"
    rows = len(path.read_text().splitlines())
    stat = path.stat()
    path.write_text(path.read_text().splitlines()[0] + "\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    dry = snakemake(project, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert ("relu__fp32__tiny.csv holds the header but no row (moved to relu__fp32__tiny.csv.corrupt)"
            in dry.stdout + dry.stderr)
    assert ("latency", "op=relu, dtype=fp32, profile=tiny") in scheduled(dry), dry.stdout[-2000:]
    proc = snakemake(project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(path.read_text().splitlines()) == rows
    assert scheduled(snakemake(project, "-n")) == []


def fake_tensorrt(tmp_path: Path, version: str) -> dict:
    pkg = tmp_path / f"fake-trt-{version}" / "tensorrt"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f'__version__ = "{version}"\n')
    return {**os.environ, "PYTHONPATH": str(pkg.parent)}


@pytest.mark.parametrize("version,expect_bf16", [("8.6.1", False), ("10.8.0", True)])
def test_tensorrt_backend_schedules_the_same_dag(tmp_path: Path, version: str, expect_bf16: bool) -> None:
    """Dry run with the tensorrt backend (a stand-in module supplies only the version)."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "16", "--configfile", str(ROOT / "config.yaml"),
         "--config", "backend=tensorrt", "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=fake_tensorrt(tmp_path, version),
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    jobs = scheduled(proc)
    rules = {rule for rule, _ in jobs}
    assert {"compile_plugin", "tune", "build_engine", "latency", "dynamic_shapes", "roundtrip", "threads", "calibrate",
            "kernel_bench", "profile", "conformance", "aggregate", "log_mlflow", "figures"} <= rules
    builds = [w for rule, w in jobs if rule == "build_engine"]
    assert any("dtype=bf16" in w for w in builds) == expect_bf16
    assert any("swish_plugin_v3" in w for w in builds) == expect_bf16
    assert "backend tensorrt (TensorRT " + version in proc.stdout + proc.stderr
    assert "--backend tensorrt" in proc.stdout or "resources: tmpdir=/tmp, gpu=1" in proc.stdout


def test_tensorrt_backend_without_tensorrt_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(ROOT / "config.yaml"),
         "--config", "backend=tensorrt", "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    assert proc.returncode != 0
    assert "import tensorrt` fails here" in proc.stdout + proc.stderr


def test_cmake_and_nvcc_get_a_path_they_cannot_misread(tmp_path: Path) -> None:
    """nvcc hands paths to the host compiler through sh (a `$` in the path is expanded) and CMake reads
    ';' as a list separator: they build through a link whose path holds neither, the same link on
    every run (CMake's cache stays valid), and a cmake command with such a path is refused first."""
    from trt_plugin_bench.commands import compile as compile_mod

    folder = tmp_path / "tpb project $HOME;x" / "build"
    link = compile_mod.nvcc_safe(folder)
    assert link != folder and link.resolve() == folder.resolve() and folder.is_dir()
    assert not set(str(link)) & set('$;"`\\ ')
    assert compile_mod.nvcc_safe(folder) == link
    plain = tmp_path / "plain"
    assert compile_mod.nvcc_safe(plain) == plain.absolute()
    assert "CMake cannot build in" in compile_mod.cmake_path_problem(["cmake", "-S", "src", "-B", str(folder)])
    # an architecture list's ';' is CMake's own list: not a path
    assert compile_mod.cmake_path_problem(["cmake", "-S", "src", "-B", "b", "-DCMAKE_CUDA_ARCHITECTURES=80;90"]) is None
