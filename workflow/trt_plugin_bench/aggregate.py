"""The aggregate rule: per-sweep CSVs -> one tidy table per measurement kind, plus the device record."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from .analysis import copy_ceiling, write_summary
from .provenance import git_commit, plugin_source_hash
from .records import TABLES, columns


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


def aggregate(inputs: dict[str, list[Path]], device_json: Path, out_dir: Path, skipped: list[str]) -> dict:
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
    return device
