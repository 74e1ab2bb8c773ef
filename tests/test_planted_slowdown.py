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


def test_the_kernel_source_has_no_trace_of_it_unless_defined() -> None:
    """Outside its #if block the source names only the two macros, empty by default: each Swish kernel's first
    statement (block 0 stamps the launch's start) and its last (the last block to finish waits); the grids and
    the work are the same either way."""
    text = KERNEL.read_text()
    block = re.search(rf"#if defined\({OPTION}\) && {OPTION} > 0\n(.*?)#else\n#define TPB_PLANTED_SLOWDOWN_START\n"
                      r"#define TPB_PLANTED_SLOWDOWN_END\n#endif", text, re.S)
    assert block, "the planted code must sit in one #if block with an empty #else"
    outside = text.replace(block.group(0), "")
    assert OPTION not in outside and "globaltimer" not in outside and "atomic" not in outside
    # the first and last statements of the naive, grid-stride, one-shot and scalar kernels
    assert outside.count("    TPB_PLANTED_SLOWDOWN_START\n") == 4
    assert outside.count("    TPB_PLANTED_SLOWDOWN_END\n") == 4
    assert outside.count("TPB_PLANTED") == 8
    assert not re.search(r"\bplanted[A-Z]\w*|kPlanted|gPlanted", outside), "planted code outside the macros"
    # no early return in a kernel that carries the macros: the last block's __syncthreads needs every thread
    for kernel in re.findall(r"__global__ void.*?\n\{\n    TPB_PLANTED_SLOWDOWN_START\n(.*?)\n\}\n", outside, re.S):
        assert "return" not in kernel
    # the wait: PERMILLE/1000 of the span plus the launch allowance, measured by the last of the counted blocks
    assert "(span + kPlantedLaunchNs) * kPlantedPermille / 1000ULL" in block.group(1)


@pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("nvcc")), reason="needs cmake and nvcc")
def test_a_default_build_has_no_trace_and_a_planted_one_waits(tmp_path: Path) -> None:
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
        # relative to the kernel's folder: nvcc hands paths to the host compiler through sh, so a checkout
        # under a path with a `$` in it (as CI's is) would otherwise reach cc1plus expanded
        proc = subprocess.run(["nvcc", "-arch=sm_90", "-std=c++17", "-O3", "-ptx", *extra, KERNEL.name,
                               "-I", ".", "-o", str(out)], capture_output=True, text=True, timeout=600,
                              cwd=KERNEL.parent)
        assert proc.returncode == 0, proc.stderr[-2000:]
        ptx[name] = out.read_text()
    # the plant reads the GPU's nanosecond clock and counts the blocks done; the default build does neither
    assert "%globaltimer" not in ptx["default"] and "%globaltimer" in ptx["planted"]
    assert "atom.global" not in ptx["default"] and "atom.global.add.u32" in ptx["planted"]
    entries = {name: re.findall(r"\.entry (\w+)", text) for name, text in ptx.items()}
    assert entries["default"] == entries["planted"] and len(entries["default"]) > 40
    bodies = {name: re.split(r"\.entry \w+", text)[1:] for name, text in ptx.items()}
    unchanged = [e for e, a, b in zip(entries["default"], bodies["default"], bodies["planted"]) if a == b]
    assert unchanged == [e for e in entries["default"] if "emptyKernel" in e]
