"""The raw per-sample timings of every latency state (samples.py): the file's format, what the
latency rule writes into it, its MLflow artifact, and clear errors for a missing or corrupt file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from test_tracking import MLFLOW_VARS, config_for, make_tables, sweep_runs
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.cli import main
from trt_plugin_bench.commands import dag, sweeps
from trt_plugin_bench.core.oracle import CheckResult
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.core.stats import StoppingRule
from trt_plugin_bench.measure.samples import (
    META_FIELDS,
    META_KEY,
    MissingSamplesFile,
    SamplesFileError,
    load_samples,
    samples_digest,
    write_samples,
)
from trt_plugin_bench.report.tracking import log_results
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
META = {"operator": "swish_plugin", "dtype": "fp16", "profile": "tiny", "backend": "reference",
        "device_name": "CPU", "kernel": "x1"}


@pytest.fixture(autouse=True)
def no_mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's MLflow variables must not steer the artifact test (as in test_tracking.py)."""
    for name in MLFLOW_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def config() -> Settings:
    return typed()


def random_samples(rng: np.random.Generator) -> dict[tuple[str, str, int], np.ndarray]:
    return {(shape, mode, r): rng.lognormal(np.log(20.0), 0.3, int(rng.integers(5, 400)))
            for shape in ("1x256", "64x1024") for mode in ("warm", "cold", "graph") for r in range(3)}


def test_round_trip_keeps_every_state_in_order_as_float32(tmp_path: Path) -> None:
    samples = random_samples(np.random.default_rng(11))
    path = write_samples(tmp_path / "sub" / "s.npz", META, samples)
    assert not list(path.parent.glob("*.tmp*")), "written through a temporary file, which is gone"
    meta, loaded = load_samples(path)
    assert meta == META
    assert set(loaded) == set(samples)
    for key, values in samples.items():
        assert loaded[key].dtype == np.float32 and loaded[key].ndim == 1
        # the order measured is kept: compared element by element, not as a set
        np.testing.assert_allclose(loaded[key], values, rtol=2 ** -23)
    with np.load(path, allow_pickle=False) as npz:  # the format the verdict command reads
        assert set(npz.files) == {META_KEY, *(f"{s}|{m}|{r}" for s, m, r in samples)}
        assert json.loads(str(npz[META_KEY])) == META
    # the digest follows the content, not the zip's timestamps
    again = write_samples(tmp_path / "again.npz", META, samples)
    assert samples_digest(again) == samples_digest(path)
    changed = dict(samples)
    key = next(iter(changed))
    changed[key] = changed[key] * 1.001
    assert samples_digest(write_samples(tmp_path / "changed.npz", META, changed)) != samples_digest(path)


