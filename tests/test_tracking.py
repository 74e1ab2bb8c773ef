"""MLflow logging: MLflow's environment variables, the training experiment kind, the parent run's
config params and artifacts, reuse of unchanged child runs, summary.md's number per state, log2
steps; idempotent, resumable, and failing clearly when the store is unreachable."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from trt_plugin_bench.core.records import CalibrationRow, DeviceInfo, DynamicRow, LatencyRow, ThreadRow
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.report import tracking
from trt_plugin_bench.report.summary import write_summary
from trt_plugin_bench.report.tracking import TrackingStoreUnreachable, check_store, log_results
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
DEVICE = DeviceInfo(backend="reference", backend_label="reference backend (CPU, numpy) - CPU timings, not TensorRT",
                    timing_clock="cpu_perf_counter", device_name="CPU", driver_version="n/a", cuda_version="n/a",
                    tensorrt_version="n/a", compute_capability="n/a", sm_count=2, l2_bytes=0, cpu="cpu",
                    python="3.11", numpy_version="2", hostname="h")
OPS = ("relu", "swish_plugin")
SIZES = (256, 4096)
MODES = ("warm", "cold")
CEILING_GBS = 90.0
MLFLOW_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")


@pytest.fixture(autouse=True)
def no_mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's MLflow variables must not steer these tests; each test sets its own."""
    for name in MLFLOW_VARS:
        monkeypatch.delenv(name, raising=False)


def latency_row(rng: np.random.Generator, op: str, elements: int, mode: str, repeat: int, median: float) -> LatencyRow:
    nbytes = 8 * elements
    bw = nbytes / (median * 1e3)
    return LatencyRow(backend="reference", device_name="CPU", operator=op, implementation="native", kernel="", dtype="fp32",
                      profile="tiny", shape=f"1x{elements}", elements=elements, bytes_moved=nbytes, mode=mode, start="cpu",
                      repeat=repeat, n=int(rng.integers(20, 200)), min_us=0.9 * median, median_us=median,
                      mean_us=median * rng.uniform(1.0, 1.05), p90_us=median * rng.uniform(1.05, 1.2),
                      p99_us=median * rng.uniform(1.2, 1.5), max_us=2 * median, stdev_us=median * rng.uniform(0.01, 0.1),
                      median_se_us=median * rng.uniform(0.001, 0.01), rse=rng.uniform(0.001, 0.01),
                      stop_reason="target_rse", host_enqueue_median_us=rng.uniform(1, 5), bandwidth_gbs=bw,
                      copy_ceiling_gbs=CEILING_GBS, pct_of_copy_ceiling=100 * bw / CEILING_GBS, verified=True,
                      max_abs_err=rng.uniform(0, 1e-6), throttled=False, sm_clock_start_mhz=0, sm_clock_end_mhz=0,
                      mem_clock_mhz=0, temperature_c=0, power_w=0.0, timing_clock="cpu_perf_counter")


def make_tables(tables: Path, seed: int = 0) -> None:
    """Random measurements of two sweeps; the two repeats of a state differ by 5-20 %."""
    rng = np.random.default_rng(seed)
    tables.mkdir(parents=True)
    rows = []
    for op in OPS:
        for elements in SIZES:
            for mode in MODES:
                first = rng.uniform(5, 50) * (1 + elements / 1000)
                rows.append(latency_row(rng, op, elements, mode, 0, first))
                rows.append(latency_row(rng, op, elements, mode, 1, first * rng.uniform(1.05, 1.2)))
    pd.DataFrame([asdict(r) for r in rows]).to_csv(tables / "latency.csv", index=False)
    # a shape that is not a power of two beside one that is: 19x259 = 4921 elements rounds to 2^12 too
    dyn = [DynamicRow(backend="reference", operator="relu", dtype="fp32", profile="tiny", shape=shape,
                      elements=math.prod(int(d) for d in shape.split("x")), in_profile=True, status="ok",
                      output_shape=shape, verified=True, median_us=rng.uniform(5, 50), message="")
           for shape in ("1x256", "16x256", "19x259", "64x256")]
    pd.DataFrame([asdict(r) for r in dyn]).to_csv(tables / "dynamic.csv", index=False)
    th = [ThreadRow(backend="reference", operator="relu", dtype="fp32", profile="tiny", shape="1x256", threads=t,
                    iterations_per_thread=5, inferences=5 * t, failures=0, wall_s=rng.uniform(0.1, 1),
                    throughput_per_s=rng.uniform(50, 500) * t, median_latency_us=rng.uniform(5, 50), all_verified=True,
                    message="") for t in (1, 2)]
    pd.DataFrame([asdict(r) for r in th]).to_csv(tables / "threads.csv", index=False)
    cal = [CalibrationRow(backend="reference", device_name="CPU", measurement="copy", bytes=1 << 22, n=50,
                          median_us=rng.uniform(10, 100), rse=rng.uniform(0.001, 0.01), bandwidth_gbs=CEILING_GBS,
                          timing_clock="cpu_perf_counter", start="cpu")]
    pd.DataFrame([asdict(r) for r in cal]).to_csv(tables / "calibration.csv", index=False)
    device = {**DEVICE.__dict__, "copy_ceiling_gbs": CEILING_GBS, "git_commit": "abc", "date": "2026-12-01"}
    (tables / "device.json").write_text(json.dumps(device))


