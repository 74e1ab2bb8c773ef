"""The threads rule's native driver on the CPU: sweeps.native_thread_sweep against a stand-in runner
(a Python script answering with canned JSON, test_native_runner's _canned), the profile-count
check, the compile manifest naming trt_runner, the saturation rule and the stream_scaling figure
on the H200's runner output (docs/runs/h200-2026-12-02/runner/runner.jsonl), and the summary's
"Native runner" section. Nothing here runs TensorRT or CUDA.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from project_copy import python_executable
from test_native_runner import _canned
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.commands import compile as compile_mod
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.operators import numerics_for
from trt_plugin_bench.core.records import ThreadRow, columns, write_rows
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.measure import native_runner
from trt_plugin_bench.measure.native_runner import saturation_point
from trt_plugin_bench.report import figures
from trt_plugin_bench.report.aggregate import aggregate
from typed import typed

ROOT = Path(__file__).resolve().parents[1]
H200_THREADS = ROOT / "docs" / "runs" / "h200-2026-12-02" / "tables" / "threads.csv"
DEVICE = {"backend": "tensorrt", "backend_label": "TensorRT 8.6.1 on NVIDIA H200", "timing_clock": "cuda_event",
          "device_name": "NVIDIA H200", "driver_version": "570.1", "cuda_version": "12.8", "tensorrt_version": "8.6.1",
          "l2_bytes": 50 * 2**20, "date": "2026-12-02"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def h200_rows() -> pd.DataFrame:
    """The threads rule's native fp32 rows of the H200 run (2026-12-02: 20000+ enqueues per thread, >= 0.2 s)."""
    th = pd.read_csv(H200_THREADS)
    th = th[(th["driver"] == "native") & (th["dtype"] == "fp32")].reset_index(drop=True)
    return th.assign(graph=th["graph"].astype(str).str.lower().isin(("true", "1")))


# ---- the rule's Python side, against a stand-in runner -------------------------------------------

STAND_IN = """import json, sys
args = sys.argv[1:]
def value(flag): return args[args.index(flag) + 1]
threads, iterations, graph = int(value("--threads")), int(value("--iterations")), "--graph" in args
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
canned = json.load(open({canned!r}))[f"{{threads}},{{graph}}"]
base = canned.pop("base_iterations")
# as the real runner: the wall time grows with the enqueues, the throughput does not
batch = int(value("--graph-batch")) if "--graph-batch" in args else 1
canned.update(threads=threads, iterations=iterations, graph=graph, shape=[int(d) for d in value("--shape").split("x")],
              wall_s=canned["wall_s"] * iterations / base, graph_batch=batch)
# as the real runner: every --input-file is read, every --dump-output written (the expected outputs,
# or what the test planted there)
for i, flag in enumerate(args):
    name, path = args[i + 1].split("=", 1) if flag in ("--input-file", "--dump-output") else ("", "")
    if flag == "--input-file":
        open(path, "rb").read()
    elif flag == "--dump-output":
        open(path, "wb").write(open({outputs!r} + "/" + name.rsplit(":", 1)[0] + ".bin", "rb").read())
print(json.dumps(canned))
sys.exit(0 if canned["outputs_identical"] and not canned["errors"] else 1)
"""


def expected_outputs(spec: EngineSpec, shape: tuple[int, ...], directory: Path,
                     plant: Callable[[list[np.ndarray]], None] | None = None) -> None:
    """The outputs a right engine gives for the spec's inputs at ``shape`` (sweeps.native_inputs): the
    float64 reference rounded to the dtype, one NAME.bin each, where the stand-in dumps them from;
    ``plant`` changes them first (a planted fault)."""
    in_layout, values, out_layout = sweeps.native_inputs(spec, shape)
    num = numerics_for(spec)
    outs = [ref.to_device_dtype(num.reference_of(ref.to_float64(values[0], spec.dtype), spec.beta, spec.dtype, j)
                                .astype(np.float32), spec.dtype) for j in range(len(out_layout))]
    if plant is not None:
        plant(outs)
    directory.mkdir(parents=True, exist_ok=True)
    for (name, _, _), y in zip(out_layout, outs):
        (directory / f"{name}.bin").write_bytes(y.tobytes())


