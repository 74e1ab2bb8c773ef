"""Figures of the aggregated tables, one question per figure, one file each.

One style for every figure: a dtype always has the same marker (and the same colour where the
dtype is the hue), an operator, a timing mode and a kernel always the same colour
(DTYPE_MARKERS, DTYPE_COLORS, OPERATOR_COLORS, MODE_COLORS, kernel_colors). Facets split the
states (rows: profile, columns: dtype) so that no panel holds more lines than there are
operators, modes or kernels. Sizes are tensor bytes on a log2 axis labelled 1 KiB, 1 MiB, ...

Each title is the figure's question, then one line naming the backend (CPU reference timings are
labelled as such), the device, the versions and the date, so a PNG read alone still says what it
shows. A figure whose data this run does not have is not drawn: figure_plan (the DAG, from the
config) and plan_from_tables (the drawing step and the summary, from the tables) give the reason.
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

from ..commands.dag import compare_keys, in_network_keys, plan_sweeps, thread_keys, tune_planned  # noqa: E402
from ..core.operators import ITEMSIZE, OPERATORS  # noqa: E402
from ..core.settings import Settings  # noqa: E402
from ..measure.native_runner import SATURATION_GAIN, native_way, native_way_label, saturation_point  # noqa: E402
from .analysis import (  # noqa: E402
    RATIO_TARGET_MIN_BYTES,
    SMALL_TENSOR_ALLOWANCE_US,
    by_state,
    compare_targets,
    is_copy,
    ratio_pair,
    ratio_table,
)
from .concurrency import BARE_TARGET, TWIN_TARGET, concurrency_table, twins_drawn_with_their_plugin  # noqa: E402

FIGURES = ("latency", "bandwidth", "plugin_vs_native", "compare", "modes", "dynamic_shapes", "thread_scaling",
           "stream_scaling", "concurrency_limit", "calibration", "kernels", "tune", "in_network")

# The one scheme of every figure.
DTYPE_MARKERS = {"fp32": "o", "fp16": "s", "bf16": "^"}
DTYPE_COLORS = {"fp32": "#1b9e77", "fp16": "#d95f02", "bf16": "#7570b3"}
# an operator's colour is its spec's (key color); one without gets OTHER_COLOR
OPERATOR_COLORS = {name: spec.color for name, spec in OPERATORS.items() if spec.color}
MODE_COLORS = {"warm": "#e6550d", "cold": "#3182bd", "stream": "#31a354", "graph": "#756bb1"}
# colour means the operator in every figure of a run; a timing mode is a line style
MODE_STYLES = {"warm": "-", "cold": "--", "stream": "-.", "graph": ":"}
MODE_MEANING = {"warm": "warm cache", "cold": "cache flushed", "stream": "from an idle stream, launch included",
                "graph": "CUDA-graph replay from idle"}
OTHER_COLOR = "#444444"  # a name the scheme does not know yet (a new operator)
CONTROL_COLOR = "#888888"  # the A/A control and reference lines
# the latency and roofline figures show one mode: GPU time of an uncached tensor when measured
HEADLINE_MODES = ("cold", "warm", "stream", "graph")

Tables = dict[str, pd.DataFrame]


# ---- what is drawn, and why not ---------------------------------------------------------------

# the data each figure needs (a key of the "has" maps below)
_NEEDS = {"latency": "latency", "bandwidth": "latency", "modes": "latency", "plugin_vs_native": "ratio",
          "compare": "compare", "dynamic_shapes": "dynamic", "thread_scaling": "threads",
          "stream_scaling": "native_threads", "concurrency_limit": "concurrency",
          "calibration": "calibration", "kernels": "kernel", "tune": "tune", "in_network": "in_network"}


def _reason(figure: str, backend: str) -> str:
    """Why ``figure`` is left out: one wording for the DAG, the drawing step and the summary."""
    gpu_only = backend != "tensorrt"
    return {
        "latency": "no latency sweep was built",
        "bandwidth": "no latency sweep was built",
        "modes": "no latency sweep was built",
        "plugin_vs_native": ("no plugin operator and its TensorRT-native twin (its spec's native_operator) are both "
                             "built for one dtype and profile"),
        "compare": "compare is off (compare.enabled) or none of compare.pairs is built on this backend",
        "dynamic_shapes": "no dynamic-shape sweep ran",
        "thread_scaling": "no thread sweep (threads.counts is empty or threads.profile is not built)",
        "stream_scaling": ("the native runner (trt_runner) needs the tensorrt backend; the thread sweep's rows here "
                           "are the Python loop's (thread_scaling)" if gpu_only
                           else "no thread sweep (threads.counts is empty or threads.profile is not built)"),
        "concurrency_limit": ("the bare kernel of the same bytes runs in trt_runner --bare-kernel on a GPU (tensorrt "
                              "backend); the CPU reference backend runs no GPU kernel (tables/concurrency.csv: the bare "
                              "kernel's cells empty, with the reason)" if gpu_only
                              else "no thread sweep (threads.counts is empty or threads.profile is not built)"),
        "calibration": "no calibration rows",
        "kernels": ("the direct kernel path (no TensorRT) runs only on a GPU, with the tensorrt backend" if gpu_only
                    else "kernel_bench.enabled is false"),
        "tune": ("the kernel tuning per size band runs only on a GPU, with the tensorrt backend" if gpu_only
                 else "no swept operator with kernel variants runs plugin_kernel auto, so the tune rule does not run"),
        "in_network": ("in_network is off (in_network.enabled), or none of its blocks runs on this backend (on the CPU: "
                       "a block needs its numpy stand-in, in_network.blocks.<name>.cpu, and sizes within "
                       "reference.max_elements)"),
    }[figure]


def _plan(backend: str, has: dict[str, bool]) -> tuple[list[str], dict[str, str]]:
    names = [f for f in FIGURES if has.get(_NEEDS[f], False)]
    return names, {f: _reason(f, backend) for f in FIGURES if f not in names}


def figure_plan(backend: str, settings: Settings, trt_major: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The figures this run draws and, for each left out, why: from the config, at DAG time.
    ``trt_major`` (TensorRT's major version) decides which sweeps the tensorrt backend builds."""
    keys, _ = plan_sweeps(settings, backend, trt_major)
    states = {tuple(k.split("__")) for k in keys}  # (operator, dtype, profile)
    ratio = any(ratio_pair(op for op, d2, p2 in states if (d2, p2) == (d, p)) is not None for _, d, p in states)
    gpu = backend == "tensorrt"
    has = {
        "latency": bool(keys), "dynamic": bool(keys), "ratio": ratio, "calibration": True,
        "compare": bool(compare_keys(settings, keys)),
        "threads": bool(thread_keys(settings, keys)),  # threads.counts has at least one count (schema)
        "native_threads": gpu and bool(thread_keys(settings, keys)),
        "concurrency": gpu and bool(thread_keys(settings, keys)),  # every engine beside its bare kernel
        "kernel": gpu and settings.kernel_bench.enabled,
        "tune": gpu and tune_planned(settings, keys),  # on the CPU the tune rule writes an empty table
        "in_network": bool(in_network_keys(settings, backend, trt_major)[0]),
    }
    return _plan(backend, has)


