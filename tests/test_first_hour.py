"""A newcomer's first hour, replayed on a fresh copy of the project (issue 25), on the CPU backend:

1. command 1, `make pipeline` (with tests/configs/small.yaml through SNAKEMAKE_ARGS, as the README
   allows): one line per job, a console under 20 KB, a closing line naming summary.md;
2. the "your own plugin" command (the BYO example at the small config's size) and back: no result
   of the first config changed (every file hashed), nothing to rerun (`snakemake -n`);
3. a truncated engine: the run that finds it fails with its one-line reason printed last, and a
   plain rerun (no targets, no -R) restores every file, the tables' rows with them;
4. Ctrl-C (SIGINT to the process group of a running `make pipeline`, then to `make` alone): the
   run stops saying "interrupted" and naming `make pipeline`, and the rerun completes.

Command 2 (`make test`) is not replayed here (it would run this test again): CI's own `make test`
(.ci/run) is that step. The README's commands are run by the doc-commands test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from project_copy import ROOT, copy_project

SMALL = "--configfile tests/configs/small.yaml"
BYO = "--configfile tests/configs/byo-tiny.yaml"
RESULTS = Path("results") / "small"
CONSOLE_LIMIT = 20_000  # bytes (issue 25: the console of a successful run)


def byo_tiny_config() -> dict:
    """examples/byo-plugin/config.yaml (its experiment name, operators and compare pair) at the
    small config's size: the command a newcomer types, with SNAKEMAKE_ARGS naming this file."""
    cfg = yaml.safe_load((ROOT / "examples" / "byo-plugin" / "config.yaml").read_text())
    small = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg.update(backend="reference", operators=cfg["operators"][:2], profiles=small["profiles"], timing=small["timing"],
               threads={**small["threads"], "profile": "tiny"}, calibration=small["calibration"],
               reference=small["reference"], profile={"enabled": False}, compare={**cfg["compare"], "extra_shapes": {}})
    return cfg


def fresh_copy(tmp: Path) -> Path:
    project = copy_project(tmp / "project")
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)
        os.utime(project / name, (0, 0))  # older than the venv's marker: make never reinstalls it
    shutil.copytree(ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("build", "__pycache__"))
    (project / "tests" / "configs" / "byo-tiny.yaml").write_text(yaml.safe_dump(byo_tiny_config(), sort_keys=False))
    (project / ".venv").symlink_to(Path(sys.executable).parent.parent)  # the installed venv, shared
    return project


def env(project: Path) -> dict:
    """A newcomer's shell: no make of ours around it (CI runs this inside `make test`, whose MAKELEVEL and
    MAKEFLAGS would make the inner make print "Entering/Leaving directory" lines after the console's own)."""
    outer = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    return {**{k: v for k, v in os.environ.items() if k not in outer},
            "PYTHONPATH": str(project / "workflow"), "PYTHONUNBUFFERED": "1"}


def make(project: Path, args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "pipeline", "CORES=2", f"SNAKEMAKE_ARGS={args}"], cwd=project, env=env(project),
                          capture_output=True, text=True, timeout=timeout)


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def dry_run(project: Path, args: str) -> str:
    # the venv's python, as `make pipeline` runs it: the rules' command lines name it (a param)
    python = project / ".venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "snakemake", "-n", "--cores", "1", *args.split()], cwd=project,
                          env=env(project), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def interrupt(project: Path, whole_group: bool) -> tuple[int, str]:
    """`make pipeline` started, interrupted once a job has finished: SIGINT to its process group
    (Ctrl-C in a terminal) or to the make process alone. Returns its exit status and console."""
    proc = subprocess.Popen(["make", "pipeline", "CORES=2", f"SNAKEMAKE_ARGS={SMALL}"], cwd=project, env=env(project),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    console = []
    for line in proc.stdout:
        console.append(line)
        if " ok " in line:  # a job finished: the run is under way
            break
    if whole_group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    console += list(proc.stdout)
    return proc.wait(timeout=300), "".join(console)


@pytest.mark.slow
def test_first_hour(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    project = fresh_copy(tmp_path)
    plan = subprocess.run(["make", "-n", "pipeline"], cwd=project, capture_output=True, text=True, env=env(project))
    if "pip install" in plan.stdout:
        pytest.skip("the venv is not installed with make (no .venv/.installed): `make pipeline` would install it")
    timings = {}

    # 1. command 1
    start = time.monotonic()
    first = make(project, SMALL)
    timings["command 1"] = time.monotonic() - start
    console = first.stdout + first.stderr
    assert first.returncode == 0, console[-4000:]
    assert len(console.encode()) < CONSOLE_LIMIT, f"{len(console.encode())} bytes"
    assert "--settings-json" not in console and "Error in rule" not in console
    assert console.count(" ok ") >= 40  # one line per job
    assert f"{RESULTS}/tables/summary.md" in console.strip().splitlines()[-1]
    assert (project / RESULTS / "report.html").stat().st_size > 10_000
    before = hashes(project / RESULTS)

    # 2. the BYO command and back: nothing of the first config changed or reruns
    byo = make(project, BYO)
    assert byo.returncode == 0, (byo.stdout + byo.stderr)[-4000:]
    assert (project / "results" / "byo-hardswish" / "tables" / "summary.md").exists()
    assert "hardswish" in (project / "results" / "byo-hardswish" / "tables" / "latency.csv").read_text()
    assert hashes(project / RESULTS) == before, "the BYO run changed the small config's results"
    assert "Nothing to be done" in dry_run(project, SMALL)

    # 3. a truncated engine: the run that finds it fails saying why (last), a plain rerun restores all
    engine = project / RESULTS / "engines" / "swish_plugin__fp32__tiny.engine"
    engine.write_bytes(engine.read_bytes()[: engine.stat().st_size // 2])
    failed = make(project, SMALL)
    console = failed.stdout + failed.stderr
    assert failed.returncode != 0
    tail = [ln for ln in console.strip().splitlines() if not ln.startswith("make")]
    assert "swish_plugin__fp32__tiny.engine" in tail[-1] and "error:" in tail[-1], console[-3000:]
    assert not engine.exists()
    latency_table = project / RESULTS / "tables" / "latency.csv"
    assert not latency_table.exists(), "tables/ keeps the rows of a sweep whose file is gone"
    again = make(project, SMALL)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert set(hashes(project / RESULTS)) >= set(before), "a plain rerun left files missing"
    lat = pd.read_csv(latency_table)
    assert ((lat["operator"] == "swish_plugin") & (lat["dtype"] == "fp32")).any()
    assert "Nothing to be done" in dry_run(project, SMALL)

    # 4. Ctrl-C, to the process group, then to make alone (the next run, interrupted too), then a
    # rerun that completes
    for whole_group in (True, False):
        for f in (project / RESULTS / "threads").glob("*.csv"):  # work for the next run to do
            f.unlink()
        rc, console = interrupt(project, whole_group)
        assert rc != 0, console[-3000:]
        assert "interrupted" in console and "make pipeline" in console, console[-3000:]
        assert "Error in rule" not in console and "message: None" not in console, console[-3000:]
    done = make(project, SMALL)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "Nothing to be done" in dry_run(project, SMALL)
    print(f"first hour: command 1 took {timings['command 1']:.0f} s on this machine")