def stand_in_runner(tmp_path: Path, results: dict[tuple[int, bool], dict], base: int, spec: EngineSpec | None = None,
                    plant: Callable[[list[np.ndarray]], None] | None = None) -> tuple[Path, Path]:
    """A trt_runner stand-in answering each (threads, graph) with its canned result; it logs its argv
    and dumps the right outputs of ``spec`` (SPEC) at threads.shape, or ``plant``'s."""
    canned = {f"{n},{g}": {**r, "base_iterations": base} for (n, g), r in results.items()}
    (tmp_path / "canned.json").write_text(json.dumps(canned))
    log = tmp_path / "calls.jsonl"
    expected_outputs(spec or SPEC, (64, 1024), tmp_path / "outputs", plant)
    script = python_executable(tmp_path / "trt_runner", STAND_IN.format(
        log=str(log), canned=str(tmp_path / "canned.json"), outputs=str(tmp_path / "outputs")))
    return script, log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


COUNTS = [1, 2, 4, 8]
SPEC = EngineSpec(operator="swish_plugin", function="swish", implementation="plugin", kernel="vectorized", dtype="fp32",
                  profile="sweep", min=(1, 1024), opt=(64, 1024), max=(256, 1024), beta=1.0)


def native_config(counts: list[int] = COUNTS, iterations: int = 20000, min_wall: float = 0.2, batch: int = 1) -> Settings:
    s = typed()
    return replace(s, threads=replace(s.threads, counts=tuple(counts), iterations=200, native_iterations=iterations,
                                      native_min_wall_s=min_wall, shape=(64, 1024), native_graph_batch=batch))


def canned_results(seed: int, walls: dict[tuple[int, bool], float] | None = None) -> dict[tuple[int, bool], dict]:
    """Random, valid runner results of every count in both modes (wall times 0.25-0.9 s unless given)."""
    rng = np.random.default_rng(seed)
    out = {}
    for graph in (False, True):
        for n in COUNTS:
            out[n, graph] = _canned(n_threads=n, seed=int(rng.integers(1 << 30)),
                                    wall_s=(walls or {}).get((n, graph), float(rng.uniform(0.25, 0.9))))
    return out


def test_native_rows_for_every_count_in_both_modes(tmp_path: Path) -> None:
    results = canned_results(seed=1)
    runner, log = stand_in_runner(tmp_path, results, base=20000)
    plugin = tmp_path / "libswish_plugin.so"
    rows = sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [plugin], profile_count=8)
    assert [(r.threads, r.graph) for r in rows] == [(n, g) for g in (False, True) for n in COUNTS]
    assert all(r.driver == "native" and r.all_verified and r.failures == 0 for r in rows)
    for r in rows:  # the runner's numbers, unchanged
        want = results[r.threads, r.graph]
        assert r.throughput_per_s == pytest.approx(want["inferences_per_second"])
        assert r.gpu_busy_fraction == pytest.approx(want["gpu_busy_fraction"])
        assert r.p99_latency_us == pytest.approx(max(t["p99_us"] for t in want["per_thread"]))
        assert r.inferences == r.threads * 20000 and r.shape == "64x1024"
    argv = calls(log)
    assert len(argv) == 8  # every run long enough: no rerun
    # each thread its own profile, the plugin library handed over, graph replays flagged
    assert all("--profile-per-thread" in a and a[a.index("--plugins") + 1] == str(plugin) for a in argv)
    assert sum("--graph" in a for a in argv) == 4


def test_a_graph_of_several_enqueues_is_a_third_series(tmp_path: Path) -> None:
    """threads.native_graph_batch 16: after plain enqueues and one-enqueue graphs, graphs of 16
    enqueues (--graph --graph-batch 16), their rows graph_batch 16, named graph_x16 in MLflow."""
    from trt_plugin_bench.measure.native_runner import native_way, native_way_label

    runner, log = stand_in_runner(tmp_path, canned_results(seed=4), base=20000)
    rows = sweeps.native_thread_sweep(native_config(batch=16), SPEC, tmp_path / "e.engine", runner, [], profile_count=8)
    assert [(r.graph, r.graph_batch) for r in rows] == [(g, b) for g, b in ((False, 1), (True, 1), (True, 16))
                                                         for _ in COUNTS]
    argv = calls(log)
    assert sum(a[a.index("--graph-batch") + 1] == "16" for a in argv if "--graph-batch" in a) == 4
    assert all("--graph" in a for a in argv if "--graph-batch" in a)
    assert [native_way(r.graph, r.graph_batch) for r in rows[::4]] == ["plain", "graph", "graph_x16"]
    assert native_way_label("graph_x16") == "CUDA graph of 16 enqueues" and native_way("True", "16.0") == "graph_x16"
    with pytest.raises(ValueError, match="graph_batch needs graph"):
        native_runner.runner_arguments(runner, tmp_path / "e.engine", [], 1, 10, (4,), graph=False, graph_batch=4)