def plan_from_tables(backend: str, tables: Tables) -> tuple[list[str], dict[str, str]]:
    """figure_plan from the tables a run produced: what the drawing step and the summary use (the
    summary is written before the figures, and neither has the config)."""
    def rows(name: str) -> pd.DataFrame:
        t = tables.get(name)
        return t if t is not None else pd.DataFrame()

    lat, dyn, cal = rows("latency"), rows("dynamic"), rows("calibration")
    has = {
        "latency": not lat.empty, "ratio": not ratio_table(lat).empty, "compare": not rows("compare").empty,
        "dynamic": not dyn.empty and bool((dyn["status"] == "ok").any()),
        "threads": not thread_rows(rows("threads"), "python").empty,
        "native_threads": not thread_rows(rows("threads"), "native").empty,
        "concurrency": backend == "tensorrt" and not concurrency_table(rows("threads"), backend).empty,
        "calibration": not cal.empty and bool(is_copy(cal).any()), "kernel": not rows("kernel").empty,
        "tune": not rows("tune").empty, "in_network": not rows("in_network").empty,
    }
    return _plan(backend, has)


def thread_rows(th: pd.DataFrame, driver: str) -> pd.DataFrame:
    """The thread table's rows of one driver: "python" (Python serving) or "native" (trt_runner).
    A table from before the native runner has no driver column: all its rows are the Python loop's."""
    if th.empty or "driver" not in th:
        return th if driver == "python" else th.iloc[0:0]
    return th[th["driver"] == driver]


# ---- style helpers ---------------------------------------------------------------------------

def kernel_colors(names: list[str]) -> dict[str, str]:
    """One colour per kernel name, the same in the kernels and the tune figure (sorted names)."""
    palette = sns.color_palette("tab10" if len(set(names)) <= 10 else "tab20").as_hex()
    return {k: palette[i % len(palette)] for i, k in enumerate(sorted(set(names)))}


def subtitle(device: dict) -> str:
    """The provenance line: backend (its label says CPU timings where they are), device, versions."""
    if device["backend"] == "reference":
        where = f"{device.get('cpu', '')}, numpy {device.get('numpy_version', '')}, Python {device.get('python', '')}"
    else:
        where = f"driver {device['driver_version']}, CUDA {device['cuda_version']}"
    return f"{device['backend_label']} | {where} | {device.get('date', '')}"


def _title(fig: Figure, device: dict, question: str) -> None:
    width = int(fig.get_figwidth() * 15)  # characters of a 10 pt line across the figure
    fig.suptitle("\n".join([textwrap.fill(question, width), textwrap.fill(subtitle(device), width)]), fontsize=10)


def _facets(rows: list, cols: list, *, sharey: bool | str = "row", width: float = 3.3,
            height: float = 2.4) -> tuple[Figure, list[list[Axes]]]:
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(width * len(cols) + 1.9, height * len(rows) + 0.9),
                             squeeze=False, sharey=sharey, layout="constrained")
    return fig, axes


def _facet_title(ax: Axes, *parts: object) -> None:
    ax.set_title(" · ".join(str(p) for p in parts if p not in (None, "")), fontsize=9)


def _line(ax: Axes, d: pd.DataFrame, x: str, y: str, *, dtype: str, color: str, gid: str,
          linewidth: float = 1.5, markersize: float = 4.5, **kw: object) -> None:
    d = d.sort_values(x)
    (line,) = ax.plot(d[x], d[y], color=color, marker=DTYPE_MARKERS.get(dtype, "o"), markersize=markersize,
                      linewidth=linewidth, **kw)
    line.set_gid(f"dtype={dtype};{gid}")  # what the tests read back: the scheme was used


def _bytes_label(k: int) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    return f"{2 ** (k % 10)} {units[k // 10]}"


def _log2_axis(ax: Axes, values: pd.Series, label: Callable[[int], str] = _bytes_label) -> None:
    """Log2 x axis, ticks on powers of two (at most about six), labelled in plain words."""
    v = pd.Series(values, dtype=float)
    v = v[v > 0]
    ax.set_xscale("log", base=2)
    if v.empty:
        return
    lo, hi = math.floor(math.log2(v.min())), math.ceil(math.log2(v.max()))
    step = next(s for s in (1, 2, 5, 10, 20, 40) if (hi - lo) / s <= 6)
    ticks = [k for k in range(lo, hi + 1) if k % step == 0] or [lo]
    ax.xaxis.set_major_locator(FixedLocator([2.0 ** k for k in ticks]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda val, _: label(round(math.log2(val)))))
    ax.xaxis.set_minor_locator(NullLocator())
    pad = 2 ** 0.3
    ax.set_xlim(v.min() / pad, v.max() * pad)


def _zero_based(axes: list[list[Axes]]) -> None:
    """y from 0, once every facet is drawn (shared axes take the limits of all their data)."""
    for ax in (a for row in axes for a in row):
        ax.relim()
        ax.autoscale_view()
    for ax in (a for row in axes for a in row):
        ax.set_ylim(bottom=0)


def _plain(v: float, _: object = None) -> str:
    return f"{v:,.0f}" if v >= 1000 else f"{v:g}"


