"""Host-side (CPU) checks of the plugin's build files and creators: no GPU, no libnvinfer.

- FindTensorRT.cmake follows a re-pointed TENSORRT_INCLUDE_DIR in the same build folder (fake
  headers: only NvInferVersion.h), and plugin/CMakeLists.txt declares a CMake minimum that covers
  every feature it and its modules use.
- swish_creator_check (plugin/tests/swishCreatorCheck.cpp) built and run against each TensorRT
  include dir listed in the environment variable TENSORRT_INCLUDE_DIR (colon-separated); skipped,
  saying why, where it is unset (CI has no TensorRT headers) or cmake/nvcc are missing. It is run
  twice: the library first loaded by a plain dlopen, and first loaded by (a stub of) TensorRT's
  loadLibrary; either way every creator must end up registered exactly once through every later way
  of loading it. The bad-plugin fixture's registration fault (libswish_plugin_bad_register_twice.so:
  tests/fixtures/bad-plugins/registerTwiceSwishLibrary.cpp, built with -DTPB_BAD_PLUGINS=ON) must fail
  those registration checks and no other.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import byo_broken
import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIR = ROOT / "plugin"

# The CMake version that introduced each feature (CMake's documentation, "New in version").
# Patterns are searched in plugin/CMakeLists.txt and plugin/cmake/*.cmake with comments removed.
CMAKE_FEATURES: dict[str, tuple[str, tuple[int, int]]] = {
    "find_path/find_library NO_CACHE": (r"\bNO_CACHE\b", (3, 21)),
    "CMAKE_CUDA_ARCHITECTURES": (r"\bCMAKE_CUDA_ARCHITECTURES\b", (3, 18)),
    "CMAKE_CUDA_STANDARD 17": (r"\bCMAKE_CUDA_STANDARD\s+17\b", (3, 18)),
    "CMAKE_CUDA_RUNTIME_LIBRARY": (r"\bCMAKE_CUDA_RUNTIME_LIBRARY\b", (3, 17)),
    "find_package(CUDAToolkit)": (r"find_package\(\s*CUDAToolkit\b", (3, 17)),
    "target_link_options / LINKER: prefix": (r"\btarget_link_options\b|\bLINKER:", (3, 13)),
}


def _clean_env() -> dict[str, str]:
    """No TensorRT location from the caller's environment (the tests pass theirs as -D), and no
    Python settings for a cmake that may itself be a Python program."""
    drop = {"TENSORRT_INCLUDE_DIR", "TENSORRT_LIB_DIR", "TENSORRT_ROOT", "PYTHONHOME", "PYTHONPATH"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=_clean_env(), capture_output=True, text=True)


def _strip_cmake_comments(text: str) -> str:
    # A '#' opens a comment unless it is inside a quoted string (e.g. the "#define" regexes).
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())


def declared_cmake_minimum(cmakelists: str) -> tuple[int, int]:
    match = re.search(r"cmake_minimum_required\s*\(\s*VERSION\s+(\d+)\.(\d+)", cmakelists)
    assert match, "plugin/CMakeLists.txt declares no cmake_minimum_required(VERSION x.y)"
    return int(match.group(1)), int(match.group(2))


def required_cmake_minimum(sources: list[str]) -> tuple[tuple[int, int], list[str]]:
    """The highest 'new in' version of the features the sources use, and those features."""
    code = "\n".join(_strip_cmake_comments(s) for s in sources)
    used = [name for name, (pattern, _) in CMAKE_FEATURES.items() if re.search(pattern, code)]
    return max((CMAKE_FEATURES[name][1] for name in used), default=(0, 0)), used


def _cmake_sources() -> list[str]:
    files = [PLUGIN_DIR / "CMakeLists.txt", *sorted((PLUGIN_DIR / "cmake").glob("*.cmake"))]
    return [f.read_text() for f in files]


def test_declared_cmake_minimum_covers_the_features_used() -> None:
    declared = declared_cmake_minimum((PLUGIN_DIR / "CMakeLists.txt").read_text())
    required, used = required_cmake_minimum(_cmake_sources())
    assert "find_path/find_library NO_CACHE" in used, "the feature scan no longer sees NO_CACHE in FindTensorRT.cmake"
    assert declared >= required, (
        f"plugin/CMakeLists.txt allows CMake {declared[0]}.{declared[1]} but uses features of "
        f"{required[0]}.{required[1]}: {', '.join(n for n in used if CMAKE_FEATURES[n][1] > declared)}"
    )


def _fake_trt_include(path: Path, major: int, minor: int, patch: int) -> Path:
    """An include dir holding only a version header of our own making, in the style of that
    TensorRT version (FindTensorRT.cmake reads nothing else). Written line by line from the macro
    names, so no TensorRT header text is in this file."""
    path.mkdir(parents=True)
    parts = {"MAJOR": major, "MINOR": minor, "PATCH": patch}
    if major >= 10:  # 10.x+ define the NV_ macros through TRT_*_ENTERPRISE
        lines = [("TRT_" + k + "_ENTERPRISE", v) for k, v in parts.items()]
        lines += [("NV_TENSORRT_" + k, "TRT_" + k + "_ENTERPRISE") for k in parts]
    else:
        lines = [("NV_TENSORRT_" + k, v) for k, v in parts.items()]
    body = "".join(f"#define {name} {value}\n" for name, value in lines)
    (path / "NvInferVersion.h").write_text(f"#pragma once\n{body}")
    return path


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not on PATH")
def test_find_tensorrt_follows_a_repointed_include_dir(tmp_path: Path) -> None:
    major, minor = declared_cmake_minimum((PLUGIN_DIR / "CMakeLists.txt").read_text())
    project = tmp_path / "probe"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION {major}.{minor})\n"
        "project(find_tensorrt_probe LANGUAGES NONE)\n"
        f'list(APPEND CMAKE_MODULE_PATH "{(PLUGIN_DIR / "cmake").as_posix()}")\n'
        "find_package(TensorRT REQUIRED)\n"
        'message(STATUS "probe: TensorRT ${TensorRT_VERSION} at ${TensorRT_INCLUDE_DIR}")\n'
    )
    old = _fake_trt_include(tmp_path / "trt-8.6.0" / "include", 8, 6, 0)
    new = _fake_trt_include(tmp_path / "trt-10.16.0" / "include", 10, 16, 0)
    build = tmp_path / "build"
    for include, version in ((old, "8.6.0"), (new, "10.16.0")):
        proc = _run(["cmake", "-S", str(project), "-B", str(build), f"-DTENSORRT_INCLUDE_DIR={include}"])
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output
        [found] = re.findall(r"probe: TensorRT (\S+) at (.+)$", output, flags=re.MULTILINE)
        # the same build folder: the second configure must not keep the first headers
        assert (found[0], Path(found[1])) == (version, include), found


def _header_dirs() -> list[str]:
    return [d for d in os.environ.get("TENSORRT_INCLUDE_DIR", "").split(":") if d]


def _check_params() -> list:
    dirs = _header_dirs()
    if dirs:
        return [pytest.param(d, id=Path(d).parent.name or d) for d in dirs]
    return [pytest.param(None, marks=pytest.mark.skip(
        reason="TENSORRT_INCLUDE_DIR is not set (no TensorRT headers, as in CI): the plugin library "
               "and swish_creator_check cannot be built"))]


# The shared-library link as the GPU machine's toolchain does it: gcc-toolset links parts of libstdc++
# statically (libstdc++_nonshared.a), which exported __cxa_* and std::string's COW names from every library
# until the libraries linked with --exclude-libs,ALL (2026-12-06, H200 + trt-kit: both tests below failed
# there and passed here). -static-libstdc++ reproduces it on any machine.
LINKS = [pytest.param("", id="shared-libstdc++"), pytest.param("-static-libstdc++", id="static-libstdc++")]


def _link_option(link: str) -> list[str]:
    return [f"-DCMAKE_SHARED_LINKER_FLAGS={link}"] if link else []


def _build_check(build: Path, include_dir: str, *options: str, targets: tuple[str, ...] = ()) -> None:
    """Configures plugin/ in `build` against `include_dir` and builds swish_creator_check (and with it
    libswish_plugin.so) and `targets`."""
    missing = [tool for tool in ("cmake", "nvcc") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH: the plugin library (CUDA) cannot be built")
    assert (Path(include_dir) / "NvInferVersion.h").is_file(), f"{include_dir} has no NvInferVersion.h"
    configure = _run(["cmake", "-S", str(PLUGIN_DIR), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                      f"-DTENSORRT_INCLUDE_DIR={include_dir}", *options])
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compiled = _run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", "swish_creator_check",
                     *targets])
    assert compiled.returncode == 0, compiled.stdout[-4000:] + compiled.stderr[-4000:]


# The registration checks' names (swishCreatorCheck.cpp checkRegistration): what the planted fault
# must fail, and all it may fail.
REGISTRATION_CHECK = re.compile(r"(dlopen|loadLibrary|initSwishPlugins\()")
LOAD_ORDERS = ("", "--load-library-first")
# The bad-plugin fixture's registration fault (tests/fixtures/bad-plugins/badPlugins.cmake, -DTPB_BAD_PLUGINS=ON).
FAULTY_TARGET = "swish_plugin_bad_register_twice"


@pytest.mark.parametrize("include_dir", _check_params())
def test_creator_check_against_the_built_library(tmp_path: Path, include_dir: str) -> None:
    build = tmp_path / "build"
    _build_check(build, include_dir)
    for order in LOAD_ORDERS:
        check = _run([str(build / "swish_creator_check"), str(build / "libswish_plugin.so"), *filter(None, [order])])
        lines = check.stdout.splitlines()
        print(f"swish_creator_check {order} against {include_dir}:\n{check.stdout}")  # shown with pytest -s / -rA
        assert lines and re.fullmatch(r"swish_creator_check: \d+ passed, 0 failed", lines[-1]), check.stdout + check.stderr
        assert check.returncode == 0, check.stdout + check.stderr
        assert not [ln for ln in lines[:-1] if not ln.startswith("PASS ")], check.stdout
        registration = [ln for ln in lines if ln.startswith("PASS ") and REGISTRATION_CHECK.search(ln)]
        assert any("registers each creator once" in ln for ln in registration), check.stdout


@pytest.mark.parametrize("include_dir", _check_params())
def test_row_norm_creator_check(tmp_path: Path, include_dir: str) -> None:
    """plugin/tests/rowNormCreatorCheck.cpp (LayerNorm and residual-add + RMSNorm V1 creators: fields through
    common/pluginFields.h, records under every bit flip, format combinations) built and run; before
    2026-12-07 it was built by CMake and run by nothing. Its refusals are logged under the ops library's
    prefix ("[TpbOps]"), not the Swish library's."""
    build = tmp_path / "build"
    _build_check(build, include_dir, targets=("row_norm_creator_check",))
    check = _run([str(build / "row_norm_creator_check")])
    lines = check.stdout.splitlines()
    assert lines and lines[-1] == "row_norm_creator_check: 0 failed", check.stdout + check.stderr
    assert check.returncode == 0 and not [ln for ln in lines if ln.startswith("FAIL ")], check.stdout
    assert "ln done, outputs 1" in lines and "rms done, outputs 2" in lines, check.stdout
    refusals = [ln for ln in (check.stdout + check.stderr).splitlines() if ln.startswith("[ERROR]")]
    assert refusals and all(ln.startswith("[ERROR] [TpbOps] Tpb") for ln in refusals), refusals[:3]
    assert any('unknown field "Eps"' in ln for ln in refusals) and any("given more than once" in ln for ln in refusals)


