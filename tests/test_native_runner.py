"""The native runner (plugin/runner/trtRunner.cpp) and its Python driver (native_runner.py), on the CPU.

- trtRunner.cpp compiles (g++ -fsyntax-only, -Wall -Wextra -Werror) against each TensorRT include
  dir in TENSORRT_INCLUDE_DIR (colon-separated; skipped where unset, as in CI): there is no
  libnvinfer here to link it, and no GPU to run it.
- native_runner builds the runner's arguments, runs a stand-in runner (a Python script printing
  canned JSON) and validates the JSON: a malformed or inconsistent one is a clear NativeRunnerError.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from project_copy import python_executable
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.commands.conformance import clone_shapes, fit_shape
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.operators import for_engine, generator_for
from trt_plugin_bench.core.specs import aux_arrays, load_spec
from trt_plugin_bench.measure.native_runner import (
    ENGINE_INPUT0,
    ENGINE_OUTPUT0,
    NativeRunnerError,
    dump_files,
    parse_result,
    read_tensor_file,
    run_native,
    runner_arguments,
    write_tensor_files,
)

ROOT = Path(__file__).resolve().parents[1]
RUNNER_SOURCE = ROOT / "plugin" / "runner" / "trtRunner.cpp"


def _header_params() -> list:
    dirs = [d for d in os.environ.get("TENSORRT_INCLUDE_DIR", "").split(":") if d]
    if dirs:
        return [pytest.param(d, id=Path(d).parent.name or d) for d in dirs]
    return [pytest.param(None, marks=pytest.mark.skip(reason="TENSORRT_INCLUDE_DIR is not set (no TensorRT headers)"))]


def _cuda_include() -> Path | None:
    nvcc = shutil.which("nvcc")
    candidates = [Path(nvcc).resolve().parents[1] / "include"] if nvcc else []
    candidates.append(Path("/usr/local/cuda/include"))
    return next((c for c in candidates if (c / "cuda_runtime_api.h").is_file()), None)


@pytest.mark.parametrize("include_dir", _header_params())
def test_runner_compiles_against_the_headers(include_dir: str) -> None:
    cuda = _cuda_include()
    if shutil.which("g++") is None or cuda is None:
        pytest.skip("g++ or the CUDA headers are missing")
    proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                           "-Wno-deprecated-declarations", "-isystem", include_dir, "-isystem", str(cuda),
                           str(RUNNER_SOURCE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]


def _canned(n_threads: int = 2, iterations: int = 50, seed: int = 0, **overrides: object) -> dict:
    r"""A runner result of random numbers for \p n_threads threads; \p overrides replace top-level keys."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_threads):
        p50, p90, p99 = np.sort(rng.uniform(5.0, 60.0, 3))
        rows.append({"thread": t, "profile": t, "p50_us": float(p50), "p90_us": float(p90), "p99_us": float(p99),
                     "mean_us": float(rng.uniform(p50, p90))})
    obj = {"threads": n_threads, "iterations": iterations, "graph": False, "profile_per_thread": True,
           "shape": [64, 1024], "tensorrt_version": "8.6.1", "wall_s": float(rng.uniform(0.01, 1.0)),
           "inferences_per_second": float(rng.uniform(1e3, 1e5)), "per_thread": rows,
           "gpu_busy_fraction": float(rng.uniform(0.1, 1.0)), "gpu_interval_sum_over_wall": float(rng.uniform(0.1, 3)),
           "outputs_identical": True, "errors": []}
    obj.update(overrides)
    return obj


def test_parse_a_canned_result() -> None:
    obj = _canned(n_threads=3, seed=1)
    result = parse_result("trt_runner: a warning on stdout would precede it\n" + json.dumps(obj) + "\n")
    assert result.ok and result.threads == 3 and result.shape == (64, 1024)
    assert [t.thread for t in result.per_thread] == [0, 1, 2]
    assert result.per_thread[1].p99_us == pytest.approx(obj["per_thread"][1]["p99_us"])
    assert result.inferences_per_second == pytest.approx(obj["inferences_per_second"])


def test_a_failed_run_parses_with_its_errors() -> None:
    obj = _canned(outputs_identical=False, errors=["thread 1's output differs from thread 0's"], wall_s=None)
    result = parse_result(json.dumps(obj))
    assert not result.ok and result.errors == ("thread 1's output differs from thread 0's",)


