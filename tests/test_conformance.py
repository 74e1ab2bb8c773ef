"""The conformance rule's logic on the CPU (trt_plugin_bench.commands.conformance): the checks' judging with
fakes for the GPU children, crashes and timeouts of a fresh process, the bad-plugin flags' mapping,
the report, table, summary and MLflow payload; and the bad-plugin fixture built host-only against
TensorRT 8.6 headers (skipped, saying why, where they or cmake/nvcc are missing)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from trt_plugin_bench.commands import conformance as cf  # noqa: E402
from trt_plugin_bench.commands.conformance import FAIL, NA, PASS  # noqa: E402

LIBRARY = "/nonexistent/libswish_plugin.so"


def _target(op: str = "swish_plugin", flag: str | None = None, tmp: Path | None = None) -> cf.Target:
    library = None
    if op != "relu":
        library = tmp / (cf.bad_library_name(flag, "libswish_plugin.so") if flag else "libswish_plugin.so")
        library.write_bytes(b"")
    return cf.make_target(op, library, flag)


# -- a fake GPU: the checks' children, modelling the plugin's faults ---------------------------------
class FakeGpu:
    """Answers the children's modes the way the real GPU would for the shipped plugin or a fixture
    flag: each fault shows where the real fault shows (conformance_gpu.py). ``broken`` adds faults
    by name to show that a plugin failing more than its flag's check is caught."""

    def __init__(self, faults: set[str] = frozenset(), crash_mode: str | None = None):
        self.faults = set(faults)
        self.crash_mode = crash_mode
        self.calls: list[str] = []

    def __call__(self, mode: str, payload: dict, timeout: float) -> cf.ChildResult:
        self.calls.append(mode)
        if mode == self.crash_mode:
            return cf.parse_child_output(-11, "", "Segmentation fault\n")
        flag = payload["target"]["flag"]
        faults = self.faults | ({flag} if flag else set())
        right = {"ok": True, "message": "ok"}
        wrong = {"ok": False, "message": "12 elements off their bound"}
        if mode == "load":
            way = payload["way"]
            name = payload["target"]["plugin_name"]
            count = 0 if (way == "dlopen" and "INIT_ONLY_REGISTRATION" in faults) else 1
            data = {"way": way, "counts": {f"{name} v1": count}, "log": []}
            if way == "load_library":
                data["unusable"] = "TensorRT 8.6.1 Python bindings over a 8.6.0 libnvinfer"
            return cf.ChildResult(True, data)
        if mode == "build":
            return cf.ChildResult(True, {"engine": payload["engine"]})
        if mode == "graph":
            sync = "SYNC_IN_ENQUEUE" in faults
            return cf.ChildResult(True, {
                "blocked_enqueue_s": 2.0 if sync else 0.0004, "blocker_timed_out": sync, "blocked_outputs_ok": True,
                "capture_error": "CudaError: cuStreamEndCapture failed: CUDA error 901" if sync else None,
                "graph_outputs": [] if sync else [{"what": "replay 1", **right}, {"what": "replay 2", **right}]})
        if mode == "profiles":
            bad = "GLOBAL_STATE" in faults
            return cf.ChildResult(True, {"contexts": 2, "profiles": [0, 1], "outputs": [
                {"what": "profile 0 at 16x1024", **(wrong if bad else right)}, {"what": "profile 1 at 2x96", **right}]})
        if mode == "clones":
            bad = "SHALLOW_CLONE" in faults
            return cf.ChildResult(True, {"outputs": [{"what": "A before B", **right}, {"what": "B", **right},
                                                     {"what": "A after B was destroyed", **(wrong if bad else right)}]})
        if mode == "fresh":
            return cf.ChildResult(True, {"outputs": [{"what": "1x8", **right}, {"what": "3x77", **right}]})
        if mode == "v2v3":
            return cf.ChildResult(True, {"shapes": ["1x8"], "differing": []})
        raise AssertionError(mode)


def _sanitizer_pass(target: cf.Target, engine: Path) -> cf.CheckOutcome:
    return cf.CheckOutcome("sanitizer", PASS, "memcheck: 0 errors")


def _clone_drive_pass(target: cf.Target) -> tuple[str, str]:
    return PASS, "clone lifecycle: bit-identical"


def _statuses(outcomes: list[cf.CheckOutcome]) -> dict[str, str]:
    return {o.check: o.status for o in outcomes}


def test_reference_backend_is_not_applicable_throughout(tmp_path: Path) -> None:
    outcomes = cf.run_conformance(_target(tmp=tmp_path), "reference", None, tmp_path, cf.Settings())
    assert [o.check for o in outcomes] == list(cf.CHECK_NAMES)
    assert {o.status for o in outcomes} == {NA}
    assert all("no TensorRT" in o.reason for o in outcomes)


def test_shipped_plugin_on_86(tmp_path: Path) -> None:
    gpu = FakeGpu()
    outcomes = cf.run_conformance(_target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(), child=gpu,
                                  sanitizer_check=_sanitizer_pass, clone_check=_clone_drive_pass)
    statuses = _statuses(outcomes)
    assert statuses == {"graph_capture": PASS, "multi_profile": PASS, "clone_independence": PASS,
                        "fresh_process_shapes": PASS, "library_loading": PASS, "v2_v3_identical": NA, "sanitizer": PASS}
    by = {o.check: o for o in outcomes}
    assert "TensorRT 8 has no IPluginV3" in by["v2_v3_identical"].reason
    # load_library that cannot work here is said, not passed off
    assert "load_library: not applicable: TensorRT 8.6.1 Python bindings" in by["library_loading"].reason
    assert gpu.calls.count("load") == 3 and "v2v3" not in gpu.calls


BYO = ROOT / "examples" / "byo-plugin" / "hardswish.yaml"