@pytest.mark.parametrize("include_dir", _check_params())
def test_creator_check_catches_a_double_registration(tmp_path: Path, include_dir: str) -> None:
    """Planted fault: the bad-plugin fixture's libswish_plugin_bad_register_twice.so (the shipped Swish
    sources with tests/fixtures/bad-plugins/registerTwiceSwishLibrary.cpp in place of the library .cpp)
    never asks the registry what it holds, so initSwishPlugins and loadLibrary register the load-time
    creators again (what a plain REGISTER_TENSORRT_PLUGIN on top of the entry points would do). The check
    must fail, on registration checks only; the shipped library beside it, from the same build, passes."""
    build = tmp_path / "build"
    _build_check(build, include_dir, "-DTPB_BAD_PLUGINS=ON", targets=(FAULTY_TARGET,))
    faulty = build / f"lib{FAULTY_TARGET}.so"
    shipped = _run([str(build / "swish_creator_check"), str(build / "libswish_plugin.so")])
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    for order in LOAD_ORDERS:
        # the shipped check program against the faulty library: the fault is in the library alone
        check = _run([str(build / "swish_creator_check"), str(faulty), *filter(None, [order])])
        failed = [ln for ln in check.stdout.splitlines() if ln.startswith("FAIL ")]
        assert check.returncode != 0 and failed, f"the planted double registration went unnoticed:\n{check.stdout}"
        assert any("refused as duplicates" in ln for ln in failed), check.stdout
        assert all(REGISTRATION_CHECK.search(ln) for ln in failed), f"a non-registration check failed:\n{check.stdout}"


