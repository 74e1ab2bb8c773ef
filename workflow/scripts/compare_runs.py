"""Are two runs' tables the same? Rows, columns and numbers within noise, table by table (issue 23).

    .venv/bin/python workflow/scripts/compare_runs.py OLD_TABLES_DIR NEW_TABLES_DIR [--out report.md]

Each folder holds a run's tidy tables (results/<experiment>/tables/, or a dated run in docs/runs/):
``<table>.csv`` or ``<table>.csv.gz``, and device.json where the run wrote one. For every table both
folders hold, the rows are matched by the table's key columns (RULES: what identifies a row of it,
records.py's row classes), and the report says

- the rows only in OLD (lost: a difference) and only in NEW (listed; new rows are expected where a
  feature was added, e.g. the threads table's native runner; ``--strict`` makes them a difference);
- the columns removed (a difference) and added (listed, never a difference: the tables grow);
- for each *measured* column the NEW/OLD ratio per row, judged by the noise rule below;
- for each *exact* column (verified flags, counts, bit-identical round trips, layer counts, formats)
  every row whose value changed (a difference);
- for every other column (*context*: labels such as the kernel the plugin ran, sample counts, stop
  reasons, clocks, free text, numbers derived from a measured one or without an uncertainty) how many
  rows changed, with examples or the ratio's spread: listed, never a difference.

**The noise rule**: a measured value is the same when

    |new - old| <= K * sqrt(se_old^2 + se_new^2) + max(FLOOR * |old|, ABS_FLOOR)

with the rows' own standard errors (median_se_us, ratio_se, rse x median ...), K = 3 (the project's
repeat agreement, analysis.repeat_agreement), FLOOR = 2 % for the drift between two runs on two lent
machines of one GPU model (the A/A control's spread within a run is 0.08 % median, 1.75 % at most at
>= 1 MiB: docs/runs/h100-2026-11-24d) and ABS_FLOOR = 0.1 us for columns in microseconds (three ticks
of the 32 ns CUDA event clock seen on the H100). Measured with these numbers: the direct-kernel tables
of two H100 runs of one day (docs/runs/h100-2026-11-24c and -24d, 294 rows) differ outside it in 1 row.
A column without an uncertainty column of its own is judged by the floors alone (``se: None``). If
the standard errors were exact and no drift existed, a row would fall outside by chance with
probability 2 x norm.sf(K) (0.27 %); the report gives the number expected so and the binomial tail of
what was seen (scipy.stats), so a lone row among a thousand can be read as what it likely is. Any row
outside is still a difference: the report cannot tell chance from a real change of one state.

**Exit status**: 0 the same; 1 differences (the report says which); 2 bad input (a folder without
tables, a table without its key column, a value that is not of its column's type, a run of one
backend against another's or one GPU against another's without ``--allow-backend-mismatch`` /
``--allow-device-mismatch``): the message names the file and column. A CPU reference run is never
compared in numbers with a GPU run: with the flag, rows, columns and exact columns are compared and
the numbers are shown, not judged. The same holds for two GPUs of another model (an H100 and an H200).

This is a developer's tool, not a pipeline command: it answers "did a change of this project's code
move its committed reference tables" (issue 23's Done-when), and its rename map is this project's
own history of table columns. The verdict command (trt_plugin_bench/report/verdict.py) is the product's answer
to "did my change make my plugin faster", from the raw samples.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import sys
from collections import Counter
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trt_plugin_bench.commands.conformance import TABLE_COLUMNS as CONFORMANCE_COLUMNS  # noqa: E402
from trt_plugin_bench.core.records import TABLES  # noqa: E402

K = 3.0
FLOOR = 0.02
ABS_FLOOR_US = 0.1
WORST = 10  # the rows outside listed per table
EXAMPLES = 3  # the changed values shown per context or exact column

# Columns renamed since a committed reference run: {table: {old name: current name}}. An OLD table's
# column of an old name is read as the current one. The tables of docs/runs/ (2026-11-24 .. 2026-12-02)
# only ever gained columns (no column was renamed: checked against every dated run's header and
# records.py's history), so the map is empty; a rename of a table column adds its line here, with why.
RENAMES: dict[str, dict[str, str]] = {}

# Tables written beside the row tables that are not compared here, and why.
NOT_COMPARED = {
    "concurrency": "derived from the threads table (aggregate: concurrency.concurrency_table), compared there",
}


@dataclass(frozen=True)
class Measured:
    """A measured column, judged by the noise rule; its standard error is the column ``se``
    (``relative``: a relative SE such as rse, times the value), or none (the floors alone)."""

    se: str | None = None
    relative: bool = False


@dataclass(frozen=True)
class Rule:
    """What identifies a row of a table (keys), what is measured (judged within noise) and what must
    be equal (exact). Every other column is context: listed where it changed, never a difference."""

    keys: tuple[str, ...]
    measured: dict[str, Measured] = field(default_factory=dict)
    exact: tuple[str, ...] = ()
    group: tuple[str, ...] = ()  # the key columns the rows outside are counted by (default: the first)


RULES: dict[str, Rule] = {
    # latency: one row per state and repeat. The kernel column is a label (the plugin's kernel, "tuned"
    # under plugin_kernel auto): context, so that a change of the chosen kernel shows beside the numbers
    "latency": Rule(
        keys=("operator", "dtype", "profile", "shape", "mode", "repeat"),
        measured={"median_us": Measured("median_se_us")},
        exact=("backend", "implementation", "elements", "bytes_moved", "start", "verified", "timing_clock"),
        group=("operator", "mode")),
    # dynamic: the shapes the engine accepts and refuses; its median_us is one short timing without an
    # uncertainty (1.2x between two H100 runs): context
    "dynamic": Rule(
        keys=("operator", "dtype", "profile", "shape"),
        exact=("backend", "elements", "in_profile", "status", "output_shape", "verified")),
    # roundtrip: engine bytes differ between two builds (TensorRT times its tactics), the sha and pids always
    "roundtrip": Rule(
        keys=("operator", "dtype", "profile", "shape"),
        exact=("backend", "bit_identical", "differing_elements")),
    # threads: the Python loop's host numbers move by up to 30 % between two H100 runs and have no
    # uncertainty column: context. Rows of before the native runner read as driver python (records.py defaults)
    "threads": Rule(
        keys=("operator", "dtype", "profile", "shape", "threads", "driver", "graph", "graph_batch"),
        exact=("backend", "iterations_per_thread", "inferences", "failures", "all_verified")),
    "calibration": Rule(
        keys=("measurement", "bytes"),
        measured={"median_us": Measured("rse", relative=True)},
        exact=("backend", "start", "timing_clock")),
    "kernel": Rule(
        keys=("kernel", "dtype", "elements", "mode"),
        measured={"median_us": Measured("rse", relative=True)},
        exact=("backend", "bytes_moved", "start", "verified"),
        group=("kernel", "mode")),
    # profile: Nsight Compute's metrics of one state, no uncertainty column (0.2 % between two H100 runs):
    # the floors alone. The kernel's name is context (it names the kernel the plugin ran)
    "profile": Rule(
        keys=("operator", "dtype", "profile", "shape", "metric"),
        measured={"value": Measured()},
        exact=("backend", "unit", "tool")),
    "compare": Rule(
        keys=("operator_a", "operator_b", "dtype", "profile", "shape", "mode"),
        measured={"median_a_us": Measured("median_se_a_us"), "median_b_us": Measured("median_se_b_us"),
                  "ratio": Measured("ratio_se"), "control_ratio": Measured("control_ratio_se")},
        exact=("backend", "elements", "tensor_bytes", "start", "verified", "timing_clock", "shared_buffers"),
        group=("dtype", "profile")),
    "tune": Rule(
        keys=("dtype", "band", "tensor_bytes", "kernel", "path", "mode"),
        measured={"median_us": Measured("rse", relative=True)},
        exact=("backend", "band_lo_bytes", "band_hi_bytes", "elements")),
    # accuracy: computed, not timed (seeded inputs, the same kernel): exact
    "accuracy": Rule(
        keys=("operator", "implementation", "side", "dtype", "profile", "shape", "inputs"),
        exact=("backend", "elements", "max_ulp_err", "mean_ulp_err", "max_bound_ratio", "mismatches",
               "within_tolerance", "tolerance")),
    "in_network": Rule(
        keys=("operator", "twin", "block", "size", "dtype", "shape", "mode"),
        measured={"median_plugin_us": Measured("median_se_plugin_us"), "median_twin_us": Measured("median_se_twin_us"),
                  "ratio": Measured("ratio_se"), "control_ratio": Measured("control_ratio_se")},
        exact=("backend", "operator_shape", "elements", "start", "verified", "plugin_engine_layers",
               "twin_engine_layers", "reformats_plugin", "reformats_twin", "plugin_in_format", "plugin_out_format",
               "twin_built_as", "timing_clock")),
    "in_network_layers": Rule(
        keys=("operator", "block", "size", "dtype", "engine", "index"),
        exact=("backend", "layer_type", "role", "inputs_format", "outputs_format")),
    "conformance": Rule(
        keys=("label", "flag", "check_number"),
        exact=("backend", "operator", "check", "status")),
}


class InputError(ValueError):
    """Bad input: exit status 2, the message names the file and column."""


# --- reading -----------------------------------------------------------------------------------------

def column_types(table: str) -> dict[str, type]:
    """Each column's Python type, from its row class (records.py; conformance: its TABLE_COLUMNS)."""
    if table == "conformance":
        return {c: (int if c == "check_number" else float if c == "seconds" else str) for c in CONFORMANCE_COLUMNS}
    types = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: types.get(f.type if isinstance(f.type, str) else getattr(f.type, "__name__", ""), str)
            for f in fields(TABLES[table])}


