"""Concurrency against its limit (issue 28), on the CPU: the bare kernel's rows from the threads rule's
native driver (sweeps.native_thread_sweep with bare=True, against a stand-in trt_runner that
answers --bare-kernel, or refuses it as a runner from before it would), the runner's JSON fields,
concurrency.py's table, ratios, saturation and sentences on made-up numbers, the summary section,
tables/concurrency.csv and the concurrency_limit figure; the CPU reference backend with no bare
kernel. Nothing here runs TensorRT or CUDA; no timing threshold is asserted (the numbers are made up).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure
from project_copy import python_executable
from test_native_runner import _canned
from test_native_threads import expected_outputs
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core.records import ThreadRow, write_rows
from trt_plugin_bench.measure import native_runner
from trt_plugin_bench.measure.native_runner import NativeRunnerError, parse_result
from trt_plugin_bench.report import concurrency, figures
from trt_plugin_bench.report.aggregate import aggregate
from trt_plugin_bench.report.concurrency import concurrency_table, saturation_n, sentences, summary_lines
from typed import typed

DEVICE = {"backend": "tensorrt", "backend_label": "TensorRT 8.6.1 on NVIDIA H100", "timing_clock": "cuda_event",
          "device_name": "NVIDIA H100", "driver_version": "570.1", "cuda_version": "12.8", "tensorrt_version": "8.6.1",
          "l2_bytes": 50 * 2**20, "date": "2026-12-06", "cpu": "x86_64", "python": "3.11", "numpy_version": "2.0",
          "sm_count": 132, "compute_capability": "9.0", "hostname": "h"}
COUNTS = [1, 2, 4, 8]
SHAPE = (64, 1024)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def row(operator: str, driver: str, n: int, rate: float, *, way: str = "graph_x16", backend: str = "tensorrt",
        dtype: str = "fp32", message: str = "", nbytes: float = 4 * 64 * 1024) -> ThreadRow:
    ways = {"plain": (False, 1), "graph": (True, 1)}
    graph, batch = ways[way] if way in ways else (True, int(way.removeprefix("graph_x")))
    if driver == "python":
        graph, batch = False, 1
    return ThreadRow(backend=backend, operator=operator, dtype=dtype, profile="sweep", shape="64x1024", threads=n,
                     iterations_per_thread=1000, inferences=1000 * n, failures=0, wall_s=1000 * n / rate,
                     throughput_per_s=rate, median_latency_us=5.0, all_verified=math.isfinite(rate), message=message,
                     driver=driver, graph=graph, graph_batch=batch, bytes_in=nbytes, bytes_out=nbytes)


def frame(rows: list[ThreadRow]) -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in rows])


# made-up rates (k/s) at N = 1, 2, 4, 8: the plugin 95 % of the bare kernel except at 8 (90 %), the twin slower
PLUGIN = [100e3, 190e3, 300e3, 315e3]
BARE = [100e3, 200e3, 310e3, 350e3]
TWIN = [90e3, 170e3, 300e3, 340e3]


def gpu_table(bare: list[float] | None = BARE, twin: list[float] | None = TWIN, bare_message: str = "") -> pd.DataFrame:
    rows = [row("swish_plugin", "native", n, r) for n, r in zip(COUNTS, PLUGIN)]
    if twin is not None:
        rows += [row("swish_native", "native", n, r) for n, r in zip(COUNTS, twin)]
        rows += [row("swish_native", "bare", n, r) for n, r in zip(COUNTS, BARE)]  # the twin's own job's
    if bare is not None:
        rows += [row("swish_plugin", "bare", n, r, message=bare_message) for n, r in zip(COUNTS, bare)]
    return frame(rows)


# ---- the saturation point: a pure function ------------------------------------------------------

@pytest.mark.parametrize("threads, rates, want", [
    ([1, 2, 4, 8], [100, 200, 400, 800], math.nan),  # still growing
    ([1, 2, 4, 8], [100, 200, 215, 300], 2.0),  # 2 -> 4 adds 7.5 % (< 10 %)
    ([1, 2, 4, 8], [100, 105, 300, 600], 1.0),  # the first stall counts, even if it grows again
    ([1, 2], [100, 80], 1.0),  # falling
    ([8, 1, 4, 2], [300, 100, 290, 200], 4.0),  # unsorted input: 4 -> 8 adds 3 %
    ([1], [100], math.nan),  # one point: nothing to saturate
    ([], [], math.nan),
    ([1, 2, 4], [100, float("nan"), 105], 1.0),  # a point not measured is left out: 1 -> 4 adds 5 %
])
def test_saturation_n(threads: list[int], rates: list[float], want: float) -> None:
    got = saturation_n(threads, rates)
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want


def test_saturation_n_edges() -> None:
    assert math.isnan(saturation_n([1, 2], [float("nan"), float("nan")]))
    assert math.isnan(saturation_n([1, 2], [100, 111]))  # +11 %: still growing
    assert saturation_n([1, 2], [100, 109.9]) == 1.0  # +9.9 %: saturated at the first


# ---- the table ----------------------------------------------------------------------------------

def test_columns_ratios_and_saturation_on_the_gpu() -> None:
    whole = concurrency_table(gpu_table(), "tensorrt")
    assert list(whole.columns) == concurrency.COLUMNS
    # every engine beside the bare kernel of its bytes; the twin also a column of its plugin's rows
    assert set(whole["operator"]) == {"swish_plugin", "swish_native"}
    assert dict(zip(whole["operator"], whole["kind"])) == {"swish_plugin": "plugin", "swish_native": "native"}
    native = whole[whole["operator"] == "swish_native"]
    assert list(native["plugin_over_bare"]) == pytest.approx([t / b for t, b in zip(TWIN, BARE)])
    assert native["twin_per_s"].isna().all() and (native["twin"] == "").all()
    table = whole[whole["operator"] == "swish_plugin"]
    assert list(table["threads"]) == COUNTS
    assert set(table["twin"]) == {"swish_native"} and set(table["way"]) == {"graph_x16"}
    assert list(table["plugin_over_bare"]) == pytest.approx([p / b for p, b in zip(PLUGIN, BARE)])
    assert list(table["plugin_over_twin"]) == pytest.approx([p / t for p, t in zip(PLUGIN, TWIN)])
    assert list(table["bare_per_s"]) == BARE and list(table["twin_per_s"]) == TWIN  # the plugin's job's bare rows
    assert list(table["below_bare"]) == [False, False, False, True]  # 190/200 = 0.95 is not below, 315/350 is
    assert list(table["below_twin"]) == [False, False, False, True]  # 300/300 is not below, 315/340 is
    assert set(table["bare_status"]) == {"measured"} and set(table["twin_status"]) == {"measured"}
    assert set(table["bytes_in"]) == {4 * 64 * 1024}
    # saturation: plugin 4 -> 8 adds 5 %; bare 4 -> 8 adds 13 %, twin 13 % (both still growing)
    assert set(table["saturation_plugin"]) == {4.0}
    assert table["saturation_bare"].isna().all() and table["saturation_twin"].isna().all()


def test_no_twin_in_the_run_and_no_bare_rows() -> None:
    table = concurrency_table(gpu_table(bare=None, twin=None), "tensorrt")
    assert set(table["operator"]) == {"swish_plugin"}
    assert table["twin_per_s"].isna().all() and table["plugin_over_twin"].isna().all()
    assert set(table["twin_status"]) == {"not measured: swish_native is not in this run's thread sweep"}
    assert table["bare_per_s"].isna().all() and set(table["bare_status"]) == {concurrency.NO_BARE_ROWS}
    assert not table["below_bare"].any() and not table["below_twin"].any()  # nothing measured is nothing below


def test_a_bare_kernel_not_measured_says_why() -> None:
    why = "not measured: trt_runner --bare-kernel could not run (exited 2: unknown argument --bare-kernel)"
    table = concurrency_table(gpu_table(bare=[math.nan] * 4, bare_message=why), "tensorrt")
    table = table[table["operator"] == "swish_plugin"]
    assert table["bare_per_s"].isna().all() and table["plugin_over_bare"].isna().all()
    assert set(table["bare_status"]) == {why}
    assert table["plugin_over_twin"].notna().all()  # the twin still measured
    lines = summary_lines(gpu_table(bare=[math.nan] * 4, bare_message=why), "tensorrt")
    assert "no bare-kernel ratio (not measured)" in "\n".join(lines)
    assert f"Bare kernel {why}" in lines


def test_the_cpu_reference_backend_has_no_bare_kernel() -> None:
    rows = [row("swish_plugin", "python", n, r, backend="reference") for n, r in zip(COUNTS, PLUGIN)]
    rows += [row("swish_native", "python", n, r, backend="reference") for n, r in zip(COUNTS, TWIN)]
    rows += [row("swish_plugin", "bare", n, r, backend="reference") for n, r in zip(COUNTS, BARE)]  # never used there
    table = concurrency_table(frame(rows), "reference")
    assert set(table["way"]) == {"python"} and table["bare_per_s"].isna().all()
    table = table[table["operator"] == "swish_plugin"]
    assert set(table["bare_status"]) == {concurrency.CPU_NO_BARE} and "CPU reference backend" in concurrency.CPU_NO_BARE
    assert table["plugin_over_twin"].notna().all()
    text = "\n".join(summary_lines(frame(rows), "reference"))
    assert "CPU reference backend" in text and "no bare kernel (the CPU reference backend runs none)" in text
    assert "of the bare kernel of the same bytes" not in text  # never pretends to have one
    _, skipped = figures.plan_from_tables("reference", {"threads": frame(rows)})
    assert "CPU reference backend runs no GPU kernel" in skipped["concurrency_limit"]


def test_empty_tables() -> None:
    assert concurrency_table(pd.DataFrame(), "tensorrt").empty
    assert summary_lines(pd.DataFrame(), "tensorrt") == []
    only_native = frame([row("swish_native", "native", n, r) for n, r in zip(COUNTS, TWIN)]
                        + [row("swish_native", "bare", n, r) for n, r in zip(COUNTS, BARE)])
    table = concurrency_table(only_native, "tensorrt")  # TensorRT's own layers against the bare kernel
    assert set(table["kind"]) == {"native"} and table["plugin_over_bare"].notna().all()
    [text] = sentences(table)
    assert text.startswith("swish_native fp32 64x1024, graph_x16: at 8 streams TensorRT's own layers reach "
                           "0.971 of the bare kernel of the same bytes; saturation at none")
    assert "twin" not in text.split(";")[0]


# ---- the sentence -------------------------------------------------------------------------------

def test_the_sentence_says_where_and_by_how_much() -> None:
    [text, _] = sentences(concurrency_table(gpu_table(), "tensorrt"))  # swish_plugin's, then swish_native's
    assert text.startswith("swish_plugin fp32 64x1024, graph_x16: at 8 streams the plugin reaches 0.900 of the bare "
                           "kernel of the same bytes and 0.926 of TensorRT's twin (swish_native); saturation at N=4")
    # 300/310 = 0.968 is above 0.95; 315/350 = 0.900 is 5.3 % under it; 315/340 = 0.926 is 7.4 % under the twin
    assert "Below 0.95 × the bare kernel at N=8: 0.900 (-5.3 % against 0.95)." in text
    assert "Below the twin at N=8: 0.926 (-7.4 % against 1.00)." in text
    good = gpu_table(bare=[p / 0.97 for p in PLUGIN], twin=[p / 1.05 for p in PLUGIN])
    [text, _] = sentences(concurrency_table(good, "tensorrt"))
    assert "At every measured N ≤ 8: ≥ 0.95 × the bare kernel." in text and "At every measured N ≤ 8: ≥ the twin." in text
    assert "Below" not in text


def test_the_sentence_stops_at_eight_streams() -> None:
    rows = gpu_table()
    rows = pd.concat([rows, frame([row("swish_plugin", "native", 16, 100e3), row("swish_plugin", "bare", 16, 400e3)])])
    [text, _] = sentences(concurrency_table(rows, "tensorrt"))
    assert "at 8 streams" in text and "N=16" not in text


# ---- aggregate: tables/concurrency.csv and summary.md --------------------------------------------

def test_aggregate_writes_the_table_and_the_section(tmp_path: Path) -> None:
    csv = tmp_path / "threads__sweep.csv"
    rows = gpu_table()
    write_rows(csv, ThreadRow, [ThreadRow(**r) for r in rows.to_dict("records")])
    (tmp_path / "device.json").write_text(json.dumps(DEVICE))
    aggregate({"threads": [csv]}, tmp_path / "device.json", tmp_path / "tables", [])
    table = pd.read_csv(tmp_path / "tables" / "concurrency.csv")
    assert list(table.columns) == concurrency.COLUMNS and len(table) == 8  # the plugin's rows and the twin's
    summary = (tmp_path / "tables" / "summary.md").read_text()
    section = summary.split("## Concurrency against its limit", 1)[1].split("\n## ", 1)[0]
    assert "at 8 streams the plugin reaches 0.900 of the bare kernel of the same bytes" in section
    assert "| swish_plugin | fp32 | 64x1024 | graph_x16 | 8 | 315.0 k | 340.0 k | 350.0 k | 0.900 ⚠ | 0.926 ⚠ |" in section
    assert "| swish_native | fp32 | 64x1024 | graph_x16 | 8 | 340.0 k | – k | 350.0 k | 0.971 | – |" in section
    # the native runner's own table keeps its engines' rows only (no bare-kernel row in it)
    native = summary.split("## Native runner", 1)[1].split("\n## ", 1)[0]
    assert sum(ln.startswith("| swish") for ln in native.splitlines()) == 2  # swish_plugin, swish_native


# ---- the figure ---------------------------------------------------------------------------------

def test_the_figure_draws_plugin_twin_and_bare_kernel(tmp_path: Path) -> None:
    th = pd.concat([gpu_table(), frame([row("swish_plugin", "native", n, r / 2, way="plain") for n, r in
                                        zip(COUNTS, PLUGIN)])])
    assert figures.limit_way({"plain", "graph", "graph_x16", "graph_x4"}) == "graph_x16"
    assert figures.limit_way({"plain", "graph"}) == "graph" and figures.limit_way({"plain"}) == "plain"
    planned, _ = figures.plan_from_tables("tensorrt", {"threads": th})
    assert "concurrency_limit" in planned
    fig = figures.draw("concurrency_limit", {"threads": th}, {**DEVICE, "backend_label": "TensorRT 8.6.1 on H100"})
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    assert set(lines) == {"dtype=fp32;operator=swish_plugin;series=plugin;way=graph_x16",
                          "dtype=fp32;operator=swish_native;series=twin;way=graph_x16",
                          "bare;plugin=swish_plugin;way=graph_x16"}  # one way: graphs of the most enqueues
    assert list(lines["bare;plugin=swish_plugin;way=graph_x16"].get_ydata()) == BARE
    text = " ".join(facet_notes(fig))
    assert "plugin ÷ bare: 1: 1.00, 2: 0.95, 4: 0.97, 8: 0.90!" in text and "saturates at N = plugin 4" in text
    assert "bare kernel of the same bytes" in fig.get_suptitle().replace("\n", " ")
    fig.savefig(tmp_path / "concurrency_limit.png")


def facet_notes(fig: Figure) -> list[str]:
    """What each facet writes of its ratios and saturation: its x label (under the facet) and any text in it."""
    return [ax.get_xlabel() for ax in fig.axes] + [t.get_text() for ax in fig.axes for t in ax.texts]


def test_the_figure_says_when_the_bare_kernel_was_not_measured() -> None:
    th = gpu_table(bare=[math.nan] * 4, bare_message="not measured: the runner refused --bare-kernel")
    fig = figures.draw("concurrency_limit", {"threads": th}, DEVICE)
    text = " ".join(facet_notes(fig)).replace("\n", " ")
    assert "bare kernel not measured: the runner refused --bare-kernel" in text
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if (ln.get_gid() or "").startswith("bare")]


# ---- the runner's JSON and the threads rule's bare runs -------------------------------------------

def test_the_runner_reports_the_bare_kernel_and_the_bytes() -> None:
    result = parse_result(json.dumps(_canned(bare_kernel=True, bytes_in=262144, bytes_out=262144)))
    assert result.bare_kernel and (result.bytes_in, result.bytes_out) == (262144, 262144)
    r = native_runner.thread_row(result, "tensorrt", "swish_plugin", "fp32", "sweep")
    assert r.driver == "bare" and r.bytes_in == 262144 and "bare kernel" in r.message and "262144 B in" in r.message
    old = parse_result(json.dumps(_canned()))  # a runner from before --bare-kernel
    assert not old.bare_kernel and old.bytes_in is None
    assert native_runner.thread_row(old, "tensorrt", "swish_plugin", "fp32", "sweep").driver == "native"
    with pytest.raises(NativeRunnerError, match="'bytes_in' .* is not a byte count"):
        parse_result(json.dumps(_canned(bytes_in=-4)))
    args = native_runner.runner_arguments(Path("r"), Path("e"), [], 2, 32, SHAPE, graph=True, graph_batch=16,
                                          bare_kernel=True)
    assert args[-1] == "--bare-kernel" and "--bare-kernel" not in native_runner.runner_arguments(Path("r"), Path("e"),
                                                                                                  [], 1, 1, (8,))


STAND_IN = """import json, sys
args = sys.argv[1:]
def value(flag): return args[args.index(flag) + 1]
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
bare = "--bare-kernel" in args
if bare and {refuse_bare}:
    print("trt_runner: unknown argument --bare-kernel", file=sys.stderr)
    sys.exit(2)