DEBUG_PREFIX = "[swish-plugin debug] "


@pytest.mark.parametrize("include_dir", _check_params())
def test_debug_diagnostic_explains_registration(tmp_path: Path, include_dir: str) -> None:
    """TPB_PLUGIN_DEBUG=1: the library says on stderr, at load and in initSwishPlugins/getPluginCreators,
    which object's getPluginRegistry it used and what became of each creator; unset, it says nothing.
    (The H200 run of 2026-12-02 got "no Swish creator" and no word why: this is what explains the next.)"""
    build = tmp_path / "build"
    _build_check(build, include_dir)
    library = build / "libswish_plugin.so"
    check_exe = build / "swish_creator_check"
    quiet = _run([str(check_exe), str(library)])
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert DEBUG_PREFIX not in quiet.stderr, quiet.stderr
    env = {**_clean_env(), "TPB_PLUGIN_DEBUG": "1"}
    for order in LOAD_ORDERS:
        loud = subprocess.run([str(check_exe), str(library), *filter(None, [order])], env=env,
                              capture_output=True, text=True)
        assert loud.returncode == 0, loud.stdout + loud.stderr  # the checks pass with the diagnostics on
        lines = [ln[len(DEBUG_PREFIX):] for ln in loud.stderr.splitlines() if ln.startswith(DEBUG_PREFIX)]
        text = "\n".join(lines)
        assert f"load: {library} loaded (built against TensorRT " in text, text
        # the check program is this process's libnvinfer (it exports the stand-in getPluginRegistry)
        assert re.search(rf"load: getPluginRegistry from {re.escape(str(check_exe))} \(found by ", text), text
        assert re.search(r"load: registerCreator\(Swish v1 \(IPluginCreator\), \"\"\) registered it", text), text
        assert re.search(r"initSwishPlugins: Swish v1 \(IPluginCreator\) already registered under \"\"", text), text
        assert re.search(r"getPluginCreators: hands 1 creator\(s\) to the loader|getCreators: hands 2 creator", text), text
        assert "initSwishPlugins: returns " in text, text


