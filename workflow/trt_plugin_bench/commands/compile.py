"""The compile rule: build the plugin with CMake and write a manifest of what was built.

TensorRT backend: plugin/'s build: the plugin library of the specs that name plugin/ (V2, and V3
where TensorRT >= 10) plus their direct kernel libraries (variants.direct), and the native runner trt_runner where CMake found libnvinfer to link it
(the manifest's "trt_runner": its path, else null). Reference backend: the pure-CUDA kernels only where nvcc exists (they cannot
run here; building them still catches compile errors), else a manifest saying why nothing was built.

Every operator spec with a plugin library (the project's own specs in ops/ as any user's): on the
TensorRT backend a CMake source folder is
configured and built in results/<experiment>/build/spec/<folder>-<hash> (each folder once, whatever number of
specs name it; the project's plugin/ is the main build above, not built twice) and its target must
appear there; a prebuilt .so must exist. Both are recorded in
the manifest's ``spec_libraries`` ({Library.manifest_key: absolute path}), which the TensorRT
backend loads them from, and ``spec_builds`` (what was built from where, its source hash). On the
reference backend nothing of theirs is compiled: numpy evaluates the spec's reference, so each
library is recorded as null with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.provenance import PLUGIN_DIR, plugin_source_hash, plugin_sources
from ..core.specs import Library, OperatorSpec, SpecError

# where the compile rule builds the spec libraries: beside the project's build (results/<experiment>/build/plugin)
SPEC_BUILD_DIR = "spec"


def cmake_path_problem(cmd: Sequence[str]) -> str | None:
    """Why CMake cannot run ``cmd``, or None: CMake splits a list at ';', so a source or build folder
    whose path holds one fails deep inside its compiler detection. Said up front instead."""
    if not cmd or Path(cmd[0]).name != "cmake":
        return None
    bad = [a for a in cmd[1:] if ";" in a and not a.startswith("-D")]
    if not bad:
        return None
    return (f"CMake cannot build in {bad[0]}: its path holds a ';', which CMake reads as a list separator; "
            "move or clone the project to a path without ';' (a space or a $ is fine)")


# what nvcc's own shell would expand in a path it is handed (a space it quotes right), and CMake's
# list separator
NVCC_UNSAFE = set('$`"\\;')


def nvcc_safe(path: Path) -> Path:
    """``path``, or where it holds a character nvcc's shell would expand (nvcc runs the host
    compiler through sh: a source at '/p/a $HOME/x.cu' reaches cc1plus as '/p/a /root/x.cu') or a
    ';' (CMake's list separator), a symbolic link to it that holds none. The link's name is the path's digest, under a folder of
    this user's in the temporary directory: the same path always gets the same link, so CMake's cache
    in a build folder stays valid from one run to the next."""
    path = Path(path).absolute()
    if not NVCC_UNSAFE & set(str(path)):
        return path
    links = Path(tempfile.gettempdir()) / f"tpb-nvcc-links-{os.getuid()}"
    links.mkdir(mode=0o700, exist_ok=True)
    if links.is_symlink() or links.stat().st_uid != os.getuid():
        raise RuntimeError(f"{links} is not a folder of this user's: remove it (it holds links only)")
    link = links / hashlib.sha256(str(path).encode()).hexdigest()[:16]
    if not (link.is_symlink() and os.readlink(link) == str(path)):
        path.mkdir(parents=True, exist_ok=True)
        tmp = links / f".{link.name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path, target_is_directory=True)
        os.replace(tmp, link)
    return link


def _run(cmd: list[str], log_file) -> None:  # noqa: ANN001
    problem = cmake_path_problem(cmd)
    if problem:
        raise RuntimeError(problem)
    log_file.write("$ " + " ".join(cmd) + "\n")
    log_file.flush()
    # cmake may itself be a Python program (the PyPI wheel): keep our interpreter's settings away
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    proc = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed with exit code {proc.returncode}: {' '.join(cmd)} (see the log)")


def _arch_args(cuda_architectures: str) -> list[str]:
    return [f"-DCMAKE_CUDA_ARCHITECTURES={cuda_architectures}"] if cuda_architectures else []


@dataclass(frozen=True)
class SpecBuild:
    """One CMake folder of the spec libraries, built once: the specs naming it and their targets."""

    cmake: Path
    specs: tuple[Path, ...]  # the spec files naming it (for the messages)
    targets: tuple[str, ...]

    def build_dir(self, root: Path) -> Path:
        """``root``/spec/<folder name>-<8 hex of its path>: two folders of one name never share one."""
        digest = hashlib.sha256(str(self.cmake).encode()).hexdigest()[:8]
        return Path(root) / SPEC_BUILD_DIR / f"{self.cmake.name}-{digest}"

    def configure_command(self, build_dir: Path, cuda_architectures: str = "") -> list[str]:
        """The cmake command line that configures it (TensorRT is found by its own CMakeLists, from
        TENSORRT_INCLUDE_DIR / TENSORRT_LIB_DIR / TENSORRT_ROOT in the environment, as plugin/'s is)."""
        return ["cmake", "-S", str(nvcc_safe(self.cmake)), "-B", str(nvcc_safe(build_dir)), "-DCMAKE_BUILD_TYPE=Release",
                *_arch_args(cuda_architectures)]


def external_libraries(op_specs: Sequence[OperatorSpec]) -> tuple[list[SpecBuild], list[tuple[Path, Library]]]:
    """The CMake folders (grouped, in order) and the prebuilt libraries of the specs' plugin libraries."""
    folders: dict[Path, SpecBuild] = {}
    prebuilt: list[tuple[Path, Library]] = []
    for spec in op_specs:
        lib = spec.plugin.library if spec.plugin is not None else None
        if lib is None:
            continue
        where = spec.path or Path("<no file>")
        if lib.prebuilt is not None:
            prebuilt.append((where, lib))
            continue
        assert lib.cmake is not None and lib.target is not None
        old = folders.get(lib.cmake, SpecBuild(lib.cmake, (), ()))
        folders[lib.cmake] = SpecBuild(lib.cmake, tuple(dict.fromkeys((*old.specs, where))),
                                       tuple(dict.fromkeys((*old.targets, lib.target))))
    return list(folders.values()), prebuilt


def _find_target(build_dir: Path, target: str) -> Path | None:
    """``target`` where CMake put it: the build folder itself, else the one file of that name under it."""
    if (build_dir / target).is_file():
        return build_dir / target
    found = sorted(p for p in build_dir.rglob(target) if p.is_file() and "CMakeFiles" not in p.parts)
    return found[0] if found else None


def compile_spec_libraries(backend_name: str, build_root: Path, op_specs: Sequence[OperatorSpec], log_path: Path,
                           cuda_architectures: str = "", built: Mapping[Path, Path] | None = None) -> dict:
    """Build (TensorRT backend) or record (reference backend) the spec libraries; returns the
    manifest's {"spec_libraries": ..., "spec_builds": ...}. ``built``: CMake folders this rule built
    already ({source folder: build folder}, the main build of plugin/): their targets are looked up
    there, not built twice. Raises SpecError naming the spec file and key for a prebuilt library
    that does not exist or a target the build did not produce."""
    folders, prebuilt = external_libraries(op_specs)
    libraries: dict[str, str | None] = {}
    builds: dict[str, dict] = {}
    on_gpu = backend_name == "tensorrt"
    for spec_file, lib in prebuilt:
        assert lib.prebuilt is not None
        if on_gpu and not lib.prebuilt.is_file():
            raise SpecError(f"operator spec {spec_file}: key 'plugin.library.prebuilt': {lib.prebuilt} does not exist; "
                            "allowed: the path of a built plugin library (relative to the spec file), or "
                            "{cmake: <folder>, target: <lib>.so} to have the compile rule build it")
        libraries[lib.manifest_key] = str(lib.prebuilt) if lib.prebuilt.is_file() else None
        builds[str(lib.prebuilt)] = {"specs": [str(spec_file)], "prebuilt": True,
                                     "built": False, "reason": "prebuilt" if lib.prebuilt.is_file() else
                                     "reference backend: prebuilt library not present (not needed here)"}
    for sb in folders:
        entry: dict = {"specs": [str(p) for p in sb.specs], "cmake": str(sb.cmake), "targets": list(sb.targets),
                       "source_hash": plugin_source_hash(sb.cmake), "built": False}
        done = (built or {}).get(sb.cmake.resolve())
        if on_gpu and done is not None:  # the main build: its targets are there
            build_dir = done
            for t in sb.targets:
                found = _find_target(build_dir, t)
                if found is None:
                    raise SpecError(f"operator spec {sb.specs[0]}: key 'plugin.library.target': the build of {sb.cmake} "
                                    f"in {build_dir} produced no {t}")
                libraries[Library(cmake=sb.cmake, target=t).manifest_key] = str(found.resolve())
            entry.update(built=True, build_dir=str(build_dir.resolve()), reason="the main build (compile_plugin)")
            builds[str(sb.cmake)] = entry
            continue
        if not on_gpu:
            entry["reason"] = ("reference backend: nothing compiled (numpy evaluates the spec's reference; the "
                               "library is built by the compile rule on the tensorrt backend)")
            for t in sb.targets:
                libraries[Library(cmake=sb.cmake, target=t).manifest_key] = None
            builds[str(sb.cmake)] = entry
            continue
        build_dir = sb.build_dir(build_root)
        build_dir.mkdir(parents=True, exist_ok=True)
        with Path(log_path).open("a") as log_file:
            log_file.write(f"\n# spec library {sb.cmake} (operator specs: {', '.join(map(str, sb.specs))})\n")
            try:
                _run(sb.configure_command(build_dir, cuda_architectures), log_file)
                _run(["cmake", "--build", str(nvcc_safe(build_dir)), "-j", str(os.cpu_count() or 2)], log_file)
            except RuntimeError as exc:
                raise RuntimeError(f"building the plugin library of operator spec {sb.specs[0]} (key "
                                   f"'plugin.library.cmake': {sb.cmake}) failed: {exc}; its output is in {log_path}") from exc
        for t in sb.targets:
            target_file = _find_target(build_dir, t)  # not `built`: that is the main builds' map, read for each folder
            if target_file is None:
                made = sorted(p.name for p in build_dir.rglob("*.so*") if "CMakeFiles" not in p.parts)
                raise SpecError(f"operator spec {sb.specs[0]}: key 'plugin.library.target': the build of {sb.cmake} "
                                f"finished in {build_dir} but produced no {t}; allowed: the file name of a library its "
                                f"CMakeLists.txt builds (it built: {', '.join(made) or 'no .so'})")
            libraries[Library(cmake=sb.cmake, target=t).manifest_key] = str(target_file.resolve())
        entry.update(built=True, build_dir=str(build_dir.resolve()), reason="built with CMake")
        builds[str(sb.cmake)] = entry
    return {"spec_libraries": libraries, "spec_builds": builds}


def spec_library_sources(op_specs: Sequence[OperatorSpec]) -> list[Path]:
    """What the compile rule reads of the spec libraries beyond plugin/ (its main build's input):
    each spec file naming one, and every source, header and CMake file of each CMake folder (an
    edit reruns the rule)."""
    folders, prebuilt = external_libraries(op_specs)
    folders = [sb for sb in folders if sb.cmake.resolve() != PLUGIN_DIR.resolve()]
    out = [p for sb in folders for p in sb.specs] + [p for p, _ in prebuilt]
    out += [src for sb in folders for src in plugin_sources(sb.cmake)]
    return list(dict.fromkeys(out))


def compile_plugin(backend_name: str, build_dir: Path, manifest_path: Path, log_path: Path,
                   cuda_architectures: str = "", op_specs: Sequence[OperatorSpec] = ()) -> dict:
    """``cuda_architectures``: a CMAKE_CUDA_ARCHITECTURES list (dag.cuda_architectures: the present
    GPU's, or config compile.cuda_architectures); "" leaves it to CMake and the compiler's default.
    ``op_specs``: the configured operators; those with a plugin library of their own are built too
    (compile_spec_libraries)."""
    build_dir = Path(build_dir)
    manifest: dict = {
        "backend": backend_name,
        "source_hash": plugin_source_hash(),
        "plugin_library": None,
        "kernels_library": None,
        "trt_runner": None,  # the native runner (plugin/runner/trtRunner.cpp): the threads rule's native driver
        "built": False,
        "reason": "",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    kernels_only = backend_name != "tensorrt"
    missing = [tool for tool in ("cmake", "nvcc") if shutil.which(tool) is None]
    if kernels_only:
        # the CPU backend runs no CUDA kernel (numpy evaluates every operator): compiling them here
        # only cost time (40 s of nvcc on 2 cores); `make kernels-check` is their compile check
        manifest["reason"] = ("reference backend: the CUDA kernels were not compiled (the CPU backend runs none; "
                              "`make kernels-check` compiles them)")
    elif missing:
        raise RuntimeError(f"the tensorrt backend needs {', '.join(missing)} to build the plugin; none found on PATH")
    else:
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = ["cmake", "-S", str(nvcc_safe(PLUGIN_DIR)), "-B", str(nvcc_safe(build_dir)),
                     "-DCMAKE_BUILD_TYPE=Release", *_arch_args(cuda_architectures),
                     "-DTPB_PTXAS_VERBOSE=ON", f"-DTPB_KERNELS_ONLY={'ON' if kernels_only else 'OFF'}"]
        with Path(log_path).open("w") as log_file:
            _run(configure, log_file)
            _run(["cmake", "--build", str(nvcc_safe(build_dir)), "-j", str(os.cpu_count() or 2)], log_file)
        # what the specs naming plugin/ say it builds: their plugin libraries and direct kernel libraries
        mine = [sp for sp in op_specs if sp.plugin is not None and sp.plugin.library.cmake is not None
                and sp.plugin.library.cmake.resolve() == PLUGIN_DIR.resolve()]
        direct = list(dict.fromkeys(sp.variants.direct_library for sp in mine
                                    if sp.variants is not None and sp.variants.direct_library))
        found = {name: build_dir / name for name in direct if (build_dir / name).exists()}
        manifest["direct_libraries"] = {name: str(p.resolve()) for name, p in found.items()}
        manifest["kernels_library"] = next(iter(manifest["direct_libraries"].values()), None)
        targets = list(dict.fromkeys(sp.plugin.library.target for sp in mine if sp.plugin.library.target))
        if not kernels_only:
            for target in targets:
                if not (build_dir / target).exists():
                    raise RuntimeError(f"the build finished but {build_dir / target} is missing")
            manifest["plugin_library"] = str((build_dir / targets[0]).resolve()) if targets else None
            runner = build_dir / "trt_runner"  # CMake builds it only where it found libnvinfer
            manifest["trt_runner"] = str(runner.resolve()) if runner.exists() else None
        manifest["cuda_architectures"] = cuda_architectures or "compiler default"
        manifest["built"] = True
        manifest["reason"] = ("pure-CUDA kernels only (reference backend)" if kernels_only
                              else "plugin library and kernels")
        manifest["ptxas"] = [line.strip() for line in Path(log_path).read_text().splitlines()
                             if "ptxas info" in line and ("registers" in line or "spill" in line or "Compiling" in line)]
    if not Path(log_path).exists():
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        Path(log_path).write_text("")
    main = {PLUGIN_DIR.resolve(): build_dir} if manifest["built"] else {}
    manifest.update(compile_spec_libraries(backend_name, build_dir.parent, op_specs, Path(log_path), cuda_architectures,
                                           main))
    Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
    Path(manifest_path).write_text(json.dumps(manifest, indent=2))
    return manifest