def test_a_run_too_short_is_rerun_long_enough(tmp_path: Path) -> None:
    # one thread, plain: 0.05 s for 20000 enqueues; the rerun scales them to 0.2 s plus the margin
    runner, log = stand_in_runner(tmp_path, canned_results(seed=2, walls={(1, False): 0.05}), base=20000)
    rows = sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [], profile_count=8)
    argv = calls(log)
    assert len(argv) == 9 and "--plugins" not in argv[0]
    iterations = [int(a[a.index("--iterations") + 1]) for a in argv]
    want = math.ceil(20000 * 0.2 / 0.05 * sweeps.NATIVE_RERUN_MARGIN)
    assert iterations[:2] == [20000, want] and set(iterations[2:]) == {20000}
    assert rows[0].iterations_per_thread == want and rows[0].wall_s >= 0.2


def test_outputs_that_differ_fail_the_rule_naming_engine_and_count(tmp_path: Path) -> None:
    results = canned_results(seed=3)
    results[4, True] = {**results[4, True], "outputs_identical": False,
                        "errors": ["thread 3's output differs from thread 0's (17 bytes)"]}
    runner, _ = stand_in_runner(tmp_path, results, base=20000)
    with pytest.raises(RuntimeError) as info:
        sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "swish_plugin__fp32__sweep.engine", runner, [],
                                   profile_count=8)
    message = str(info.value)
    assert "swish_plugin__fp32__sweep.engine at 4 threads (CUDA-graph replay)" in message
    assert "outputs_identical=false" in message and "thread 3's output differs" in message
    assert "at 2 threads" not in message and "plain enqueue" not in message  # only the wrong run is named


def test_more_threads_than_profiles_is_a_clear_error(tmp_path: Path) -> None:
    runner, log = stand_in_runner(tmp_path, canned_results(seed=4), base=20000)
    with pytest.raises(ValueError, match=r"up to 8 threads, but engine e\.engine has 4 optimization profiles"):
        sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [], profile_count=4)
    assert calls(log) == []  # refused before any run
    with pytest.raises(ValueError, match="has 1 optimization profile:"):
        sweeps.check_profile_count([1, 2], 1, "e.engine")
    sweeps.check_profile_count(COUNTS, 8, "e.engine")  # exactly enough


def test_reference_backend_keeps_the_python_rows_only(tmp_path: Path) -> None:
    config = typed()
    engine, golden = tmp_path / "relu__fp32__tiny.engine", tmp_path / "relu__fp32__tiny.golden.npz"
    sweeps.build_engine(config, "reference", "relu", "fp32", "tiny", engine, golden, None)
    manifest = tmp_path / "manifest.json"  # a runner in the manifest changes nothing on the CPU
    manifest.write_text(json.dumps({"plugin_library": None, "trt_runner": str(tmp_path / "trt_runner")}))
    rows = sweeps.thread_sweep(config, "reference", engine, manifest)
    assert rows and all(r.driver == "python" and not r.graph for r in rows)
    assert [r.threads for r in rows] == sorted(config.threads.counts)
    assert all(math.isnan(r.gpu_busy_fraction) and r.p99_latency_us >= r.median_latency_us for r in rows)