# The real TensorRT 8.6 on this CPU host: trt-kit's libnvinfer.so.8 (its registry needs no GPU) and its
# 8.6.1 Python bindings. TPB_REAL_TRT_LIB_DIR: a folder with libnvinfer.so.8 and the kit's stand-ins
# for libnvinfer_plugin/libnvparsers/libnvonnxparser.so.8; TPB_REAL_TRT_SITE: the kit's site folder
# (tensorrt, tensorrt_libs). Both unset (CI): skipped.
REAL_LIB_DIR = os.environ.get("TPB_REAL_TRT_LIB_DIR", "")
REAL_SITE = os.environ.get("TPB_REAL_TRT_SITE", "")
REAL_PYTHON = shutil.which("python3.11")

REAL_PROGRAM = r"""
import ctypes, os, sys
mode, library = sys.argv[1], sys.argv[2]
if mode == "bindings":
    import tensorrt as trt
    registry = trt.get_plugin_registry()
    def count():
        return [(c.name, c.plugin_version, c.plugin_namespace) for c in registry.plugin_creator_list].count(("Swish", "1", ""))
    print("before", count())
    handle = ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
    print("cdll", count())
    init = handle.initSwishPlugins
    init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
    print("init", init(b""), count())
    print("init", init(b""), count())
else:  # what a host that dlopens libnvinfer by full path, privately, then the plugin does
    ctypes.CDLL(os.path.join(os.environ["TPB_REAL_TRT_LIB_DIR"], "libnvinfer.so.8"), mode=os.RTLD_LOCAL)
    ctypes.CDLL(library, mode=os.RTLD_LOCAL)
"""