def config_for(uri: str, *overrides: str, experiment: str = "tpb-test", mlflow_cli_keys: tuple[str, ...] = ()) -> Settings:
    """The small sweep's settings logging to ``uri`` (the whole config: what the log rule hands)."""
    s = typed(f"mlflow.experiment={experiment}", f"mlflow.tracking_uri='{uri}'", "timing.modes=[warm, cold]",
              "timing.repeats=2", *overrides)
    return replace(s, mlflow=replace(s.mlflow, cli_keys=tuple(mlflow_cli_keys)))


def runs(uri: str, experiment: str = "tpb-test") -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id]) if exp else []


def sweep_runs(uri: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in runs(uri):
        if r.data.tags.get("tpb.role") == "sweep":
            out.setdefault(r.data.tags["tpb.sweep_key"], []).append(r)
    return out


def log(tmp_path: Path, config: Settings, **files: list[str]) -> dict:
    tables = tmp_path / "tables"
    return log_results(config, tables, tables / "device.json", tmp_path / "logged.json", **files)


def test_logging_twice_creates_no_duplicates(tmp_path: Path) -> None:
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log(tmp_path, config_for(uri))
    assert sorted(first["created"]) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]
    assert len(runs(uri)) == 3  # parent + 2 nested sweeps
    second = log(tmp_path, config_for(uri))
    assert second["parent_run_id"] == first["parent_run_id"] and second["created"] == []
    assert len(runs(uri)) == 3
    child = sweep_runs(uri)["relu__fp32__tiny"][0]
    assert child.data.tags["mlflow.parentRunId"] == first["parent_run_id"]
    assert child.data.tags["tpb.backend"] == "reference"
    assert "not TensorRT" in child.data.tags["mlflow.note.content"]


def test_interrupted_logging_resumes_without_duplicates(tmp_path: Path) -> None:
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log(tmp_path, config_for(uri))
    client = MlflowClient(tracking_uri=uri)
    # simulate an interruption: the parent not finished, one child half-logged
    client.set_tag(first["parent_run_id"], "tpb.complete", "false")
    child = sweep_runs(uri)["relu__fp32__tiny"][0]
    client.set_tag(child.info.run_id, "tpb.complete", "false")
    again = log(tmp_path, config_for(uri))
    assert again["created"] == ["relu__fp32__tiny"] and again["skipped"] == ["swish_plugin__fp32__tiny"]
    assert again["reused"] == {}, "a half-logged child is replaced, never reused"
    assert sorted(sweep_runs(uri)) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]
    assert all(len(v) == 1 for v in sweep_runs(uri).values())
    parent = client.get_run(first["parent_run_id"])
    history = client.get_metric_history(parent.info.run_id, "copy_ceiling_gbs")
    assert len(history) == 1, "a resumed parent does not log its metrics twice"