def test_the_manifest_names_the_runner_where_cmake_built_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_build(built: tuple[str, ...]):  # noqa: ANN202
        def run(cmd: list[str], log_file) -> None:  # noqa: ANN001 - CMake's build step makes these files
            if "--build" in cmd:
                for name in built:
                    (Path(cmd[cmd.index("--build") + 1]) / name).write_bytes(b"\x7fELF")
        return run

    monkeypatch.setattr(compile_mod.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    for i, (built, want) in enumerate([(("libswish_plugin.so", "libswish_kernels.so", "trt_runner"), True),
                                       (("libswish_plugin.so", "libswish_kernels.so"), False)]):  # no libnvinfer
        monkeypatch.setattr(compile_mod, "_run", fake_build(built))
        build = tmp_path / f"build{i}"
        manifest = compile_mod.compile_plugin("tensorrt", build, tmp_path / "m.json", tmp_path / "cmake.log")
        assert manifest["trt_runner"] == (str((build / "trt_runner").resolve()) if want else None)
        assert sweeps.runner_from_manifest(tmp_path / "m.json") == (Path(manifest["trt_runner"]) if want else None)
    monkeypatch.setattr(compile_mod, "_run", fake_build(("libswish_kernels.so", "trt_runner")))
    manifest = compile_mod.compile_plugin("reference", tmp_path / "build2", tmp_path / "m.json", tmp_path / "cmake.log")
    assert manifest["trt_runner"] is None  # the reference backend never drives it


# ---- the saturation rule and the figure ----------------------------------------------------------

H200_SATURATION = {  # by native_runner.saturation_point, read off the H200 table by hand (k/s)
    ("relu", True): 1,  # 413.1 -> 413.8 (+0 %)
    ("swish_native", True): 1,  # 383.6 -> 384.3
    ("swish_plugin", True): 1,  # 454.1 -> 488.3 (+8 %)
    ("swish_plugin_naive", True): 2,  # 379.3 -> 421.1 (+11 %) -> 349.8
}  # plain enqueues still grow at 8 threads (by 51-67 % from 4): no saturation point


def test_saturation_rule_on_the_h200_runner_output() -> None:
    th = h200_rows()
    assert len(th) == 32 and th["all_verified"].all()
    for (op, graph), d in th.groupby(["operator", "graph"]):
        point = saturation_point(list(d["threads"]), list(d["throughput_per_s"]))
        assert (point[0] if point else None) == H200_SATURATION.get((op, graph)), (op, graph, point)
    assert "2 threads add -28 %" in saturation_point([1, 2], [183485, 132214])[1]


def test_saturation_rule_planted_cases() -> None:
    rng = np.random.default_rng(7)
    base = float(rng.uniform(5e4, 2e5))
    # grows by 60-90 % per doubling: still growing at the largest count
    rates = list(base * np.cumprod([1.0, *rng.uniform(1.6, 1.9, 3)]))
    assert saturation_point(COUNTS, rates) is None
    # a plateau after 4 threads: growth stops there (the next count adds < 10 %)
    rates = [base, 1.9 * base, 3.5 * base, 3.5 * base * float(rng.uniform(0.95, 1.09))]
    assert saturation_point(COUNTS, rates)[0] == 4
    # exactly 10 % more is still growth; any order
    assert saturation_point([1, 2], [base, 1.1 * base * (1 + 1e-9)]) is None
    assert saturation_point([4, 1, 2], [3 * base, base, 2.9 * base])[0] == 2


def synthetic_native_rows(seed: int) -> pd.DataFrame:
    """Realistic native rows: one stream at 80-150 k/s, throughput growing towards a 200-240 k/s GPU
    limit with the busy fraction, graph replays faster at one stream; every output identical."""
    rng = np.random.default_rng(seed)
    rows = []
    for op in ("relu", "swish_native", "swish_plugin"):
        limit = float(rng.uniform(2.0e5, 2.4e5))
        for graph in (False, True):
            one = float(rng.uniform(1.5e5, 1.9e5) if graph else rng.uniform(0.8e5, 1.5e5))
            for n in COUNTS:
                rate = limit * (1 - (1 - one / limit) ** n) * float(rng.uniform(0.97, 1.0))
                busy = min(1.0, one / limit * n + float(rng.uniform(0.0, 0.1)))
                iterations = 20000
                rows.append(asdict(ThreadRow(
                    backend="tensorrt", operator=op, dtype="fp32", profile="sweep", shape="64x1024", threads=n,
                    iterations_per_thread=iterations, inferences=n * iterations, failures=0,
                    wall_s=n * iterations / rate, throughput_per_s=rate, median_latency_us=float(rng.uniform(5, 35)),
                    all_verified=True, message="", driver="native", graph=graph,
                    p99_latency_us=float(rng.uniform(35, 60)), gpu_busy_fraction=busy,
                    gpu_interval_sum_over_wall=busy * float(rng.uniform(1, n)))))
    return pd.DataFrame(rows)


def _rings(fig: plt.Figure) -> dict[tuple[str, bool], int]:
    out = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            gid = ln.get_gid() or ""
            if gid.startswith("saturation;"):
                tags = dict(part.split("=", 1) for part in gid.split(";")[1:])
                out[tags["operator"], tags["way"] == "graph"] = int(tags["threads"])
    return out


@pytest.mark.parametrize("source", ["h200", "synthetic"])
def test_stream_scaling_marks_the_saturation_point_and_the_ideal(source: str, tmp_path: Path) -> None:
    native = h200_rows() if source == "h200" else synthetic_native_rows(seed=11)
    python_rows = native.assign(driver="python", graph=False, throughput_per_s=native["throughput_per_s"] / 40)
    th = pd.concat([native, python_rows.drop_duplicates(["operator", "threads"])], ignore_index=True)
    fig = figures.draw("stream_scaling", {"threads": th}, DEVICE)
    want = {}
    for (op, graph), d in native.groupby(["operator", "graph"]):
        point = saturation_point(list(d["threads"]), list(d["throughput_per_s"]))
        if point:
            want[op, bool(graph)] = point[0]
    if source == "h200":
        assert want == H200_SATURATION
    assert _rings(fig) == want
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    for (op, graph), d in native.groupby(["operator", "graph"]):
        d = d.sort_values("threads")
        way = "graph" if graph else "plain"
        measured = lines[f"dtype=fp32;operator={op};way={way}"]
        assert list(measured.get_ydata()) == pytest.approx(list(d["throughput_per_s"]))  # native rows only
        assert measured.get_linestyle() == figures.NATIVE_STYLES[way]
        ideal = lines[f"ideal;operator={op};way={way}"]
        assert ideal.get_linestyle() == "--"
        assert list(ideal.get_ydata()) == pytest.approx(list(d["threads"] * d["throughput_per_s"].iloc[0]))
    # one facet per operator; no Python facet
    assert len([a for a in fig.axes if a.get_title()]) == native["operator"].nunique()
    title = fig.get_suptitle()
    assert "grow with streams until the GPU saturates" in title and "< 10%" in title and "busy" not in title
    fig.savefig(tmp_path / "stream_scaling.png")
    # the Python loop's figure keeps the Python rows only
    py = figures.draw("thread_scaling", {"threads": th}, DEVICE)
    ys = sorted(float(v) for ax in py.axes for ln in ax.get_lines() if ln.get_gid() for v in ln.get_ydata())
    assert ys == pytest.approx(sorted(python_rows.drop_duplicates(["operator", "threads"])["throughput_per_s"]))


def test_figure_plans_native_rows_on_gpu_only() -> None:
    th = synthetic_native_rows(seed=12)
    planned, _ = figures.plan_from_tables("tensorrt", {"threads": th})
    assert "stream_scaling" in planned and "thread_scaling" not in planned  # no Python rows in this table
    old = th.drop(columns=["driver", "graph", "p99_latency_us", "gpu_busy_fraction", "gpu_interval_sum_over_wall"])
    planned, skipped = figures.plan_from_tables("tensorrt", {"threads": old})  # a table from before the runner
    assert "thread_scaling" in planned and "stream_scaling" in skipped
    _, skipped = figures.plan_from_tables("reference", {"threads": th.iloc[0:0]})
    assert "needs the tensorrt backend" in skipped["stream_scaling"]


# ---- the summary ----------------------------------------------------------------------------------

def _aggregate(tmp_path: Path, backend: str, rows: pd.DataFrame) -> str:
    csv = tmp_path / "threads__sweep.csv"
    write_rows(csv, ThreadRow, [ThreadRow(**r) for r in rows.to_dict("records")])
    device = {**DEVICE, "backend": backend, "cpu": "x86_64", "python": "3.11", "numpy_version": "2.0",
              "sm_count": 132, "compute_capability": "9.0", "hostname": "h"}
    if backend == "reference":
        device.update(backend_label="reference backend (CPU, numpy) - CPU timings, not TensorRT",
                      timing_clock="cpu_perf_counter", l2_bytes=0)
    (tmp_path / "device.json").write_text(json.dumps(device))
    aggregate({"threads": [csv]}, tmp_path / "device.json", tmp_path / "tables", [])
    table = pd.read_csv(tmp_path / "tables" / "threads.csv")
    assert list(table.columns) == columns(ThreadRow) and len(table) == len(rows)
    return (tmp_path / "tables" / "summary.md").read_text()


def test_summary_has_a_native_runner_table_on_the_gpu(tmp_path: Path) -> None:
    th = h200_rows()
    summary = _aggregate(tmp_path, "tensorrt", th)
    section = summary.split("## Native runner", 1)[1]
    rows = [ln for ln in section.splitlines() if ln.startswith("| relu") or ln.startswith("| swish")]
    assert len(rows) == 8  # operator x mode
    relu_plain = next(ln for ln in rows if ln.startswith("| relu | fp32 | 64x1024 | plain enqueue"))
    # 352170 / (4 x 135204) = 65 % of the ideal at 4 threads; +67 % from 4 to 8: no saturation point
    assert "| 352.2 k (65%) |" in relu_plain and "| still growing |" in relu_plain
    relu_graph = next(ln for ln in rows if ln.startswith("| relu | fp32 | 64x1024 | CUDA-graph replay"))
    assert "| 1 (2 threads add +0 %) |" in relu_graph


def test_summary_says_native_rows_need_tensorrt_on_the_cpu(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    th = pd.DataFrame([asdict(ThreadRow(backend="reference", operator="relu", dtype="fp32", profile="tiny",
                                        shape="1x256", threads=n, iterations_per_thread=7, inferences=7 * n, failures=0,
                                        wall_s=float(rng.uniform(0.01, 0.1)), throughput_per_s=float(rng.uniform(1e3, 1e4)),
                                        median_latency_us=float(rng.uniform(5, 50)), all_verified=True, message="",
                                        p99_latency_us=float(rng.uniform(50, 90)))) for n in (1, 2)])
    summary = _aggregate(tmp_path, "reference", th)
    section = summary.split("## Native runner", 1)[1]
    assert "needs the tensorrt backend" in section and "| relu" not in section


def test_the_runner_gets_the_other_inputs_shapes_of_a_multi_input_spec(tmp_path: Path) -> None:
    """bias_add (tests/specs/multi: x [N, H] and b [1, H]): every run names b's shape from its rule."""
    results = canned_results(seed=3)
    spec = EngineSpec(operator="bias_add", function="bias_add", implementation="native", kernel="", dtype="fp32",
                      profile="sweep", min=(1, 1024), opt=(64, 1024), max=(256, 1024), beta=1.0,
                      spec_file=str(ROOT / "tests" / "specs" / "multi" / "bias_add.yaml"))
    runner, log = stand_in_runner(tmp_path, results, base=20000, spec=spec)
    sweeps.native_thread_sweep(native_config(), spec, tmp_path / "e.engine", runner, [], profile_count=8)
    argv = calls(log)
    assert argv and all(a[a.index("--input-shape") + 1] == "b=1x1024" and a.count("--input-shape") == 1 for a in argv)


def test_the_runner_binds_the_specs_values_and_its_output_is_checked_against_the_reference(tmp_path: Path) -> None:
    """Every run binds every input's file (the spec's values) and dumps its outputs; the first dump
    is held to the float64 reference (planted: one element off by far more than the tolerance fails the
    rule, naming the runner's output), every later one must equal it (planted: a stand-in whose dump
    changes after the first run fails naming the run)."""
    runner, log = stand_in_runner(tmp_path, canned_results(seed=5), base=20000)
    sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [], profile_count=8)
    argv = calls(log)
    assert argv and all(c.count("--input-file") == 1 and a_value(c, "--input-file").startswith("x:fp32=")
                        and a_value(c, "--dump-output").startswith("y:fp32=") for c in argv)
    (tmp_path / "wrong").mkdir()
    (tmp_path / "drift").mkdir()

    def off(outs: list[np.ndarray]) -> None:
        outs[0][3, 5] = outs[0][3, 5] * np.float32(1.5) + np.float32(1.0)

    runner, _ = stand_in_runner(tmp_path / "wrong", canned_results(seed=5), base=20000, plant=off)
    with pytest.raises(RuntimeError, match="the native runner's output of e.engine .*computes wrong values"):
        sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [], profile_count=8)

    runner, _ = stand_in_runner(tmp_path / "drift", canned_results(seed=5), base=20000)
    source = runner.with_name(runner.name + ".py")  # project_copy.python_executable's code
    script = source.read_text().replace("print(json.dumps(canned))", """if threads == 2:
    for i, flag in enumerate(args):
        if flag == "--dump-output":
            p = args[i + 1].split("=", 1)[1]
            data = bytearray(open(p, "rb").read()); data[0] ^= 1; open(p, "wb").write(bytes(data))
print(json.dumps(canned))""")
    source.write_text(script)
    with pytest.raises(RuntimeError, match=r"at 2 threads .*differs from the first run's"):
        sweeps.native_thread_sweep(native_config(), SPEC, tmp_path / "e.engine", runner, [], profile_count=8)


def a_value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]