def _header_major(include_dir: Path) -> int | None:
    """The TensorRT major version an include dir declares (its version header's major macro, read by
    name: 8.x writes the number, 10.x+ routes it through an *_ENTERPRISE macro, read the same way)."""
    header = include_dir / "NvInferVersion.h"
    if not header.is_file():
        return None
    text = header.read_text()
    for name in ("NV_TENSORRT_" + "MAJOR", "TRT_MAJOR_" + "ENTERPRISE"):
        m = re.search(rf"\b{name}\s+(\d+)\b", text)
        if m:
            return int(m.group(1))
    return None


@pytest.mark.skipif(not (REAL_LIB_DIR and REAL_SITE and REAL_PYTHON),
                    reason="TPB_REAL_TRT_LIB_DIR / TPB_REAL_TRT_SITE (trt-kit's real TensorRT 8.6) or python3.11 missing")
def test_plain_dlopen_registers_with_the_real_tensorrt_86(tmp_path: Path) -> None:
    include_dir = next((d for d in _header_dirs() if _header_major(Path(d)) == 8), None)
    if include_dir is None:
        pytest.skip("no TensorRT 8 headers among TENSORRT_INCLUDE_DIR")
    build = tmp_path / "build"
    _build_check(build, include_dir)
    library = str(build / "libswish_plugin.so")
    env = {**_clean_env(), "PYTHONPATH": REAL_SITE, "TRTKIT_LIB": REAL_LIB_DIR, "TPB_REAL_TRT_LIB_DIR": REAL_LIB_DIR,
           "TPB_PLUGIN_DEBUG": "1"}
    program = tmp_path / "real.py"
    program.write_text(REAL_PROGRAM)
    proc = subprocess.run([REAL_PYTHON, str(program), "bindings", library], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ctypes.CDLL alone registers the creator once; initSwishPlugins is idempotent
    assert proc.stdout.split("\n")[:4] == ["before 0", "cdll 1", "init 1 1", "init 1 1"], proc.stdout + proc.stderr
    assert f"getPluginRegistry from {REAL_LIB_DIR}/libnvinfer.so.8" in proc.stderr, proc.stderr
    proc = subprocess.run([REAL_PYTHON, str(program), "private", library], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"load: getPluginRegistry from \S*libnvinfer\.so\.8 \(found by libnvinfer\.so\.8\)", proc.stderr), proc.stderr
    assert 'load: registerCreator(Swish v1 (IPluginCreator), "") registered it' in proc.stderr, proc.stderr


def self_interposable(library: Path) -> list[str]:
    """The library's own exported names that its dynamic relocations (PLT slots, GOT entries) still
    resolve at load time, so through the process's global scope: a copy loaded second would bind
    them to the first copy's definitions. -Bsymbolic leaves none (the default build has many)."""
    relocs = _run(["readelf", "-rW", str(library)]).stdout
    used = {m.group(2).split("@")[0] for m in re.finditer(r"R_X86_64_(JUMP_SLOT|GLOB_DAT|64)\s+\S+\s+(\S+)", relocs)}
    defined = {line.split()[-1].split("@")[0] for line in _run(["nm", "-D", "--defined-only", str(library)]).stdout.splitlines()
               if line.strip()}
    return sorted(used & defined)


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("include_dir", _check_params())
def test_namespace_and_suffix_make_a_second_library(tmp_path: Path, include_dir: str, link: str) -> None:
    """`tpb verdict --rebuild` loads a baseline copy of the plugin beside the candidate's: built with
    TPB_PLUGIN_NAMESPACE and TPB_LIBRARY_SUFFIX, its creators live under that namespace (the creator
    check with SWISH_CHECK_NAMESPACE; expecting "" must fail: the check can tell), both libraries carry
    the suffix in their file names and SONAMEs, no DT_NEEDED names an unsuffixed swish library (the
    loader would reuse the candidate's), and both bind their own symbols (FLAGS SYMBOLIC)."""
    if shutil.which("readelf") is None:
        pytest.skip("readelf is not on PATH")
    build = tmp_path / "build"
    _build_check(build, include_dir, "-DTPB_PLUGIN_NAMESPACE=tpb_base_hostcheck", "-DTPB_LIBRARY_SUFFIX=_base_hostcheck",
                 "-DCMAKE_CUDA_ARCHITECTURES=90", *_link_option(link))
    kernels = _run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", "swish_kernels"])
    assert kernels.returncode == 0, kernels.stdout[-4000:] + kernels.stderr[-4000:]
    plugin, kernel_lib = build / "libswish_plugin_base_hostcheck.so", build / "libswish_kernels_base_hostcheck.so"
    assert plugin.is_file() and kernel_lib.is_file(), sorted(p.name for p in build.glob("*.so"))
    assert not (build / "libswish_plugin.so").exists() and not (build / "libswish_kernels.so").exists()
    for lib in (plugin, kernel_lib):
        dynamic = _run(["readelf", "-d", str(lib)]).stdout
        assert f"Library soname: [{lib.name}]" in dynamic, dynamic
        needed = re.findall(r"Shared library: \[([^\]]+)\]", dynamic)
        assert not [n for n in needed if n.startswith("libswish_") and "_base_hostcheck" not in n], needed
        assert re.search(r"\(FLAGS\)\s+.*SYMBOLIC", dynamic), dynamic
        if shutil.which("nm"):  # no dynamic relocation resolves one of its own names through the global scope
            assert not self_interposable(lib), self_interposable(lib)
    env = {**_clean_env(), "SWISH_CHECK_NAMESPACE": "tpb_base_hostcheck"}
    for order in LOAD_ORDERS:
        check = subprocess.run([str(build / "swish_creator_check"), str(plugin), *filter(None, [order])], env=env,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert 'registers each creator once under "tpb_base_hostcheck"' in check.stdout, check.stdout
    wrong = _run([str(build / "swish_creator_check"), str(plugin)])  # expects the default namespace ""
    failed = [ln for ln in wrong.stdout.splitlines() if ln.startswith("FAIL ")]
    assert wrong.returncode != 0 and any('0 under ""' in ln for ln in failed), wrong.stdout


def _cuda_root() -> Path | None:
    """The CUDA toolkit (headers and libcudart): CUDA_HOME / CUDA_PATH, /usr/local/cuda, or beside nvcc."""
    nvcc = shutil.which("nvcc")
    candidates = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""), "/usr/local/cuda",
                  str(Path(nvcc).resolve().parent.parent) if nvcc else ""]
    return next((Path(c) for c in candidates if c and (Path(c) / "include" / "cuda_runtime_api.h").is_file()), None)