def test_writer_refuses_incomplete_meta_and_empty_states(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kernel"):
        write_samples(tmp_path / "s.npz", {k: v for k, v in META.items() if k != "kernel"}, {})
    with pytest.raises(ValueError, match="no samples"):
        write_samples(tmp_path / "s.npz", META, {("1x256", "warm", 0): np.array([])})
    assert not (tmp_path / "s.npz").exists()


def assert_rows_match_samples(rows: list, path: Path) -> None:
    """One array per row's (shape, mode, repeat), as long as the row's n, with the row's median."""
    _, samples = load_samples(path)
    assert set(samples) == {(r.shape, r.mode, r.repeat) for r in rows}
    assert len(samples) == len(rows)
    for r in rows:
        s = samples[(r.shape, r.mode, r.repeat)]
        assert s.size == r.n
        # microseconds (not seconds), within float32 rounding of the float64 median
        assert np.median(s.astype(np.float64)) == pytest.approx(r.median_us, rel=1e-6)


def test_latency_sweep_writes_every_state_on_the_reference_backend(tmp_path: Path, config: Settings) -> None:
    engine, golden = tmp_path / "swish_plugin__fp16__tiny.engine", tmp_path / "swish_plugin__fp16__tiny.golden.npz"
    sweeps.build_engine(config, "reference", "swish_plugin", "fp16", "tiny", engine, golden, None)
    path = tmp_path / "samples" / "swish_plugin__fp16__tiny.npz"
    rows = sweeps.latency_sweep(config, "reference", engine, None, path)
    assert len(rows) == 3 * 2 * 2  # shapes x modes x repeats of tests/configs/small.yaml
    assert_rows_match_samples(rows, path)
    meta, _ = load_samples(path)
    assert set(meta) == set(META_FIELDS)
    assert (meta["operator"], meta["dtype"], meta["profile"], meta["backend"]) == ("swish_plugin", "fp16", "tiny",
                                                                                   "reference")
    assert meta["device_name"] == rows[0].device_name and meta["kernel"] == rows[0].kernel
    # the CLI's --samples reaches the same writer
    out, cli_path = tmp_path / "latency.csv", tmp_path / "cli.npz"
    cfg = dag.rule_settings(config, "latency", profile="tiny")  # what the latency rule hands it
    assert main(["latency", "--backend", "reference", "--settings-json", cfg, "--engine", str(engine),
                 "--out", str(out), "--samples", str(cli_path)]) == 0
    assert_rows_match_samples(list(pd.read_csv(out).itertuples()), cli_path)


class Clock:
    """A host whose every sample takes one microsecond longer than the one before: samples kept in
    the order measured are strictly increasing, within a window and from one visit to the next."""

    def __init__(self) -> None:
        self.calls = 0

    def sample(self) -> tuple[float, float]:
        self.calls += 1
        return 10e-6 + self.calls * 1e-6, 1e-6


class ClockTimer:
    def __init__(self, clock: Clock, mode: str) -> None:
        self.clock, self.start = clock, "idle" if mode in ("stream", "graph") else "blocked"

    def __enter__(self) -> ClockTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def sample(self) -> tuple[float, float]:
        return self.clock.sample()

    def verify(self) -> CheckResult:
        return CheckResult(True, 4, 0, 0, 0.0, 0.0, "ok")


class ClockEngine:
    def __init__(self) -> None:
        self.spec = EngineSpec("relu", "relu", "native", "", "fp32", "p", (1, 4), (1, 4), (64, 4), 1.0)
        self.clock = Clock()

    def timer(self, shape, mode, seed, verify_max_elements):  # noqa: ANN001, ANN201
        return ClockTimer(self.clock, mode)


class FakeBackend:
    name, timing_clock = "fake", "cuda_event"


def test_idle_start_states_keep_all_visits_in_the_order_measured() -> None:
    rule = StoppingRule(target_rse=1e-9, min_samples=3, max_samples=12, max_time_s=10.0, warmup_min=2,
                        warmup_time_s=0.0)
    config = typed("timing.verify_max_elements=1048576", "timing.idle_visits=3")
    raw: dict = {}
    rows = sweeps._latency_rows(config, FakeBackend(), ClockEngine(), [(1, 4), (8, 4)], ["warm", "graph"], None, 2,
                                rule, "fake", raw)
    assert set(raw) == {(r.shape, r.mode, r.repeat) for r in rows} and len(raw) == len(rows) == 2 * 2 * 2
    for r in rows:
        s = raw[(r.shape, r.mode, r.repeat)]
        assert s.size == r.n and np.median(s) * 1e6 == pytest.approx(r.median_us, rel=1e-12)
        assert np.all(np.diff(s) > 0), f"{r.shape} {r.mode} {r.repeat}: not in the order measured"
        if r.mode == "graph":  # three visits of 4 samples each (12 // 3), not only the last visit's
            assert s.size == 3 * 4


def test_missing_or_corrupt_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.npz"
    with pytest.raises(MissingSamplesFile, match=r"nope\.npz does not exist"):
        load_samples(missing)
    with pytest.raises(FileNotFoundError):  # a missing file is also what callers expect it to be
        load_samples(missing)
    good = write_samples(tmp_path / "good.npz", META, random_samples(np.random.default_rng(5)))
    blob = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(blob[: len(blob) // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(np.random.default_rng(6).bytes(4096))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3.0))  # an npz, but not a samples file
    bad_key = tmp_path / "bad_key.npz"
    np.savez(bad_key, **{META_KEY: np.str_(json.dumps(META)), "1x256|warm": np.ones(3, np.float32)})
    no_meta_fields = tmp_path / "no_meta_fields.npz"
    np.savez(no_meta_fields, **{META_KEY: np.str_("{}"), "1x256|warm|0": np.ones(3, np.float32)})
    for path in (truncated, garbage, foreign, bad_key, no_meta_fields):
        with pytest.raises(SamplesFileError, match=path.name.replace(".", r"\.")):
            load_samples(path)
    assert zipfile.is_zipfile(good), "the planted faults above were made from a readable file"


def test_log_rule_waits_for_the_samples_of_every_sweep() -> None:
    keys = ["relu__fp32__tiny", "swish_plugin__fp16__tiny"]
    root = dag.results_dir("small")
    assert dag.sample_outputs(root, keys) == [f"results/small/samples/{k}.npz" for k in keys]
    assert dag.sample_outputs(root, keys) == [p.replace(".csv", ".npz") for p in dag.sweep_outputs(root, "samples", keys)]
    rules = (ROOT / "workflow" / "rules" / "results.smk").read_text()
    log_rule = rules[rules.index("rule log_mlflow:"):rules.index("output:", rules.index("rule log_mlflow:"))]
    assert "dag.sample_outputs(RESULTS, KEYS)" in log_rule


def test_each_child_run_logs_its_samples_artifact(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    make_tables(tables)
    rng = np.random.default_rng(7)
    for op in ("relu", "swish_plugin"):  # the samples dir beside the tables, as results/samples
        write_samples(tmp_path / "samples" / f"{op}__fp32__tiny.npz", {**META, "operator": op, "dtype": "fp32"},
                      random_samples(rng))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged.json")
    assert sorted(first["created"]) == ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]
    client = MlflowClient(tracking_uri=uri)
    for key, [run] in sweep_runs(uri).items():
        assert [a.path for a in client.list_artifacts(run.info.run_id, "samples")] == [f"samples/{key}.npz"]
        local = client.download_artifacts(run.info.run_id, f"samples/{key}.npz", str(tmp_path / "dl" / key))
        assert samples_digest(Path(local)) == samples_digest(tmp_path / "samples" / f"{key}.npz")
    # re-measured samples with the very same medians are another measurement: a new child, not a reuse
    write_samples(tmp_path / "samples" / "relu__fp32__tiny.npz", {**META, "operator": "relu", "dtype": "fp32"},
                  random_samples(rng))
    (tables / "device.json").write_text((tables / "device.json").read_text().replace('"abc"', '"abd"'))
    second = log_results(config_for(uri), tables, tables / "device.json", tmp_path / "logged2.json")
    assert second["created"] == ["relu__fp32__tiny"] and list(second["reused"]) == ["swish_plugin__fp32__tiny"]