@pytest.mark.parametrize("text, words", [
    ("", "printed nothing"),
    ('{"threads": 2, "iterations": ', "not JSON"),
    ("[1, 2]", "not an object"),
    (json.dumps({k: v for k, v in _canned().items() if k != "gpu_busy_fraction"}), "lacks 'gpu_busy_fraction'"),
    (json.dumps(_canned(n_threads=2, threads=3)), "expected 0..2"),  # two rows for three threads
    (json.dumps(_canned(threads="2")), "wrong type"),
    (json.dumps(_canned(outputs_identical="yes")), "wrong type"),
    (json.dumps(_canned(gpu_busy_fraction=1.7)), "above 1"),
    (json.dumps(_canned(wall_s=None)), "missing or negative"),
    (json.dumps(_canned(shape=[64, "x"])), "list of integers"),
])
def test_malformed_output_is_a_clear_error(text: str, words: str) -> None:
    with pytest.raises(NativeRunnerError, match=re.escape(words)):
        parse_result(text)


def test_descending_percentiles_are_refused() -> None:
    obj = _canned()
    obj["per_thread"][0]["p50_us"], obj["per_thread"][0]["p99_us"] = obj["per_thread"][0]["p99_us"] + 1, 1.0
    with pytest.raises(NativeRunnerError, match="not ascending"):
        parse_result(json.dumps(obj))


def test_runner_arguments() -> None:
    args = runner_arguments(Path("/b/trt_runner"), Path("/e/s.engine"), [Path("/b/libswish_plugin.so"), Path("/b/x.so")],
                            threads=4, iterations=1000, shape=(64, 1024), graph=True, profile_per_thread=True, seed=7)
    assert args == ["/b/trt_runner", "--engine", "/e/s.engine", "--plugins", "/b/libswish_plugin.so,/b/x.so",
                    "--threads", "4", "--iterations", "1000", "--shape", "64x1024", "--graph",
                    "--profile-per-thread", "--seed", "7"]
    assert "--plugins" not in runner_arguments(Path("r"), Path("e"), [], 1, 1, (8,))
    assert runner_arguments(Path("r"), Path("e"), [], 1, 32, (8,), time_every=16)[-2:] == ["--time-every", "16"]
    assert "--time-every" not in runner_arguments(Path("r"), Path("e"), [], 1, 32, (8,), time_every=1)
    for bad in ({"threads": 0}, {"iterations": -1}, {"shape": (64, 0)}, {"shape": ()}, {"threads": True},
                {"time_every": 0}):
        kwargs = {"threads": 1, "iterations": 1, "shape": (8,), **bad}
        with pytest.raises(ValueError):
            runner_arguments(Path("r"), Path("e"), [], **kwargs)
    with pytest.raises(ValueError, match="','"):
        runner_arguments(Path("r"), Path("e"), [Path("/a,b/lib.so")], 1, 1, (8,))


def _fake_runner(tmp_path: Path, stdout: str, code: int) -> Path:
    return python_executable(tmp_path / "trt_runner", f"import sys\nsys.stdout.write({stdout!r})\n"
                             f"sys.stderr.write('bad usage')\nsys.exit({code})\n")


def test_run_native_against_a_stand_in(tmp_path: Path) -> None:
    good = json.dumps(_canned(n_threads=2, iterations=50, seed=3)) + "\n"
    result = run_native(_fake_runner(tmp_path, good, 0), Path("e"), [], 2, 50, (64, 1024))
    assert result.ok and result.threads == 2
    with pytest.raises(NativeRunnerError, match="asked for 4"):  # it ran something else than asked
        run_native(_fake_runner(tmp_path, good, 0), Path("e"), [], 4, 50, (64, 1024))
    with pytest.raises(NativeRunnerError, match="exited 2: bad usage"):
        run_native(_fake_runner(tmp_path, "", 2), Path("e"), [], 2, 50, (64, 1024))
    with pytest.raises(NativeRunnerError, match="disagrees"):  # exit 1 with a clean JSON
        run_native(_fake_runner(tmp_path, good, 1), Path("e"), [], 2, 50, (64, 1024))
    failed = json.dumps(_canned(outputs_identical=False, errors=["enqueue failed"])) + "\n"
    assert not run_native(_fake_runner(tmp_path, failed, 1), Path("e"), [], 2, 50, (64, 1024)).ok