def test_an_external_plugin_is_checked_as_its_spec_says(tmp_path: Path) -> None:
    """Issue 23: the byo example's target is its own library, creator, namespace and init function;
    on TensorRT 10 a V2 plugin without a V3 version is n/a for check 6 (before: a plugin_v3 engine of
    it was built and failed)."""
    library = tmp_path / "libhardswish_plugin.so"
    library.write_bytes(b"")
    target = cf.make_target(str(BYO), library)
    assert (target.plugin_name, target.plugin_namespace, target.plugin_init) == ("HardSwish", "", "initHardSwishPlugins")
    assert target.creators == (("HardSwish", "1", 8),) and target.library == str(library)
    assert target.spec == str(BYO) and cf.engine_spec(target).spec_file == str(BYO)
    for major in (8, 10):
        gpu = FakeGpu()
        outcomes = cf.run_conformance(target, "tensorrt", major, tmp_path, cf.Settings(), child=gpu,
                                      sanitizer_check=_sanitizer_pass, clone_check=_clone_drive_pass)
        statuses = _statuses(outcomes)
        assert statuses.pop("v2_v3_identical") == NA and set(statuses.values()) == {PASS}, outcomes
        assert "v2v3" not in gpu.calls
    assert "HardSwish has one version" in {o.check: o for o in outcomes}["v2_v3_identical"].reason


def test_the_broken_copy_fails_its_two_checks_with_fakes(tmp_path: Path) -> None:
    """The broken copy of the example (tests/fixtures/byo-broken) with the fake GPU showing its two
    faults where the real ones show: exactly the fixture's expected checks fail (the GPU suite runs the
    real copy: tests/test_gpu_specs.py)."""
    import byo_broken

    broken = byo_broken.make_broken_copy(tmp_path / "byo-broken")
    library = tmp_path / "libhardswish_plugin.so"
    library.write_bytes(b"")
    target = cf.make_target(str(broken.spec), library)
    assert target.operator == "hardswish_broken" and target.plugin_name == "HardSwish"
    outcomes = cf.run_conformance(target, "tensorrt", 8, tmp_path / "work", cf.Settings(),
                                  child=FakeGpu({"SYNC_IN_ENQUEUE", "SHALLOW_CLONE"}), sanitizer_check=_sanitizer_pass,
                                  clone_check=lambda t: (FAIL, "clone lifecycle: output changed"))
    assert {o.check for o in outcomes if o.status == FAIL} == set(broken.conformance_failures), outcomes


def test_native_operator_plugin_checks_not_applicable(tmp_path: Path) -> None:
    gpu = FakeGpu()
    outcomes = cf.run_conformance(_target("relu", tmp=tmp_path), "tensorrt", 10, tmp_path, cf.Settings(), child=gpu,
                                  sanitizer_check=_sanitizer_pass)
    statuses = _statuses(outcomes)
    for name in ("clone_independence", "library_loading", "v2_v3_identical", "sanitizer"):
        assert statuses[name] == NA
    assert statuses["graph_capture"] == statuses["multi_profile"] == statuses["fresh_process_shapes"] == PASS
    assert "load" not in gpu.calls