def test_new_measurements_make_a_new_parent_run(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log(tmp_path, config_for(uri))
    lat = pd.read_csv(tables / "latency.csv")
    lat["median_us"] *= 0.9  # a kernel change made it faster
    lat.to_csv(tables / "latency.csv", index=False)
    second = log(tmp_path, config_for(uri))
    assert second["parent_run_id"] != first["parent_run_id"]
    assert sorted(second["created"]) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"] and second["reused"] == {}
    assert len(runs(uri)) == 6


def test_unchanged_children_are_reused_not_relogged(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    first = log(tmp_path, config_for(uri))
    relu_id = sweep_runs(uri)["relu__fp32__tiny"][0].info.run_id
    lat = pd.read_csv(tables / "latency.csv")
    row = lat.index[(lat["operator"] == "swish_plugin") & (lat["elements"] == 4096) & (lat["mode"] == "cold")][0]
    lat.loc[row, "median_us"] *= 0.8  # one state of the plugin re-measured, faster
    lat.to_csv(tables / "latency.csv", index=False)
    second = log(tmp_path, config_for(uri))
    assert second["parent_run_id"] != first["parent_run_id"]
    assert second["created"] == ["swish_plugin__fp32__tiny"]
    assert second["reused"] == {"relu__fp32__tiny": relu_id}
    assert len(runs(uri)) == 5  # 2 parents, relu once, the plugin twice
    parent = client.get_run(second["parent_run_id"])
    assert parent.data.tags["tpb.reused_child_runs"] == relu_id and parent.data.tags["tpb.reused_child_count"] == "1"
    assert client.get_run(relu_id).data.tags["tpb.reused_by"] == second["parent_run_id"]
    # the same measurements again: nothing new, the reuse recorded once
    third = log(tmp_path, config_for(uri))
    assert third["parent_run_id"] == second["parent_run_id"] and third["created"] == [] and len(runs(uri)) == 5
    assert client.get_run(relu_id).data.tags["tpb.reused_by"] == second["parent_run_id"]
    # another change to the plugin: relu is reused by both later parents
    lat.loc[row, "median_us"] *= 0.9
    lat.to_csv(tables / "latency.csv", index=False)
    fourth = log(tmp_path, config_for(uri))
    assert fourth["created"] == ["swish_plugin__fp32__tiny"] and fourth["reused"] == {"relu__fp32__tiny": relu_id}
    tags = client.get_run(relu_id).data.tags
    assert tags["tpb.reused_by"].split(",") == [second["parent_run_id"], fourth["parent_run_id"]]
    assert tags["tpb.reused_by_count"] == "2"


def test_env_tracking_uri_wins_over_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tables(tmp_path / "tables")
    env_uri, file_uri = f"sqlite:///{tmp_path / 'env.db'}", f"sqlite:///{tmp_path / 'file.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env_uri)
    summary = log(tmp_path, config_for(file_uri))
    assert summary["tracking_uri"] == env_uri and summary["tracking_uri_from"].startswith("MLFLOW_TRACKING_URI")
    assert len(runs(env_uri)) == 3
    assert not (tmp_path / "file.db").exists(), "nothing may go to the config file's store"


def test_command_line_tracking_uri_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tables(tmp_path / "tables")
    env_uri, cli_uri = f"sqlite:///{tmp_path / 'env.db'}", f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env_uri)
    summary = log(tmp_path, config_for(cli_uri, mlflow_cli_keys=("tracking_uri",)))
    assert summary["tracking_uri"] == cli_uri and summary["tracking_uri_from"].startswith("--config")
    assert len(runs(cli_uri)) == 3 and not (tmp_path / "env.db").exists()


def test_unreachable_env_tracking_uri_fails_fast_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tables(tmp_path / "tables")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    with pytest.raises(TrackingStoreUnreachable, match=re.escape("http://127.0.0.1:9 (from MLFLOW_TRACKING_URI)")):
        log(tmp_path, config_for(f"sqlite:///{tmp_path / 'mlflow.db'}"))
    assert not (tmp_path / "mlflow.db").exists(), "nothing logged to the config file's local store"
    assert not (tmp_path / "logged.json").exists()


def test_env_experiment_name_wins_over_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tpb-from-env")
    summary = log(tmp_path, config_for(uri))
    assert summary["experiment"] == "tpb-from-env" and len(runs(uri, "tpb-from-env")) == 3 and runs(uri) == []
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "999")  # not that experiment's id: refused before logging
    with pytest.raises(TrackingStoreUnreachable, match="MLFLOW_EXPERIMENT_ID=999"):
        log(tmp_path, config_for(uri, "timing.modes=[cold]"))