def test_runner_arguments_name_the_other_inputs_shapes() -> None:
    args = runner_arguments(Path("r"), Path("e"), [], 1, 1, (16, 256), input_shapes=[("b", (1, 256)), ("r", (16, 256))])
    assert args[args.index("--shape"):args.index("--shape") + 6] == [
        "--shape", "16x256", "--input-shape", "b=1x256", "--input-shape", "r=16x256"]
    for bad in ([("", (1,))], [("a=b", (1,))], [("b", ())], [("b", (0, 4))]):
        with pytest.raises(ValueError, match="input_shapes"):
            runner_arguments(Path("r"), Path("e"), [], 1, 1, (8,), input_shapes=bad)


PARSE_MAIN = r"""
#include "runnerArgs.h"
#include <cstdio>
#include <limits>
#include <stdexcept>
int main(int argc, char** argv)
{
    try
    {
        tpb::RunnerOptions const o = tpb::parseRunnerArgs(argc, argv, tpb::RunnerLimits{8, std::numeric_limits<int32_t>::max()});
        for (auto const* list : {&o.inputShapes, &o.outputShapes})
        {
            for (auto const& named : *list)
            {
                std::printf("%s:", named.first.c_str());
                for (long long d : named.second) std::printf(" %lld", d);
                std::printf("\n");
            }
        }
        return 0;
    }
    catch (std::invalid_argument const& e)
    {
        std::printf("refused: %s\n", e.what());
        return 2;
    }
}
"""


def test_the_runner_parses_input_shapes_by_name(tmp_path: Path) -> None:
    """runnerArgs.cpp's --input-shape NAME=d0xd1 (repeatable), refusals naming the argument; no TensorRT needed."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is missing")
    src = tmp_path / "parse.cpp"
    src.write_text(PARSE_MAIN)
    exe = tmp_path / "parse"
    proc = subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-I", str(RUNNER_SOURCE.parent), str(src),
                           str(RUNNER_SOURCE.parent / "runnerArgs.cpp"), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

    def run(*extra: str) -> tuple[int, str]:
        p = subprocess.run([str(exe), "--engine", "e", "--shape", "16x256", *extra], capture_output=True, text=True)
        return p.returncode, p.stdout.strip()

    assert run("--input-shape", "b=1x256", "--input-shape", "r=16x256") == (0, "b: 1 256\nr: 16 256")
    assert run("--input-shape", "gamma=256", "--output-shape", "y=16x256", "--output-shape", "h=16x256") == (
        0, "gamma: 256\ny: 16 256\nh: 16 256")
    for args, words in ((("--input-shape", "b"), "NAME=d0xd1"), (("--input-shape", "=4"), "NAME=d0xd1"),
                        (("--input-shape", "b=0x4"), "--input-shape b dimension must be in"),
                        (("--input-shape", "b=1x1x1x1x1x1x1x1x1"), "--input-shape b has 9 dimensions"),
                        (("--input-shape", "b=4", "--input-shape", "b=4"), "names 'b' twice"),
                        (("--output-shape", "y"), "--output-shape must be NAME=d0xd1")):
        code, out = run(*args)
        assert code == 2 and words in out, (args, out)


def test_the_clone_drive_names_every_input_weight_and_output_of_a_multi_spec() -> None:
    """conformance.clone_shapes: a plugin's weights are its inputs too; none for a one-in-one-out op."""
    multi = ROOT / "tests" / "specs" / "multi"
    norm, two = load_spec(multi / "row_norm.yaml"), load_spec(multi / "add_and_sum.yaml")
    assert fit_shape(norm, (5, 200)) == (5, 256)  # gamma's axis at the conformance profile's opt
    assert clone_shapes(norm) == ["--input-shape", "gamma=256", "--input-shape", "beta=256", "--output-shape", "y=5x256"]
    assert clone_shapes(two) == ["--input-shape", "r=5x200", "--output-shape", "h=5x200", "--output-shape", "s=5"]
    assert clone_shapes(load_spec(multi / "bias_add.yaml"))[:2] == ["--input-shape", "b=1x200"]


# ---- the spec's values, in files the runner binds (--input-file) and outputs it dumps (--dump-output) ----

BIAS_ADD = EngineSpec(operator="bias_add", function="bias_add", implementation="native", kernel="", dtype="fp16",
                      profile="sweep", min=(1, 1024), opt=(64, 1024), max=(256, 1024), beta=1.0,
                      spec_file=str(ROOT / "tests" / "specs" / "multi" / "bias_add.yaml"))


