"""workflow/scripts/gpu_suite.sh, the GPU suite in shards (device_session.sh's suite step), on the CPU with a test
file of its own whose tests are marked gpu: one passes, one fails, one is skipped, one crashes its process (a
segfault, as a row-norm engine test did on the H100 on 2026-12-07, when the suite could not go on past it), and
more that run after the crash. Every test gets its outcome, the crash is named, the rest still runs, and a second
call has nothing left to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TESTS = '''
import ctypes
import pytest

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("k", range(3))
def test_before(k):
    assert k >= 0


def test_fails():
    assert 1 == 2, "planted"


def test_crashes():
    ctypes.string_at(0)  # a segfault: the whole process ends here


def test_skipped():
    pytest.skip("planted skip")


@pytest.mark.parametrize("k", range(3))
def test_after(k):
    assert k >= 0
'''


def _run(state: Path, tests: Path, **env: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    # from the planted file's folder, as the device runs it from the project root: node ids relative to it
    return subprocess.run(["bash", str(ROOT / "workflow" / "scripts" / "gpu_suite.sh"), str(state)], cwd=tests.parent,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path, "SUITE_FILES": tests.name, **env})


def test_every_test_gets_its_outcome_and_a_crash_does_not_hide_the_rest(tmp_path: Path) -> None:
    tests = tmp_path / "suite_case" / "test_planted.py"
    tests.parent.mkdir()
    tests.write_text(TESTS)
    state = tmp_path / "state"
    first = _run(state, tests, SHARDS="1")  # one shard: the tests after the crash need a second round
    assert first.returncode == 1, first.stdout + first.stderr
    done = dict(line.split("\t") for line in (state / "done.txt").read_text().splitlines())
    by_name = {k.split("::")[-1]: v for k, v in done.items()}
    assert by_name == {"test_before[0]": "PASSED", "test_before[1]": "PASSED", "test_before[2]": "PASSED",
                       "test_fails": "FAILED", "test_crashes": "CRASHED", "test_skipped": "SKIPPED",
                       "test_after[0]": "PASSED", "test_after[1]": "PASSED", "test_after[2]": "PASSED"}, done
    assert "passed 6, failed 1, errors 0, crashed 1, skipped 1; 0 left; 2 round(s)" in first.stdout, first.stdout
    assert "test_crashes\tCRASHED" in first.stdout and "test_fails\tFAILED" in first.stdout, first.stdout
    again = _run(state, tests, SHARDS="3")
    assert again.returncode == 1 and "0 left; 0 round(s)" in again.stdout, again.stdout + again.stderr


def test_a_call_without_time_leaves_the_tests_for_the_next(tmp_path: Path) -> None:
    tests = tmp_path / "suite_case" / "test_planted.py"
    tests.parent.mkdir()
    tests.write_text(TESTS.replace("ctypes.string_at(0)", "pass"))
    state = tmp_path / "state"
    cut = _run(state, tests, SUITE_SECONDS="10")  # under the 30 s a round needs: nothing starts
    assert cut.returncode == 2 and "9 left" in cut.stdout, cut.stdout + cut.stderr
    rest = _run(state, tests, SHARDS="2")
    assert rest.returncode == 1 and "passed 7, failed 1" in rest.stdout and "0 left" in rest.stdout, rest.stdout
