"""The planted slowdown build option of the shipped Swish plugin (issue 28): TPB_PLANTED_SLOWDOWN_PERMILLE,
0 (off) by default, never in the default build. Checked on the text of the CMake file and the kernel
source (anywhere), and, where cmake and nvcc are installed, on a configured default build and the PTX of
the kernel file compiled both ways (sm_90)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CMAKELISTS = ROOT / "plugin" / "CMakeLists.txt"
KERNEL = ROOT / "plugin" / "swishPlugin" / "swishPluginKernel.cu"
OPTION = "TPB_PLANTED_SLOWDOWN_PERMILLE"


def test_the_option_is_off_by_default_and_only_defined_when_on() -> None:
    text = CMAKELISTS.read_text()
    assert re.search(rf'set\({OPTION} "0" CACHE STRING', text)
    assert f'if(NOT {OPTION} MATCHES "^[0-9]+$" OR {OPTION} GREATER 1000)' in text  # the kernel's static_assert
    guarded = re.search(rf"if\({OPTION} GREATER 0\)(.*?)endif\(\)", text, re.S)
    assert guarded and "set(TPB_PLANTED_DEFINITION" in guarded.group(1)
    outside = text.replace(guarded.group(0), "")
    # outside the guard the definition is only ever passed on (empty unless the guard set it)
    assert "set(TPB_PLANTED_DEFINITION" not in outside
    assert all("${TPB_PLANTED_DEFINITION}" in line for line in outside.splitlines()
               if "target_compile_definitions" in line and "PLANTED" in line)


def _strip_invocations(text: str, macro: str) -> tuple[str, int]:
    """The text without every `macro(...)` invocation (balanced parentheses), and how many there were."""
    found = 0
    while (start := text.find(macro + "(")) >= 0:
        depth, end = 0, start + len(macro)
        for end in range(start + len(macro), len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        text, found = text[:start] + text[end + 1:], found + 1
    return text, found


def test_the_kernel_source_has_no_trace_of_it_unless_defined() -> None:
    """Outside its #if block the source names only the two macros, empty and the identity by default: the
    re-done items after each kernel's work, the items each launch's grid covers."""
    text = KERNEL.read_text()
    block = re.search(rf"#if defined\({OPTION}\) && {OPTION} > 0\n(.*?)#else\n#define TPB_PLANTED_SLOWDOWN_START\n"
                      r"#define TPB_PLANTED_SLOWDOWN\(items, itemBytes, \.\.\.\)\n"
                      r"#define TPB_PLANTED_SLOWDOWN_ITEMS\(items, itemBytes\) \(items\)\n#endif", text, re.S)
    assert block, "the planted code must sit in one #if block with an empty #else"
    outside = text.replace(block.group(0), "")
    assert OPTION not in outside and "clock64" not in outside and "ld.volatile" not in outside and "nsmid" not in outside
    outside, launches = _strip_invocations(outside, "TPB_PLANTED_SLOWDOWN_ITEMS")
    outside, kernels = _strip_invocations(outside, "TPB_PLANTED_SLOWDOWN")
    assert kernels == 4  # after the work of the naive, grid-stride, one-shot and scalar kernels
    # their first statements: the thread's start (the spin's measure)
    assert outside.count("    TPB_PLANTED_SLOWDOWN_START\n") == 4
    outside = outside.replace("    TPB_PLANTED_SLOWDOWN_START\n", "")
    assert launches == 4  # their grids: launchTyped's naive, scalar and grid-stride launches, launchOneShot
    assert not re.search(r"\bplanted[A-Z]\w*|kPlanted", outside), "planted code outside the macros"
    # each launch takes one half, by the same rule in the kernel and at its launch: input + output beyond the L2
    assert "if (plantedTraffic(items, itemBytes))" in block.group(1)
    assert "return plantedTraffic(items, itemBytes) ? plantedItems(items) : items;" in block.group(1)
    # the re-done items can only keep the output when the same code computes them: one body per element
    assert "return ElementOps<T>::fromFloat(z < kFarTailZ ? farTailSwish(x, z) : x / (1.0f + expf(-z)));" in outside
    assert "output[index] = naiveSwish(input[index], beta);" in outside
    assert "output[index] = fastSwishElement(input[index], beta);" in outside


def _ptx(out: Path, definitions: list[str]) -> subprocess.CompletedProcess[str]:
    """The kernel file compiled to sm_90 PTX at out with these -D definitions. Relative to the kernel's folder: nvcc
    hands paths to the host compiler through sh, so a checkout under a path with a `$` in it (as CI's is) would
    otherwise reach cc1plus expanded."""
    return subprocess.run(["nvcc", "-arch=sm_90", "-std=c++17", "-O3", "-ptx", *definitions, KERNEL.name,
                           "-I", ".", "-o", str(out)], capture_output=True, text=True, timeout=600, cwd=KERNEL.parent)


@pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("nvcc")), reason="needs cmake and nvcc")
def test_a_default_build_has_no_trace_and_a_planted_one_redoes(tmp_path: Path) -> None:
    default, planted = tmp_path / "default", tmp_path / "planted"
    for build, extra in ((default, []), (planted, [f"-D{OPTION}=20"])):
        proc = subprocess.run(["cmake", "-S", str(ROOT / "plugin"), "-B", str(build), "-DTPB_KERNELS_ONLY=ON",
                               "-DCMAKE_CUDA_ARCHITECTURES=90", *extra], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    flags = {b: (b / "CMakeFiles" / "swish_kernels.dir" / "flags.make").read_text() for b in (default, planted)}
    assert "PLANTED" not in flags[default] and f"{OPTION}=20" in flags[planted]
    ptx = {}
    for name, extra in (("default", []), ("planted", [f"-D{OPTION}=20"])):
        out = tmp_path / f"{name}.ptx"
        proc = _ptx(out, extra)
        assert proc.returncode == 0, proc.stderr[-2000:]
        ptx[name] = out.read_text()
    # the in-place re-read is the one volatile load of the kernels; the extra items change every kernel; the
    # spin reads the clock, and the SM count for the grid's last wave
    assert "ld.volatile" not in ptx["default"] and "ld.volatile.global.v4.u32" in ptx["planted"]
    assert "%clock64" not in ptx["default"] and "%clock64" in ptx["planted"]
    assert "%nsmid" not in ptx["default"] and "%nsmid" in ptx["planted"]
    entries = {name: re.findall(r"\.entry (\w+)", text) for name, text in ptx.items()}
    assert entries["default"] == entries["planted"] and len(entries["default"]) > 40
    bodies = {name: re.split(r"\.entry \w+", text)[1:] for name, text in ptx.items()}
    unchanged = [e for e, a, b in zip(entries["default"], bodies["default"], bodies["planted"]) if a == b]
    assert unchanged == [e for e in entries["default"] if "emptyKernel" in e]


GPU_CHECK = ROOT / "workflow" / "scripts" / "verdict_gpu_check.sh"


def _planted_check_definitions() -> list[str]:
    """The definitions verdict_gpu_check.sh builds the planted kernels' correctness check with (its
    -DCMAKE_CUDA_FLAGS=..., e.g. the plant's L2 at 1 MiB), read from the script so the two cannot drift."""
    flags = re.findall(r"-DCMAKE_CUDA_FLAGS=(\S+)", GPU_CHECK.read_text())
    assert len(flags) == 1, f"{GPU_CHECK.name}: expected one -DCMAKE_CUDA_FLAGS=, found {flags}"
    definitions = flags[0].strip("'\"").split()
    assert definitions and all(d.startswith("-DTPB_PLANTED_SLOWDOWN_") for d in definitions), definitions
    return definitions


@pytest.mark.skipif(not shutil.which("nvcc"), reason="needs nvcc")
def test_the_planted_kernel_check_build_of_the_gpu_check_compiles(tmp_path: Path) -> None:
    """The GPU check's planted correctness build (the plant's L2 at 1 MiB) compiles: its static_asserts hold for
    any L2 size, not only the H100's 50 MiB (H100 2026-12-07: "plantedTraffic: input + output beyond the L2" at
    L2_MIB=1, the check was not built and the plant's outputs went unchecked)."""
    definitions = _planted_check_definitions()
    for extra in (definitions, ["-DTPB_PLANTED_SLOWDOWN_L2_MIB=1024"]):
        proc = _ptx(tmp_path / "planted.ptx", [f"-D{OPTION}=20", *extra])
        assert proc.returncode == 0, (extra, proc.stderr[-2000:])