def column_defaults(table: str) -> dict[str, Any]:
    """The row class's defaults: what a row of before its column existed means (threads' driver: python)."""
    if table not in TABLES:
        return {}
    return {f.name: f.default for f in fields(TABLES[table]) if f.default is not MISSING}


def parse(value: str, kind: type, where: str) -> Any:
    if kind is str:
        return value
    if kind is bool:
        if value in ("True", "False"):
            return value == "True"
        raise InputError(f"{where}: {value!r} is no bool (True or False)")
    if value == "":
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{where}: {value!r} is no {kind.__name__}") from None
    if kind is int and math.isfinite(number):
        return int(number)
    return number


@dataclass
class Table:
    name: str
    path: Path
    columns: list[str]  # as the file has them (renames applied)
    rows: dict[tuple, dict[str, Any]]
    renamed: dict[str, str]
    shared_keys: int = 0  # rows whose key columns repeat an earlier row's (key suffixed #2, #3 ...)


def table_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        for suffix in (".csv.gz", ".csv"):
            if path.name.endswith(suffix):
                name = path.name[: -len(suffix)]
                if name in found:
                    raise InputError(f"{folder}: both {found[name].name} and {path.name}: which is {name}?")
                found[name] = path
    if not found:
        raise InputError(f"{folder}: no tables (<table>.csv or <table>.csv.gz)")
    return found