def _log_y(ax: Axes) -> None:
    """Log y axis labelled 1, 2, 5, 10, ... (never 3×10⁰)."""
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    decades = math.log10(hi / lo) if lo > 0 else 9
    subs = (1.0,) if decades > 3 else (1.0, 2.0, 5.0) if decades > 0.8 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _legend(fig: Figure, title: str, colors: dict[str, str], dtypes: list[str], extra: list[Line2D] = ()) -> None:
    """Colours, then the dtype markers (one entry each where the dtype is the colour)."""
    hue_is_dtype = title == "dtype"
    handles = [Line2D([], [], linestyle="none", label=title)]
    handles += [Line2D([], [], color=c, linewidth=2, label=k, marker=DTYPE_MARKERS.get(k) if hue_is_dtype else None)
                for k, c in colors.items()]
    if dtypes and not hue_is_dtype:
        handles += [Line2D([], [], linestyle="none", label="dtype")]
        handles += [Line2D([], [], color="black", linestyle="none", marker=DTYPE_MARKERS.get(d, "o"), label=d)
                    for d in dtypes]
    handles += list(extra)
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False, handlelength=1.6)


def _color(scheme: dict[str, str], name: str) -> str:
    return scheme.get(name, OTHER_COLOR)


def _ordered(values: pd.Series, order: tuple | list | dict = ()) -> list:
    present = list(dict.fromkeys(values))
    known = [v for v in order if v in present]
    return known + sorted(v for v in present if v not in known)


def _headline_mode(lat: pd.DataFrame) -> str:
    return next(m for m in (*HEADLINE_MODES, *lat["mode"].unique()) if m in set(lat["mode"]))


def _states(lat: pd.DataFrame) -> pd.DataFrame:
    return by_state(lat).assign(tensor_bytes=lambda d: d["elements"] * d["dtype"].map(ITEMSIZE))


# ---- the figures: each takes the tables and the device record and returns the figure ----------

