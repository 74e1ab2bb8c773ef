"""Concurrency against its limit: the threads table read as "does the plugin reach, at every N
streams, what the GPU gives a bare kernel of the same bytes, and TensorRT's twin?".

The threads rule runs, beside each native run of an engine (a thread count N, one way: plain
enqueues, one-enqueue graphs, graphs of B enqueues), the same run with ``trt_runner --bare-kernel``:
the launch-rate probe's kernel (plugin/probes/bareKernel.cuh) reading the engine's input bytes and
writing its output bytes at the shape (the bytes are the engine's I/O sizes as the runner bound them,
not a cost model), no TensorRT, driver "bare" in threads.csv. concurrency_table sets, per plugin
operator, dtype, shape, way and N: the plugin's throughput, its twin's (from the twin's own job,
where the run has the pair), the bare kernel's (from the plugin's job: same GPU state), the two
ratios and the saturation points (native_runner.saturation_point: the first N whose next N adds
< 10 %). On the CPU reference backend there is no kernel at all: its rows are the Python loop's,
the bare kernel's cells empty with the reason.

Pure functions of tables (no I/O, no GPU): aggregate writes tables/concurrency.csv and summary.md's
"Concurrency against its limit" section, figures draws concurrency_limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ..core.operators import get_operator
from ..measure.native_runner import NOT_MEASURED, SATURATION_GAIN, native_way, saturation_point
from .analysis import native_operator

# The issue's targets: the plugin >= 0.95 x the bare kernel of the same bytes, >= 1.00 x its twin.
BARE_TARGET = 0.95
TWIN_TARGET = 1.00

CPU_NO_BARE = ("not measured: the CPU reference backend runs no GPU kernel (numpy); the bare kernel runs in "
               "trt_runner --bare-kernel on a GPU (tensorrt backend)")
NO_BARE_ROWS = "not measured: no bare-kernel row in threads.csv (a run from before the bare kernel)"

COLUMNS = ["backend", "operator", "kind", "twin", "dtype", "profile", "shape", "way", "threads", "bytes_in", "bytes_out",
           "plugin_per_s", "twin_per_s", "bare_per_s", "plugin_over_bare", "plugin_over_twin", "bare_status",
           "twin_status", "saturation_plugin", "saturation_twin", "saturation_bare", "below_bare", "below_twin"]


def saturation_n(threads: Sequence[int], throughput: Sequence[float]) -> float:
    """saturation_point's N of one series (NaN: still growing at its largest N, or no finite point).
    Points without a finite throughput (a bare run not measured) are left out first."""
    points = [(int(n), float(r)) for n, r in zip(threads, throughput) if r is not None and math.isfinite(float(r))]
    point = saturation_point([n for n, _ in points], [r for _, r in points]) if len(points) > 1 else None
    return float(point[0]) if point else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else math.nan


def _with_way(th: pd.DataFrame) -> pd.DataFrame:
    batch = th["graph_batch"] if "graph_batch" in th else pd.Series(1, index=th.index)
    graph = th["graph"] if "graph" in th else pd.Series(False, index=th.index)
    return th.assign(way=[native_way(g, b) for g, b in zip(graph, batch)])


def operator_kind(name: str) -> str:
    """"plugin", "native" (TensorRT's own layers) or "unknown" (a spec this process does not know: a
    config's external one, handed only the tables)."""
    try:
        return "plugin" if get_operator(name).uses_plugin else "native"
    except KeyError:
        return "unknown"


SUBJECT = {"plugin": "the plugin", "native": "TensorRT's own layers", "unknown": "the engine"}
KIND_ORDER = {"plugin": 0, "unknown": 1, "native": 2}


def _operators(operators: Sequence[str]) -> list[tuple[str, str | None]]:
    """(operator, its TensorRT twin where the table has it, else None) for every operator of the table:
    a plugin beside its twin and the bare kernel, every other engine (TensorRT's own layers, a twin
    too) beside the bare kernel of its own bytes."""
    present = set(operators)
    return [(name, twin if (twin := native_operator(name)) in present else None) for name in sorted(present)]


def twins_drawn_with_their_plugin(operators: Sequence[str]) -> set[str]:
    """The operators of the table that are another one's twin there (the figure draws them in its facet)."""
    return {twin for _, twin in _operators(operators) if twin is not None}


def concurrency_table(threads: pd.DataFrame, backend: str) -> pd.DataFrame:
    """One row per operator, dtype, profile, shape, way and thread count (COLUMNS; ``kind``: plugin,
    native or unknown, operator_kind; the "plugin_*" columns are that operator's engine). On the
    tensorrt backend the native runner's ways; on the reference backend the Python loop's rows (way
    "python"), the bare kernel's cells NaN and bare_status saying why. Empty where there is nothing."""
    if threads is None or threads.empty:
        return pd.DataFrame(columns=COLUMNS)
    th = threads.copy()
    if "driver" not in th:
        th["driver"] = "python"
    gpu = backend == "tensorrt"
    engines = th[th["driver"] == ("native" if gpu else "python")]
    if engines.empty:
        return pd.DataFrame(columns=COLUMNS)
    engines = _with_way(engines) if gpu else engines.assign(way="python")
    bare = _with_way(th[th["driver"] == "bare"]) if gpu else th.iloc[0:0].assign(way=[])
    rows: list[dict] = []
    for plugin, twin in _operators(engines["operator"].astype(str).unique()):
        mine = engines[engines["operator"] == plugin]
        for (dtype, profile, shape, way), d in mine.groupby(["dtype", "profile", "shape", "way"], sort=True):
            d = d.sort_values("threads")
            t = engines[(engines["operator"] == twin) & (engines["dtype"] == dtype) & (engines["profile"] == profile)
                        & (engines["shape"] == shape) & (engines["way"] == way)] if twin else engines.iloc[0:0]
            b = bare[(bare["operator"] == plugin) & (bare["dtype"] == dtype) & (bare["profile"] == profile)
                     & (bare["shape"] == shape) & (bare["way"] == way)]
            twin_at = {int(r["threads"]): float(r["throughput_per_s"]) for _, r in t.iterrows()}
            bare_at = {int(r["threads"]): r for _, r in b.iterrows()}
            sat_plugin = saturation_n(list(d["threads"]), list(d["throughput_per_s"]))
            sat_twin = saturation_n(list(twin_at), list(twin_at.values())) if twin_at else math.nan
            sat_bare = saturation_n([int(n) for n in bare_at], [float(r["throughput_per_s"]) for r in bare_at.values()])
            for _, r in d.iterrows():
                n = int(r["threads"])
                rate = float(r["throughput_per_s"])
                twin_rate = twin_at.get(n, math.nan)
                br = bare_at.get(n)
                bare_rate = float(br["throughput_per_s"]) if br is not None else math.nan
                if not gpu:
                    bare_status = CPU_NO_BARE
                elif br is None:
                    bare_status = NO_BARE_ROWS
                elif math.isfinite(bare_rate):
                    bare_status = "measured"
                else:
                    message = str(br.get("message", ""))
                    bare_status = message if message.startswith(NOT_MEASURED) else NOT_MEASURED + message
                twin_status = ("measured" if math.isfinite(twin_rate) else
                               "no twin (TensorRT's own layers, or a plugin without a TensorRT-native twin)"
                               if native_operator(plugin) is None
                               else f"not measured: {native_operator(plugin)} is not in this run's thread sweep"
                               if twin is None else f"not measured: no {twin} row at {n} threads, {way}")
                over_bare, over_twin = _ratio(rate, bare_rate), _ratio(rate, twin_rate)
                src = br if br is not None else r
                rows.append({
                    "backend": backend, "operator": plugin, "kind": operator_kind(plugin), "twin": twin or "",
                    "dtype": dtype, "profile": profile,
                    "shape": shape, "way": way, "threads": n,
                    "bytes_in": float(src.get("bytes_in", math.nan)), "bytes_out": float(src.get("bytes_out", math.nan)),
                    "plugin_per_s": rate, "twin_per_s": twin_rate, "bare_per_s": bare_rate,
                    "plugin_over_bare": over_bare, "plugin_over_twin": over_twin,
                    "bare_status": bare_status, "twin_status": twin_status,
                    "saturation_plugin": sat_plugin, "saturation_twin": sat_twin, "saturation_bare": sat_bare,
                    "below_bare": bool(math.isfinite(over_bare) and over_bare < BARE_TARGET),
                    "below_twin": bool(math.isfinite(over_twin) and over_twin < TWIN_TARGET),
                })
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["operator", "dtype", "profile", "shape", "way", "threads"], kind="stable",
                             ignore_index=True) if not table.empty else table


