"""`make pipeline`'s console (trt_plugin_bench.commands.console) read from Snakemake 9 and 7.32 consoles, and
every output of the DAG under results/<experiment>/ (dry runs, seconds)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from trt_plugin_bench.commands import dag
from trt_plugin_bench.commands.console import Console, rerun_command

ROOT = Path(__file__).resolve().parents[1]

SNAKEMAKE_9 = """\
Using workflow specific profile profiles/default for setting default command line arguments.
trt-plugin-bench: results under results/small/
trt-plugin-bench: backend reference (CPU, numpy): timings are CPU timings, not TensorRT
Building DAG of jobs...
Job stats:
job               count
--------------  -------
build_engine          1
latency               1
total                 3

Select jobs to execute...
Execute 1 jobs...

[Sun Dec  6 12:14:00 2026]
localrule build_engine:
    input: results/small/build/manifest.json
    output: results/small/engines/relu__fp32__tiny.engine
    log: results/small/logs/build/relu__fp32__tiny.log
    jobid: 3
    reason: Missing output files: results/small/engines/relu__fp32__tiny.engine
    wildcards: op=relu, dtype=fp32, profile=tiny
    resources: tmpdir=/tmp
Shell command: python tpb.py build --settings-json '{"profiles": {"tiny": {"max": [64, 256]}}}' > log 2>&1
[Sun Dec  6 12:14:01 2026]
Finished jobid: 3 (Rule: build_engine)
1 of 3 steps (33%) done
[Sun Dec  6 12:14:01 2026]
localrule latency:
    input: results/small/engines/relu__fp32__tiny.engine
    log: results/small/logs/latency/relu__fp32__tiny.log
    jobid: 2
    wildcards: op=relu, dtype=fp32, profile=tiny
[Sun Dec  6 12:14:02 2026]
Error in rule latency:
    message: None
    jobid: 2
    input: results/small/engines/relu__fp32__tiny.engine
    log: results/small/logs/latency/relu__fp32__tiny.log (check log file(s) for error details)
    shell:
        python tpb.py latency --settings-json '{"timing": {}}' > log 2>&1
        (one of the commands exited with non-zero exit code; note that snakemake uses bash strict mode!)