def line_profiles(s: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The profiles a size axis can show a trend for (at least two sizes), and those left out (one
    size each on this backend, e.g. the CPU backend's llm profile): no row of single points. With
    none of at least two sizes, all are kept."""
    profiles = _ordered(s["profile"])
    kept = [p for p in profiles if s[s["profile"] == p].groupby("dtype")["tensor_bytes"].nunique().max() >= 2]
    return (kept, [p for p in profiles if p not in kept]) if kept else (profiles, [])


def _one_size_note(dropped: list[str]) -> str:
    return f" (profile {', '.join(dropped)} left out: one size only on this backend)" if dropped else ""


def _facet_lines(s: pd.DataFrame, y: str, ylabel: str, *, log_y: bool | None, hue: str = "operator",
                 palette: dict[str, str] = OPERATOR_COLORS, legend: str = "operator",
                 style: str | None = None) -> tuple[Figure, list[list[Axes]], list[str]]:
    """Rows profile, columns dtype, one line per ``hue`` value (and per ``style`` value, a line
    style: the timing mode) against tensor bytes: the layout of latency, bandwidth, modes and
    dynamic_shapes. Colour is the operator. Profiles of one size are left out (returned), panels
    without data hidden; ``log_y`` None: a log axis where the values span more than a decade."""
    profiles, dropped = line_profiles(s)
    s = s[s["profile"].isin(profiles)]
    dtypes = _ordered(s["dtype"], DTYPE_MARKERS)
    if log_y is None:
        v = s[y][s[y] > 0]
        log_y = not v.empty and v.max() / v.min() > 10
    styles = _ordered(s[style], MODE_STYLES) if style else [None]
    fig, axes = _facets(profiles, dtypes)
    for i, profile in enumerate(profiles):
        for j, dtype in enumerate(dtypes):
            ax, sub = axes[i][j], s[(s["profile"] == profile) & (s["dtype"] == dtype)]
            if sub.empty:  # no panel without data
                ax.set_visible(False)
                continue
            for value in _ordered(sub[hue], palette):
                for st in styles:
                    d = sub[(sub[hue] == value) & (sub[style] == st)] if style else sub[sub[hue] == value]
                    if d.empty:
                        continue
                    _line(ax, d, "tensor_bytes", y, dtype=dtype, color=_color(palette, value),
                          gid=f"{hue}={value}" + (f";{style}={st}" if style else ""),
                          linestyle=MODE_STYLES.get(st, "-") if style else "-")
            _facet_title(ax, dtype, f"profile {profile}")
            _log2_axis(ax, s.loc[s["profile"] == profile, "tensor_bytes"])
            if log_y:
                _log_y(ax)
        axes[i][0].set_ylabel(ylabel)
    fig.supxlabel("tensor size (one input tensor)", fontsize=9)
    extra = ([Line2D([], [], linestyle="none", label="timing mode")]
             + [Line2D([], [], color="black", linestyle=MODE_STYLES.get(m, "-"), label=m) for m in styles]) if style else []
    _legend(fig, legend, {v: _color(palette, v) for v in _ordered(s[hue], palette)}, dtypes, extra)
    return fig, axes, dropped


def latency(tables: Tables, device: dict) -> Figure:
    lat = tables["latency"]
    mode = _headline_mode(lat)
    s = _states(lat[lat["mode"] == mode])
    fig, _, dropped = _facet_lines(s, "median_us", "median latency (µs)", log_y=True)
    _title(fig, device, f"How does latency grow with tensor size? Median over repeats, {mode} mode "
                        f"({MODE_MEANING.get(mode, mode)}){_one_size_note(dropped)}")
    return fig


def bandwidth(tables: Tables, device: dict) -> Figure:
    lat = tables["latency"]
    mode = _headline_mode(lat)
    s = _states(lat[lat["mode"] == mode])
    # log where the sizes take bandwidth across decades (launch-bound small tensors, the CPU): a
    # linear axis from 0 leaves them flat at 0
    fig, axes, dropped = _facet_lines(s, "bandwidth_gbs", "achieved GB/s (read + write)", log_y=None)
    log_y = axes[0][0].get_yscale() == "log"
    ceiling, l2 = device.get("copy_ceiling_gbs"), int(device.get("l2_bytes") or 0)
    for ax in (a for row in axes for a in row if a.get_visible()):
        if ceiling:
            ax.axhline(ceiling, color="black", linestyle="--", linewidth=1)
        if l2:
            ax.axvline(l2, color=CONTROL_COLOR, linestyle=":", linewidth=1)
        if log_y:
            _log_y(ax)
    if not log_y:
        _zero_based(axes)
    notes = []
    if ceiling:
        notes.append(f"dashed: copy ceiling {ceiling:,.0f} GB/s")
    if l2:
        notes.append(f"dotted: {l2 / 2**20:.0f} MiB L2")
    _title(fig, device, f"How close to the memory roofline? Bandwidth, {mode} mode"
                        + (f" ({'; '.join(notes)})" if notes else "") + ("; log axis" if log_y else "")
                        + _one_size_note(dropped))
    return fig


def plugin_vs_native(tables: Tables, device: dict) -> Figure:
    r = ratio_table(tables["latency"]).assign(tensor_bytes=lambda d: d["elements"] * d["dtype"].map(ITEMSIZE))
    plugin, native = r["numerator"].iloc[0], r["denominator"].iloc[0]
    r = r.assign(operator=plugin)  # the colour of the plugin, the mode a line style
    # a log axis where the ratios span a decade (a noisy CPU state): 0.5 and 2 equally far from 1
    fig, axes, dropped = _facet_lines(r, "ratio", "plugin ÷ native latency", log_y=None, style="mode")
    for ax in (ax for row in axes for ax in row if ax.get_visible()):
        ax.axhline(1.0, color="black", linewidth=1)
    _title(fig, device, f"Is {plugin} faster than {native} in every timing mode? Median latency ratio, "
                        "each engine timed in its own rule (below 1: the plugin is faster)" + _one_size_note(dropped))
    return fig


def compare(tables: Tables, device: dict) -> Figure:
    on_gpu = device["backend"] == "tensorrt"
    c = compare_targets(tables["compare"]).assign(pair=lambda d: d["operator_a"] + " ÷ " + d["operator_b"])
    pairs, profiles = _ordered(c["pair"]), _ordered(c["profile"])
    dtypes = _ordered(c["dtype"], DTYPE_MARKERS)
    fig, axes = _facets(pairs, profiles, sharey=True, width=4.2, height=2.8)
    # the y axis spans the ratios and the controls (and 1), not the error bars: one state's wide
    # interval must not squash the rest (compare's axis ran to -1); bars beyond it are clipped, and said
    values = pd.concat([c["ratio"], c["control_ratio"], pd.Series([1.0])]).dropna()
    span = max(float(values.max() - values.min()), 0.02)
    y_lo, y_hi = float(values.min()) - 0.15 * span, float(values.max()) + 0.15 * span
    clipped = 0
    for i, pair in enumerate(pairs):
        for j, profile in enumerate(profiles):
            ax, sub = axes[i][j], c[(c["pair"] == pair) & (c["profile"] == profile)]
            for dtype in dtypes:
                d = sub[sub["dtype"] == dtype].sort_values("tensor_bytes")
                if d.empty:
                    continue
                color = _color(OPERATOR_COLORS, d["operator_a"].iloc[0])
                _line(ax, d, "tensor_bytes", "ratio", dtype=dtype, color=color,
                      gid=f"operator={d['operator_a'].iloc[0]};pair={pair}")
                low = (d["ratio"] - d["ratio_se"]).clip(lower=y_lo)
                high = (d["ratio"] + d["ratio_se"]).clip(upper=y_hi)
                clipped += int(((d["ratio"] - d["ratio_se"]) < y_lo).sum() + ((d["ratio"] + d["ratio_se"]) > y_hi).sum())
                ax.errorbar(d["tensor_bytes"], d["ratio"], yerr=[(d["ratio"] - low).clip(lower=0),
                                                                  (high - d["ratio"]).clip(lower=0)],
                            fmt="none", ecolor=color, linewidth=0.8)
                # the A/A control: what the method reports for two identical engines
                ax.scatter(d["tensor_bytes"], d["control_ratio"], marker="x", s=18, color=CONTROL_COLOR, zorder=4)
            ax.axhline(1.0, color="black", linewidth=1)
            if on_gpu:  # the targets are GPU targets: on the CPU there is nothing to miss
                ax.axvline(RATIO_TARGET_MIN_BYTES, color=CONTROL_COLOR, linestyle=":", linewidth=1)
                missed = sub[~sub["meets_target"]]
                ax.scatter(missed["tensor_bytes"], missed["ratio"], s=80, facecolors="none", edgecolors="red",
                           zorder=5)
            _facet_title(ax, pair, f"profile {profile}", c["mode"].iloc[0] + " mode")
            _log2_axis(ax, sub["tensor_bytes"])
            ax.set_ylim(y_lo, y_hi)
        axes[i][0].set_ylabel("median latency ratio a ÷ b")
    fig.supxlabel("tensor size (one input tensor)", fontsize=9)
    extra = [Line2D([], [], color=CONTROL_COLOR, marker="x", linestyle="none", label="A/A control b′ ÷ b")]
    if on_gpu:
        extra.append(Line2D([], [], color="red", marker="o", markerfacecolor="none", linestyle="none",
                            label="target missed"))
    operators_a = _ordered(c["operator_a"], OPERATOR_COLORS)
    _legend(fig, "operator (a)", {o: _color(OPERATOR_COLORS, o) for o in operators_a}, dtypes, extra)
    target = (f"; target ≤ 1 at ≥ 1 MiB (dotted), ≤ b + {SMALL_TENSOR_ALLOWANCE_US:g} µs below" if on_gpu
              else "; the speed targets are judged on a GPU only")
    clip_note = f"; {clipped} error bar ends clipped at the axis" if clipped else ""
    _title(fig, device, "Plugin ÷ native, timed interleaved on shared buffers (drift cancels), ± 1 SE"
                        + target + clip_note)
    return fig


def modes(tables: Tables, device: dict) -> Figure:
    lat = tables["latency"]
    pair = ratio_pair(lat["operator"].astype(str).unique())  # the headline plugin, else the first in the scheme
    first = (pair[0],) if pair else ()
    op = next((o for o in (*first, *OPERATOR_COLORS) if o in set(lat["operator"])), lat["operator"].iloc[0])
    s = _states(lat[lat["operator"] == op])
    present = _ordered(s["mode"], MODE_COLORS)
    fig, _, dropped = _facet_lines(s, "median_us", "median latency (µs)", log_y=True, style="mode")
    listed = ", ".join(f"{m} ({MODE_MEANING.get(m, m)})" for m in present)
    _title(fig, device, f"How much does each timing mode add to {op}'s latency? {listed}" + _one_size_note(dropped))
    return fig


def dynamic_shapes(tables: Tables, device: dict) -> Figure:
    dyn = tables["dynamic"]
    ok = dyn[dyn["status"] == "ok"].assign(tensor_bytes=lambda d: d["elements"] * d["dtype"].map(ITEMSIZE))
    fig, _, dropped = _facet_lines(ok, "median_us", "median latency (µs)", log_y=True)
    rejected = int((dyn["status"] == "rejected").sum())
    _title(fig, device, f"Does every shape of a profile run on one engine? {len(ok)} shapes checked and timed (warm); "
                        f"{rejected} out-of-profile shapes refused as expected (not plotted)" + _one_size_note(dropped))
    return fig


def thread_scaling(tables: Tables, device: dict) -> Figure:
    th = thread_rows(tables["threads"], "python")  # the native runner's rows: stream_scaling
    dtypes, operators = _ordered(th["dtype"], DTYPE_MARKERS), _ordered(th["operator"], OPERATOR_COLORS)
    fig, axes = _facets([0], dtypes, height=2.8)
    for j, dtype in enumerate(dtypes):
        ax, sub = axes[0][j], th[th["dtype"] == dtype]
        for op in operators:
            _line(ax, sub[sub["operator"] == op], "threads", "throughput_per_s", dtype=dtype,
                  color=_color(OPERATOR_COLORS, op), gid=f"operator={op}")
        _facet_title(ax, dtype)
        _log2_axis(ax, th["threads"], label=lambda k: str(2 ** k))
        ax.xaxis.set_major_locator(FixedLocator(sorted(th["threads"].unique())))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    _zero_based(axes)
    axes[0][0].set_ylabel("inferences per second")
    fig.supxlabel("threads (an execution context and a stream each)" if device["backend"] == "tensorrt"
                  else "threads (one engine shared)", fontsize=9)
    _legend(fig, "operator", {op: _color(OPERATOR_COLORS, op) for op in operators}, dtypes)
    shape = ", ".join(f"{p} {s}" for p, s in th[["profile", "shape"]].drop_duplicates().itertuples(index=False))
    _title(fig, device, f"Does throughput scale with threads sharing one engine? Python serving: shape {shape}, "
                        f"host round trip with copies, every output checked ({int(th['failures'].sum())} wrong)")
    return fig


NATIVE_STYLES = {"plain": "-", "graph": "-.", "batched": ":"}  # batched: graph_x<B>


def _native_style(way: str) -> str:
    return NATIVE_STYLES.get(way, NATIVE_STYLES["batched"])


def stream_scaling(tables: Tables, device: dict) -> Figure:
    """The native runner's aggregate throughput against threads (a context, profile and stream
    each): rows dtype, columns operator, plain enqueue and graph replay as line styles, the ideal
    N × one stream dashed, the saturation point (native_runner.saturation_point) ringed and labelled.
    The Python serving rows are not drawn here: they are thread_scaling's."""
    th = thread_rows(tables["threads"], "native").copy()
    th["way"] = [native_way(g, b) for g, b in zip(th["graph"], th.get("graph_batch", pd.Series(1, index=th.index)))]
    ways = [w for w in ("plain", "graph") if w in set(th["way"])] + sorted(set(th["way"]) - {"plain", "graph"})
    dtypes, operators = _ordered(th["dtype"], DTYPE_MARKERS), _ordered(th["operator"], OPERATOR_COLORS)
    fig, axes = _facets(dtypes, operators, sharey="row", width=3.0, height=2.6)
    for i, dtype in enumerate(dtypes):
        for j, op in enumerate(operators):
            ax, sub = axes[i][j], th[(th["dtype"] == dtype) & (th["operator"] == op)]
            if sub.empty:  # no facet without data
                ax.set_visible(False)
                continue
            color = _color(OPERATOR_COLORS, op)
            notes = []  # where and why each mode saturates, in the facet's empty top left corner
            for way in ways:
                style, label = _native_style(way), native_way_label(way)
                d = sub[sub["way"] == way].sort_values("threads")
                if d.empty:
                    continue
                _line(ax, d, "threads", "throughput_per_s", dtype=dtype, color=color, linestyle=style,
                      gid=f"operator={op};way={way}")
                one = d.iloc[0]  # the ideal: N × the smallest count's throughput per thread
                (ideal,) = ax.plot(d["threads"], d["threads"] * one["throughput_per_s"] / one["threads"], color=color,
                                   linestyle="--", linewidth=0.9, alpha=0.45)
                ideal.set_gid(f"ideal;operator={op};way={way}")
                point = saturation_point(list(d["threads"]), list(d["throughput_per_s"]))
                if point is not None:
                    n, why = point
                    y = float(d.loc[d["threads"] == n, "throughput_per_s"].iloc[0])
                    (ring,) = ax.plot([n], [y], marker="o", markersize=11, markerfacecolor="none",
                                      markeredgecolor="black", linestyle="none")
                    ring.set_gid(f"saturation;operator={op};way={way};threads={n}")
                notes.append(f"{label}: " + (f"N = {point[0]}, {point[1]}" if point else "still growing"))
            ax.text(0.03, 0.97, "saturates at\n" + "\n".join(notes), transform=ax.transAxes, va="top", ha="left",
                    fontsize=6.5)
            _facet_title(ax, op, dtype)
            _log2_axis(ax, th["threads"], label=lambda k: str(2 ** k))
            ax.xaxis.set_major_locator(FixedLocator(sorted(th["threads"].unique())))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            _log_y(ax)
        axes[i][0].set_ylabel("inferences per second")
    fig.supxlabel("threads (an execution context, optimization profile and stream each)", fontsize=9)
    extra = [Line2D([], [], linestyle="none", label="driver: native")]
    extra += [Line2D([], [], color="black", linestyle=_native_style(w), label=native_way_label(w)) for w in ways]
    extra += [Line2D([], [], color="black", linestyle="--", linewidth=0.9, alpha=0.45, label="ideal: N × one stream"),
              Line2D([], [], color="black", marker="o", markersize=9, markerfacecolor="none", linestyle="none",
                     label="saturation point")]
    _legend(fig, "operator", {op: _color(OPERATOR_COLORS, op) for op in operators}, dtypes, extra)
    shape = ", ".join(f"{p} {s}" for p, s in th[["profile", "shape"]].drop_duplicates().itertuples(index=False))
    _title(fig, device, "Does aggregate throughput grow with streams until the GPU saturates? Native runner, shape "
                        f"{shape}, device-resident buffers, every thread's output bit-identical; saturation point: the "
                        f"first N whose next N adds < {SATURATION_GAIN - 1:.0%} (Python serving: thread_scaling)")
    return fig


def limit_way(ways: set[str]) -> str:
    """The way concurrency_limit draws: graphs of the most enqueues (the host's launch cost amortised,
    what is left is the GPU's), else one-enqueue graphs, else plain enqueues."""
    batched = sorted((w for w in ways if w.startswith("graph_x")), key=lambda w: int(w.removeprefix("graph_x")))
    return batched[-1] if batched else "graph" if "graph" in ways else "plain"


def concurrency_limit(tables: Tables, device: dict) -> Figure:
    """Throughput against N streams of the plugin, its TensorRT twin and the bare kernel of the same
    bytes (concurrency.concurrency_table), one way (limit_way): rows dtype, columns operator (a twin in
    its plugin's facet; an engine of TensorRT's own layers without a plugin there, in one of its own);
    plugin ÷ bare kernel and plugin ÷ twin at each N and the saturation points written in the facet."""
    table = concurrency_table(tables["threads"], device["backend"])
    way = limit_way(set(table["way"]))
    # a twin is drawn dashed in its plugin's facet, not in one of its own
    table = table[(table["way"] == way) & ~table["operator"].isin(twins_drawn_with_their_plugin(table["operator"]))]
    dtypes, operators = _ordered(table["dtype"], DTYPE_MARKERS), _ordered(table["operator"], OPERATOR_COLORS)
    fig, axes = _facets(dtypes, operators, sharey="row", width=4.4, height=2.9)
    twins: dict[str, str] = {}
    for i, dtype in enumerate(dtypes):
        for j, op in enumerate(operators):
            ax, d = axes[i][j], table[(table["dtype"] == dtype) & (table["operator"] == op)].sort_values("threads")
            if d.empty:
                ax.set_visible(False)
                continue
            _line(ax, d, "threads", "plugin_per_s", dtype=dtype, color=_color(OPERATOR_COLORS, op),
                  gid=f"operator={op};series=plugin;way={way}")
            twin = str(d["twin"].iloc[0])
            t = d[d["twin_per_s"].notna()]
            if twin and not t.empty:
                twins[twin] = _color(OPERATOR_COLORS, twin)
                _line(ax, t, "threads", "twin_per_s", dtype=dtype, color=twins[twin], linestyle="--",
                      gid=f"operator={twin};series=twin;way={way}")
            b = d[d["bare_per_s"].notna()]
            notes = []
            if not b.empty:
                (bare,) = ax.plot(b["threads"], b["bare_per_s"], color="black", linestyle=":", marker="x", markersize=5,
                                  linewidth=1.3)
                bare.set_gid(f"bare;plugin={op};way={way}")
                notes.append("plugin ÷ bare: " + ", ".join(f"{int(n)}: {v:.2f}{'!' if v < BARE_TARGET else ''}"
                                                           for n, v in zip(b["threads"], b["plugin_over_bare"])))
            else:
                notes.append(textwrap.fill(f"bare kernel {d['bare_status'].iloc[0]}", 48))
            if not t.empty:
                notes.append("plugin ÷ twin: " + ", ".join(f"{int(n)}: {v:.2f}{'!' if v < TWIN_TARGET else ''}"
                                                           for n, v in zip(t["threads"], t["plugin_over_twin"])))
            sat = d.iloc[0]
            notes.append("saturates at N = " + ", ".join(
                f"{name} {int(sat[col]) if math.isfinite(sat[col]) else '–'}"
                for name, col in (("plugin", "saturation_plugin"), ("twin", "saturation_twin"),
                                  ("bare", "saturation_bare")) if name != "twin" or not t.empty))
            # the ratios under the facet, as its x label: the layout makes room for them, no line runs under them
            ax.set_xlabel("\n".join(notes), fontsize=6.5, loc="left")
            _facet_title(ax, op, dtype, str(d["shape"].iloc[0]))
            _log2_axis(ax, table["threads"], label=lambda k: str(2 ** k))
            ax.xaxis.set_major_locator(FixedLocator(sorted(table["threads"].unique())))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            _log_y(ax)
        axes[i][0].set_ylabel("inferences (launches) per second")
    fig.supxlabel(f"streams N (threads, a context and stream each; {native_way_label(way)})", fontsize=9)
    extra = [Line2D([], [], color="black", linestyle="-", label="plugin"),
             Line2D([], [], color="black", linestyle="--", label="TensorRT twin"),
             Line2D([], [], color="black", linestyle=":", marker="x", label="bare kernel, same bytes")]
    colors = {op: _color(OPERATOR_COLORS, op) for op in operators} | twins
    _legend(fig, "operator", colors, dtypes, extra)
    _title(fig, device, f"Does the plugin reach, at every N streams, what the GPU gives a bare kernel of the same bytes "
                        f"(≥ {BARE_TARGET:.2f}×) and TensorRT's twin (≥ {TWIN_TARGET:.2f}×)? Native runner, "
                        f"{native_way_label(way)}, each beside the bare kernel in one job; '!' marks a shortfall; "
                        f"saturation: the first N whose next N adds < {SATURATION_GAIN - 1:.0%}")
    return fig


def calibration(tables: Tables, device: dict) -> Figure:
    cal = tables["calibration"]
    on_gpu = device["backend"] == "tensorrt"
    copies = cal[is_copy(cal)].assign(buffer_bytes=lambda d: d["bytes"] / 2)
    fig, axes = _facets([0], [0], width=5.5, height=3.2)
    ax = axes[0][0]
    names = _ordered(copies["measurement"])
    colors = dict(zip(names, sns.color_palette("colorblind", len(names)).as_hex()))
    for name in names:
        d = copies[copies["measurement"] == name].sort_values("buffer_bytes")
        (line,) = ax.plot(d["buffer_bytes"], d["bandwidth_gbs"], color=colors[name], marker="o", markersize=4.5)
        line.set_gid(f"measurement={name}")
    # the best copy of each buffer size, labelled once (several labels at one size overlap)
    for _, r in copies.loc[copies.groupby("buffer_bytes")["bandwidth_gbs"].idxmax()].iterrows():
        ax.annotate(f"{r['bandwidth_gbs']:.0f}", (r["buffer_bytes"], r["bandwidth_gbs"]), fontsize=7,
                    textcoords="offset points", xytext=(0, 5), ha="center")
    ceiling = device.get("copy_ceiling_gbs")
    extra = []
    if ceiling:
        ax.axhline(ceiling, color="black", linestyle="--", linewidth=1)
        extra.append(Line2D([], [], color="black", linestyle="--", label=f"ceiling {ceiling:,.0f} GB/s"))
    _log2_axis(ax, copies["buffer_bytes"])
    _zero_based(axes)
    ax.set_xlabel("buffer size (copied once; bytes read + written counted)")
    ax.set_ylabel("copy bandwidth (GB/s)")
    floors = cal[~is_copy(cal)]
    floor_text = "; ".join(f"{r['measurement']} {r['median_us']:.2f} µs" for _, r in floors.iterrows())
    _legend(fig, "measurement", colors, [], extra)
    what = ("device-to-device copy bandwidth (cudaMemcpy and copy kernels)" if on_gpu
            else "host-memory copy bandwidth (numpy copy)")
    _title(fig, device, f"Calibration: {what}, the ceiling the roofline uses"
                        + (f"; launch floor: {floor_text}" if floor_text else ""))
    return fig


def kernels(tables: Tables, device: dict, colors: dict[str, str] | None = None) -> Figure:
    k = tables["kernel"].assign(tensor_bytes=lambda d: d["bytes_moved"] / 2)
    colors = colors or kernel_colors(list(k["kernel"]))
    modes_, dtypes = _ordered(k["mode"], MODE_COLORS), _ordered(k["dtype"], DTYPE_MARKERS)
    names = _ordered(k["kernel"])
    fig, axes = _facets(modes_, dtypes)
    for i, mode in enumerate(modes_):
        for j, dtype in enumerate(dtypes):
            ax, sub = axes[i][j], k[(k["mode"] == mode) & (k["dtype"] == dtype)]
            for name in names:
                _line(ax, sub[sub["kernel"] == name], "tensor_bytes", "bandwidth_gbs", dtype=dtype,
                      color=colors[name], gid=f"kernel={name}")
            if device.get("copy_ceiling_gbs"):
                ax.axhline(device["copy_ceiling_gbs"], color="black", linestyle="--", linewidth=1)
            _facet_title(ax, dtype, f"{mode} mode")
            _log2_axis(ax, k["tensor_bytes"])
        axes[i][0].set_ylabel("achieved GB/s")
    _zero_based(axes)
    fig.supxlabel("tensor size (one input tensor)", fontsize=9)
    _legend(fig, "kernel", {n: colors[n] for n in names}, dtypes)
    _title(fig, device, "Which plugin kernel reaches the copy ceiling (dashed)? The kernels called directly, "
                        "no TensorRT")
    return fig


def tune(tables: Tables, device: dict, colors: dict[str, str] | None = None) -> Figure:
    """Per tuned operator and path (rows) and dtype (columns): each variant's time against the best
    variant (direct) or TensorRT native (engine) over the sample sizes, the chosen one bold in its
    band. An operator timed at several row shapes shows, per size, its worst ratio over them: what
    the choice is made on."""
    t = tables["tune"].copy()
    if "operator" not in t:  # a table written before the rule ran per operator
        t["operator"] = ""
    t["operator"] = t["operator"].fillna("").astype(str)
    t["chosen"] = t["chosen"].astype(str).str.lower().isin(("true", "1"))
    colors = colors or kernel_colors(list(t["kernel"]))
    keys = ["operator", "dtype", "path", "tensor_bytes"]
    # direct path: time against the best variant at that size; engine path: against TensorRT native
    t["relative"] = t["median_us"] / t.groupby(keys)["median_us"].transform("min")
    t.loc[t["path"] == "engine", "relative"] = t["ratio_to_native"]
    # several row shapes at one size (a row reduction's hidden sizes): the worst ratio, as the choice reads it
    t = (t.groupby(["operator", "dtype", "path", "kernel", "band", "band_lo_bytes", "tensor_bytes"], as_index=False)
         .agg(relative=("relative", "max"), control_ratio=("control_ratio", "max"), chosen=("chosen", "any")))
    ops = _ordered(t["operator"])
    paths, dtypes = _ordered(t["path"], ("direct", "engine")), _ordered(t["dtype"], DTYPE_MARKERS)
    facets = [(op, path) for op in ops for path in paths if ((t["operator"] == op) & (t["path"] == path)).any()]
    names = _ordered(t["kernel"])
    fig, axes = _facets(facets, dtypes, sharey="row", width=3.8, height=2.7)
    direct_only = []  # dtypes the engine path could not time (no native twin: bf16 on TensorRT 8.6)
    for i, (op, path) in enumerate(facets):
        for j, dtype in enumerate(dtypes):
            ax, sub = axes[i][j], t[(t["operator"] == op) & (t["path"] == path) & (t["dtype"] == dtype)]
            if sub.empty:  # no facet without data: the caption says why it is missing
                ax.set_visible(False)
                direct_only.append(dtype)
                continue
            for name in names:
                d = sub[sub["kernel"] == name]
                if d.empty:
                    continue
                _line(ax, d, "tensor_bytes", "relative", dtype=dtype, color=colors[name], gid=f"kernel={name}",
                      linewidth=0.9, markersize=3, alpha=0.8)
                for _, band in d[d["chosen"]].groupby("band"):  # the chosen kernel, bold in its band
                    _line(ax, band, "tensor_bytes", "relative", dtype=dtype, color=colors[name],
                          gid=f"kernel={name};chosen", linewidth=3.2)
            if path == "engine" and sub["control_ratio"].notna().any():
                ax.scatter(sub["tensor_bytes"], sub["control_ratio"], marker="x", s=14, color=CONTROL_COLOR, zorder=4)
            for edge in sorted(set(sub["band_lo_bytes"]) - {0, -1}):
                ax.axvline(edge, color=CONTROL_COLOR, linestyle=":", linewidth=1)
            ax.axhline(1.0, color="black", linewidth=1)
            _facet_title(ax, op if len(ops) > 1 else "", dtype, f"{path} path")
            _log2_axis(ax, t["tensor_bytes"])
        axes[i][0].set_ylabel("time ÷ best variant" if path == "direct" else "time ÷ TensorRT native")
    direct_only = list(dict.fromkeys(direct_only))
    note = (f"; {', '.join(direct_only)}: decided on the direct path (no engine of that dtype on this TensorRT, "
            "or no native twin)" if direct_only else "")
    fig.supxlabel(f"tensor size (one input tensor); dotted: band edges{note}", fontsize=9)
    extra = [Line2D([], [], color="black", linewidth=3.2, label="chosen for its band")]
    if "engine" in paths:
        extra.append(Line2D([], [], color=CONTROL_COLOR, marker="x", linestyle="none", label="A/A control"))
    _legend(fig, "kernel", {n: colors[n] for n in names}, dtypes, extra)
    _title(fig, device, "Which kernel variant wins in each size band, and by how much?")
    return fig


# the in_network figure's colours: a layer's role in its engine (in_network.role)
ROLE_COLORS = {"neighbour": "#bdbdbd", "operator": "#d62728", "fused operator": "#ff7f0e", "inserted": "#6a3d9a",
               "whole block": "#9ecae1"}


def in_network(tables: Tables, device: dict) -> Figure:
    """Per block (and size), the plugin's engine beside the twin's: stacked bars of their layers'
    times (IProfiler medians, coloured by role: the block's own layers, the operator's, the twin
    fused into a neighbour, layers TensorRT inserted), a tick at each engine's whole-block median
    (timed interleaved). Without per-layer times (the CPU stand-in) each bar is the whole block."""
    pairs = tables["in_network"]
    layers = tables.get("in_network_layers", pd.DataFrame())
    dtypes = _ordered(pairs["dtype"], DTYPE_MARKERS)
    ops = _ordered(pairs["operator"])
    fig, axes = _facets(ops, dtypes, sharey=False, width=max(3.3, 0.9 * pairs.groupby(["block", "size"]).ngroups),
                        height=3.0)
    for i, op in enumerate(ops):
        for j, dtype in enumerate(dtypes):
            ax = axes[i][j]
            d = pairs[(pairs["operator"] == op) & (pairs["dtype"] == dtype)].sort_values(["block", "elements"])
            ticks, labels = [], []
            for k, (_, r) in enumerate(d.iterrows()):
                for side, dx, median in (("plugin", -0.2, r["median_plugin_us"]), ("twin", 0.2, r["median_twin_us"])):
                    x = k + dx
                    lay = layers[(layers["operator"] == op) & (layers["block"] == r["block"]) & (layers["size"] == r["size"])
                                 & (layers["dtype"] == dtype) & (layers["engine"] == side)] if not layers.empty else layers
                    lay = lay[lay["median_us"].astype(float).map(math.isfinite)] if not lay.empty else lay
                    bottom = 0.0
                    if lay.empty:
                        ax.bar(x, median, width=0.38, color=ROLE_COLORS["whole block"], edgecolor="white", linewidth=0.5)
                    for _, layer in lay.sort_values("index").iterrows():
                        ax.bar(x, layer["median_us"], width=0.38, bottom=bottom, color=ROLE_COLORS.get(layer["role"], OTHER_COLOR),
                               edgecolor="white", linewidth=0.5, gid=f"layer={layer['layer']}")
                        bottom += float(layer["median_us"])
                    (tick,) = ax.plot([x - 0.19, x + 0.19], [median, median], color="black", linewidth=1.2)
                    tick.set_gid(f"engine={side},block={r['block']},size={r['size']}")
                    ax.annotate(side, (x, max(bottom, median)), fontsize=6, ha="center", textcoords="offset points",
                                xytext=(0, 2))
                ticks.append(k)
                labels.append(f"{r['block']}\n{r['shape']}\n{r['ratio']:.3f}x")
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels, fontsize=6)
            ax.set_ylabel("µs")
            _facet_title(ax, op, dtype)
    _zero_based(axes)
    extra = [Line2D([], [], color="black", linewidth=1.2, label="whole block, timed interleaved (median)")]
    _legend(fig, "layer role", ROLE_COLORS, [], extra)
    what = ("per-layer times (IProfiler) of the plugin's engine and the native twin's, per block; below each pair "
            "plugin ÷ twin" if device["backend"] == "tensorrt" else
            "CPU stand-in (numpy): whole blocks only, no TensorRT, no fusion, no per-layer times")
    _title(fig, device, f"Is the plugin worth it in the network? {what}")
    return fig