def _n(value: float) -> str:
    return f"N={int(value)}" if math.isfinite(value) else "none (still growing at the largest N)"


def _shortfalls(d: pd.DataFrame, column: str, target: float) -> str:
    """"at N=4: 0.912 (-4.0 % against 0.95)" for every N below ``target``; "" where none is."""
    low = d[d[column].notna() & (d[column] < target)]
    return "; ".join(f"at N={int(r['threads'])}: {r[column]:.3f} ({100 * (r[column] / target - 1):+.1f} % against "
                     f"{target:.2f})" for _, r in low.iterrows())


def sentences(table: pd.DataFrame, max_threads: int = 8) -> list[str]:
    """summary.md's sentences, one per plugin operator, dtype, shape and way, over N <= ``max_threads``:
    "at N streams the plugin reaches X of the bare kernel of the same bytes and Y of TensorRT's twin;
    saturation at N=...", then where it is below 0.95 (bare) or 1.00 (twin), at which N and by how much.
    A ratio that could not be formed says so in a word (the reasons: the table's bare_status, twin_status).
    The plugins' sentences first, TensorRT's own layers' last."""
    out: list[tuple[int, str]] = []
    if table.empty:
        return out
    for (op, dtype, _profile, shape, way), d in table.groupby(["operator", "dtype", "profile", "shape", "way"], sort=True):
        d = d[d["threads"] <= max_threads].sort_values("threads")
        if d.empty:
            continue
        top = d.iloc[-1]
        n = int(top["threads"])
        cpu = top["backend"] != "tensorrt"
        bare = (f"{top['plugin_over_bare']:.3f} of the bare kernel of the same bytes"
                if math.isfinite(top["plugin_over_bare"]) else
                "no bare kernel (the CPU reference backend runs none)" if cpu else "no bare-kernel ratio (not measured)")
        twin = (f"{top['plugin_over_twin']:.3f} of TensorRT's twin ({top['twin']})" if math.isfinite(top["plugin_over_twin"])
                else "no twin ratio (" + str(top["twin_status"]).removeprefix(NOT_MEASURED) + ")")
        if cpu and math.isfinite(top["plugin_over_twin"]):
            twin = f"{top['plugin_over_twin']:.3f} of the twin's numpy stand-in ({top['twin']})"
        saturation = [f"saturation at {_n(top['saturation_plugin'])}"]
        if d["bare_per_s"].notna().any():
            saturation.append(f"bare kernel {_n(top['saturation_bare'])}")
        if d["twin_per_s"].notna().any():
            saturation.append(f"twin {_n(top['saturation_twin'])}")
        subject = SUBJECT.get(str(top["kind"]), "the engine")
        native = top["kind"] == "native" and not top["twin"]  # TensorRT's own layers: no twin to compare with
        text = (f"{op} {dtype} {shape}, {way}: at {n} stream{'s' * (n != 1)} {subject} reach"
                f"{'' if native else 'es'} {bare}{'' if native else f' and {twin}'}; "
                + "; ".join(saturation) + ".")
        below_bare = _shortfalls(d, "plugin_over_bare", BARE_TARGET)
        below_twin = _shortfalls(d, "plugin_over_twin", TWIN_TARGET)
        if below_bare:
            text += f" Below {BARE_TARGET:.2f} × the bare kernel {below_bare}."
        elif d["plugin_over_bare"].notna().any():
            text += f" At every measured N ≤ {max_threads}: ≥ {BARE_TARGET:.2f} × the bare kernel."
        if below_twin:
            text += f" Below the twin {below_twin}."
        elif d["plugin_over_twin"].notna().any():
            text += f" At every measured N ≤ {max_threads}: ≥ the twin."
        out.append((KIND_ORDER.get(str(top["kind"]), 1), text))
    return [text for _, text in sorted(out, key=lambda item: item[0])]


