"""The aggregate rule: per-sweep CSVs -> one tidy table per measurement kind, plus the device record."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import pandas as pd

from ..core.provenance import git_commit, plugin_source_hash
from ..core.records import TABLES, columns
from ..measure.native_runner import native_way, native_way_label, saturation_point
from .analysis import copy_ceiling
from .concurrency import concurrency_table
from .concurrency import summary_lines as concurrency_summary_lines
from .summary import write_summary

# the per-sweep tables whose rule always writes rows: a header alone is a cut file (kernel, profile
# and tune may be empty)
MUST_HAVE_ROWS = frozenset({"latency", "dynamic", "roundtrip", "threads", "compare", "calibration"})
CORRUPT_SUFFIX = ".corrupt"


class SweepFileError(ValueError):
    """Per-sweep CSVs the aggregate rule refuses; each is set aside so a plain rerun makes it again."""


def sweep_file_problem(path: Path, name: str) -> str | None:
    """What is wrong with the per-sweep CSV ``path`` of table ``name``, or None: it must exist, end
    with a line end (records.write_rows writes whole files), have the table's header, every row
    that many fields, every numeric cell a number and every flag True/False, and (MUST_HAVE_ROWS) a
    row at least."""
    path = Path(path)
    if not path.is_file():
        return "does not exist"
    data = path.read_bytes()
    if not data:
        return "is empty (0 bytes)"
    if not data.endswith(b"\n"):
        return "is cut short (its last line has no line end)"
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        return f"is not a CSV table ({exc})"
    kinds = {f.name: str(f.type) for f in fields(TABLES[name])}
    expected = list(kinds)
    if not rows or rows[0] != expected:
        return f"does not start with the {name} table's header ({len(expected)} columns: {', '.join(expected[:4])}, ...)"
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(expected):
            return f"line {line} has {len(row)} fields, the header {len(expected)}"
        for column, cell in zip(expected, row):
            kind = kinds[column]
            if kind in ("int", "float"):
                try:
                    float(cell)
                except ValueError:
                    return f"line {line}, column {column}: {cell!r} is not a number"
            elif kind == "bool" and cell not in ("True", "False"):
                return f"line {line}, column {column}: {cell!r} is not True or False"
    if name in MUST_HAVE_ROWS and len(rows) < 2:
        return "holds the header but no row"
    return None


def set_aside_damaged(inputs: Mapping[str, Sequence[str | Path]]) -> list[str]:
    """Move each existing per-sweep CSV that sweep_file_problem refuses to <file>.corrupt, so its rule,
    finding its output missing, makes it again; one line per file moved (what was wrong, where it
    went). The Snakefile calls it when it reads the DAG, so a file damaged after its run (which
    Snakemake alone does not notice) is measured again by a plain rerun."""
    said = []
    for name, paths in inputs.items():
        for path in map(Path, paths):
            why = sweep_file_problem(path, name) if path.is_file() else None
            if why is not None:
                aside = path.with_name(path.name + CORRUPT_SUFFIX)
                path.replace(aside)
                said.append(f"{path} {why} (moved to {aside.name})")
    return said


def check_sweep_files(inputs: Mapping[str, Sequence[str | Path]]) -> None:
    """Refuse missing or damaged per-sweep CSVs before anything is written: each damaged one is set
    aside (set_aside_damaged) and all are named in one error with the remedy."""
    missing = [f"{p} does not exist" for paths in inputs.values() for p in paths if not Path(p).is_file()]
    said = missing + set_aside_damaged(inputs)
    if said:
        raise SweepFileError(f"{len(said)} per-sweep table(s) refused: {'; '.join(said)}; a plain rerun "
                             "(snakemake --cores 1) measures them again and aggregates")


def _concat(paths: list[Path], name: str) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths]
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
    from ..commands.conformance import load_reports, summary_lines, write_table

    check_sweep_files(inputs)
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
    # the plugin beside the bare kernel of the same bytes and its twin, per N (concurrency.py)
    conc = concurrency_table(tables["threads"], device["backend"])
    tmp = out_dir / "concurrency.csv.tmp"
    conc.to_csv(tmp, index=False)
    tmp.replace(out_dir / "concurrency.csv")
    write_summary(out_dir, device, out_dir / "summary.md")
    reports = load_reports(conformance or [])
    write_table(reports, out_dir / "conformance.csv")
    with (out_dir / "summary.md").open("a") as summary:  # after summary.write_summary's sections
        summary.write("\n".join(concurrency_summary_lines(tables["threads"], device["backend"])))
        summary.write("\n".join(native_runner_lines(tables["threads"], device["backend"])))
        summary.write("\n".join(summary_lines(reports)))
    return device