def read_table(name: str, path: Path) -> Table:
    rule = RULES[name]
    types = column_types(name)
    defaults = column_defaults(name)
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            body = list(reader)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot be read ({e})") from None
    if not header:
        raise InputError(f"{path}: empty (not even a header)")
    renames = RENAMES.get(name, {})
    columns = [renames.get(c, c) for c in header]
    renamed = {c: renames[c] for c in header if c in renames}
    for key in rule.keys:
        if key not in columns and key not in defaults:
            raise InputError(f"{path}: no key column {key!r} (the {name} table's rows are identified by "
                             f"{', '.join(rule.keys)})")
    rows: dict[tuple, dict[str, Any]] = {}
    shared = 0
    for line, cells in enumerate(body, 2):
        if len(cells) != len(columns):
            raise InputError(f"{path}:{line}: {len(cells)} cells, the header has {len(columns)}")
        row = {c: parse(v, types.get(c, str), f"{path}:{line}: column {c}") for c, v in zip(columns, cells)}
        for c, v in defaults.items():
            row.setdefault(c, v)
        key = tuple(row[k] for k in rule.keys)
        if key in rows:  # the rule's keys do not identify this table's rows: matched in file order, and said so
            shared += 1
            key = (*key, f"#{sum(1 for k in rows if k[:len(rule.keys)] == key) + 1}")
        rows[key] = row
    return Table(name, path, columns, rows, renamed, shared)