def summary_lines(threads: pd.DataFrame, backend: str) -> list[str]:
    """summary.md's "Concurrency against its limit" section: the sentences and a table of the ratios."""
    table = concurrency_table(threads, backend)
    if table.empty:
        return []
    lines = ["", "## Concurrency against its limit", ""]
    if backend != "tensorrt":
        lines += [f"CPU reference backend (numpy, the Python loop's rows): no bare kernel: "
                  f"{CPU_NO_BARE.removeprefix(NOT_MEASURED)}. Plugin ÷ twin below is the Python loop's, not a GPU's.", ""]
    else:
        lines += ["Beside each native run, trt_runner --bare-kernel: the launch-rate probe's kernel reading the engine's "
                  "input bytes and writing its output bytes (the engine's I/O sizes at the shape), no TensorRT, the same "
                  "threads, way, enqueues and timing, in the same job (tables/concurrency.csv). Targets: plugin ≥ "
                  f"{BARE_TARGET:.2f} × the bare kernel and ≥ {TWIN_TARGET:.2f} × the twin; saturation: the first N whose "
                  f"next N adds < {SATURATION_GAIN - 1:.0%}.", ""]
    lines += [f"- {s}" for s in sentences(table)]
    lines += ["", "| operator | dtype | shape | way | N | plugin /s | twin /s | bare kernel /s | plugin ÷ bare | "
                  "plugin ÷ twin |", "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]

    def cell(v: float, fmt: str) -> str:
        return format(v, fmt) if math.isfinite(v) else "–"

    for _, r in table.iterrows():
        lines.append(f"| {r['operator']} | {r['dtype']} | {r['shape']} | {r['way']} | {int(r['threads'])} | "
                     f"{cell(r['plugin_per_s'] / 1e3, '.1f')} k | {cell(r['twin_per_s'] / 1e3, '.1f')} k | "
                     f"{cell(r['bare_per_s'] / 1e3, '.1f')} k | {cell(r['plugin_over_bare'], '.3f')}"
                     f"{' ⚠' if r['below_bare'] else ''} | {cell(r['plugin_over_twin'], '.3f')}"
                     f"{' ⚠' if r['below_twin'] else ''} |")
    lines += ["", "⚠: below the target (the sentences above say by how much)."]
    reasons = sorted(set(table.loc[table["bare_status"] != "measured", "bare_status"]))
    if reasons and backend == "tensorrt":
        lines += ["", "Bare kernel " + " | ".join(reasons)]
    return lines + [""]