def test_experiment_is_a_training_experiment(tmp_path: Path) -> None:
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    log(tmp_path, config_for(uri))
    assert client.get_experiment_by_name("tpb-test").tags["mlflow.experimentKind"] == "custom_model_development"
    # an experiment made before (no kind, so MLflow 3's UI opens it on the GenAI pages) gets the tag
    old = client.create_experiment("tpb-old", artifact_location=(tmp_path / "old").as_uri())
    log(tmp_path, config_for(uri, experiment="tpb-old"))
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def test_parent_run_has_config_params_and_artifacts(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    device = json.loads((tables / "device.json").read_text())
    write_summary(tables, device, tables / "summary.md")
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "latency.png").write_bytes(np.random.default_rng(1).bytes(256))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rng = np.random.default_rng(2)
    shapes = [[int(rng.integers(1, 64)), 256] for _ in range(800)]  # a value longer than MLflow's 6000 characters
    settings = config_for(uri, "operators=[relu, swish_plugin]", "compare.pairs=[]", "timing.target_rse=0.05",
                          f"profiles.tiny.shapes={shapes}")
    resolved = settings.to_data()
    config_file = tmp_path / "my-config.yaml"
    config_file.write_text(yaml.safe_dump(resolved))
    summary = log(tmp_path, settings, config_files=[str(config_file)],
                  artifacts=[str(tables / "summary.md"), str(figures / "latency.png"), str(figures / "missing.png")])
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(summary["parent_run_id"])
    params = parent.data.params
    assert params["timing.repeats"] == "2" and params["timing.target_rse"] == "0.05"
    assert params["operators"] == '["relu", "swish_plugin"]' and params["profiles.tiny.min"] == "[1, 256]"
    assert params["mlflow.tracking_uri"] == uri
    assert params["config_hash"] == tracking.config_hash(resolved) == parent.data.tags["tpb.config_hash"]
    long = params["profiles.tiny.shapes"]
    assert len(long) <= 6000 and "truncated from" in long and "config/resolved_config.json" in long
    logged = {a.path for folder in ("config", "tables", "figures") for a in client.list_artifacts(parent.info.run_id, folder)}
    # the tables beside the summary: what a later verdict reads a baseline run from (verdict.py)
    tables_logged = {f"tables/{p.name}" for p in tables.iterdir() if p.suffix == ".csv" or p.name == "device.json"}
    assert tables_logged >= {"tables/latency.csv", "tables/device.json"}
    assert logged == {"config/my-config.yaml", "config/resolved_config.json", "tables/summary.md", "figures/latency.png",
                      *tables_logged}
    full = json.loads(Path(client.download_artifacts(parent.info.run_id, "config/resolved_config.json", str(tmp_path))).read_text())
    assert full["profiles"]["tiny"]["shapes"] == shapes
    # a config change alone (same tables) is a new parent that reuses every child
    changed = replace(settings, threads=replace(settings.threads, counts=(1, 3)))
    again = log(tmp_path, changed)
    assert again["parent_run_id"] != summary["parent_run_id"] and again["created"] == []
    assert sorted(again["reused"]) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]


def test_steps_are_log2_of_the_element_count(tmp_path: Path) -> None:
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log(tmp_path, config_for(uri))
    client = MlflowClient(tracking_uri=uri)
    child = sweep_runs(uri)["relu__fp32__tiny"][0]
    for mode in MODES:
        history = client.get_metric_history(child.info.run_id, f"latency_median_us.{mode}")
        assert sorted(m.step for m in history) == [8, 12]  # 256 and 4096 elements
    assert child.data.params["steps.latency"] == "8=256 1x256,12=4096 1x4096"
    # 4921 elements (19x259) rounds to step 12 like 4096: it moves up to 13, steps stay unique
    dyn = client.get_metric_history(child.info.run_id, "dynamic_median_us")
    assert sorted(m.step for m in dyn) == [8, 12, 13, 14]
    assert child.data.params["steps.dynamic"] == "8=256 1x256,12=4096 16x256,13=4921 19x259,14=16384 64x256"
    threads = client.get_metric_history(child.info.run_id, "threads_throughput_per_s")
    assert sorted(m.step for m in threads) == [1, 2], "the thread sweep steps by thread count"