@dataclass(frozen=True)
class Identity:
    """What produced a run's numbers: the backend (tensorrt / reference) and the device."""

    backend: str
    device: str
    label: str  # device.json's backend_label, or the two above in words
    source: str  # where it was read

    def text(self) -> str:
        return f"{self.label} (backend {self.backend}, device {self.device}; from {self.source})"


def identity(folder: Path, files: dict[str, Path]) -> Identity:
    device_json = folder / "device.json"
    if device_json.is_file():
        try:
            d = json.loads(device_json.read_text())
            return Identity(str(d["backend"]), str(d["device_name"]),
                            str(d.get("backend_label", f"{d['backend']} on {d['device_name']}")), str(device_json))
        except (ValueError, KeyError) as e:
            raise InputError(f"{device_json}: no backend and device_name ({e})") from None
    # from the tables' own columns (the direct-kernel table's backend cuda_direct is the GPU's, not the run's)
    backends: Counter[str] = Counter()
    devices: Counter[str] = Counter()
    for name, path in files.items():
        if name not in RULES:
            continue
        for row in read_table(name, path).rows.values():
            if row.get("backend") not in (None, "", "cuda_direct"):
                backends[str(row["backend"])] += 1
            if row.get("device_name"):
                devices[str(row["device_name"])] += 1
    if not backends:
        raise InputError(f"{folder}: no device.json and no table with a backend column")
    if len(backends) > 1:
        raise InputError(f"{folder}: rows of several backends ({', '.join(sorted(backends))}): one run per folder")
    backend = backends.most_common(1)[0][0]
    device = devices.most_common(1)[0][0] if devices else "unknown device"
    return Identity(backend, device, f"{backend} on {device}", "the tables' backend and device_name columns")


# --- comparing ---------------------------------------------------------------------------------------

def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def equal(a: Any, b: Any) -> bool:
    if _nan(a) and _nan(b):
        return True
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return a == b


@dataclass(frozen=True)
class Judged:
    key: dict[str, Any]
    column: str
    old: float
    new: float
    ratio: float
    allowed: float  # the largest |new - old| within noise
    excess: float  # |new - old| / allowed: above 1, outside
    context: str  # the row's context columns that changed (e.g. its kernel)


@dataclass
class TableReport:
    name: str
    old_rows: int
    new_rows: int
    matched: int
    only_old: list[dict[str, Any]]
    only_new: list[dict[str, Any]]
    added: list[str]
    removed: list[str]
    renamed: dict[str, str]
    judged: list[Judged]
    exact_changes: dict[str, list[str]]  # column -> "key: old -> new"
    context_changes: dict[str, str]  # column -> summary
    numbers_judged: bool
    shared_keys: tuple[int, int] = (0, 0)  # OLD's and NEW's rows that repeat an earlier row's key

    @property
    def outside(self) -> list[Judged]:
        return sorted((j for j in self.judged if j.excess > 1), key=lambda j: -j.excess)

    def differs(self, strict: bool) -> bool:
        return bool(self.only_old or self.removed or self.exact_changes or (self.numbers_judged and self.outside)
                    or (strict and self.only_new))


def allowed_difference(old: dict, new: dict, column: str, m: Measured, k: float, floor: float) -> float:
    def se(row: dict) -> float:
        if m.se is None:
            return 0.0
        v = row.get(m.se, math.nan)
        v = 0.0 if not isinstance(v, (int, float)) or _nan(v) else abs(float(v))
        return v * abs(float(row[column])) if m.relative else v

    abs_floor = ABS_FLOOR_US if column.endswith("_us") else 0.0
    return k * math.hypot(se(old), se(new)) + max(floor * abs(float(old[column])), abs_floor)


def _short(v: Any) -> str:
    text = f"{v:.6g}" if isinstance(v, float) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_text(key: dict[str, Any]) -> str:
    return " ".join(_short(v) for v in key.values())