def test_v3_operator_on_86_says_why(tmp_path: Path) -> None:
    outcomes = cf.run_conformance(_target("swish_plugin_v3", tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(),
                                  child=FakeGpu())
    assert {o.status for o in outcomes} == {NA}
    assert all("needs TensorRT >= 10" in o.reason for o in outcomes)


@pytest.mark.parametrize("flag", sorted(cf.BAD_FLAGS))
def test_each_flag_fails_its_check_alone(tmp_path: Path, flag: str) -> None:
    outcomes = cf.run_conformance(_target(flag=flag, tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(),
                                  child=FakeGpu(), sanitizer_check=_sanitizer_pass)
    failed = [o.check for o in outcomes if o.status == FAIL]
    assert failed == [cf.BAD_FLAGS[flag]], outcomes
    report = cf.report(_target(flag=flag, tmp=tmp_path), "tensorrt", "8.6.1", outcomes)
    assert cf.expectation_problems([report]) == []


def test_a_flag_failing_another_check_is_unexpected(tmp_path: Path) -> None:
    target = _target(flag="SHALLOW_CLONE", tmp=tmp_path)
    outcomes = cf.run_conformance(target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu({"GLOBAL_STATE"}),
                                  sanitizer_check=_sanitizer_pass)
    problems = cf.expectation_problems([cf.report(target, "tensorrt", "8.6.1", outcomes)])
    assert problems == ["bad_shallow_clone: multi_profile failed too (only clone_independence may)"]
    shipped = _target(tmp=tmp_path)
    outcomes = cf.run_conformance(shipped, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu({"SYNC_IN_ENQUEUE"}),
                                  sanitizer_check=_sanitizer_pass)
    assert cf.expectation_problems([cf.report(shipped, "tensorrt", "8.6.1", outcomes)]) == ["swish_plugin: graph_capture failed"]
    # a flag whose own check passes is unexpected too
    target = _target(flag="GLOBAL_STATE", tmp=tmp_path)
    outcomes = cf.run_conformance(cf.Target(**{**target.__dict__, "flag": "GLOBAL_STATE"}), "tensorrt", 8, tmp_path,
                                  cf.Settings(), child=lambda m, p, t: FakeGpu()(m, {**p, "target": {**p["target"], "flag": None}}, t),
                                  sanitizer_check=_sanitizer_pass)
    assert cf.expectation_problems([cf.report(target, "tensorrt", "8.6.1", outcomes)]) == [
        "bad_global_state: its own check multi_profile did not fail (pass)"]


def test_a_crashing_check_is_a_fail_and_the_others_are_kept(tmp_path: Path) -> None:
    outcomes = cf.run_conformance(_target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(),
                                  child=FakeGpu(crash_mode="clones"), sanitizer_check=_sanitizer_pass)
    by = {o.check: o for o in outcomes}
    assert by["clone_independence"].status == FAIL and "crashed (SIGSEGV)" in by["clone_independence"].reason
    assert by["fresh_process_shapes"].status == PASS and by["graph_capture"].status == PASS


def test_a_failed_build_fails_the_engine_checks_only(tmp_path: Path) -> None:
    outcomes = cf.run_conformance(_target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(),
                                  child=FakeGpu(crash_mode="build"), sanitizer_check=_sanitizer_pass)
    by = {o.check: o for o in outcomes}
    assert by["library_loading"].status == PASS
    for name in ("graph_capture", "multi_profile", "clone_independence", "fresh_process_shapes", "sanitizer"):
        assert by[name].status == FAIL and "did not build" in by[name].reason
    assert by["v2_v3_identical"].status == FAIL  # not judged: its engine does not exist


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    target = cf.make_target("swish_plugin", tmp_path / "missing.so")
    with pytest.raises(cf.ConformanceError, match="missing.so does not exist"):
        cf.run_conformance(target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu())
    with pytest.raises(cf.ConformanceError, match="unknown bad-plugin flag 'NOPE'; allowed values: SYNC_IN_ENQUEUE"):
        cf.make_target("swish_plugin", LIBRARY, "NOPE")
    with pytest.raises(cf.ConformanceError, match="faults are in a V2 plugin"):
        cf.make_target("swish_plugin_v3", LIBRARY, "GLOBAL_STATE")
    from trt_plugin_bench.core.config import ConfigError, load_config

    small = Path(__file__).resolve().parent / "configs" / "small.yaml"
    with pytest.raises(ConfigError, match="'conformance.enqueue_max_s': 3 must be below conformance.blocker_hold_s"):
        load_config(small, ["conformance.enqueue_max_s=3.0", "conformance.blocker_hold_s=2.0"])


# -- fresh processes for real: crash, timeout, exception, result ------------------------------------
@pytest.mark.parametrize("code,expect", [
    ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "crashed (SIGSEGV)"),
    ("import sys; sys.stderr.write('boom\\n'); sys.exit(3)", "exited with 3: boom"),
    ("print('nothing')", "printed no result"),
    ("import time; time.sleep(30)", "ran past 2 s"),
])
def test_run_child_reports_why_there_is_no_result(code: str, expect: str) -> None:
    result = cf.run_child("x", {}, 2.0, command=[sys.executable, "-c", code])
    assert not result.ok and expect in result.reason, result.reason


def test_run_child_reads_the_result_line() -> None:
    value = int(np.random.default_rng().integers(1, 1 << 30))
    code = f"print('noise'); print({cf.RESULT_PREFIX!r} + '{{\"v\": {value}}}')"
    result = cf.run_child("x", {}, 20.0, command=[sys.executable, "-c", code])
    assert result.ok and result.data == {"v": value}


def test_the_gpu_child_without_tensorrt_is_a_fail_with_the_reason() -> None:
    """conformance_gpu imports tensorrt and pycuda: without them the child fails, and the parent says why."""
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    result = cf.run_child("graph", {"target": {}}, 60.0)
    assert not result.ok and "exited with 1" in result.reason and "ModuleNotFoundError" in result.reason


@pytest.mark.parametrize("operator", ["examples/byo-plugin/hardswish.yaml", "hardswish_native", "swish_plugin"])
def test_a_fresh_child_finds_the_operator_of_its_engine(operator: str) -> None:
    """Issue 23: the conformance engine a child builds names an external spec's file, so a fresh
    process (which has loaded no spec) finds the operator; before, EngineSpec named only
    "hardswish" and the build child raised KeyError: 'hardswish' is not an operator."""
    if operator == "hardswish_native":
        cf.make_target(str(ROOT / "examples" / "byo-plugin" / "hardswish.yaml"), None)  # loads the twin too
    ref = str(ROOT / operator) if operator.endswith(".yaml") else operator
    target = cf.make_target(ref, None)
    code = ("import json, sys\n"
            "from trt_plugin_bench.commands.conformance import Target, engine_spec\n"
            "from trt_plugin_bench.core.operators import for_engine\n"
            "t = Target(**json.loads(sys.argv[1]))\n"
            "spec = for_engine(engine_spec(t))\n"
            "print(spec.name, spec.implementation)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(asdict(target))], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == target.operator
    built_in = cf.engine_spec(target).spec_file == ""
    assert built_in == (operator == "swish_plugin")


# -- judging -------------------------------------------------------------------------------------------
def test_judge_graph_capture() -> None:
    good = {"blocked_enqueue_s": 0.001, "blocked_outputs_ok": True, "graph_outputs": [{"what": "r", "ok": True}]}
    assert cf.judge_graph_capture(good, 0.5)[0] == PASS
    slow = {**good, "blocked_enqueue_s": 1.9, "blocker_timed_out": True}
    status, reason = cf.judge_graph_capture(slow, 0.5)
    assert status == FAIL and "took 1.900 s" in reason and "synchronizes" in reason
    status, reason = cf.judge_graph_capture({**good, "capture_error": "invalidated"}, 0.5)
    assert status == FAIL and "cudaStreamCaptureModeGlobal failed: invalidated" in reason
    status, reason = cf.judge_graph_capture({**good, "graph_outputs": [{"what": "r", "ok": False, "message": "x"}]}, 0.5)
    assert status == FAIL and "graph replay: r: x" in reason
    assert cf.judge_graph_capture({**good, "graph_outputs": []}, 0.5)[0] == FAIL  # nothing checked is no pass
    assert cf.judge_graph_capture({}, 0.5)[0] == FAIL


def test_judge_loading_way() -> None:
    expected = ["Swish v1", "Swish v2"]
    ok = {"way": "dlopen", "counts": {"Swish v1": 1, "Swish v2": 1}, "log": []}
    assert cf.judge_loading_way(ok, expected)[0] == PASS
    status, reason = cf.judge_loading_way({**ok, "counts": {"Swish v1": 1}}, expected)
    assert status == FAIL and "Swish v2 registered 0x" in reason
    status, reason = cf.judge_loading_way({**ok, "counts": {"Swish v1": 2, "Swish v2": 1}}, expected)
    assert status == FAIL and "Swish v1 registered 2x" in reason
    dup = {**ok, "log": ["[ERROR] Plugin creator already registered - ::Swish version 1"]}
    status, reason = cf.judge_loading_way(dup, expected)
    assert status == FAIL and "TensorRT logged" in reason
    assert cf.judge_loading_way({"way": "load_library", "unusable": "vtable"}, expected) == (
        NA, "load_library: not applicable: vtable")
    assert cf.combine([(NA, "a"), (NA, "b")])[0] == NA
    assert cf.combine([(NA, "a"), (PASS, "b")]) == (PASS, "a; b")
    assert cf.combine([(PASS, "a"), (FAIL, "b")])[0] == FAIL


SANITIZER_CLEAN = """{"threads": 1, "outputs_identical": true}
========= COMPUTE-SANITIZER
========= ERROR SUMMARY: 0 errors
"""
SANITIZER_DIRTY = """========= COMPUTE-SANITIZER
========= Invalid __global__ read of size 16 bytes
=========     at swishOneShotKernel
{"threads": 1}
========= ERROR SUMMARY: 3 errors
"""
RACECHECK_CLEAN = """{"threads": 1}
========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)
"""


def test_parse_sanitizer() -> None:
    assert cf.parse_sanitizer("memcheck", 0, SANITIZER_CLEAN) == (PASS, "memcheck: 0 errors")
    assert cf.parse_sanitizer("racecheck", 0, RACECHECK_CLEAN)[0] == PASS
    status, reason = cf.parse_sanitizer("memcheck", 99, SANITIZER_DIRTY)
    assert status == FAIL and "3 errors" in reason and "Invalid __global__ read" in reason
    assert cf.parse_sanitizer("racecheck", 99, RACECHECK_CLEAN.replace("0 hazards", "2 hazards"))[0] == FAIL
    assert "no sanitizer summary" in cf.parse_sanitizer("initcheck", -9, "timed out after 300 s")[1]
    # the runner crashed under the tool: a summary but no result
    assert cf.parse_sanitizer("synccheck", 1, "========= ERROR SUMMARY: 0 errors\n")[0] == FAIL
    # the runner's own output mismatch (a shallow clone's teardown) is not the sanitizer's finding
    assert cf.parse_sanitizer("memcheck", 1, SANITIZER_CLEAN.replace("true", "false"))[0] == PASS


def test_run_sanitizer_without_the_tools(tmp_path: Path) -> None:
    target = _target(tmp=tmp_path)
    if shutil.which("compute-sanitizer") is None:
        outcome = cf.run_sanitizer(target, tmp_path / "e", tmp_path / "trt_runner", cf.Settings())
        assert outcome.status == NA and "compute-sanitizer is not on PATH" in outcome.reason
    outcome = cf.run_sanitizer(target, tmp_path / "e", None, cf.Settings(), sanitizer="/bin/compute-sanitizer")
    assert outcome.status == NA and "no trt_runner" in outcome.reason
    runner = tmp_path / "trt_runner"
    runner.write_text("")
    seen = []

    def fake(cmd: list[str], timeout: float) -> tuple[int, str]:
        seen.append(cmd)
        return (99, SANITIZER_DIRTY) if "racecheck" in cmd else (0, SANITIZER_CLEAN)

    outcome = cf.run_sanitizer(target, tmp_path / "e", runner, cf.Settings(), sanitizer="cs", run=fake)
    assert outcome.status == FAIL and "racecheck: 3 errors" in outcome.reason
    assert sorted(c[2] for c in seen) == sorted(cf.SANITIZER_TOOLS)
    assert all("--plugin-init" in c and c[c.index("--shape") + 1] == "3x77" for c in seen)


# -- flags, names, reports -----------------------------------------------------------------------
FIXTURE = ROOT / "tests" / "fixtures" / "bad-plugins"
# Tokens of the bad-plugin fixture that no product source may carry: its fault macros, the creator-name and
# no-load-registration hooks it once had in plugin/, its creator names.
FIXTURE_TOKENS = re.compile(r"TPB_BAD_|SwishBad|TPB_PLUGIN_NAME_ID|PLANTED_NO_LOAD_REGISTRATION|bad-plugin fixture"
                            r"|fault fixture|gConfiguredDims|mShared\b")
PRODUCT_SUFFIXES = {".cpp", ".h", ".cu", ".cuh", ".inc", ".def", ".cmake"}
# Fault hooks by their shape, whatever the fault: a TPB_FAULT_* build flag, a *PLANTED_* macro (such as the
# TPB_LIBRARY_PLANTED_FORGET_REGISTRATIONS that TPB_FAULT_REGISTER_TWICE once set in api/swishPluginLibrary.cpp),
# the register-twice fault's name. The one planted thing plugin/ keeps is the planted slowdown (issue 28: a
# test-only CMake option of the shipped kernels that `verdict --rebuild` passes to another revision's build,
# tests/test_planted_slowdown.py), allowed by its macro names.
FAULT_HOOKS = re.compile(r"\b(?:TPB_FAULT_\w*|[A-Z0-9_]*PLANTED_[A-Z0-9_]*|\w*REGISTER_TWICE\w*)")
PLANTED_SLOWDOWN_MACROS = {"TPB_PLANTED_SLOWDOWN_PERMILLE", "TPB_PLANTED_SLOWDOWN", "TPB_PLANTED_SLOWDOWN_ITEMS",
                           "TPB_PLANTED_SLOWDOWN_START", "TPB_PLANTED_DEFINITION", "TPB_PLANTED_SLOWDOWN_L2_MIB",
                           "TPB_PLANTED_SLOWDOWN_LAUNCH_NS"}


def fault_hooks(line: str) -> list[str]:
    """The fault-hook tokens of one line of a product source (the planted slowdown's macros are not)."""
    bare = re.sub(r"-D(?=[A-Z])", " ", line)  # -DMACRO names MACRO
    return [token for token in FAULT_HOOKS.findall(bare) if token not in PLANTED_SLOWDOWN_MACROS]


def test_flag_table_matches_the_cmake_fixture() -> None:
    cmake = (FIXTURE / "badPlugins.cmake").read_text()
    flags = re.search(r"set\(TPB_BAD_PLUGIN_FLAGS ([A-Z_ ]+)\)", cmake).group(1).split()
    assert flags == list(cf.BAD_FLAGS)
    assert len(set(cf.BAD_FLAGS.values())) == len(cf.BAD_FLAGS), "each flag must have its own check"
    assert set(cf.BAD_FLAGS.values()) <= set(cf.CHECK_NAMES)
    for flag, check in cf.BAD_FLAGS.items():
        assert f"{flag} -> {check}" in cmake  # the CMake comment says the same mapping
    source = (FIXTURE / "badSwishPlugin.cpp").read_text()
    for flag in cf.BAD_FLAGS:
        assert f"defined(TPB_BAD_{flag})" in source, flag  # its fault, and the exactly-one guard
        assert f'kName = "{cf.bad_plugin_name(flag, "Swish")}"' in source, flag  # its creator name
    assert cf.bad_plugin_name("INIT_ONLY_REGISTRATION", "Swish") == "SwishBadInitOnlyRegistration"
    assert cf.bad_library_name("SYNC_IN_ENQUEUE", "libswish_plugin.so") == "libswish_plugin_bad_sync_in_enqueue.so"


def test_product_sources_carry_no_fixture_fault() -> None:
    """The fixture's faults are compiled only into the fixture (tests/fixtures/bad-plugins): no fault macro,
    hook or fixture name in any source under plugin/ (a fault hook not even in a comment, nor in
    plugin/CMakeLists.txt), and plugin/CMakeLists.txt only switches the fixture on."""
    found = []
    for path in sorted((ROOT / "plugin").rglob("*")):
        if path.suffix in PRODUCT_SUFFIXES or path.name == "CMakeLists.txt":
            found += [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                      for n, line in enumerate(path.read_text().splitlines(), 1)
                      if fault_hooks(line) or (path.suffix in PRODUCT_SUFFIXES and FIXTURE_TOKENS.search(line))]
    assert not found, "fixture faults in product sources:\n" + "\n".join(found)
    cmake = (ROOT / "plugin" / "CMakeLists.txt").read_text().splitlines()
    allowed = re.compile(r"^(#.*|option\(TPB_BAD_PLUGINS .*\)|if\(TPB_BAD_PLUGINS\))$")
    stray = [line for line in cmake if FIXTURE_TOKENS.search(line) and not allowed.match(line.strip())]
    assert not stray, stray
    assert "include(${CMAKE_CURRENT_SOURCE_DIR}/../tests/fixtures/bad-plugins/badPlugins.cmake)" in "\n".join(cmake)
    # the fixture really is where the check looks: the tokens are found in each of its sources
    for source in sorted(FIXTURE.glob("*.cpp")):
        assert FIXTURE_TOKENS.search(source.read_text()), source
    # and the hook check knows the shape of the fault hook plugin/ carried until issue 23
    assert fault_hooks("#ifdef TPB_LIBRARY_PLANTED_FORGET_REGISTRATIONS") == ["TPB_LIBRARY_PLANTED_FORGET_REGISTRATIONS"]
    assert fault_hooks("option(TPB_FAULT_REGISTER_TWICE \"x\" OFF)") == ["TPB_FAULT_REGISTER_TWICE"]
    assert fault_hooks("cmake -DTPB_FAULT_REGISTER_TWICE=ON -DTPB_PLANTED_SLOWDOWN_PERMILLE=20") == [
        "TPB_FAULT_REGISTER_TWICE"]
    assert fault_hooks("set(TPB_PLANTED_DEFINITION TPB_PLANTED_SLOWDOWN_PERMILLE=${TPB_PLANTED_SLOWDOWN_PERMILLE})") == []
    assert fault_hooks("ceilDiv(TPB_PLANTED_SLOWDOWN_ITEMS(count, int64_t{sizeof(T)}), kNaiveBlockSize)") == []


def test_report_table_summary_and_mlflow(tmp_path: Path) -> None:
    shipped = cf.report(_target(tmp=tmp_path), "tensorrt", "8.6.1", cf.run_conformance(
        _target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(), sanitizer_check=_sanitizer_pass,
        clone_check=_clone_drive_pass))
    bad_target = _target(flag="GLOBAL_STATE", tmp=tmp_path)
    bad = cf.report(bad_target, "tensorrt", "8.6.1", cf.run_conformance(
        bad_target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(), sanitizer_check=_sanitizer_pass,
        clone_check=_clone_drive_pass))
    paths = []
    for r in (shipped, bad):
        path = tmp_path / "conformance" / f"{r['label']}.json"
        cf.write_report(path, r)
        paths.append(path)
    reports = cf.load_reports(paths)
    assert reports[1]["counts"] == {PASS: 5, FAIL: 1, NA: 1}
    cf.write_table(reports, tmp_path / "conformance.csv")
    import pandas as pd

    table = pd.read_csv(tmp_path / "conformance.csv", keep_default_na=False)
    assert len(table) == 14 and list(table.columns) == list(cf.TABLE_COLUMNS)
    assert table[(table.label == "bad_global_state") & (table.status == FAIL)].check.tolist() == ["multi_profile"]
    back = cf.reports_from_rows(table.to_dict("records"))
    assert [r["label"] for r in back] == ["swish_plugin", "bad_global_state"]
    metrics, tags = cf.mlflow_metrics(back)
    assert metrics["conformance.swish_plugin.graph_capture"] == 1.0
    assert metrics["conformance.bad_global_state.multi_profile"] == 0.0
    assert "conformance.swish_plugin.v2_v3_identical" not in metrics  # n/a is never a 1
    assert tags["tpb.conformance.swish_plugin.v2_v3_identical"].startswith("n/a: not applicable: TensorRT 8")
    lines = "\n".join(cf.summary_lines(reports))
    assert "| 2. multi_profile | PASS | **FAIL** |" in lines
    assert re.search(r"- \*\*FAIL\*\*: bad_global_state \(multi_profile\): 2 contexts", lines), lines
    assert "- n/a: swish_plugin (v2_v3_identical), bad_global_state (v2_v3_identical): not applicable: TensorRT 8" in lines
    matrix = cf.matrix_text(reports)
    assert re.search(r"2\. multi_profile\s+PASS\s+FAIL\*", matrix), matrix
    cf.write_table([], tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(cf.TABLE_COLUMNS)
    assert cf.summary_lines([]) == []


def test_matrix_command_exit_status(tmp_path: Path) -> None:
    target = _target(flag="SYNC_IN_ENQUEUE", tmp=tmp_path)
    outcomes = cf.run_conformance(target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu({"SHALLOW_CLONE"}),
                                  sanitizer_check=_sanitizer_pass)
    path = tmp_path / "bad.json"
    cf.write_report(path, cf.report(target, "tensorrt", "8.6.1", outcomes))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    proc = subprocess.run([sys.executable, "-m", "trt_plugin_bench", "conformance-matrix", str(path), "--expect"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "UNEXPECTED: bad_sync_in_enqueue: clone_independence failed too" in proc.stdout
    assert json.loads(path.read_text())["flag"] == "SYNC_IN_ENQUEUE"
    proc = subprocess.run([sys.executable, "-m", "trt_plugin_bench", "conformance-matrix", str(tmp_path / "gone.json"),
                           "--expect"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "gone.json: no report" in proc.stdout, proc.stdout + proc.stderr


# -- the fixture, built host-only --------------------------------------------------------------------
def _trt86_include() -> Path | None:
    for d in os.environ.get("TENSORRT_INCLUDE_DIR", "").split(":"):  # no fixed /tmp fallback: stale headers
        if d and (Path(d) / "NvInferVersion.h").is_file() and "NV_TENSORRT_MAJOR 8" in (Path(d) / "NvInferVersion.h").read_text():
            return Path(d)
    return None


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [tool for tool in ("cmake", "nvcc", "readelf", "nm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH: the bad-plugin fixture cannot be built here")
    include = _trt86_include()
    if include is None:
        pytest.skip("no TensorRT 8.6 headers (set TENSORRT_INCLUDE_DIR): the fixture cannot be built")
    build = tmp_path_factory.mktemp("bad-plugins")
    env = {k: v for k, v in os.environ.items() if k not in ("TENSORRT_INCLUDE_DIR", "TENSORRT_LIB_DIR", "TENSORRT_ROOT",
                                                            "PYTHONHOME", "PYTHONPATH")}
    configure = subprocess.run(["cmake", "-S", str(ROOT / "plugin"), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                                f"-DTENSORRT_INCLUDE_DIR={include}", "-DTPB_BAD_PLUGINS=ON"],
                               capture_output=True, text=True, env=env)
    assert configure.returncode == 0, configure.stdout[-3000:] + configure.stderr[-3000:]
    targets = ["swish_plugin", *(f"swish_plugin_bad_{f.lower()}" for f in cf.BAD_FLAGS)]
    built = subprocess.run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", *targets],
                           capture_output=True, text=True, env=env)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return build


def test_fixture_libraries_have_their_own_names(fixture_build: Path) -> None:
    shipped = (fixture_build / "libswish_plugin.so").read_bytes()
    assert b"SwishBad" not in shipped, "a fault's name reached the shipped library"
    sonames = set()
    for flag in cf.BAD_FLAGS:
        library = fixture_build / cf.bad_library_name(flag, "libswish_plugin.so")
        dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True, text=True, check=True).stdout
        soname = re.search(r"Library soname: \[(.+)\]", dynamic).group(1)
        assert soname == cf.bad_library_name(flag, "libswish_plugin.so")
        sonames.add(soname)
        assert cf.bad_plugin_name(flag, "Swish").encode() + b"\0" in library.read_bytes()
        assert b"\0Swish\0" not in library.read_bytes(), f"{library.name} still names its creator Swish"
        exported = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True,
                                  check=True).stdout
        names = {line.split()[-1] for line in exported.splitlines() if line.strip()}
        # the entry points only: no C++ symbol of the plugin classes to interpose on the shipped library's
        assert {"initSwishPlugins", "getPluginCreators", "tpbSwishKernelCount"} <= names
        assert not [n for n in names if n.startswith("_ZN3tpb")], sorted(names)
    assert len(sonames) == len(cf.BAD_FLAGS)


# Check 5 against the real TensorRT 8.6 registry on this CPU host (trt-kit's libnvinfer.so.8 and its
# 8.6.1 bindings, as tests/test_plugin_host.py uses them): the children's load mode itself, with
# trt.Runtime replaced (creating one needs a GPU; it only routes TensorRT's log to the child's logger).
REAL_LIB_DIR = os.environ.get("TPB_REAL_TRT_LIB_DIR", "")
REAL_SITE = os.environ.get("TPB_REAL_TRT_SITE", "")
REAL_PYTHON = shutil.which("python3.11")
LOAD_PROGRAM = """
import sys
import tensorrt as trt
trt.Runtime = lambda logger: None
from trt_plugin_bench.commands import conformance_gpu
sys.exit(conformance_gpu.main(sys.argv[1:]))
"""


@pytest.mark.skipif(not (REAL_LIB_DIR and REAL_SITE and REAL_PYTHON),
                    reason="TPB_REAL_TRT_LIB_DIR / TPB_REAL_TRT_SITE (trt-kit's real TensorRT 8.6) or python3.11 missing")
def test_library_loading_with_the_real_tensorrt_86(fixture_build: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    program = tmp_path / "load.py"
    program.write_text(LOAD_PROGRAM)
    monkeypatch.setenv("PYTHONPATH", REAL_SITE)
    monkeypatch.setenv("TRTKIT_LIB", REAL_LIB_DIR)
    monkeypatch.setenv("LD_LIBRARY_PATH", REAL_LIB_DIR)  # a libcuda stand-in there, for pycuda's import

    def child(mode: str, payload: dict, timeout: float) -> cf.ChildResult:
        return cf.run_child(mode, payload, timeout, command=[REAL_PYTHON, str(program), mode, json.dumps(payload)])

    verdicts = {}
    for flag in (None, "INIT_ONLY_REGISTRATION", "GLOBAL_STATE"):
        library = fixture_build / (cf.bad_library_name(flag, "libswish_plugin.so") if flag else "libswish_plugin.so")
        target = cf.make_target("swish_plugin", library, flag)
        parts = []
        for way in ("dlopen", "load_library", "init"):
            result = child("load", {"target": asdict(target), "seed": 1, "way": way}, 120.0)
            assert result.ok, result.reason
            parts.append(cf.judge_loading_way(result.data, [f"{target.plugin_name} v1"]))
        verdicts[flag] = (cf.combine(parts), parts)
    (status, reason), parts = verdicts[None]
    assert status == PASS, reason
    assert parts[1][0] == NA and "8.6.1 Python bindings over a 8.6.0" in parts[1][1]  # said, not passed
    (status, reason), parts = verdicts["INIT_ONLY_REGISTRATION"]
    assert status == FAIL and parts[0] == (FAIL, "dlopen: SwishBadInitOnlyRegistration v1 registered 0x"), parts
    assert parts[2][0] == PASS  # initSwishPlugins still registers it
    assert verdicts["GLOBAL_STATE"][0][0] == PASS  # its fault is elsewhere


def test_progress_hears_every_outcome_once(tmp_path: Path) -> None:
    heard: list[cf.CheckOutcome] = []
    outcomes = cf.run_conformance(_target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(),
                                  sanitizer_check=_sanitizer_pass, progress=heard.append)
    assert sorted(o.check for o in heard) == sorted(cf.CHECK_NAMES) and set(heard) == set(outcomes)
    heard.clear()
    cf.run_conformance(_target(tmp=tmp_path), "reference", None, tmp_path, cf.Settings(), progress=heard.append)
    assert [o.check for o in heard] == list(cf.CHECK_NAMES)


def _dump_reference(cmd: list[str], op: object, plant: str = "") -> None:
    """What trt_runner --clone-check writes for --dump-output: clone A's outputs on its --input-file
    values, here the float64 reference of the file's input 0 rounded to fp32 (a right plugin). Planted
    faults: "poison" writes 1.0 everywhere (wrong values); "short" drops the last element."""
    files = {a.split(":", 1)[0]: Path(a.split("=", 1)[1]) for a, f in zip(cmd[1:], cmd) if f == "--input-file"}
    dumps = [(a.rsplit(":", 1)[0].split("=")[0], Path(a.split("=", 1)[1])) for a, f in zip(cmd[1:], cmd)
             if f == "--dump-output"]
    shape = tuple(int(d) for d in cmd[cmd.index("--shape") + 1].split("x"))
    x = np.fromfile(files[cf.CLONE_INPUT0], dtype="<f4").reshape(shape)
    num = cf.numerics_of(op)
    for j, (_, path) in enumerate(dumps):
        y = num.reference_of(x.astype(np.float64), 1.0, "fp32", j).astype(np.float32)
        y = np.ones_like(y) if plant == "poison" else y
        path.write_bytes(y.tobytes()[: -4 if plant == "short" else None])


def test_clone_drive_catches_a_shallow_clone_the_contexts_missed(tmp_path: Path) -> None:
    """TensorRT 8.6's contexts let the fixture's shallow clone through (H200, 2026-12-02): the clone
    lifecycle driven by trt_runner --clone-check is check 3's second half. Planted: the runner reports
    the other clone's output changed; check 3 fails naming it, the contexts' half still said."""
    runner = tmp_path / "trt_runner"
    runner.write_bytes(b"")
    target = _target(flag="SHALLOW_CLONE", tmp=tmp_path)
    seen: list[list[str]] = []

    def fake_run(ok: bool, plant: str = ""):  # noqa: ANN202
        def run(cmd: list[str], timeout: float) -> tuple[int, str]:
            seen.append(cmd)
            _dump_reference(cmd, cf.from_ref(target.spec or target.operator), plant)
            line = json.dumps({"clone_check": True, "creator": cmd[2], "ok": ok,
                               "message": "bit-identical" if ok else "the other clone's output changed"})
            return (0 if ok else 1), "[Swish] a log line\n" + line + "\n"
        return run

    status, reason = cf.run_clone_drive(target, runner, cf.Settings(), run=fake_run(False))
    assert status == FAIL and "output changed" in reason
    assert seen[-1][:3] == [str(runner), "--clone-check", target.plugin_name] and "--plugin-init" in seen[-1]
    status, reason = cf.run_clone_drive(target, runner, cf.Settings(), run=fake_run(True))
    assert status == PASS and "right against the float64 reference" in reason, reason
    # clone A's inputs are the spec's values: input 0 drawn with its generator, its edge values included
    args = seen[-1]
    (name, path), = [(a.split(":", 1)[0], Path(a.split("=", 1)[1])) for a, f in zip(args[1:], args) if f == "--input-file"]
    assert name == cf.CLONE_INPUT0 and any(a.startswith(f"{cf.CLONE_OUTPUT0}:fp32=") for a in args)
    # planted: a lifecycle that is bit-identical on wrong values, or an output of the wrong size, fails
    status, reason = cf.run_clone_drive(target, runner, cf.Settings(), run=fake_run(True, plant="poison"))
    assert status == FAIL and "bit-identical" in reason and "clone A's output on the spec's inputs is wrong" in reason
    status, reason = cf.run_clone_drive(target, runner, cf.Settings(), run=fake_run(True, plant="short"))
    assert status == FAIL and "holds 3996 bytes" in reason, reason
    assert cf.run_clone_drive(target, runner, cf.Settings(), run=lambda c, t: (139, "Segmentation fault"))[0] == FAIL
    assert cf.run_clone_drive(target, None, cf.Settings())[0] == NA  # no runner: the drive did not run

    outcomes = cf.run_conformance(_target(tmp=tmp_path), "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(),
                                  sanitizer_check=_sanitizer_pass,
                                  clone_check=lambda t: (FAIL, "clone lifecycle: the other clone's output changed"))
    by = {o.check: o for o in outcomes}
    assert by["clone_independence"].status == FAIL
    assert "contexts: " in by["clone_independence"].reason and "output changed" in by["clone_independence"].reason
    assert {o.status for o in outcomes if o.check != "clone_independence"} <= {PASS, NA}


def test_clone_independence_without_its_clone_drive_is_never_a_pass(tmp_path: Path) -> None:
    """Issue 26 item 3: with no trt_runner the clone drive (check 3's second half) cannot run, and
    the contexts half alone let a shallow clone through on TensorRT 8.6: n/a naming what ran and why
    the rest did not, never a bare PASS; a failure of the contexts half is still a FAIL."""
    target = _target(tmp=tmp_path)
    assert target.implementation == "plugin_v2"
    outcomes = cf.run_conformance(target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(),
                                  sanitizer_check=_sanitizer_pass, runner=tmp_path / "no-such-trt_runner")
    clone = {o.check: o for o in outcomes}["clone_independence"]
    assert clone.status == NA, clone
    assert "only half of the check ran" in clone.reason and "no trt_runner" in clone.reason
    assert "contexts: " in clone.reason and "[pass]" in clone.reason
    # the contexts half failing is a failure, drive or no drive
    shallow = _target(flag="SHALLOW_CLONE", tmp=tmp_path)
    outcomes = cf.run_conformance(shallow, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(),
                                  sanitizer_check=_sanitizer_pass, runner=None)
    assert {o.check: o for o in outcomes}["clone_independence"].status == FAIL
    # both halves ran and passed: a PASS that names both
    outcomes = cf.run_conformance(target, "tensorrt", 8, tmp_path, cf.Settings(), child=FakeGpu(),
                                  sanitizer_check=_sanitizer_pass, clone_check=_clone_drive_pass)
    clone = {o.check: o for o in outcomes}["clone_independence"]
    assert clone.status == PASS and "contexts: " in clone.reason and "clone lifecycle: bit-identical" in clone.reason


def test_clone_drive_without_a_runner_says_it_did_not_run(tmp_path: Path) -> None:
    target = _target(tmp=tmp_path)
    status, reason = cf.run_clone_drive(target, None, cf.Settings())
    assert status == NA and "not run: no trt_runner" in reason
    v3 = cf.Target(**{**target.__dict__, "implementation": "plugin_v3"})
    assert cf.run_clone_drive(v3, None, cf.Settings()) is None  # the drive is for V2 plugins only
    contexts = cf.CheckOutcome("clone_independence", PASS, "right after destroying the second context")
    judged = cf.judge_clone_independence(contexts, None)
    assert judged.status == PASS and "applies to V2 plugins only" in judged.reason


def test_sanitizer_and_clone_drive_name_every_input_of_a_multi_spec(tmp_path: Path) -> None:
    """An operator of several inputs (tests/specs/multi/add_and_sum: x, r; outputs h, s): the sanitizer's
    runner gets r's shape by name, the clone drive every input's and output's, each at its rule's shape."""
    spec = str(ROOT / "tests" / "specs" / "multi" / "add_and_sum.yaml")
    target = cf.Target(operator="add_and_sum", label="add_and_sum", function="add_and_sum", implementation="plugin_v2",
                       kernel="", library=str(tmp_path / "lib.so"), plugin_name="AddAndSum", spec=spec)
    runner = tmp_path / "trt_runner"
    runner.write_text("")
    seen: list[list[str]] = []

    def fake(cmd: list[str], timeout: float) -> tuple[int, str]:
        seen.append(cmd)
        return 0, SANITIZER_CLEAN

    cf.run_sanitizer(target, tmp_path / "e", runner, cf.Settings(), sanitizer="cs", run=fake)
    assert seen and all(c[c.index("--shape") + 1] == "3x77" and c[c.index("--input-shape") + 1] == "r=3x77" for c in seen)
    # on the spec's values: every input of the engine by its binding name and dtype (engine_input_files)
    assert all([a.split("=", 1)[0] for a, f in zip(c[1:], c) if f == "--input-file"] == ["x:fp32", "r:fp32"]
               for c in seen)
    seen.clear()
    cf.run_clone_drive(target, runner, cf.Settings(), run=fake)
    [cmd] = seen
    assert cmd[cmd.index("--shape"):cmd.index("--input-file")] == [
        "--shape", "5x200", "--input-shape", "r=5x200", "--output-shape", "h=5x200", "--output-shape", "s=5"]
    # every input's values are the spec's, in the drive's names and fp32: input 0 from its generator
    # (edge values paired with r's), r from specs.aux_arrays; a swapped or re-typed file is caught here
    files = [a for a, f in zip(cmd[1:], cmd) if f == "--input-file"]
    dumps = [a.split("=", 1)[0] for a, f in zip(cmd[1:], cmd) if f == "--dump-output"]
    assert [a.split("=", 1)[0] for a in files] == [f"{cf.CLONE_INPUT0}:fp32", "r:fp32"] and dumps == ["h:fp32", "s:fp32"]
    op = cf.from_ref(spec)
    want = [cf.ref.random_input((5, 200), "fp32", cf.CLONE_SEED, generator=cf.input0_generator(op)),
            cf.aux_arrays(op, (5, 200), "fp32")[0][0]]
    values = cf.clone_values(op, tmp_path / "again")  # the drive's files died with it: written again, the same
    assert isinstance(values, cf.CloneValues)
    got = [np.fromfile(f.path, dtype="<f4").reshape(f.shape) for f in values.inputs]
    assert all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
    assert not np.array_equal(got[0], want[1], equal_nan=True)  # the two inputs differ: a swap would show
    seen.clear()
    status, reason = cf.run_clone_drive(target, runner, cf.Settings(), run=lambda c, t: (
        seen.append(c), _dump_reference(c, op), (0, '{"clone_check": true, "ok": true, "message": "same"}'))[-1])
    assert status == PASS and "right against the float64 reference" in reason, reason


def test_the_clone_drive_passes_the_fields_that_set_the_math() -> None:
    """The drive makes its plugin with the spec's field values (the beta field at the target's beta),
    so that it computes what the reference does: GELU's tanh form is approximation 1, not the creator's
    default; the kernel fields keep the creator's defaults."""
    assert cf.clone_fields(cf.from_ref("gelu_tanh_plugin"), 1.0) == ["--field", "approximation:int32=1"]
    assert cf.clone_fields(cf.from_ref("swish_plugin"), 1.5) == ["--field", "beta:float32=1.5"]
    assert cf.clone_fields(cf.from_ref("layer_norm_plugin"), 1.0) == ["--field", "eps:float32=1e-05"]