SANITIZERS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def _byo_example_check(tmp_path: Path, include_dir: str, example: Path) -> subprocess.CompletedProcess:
    """plugin/tests/byoExampleCheck.cpp built with ``example``'s sources under ASan+UBSan, and run."""
    cuda = _cuda_root()
    cxx = shutil.which("g++")
    if cuda is None or cxx is None:
        pytest.skip("g++ or the CUDA toolkit (nvcc on PATH, its headers and libcudart) missing")
    lib = next((d for d in (cuda / "lib64", cuda / "lib") if (d / "libcudart.so").exists()), cuda / "lib64")
    exe = tmp_path / "byo_example_check"
    built = _run([cxx, "-std=c++17", "-O1", "-g", *SANITIZERS, "-Wall", "-Wextra", "-Werror",
                  "-Wno-deprecated-declarations", "-isystem", include_dir, "-isystem", str(cuda / "include"),
                  f"-I{example}", str(PLUGIN_DIR / "tests" / "byoExampleCheck.cpp"), str(example / "hardSwishPlugin.cpp"),
                  str(example / "hardSwishCore.cpp"), f"-L{lib}", "-lcudart", f"-Wl,-rpath,{lib}", "-o", str(exe)])
    assert built.returncode == 0, built.stderr[-4000:]
    check = _run([str(exe)])
    print(check.stdout)
    assert not re.search(r"AddressSanitizer|runtime error:", check.stderr), check.stderr[-4000:]
    return check