Removing output files of failed job latency since they might be corrupted:
results/small/latency/relu__fp32__tiny.csv
trt-plugin-bench: removed 12 aggregated tables under results/small/tables (a sweep's file they were built from is gone); the next run restores that file and rewrites them
trt-plugin-bench: why it failed, from each failed job's log:
  results/small/logs/latency/relu__fp32__tiny.log: tpb latency: error: relu__fp32__tiny.engine is corrupt
Shutting down, this might take some time.
Exiting because a job execution failed. Look below for error messages
Complete log(s): /p/.snakemake/log/2026-12-06T121353.snakemake.log
"""

SNAKEMAKE_7 = """\
Building DAG of jobs...
[Sun Dec  6 12:14:00 2026]
rule build_engine:
    output: results/small/engines/relu__fp16__tiny.engine
    jobid: 5
    wildcards: op=relu, dtype=fp16, profile=tiny
    resources: tmpdir=/tmp

[Sun Dec  6 12:14:01 2026]
Finished job 5.
1 of 2 steps (50%) done
Complete log: .snakemake/log/2026-12-06T121400.snakemake.log
"""


def feed(text: str) -> tuple[Console, list[str]]:
    clock = iter(range(0, 1000, 2))
    con = Console(clock=lambda: float(next(clock)))
    out = [printed for line in text.splitlines() for printed in con.feed(line)]
    return con, out


def test_one_line_per_job_and_the_reason_last_snakemake_9() -> None:
    con, out = feed(SNAKEMAKE_9)
    assert out == [
        "trt-plugin-bench: backend reference (CPU, numpy): timings are CPU timings, not TensorRT",
        "[1/3] ok      build_engine  op=relu dtype=fp32 profile=tiny  (2.0 s)",
        "[1/3] FAILED  latency  op=relu dtype=fp32 profile=tiny  (2.0 s)",
        "        log: results/small/logs/latency/relu__fp32__tiny.log",
    ]
    assert not any("settings-json" in line for line in out)
    assert con.results == "results/small" and con.complete_log.endswith(".snakemake.log")
    assert con.reasons[0].startswith("trt-plugin-bench: removed 12 aggregated tables")
    assert con.reasons[-1].endswith("tpb latency: error: relu__fp32__tiny.engine is corrupt")
    assert [j.rule for j in con.failed] == ["latency"]


def test_snakemake_7_banners() -> None:
    con, out = feed(SNAKEMAKE_7)
    assert out == ["ok      build_engine  op=relu dtype=fp16 profile=tiny  (2.0 s)"]  # no job stats: no count
    assert con.finished == 1 and con.complete_log.startswith(".snakemake/log/")


def test_an_interrupted_job_is_stopped_not_failed() -> None:
    con = Console(clock=lambda: 0.0)
    con.interrupted = True
    out = [p for line in SNAKEMAKE_9.splitlines() for p in con.feed(line)]
    assert any(line.startswith("[1/3] stopped latency") for line in out)
    assert not any("FAILED" in line or "Error in rule" in line or "message: None" in line for line in out)


def test_the_rerun_command_keeps_the_arguments() -> None:
    assert rerun_command("make", []) == "make pipeline"
    assert rerun_command("make", ["--configfile", "x.yaml"]) == "make pipeline SNAKEMAKE_ARGS='--configfile x.yaml'"


@pytest.mark.parametrize("configfile, experiment", [("tests/configs/small.yaml", "small"),
                                                    ("examples/byo-plugin/config.yaml", "byo-hardswish"),
                                                    ("config.yaml", "default")])
def test_every_output_is_under_the_experiment_folder(configfile: str, experiment: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(ROOT / configfile),
                           "--directory", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    paths = [p for m in re.finditer(r"^\s+(?:output|log): (.*)$", proc.stdout, re.M) for p in m.group(1).split(", ")]
    assert len(paths) > 20
    root = dag.results_dir(experiment)
    assert root == f"results/{experiment}"
    assert all(p.startswith(root + "/") for p in paths), [p for p in paths if not p.startswith(root + "/")][:5]
    assert "trt-plugin-bench: results under results/" + experiment in proc.stdout + proc.stderr


def test_stale_tables_go_when_a_sweep_file_they_were_built_from_is_gone(tmp_path: Path) -> None:
    inputs = [tmp_path / "latency" / f"{k}.csv" for k in ("a", "b")]
    outputs = [tmp_path / "tables" / "latency.csv", tmp_path / "tables" / "summary.md"]
    for f in inputs + outputs:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    assert dag.stale_tables(list(map(str, inputs)), list(map(str, outputs))) == []
    assert all(f.exists() for f in outputs)
    inputs[1].unlink()  # a failed job's output removed
    assert dag.stale_tables(list(map(str, inputs)), list(map(str, outputs))) == list(map(str, outputs))
    assert not any(f.exists() for f in outputs)


def test_rule_all_asks_for_every_intermediate_file() -> None:
    """Snakemake reruns a job whose output is missing only where a job downstream must run: rule all
    names the engines, samples, per-sweep CSVs and the manifest, so a plain rerun restores them."""
    snakefile = (ROOT / "Snakefile").read_text()
    rule_all = snakefile[snakefile.index("rule all:"):snakefile.index("default_target")]
    for part in ("rules.aggregate.input", "dag.sample_outputs(RESULTS, KEYS)", "dag.engine_outputs(RESULTS, KEYS)",
                 "dag.manifest_outputs(RESULTS, KEYS)"):
        assert part in rule_all, part
    keys = ["relu__fp32__tiny", "swish_plugin__fp32__tiny"]
    assert dag.engine_outputs("results/x", keys[:1]) == [f"results/x/engines/relu__fp32__tiny{e}"
                                                         for e in (".engine", ".build.json", ".golden.npz")]
    assert dag.manifest_outputs("results/x", keys) == ["results/x/build/manifest.json"]
