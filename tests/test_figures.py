"""The figures: every planned figure drawn from a small table set, none a placeholder, the ones left
out named with the reason (in the plan and in summary.md), one dtype/operator style in all of them,
titles that name the backend once, plain size tick labels."""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.lines import Line2D
from PIL import Image
from trt_plugin_bench.commands.dag import compare_keys, plan_sweeps, thread_keys
from trt_plugin_bench.core.config import validate_config
from trt_plugin_bench.core.operators import ITEMSIZE
from trt_plugin_bench.core.records import TABLES
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.report import figures
from trt_plugin_bench.report.summary import write_summary

ROOT = Path(__file__).resolve().parents[1]
DEVICES = {
    "reference": {"backend": "reference", "backend_label": "reference backend (CPU, numpy) - CPU timings, not TensorRT",
                  "timing_clock": "cpu_perf_counter", "device_name": "CPU: test (reference backend, no GPU)",
                  "driver_version": "n/a (CPU)", "cuda_version": "n/a (CPU)",
                  "tensorrt_version": "n/a (reference backend)", "l2_bytes": 0, "cpu": "test CPU", "python": "3.11",
                  "numpy_version": "2.0", "date": "2026-12-02", "copy_ceiling_gbs": 40.0, "skipped": []},
    "tensorrt": {"backend": "tensorrt", "backend_label": "TensorRT 10.1.0 on NVIDIA H200", "timing_clock": "cuda_event",
                 "device_name": "NVIDIA H200", "driver_version": "580.1", "cuda_version": "13.0",
                 "tensorrt_version": "10.1.0", "l2_bytes": 50 * 2**20, "cpu": "x86_64", "python": "3.11",
                 "numpy_version": "2.0", "date": "2026-12-02", "copy_ceiling_gbs": 4000.0, "skipped": []},
}


def small_config(**changes: object) -> dict:
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg.update(changes)
    return validate_config(cfg)


def _row(table: str, rng: np.random.Generator, **values: object) -> dict:
    """A row of ``table`` with every column: random numbers where the test does not care."""
    defaults = {"float": lambda: float(rng.uniform(0.5, 2.0)), "int": lambda: int(rng.integers(1, 50)),
                "bool": lambda: True, "str": lambda: "x"}
    row = {f.name: defaults[str(f.type)]() for f in fields(TABLES[table])}
    row.update(values)
    return row


