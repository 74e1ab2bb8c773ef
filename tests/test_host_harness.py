"""The plugin libraries' TensorRT-free units under sanitizers, on any host with a C++ compiler (CI has no
TensorRT and no GPU): plugin/tests/hostHarness.cpp drives the records (Swish and the byo example: every
single-byte change refused), the checked element counts, the example's field parsing, the registration
bookkeeping and trt_runner's argument parsing (issue 26, items 4 to 7 and 9).

Built twice with g++: -fsanitize=address,undefined -fno-sanitize-recover=all (every check), and
-fsanitize=thread (several threads registering and reading creator namespaces at once). A test fails on
any FAIL line, a non-zero exit, or any sanitizer report. Skipped, saying why, without a C++ compiler.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugin"
EXAMPLE = ROOT / "examples" / "byo-plugin"
SOURCES = [
    PLUGIN / "tests" / "hostHarness.cpp",
    PLUGIN / "common" / "pluginRecord.cpp",
    PLUGIN / "common" / "creatorNamespace.cpp",
    PLUGIN / "common" / "creatorRegistration.cpp",
    PLUGIN / "swishPlugin" / "swishRecord.cpp",
    PLUGIN / "geluPlugin" / "geluRecord.cpp",
    PLUGIN / "runner" / "runnerArgs.cpp",
    EXAMPLE / "hardSwishCore.cpp",
]
INCLUDES = [PLUGIN / "common", PLUGIN / "swishPlugin", PLUGIN / "geluPlugin", PLUGIN / "runner", EXAMPLE]
CXX = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
SANITIZER_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|ThreadSanitizer|UndefinedBehaviorSanitizer|runtime error:")

VARIANTS = {
    "asan-ubsan": (["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"], "all",
                   {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
                    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}),
    "tsan": (["-fsanitize=thread"], "threads", {"TSAN_OPTIONS": "halt_on_error=1"}),
}


def _build(out: Path, flags: list[str]) -> Path:
    exe = out / "host_harness"
    cmd = [CXX, "-std=c++17", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *flags,
           *(f"-I{d}" for d in INCLUDES), *map(str, SOURCES), "-o", str(exe), "-pthread"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 and "sanitize" in proc.stderr and ("cannot find" in proc.stderr or "unrecognized" in proc.stderr):
        pytest.skip(f"{CXX} cannot link this sanitizer here: {proc.stderr.strip()[:300]}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return exe


@pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++/c++ or $CXX) on PATH: the host harness cannot be built")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_host_harness_under_sanitizers(tmp_path: Path, variant: str) -> None:
    flags, mode, env = VARIANTS[variant]
    exe = _build(tmp_path, flags)
    proc = subprocess.run([str(exe), mode], capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    lines = proc.stdout.splitlines()
    print(proc.stdout)  # shown with pytest -s / -rA
    failed = [ln for ln in lines if not ln.startswith("PASS ")][:-1]
    assert not SANITIZER_REPORT.search(proc.stderr), proc.stderr[-6000:]
    assert proc.returncode == 0 and not failed, "\n".join(failed) + proc.stderr[-3000:]
    assert lines and re.fullmatch(r"host_harness: \d+ passed, 0 failed", lines[-1]), proc.stdout[-2000:]
    if mode == "all":  # each item of issue 26 this harness covers is there
        text = proc.stdout
        for needle in ("single-byte changes refused", "old format", "checkedElementCount<int32>",
                       "hardSwishElementCount<int64>", "parseHardSwishFields: nbFields 2 with null fields",
                       "another Swish v1 holds", "deregisterOnUnload", "trt_runner --engine e --shape 4 --threads 4294967297"):
            assert needle in text, needle


def test_harness_reports_a_planted_race(tmp_path: Path) -> None:
    """The TSan variant can fail: the harness built against f8ee435's namespace storage (a std::string
    written under a mutex and read without it) is reported as a data race."""
    if CXX is None:
        pytest.skip("no C++ compiler on PATH")
    common = tmp_path / "common"
    shutil.copytree(PLUGIN / "common", common)
    (common / "creatorNamespace.cpp").unlink()
    (common / "creatorNamespace.h").write_text(
        "#pragma once\n#include <mutex>\n#include <string>\nnamespace tpb {\nclass CreatorNamespace {\npublic:\n"
        "    bool set(char const* ns) noexcept { try { std::lock_guard<std::mutex> l(m); s = ns ? ns : \"\"; return true; }"
        " catch (...) { return false; } }\n"
        "    char const* get() const noexcept { return s.c_str(); }\nprivate:\n    std::mutex m;\n    std::string s;\n};\n}\n")
    exe = tmp_path / "host_harness_old"
    cmd = [CXX, "-std=c++17", "-O1", "-g", "-fsanitize=thread", f"-I{common}",
           *(f"-I{d}" for d in INCLUDES if d != PLUGIN / "common"),
           str(PLUGIN / "tests" / "hostHarness.cpp"), str(common / "pluginRecord.cpp"),
           str(common / "creatorRegistration.cpp"), str(PLUGIN / "swishPlugin" / "swishRecord.cpp"),
           str(PLUGIN / "geluPlugin" / "geluRecord.cpp"), str(PLUGIN / "runner" / "runnerArgs.cpp"),
           str(EXAMPLE / "hardSwishCore.cpp"), "-o", str(exe), "-pthread"]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0 and "sanitize" in built.stderr:
        pytest.skip(f"{CXX} cannot link TSan here")
    assert built.returncode == 0, built.stderr[-3000:]
    proc = subprocess.run([str(exe), "threads"], capture_output=True, text=True,
                          env={**os.environ, "TSAN_OPTIONS": "halt_on_error=1"}, timeout=600)
    assert proc.returncode != 0 and "ThreadSanitizer: data race" in proc.stderr, proc.stdout + proc.stderr[-2000:]