@pytest.mark.parametrize("include_dir", _check_params())
def test_byo_example_check_under_sanitizers(tmp_path: Path, include_dir: str) -> None:
    """Issue 26, item 6: the byo example through its TensorRT interfaces (plugin/tests/byoExampleCheck.cpp,
    linked with the example's sources and a counting stand-in for its kernel launcher), under ASan+UBSan:
    null field data with nbFields 2, nbFields -1, duplicates, null inputs to getOutputDimensions /
    getOutputDataType / supportsFormatCombination / enqueue, rank 9, a count that wraps to 0, the old
    4-byte record and every single-byte change of the record it serializes; issue 23: the clone
    lifecycle and no synchronizing call in enqueue."""
    check = _byo_example_check(tmp_path, include_dir, ROOT / "examples" / "byo-plugin")
    lines = check.stdout.splitlines()
    assert check.returncode == 0, check.stdout + check.stderr[-4000:]
    assert lines and re.fullmatch(r"byo_example_check: \d+ passed, 0 failed", lines[-1]), check.stdout
    for needle in byo_broken.fixture()["expected_failures"]["host_check"]:
        assert f"PASS {needle}" in lines, needle


@pytest.mark.parametrize("include_dir", _check_params())
def test_byo_broken_copy_fails_exactly_its_faults_on_the_host(tmp_path: Path, include_dir: str) -> None:
    """Issue 23: the broken copy of the example (tests/fixtures/byo-broken: a shallow clone, a
    synchronizing enqueue) through the same host check: exactly the clone-lifecycle and the
    no-synchronization lines fail, every other line passes, no sanitizer report."""
    broken = byo_broken.make_broken_copy(tmp_path / "byo-broken")
    check = _byo_example_check(tmp_path, include_dir, broken.folder)
    lines = check.stdout.splitlines()
    failed = [ln for ln in lines if ln.startswith("FAIL ")]
    assert len(failed) == len(broken.host_check_failures), check.stdout
    for needle in broken.host_check_failures:
        assert any(ln.startswith(f"FAIL {needle}") for ln in failed), (needle, check.stdout)
    assert check.returncode == 1 and re.fullmatch(rf"byo_example_check: \d+ passed, {len(failed)} failed", lines[-1])