def test_the_engine_names_match_the_network_builders() -> None:
    """ENGINE_INPUT0 / ENGINE_OUTPUT0 are backends.trt_common's INPUT / OUTPUT (that module imports
    tensorrt, so its source is read, not imported)."""
    text = (ROOT / "workflow" / "trt_plugin_bench" / "backends" / "trt_common.py").read_text()
    assert f'INPUT, OUTPUT = "{ENGINE_INPUT0}", "{ENGINE_OUTPUT0}"' in text


def test_the_runner_files_hold_the_specs_values_in_the_bindings_dtype(tmp_path: Path) -> None:
    """bias_add (x [N, H], b [1, H]) at fp16: one file per input, its binding's name, shape, dtype and
    bytes; input 0 drawn with the spec's generator (edge values included), b the spec's values."""
    layout, values, outputs = sweeps.native_inputs(BIAS_ADD, (64, 1024))
    assert layout == [("x", (64, 1024), "fp16"), ("b", (1, 1024), "fp16")]
    assert outputs == [("y", (64, 1024), "fp16")]
    files = write_tensor_files(tmp_path, layout, values)
    assert [f.argument().split("=")[0] for f in files] == ["x:fp16", "b:fp16"]
    assert [f.path.stat().st_size for f in files] == [64 * 1024 * 2, 1024 * 2] == [f.nbytes for f in files]
    op = for_engine(BIAS_ADD)
    x = ref.random_input((64, 1024), "fp16", sweeps.NATIVE_INPUT_SEED, generator=generator_for(BIAS_ADD))
    b = aux_arrays(op, (64, 1024), "fp16")[0][0]
    got = [np.fromfile(f.path, dtype="<f2").reshape(f.shape) for f in files]
    assert np.array_equal(got[0], x, equal_nan=True) and np.array_equal(got[1], b, equal_nan=True)
    assert np.isinf(got[0]).any() and np.isnan(got[0]).any()  # the generator's edge values are there
    args = runner_arguments(Path("r"), Path("e"), [], 1, 1, (64, 1024), input_files=files,
                            dump_outputs=dump_files(tmp_path, outputs))
    assert args[-6:] == ["--input-file", f"x:fp16={files[0].path}", "--input-file", f"b:fp16={files[1].path}",
                         "--dump-output", f"y:fp16={tmp_path / 'output0_y.bin'}"]


def test_a_wrong_dtype_or_a_swapped_input_is_refused_naming_the_binding(tmp_path: Path) -> None:
    """Planted: the arrays in fp32 for an fp16 engine, or x and b swapped: refused before the runner runs."""
    layout, values, _ = sweeps.native_inputs(BIAS_ADD, (64, 1024))
    with pytest.raises(ValueError, match=r"input 'x' is fp16 .*float32: wrong dtype"):
        write_tensor_files(tmp_path, layout, [v.astype(np.float32) for v in values])
    with pytest.raises(ValueError, match=r"input 'x' has shape \[64, 1024\], the array given \[1, 1024\]"):
        write_tensor_files(tmp_path, layout, values[::-1])
    with pytest.raises(ValueError, match="tensor 'b' is int32: the runner's files hold fp32, fp16 or bf16"):
        write_tensor_files(tmp_path, [layout[0], ("b", (1, 1024), "int32")], values)
    with pytest.raises(ValueError, match="1 arrays for the 2 inputs"):
        write_tensor_files(tmp_path, layout, values[:1])
    with pytest.raises(ValueError, match="bare kernel runs no engine"):
        runner_arguments(Path("r"), Path("e"), [], 1, 1, (8,), bare_kernel=True,
                         dump_outputs=dump_files(tmp_path, [("y", (8,), "fp32")]))


def test_a_dumped_output_of_the_wrong_size_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    [f] = dump_files(tmp_path, [("y", (4, 8), "bf16")])
    with pytest.raises(NativeRunnerError, match=r"wrote no output 'y'"):
        read_tensor_file(f)
    f.path.write_bytes(bytes(4 * 8 * 4))  # fp32's bytes where bf16 was asked
    with pytest.raises(NativeRunnerError, match=r"'y' .* holds 128 bytes, \[4, 8\] of bf16 is 64"):
        read_tensor_file(f)
    f.path.write_bytes(np.arange(32, dtype="<u2").tobytes())
    got = read_tensor_file(f)
    assert got.dtype == np.uint16 and got.shape == (4, 8) and got[3, 7] == 31