fail = bare and {fail_bare} and "--graph" in args  # a bare run that reports an error (graphs only)
threads, iterations = int(value("--threads")), int(value("--iterations"))
obj = json.load(open({canned!r}))
rows = [dict(obj["per_thread"][0], thread=t, profile=t) for t in range(threads)]
obj.update(threads=threads, iterations=iterations, graph="--graph" in args, per_thread=rows,
           graph_batch=int(value("--graph-batch")) if "--graph-batch" in args else 1,
           shape=[int(d) for d in value("--shape").split("x")], bare_kernel=bare, bytes_in=262144, bytes_out=262144,
           inferences_per_second=(2.0 if bare else 1.0) * 1e5 * threads)
if fail:
    obj.update(outputs_identical=False, errors=["thread 0 the bare kernel's launch: invalid configuration argument"])
for i, flag in enumerate(args):  # the right outputs dumped where asked (test_native_threads.expected_outputs)
    if flag == "--dump-output":
        name, path = args[i + 1].split("=", 1)
        open(path, "wb").write(open({outputs!r} + "/" + name.rsplit(":", 1)[0] + ".bin", "rb").read())
print(json.dumps(obj))
sys.exit(1 if fail else 0)
"""


def stand_in(tmp_path: Path, refuse_bare: bool, fail_bare: bool = False) -> tuple[Path, Path]:
    (tmp_path / "canned.json").write_text(json.dumps(_canned(n_threads=1, wall_s=0.5)))
    log = tmp_path / "calls.jsonl"
    expected_outputs(SPEC, SHAPE, tmp_path / "outputs")
    script = python_executable(tmp_path / "trt_runner", STAND_IN.format(
        log=str(log), canned=str(tmp_path / "canned.json"), refuse_bare=refuse_bare, fail_bare=fail_bare,
        outputs=str(tmp_path / "outputs")))
    return script, log


SPEC = EngineSpec(operator="swish_plugin", function="swish", implementation="plugin", kernel="vectorized", dtype="fp32",
                  profile="sweep", min=(1, 1024), opt=(64, 1024), max=(256, 1024), beta=1.0)


def settings(batch: int = 16):  # noqa: ANN201
    s = typed()
    return replace(s, threads=replace(s.threads, counts=(1, 2), iterations=20, native_iterations=2000,
                                      native_min_wall_s=0.1, shape=SHAPE, native_graph_batch=batch))


def test_each_native_run_has_its_bare_kernel_beside_it(tmp_path: Path) -> None:
    runner, log = stand_in(tmp_path, refuse_bare=False)
    rows = sweeps.native_thread_sweep(settings(), SPEC, tmp_path / "e.engine", runner, [], profile_count=8, bare=True)
    argv = [json.loads(line) for line in log.read_text().splitlines()]
    # engine, then its bare kernel at the same count, way and enqueues: interleaved, one job
    assert [("--bare-kernel" in a, a[a.index("--threads") + 1], "--graph" in a) for a in argv[:4]] == [
        (False, "1", False), (True, "1", False), (False, "2", False), (True, "2", False)]
    def without_dumps(a: list[str]) -> list[str]:
        return [v for i, v in enumerate(a) if "--dump-output" not in (v, a[i - 1] if i else "")]

    for engine, bare in zip(argv[::2], argv[1::2]):
        # the same command line, the same --input-file values, --bare-kernel added (no engine output to dump)
        assert "--dump-output" in engine and "--dump-output" not in bare and "--input-file" in bare
        assert bare.count("--bare-kernel") == 1 and [v for v in bare if v != "--bare-kernel"] == without_dumps(engine)
    assert [r.driver for r in rows] == ["native", "bare"] * 6
    bare_rows = [r for r in rows if r.driver == "bare"]
    assert all(r.all_verified and r.bytes_in == 262144 and r.throughput_per_s == 2e5 * r.threads for r in bare_rows)
    assert [(r.graph, r.graph_batch) for r in bare_rows] == [(False, 1), (False, 1), (True, 1), (True, 1), (True, 16),
                                                             (True, 16)]
    table = concurrency_table(frame(rows), "tensorrt")
    assert list(table["plugin_over_bare"]) == pytest.approx([0.5] * 6)


def test_a_runner_without_the_bare_kernel_gives_reasons_and_the_rule_goes_on(tmp_path: Path) -> None:
    runner, log = stand_in(tmp_path, refuse_bare=True)
    rows = sweeps.native_thread_sweep(settings(batch=1), SPEC, tmp_path / "e.engine", runner, [], profile_count=8,
                                      bare=True)
    argv = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum("--bare-kernel" in a for a in argv) == 1  # tried once, not again after the refusal
    native = [r for r in rows if r.driver == "native"]
    bare = [r for r in rows if r.driver == "bare"]
    assert len(native) == 4 and all(r.all_verified for r in native)
    assert len(bare) == 4 and all(math.isnan(r.throughput_per_s) for r in bare)
    assert all(r.message.startswith("not measured: trt_runner --bare-kernel could not run") for r in bare)
    assert "exited 2" in bare[0].message and "unknown argument --bare-kernel" in bare[0].message
    table = concurrency_table(frame(rows), "tensorrt")
    assert table["plugin_over_bare"].isna().all() and all(s.startswith("not measured: trt_runner") for s in
                                                          table["bare_status"])


def test_a_bare_run_with_errors_is_not_measured_and_the_engine_rows_stay(tmp_path: Path) -> None:
    runner, log = stand_in(tmp_path, refuse_bare=False, fail_bare=True)
    rows = sweeps.native_thread_sweep(settings(batch=1), SPEC, tmp_path / "e.engine", runner, [], profile_count=8,
                                      bare=True)  # no RuntimeError: the engine's outputs were right
    bare = {r.graph: r for r in rows if r.driver == "bare"}
    assert bare[False].all_verified and bare[False].throughput_per_s > 0  # plain: measured
    assert math.isnan(bare[True].throughput_per_s) and "invalid configuration argument" in bare[True].message
    assert bare[True].message.startswith("not measured: trt_runner --bare-kernel reported outputs_identical=false")
    assert len([r for r in rows if r.driver == "native" and r.all_verified]) == 4