def test_log2_steps_unique_and_in_size_order() -> None:
    llm = [(4096, "1x1x4096"), (524288, "1x128x4096"), (8388608, "8x512x4096"), (23220835, "11x515x4099"),
           (134217728, "16x2048x4096")]
    assert list(tracking.log2_steps(llm).values()) == [12, 19, 23, 24, 27]  # 8x512x4096 is 2^23; the odd one 24.47
    same = [(4096, "1x4096"), (4096, "4096x1"), (8192, "2x4096")]
    steps = tracking.log2_steps(same)
    assert steps == {(4096, "1x4096"): 12, (4096, "4096x1"): 13, (8192, "2x4096"): 14}


def test_mlflow_and_summary_agree_on_a_states_number(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables, seed=3)
    device = json.loads((tables / "device.json").read_text())
    write_summary(tables, device, tables / "summary.md")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log(tmp_path, config_for(uri))
    client = MlflowClient(tracking_uri=uri)
    lat = pd.read_csv(tables / "latency.csv")
    text = (tables / "summary.md").read_text()
    checked = 0
    for key, runs_ in sweep_runs(uri).items():
        op = key.split("__")[0]
        for mode in MODES:
            # summary.md's "Largest tensor per operator" row: | op | fp32 | tiny | 1x4096 | mode | median µs | GB/s | % |
            m = re.search(rf"^\| {op} \| fp32 \| tiny \| 1x4096 \| {mode} \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
            assert m, text
            history = client.get_metric_history(runs_[0].info.run_id, f"latency_median_us.{mode}")
            logged = {h.step: h.value for h in history}[12]
            repeats = lat[(lat["operator"] == op) & (lat["elements"] == 4096) & (lat["mode"] == mode)]["median_us"]
            assert abs(repeats.iloc[0] - repeats.iloc[1]) > 0.1  # the repeats differ: repeat 0 alone is not the number
            assert f"{logged:.2f}" == m.group(1)
            bw = {h.step: h.value for h in client.get_metric_history(runs_[0].info.run_id, f"bandwidth_gbs.{mode}")}[12]
            assert f"{bw:.1f}" == m.group(2)
            checked += 1
    assert checked == 4
    assert runs_[0].data.params["repeats_combined"].startswith("median over repeats")


def test_unreachable_store_fails_fast_and_keeps_measurements(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    before = {p.name: p.read_bytes() for p in tables.iterdir()}
    for uri in ("http://127.0.0.1:9", f"sqlite:///{tmp_path / 'missing-dir' / 'mlflow.db'}"):
        with pytest.raises(TrackingStoreUnreachable, match="measurements stay under results/"):
            log(tmp_path, config_for(uri))
    assert not (tmp_path / "logged.json").exists()
    assert {p.name: p.read_bytes() for p in tables.iterdir()} == before
    # once the store is back, everything is logged exactly once
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log(tmp_path, config_for(uri))
    assert len(runs(uri)) == 3


def test_check_store_accepts_a_reachable_sqlite(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path / 'ok.db'}")
    shutil.rmtree(tmp_path)


def test_log_rule_gets_the_artifacts_and_the_command_line_keys(tmp_path: Path) -> None:
    """The DAG: log_mlflow runs after the figures and the summary and is told which mlflow keys
    --config set (dry run, seconds)."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--configfile", str(ROOT / "tests/configs/small.yaml"),
         "--config", "mlflow={experiment: x, tracking_uri: 'sqlite:///other.db'}", "--directory", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    block = proc.stdout[proc.stdout.index("rule log_mlflow:"):]
    block = block[:block.index("\n\n")]
    inputs = re.search(r"^\s+input: (.*)$", block, re.M).group(1).split(", ")
    assert "results/small/tables/summary.md" in inputs and "results/small/figures/latency.png" in inputs
    assert str(ROOT / "tests/configs/small.yaml") in inputs
    cfg = json.loads(re.search(r"--settings-json '(.*?)' --tables-dir", block).group(1))
    assert cfg["mlflow"]["cli_keys"] == ["experiment", "tracking_uri"]
    artifacts = re.search(r"--artifact (.*?) --out", block).group(1).split()
    assert cfg["timing"]["repeats"] == 2 and "results/small/figures/latency.png" in artifacts
    assert "results/small/figures/kernels.png" not in artifacts  # not drawn on the CPU: never a placeholder


def test_resolve_tracking_precedence(tmp_path: Path) -> None:
    from trt_plugin_bench.core.config import cli_mlflow_keys, mlflow_env_fingerprint, resolve_tracking

    cfg = {"experiment": "from-file", "tracking_uri": "sqlite:///mlflow.db"}
    plain = resolve_tracking(cfg, env={}, root=tmp_path)
    assert plain.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}" and plain.experiment_name == "from-file"
    assert "not set" in plain.tracking_uri_from
    env = {"MLFLOW_TRACKING_URI": "http://mlflow.example:5000", "MLFLOW_EXPERIMENT_NAME": "from-env"}
    by_env = resolve_tracking(cfg, env=env, root=tmp_path)
    assert (by_env.tracking_uri, by_env.experiment_name) == ("http://mlflow.example:5000", "from-env")
    by_cli = resolve_tracking(cfg, env=env, cli_keys=["tracking_uri"], root=tmp_path)
    assert by_cli.tracking_uri == plain.tracking_uri and by_cli.experiment_name == "from-env"
    assert "MLFLOW_TRACKING_URI=http://mlflow.example:5000" in by_cli.tracking_uri_from
    by_id = resolve_tracking(cfg, env={"MLFLOW_EXPERIMENT_ID": "7", "MLFLOW_TRACKING_URI": ""}, root=tmp_path)
    assert (by_id.experiment_name, by_id.experiment_id) == (None, "7") and by_id.tracking_uri == plain.tracking_uri
    assert cli_mlflow_keys({"mlflow": {"tracking_uri": "x"}, "backend": "reference"}) == ["tracking_uri"]
    assert cli_mlflow_keys(None) == [] and cli_mlflow_keys({"backend": "reference"}) == []
    assert mlflow_env_fingerprint({}) == "" and mlflow_env_fingerprint(env) != mlflow_env_fingerprint({**env, "MLFLOW_EXPERIMENT_NAME": "y"})
    assert "mlflow.example" not in mlflow_env_fingerprint(env)


def test_native_runner_rows_get_their_own_metrics() -> None:
    """The threads table holds the Python loop's rows and the native runner's (plain and graph) at
    the same thread counts: logged under one name at one step, they could not be told apart."""
    base = {"operator": "swish_plugin", "dtype": "fp32", "profile": "sweep", "failures": 0}
    rows = []
    for t, (py, plain, graph) in {1: (3600.0, 88612.6, 205957.0), 2: (4100.0, 100359.0, 208357.0)}.items():
        rows += [{**base, "threads": t, "driver": "python", "graph": False, "throughput_per_s": py,
                  "gpu_busy_fraction": float("nan")},
                 {**base, "threads": t, "driver": "native", "graph": False, "throughput_per_s": plain,
                  "gpu_busy_fraction": 0.87},
                 {**base, "threads": t, "driver": "native", "graph": True, "throughput_per_s": graph,
                  "gpu_busy_fraction": 0.73},
                 # the bare kernel of the same bytes beside each (issue 28); one not measured logs nothing
                 {**base, "threads": t, "driver": "bare", "graph": True, "throughput_per_s": 2 * graph,
                  "gpu_busy_fraction": 0.9},
                 {**base, "threads": t, "driver": "bare", "graph": False, "throughput_per_s": float("nan"),
                  "gpu_busy_fraction": float("nan")}]
    _, metrics = tracking.child_payload("swish_plugin__fp32__sweep", {"threads": pd.DataFrame(rows)})
    by_name: dict[str, list[tuple[float, int]]] = {}
    for name, value, step in metrics:
        by_name.setdefault(name, []).append((value, step))
    assert by_name["threads_throughput_per_s"] == [(3600.0, 1), (4100.0, 2)]
    assert by_name["threads.native.plain.throughput_per_s"] == [(88612.6, 1), (100359.0, 2)]
    assert by_name["threads.native.graph.throughput_per_s"] == [(205957.0, 1), (208357.0, 2)]
    assert by_name["threads.native.graph.gpu_busy_fraction"] == [(0.73, 1), (0.73, 2)]
    assert by_name["threads.bare.graph.throughput_per_s"] == [(411914.0, 1), (416714.0, 2)]
    assert not [n for n in by_name if n.startswith("threads.bare.plain")]
    assert all(len({s for _, s in v}) == len(v) for v in by_name.values()), "one value per step and name"


# -- the local sqlite store: created atomically, checked (issue 26 item 2) ----------------------------
@pytest.fixture(scope="module")
def complete_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete MLflow sqlite store, made once (copies of it are damaged below)."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    check_store(f"sqlite:///{path}")
    return path


def _refused(path: Path) -> str:
    with pytest.raises(TrackingStoreUnreachable) as exc:
        check_store(f"sqlite:///{path}")
    message = str(exc.value)
    assert "\n" not in message and str(path) in message, message  # one line, naming the file
    return message


def test_an_interrupted_first_log_leaves_no_half_created_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while MLflow migrates a new mlflow.db: no mlflow.db is left (it is built in a temporary
    file beside it and linked into place only when complete), and the next log works."""
    import mlflow.store.db.utils as db_utils

    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def interrupted(engine: object) -> None:
        raise KeyboardInterrupt  # the initial tables are made; the migrations never finish

    monkeypatch.setattr(db_utils, "_upgrade_db", interrupted)
    with pytest.raises(KeyboardInterrupt):
        log(tmp_path, config_for(uri))
    monkeypatch.undo()
    assert not (tmp_path / "mlflow.db").exists()
    assert not list(tmp_path.glob(".mlflow.db.creating-*")), "the temporary store is removed"
    log(tmp_path, config_for(uri))
    assert len(runs(uri)) == 3


def test_a_half_created_store_is_named_with_its_remedy(tmp_path: Path, complete_store: Path) -> None:
    """What an interrupted first log of an earlier version left: the initial tables without
    alembic_version, or a migration's leftover table and an older revision. One line naming the
    file and what to do, not MLflow's "table ... already exists" traceback on every later run."""
    import sqlite3

    import sqlalchemy
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    initial = tmp_path / "initial.db"
    InitialBase.metadata.create_all(sqlalchemy.create_engine(f"sqlite:///{initial}"))
    message = _refused(initial)
    assert "half-created MLflow store" in message and "no alembic_version" in message and "move" in message
    migrating = tmp_path / "migrating.db"
    shutil.copy(complete_store, migrating)
    with sqlite3.connect(migrating) as conn:
        conn.execute("create table _alembic_tmp_metrics (x integer)")
        conn.execute("update alembic_version set version_num = '90e64c465722'")
    message = _refused(migrating)
    assert "half-created" in message and "_alembic_tmp_metrics" in message and "0 run(s)" in message
    older = tmp_path / "older.db"
    shutil.copy(complete_store, older)
    with sqlite3.connect(older) as conn:
        conn.execute("update alembic_version set version_num = '90e64c465722'")
    message = _refused(older)
    assert "schema revision 90e64c465722" in message and "mlflow db upgrade" in message


def test_a_random_or_truncated_file_is_refused_in_one_line(tmp_path: Path, complete_store: Path) -> None:
    random_file = tmp_path / "random.db"
    random_file.write_bytes(np.random.default_rng(7).integers(0, 256, 65536, dtype=np.uint8).tobytes())
    assert "is not an SQLite database" in _refused(random_file)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(complete_store.read_bytes()[: complete_store.stat().st_size // 3])
    message = _refused(truncated)
    assert "damaged" in message or "cannot be read" in message
    assert "move" in message
    # the complete store and an empty file (no store yet: made complete in place) are accepted
    check_store(f"sqlite:///{complete_store}")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    check_store(f"sqlite:///{empty}")
    assert empty.stat().st_size > 0
    check_store(f"sqlite:///{empty}")


def parents(uri: str) -> list:
    """The parent runs, oldest first."""
    return sorted((r for r in runs(uri) if r.data.tags.get("tpb.role") == "pipeline"), key=lambda r: r.info.start_time)


def test_parent_run_names_say_what_differs_from_the_previous_one(tmp_path: Path) -> None:
    """Three runs that differ only by a config key, then by the planted slowdown (a plugin change):
    each name starts with what changed and carries the commit, plugin hash and backend; the description
    lists every change with its old and new value. Before, every name was "<date> reference CPU"."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for seed, overrides in enumerate(((), ("timing.max_time_s=0.5",), ("timing.max_time_s=0.5", "reference.extra_work=3"))):
        shutil.rmtree(tmp_path / "tables", ignore_errors=True)
        make_tables(tmp_path / "tables", seed=seed)
        log(tmp_path, config_for(uri, *overrides))
    first, second, third = parents(uri)
    names = [r.data.tags["mlflow.runName"] for r in (first, second, third)]
    assert len(set(names)) == 3, names
    assert names[0].startswith("first run · abc · plugin ") and names[0].endswith(" · CPU reference")
    assert names[1].startswith("timing.max_time_s=0.5 · abc · plugin ")
    assert names[2].startswith("reference.extra_work=3, plugin edited · abc")
    assert first.data.tags["tpb.plugin_hash"][:7] in names[0] and third.data.tags["tpb.plugin_hash"][:7] in names[2]
    note = second.data.tags["mlflow.note.content"]
    assert names[0] in note and "`timing.max_time_s`: `0.02` → `0.5`" in note and "not TensorRT" in note
    assert "- plugin hash: " in third.data.tags["mlflow.note.content"]
    assert second.data.tags["tpb.changed"] == "timing.max_time_s=0.5"


def test_parent_name_of_a_plain_rerun_and_of_many_changes() -> None:
    from types import SimpleNamespace

    tags = {"tpb.git_commit": "0123456789abcdef", "tpb.plugin_hash": "fedcba9876543210", "tpb.backend": "tensorrt",
            "tpb.gpu": "NVIDIA H200", "tpb.config_hash": "c0ffee", "tpb.backend_label": "TensorRT 8.6"}
    params = {"timing.repeats": "2", "dtypes": '["fp32"]', "beta": "1.0", "steps.latency": "8=256"}
    previous = SimpleNamespace(data=SimpleNamespace(tags={**tags, "mlflow.runName": "before"}, params=params),
                               info=SimpleNamespace(run_id="r0"))
    name, note, changed = tracking.describe_parent(tags, {k: v for k, v in params.items() if k != "steps.latency"},
                                                   previous, "Measured.")
    assert name == "same setup, new measurements · 0123456 · plugin fedcba9 · NVIDIA H200" and changed in name
    assert "a rerun of the same setup" in note
    name, note, _ = tracking.describe_parent(
        {**tags, "tpb.git_commit": "1111111aaaa"}, {"timing.repeats": "3", "dtypes": '["fp16"]', "beta": "2.0"},
        previous, "Measured.")
    assert name.startswith("beta=2.0, dtypes=[\"fp16\"] +1 more · 1111111 ·"), name
    assert "- git commit: `0123456789abcdef` → `1111111aaaa`" in note and "`timing.repeats`: `2` → `3`" in note


def test_experiment_opens_on_the_runs_with_their_columns(tmp_path: Path) -> None:
    """MLflow 3.17 opens a fresh browser on the GenAI pages unless the URL says workflowType=machine_learning;
    the runs list's columns are a shared view (an experiment tag the URL's viewStateShareKey applies)."""
    make_tables(tmp_path / "tables")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    summary = log(tmp_path, config_for(uri))
    exp = MlflowClient(tracking_uri=uri).get_experiment_by_name("tpb-test")
    assert summary["runs_url"] == (f"/#/experiments/{exp.experiment_id}/runs?workflowType=machine_learning"
                                   f"&viewStateShareKey={tracking.RUNS_VIEW_KEY}")
    view = json.loads(exp.tags[tracking.SHARED_VIEW_TAG_PREFIX + tracking.RUNS_VIEW_KEY])
    assert "tags.`tpb.changed`" in view["selectedColumns"] and view["orderByKey"] == "attributes.start_time"
    assert exp.tags["mlflow.note.content"] == tracking.EXPERIMENT_DESCRIPTION
    parent = parents(uri)[0]
    for column in view["selectedColumns"]:  # every column names something a parent run has (verdict: its rule's)
        kind, key = re.fullmatch(r"(\w+)\.`(.+)`", column).groups()
        assert kind in ("tags", "metrics", "params")
        if kind != "metrics" or not key.startswith("verdict."):
            assert key in getattr(parent.data, kind), column


def test_setup_hash_ignores_the_results_folder_name() -> None:
    """Two sites of a matrix measure one setup into results/site-a and results/site-b: the experiment
    key names a folder, measures nothing, so the verdict's like-with-like tag must not see it (the
    cluster harness's matrix test found two setup hashes). A measured key still changes it."""
    cfg = typed().to_data()
    assert tracking.setup_hash({**cfg, "experiment": "site-a"}) == tracking.setup_hash({**cfg, "experiment": "site-b"})
    other = json.loads(json.dumps(cfg, default=str))
    other["timing"]["repeats"] = int(other["timing"]["repeats"]) + 1
    assert tracking.setup_hash(other) != tracking.setup_hash(cfg)
