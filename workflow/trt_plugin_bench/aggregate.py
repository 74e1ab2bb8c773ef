"""The aggregate rule: per-sweep CSVs -> one tidy table per measurement kind, plus the device record."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from .analysis import copy_ceiling
from .native_runner import native_way, native_way_label, saturation_point
from .provenance import git_commit, plugin_source_hash
from .records import TABLES, columns
from .summary import write_summary


def _concat(paths: list[Path], name: str) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths if Path(p).exists() and Path(p).stat().st_size > 0]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns(TABLES[name]))
    return pd.concat(frames, ignore_index=True)[columns(TABLES[name])]


def _with_ceiling(table: pd.DataFrame, ceiling: float | None) -> pd.DataFrame:
    if table.empty or ceiling is None:
        return table
    table = table.copy()
    table["copy_ceiling_gbs"] = ceiling
    table["pct_of_copy_ceiling"] = 100.0 * table["bandwidth_gbs"] / ceiling
    return table


def native_runner_lines(threads: pd.DataFrame, backend: str) -> list[str]:
    """summary.md's "Native runner" section: on a GPU backend a short table of the native runner's
    rows (inferences/s per thread count, × one stream, the saturation point); on the CPU reference
    backend one line saying they need TensorRT (the thread sweep there is the Python loop's)."""
    if backend != "tensorrt":
        return ["", "## Native runner", "",
                "No native runner rows: trt_runner (device-resident buffers, a context, profile and stream per "
                "thread) needs the tensorrt backend. The thread sweep's rows here are the Python loop's "
                "(driver python, \"Python serving\").", ""]
    th = threads[threads["driver"] == "native"] if "driver" in threads else threads.iloc[0:0]
    if th.empty:
        return []
    th = th.assign(way=[native_way(g, b) for g, b in zip(th["graph"], th.get("graph_batch", pd.Series(1, index=th.index)))])
    counts = sorted(int(n) for n in th["threads"].unique())
    lines = ["", "## Native runner", "",
             "trt_runner: each thread its own execution context, optimization profile and stream, device-resident "
             "buffers, every thread's output bit-identical. Inferences/s (in brackets: the share of the ideal, N × "
             "the smallest thread count's throughput per thread); saturation: the first N whose next N adds < 10 % "
             "(native_runner.saturation_point).", "",
             "| operator | dtype | shape | mode | " + " | ".join(f"{n} threads" for n in counts) + " | saturates at |",
             "|---|---|---|---|" + "---:|" * len(counts) + "---|"]
    for (op, dtype, shape, way), d in th.groupby(["operator", "dtype", "shape", "way"], sort=True):
        d = d.sort_values("threads")
        per_thread = d["throughput_per_s"].iloc[0] / d["threads"].iloc[0]
        cells = {int(r["threads"]): f"{r['throughput_per_s'] / 1e3:.1f} k ({r['throughput_per_s'] / (per_thread * r['threads']):.0%})"
                 for _, r in d.iterrows()}
        point = saturation_point(list(d["threads"]), list(d["throughput_per_s"]))
        lines.append(f"| {op} | {dtype} | {shape} | {native_way_label(way)} | "
                     + " | ".join(cells.get(n, "") for n in counts)
                     + f" | {f'{point[0]} ({point[1]})' if point else 'still growing'} |")
    return lines + [""]


def aggregate(inputs: dict[str, list[Path]], device_json: Path, out_dir: Path, skipped: list[str],
              conformance: list[Path] | None = None) -> dict:
    """``conformance``: the conformance rule's reports (results/conformance/*.json), written as
    tables/conformance.csv and summary.md's Conformance table."""
    from .conformance import load_reports, summary_lines, write_table

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {name: _concat(inputs.get(name, []), name) for name in TABLES}
    device = json.loads(Path(device_json).read_text())
    ceiling = copy_ceiling(tables["calibration"], device.get("l2_bytes", 0))
    tables["latency"] = _with_ceiling(tables["latency"], ceiling)
    tables["kernel"] = _with_ceiling(tables["kernel"], ceiling)
    for name, table in tables.items():
        tmp = out_dir / f"{name}.csv.tmp"
        table.to_csv(tmp, index=False)
        tmp.replace(out_dir / f"{name}.csv")
    device.update({
        "git_commit": git_commit(),
        "plugin_source_hash": plugin_source_hash(),
        "date": time.strftime("%Y-%m-%d"),
        "copy_ceiling_gbs": ceiling,
        "skipped": skipped,
    })
    (out_dir / "device.json").write_text(json.dumps(device, indent=2))
    write_summary(out_dir, device, out_dir / "summary.md")
    reports = load_reports(conformance or [])
    write_table(reports, out_dir / "conformance.csv")
    with (out_dir / "summary.md").open("a") as summary:  # after summary.write_summary's sections
        summary.write("\n".join(native_runner_lines(tables["threads"], device["backend"])))
        summary.write("\n".join(summary_lines(reports)))
    return device