@pytest.mark.parametrize("include_dir", _check_params())
def test_creator_check_under_sanitizers(tmp_path: Path, include_dir: str) -> None:
    """The plugin library and swish_creator_check built with -fsanitize=address,undefined: every check,
    in both load orders and --unload, passes with no sanitizer report."""
    build = tmp_path / "build"
    flags = " ".join(SANITIZERS)
    _build_check(build, include_dir, "-DCMAKE_BUILD_TYPE=Debug", f"-DCMAKE_CXX_FLAGS={flags}",
                 "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined",
                 "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined", "-DCMAKE_CUDA_ARCHITECTURES=90")
    env = _clean_env()
    for order in (*LOAD_ORDERS, "--unload"):
        # --unload dlcloses the library: against a real libnvinfer (trt-kit, H100 2026-12-06) LeakSanitizer
        # then reports the 73728-byte block a loaded library's static initialiser allocated (the size of
        # libstdc++'s emergency exception pool) as lost once its owner is unmapped. That run checks the
        # registry after dlclose; leaks are checked in the load-order runs, which unload nothing.
        run_env = {**env, "ASAN_OPTIONS": "detect_leaks=0"} if order == "--unload" else env
        check = subprocess.run([str(build / "swish_creator_check"), str(build / "libswish_plugin.so"),
                                *filter(None, [order])], env=run_env, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-4000:]
        assert not re.search(r"AddressSanitizer|runtime error:", check.stderr), check.stderr[-4000:]


@pytest.mark.parametrize("include_dir", _check_params())
def test_creator_namespaces_under_tsan(tmp_path: Path, include_dir: str) -> None:
    """Issue 26, item 4: the plugin library and swish_creator_check built with -fsanitize=thread; three
    threads call initSwishPlugins with changing namespaces while three read getPluginNamespace() without a
    lock (swish_creator_check --threads): no data race, every read a whole namespace."""
    build = tmp_path / "build"
    _build_check(build, include_dir, "-DCMAKE_BUILD_TYPE=Debug", "-DCMAKE_CXX_FLAGS=-fsanitize=thread",
                 "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread", "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread",
                 "-DCMAKE_CUDA_ARCHITECTURES=90")
    env = {**_clean_env(), "TSAN_OPTIONS": "halt_on_error=1"}
    check = subprocess.run([str(build / "swish_creator_check"), str(build / "libswish_plugin.so"), "--threads"],
                           env=env, capture_output=True, text=True, timeout=600)
    print(check.stdout)
    assert "ThreadSanitizer" not in check.stderr, check.stderr[-6000:]
    assert check.returncode == 0 and check.stdout.rstrip().endswith("passed, 0 failed"), check.stdout + check.stderr[-3000:]


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("include_dir", _check_params())
def test_scale_fixture_plugin_builds_and_exports_its_init_only(tmp_path: Path, include_dir: str, link: str) -> None:
    """Issue 23: the test operator scale's plugin (tests/fixtures/scalePlugin, the GPU suite's
    overflowing fp16 op) builds with its CMakeLists against the headers, exports initScalePlugins
    alone and needs no libnvinfer at link time (it finds the host's registry at run time)."""
    missing = [tool for tool in ("cmake", "nvcc", "nm", "readelf") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH: the scale fixture (CUDA) cannot be built")
    build = tmp_path / "build"
    configure = _run(["cmake", "-S", str(ROOT / "tests" / "fixtures" / "scalePlugin"), "-B", str(build),
                      f"-DTENSORRT_INCLUDE_DIR={include_dir}", "-DCMAKE_CUDA_ARCHITECTURES=90", *_link_option(link)])
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compiled = _run(["cmake", "--build", str(build), "-j", "1"])
    assert compiled.returncode == 0, compiled.stdout[-4000:] + compiled.stderr[-4000:]
    library = build / "libscale_plugin.so"
    exported = _run(["nm", "-D", "--defined-only", str(library)]).stdout.split("\n")
    assert [ln.split()[-1] for ln in exported if " T " in ln] == ["initScalePlugins"], exported
    needed = _run(["readelf", "-d", str(library)]).stdout
    assert "libnvinfer" not in needed, needed
