#!/usr/bin/env python3
"""Run a benchmark matrix through SLURM and merge its cells into one table (matrix.yaml says what a
cell is). Each cell: `snakemake --executor slurm --profile profiles/slurm` in <out>/<cell>, with the
cell's config, its GPU rules asking for the cell's GPU kind, MLFLOW_EXPERIMENT_NAME the matrix's
experiment; the cells run at once. Then <out>/matrix_summary.csv and .md: per cell and state, the
median latency (summary.md's number: the median over repeats), with the device facts and the
MLflow tags the verdict compares runs by (tpb.gpu, tpb.driver, tpb.tensorrt, tpb.setup_hash;
tpb.plugin_hash the plugin revision), read from each cell's parent run on the tracking server.

    python workflow/scripts/cluster/matrix.py --matrix workflow/scripts/cluster/matrix.yaml --out matrix \
        [-- extra snakemake arguments for every cell]
    python workflow/scripts/cluster/matrix.py --matrix ... --out matrix --merge-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "workflow"))

from trt_plugin_bench.commands.dag import DEFAULT_EXPERIMENT, results_dir  # noqa: E402
from trt_plugin_bench.report.analysis import by_state  # noqa: E402

PROFILE = ROOT / "profiles" / "slurm"
# the verdict's like-with-like tags (verdict.SAME_SETUP_TAGS) and the plugin revision's
TAG_COLUMNS = {"setup_hash": "tpb.setup_hash", "backend": "tpb.backend", "gpu": "tpb.gpu", "driver": "tpb.driver",
               "tensorrt": "tpb.tensorrt", "plugin_hash": "tpb.plugin_hash"}


@dataclass(frozen=True)
class Cell:
    name: str
    configfile: Path
    gpu_model: str | None
    python: str
    checkout: Path

    def results(self, workdir: Path) -> Path:
        """The cell's results folder in its working directory: results/<the config's experiment>."""
        experiment = (yaml.safe_load(self.configfile.read_text()) or {}).get("experiment", DEFAULT_EXPERIMENT)
        return workdir / results_dir(experiment)


def read_matrix(path: Path) -> tuple[str, list[Cell]]:
    data = yaml.safe_load(Path(path).read_text())
    base = Path(path).resolve().parent
    cells = []
    for name, spec in data["cells"].items():
        config = (base / spec["configfile"]).resolve()
        if not config.is_file():
            raise SystemExit(f"matrix {path}: cell {name}: configfile {config} does not exist")
        cells.append(Cell(name, config, spec.get("gpu_model"), spec.get("python") or sys.executable,
                          Path(spec.get("checkout") or ROOT).resolve()))
    return data["experiment"], cells


def gpu_rules() -> list[str]:
    prof = yaml.safe_load((PROFILE / "config.yaml").read_text())
    return [rule for rule, res in prof.get("set-resources", {}).items() if res.get("gpu")]


def cell_command(cell: Cell, workdir: Path, extra: list[str]) -> list[str]:
    cmd = [cell.python, "-m", "snakemake", "--executor", "slurm", "--profile", str(PROFILE), "--workflow-profile", "none",
           "--snakefile", str(cell.checkout / "Snakefile"), "--configfile", str(cell.configfile),
           "--directory", str(workdir), "--slurm-jobname-prefix", cell.name.replace(".", "_")]
    if cell.gpu_model:  # this cell's GPU kind, for its GPU rules only (a CPU rule asks for no GPU)
        cmd += ["--set-resources", *(f"{rule}:gpu_model={cell.gpu_model}" for rule in gpu_rules())]
    return cmd + extra


def run_cells(experiment: str, cells: list[Cell], out: Path, extra: list[str]) -> None:
    env = {**os.environ, "MLFLOW_EXPERIMENT_NAME": experiment}
    procs = {}
    for cell in cells:
        workdir = out / cell.name
        workdir.mkdir(parents=True, exist_ok=True)
        log = (out / f"{cell.name}.snakemake.log").open("w")
        print(f"matrix: cell {cell.name}: {' '.join(cell_command(cell, workdir, extra))}", file=sys.stderr)
        procs[cell.name] = (subprocess.Popen(cell_command(cell, workdir, extra), stdout=log, stderr=subprocess.STDOUT,
                                             env=env), log)
    failed = []
    for name, (proc, log) in procs.items():
        if proc.wait():
            failed.append(name)
        log.close()
    for name in failed:
        tail = (out / f"{name}.snakemake.log").read_text().splitlines()[-30:]
        print(f"matrix: cell {name} failed; the end of {out / name}.snakemake.log:\n" + "\n".join(tail), file=sys.stderr)
    if failed:
        raise SystemExit(f"matrix: cells failed: {', '.join(failed)} (the others' results are kept under {out})")


def run_tags(results: Path) -> dict[str, str]:
    """The verdict's tags of the cell's parent run, from the tracking server it was logged to."""
    from mlflow.tracking import MlflowClient

    logged = json.loads((results / "mlflow" / "logged.json").read_text())
    tags = MlflowClient(logged["tracking_uri"]).get_run(logged["parent_run_id"]).data.tags
    return {"run_id": logged["parent_run_id"], "experiment": logged["experiment"],
            **{col: tags.get(tag, "") for col, tag in TAG_COLUMNS.items()}}


def merge(cells: list[Cell], out: Path) -> pd.DataFrame:
    frames = []
    for cell in cells:
        workdir = out / cell.name
        states = by_state(pd.read_csv(cell.results(workdir) / "tables" / "latency.csv"))
        for col, value in reversed(run_tags(cell.results(workdir)).items()):
            if col not in states.columns:  # by_state's backend column is the run's tpb.backend
                states.insert(0, col, value)
        states.insert(0, "cell", cell.name)
        frames.append(states)
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(out / "matrix_summary.csv", index=False)
    cols = ["cell", "gpu", "tensorrt", "plugin_hash", "operator", "dtype", "profile", "shape", "mode", "median_us"]
    lines = ["# Benchmark matrix: median latency per cell and state (us)", "",
             f"One MLflow experiment ({', '.join(sorted(set(table['experiment'])))}); cells with equal setup_hash, gpu, "
             "driver and TensorRT measured the same setup (the verdict compares those only).", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if c == "median_us" else str(r[c])[:40] for c in cols) + " |")
    (out / "matrix_summary.md").write_text("\n".join(lines) + "\n")
    return table


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--matrix", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--merge-only", action="store_true", help="merge the cells' tables already under --out")
    args = p.parse_args(own)
    experiment, cells = read_matrix(args.matrix)
    out = args.out.resolve()
    if not args.merge_only:
        run_cells(experiment, cells, out, extra)
    table = merge(cells, out)
    print(f"matrix: {len(cells)} cells, {len(table)} states: {out / 'matrix_summary.csv'}, {out / 'matrix_summary.md'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
