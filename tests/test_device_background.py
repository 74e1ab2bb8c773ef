"""workflow/scripts/device_background.sh, on this machine: steps started in the background outlive the call that
started them, run one after another within the budget (the step running at its end cut off with what it started,
the rest skipped), and a poll returns the status and what the steps wrote under $TPB_BG_OUT."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "workflow" / "scripts" / "device_background.sh"


def bg(state: Path, *args: str, out: Path | None = None) -> subprocess.CompletedProcess:
    """The script run from a small repository of its own beside ``state`` (its snapshot too: never this checkout's)."""
    repo = state.parent / "repo"
    if not (repo / "workflow" / "scripts" / SCRIPT.name).is_file():
        (repo / "workflow" / "scripts").mkdir(parents=True)
        shutil.copy(SCRIPT, repo / "workflow" / "scripts" / SCRIPT.name)
    env = {**os.environ, "TPB_BG_DIR": str(state), "TPB_BG_TREE": str(state.parent / "tree")}
    if out is not None:
        env["OUT"] = str(out)
    return subprocess.run(["bash", str(repo / "workflow" / "scripts" / SCRIPT.name), *args], capture_output=True,
                          text=True, env=env, timeout=120)


def alive(pid: int, wait_s: float = 5.0) -> bool:
    """Whether process ``pid`` still runs (not gone, not a zombie) after up to ``wait_s``."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z":
            return False
        time.sleep(0.1)
    return True


def test_steps_run_within_the_budget_and_a_poll_brings_back_their_output(tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    started = bg(state, "start", "6", 'echo one; echo written > "$TPB_BG_OUT/a.txt"; echo also > "$OUT/b.txt"',
                 'sleep 60 & echo $! > "$TPB_BG_OUT/child.pid"; wait', "echo never")
    assert started.returncode == 0, started.stderr
    again = bg(state, "start", "6", "echo two")
    assert again.returncode == 1 and "still running" in again.stderr
    t0 = time.monotonic()
    polled = bg(state, "poll", "60", out=out)
    assert polled.returncode == 0, polled.stderr
    assert time.monotonic() - t0 < 30  # the budget (6 s) ended the steps, not the poll's 60 s
    status = polled.stdout
    assert "step 1 ended rc=0" in status, status
    assert "step 2 ended at the budget's end" in status and "cut off" in status, status
    assert "step 3 skipped: the budget is spent" in status, status
    assert "all steps ended" in status and "never" not in (state / "runner.log").read_text()
    assert (state / "step-1.log").read_text() == "one\n"
    with tarfile.open(out / "background.tgz") as tar:
        names = tar.getnames()
        assert "out/a.txt" in names and "status.txt" in names and "step-1.log" in names, names
        assert tar.extractfile("out/a.txt").read() == b"written\n"
        assert tar.extractfile("out/b.txt").read() == b"also\n"  # a step's $OUT is $TPB_BG_OUT
    assert (out / "status.txt").read_text().splitlines() == [ln for ln in status.splitlines() if ln.startswith("[")]
    child = int((state / "out" / "child.pid").read_text())
    assert not alive(child)  # what the cut-off step started went with it


def test_stop_ends_the_running_step_and_skips_the_rest(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert bg(state, "start", "300", "sleep 120", "echo never").returncode == 0
    time.sleep(1)
    stopped = bg(state, "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    polled = bg(state, "poll", "5")
    assert "all steps ended" in polled.stdout, polled.stdout
    assert not (state / "step-2.log").exists()


def test_bad_calls_say_what_is_wrong(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert bg(state, "start", "soon", "echo x").returncode == 2
    assert bg(state, "start", "10").returncode == 2
    polled = bg(state, "poll", "1")
    assert polled.returncode == 2 and "nothing was started" in polled.stderr
    assert bg(state, "nonsense").returncode == 2


def test_the_steps_run_in_a_snapshot_that_a_new_copy_of_the_tree_does_not_touch(tmp_path: Path) -> None:
    """Each device call copies the working tree anew; a step that read it meanwhile found files missing (the in_network
    DAG's compile_plugin, H100 2026-12-07). The steps run in a snapshot taken at start; it keeps its own results/ from
    one start to the next (a DAG resumes) and takes everything else from the tree again."""
    repo, state, tree = tmp_path / "repo", tmp_path / "state", tmp_path / "tree"
    (repo / "workflow" / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "workflow" / "scripts" / SCRIPT.name)
    (repo / "plugin").mkdir()
    (repo / "plugin" / "CMakeLists.txt").write_text("v1\n")
    (repo / "results").mkdir()
    (repo / "results" / "here.txt").write_text("the repository's own results: never copied\n")
    (repo / ".venv").mkdir()  # a virtual environment does not move: never copied
    env = {**os.environ, "TPB_BG_DIR": str(state), "TPB_BG_TREE": str(tree)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(repo / "workflow" / "scripts" / SCRIPT.name), *args], capture_output=True,
                              text=True, env=env, timeout=120)

    step = 'sleep 2; pwd; cat plugin/CMakeLists.txt; ls results; mkdir -p results; date >> results/dag.txt'
    assert run("start", "30", step).returncode == 0
    shutil.rmtree(repo / "plugin")  # the next call's copy, half done
    assert "all steps ended" in run("poll", "20").stdout
    log = (state / "step-1.log").read_text().splitlines()
    assert log[0] == str(tree) and log[1] == "v1", log
    assert "here.txt" not in log and not (tree / ".venv").exists()
    (repo / "plugin").mkdir()
    (repo / "plugin" / "CMakeLists.txt").write_text("v2\n")
    assert run("start", "30", step).returncode == 0
    assert "all steps ended" in run("poll", "20").stdout
    log = (state / "step-1.log").read_text().splitlines()
    assert log[1:] == ["v2", "dag.txt"], log  # the tree's new files, the snapshot's own results kept
    assert len((tree / "results" / "dag.txt").read_text().splitlines()) == 2