def make_tables(config: dict, backend: str, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The tables a run of ``config`` on ``backend`` makes, with random timings."""
    rng = np.random.default_rng(seed)
    keys, _ = plan_sweeps(Settings.from_config(config), backend, 10 if backend == "tensorrt" else None)
    modes = config["timing"]["modes"] if backend == "tensorrt" else [m for m in config["timing"]["modes"]
                                                                     if m in ("warm", "cold")]
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    for key in keys:
        op, dtype, profile = key.split("__")
        for shape in config["profiles"][profile]["shapes"]:
            elements = math.prod(shape)
            nbytes = elements * ITEMSIZE[dtype]
            for mode in modes:
                for repeat in range(2):
                    us = float(2 + nbytes / 2e3 * rng.uniform(0.8, 1.2))
                    rows["latency"].append(_row("latency", rng, backend=backend, operator=op, dtype=dtype,
                                                profile=profile, shape="x".join(map(str, shape)), elements=elements,
                                                bytes_moved=2 * nbytes, mode=mode, repeat=repeat, median_us=us,
                                                bandwidth_gbs=2 * nbytes / us / 1e3, timing_clock="cuda_event",
                                                stop_reason="target_rse", throttled=False))
            rows["dynamic"].append(_row("dynamic", rng, backend=backend, operator=op, dtype=dtype, profile=profile,
                                        shape="x".join(map(str, shape)), elements=elements, status="ok",
                                        median_us=float(rng.uniform(5, 50))))
        rows["dynamic"].append(_row("dynamic", rng, backend=backend, operator=op, dtype=dtype, profile=profile,
                                    shape="9999x1", elements=9999, status="rejected", median_us=float("nan")))
    for key in thread_keys(Settings.from_config(config), keys) if config["threads"]["counts"] else []:
        op, dtype, profile = key.split("__")
        for n in config["threads"]["counts"]:
            rows["threads"].append(_row("threads", rng, backend=backend, operator=op, dtype=dtype, profile=profile,
                                        shape="16x256", threads=n, failures=0, driver="python", graph=False,
                                        throughput_per_s=float(n * rng.uniform(900, 1100))))
            for graph in (False, True) if backend == "tensorrt" else ():  # the native runner's rows
                rows["threads"].append(_row("threads", rng, backend=backend, operator=op, dtype=dtype,
                                            profile=profile, shape="16x256", threads=n, failures=0, driver="native",
                                            graph=graph, throughput_per_s=float(min(n, 4) * rng.uniform(9e4, 1.1e5)),
                                            gpu_busy_fraction=float(min(1.0, 0.3 * n)), graph_batch=1))
                # trt_runner --bare-kernel beside it: the bare kernel of the engine's bytes (driver "bare")
                rows["threads"].append(_row("threads", rng, backend=backend, operator=op, dtype=dtype,
                                            profile=profile, shape="16x256", threads=n, failures=0, driver="bare",
                                            graph=graph, throughput_per_s=float(min(n, 4) * rng.uniform(1e5, 1.2e5)),
                                            graph_batch=1, bytes_in=16 * 256 * ITEMSIZE[dtype],
                                            bytes_out=16 * 256 * ITEMSIZE[dtype]))
    for key in compare_keys(Settings.from_config(config), keys):
        a, _, b, dtype, profile = key.split("__")
        for shape in config["profiles"][profile]["shapes"]:
            elements = math.prod(shape)
            ratio = float(rng.uniform(0.9, 1.1))
            rows["compare"].append(_row("compare", rng, backend=backend, operator_a=a, operator_b=b, dtype=dtype,
                                        profile=profile, shape="x".join(map(str, shape)), elements=elements,
                                        tensor_bytes=elements * ITEMSIZE[dtype], mode="cold", ratio=ratio,
                                        ratio_se=0.01, difference_us=ratio - 1,
                                        control_ratio=float(rng.uniform(0.99, 1.01))))
    for mib in (1, 4, 16):
        rows["calibration"].append(_row("calibration", rng, backend=backend, measurement="copy", bytes=2 * mib * 2**20,
                                        bandwidth_gbs=float(rng.uniform(20, 40)), start="blocked"))
    rows["calibration"].append(_row("calibration", rng, backend=backend, measurement="empty_launch", bytes=0,
                                    bandwidth_gbs=0.0, start="idle"))
    if backend == "tensorrt":
        for kernel in ("naive", "vectorized", "vectorized_oneshot"):
            for dtype in config["dtypes"]:
                for elements in (2**18, 2**20, 2**24):
                    rows["kernel"].append(_row("kernel", rng, backend="cuda_direct", kernel=kernel, dtype=dtype,
                                               elements=elements, bytes_moved=2 * elements * ITEMSIZE[dtype],
                                               mode="cold", bandwidth_gbs=float(rng.uniform(500, 3000))))
        tables = {name: pd.DataFrame(r, columns=[f.name for f in fields(TABLES[name])]) for name, r in rows.items()}
        tables["tune"] = make_tune(rng, config["dtypes"])
        return tables
    return {name: pd.DataFrame(r, columns=[f.name for f in fields(TABLES[name])]) for name, r in rows.items()}


TUNE_KERNELS = ("vectorized_oneshot", "vectorized_oneshot_x1", "vectorized_oneshot_x1_b128")


def make_tune(rng: np.random.Generator, dtypes: list[str], operator: str = "swish_plugin") -> pd.DataFrame:
    """A tune table of one operator: three bands, two sizes each, both paths; the fastest direct
    variant chosen."""
    edges = [(0, 4 * 2**20), (4 * 2**20, 64 * 2**20), (64 * 2**20, -1)]
    rows = []
    for dtype in dtypes:
        for band, (lo, hi) in enumerate(edges):
            sizes = (2 * lo or 2**20, 2 * lo + 2**20 if hi < 0 else hi) if lo else (2**20, hi)
            times = {(k, s): float(s / 2e6 * rng.uniform(0.9, 1.3)) for k in TUNE_KERNELS for s in sizes}
            best = min(TUNE_KERNELS, key=lambda k: sum(times[k, s] for s in sizes))
            for path in ("direct", "engine"):
                for kernel in TUNE_KERNELS:
                    for size in sizes:
                        engine = path == "engine"
                        rows.append({"operator": operator, "backend": "tensorrt", "device_name": "NVIDIA H200",
                                     "dtype": dtype, "band": band, "shape": str(size // ITEMSIZE[dtype]),
                                     "band_lo_bytes": lo, "band_hi_bytes": hi, "tensor_bytes": size,
                                     "elements": size // ITEMSIZE[dtype], "kernel": kernel, "path": path,
                                     "mode": "cold", "n": 20, "median_us": times[kernel, size], "rse": 0.002,
                                     "gbps": 2 * size / times[kernel, size] / 1e3,
                                     "ratio_to_native": float(rng.uniform(0.95, 1.05)) if engine else float("nan"),
                                     "control_ratio": float(rng.uniform(0.999, 1.001)) if engine else float("nan"),
                                     "chosen": kernel == best})
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


CASES = {
    "reference": (small_config(), "reference"),
    "tensorrt": (small_config(backend="tensorrt", kernel_bench={"enabled": True}, dtypes=["fp32", "fp16", "bf16"],
                              timing={**small_config()["timing"], "modes": ["warm", "cold", "stream", "graph"]}),
                 "tensorrt"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_planned_figure_is_drawn_and_none_is_a_placeholder(case: str, tmp_path: Path) -> None:
    config, backend = CASES[case]
    tables = make_tables(config, backend)
    device = DEVICES[backend]
    planned, skipped = figures.figure_plan(backend, Settings.from_config(config), 10 if backend == "tensorrt" else None)
    # the DAG's plan (from the config) and the drawing step's (from the tables) agree
    assert (planned, skipped) == figures.plan_from_tables(backend, tables)
    # in_network is off in the small config (tests/test_in_network.py draws its figure)
    expected_skips = {"reference": {"kernels", "tune", "stream_scaling", "concurrency_limit", "in_network"},
                      "tensorrt": {"in_network"}}[case]
    assert set(skipped) == expected_skips and set(planned) | set(skipped) == set(figures.FIGURES)
    written = figures.draw_all(tables, device, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{n}.png" for n in planned)
    assert [p.stem for p in written] == planned
    for name in planned:
        fig = figures.draw(name, tables, device)
        lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()]
        assert lines and all(len(ln.get_xdata()) > 0 for ln in lines), f"{name}: no data drawn"
        text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts).lower()
        assert "no data" not in text, name
        meta = Image.open(tmp_path / f"{name}.png").text
        assert meta["Title"] and device["backend_label"] in meta["Description"]


def test_skip_reasons_are_given_for_what_the_run_does_not_have() -> None:
    _, skipped = figures.figure_plan("reference", Settings.from_config(small_config()))
    assert "only on a GPU" in skipped["kernels"] and "only on a GPU" in skipped["tune"]
    config = small_config(compare={"enabled": False})
    _, skipped = figures.figure_plan("reference", Settings.from_config(config))
    assert "compare" in skipped and "compare.enabled" in skipped["compare"]
    tables = make_tables(config, "reference")
    assert tables["compare"].empty
    assert figures.plan_from_tables("reference", tables)[1] == skipped
    # no native twin: no plugin ÷ native figure, in either plan
    config = small_config(operators=["relu", "swish_plugin"], compare={"enabled": False, "pairs": [["swish_plugin", "relu"]]})
    assert "plugin_vs_native" in figures.figure_plan("reference", Settings.from_config(config))[1]
    assert "plugin_vs_native" in figures.plan_from_tables("reference", make_tables(config, "reference"))[1]
    # an explicit kernel on a GPU skips the tune rule, and its figure
    config = {**CASES["tensorrt"][0], "plugin_kernel": "vectorized_oneshot"}
    assert "tune rule does not run" in figures.figure_plan("tensorrt", Settings.from_config(config), 10)[1]["tune"]


def test_summary_names_the_figures_left_out_and_why(tmp_path: Path) -> None:
    tables = make_tables(small_config(compare={"enabled": False}), "reference")
    for name, table in tables.items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    write_summary(tmp_path, DEVICES["reference"], tmp_path / "summary.md")
    summary = (tmp_path / "summary.md").read_text()
    left_out = summary.split("## Left out", 1)[1].split("\n## ", 1)[0]
    _, skipped = figures.plan_from_tables("reference", tables)
    assert set(skipped) == {"compare", "kernels", "tune", "stream_scaling", "concurrency_limit", "in_network"}
    for name, why in skipped.items():
        assert f"- {name}: {why}" in left_out


def _styled_lines(fig: plt.Figure) -> list[tuple[dict[str, str], Line2D]]:
    out = []
    for ax in fig.axes:
        for ln in ax.get_lines():
            gid = ln.get_gid() or ""
            if "dtype=" in gid:
                out.append((dict(part.split("=", 1) for part in gid.split(";") if "=" in part), ln))
    return out


def test_one_marker_and_colour_scheme_in_every_figure() -> None:
    config, backend = CASES["tensorrt"]
    tables, device = make_tables(config, backend), DEVICES[backend]
    kernel_colour: dict[str, str] = {}
    seen_dtypes: set[str] = set()
    for name in figures.plan_from_tables(backend, tables)[0]:
        fig = figures.draw(name, tables, device)
        for tags, ln in _styled_lines(fig):
            dtype = tags["dtype"]
            seen_dtypes.add(dtype)
            assert ln.get_marker() == figures.DTYPE_MARKERS[dtype], (name, tags)
            colour = ln.get_color()
            # one colour meaning per figure set: the operator (a timing mode is a line style)
            assert "operator" in tags or "kernel" in tags, (name, tags)
            if "operator" in tags:
                assert colour == figures.OPERATOR_COLORS[tags["operator"]], (name, tags)
                if "mode" in tags:
                    assert ln.get_linestyle() == figures.MODE_STYLES[tags["mode"]], (name, tags)
            elif "kernel" in tags:  # the same kernel, the same colour in kernels and tune
                assert kernel_colour.setdefault(tags["kernel"], colour) == colour, (name, tags)
    assert seen_dtypes == {"fp32", "fp16", "bf16"}
    assert set(kernel_colour) >= set(TUNE_KERNELS)


@pytest.mark.parametrize("backend", ["reference", "tensorrt"])
def test_titles_name_the_backend_once_and_only_what_is_plotted(backend: str) -> None:
    config = CASES[backend][0]
    tables, device = make_tables(config, backend), DEVICES[backend]
    for name in figures.plan_from_tables(backend, tables)[0]:
        title = figures.draw(name, tables, device).get_suptitle().replace("\n", " ")
        assert title.count(device["backend_label"]) == 1, (name, title)
        assert title.count("CPU timings") == (1 if backend == "reference" else 0), (name, title)
        if backend == "reference":
            assert "device-to-device" not in title and "CUDA" not in title, (name, title)
    modes_title = figures.draw("modes", tables, device).get_suptitle()
    for mode in ("warm", "cold", "stream", "graph"):
        assert (mode in modes_title) == (mode in set(tables["latency"]["mode"])), (mode, modes_title)


def test_size_axes_have_plain_byte_labels_on_log2() -> None:
    config, backend = CASES["tensorrt"]
    tables, device = make_tables(config, backend), DEVICES[backend]
    for name in ("latency", "bandwidth", "compare", "modes", "dynamic_shapes", "kernels", "tune"):
        fig = figures.draw(name, tables, device)
        fig.canvas.draw()
        for ax in fig.axes:
            labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
            assert labels and all(re.fullmatch(r"\d+ (B|KiB|MiB|GiB|TiB)", s) for s in labels), (name, labels)
            assert ax.xaxis.get_scale() == "log" and ax.xaxis._scale.base == 2, name
            ylabels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            assert not any("$" in s or "10^" in s or "×" in s for s in ylabels), (name, ylabels)
    assert [figures._bytes_label(k) for k in (0, 9, 10, 25, 30)] == ["1 B", "512 B", "1 KiB", "32 MiB", "1 GiB"]


def test_tune_figure_shows_the_choice_per_band() -> None:
    rng = np.random.default_rng(3)
    tune = make_tune(rng, ["fp32", "fp16"])
    fig = figures.draw("tune", {"tune": tune}, DEVICES["tensorrt"])
    assert len(fig.axes) >= 4  # dtype x path facets
    chosen = [ln for tags, ln in _styled_lines(fig) if "chosen" in (ln.get_gid() or "")]
    plain = [ln for tags, ln in _styled_lines(fig) if "chosen" not in (ln.get_gid() or "")]
    assert chosen and min(ln.get_linewidth() for ln in chosen) > max(ln.get_linewidth() for ln in plain)
    # one bold segment per (dtype, path, band), on the sizes of the chosen kernel only
    assert len(chosen) == tune[tune["chosen"]].groupby(["dtype", "path", "band"]).ngroups
    # the direct path is drawn relative to the best variant at each size: the best is at 1, none below
    direct = [ln for ax in fig.axes if "direct" in ax.get_title() for ln in ax.get_lines()
              if "kernel=" in (ln.get_gid() or "")]
    ys = np.concatenate([np.asarray(ln.get_ydata(), dtype=float) for ln in direct])
    assert ys.min() == pytest.approx(1.0) and (ys >= 1.0 - 1e-12).all()
    # the engine path shows the ratio to native as measured
    engine = [ln for ax in fig.axes if "engine" in ax.get_title() for ln in ax.get_lines()
              if (ln.get_gid() or "").endswith("kernel=vectorized_oneshot")]
    want = tune[(tune["path"] == "engine") & (tune["kernel"] == "vectorized_oneshot")]
    got = sorted(float(v) for ln in engine for v in ln.get_ydata())
    assert got == pytest.approx(sorted(want["ratio_to_native"]))
    # band edges as vertical lines: the two inner edges in every facet
    for ax in fig.axes:
        if ax.get_title():
            vlines = [ln for ln in ax.get_lines() if not ln.get_gid() and len(set(ln.get_xdata())) == 1]
            assert sorted(ln.get_xdata()[0] for ln in vlines) == [4 * 2**20, 64 * 2**20]


def test_tune_figure_has_a_row_per_operator_and_the_worst_row_shape_per_size() -> None:
    """Two tuned operators: their facets side by side (rows per operator and path), titled with the
    operator; an operator timed at two row shapes (a row norm's hidden sizes) shows per size the
    worst ratio of the two, what the choice is made on."""
    rng = np.random.default_rng(11)
    swish = make_tune(rng, ["fp32"])
    norm = make_tune(rng, ["fp32"], operator="layer_norm_plugin")
    norm = norm[norm["path"] == "engine"]  # no direct library: the engine path alone
    wide = norm.assign(shape="wide", ratio_to_native=norm["ratio_to_native"] + 0.5)
    fig = figures.draw("tune", {"tune": pd.concat([swish, norm, wide], ignore_index=True)}, DEVICES["tensorrt"])
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title())
    assert titles == sorted(["swish_plugin · fp32 · direct path", "swish_plugin · fp32 · engine path",
                             "layer_norm_plugin · fp32 · engine path"]), titles
    ax = next(a for a in fig.axes if a.get_title() == "layer_norm_plugin · fp32 · engine path")
    line = next(ln for ln in ax.get_lines() if (ln.get_gid() or "").endswith("kernel=vectorized_oneshot"))
    want = wide[wide["kernel"] == "vectorized_oneshot"].sort_values("tensor_bytes")["ratio_to_native"]
    assert list(line.get_ydata()) == pytest.approx(list(want))


def test_figure_plan_matches_the_dag(tmp_path: Path) -> None:
    """The plan's names are what the Snakefile expands (rule all, figures, log_mlflow)."""
    plan, skipped = figures.figure_plan("reference", Settings.from_config(small_config()))
    assert json.loads(json.dumps(plan)) == [f for f in figures.FIGURES if f not in skipped]


def test_a_dtype_without_engine_rows_gets_no_empty_facet() -> None:
    """bf16 on TensorRT 8.6: the tune rule decides on the direct path alone. Its engine facet is not
    drawn as an empty frame (a placeholder); the caption says why it is missing."""
    tune = make_tune(np.random.default_rng(5), ["fp32", "bf16"])
    tune = tune[~((tune["dtype"] == "bf16") & (tune["path"] == "engine"))]
    fig = figures.draw("tune", {"tune": tune}, DEVICES["tensorrt"])
    facets = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    titles = sorted(ax.get_title() for ax in facets)
    assert titles == sorted(["fp32 · direct path", "bf16 · direct path", "fp32 · engine path"]), titles
    assert all(ax.get_lines() for ax in facets)
    assert "bf16: decided on the direct path" in fig._supxlabel.get_text()


def test_a_profile_of_one_size_is_left_out_and_said() -> None:
    """The CPU backend's llm profile keeps one shape below reference.max_elements: a row of single
    points answers nothing, so the line figures leave it out and their title says so."""
    config = small_config(profiles={**small_config()["profiles"],
                                    "llm": {"min": [1, 1, 256], "opt": [1, 1, 256], "max": [1, 1, 256],
                                            "shapes": [[1, 1, 256]]}})
    tables, device = make_tables(config, "reference"), DEVICES["reference"]
    assert set(tables["latency"]["profile"]) == {"tiny", "llm"}
    for name in ("latency", "bandwidth", "modes", "plugin_vs_native", "dynamic_shapes"):
        fig = figures.draw(name, tables, device)
        titles = {ax.get_title() for ax in fig.axes if ax.get_visible()}
        assert titles and not any("llm" in t for t in titles), (name, titles)
        assert "profile llm left out: one size only" in " ".join(fig.get_suptitle().split()), name
        plt.close(fig)


def test_compare_axis_spans_the_ratios_and_clips_a_wide_error_bar_saying_so() -> None:
    tables, device = make_tables(CASES["reference"][0], "reference"), DEVICES["reference"]
    tables["compare"].loc[tables["compare"].index[0], "ratio_se"] = 2.0  # one wild interval
    fig = figures.draw("compare", tables, device)
    lo, hi = fig.axes[0].get_ylim()
    c = tables["compare"]
    assert lo > 0.5 and lo <= min(c["ratio"].min(), c["control_ratio"].min()), (lo, hi)
    assert hi >= max(c["ratio"].max(), c["control_ratio"].max()) and hi < 1.5, (lo, hi)
    assert "error bar ends clipped at the axis" in " ".join(fig.get_suptitle().split())


def test_bandwidth_on_a_log_axis_where_it_spans_decades() -> None:
    tables, device = make_tables(CASES["reference"][0], "reference"), DEVICES["reference"]
    lat = tables["latency"]
    lat.loc[lat["elements"] == lat["elements"].min(), "bandwidth_gbs"] *= 1e-3  # launch-bound small tensors
    fig = figures.draw("bandwidth", tables, device)
    assert all(ax.get_yscale() == "log" for ax in fig.axes if ax.get_visible() and ax.get_lines())