DRAW: dict[str, Callable[[Tables, dict], Figure]] = {
    "latency": latency, "bandwidth": bandwidth, "plugin_vs_native": plugin_vs_native, "compare": compare,
    "modes": modes, "dynamic_shapes": dynamic_shapes, "thread_scaling": thread_scaling,
    "stream_scaling": stream_scaling, "concurrency_limit": concurrency_limit,
    "calibration": calibration, "kernels": kernels, "tune": tune, "in_network": in_network,
}


def draw(name: str, tables: Tables, device: dict) -> Figure:
    """One figure, in the house style (the caller saves and closes it)."""
    with sns.axes_style("whitegrid"), plt.rc_context({"axes.formatter.useoffset": False, "font.size": 8,
                                                      "axes.titlesize": 9, "axes.labelsize": 8}):
        if name in ("kernels", "tune"):  # one colour per kernel in both
            names = [k for t in ("kernel", "tune") if t in tables and not tables[t].empty
                     for k in tables[t]["kernel"]]
            return DRAW[name](tables, device, kernel_colors(names))
        return DRAW[name](tables, device)


def draw_all(tables: Tables, device: dict, out_dir: Path) -> list[Path]:
    """Every figure the tables support (plan_from_tables); the others are named with the reason."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names, skipped = plan_from_tables(device["backend"], tables)
    for name, why in skipped.items():
        print(f"not drawn: {name}: {why}", file=sys.stderr)
    written = []
    for name in names:
        fig = draw(name, tables, device)
        out = out_dir / f"{name}.png"
        question = fig.get_suptitle().split("\n")[0]
        fig.savefig(out, dpi=100, bbox_inches="tight", metadata={"Title": question, "Description": subtitle(device)})
        plt.close(fig)
        written.append(out)
    return written
