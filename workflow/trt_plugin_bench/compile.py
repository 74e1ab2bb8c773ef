"""The compile rule: build the plugin with CMake and write a manifest of what was built.

TensorRT backend: the full plugin library (V2, and V3 where TensorRT >= 10) plus the pure-CUDA
kernel library, and the native runner trt_runner where CMake found libnvinfer to link it
(the manifest's "trt_runner": its path, else null). Reference backend: the pure-CUDA kernels only where nvcc exists (they cannot
run here; building them still catches compile errors), else a manifest saying why nothing was built.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from .provenance import PLUGIN_DIR, plugin_source_hash


def _run(cmd: list[str], log_file) -> None:  # noqa: ANN001
    log_file.write("$ " + " ".join(cmd) + "\n")
    log_file.flush()
    # cmake may itself be a Python program (the PyPI wheel): keep our interpreter's settings away
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    proc = subprocess.run(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed with exit code {proc.returncode}: {' '.join(cmd)} (see the log)")


def compile_plugin(backend_name: str, build_dir: Path, manifest_path: Path, log_path: Path,
                   cuda_architectures: str = "") -> dict:
    """``cuda_architectures``: a CMAKE_CUDA_ARCHITECTURES list (dag.cuda_architectures: the present
    GPU's, or config compile.cuda_architectures); "" leaves it to CMake and the compiler's default."""
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
    if missing and kernels_only:
        manifest["reason"] = (f"reference backend: {', '.join(missing)} not found, so the CUDA kernels were not "
                              "compiled (the reference backend does not need them)")
    elif missing:
        raise RuntimeError(f"the tensorrt backend needs {', '.join(missing)} to build the plugin; none found on PATH")
    else:
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = ["cmake", "-S", str(PLUGIN_DIR), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                     *([f"-DCMAKE_CUDA_ARCHITECTURES={cuda_architectures}"] if cuda_architectures else []),
                     "-DTPB_PTXAS_VERBOSE=ON", f"-DTPB_KERNELS_ONLY={'ON' if kernels_only else 'OFF'}"]
        with Path(log_path).open("w") as log_file:
            _run(configure, log_file)
            _run(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 2)], log_file)
        kernels = build_dir / "libswish_kernels.so"
        plugin = build_dir / "libswish_plugin.so"
        manifest["kernels_library"] = str(kernels.resolve()) if kernels.exists() else None
        if not kernels_only:
            if not plugin.exists():
                raise RuntimeError(f"the build finished but {plugin} is missing")
            manifest["plugin_library"] = str(plugin.resolve())
            runner = build_dir / "trt_runner"  # CMake builds it only where it found libnvinfer
            manifest["trt_runner"] = str(runner.resolve()) if runner.exists() else None
        manifest["cuda_architectures"] = cuda_architectures or "compiler default"
        manifest["built"] = True
        manifest["reason"] = ("pure-CUDA kernels only (reference backend)" if kernels_only
                              else "plugin library and kernels")
        manifest["ptxas"] = [line.strip() for line in Path(log_path).read_text().splitlines()
                             if "ptxas info" in line and ("registers" in line or "spill" in line or "Compiling" in line)]
    Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
    Path(manifest_path).write_text(json.dumps(manifest, indent=2))
    return manifest