def _context_summary(column: str, pairs: list[tuple[Any, Any]]) -> str:
    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if all(number(a) and number(b) for a, b in pairs):
        ratios = sorted(b / a for a, b in pairs if a and not _nan(a) and not _nan(b))
        if ratios:
            mid = ratios[len(ratios) // 2]
            return f"{len(pairs)} rows changed; NEW/OLD {ratios[0]:.4g} .. {ratios[-1]:.4g} (median {mid:.4g})"
    common = Counter((_short(a), _short(b)) for a, b in pairs).most_common(EXAMPLES)
    shown = "; ".join(f"{a!r} -> {b!r} ({n})" for (a, b), n in common)
    return f"{len(pairs)} rows changed: {shown}"


def compare_table(old: Table, new: Table, k: float, floor: float, numbers_judged: bool,
                  unchecked: frozenset[str] = frozenset()) -> TableReport:
    """``unchecked``: exact columns whose difference the header already states (backend, when allowed to differ)."""
    rule = RULES[old.name]
    keys = rule.keys
    old_keys, new_keys = set(old.rows), set(new.rows)
    both = [key for key in old.rows if key in new_keys]
    removed = [c for c in old.columns if c not in new.columns]
    added = [c for c in new.columns if c not in old.columns]
    shared = [c for c in new.columns if c in old.columns and c not in keys]
    judged: list[Judged] = []
    exact_changes: dict[str, list[str]] = {}
    context_pairs: dict[str, list[tuple[Any, Any]]] = {}
    se_columns = {m.se for m in rule.measured.values() if m.se}
    context_columns = [c for c in shared if c not in rule.measured and c not in rule.exact and c not in se_columns]
    for key in both:
        o, n = old.rows[key], new.rows[key]
        key_dict = _key_dict(keys, key)
        changed_context = [c for c in context_columns if not equal(o.get(c), n.get(c))]
        for c in changed_context:
            context_pairs.setdefault(c, []).append((o[c], n[c]))
        for c in rule.exact:
            if c in shared and c not in unchecked and not equal(o[c], n[c]):
                exact_changes.setdefault(c, []).append(f"{_key_text(key_dict)}: {_short(o[c])} -> {_short(n[c])}")
        for c, m in rule.measured.items():
            if c not in shared:
                continue
            a, b = o[c], n[c]
            if _nan(a) and _nan(b):
                continue
            if _nan(a) or _nan(b):  # a number appeared or went: not noise
                exact_changes.setdefault(c, []).append(f"{_key_text(key_dict)}: {_short(a)} -> {_short(b)}")
                continue
            allowed = allowed_difference(o, n, c, m, k, floor)
            diff = abs(float(b) - float(a))
            excess = diff / allowed if allowed > 0 else (0.0 if diff == 0 else math.inf)
            ratio = float(b) / float(a) if a else math.nan
            context = ", ".join(f"{c2} {_short(o[c2])} -> {_short(n[c2])}" for c2 in changed_context
                                if c2 in ("kernel", "kernel_a", "kernel_name", "device_name", "throttled"))
            judged.append(Judged(key_dict, c, float(a), float(b), ratio, allowed, excess, context))
    for c in rule.measured:  # a measured column's SE changes with it: not listed as context
        context_pairs.pop(c, None)
    return TableReport(
        name=old.name, old_rows=len(old.rows), new_rows=len(new.rows), matched=len(both),
        only_old=[_key_dict(keys, key) for key in old.rows if key not in new_keys],
        only_new=[_key_dict(keys, key) for key in new.rows if key not in old_keys],
        added=added, removed=removed, renamed=old.renamed, judged=judged, exact_changes=exact_changes,
        context_changes={c: _context_summary(c, p) for c, p in sorted(context_pairs.items())},
        numbers_judged=numbers_judged, shared_keys=(old.shared_keys, new.shared_keys))


def _key_dict(keys: tuple[str, ...], key: tuple) -> dict[str, Any]:
    out = dict(zip(keys, key))
    if len(key) > len(keys):
        out["occurrence"] = key[-1]
    return out


# --- the report --------------------------------------------------------------------------------------

def chance_rate(k: float) -> float:
    """P(a row outside) if the standard errors were exact and nothing drifted: the normal two-sided tail."""
    return float(2 * sps.norm.sf(k))


def _grouped(rows: list[dict[str, Any]], group: tuple[str, ...]) -> str:
    """Rows counted by the table's group columns (Rule.group, or its first key column)."""
    counts = Counter(" ".join(str(r[g]) for g in group) for r in rows)
    return f"by {' and '.join(group)}: " + ", ".join(f"{v} ({n})" for v, n in counts.most_common())


def table_lines(r: TableReport, k: float, strict: bool) -> list[str]:
    keys = RULES[r.name].keys
    group = RULES[r.name].group or keys[:1]
    outside = r.outside
    n = len(r.judged)
    verdict = "DIFFERS" if r.differs(strict) else "same"
    head = (f"- **{r.name}: {verdict}**: {r.matched} rows matched (OLD {r.old_rows}, NEW {r.new_rows}); "
            f"{len(r.only_old)} only in OLD, {len(r.only_new)} only in NEW; ")
    if not n:
        head += "no measured column judged"
    elif not r.numbers_judged:
        head += f"{n} values not judged (another backend or device)"
    else:
        head += f"{n - len(outside)} of {n} values within noise, {len(outside)} outside"
    if r.exact_changes:
        head += f"; exact columns changed: {', '.join(f'{c} ({len(v)})' for c, v in r.exact_changes.items())}"
    lines = [head]
    if any(r.shared_keys):
        lines.append(f"  - rows whose key ({', '.join(keys)}) repeats an earlier row's: OLD {r.shared_keys[0]}, "
                     f"NEW {r.shared_keys[1]}; matched in file order (compare_runs.RULES should name the column "
                     "that tells them apart)")
    if r.removed:
        lines.append(f"  - columns removed: {', '.join(r.removed)}")
    if r.added:
        lines.append(f"  - columns added: {', '.join(r.added)}")
    if r.renamed:
        lines.append(f"  - OLD columns read under their new names: {', '.join(f'{a} -> {b}' for a, b in r.renamed.items())}")
    if r.only_old:
        lines.append(f"  - only in OLD ({len(r.only_old)}), {_grouped(r.only_old, group)}; e.g. "
                     + "; ".join(_key_text(x) for x in r.only_old[:EXAMPLES]))
    if r.only_new:
        lines.append(f"  - only in NEW ({len(r.only_new)}), {_grouped(r.only_new, group)}; e.g. "
                     + "; ".join(_key_text(x) for x in r.only_new[:EXAMPLES]))
    for c, changes in r.exact_changes.items():
        lines.append(f"  - exact column {c} changed in {len(changes)} rows: " + "; ".join(changes[:EXAMPLES]))
    if r.numbers_judged and outside:
        rate = chance_rate(k)
        tail = float(sps.binom.sf(len(outside) - 1, n, rate))
        lines.append(f"  - by chance alone (exact SEs, no drift) {rate * n:.2f} rows would be outside; "
                     f"P(>= {len(outside)}) = {tail:.2g}")
        lines.append(f"  - outside, {_grouped([j.key for j in outside], group)}")
        lines.append(f"  - the worst {min(WORST, len(outside))} (key, column, OLD -> NEW, NEW/OLD, the difference "
                     "allowed; [context that changed in the row]):")
        lines += [f"    - {_key_text(j.key)} {j.column} {j.old:.4g} -> {j.new:.4g} (x{j.ratio:.4f}, allowed "
                  f"±{j.allowed:.3g})" + (f" [{j.context}]" if j.context else "") for j in outside[:WORST]]
    elif not r.numbers_judged and r.judged:
        ratios = sorted(j.ratio for j in r.judged if not math.isnan(j.ratio))
        if ratios:
            lines.append(f"  - NEW/OLD of the measured values (not judged): {ratios[0]:.4g} .. {ratios[-1]:.4g} "
                         f"(median {ratios[len(ratios) // 2]:.4g})")
    for c, text in r.context_changes.items():
        lines.append(f"  - context {c}: {text}")
    return lines


@dataclass
class Outcome:
    status: int
    lines: list[str]


def compare_runs(old_dir: Path, new_dir: Path, *, k: float = K, floor: float = FLOOR, strict: bool = False,
                 allow_backend_mismatch: bool = False, allow_device_mismatch: bool = False) -> Outcome:
    old_files, new_files = table_files(old_dir), table_files(new_dir)
    old_id, new_id = identity(old_dir, old_files), identity(new_dir, new_files)
    numbers_judged = True
    unchecked: frozenset[str] = frozenset()
    notes: list[str] = []
    if old_id.backend != new_id.backend:
        if not allow_backend_mismatch:
            raise InputError(f"OLD is {old_id.text()}, NEW is {new_id.text()}: another backend's numbers are no "
                             "measure of these (--allow-backend-mismatch compares rows, columns and exact columns)")
        numbers_judged, unchecked = False, frozenset({"backend"})
        notes.append("**Backends differ**: the numbers are shown, not judged (nor the rows' backend column).")
    elif old_id.device != new_id.device:
        if not allow_device_mismatch:
            raise InputError(f"OLD is {old_id.text()}, NEW is {new_id.text()}: another device's numbers are no "
                             "measure of these (--allow-device-mismatch compares rows, columns and exact columns)")
        numbers_judged = False
        notes.append("**Devices differ**: the numbers are shown, not judged.")
    reports: list[TableReport] = []
    skipped: list[str] = []
    for name in sorted(set(old_files) & set(new_files)):
        if name not in RULES:
            skipped.append(f"{name} ({NOT_COMPARED.get(name, 'no row rule for this table in compare_runs.RULES')})")
            continue
        reports.append(compare_table(read_table(name, old_files[name]), read_table(name, new_files[name]),
                                     k, floor, numbers_judged, unchecked))
    only_old = sorted(set(old_files) - set(new_files))
    only_new = sorted(set(new_files) - set(old_files))
    differing = [r.name for r in reports if r.differs(strict)] + [f"{n} (only in OLD)" for n in only_old]
    differing += [f"{n} (only in NEW)" for n in only_new] if strict else []
    differs = bool(differing)
    lines = ["# compare_runs: OLD against NEW", "",
             f"- OLD: `{old_dir}`: {old_id.text()}", f"- NEW: `{new_dir}`: {new_id.text()}",
             f"- noise rule: |new - old| <= {k:g} x sqrt(se_old^2 + se_new^2) + max({floor:.1%} x |old|, "
             f"{ABS_FLOOR_US:g} us for columns in us)", *[f"- {n}" for n in notes], "",
             f"**{'DIFFERENCES' if differs else 'THE SAME'}** ({len(reports)} tables compared"
             + (f"; differing: {', '.join(differing)}" if differing else "") + ")", ""]
    for r in reports:
        lines += table_lines(r, k, strict)
    if only_old:
        lines.append(f"- tables only in OLD (a difference): {', '.join(only_old)}")
    if only_new:
        lines.append(f"- tables only in NEW: {', '.join(only_new)}")
    if skipped:
        lines.append(f"- not compared: {'; '.join(skipped)}")
    return Outcome(1 if differs else 0, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, help="the reference run's tables folder")
    parser.add_argument("new", type=Path, help="the new run's tables folder (results/<experiment>/tables)")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--k", type=float, default=K, help=f"combined standard errors allowed (default {K:g})")
    parser.add_argument("--floor", type=float, default=FLOOR,
                        help=f"relative drift allowed between two runs (default {FLOOR:g})")
    parser.add_argument("--strict", action="store_true", help="rows and tables only in NEW are differences too")
    parser.add_argument("--allow-backend-mismatch", action="store_true",
                        help="compare a CPU reference run with a GPU run (rows, columns, exact columns; numbers not judged)")
    parser.add_argument("--allow-device-mismatch", action="store_true",
                        help="compare runs of two GPU models (rows, columns, exact columns; numbers not judged)")
    args = parser.parse_args(argv)
    try:
        outcome = compare_runs(args.old, args.new, k=args.k, floor=args.floor, strict=args.strict,
                               allow_backend_mismatch=args.allow_backend_mismatch,
                               allow_device_mismatch=args.allow_device_mismatch)
    except InputError as e:
        print(f"compare_runs: bad input: {e}", file=sys.stderr)
        return 2
    text = "\n".join(outcome.lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
