"""The GPU suite: the Swish plugin and the TensorRT backend on a real GPU.

Skipped, with the reason, where TensorRT, pycuda or a GPU is missing. Run on the H100 with
TensorRT 8.6 from trt-kit: `python3 -m pytest -m gpu`.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gpu_env import require_gpu
from trt_plugin_bench.core import oracle as ref

pytestmark = pytest.mark.gpu

trt, cuda = require_gpu()

from trt_plugin_bench.backends import get_backend  # noqa: E402
from trt_plugin_bench.backends.base import (  # noqa: E402
    EngineLoadError,
    EngineSpec,
    ShapeOutOfProfileError,
    build_record_path,
)
from trt_plugin_bench.commands import sweeps  # noqa: E402
from trt_plugin_bench.commands.compile import compile_plugin  # noqa: E402
from trt_plugin_bench.core.operators import OPERATORS, tensorrt_support  # noqa: E402
from trt_plugin_bench.core.specs import OperatorSpec, load_spec, numerics_of  # noqa: E402
from trt_plugin_bench.measure.native_runner import (  # noqa: E402
    TensorFile,
    dump_files,
    read_tensor_file,
    run_native,
    write_tensor_files,
)

SWISH = OPERATORS["swish_plugin"]
KERNEL_IDS, RETIRED_KERNEL_IDS, KERNEL_ID_COUNT = SWISH.variants.table()  # ops/swish/kernel_ids.csv
from trt_plugin_bench.core.settings import Settings  # noqa: E402
from typed import typed  # noqa: E402

TRT_MAJOR = int(trt.__version__.split(".")[0])
ROOT = Path(__file__).resolve().parents[1]
PROFILE = {"min": [0, 96], "opt": [8, 96], "max": [64, 96], "shapes": [[1, 96], [8, 96], [64, 96]]}


@pytest.fixture(scope="session")
def backend():
    return get_backend("tensorrt")


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("TPB_TEST_BUILD_DIR", tmp_path_factory.mktemp("plugin-build")))
    manifest = out / "manifest.json"
    compile_plugin("tensorrt", out / "plugin", manifest, out / "cmake.log", op_specs=list(OPERATORS.values()))
    return manifest


@pytest.fixture(scope="session")
def plugin_library(manifest: Path) -> Path:
    # Swish's library by its spec: the manifest's main library is the first spec's, and ops/ holds
    # libtpb_ops_plugin.so's operators (GELU, ...) too
    return sweeps.plugin_library_from_manifest(manifest, SWISH)


def config(*overrides: str) -> Settings:
    """The small sweep on profile t (PROFILE), small builds, 8 threads at 8x96; ``overrides`` on top."""
    return typed(f"profiles={{t: {PROFILE}}}", "compare.extra_shapes={}", "builder.workspace_mib=256",
                 "builder.optimization_level=0", "builder.profiles_per_engine=8", "timing.verify_max_elements=67108864",
                 "timing.l2_flush=clean", "reference.max_elements=4194304", "threads.counts=[8]",
                 "threads.iterations=200", "threads.shape=[8, 96]", *overrides)


def build(tmp_path: Path, op: str, dtype: str, manifest: Path, cfg: Settings | None = None) -> tuple[Path, Path]:
    engine, golden = tmp_path / f"{op}__{dtype}__t.engine", tmp_path / f"{op}__{dtype}__t.golden.npz"
    sweeps.build_engine(cfg or config(), "tensorrt", op, dtype, "t", engine, golden, manifest)
    return engine, golden


def supported() -> list[tuple[str, str]]:
    return [(op, dt) for op in OPERATORS for dt in ("fp32", "fp16", "bf16") if tensorrt_support(op, dt, TRT_MAJOR) is None]


def test_plugin_library_registers_the_creators(backend, plugin_library: Path) -> None:
    backend.load_library_of(SWISH, plugin_library)
    registry = trt.get_plugin_registry()
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    v2 = lookup("Swish", "1", "")
    assert v2 is not None and v2.name == "Swish"
    assert {f.name for f in v2.field_names} == {"beta", "kernel", "kernel_table", "formats"}
    if TRT_MAJOR >= 10:
        assert registry.get_creator("Swish", "2", "") is not None


@pytest.mark.parametrize("op,dtype", supported())
def test_engine_numerics_with_edge_inputs(tmp_path: Path, backend, manifest: Path, op: str, dtype: str) -> None:
    engine_path, _ = build(tmp_path, op, dtype, manifest)
    engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
    for seed, shape in enumerate([(1, 96), (8, 96), (64, 96), (3, 96)]):
        x = ref.random_input(shape, dtype, seed=seed, generator=SWISH.inputs[0].generator)  # its edges first and last
        y = engine.infer(x)  # output poisoned before the run
        # TensorRT's own layers flush denormals (allowed for them only); the plugin must not
        result = ref.check_output(y, x, numerics_of(OPERATORS[op]), dtype, 1.0, shape,
                                  tensorrt_layers=OPERATORS[op].tensorrt_layers)
        if OPERATORS[op].tensorrt_layers and not result.ok:
            # TensorRT's own layers outside the spec's tolerance are reported (the accuracy table, the build's
            # log line), never a failure (issue 23): every element written and measured. Seen on the H200,
            # 2026-12-06: layer_norm_native fp16 at up to 4 ulp (the bound is 1); residual_rms_norm_native fp16
            # failed here too (its message was cut off with the suite's time limit)
            assert result.unwritten == 0 and result.checked == y.size, f"{op}/{dtype} {shape}: {result.message}"
            continue
        assert result.ok, f"{op}/{dtype} {shape}: {result.message}"


@pytest.mark.parametrize("beta", [0.5, 1.702])
def test_beta_reaches_the_kernel(tmp_path: Path, backend, manifest: Path, beta: float) -> None:
    engine_path, _ = build(tmp_path, "swish_plugin", "fp32", manifest, config(f"beta={beta}"))
    engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
    x = ref.random_input((8, 96), "fp32", seed=5)
    assert ref.check_output(engine.infer(x), x, numerics_of(SWISH), "fp32", beta, tensorrt_layers=False).ok
    assert not ref.check_output(engine.infer(x), x, numerics_of(SWISH), "fp32", 1.0, tensorrt_layers=False).ok


def test_dynamic_shapes_and_out_of_profile_rejected(tmp_path: Path, backend, manifest: Path) -> None:
    engine_path, _ = build(tmp_path, "swish_plugin", "fp16", manifest)
    rows = sweeps.dynamic_sweep(config(), "tensorrt", engine_path, manifest)
    ok = [r for r in rows if r.status == "ok"]
    rejected = [r for r in rows if r.status == "rejected"]
    assert len(ok) >= 4 and all(r.verified and r.output_shape == r.shape for r in ok)
    assert {r.shape for r in rejected} == {"65x96", "8x96x1"}
    engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
    with pytest.raises(ShapeOutOfProfileError, match="outside the optimization profile"):
        engine.infer(np.ones((65, 96), dtype=np.float16))
    # TensorRT itself refuses it too (our check only makes the message clearer)
    context = engine.engine.create_execution_context()
    stream = cuda.Stream()
    assert context.set_optimization_profile_async(7, stream.handle)  # one nobody else holds
    stream.synchronize()
    assert not context.set_input_shape("x", (65, 96))
    assert context.set_input_shape("x", (64, 96))
    del context


def test_zero_size_batch(tmp_path: Path, backend, manifest: Path) -> None:
    for op in ("swish_plugin", "swish_native", "relu"):
        engine_path, _ = build(tmp_path, op, "fp32", manifest)
        engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
        y = engine.infer(np.empty((0, 96), dtype=np.float32))
        assert y.shape == (0, 96)
        x = ref.random_input((2, 96), "fp32", seed=1)  # still works after the empty batch
        assert ref.check_output(engine.infer(x), x, numerics_of(OPERATORS[op]), "fp32",
                                tensorrt_layers=OPERATORS[op].tensorrt_layers).ok


def test_separate_process_round_trip_is_bit_identical(tmp_path: Path, manifest: Path) -> None:
    engine_path, golden = build(tmp_path, "swish_plugin", "fp16", manifest)
    [row] = sweeps.roundtrip("tensorrt", engine_path, golden, manifest)
    assert row.bit_identical and row.loader_pid != os.getpid()


def test_eight_threads_two_hundred_inferences_each(tmp_path: Path, manifest: Path) -> None:
    engine_path, _ = build(tmp_path, "swish_plugin", "fp32", manifest)
    cfg = config()
    rows = sweeps.thread_sweep(cfg, "tensorrt", engine_path, manifest)
    [row] = [r for r in rows if r.driver == "python"]
    assert row.threads == 8 and row.inferences == 1600
    assert row.failures == 0 and row.all_verified, row.message
    # then the native runner (trt_runner from the manifest), 8 profiles, its three series
    # (sweeps.native_thread_sweep): plain enqueues, graph replays of one enqueue, and replays of a
    # graph of threads.native_graph_batch enqueues (16 by default; the third series only above 1)
    batch = cfg.threads.native_graph_batch
    assert batch == 16
    native = [r for r in rows if r.driver == "native"]
    assert [(r.threads, r.graph, r.graph_batch) for r in native] == [(8, False, 1), (8, True, 1), (8, True, batch)]
    assert all(r.all_verified and r.throughput_per_s > 0 and 0 < r.gpu_busy_fraction <= 1 for r in native), native
    # beside each, the bare kernel (trt_runner --bare-kernel, issue 28) of the engine's bytes: fp32 8x96 in and out
    bare = [r for r in rows if r.driver == "bare"]
    assert [(r.threads, r.graph, r.graph_batch) for r in bare] == [(r.threads, r.graph, r.graph_batch) for r in native]
    assert all(r.all_verified and r.throughput_per_s > 0 for r in bare), [r.message for r in bare]
    assert all(r.bytes_in == r.bytes_out == 4 * 8 * 96 for r in bare + native), [(r.bytes_in, r.bytes_out) for r in bare]


def test_the_native_runner_binds_the_specs_values_and_refuses_a_wrong_file(tmp_path: Path, manifest: Path,
                                                                          plugin_library: Path) -> None:
    """trt_runner --input-file binds the spec's values (sweeps.native_inputs: input 0's generator, its edge
    values included) and --dump-output writes the single-context run's output, which holds to the float64
    reference (sweeps.reference_check); a file of the wrong dtype or size is refused naming it and the input."""
    engine_path, _ = build(tmp_path, "swish_plugin", "fp16", manifest)
    spec = EngineSpec.from_json(json.loads(build_record_path(engine_path).read_text())["spec"])
    runner = sweeps.runner_from_manifest(manifest)
    assert runner is not None and runner.exists()
    shape = (8, 96)
    layout, values, outputs = sweeps.native_inputs(spec, shape)
    files = write_tensor_files(tmp_path / "in", layout, values)
    dumps = dump_files(tmp_path / "out", outputs)
    (tmp_path / "out").mkdir()
    result = run_native(runner, engine_path, [plugin_library], 1, 50, shape, input_files=files, dump_outputs=dumps)
    assert result.ok, result.errors
    y = read_tensor_file(dumps[0])
    check = sweeps.reference_check(spec, [y], values[0])
    assert check.ok, check.message
    assert np.isinf(ref.to_float64(values[0], "fp16")).any()  # the generator's edge values were bound
    # planted: the same values in fp32 for the fp16 input, and a file of another shape
    [wrong] = write_tensor_files(tmp_path / "fp32", [(layout[0][0], shape, "fp32")], [values[0].astype(np.float32)])
    bad = run_native(runner, engine_path, [plugin_library], 1, 10, shape, input_files=[wrong])
    assert not bad.ok and any("wrong dtype" in e and str(wrong.path) in e for e in bad.errors), bad.errors
    short = TensorFile(layout[0][0], "fp16", (4, 96), tmp_path / "short.bin")
    short.path.write_bytes(values[0][:4].tobytes())
    bad = run_native(runner, engine_path, [plugin_library], 1, 10, shape, input_files=[short])
    assert not bad.ok and any("size mismatch" in e and "short.bin" in e for e in bad.errors), bad.errors


def _record(beta: float = 1.0, kernel: int = 1, magic: int = 0x48535754, version: int = 3) -> bytes:
    """The V1 plugin's record (plugin/README.md): magic, version, payload length, beta, kernel, no bands,
    CRC-32 of all before it. Version 1 (engines built before 2026-12-06) has no length, bands or checksum."""
    if version == 1:
        return struct.pack("<IIfi", magic, version, beta, kernel)
    body = struct.pack("<IIIfii", magic, version, 12, beta, kernel, 0)
    return body + struct.pack("<I", zlib.crc32(body))


def test_plugin_deserialization_is_validated(backend, plugin_library: Path) -> None:
    backend.load_library_of(SWISH, plugin_library)
    registry = trt.get_plugin_registry()
    creator = (registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator)("Swish", "1", "")
    assert creator.deserialize_plugin("ok", _record()) is not None
    bad = {
        "short": _record()[:12], "long": _record() + b"\0", "magic": _record(magic=0xDEADBEEF),
        "version": _record(version=99), "nan beta": _record(beta=float("nan")),
        "inf beta": _record(beta=float("inf")), "kernel": _record(kernel=42), "empty": b"",
        "old version 1": _record(version=1),
        # one byte of beta changed (its checksum not): beta 1.0 -> 65536.0 was accepted before the checksum
        "changed byte": _record()[:15] + b"\x47" + _record()[16:],
    }
    for what, blob in bad.items():
        assert creator.deserialize_plugin("bad", blob) is None, what


def test_creator_rejects_bad_fields(backend, plugin_library: Path) -> None:
    backend.load_library_of(SWISH, plugin_library)
    registry = trt.get_plugin_registry()
    creator = (registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator)("Swish", "1", "")

    def fields(beta: np.ndarray, kernel: np.ndarray) -> trt.PluginFieldCollection:
        return trt.PluginFieldCollection([trt.PluginField("beta", beta, trt.PluginFieldType.FLOAT32),
                                          trt.PluginField("kernel", kernel, trt.PluginFieldType.INT32)])

    good_beta, good_kernel = np.array([1.0], np.float32), np.array([1], np.int32)
    assert creator.create_plugin("ok", fields(good_beta, good_kernel)) is not None
    assert creator.create_plugin("nan", fields(np.array([np.nan], np.float32), good_kernel)) is None
    assert creator.create_plugin("kernel", fields(good_beta, np.array([KERNEL_ID_COUNT], np.int32))) is None
    for retired in RETIRED_KERNEL_IDS:
        assert creator.create_plugin("retired", fields(good_beta, np.array([retired], np.int32))) is None
    assert creator.create_plugin("last", fields(good_beta, np.array([max(KERNEL_IDS.values())], np.int32))) is not None
    assert creator.create_plugin("two", fields(np.array([1.0, 2.0], np.float32), good_kernel)) is None


def test_corrupted_engine_is_refused(tmp_path: Path, backend, manifest: Path) -> None:
    engine_path, _ = build(tmp_path, "swish_plugin", "fp32", manifest)
    blob = engine_path.read_bytes()
    assert backend.runtime.deserialize_cuda_engine(blob[: len(blob) // 3]) is None
    engine_path.write_bytes(blob[: len(blob) // 3])
    with pytest.raises(EngineLoadError, match="does not match its build record"):
        backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))


@pytest.mark.parametrize("mode", ["warm", "cold", "stream", "graph"])
def test_timer_modes(tmp_path: Path, backend, manifest: Path, mode: str) -> None:
    from trt_plugin_bench.backends.base import MODE_START

    engine_path, _ = build(tmp_path, "swish_plugin", "fp32", manifest)
    engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
    with engine.timer((64, 96), mode, seed=1, verify_max_elements=1 << 20) as timer:
        assert timer.verify().ok
        samples = [timer.sample() for _ in range(20)]
        # TensorRT's enqueue never waits on its stream, so the blocked start holds (no fallback)
        assert timer.start == MODE_START[mode], timer.fallback_reason
        assert timer.verify().ok  # still right after being timed
    assert all(d > 0 and h > 0 for d, h in samples)


def test_stream_blocker_holds_the_stream_until_released(backend) -> None:
    import time

    from trt_plugin_bench.device.cuda_utils import BlockedStartTimeout, EventTimer, StreamBlocker

    stream = cuda.Stream(flags=1)
    blocker = StreamBlocker(backend.gpu, timeout_s=5.0)
    done = cuda.Event()
    blocker.block(stream)
    done.record(stream)
    time.sleep(0.05)
    assert not done.query(), "the event behind the blocking kernel completed while the stream was held"
    blocker.release()
    done.synchronize()
    assert not blocker.timed_out
    # an enqueue that waits for its own stream is reported (after the timeout), never a hang
    timer = EventTimer(stream, StreamBlocker(backend.gpu, timeout_s=0.2))
    with pytest.raises(BlockedStartTimeout, match="waited for its own stream"):
        timer.time(stream.synchronize)
    stream.synchronize()
    assert EventTimer(stream).time(lambda: None)[0] >= 0  # the stream is usable again


def test_compare_rule_times_both_engines_interleaved(tmp_path: Path, manifest: Path) -> None:
    cfg = config("timing.target_rse=0.02", "timing.min_samples=10", "timing.max_samples=200", "timing.max_time_s=0.05",
                 "timing.warmup_min=3", "timing.warmup_time_s=0.0", "timing.pin_cpu=true", "compare.mode=cold")
    a, _ = build(tmp_path, "swish_plugin", "fp32", manifest)
    b, _ = build(tmp_path, "swish_native", "fp32", manifest)
    rows = sweeps.compare_sweep(cfg, "tensorrt", a, b, manifest)
    assert [r.shape for r in rows] == ["1x96", "8x96", "64x96"]
    for r in rows:
        assert r.verified and r.start == "blocked" and r.n >= 10
        assert r.ratio == pytest.approx(r.median_a_us / r.median_b_us)
        assert r.shared_buffers and r.control_ratio > 0 and r.control_ratio_se >= 0


def test_arena_timers_bind_one_input_output_and_flush(tmp_path: Path, manifest: Path) -> None:
    a, _ = build(tmp_path, "swish_plugin", "fp32", manifest)
    b, _ = build(tmp_path, "swish_native", "fp32", manifest)
    backend = get_backend("tensorrt")
    library = sweeps.plugin_library_from_manifest(manifest, SWISH)
    ea, eb = backend.load(a, library), backend.load(b, library)
    try:
        with backend.arena() as arena, ea.timer((8, 96), "cold", 1, 1 << 20, arena=arena) as ta, \
                eb.timer((8, 96), "cold", 1, 1 << 20, arena=arena) as tb:
            assert (ta.b.d_in.ptr, ta.b.d_out.ptr, ta.flush.buffer.ptr) == (tb.b.d_in.ptr, tb.b.d_out.ptr, tb.flush.buffer.ptr)
            assert ta.verify().ok and tb.verify().ok  # each poisons the shared output, then checks its own
            assert ta.sample()[0] > 0 and tb.sample()[0] > 0
            with pytest.raises(ValueError, match="one arena per shape"):
                ea.timer((64, 96), "cold", 1, 1 << 20, arena=arena)
        with ea.timer((8, 96), "cold", 1, 1 << 20) as alone:  # its own buffers again, freed on close
            assert alone.verify().ok
    finally:
        ea.close()
        eb.close()


def test_direct_kernel_path_numerics(manifest: Path) -> None:
    import json

    from trt_plugin_bench.device.cuda_utils import DeviceBuffer, GpuContext
    from trt_plugin_bench.measure.cuda_direct import KernelLibrary

    GpuContext(0)
    lib = KernelLibrary(Path(json.loads(manifest.read_text())["direct_libraries"]["libswish_kernels.so"]), SWISH)
    stream = cuda.Stream()
    for dtype in ("fp32", "fp16", "bf16"):
        for kernel in KERNEL_IDS:
            for n, offset in ((1, 0), (4099, 0), (1 << 20, 0), (3 << 20, 0), (4099, 1), (1 << 16, 3)):
                x = ref.random_input((n,), dtype, seed=n + offset)
                item = x.itemsize
                with DeviceBuffer((n + offset) * item) as d_in, DeviceBuffer((n + offset) * item) as d_out:
                    cuda.memcpy_htod(d_in.ptr + offset * item, x)
                    cuda.memcpy_htod(d_out.ptr + offset * item, ref.poison((n,), dtype))
                    lib.launch(d_in.ptr + offset * item, d_out.ptr + offset * item, n, 1.0, dtype, kernel, stream)
                    stream.synchronize()
                    y = np.empty_like(x)
                    cuda.memcpy_dtoh(y, d_out.ptr + offset * item)
                result = ref.check_output(y, x, numerics_of(SWISH), dtype, tensorrt_layers=False)  # the plugin kernels never flush
                assert result.ok, f"{dtype} {kernel} n={n} offset={offset}: {result.message}"


def test_concurrent_contexts_share_the_primary_context(tmp_path: Path, backend, manifest: Path) -> None:
    """Workers push the device's primary context; none creates its own."""
    engine_path, _ = build(tmp_path, "relu", "fp32", manifest)
    engine = backend.load(engine_path, None)
    handles: list[int] = []

    def work() -> None:
        with engine.worker():
            handles.append(cuda.Context.get_current().handle)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(handles)) == 1 and handles[0] == backend.gpu.context.handle


def test_engine_spec_round_trips_through_json() -> None:
    spec = EngineSpec("relu", "relu", "native", "", "fp32", "t", (1, 2), (3, 4), (5, 6), 1.0)
    assert EngineSpec.from_json(spec.to_json()) == spec


def _fail_once(real, what: str):  # noqa: ANN001, ANN202 - wraps any callable
    calls = []

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not calls:
            calls.append(1)
            raise RuntimeError(f"injected failure: {what}")
        return real(*args, **kwargs)

    return wrapper


def test_a_timer_that_fails_to_build_hands_its_profile_back(tmp_path: Path, backend, manifest: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With one optimization profile per engine, a timer whose setup raised after taking the profile
    (a shape outside it, a failing allocation, a failing graph capture) used to keep it: every later
    timer on the engine then failed with "all 1 optimization profiles of this engine are in use"."""
    from trt_plugin_bench.backends import trt_runtime as tb  # the timers' and workers' module: patched there

    cfg = config("builder.profiles_per_engine=1")
    engine_path, _ = build(tmp_path, "swish_plugin", "fp32", manifest, cfg)
    engine = backend.load(engine_path, sweeps.plugin_library_from_manifest(manifest))
    try:
        assert engine.engine.num_optimization_profiles == 1
        with pytest.raises(ShapeOutOfProfileError):
            engine.timer((65, 96), "warm", 1, 1 << 20)  # prepare refuses it after the bindings exist
        monkeypatch.setattr(tb, "DeviceBuffer", _fail_once(tb.DeviceBuffer, "DeviceBuffer"))
        with pytest.raises(RuntimeError, match="injected failure: DeviceBuffer"):
            engine.timer((8, 96), "warm", 1, 1 << 20)  # the timer's own input buffer
        monkeypatch.setattr(tb, "CudaGraph", _fail_once(tb.CudaGraph, "CudaGraph"))
        with pytest.raises(RuntimeError, match="injected failure: CudaGraph"):
            engine.timer((8, 96), "graph", 1, 1 << 20)  # after buffers, the input fill and the blocker
        for mode in ("warm", "graph"):
            with engine.timer((8, 96), mode, 1, 1 << 20) as timer:  # the profile is free again
                assert timer.verify().ok and timer.sample()[0] > 0
        # _Bindings itself failing after it took the profile (its stream here)
        monkeypatch.setattr(tb.cuda, "Stream", _fail_once(tb.cuda.Stream, "Stream"))
        with pytest.raises(RuntimeError, match="injected failure: Stream"):
            engine.timer((8, 96), "warm", 1, 1 << 20)
        with engine.timer((8, 96), "warm", 1, 1 << 20) as timer:
            assert timer.verify().ok
    finally:
        engine.close()


def test_a_worker_that_fails_to_build_leaves_the_context_stack_as_it_was(
        tmp_path: Path, backend, manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TrtWorker pushes the primary context, then builds its bindings: when those raised, the
    context stayed pushed on the thread (and the profile stayed taken). A fresh thread starts with
    no current context, so a leaked push shows as a current context after the failure."""
    from trt_plugin_bench.backends import trt_runtime as tb  # the timers' and workers' module: patched there

    cfg = config("builder.profiles_per_engine=1")
    engine_path, _ = build(tmp_path, "relu", "fp32", manifest, cfg)
    engine = backend.load(engine_path, None)
    seen: dict[str, object] = {}

    def work() -> None:
        try:
            seen["before"] = cuda.Context.get_current()
            try:
                engine.worker()
            except RuntimeError as exc:
                seen["error"] = str(exc)
            seen["after_failure"] = cuda.Context.get_current()
            if seen["after_failure"] is not None:
                cuda.Context.pop()  # undo the leak so the rest of the test can run
            x = ref.random_input((8, 96), "fp32", seed=3)
            with engine.worker() as w:  # the profile was handed back too
                seen["ok"] = ref.check_output(w.infer(x), x, numerics_of(OPERATORS["relu"]), "fp32", tensorrt_layers=True).ok
            seen["after_close"] = cuda.Context.get_current()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            seen["unexpected"] = repr(exc)
        finally:
            # pycuda aborts the process when a thread ends with contexts still pushed
            while cuda.Context.get_current() is not None:
                cuda.Context.pop()

    monkeypatch.setattr(tb.cuda, "Stream", _fail_once(tb.cuda.Stream, "Stream"))
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    engine.close()
    assert "unexpected" not in seen, seen
    assert "injected failure: Stream" in str(seen.get("error")), seen
    assert seen["before"] is None and seen["after_failure"] is None and seen["after_close"] is None, seen
    assert seen["ok"]


def test_fill_tiled_is_ordered_on_its_stream(backend) -> None:
    """Every copy of the tiled fill is on the given stream, from page-locked staging: while the
    stream is held nothing lands, then all of it does. The old fill wrote the head at once with a
    synchronous pageable copy through the legacy stream, which a non-blocking stream is not ordered
    with (the copy may return before its DMA lands, and the device-to-device tiling that follows on
    the stream could copy stale bytes)."""
    from trt_plugin_bench.device.cuda_utils import DeviceBuffer, StreamBlocker, fill_tiled, fill_tiled_async

    rng = np.random.default_rng(31)
    block = rng.integers(0, 256, (1 << 20) + 48, dtype=np.uint8)
    total = 5 * block.nbytes + 123  # doubling copies, the last one partial
    before = rng.integers(0, 256, total, dtype=np.uint8)
    stream = cuda.Stream(flags=1)  # non-blocking, as every stream of the backends
    blocker = StreamBlocker(backend.gpu, timeout_s=20.0)
    with DeviceBuffer(total) as dst:
        cuda.memcpy_htod(dst.ptr, before)
        cuda.Context.synchronize()  # a pageable copy may return before its DMA lands
        blocker.block(stream)
        staging = fill_tiled_async(dst, block, total, stream)
        held = np.empty(total, np.uint8)
        cuda.memcpy_dtoh(held, dst.ptr)  # synchronous, legacy stream: not ordered behind the held one
        blocker.release()
        stream.synchronize()
        del staging
        assert not blocker.timed_out, "the fill waited for its own stream"
        np.testing.assert_array_equal(held, before)  # nothing written while the stream was held
        after = np.empty(total, np.uint8)
        cuda.memcpy_dtoh(after, dst.ptr)
        np.testing.assert_array_equal(after, np.resize(block, total))
        # the synchronous wrapper the backends call: a new block, fully there on return
        block2 = rng.standard_normal(4099).astype(np.float32)
        fill_tiled(dst, block2, total - 3, stream)
        cuda.memcpy_dtoh(after, dst.ptr)
        np.testing.assert_array_equal(after[: total - 3], np.resize(block2.view(np.uint8), total - 3))
        np.testing.assert_array_equal(after[total - 3:], np.resize(block, total)[total - 3:])


def test_l2_flush_kinds(backend) -> None:
    """The clean flush only reads its buffer (and never stores to its sink); the dirty one writes it.
    Both are ordered on the given stream, and an unknown kind is refused by name."""
    from trt_plugin_bench.device.cuda_utils import L2Flush

    stream = cuda.Stream(flags=1)
    rng = np.random.default_rng(5)
    for kind in ("clean", "dirty"):
        flush = L2Flush(backend.gpu, kind)
        try:
            head = rng.integers(0, 256, 1 << 16, dtype=np.uint8)
            head[:16] = 0x5A  # one 16-byte word stays a memset word
            cuda.memcpy_htod(flush.buffer.ptr, head)
            cuda.memset_d8(flush._sink.ptr, 0x11, 256)
            # both went on the legacy stream, the flush goes on a non-blocking one: landed first (cuda_utils.upload;
            # without it this test failed once under load, H100 2026-12-07)
            cuda.Context.synchronize()
            flush.enqueue(stream)
            stream.synchronize()
            got = np.empty(1 << 16, np.uint8)
            cuda.memcpy_dtoh(got, flush.buffer.ptr)
            sink = np.empty(256, np.uint8)
            cuda.memcpy_dtoh(sink, flush._sink.ptr)
            if kind == "clean":
                np.testing.assert_array_equal(got, head)
            else:
                assert (got == 0x5A).all()
            assert (sink == 0x11).all()  # random words XOR to the magic value only by a 2^-32 chance
        finally:
            flush.free()
    with pytest.raises(ValueError, match="timing.l2_flush 'lukewarm'; allowed values: clean, dirty"):
        L2Flush(backend.gpu, "lukewarm")


# -- operators of several inputs, weights and outputs (tests/specs/multi: TensorRT layers, no plugin) ------
MULTI = ROOT / "tests" / "specs" / "multi"
MULTI_NAMES = ("bias_add", "row_norm", "add_and_sum")
MULTI_PROFILE = {"min": [1, 256], "opt": [16, 256], "max": [64, 256], "shapes": [[1, 256], [16, 256], [64, 256]]}


def _multi_spec(name: str) -> OperatorSpec:
    return load_spec(MULTI / f"{name}.yaml")


MULTI_CASES = [(name, dt) for name in MULTI_NAMES for dt in _multi_spec(name).dtypes]


def multi_config(*overrides: str) -> Settings:
    """config() on the multi specs' profile t ([1..64, 256]), threads at 8x256."""
    ops = ", ".join(str(MULTI / f"{n}.yaml") for n in MULTI_NAMES)
    return config(f"operators=[{ops}]", "compare.pairs=[]", f"profiles={{t: {MULTI_PROFILE}}}", "threads.shape=[8, 256]",
                  *overrides)


def build_multi(tmp_path: Path, name: str, dtype: str, manifest: Path, tag: str = "") -> tuple[Path, Path]:
    engine, golden = tmp_path / f"{name}{tag}__{dtype}__t.engine", tmp_path / f"{name}{tag}__{dtype}__t.golden.npz"
    sweeps.build_engine(multi_config(), "tensorrt", str(MULTI / f"{name}.yaml"), dtype, "t", engine, golden, manifest,
                        accuracy_path=tmp_path / f"{name}{tag}__{dtype}.accuracy.csv")
    return engine, golden


@pytest.mark.parametrize("name,dtype", MULTI_CASES)
def test_multi_io_engine_binds_and_checks_every_output(tmp_path: Path, backend, manifest: Path, name: str,
                                                       dtype: str) -> None:
    """Every input bound (input 0 INPUT, the others by their spec names), every output read back at its
    shape rule's shape and held to the spec's tolerance against float64 (a failure of row_norm fp16
    here is TensorRT's normalization layer's fp16 accuracy, which tables/accuracy.csv reports)."""
    engine_path, _ = build_multi(tmp_path, name, dtype, manifest)
    engine = backend.load(engine_path, None)
    op = _multi_spec(name)
    names = [engine.engine.get_tensor_name(i) for i in range(engine.engine.num_io_tensors)]
    assert sorted(names) == sorted(["x", *(t.name for t in op.inputs[1:]), "y", *op.outputs[1:]])
    try:
        for seed, shape in enumerate([(1, 256), (16, 256), (64, 256), (3, 256)]):
            x = ref.random_input(shape, dtype, seed=seed, generator=op.inputs[0].generator)
            outs = engine.infer_all(x)
            assert [o.shape for o in outs] == [tuple(s) for s in op.output_shapes(shape)]
            c = engine.check_all(outs, x, shape)
            assert c.unwritten == 0 and c.ok, f"{name}/{dtype} {shape}: {c.message}"
            assert np.array_equal(engine.infer(x).view(np.uint8), outs[0].view(np.uint8))
    finally:
        engine.close()


@pytest.mark.parametrize("name,dtype", MULTI_CASES)
@pytest.mark.parametrize("mode", ["warm", "cold", "stream", "graph"])
def test_multi_io_timer_modes(tmp_path: Path, backend, manifest: Path, name: str, dtype: str, mode: str) -> None:
    engine_path, _ = build_multi(tmp_path, name, dtype, manifest)
    engine = backend.load(engine_path, None)
    try:
        with engine.timer((16, 256), mode, seed=3, verify_max_elements=1 << 20) as t:
            assert len(t.b.d_ins) == len(_multi_spec(name).inputs) and len(t.b.d_outs) == len(_multi_spec(name).outputs)
            c = t.verify()
            assert c.ok, f"{name}/{dtype} {mode}: {c.message}"
            assert t.sample()[0] > 0
            assert t.verify().ok  # after timing, the outputs still right
    finally:
        engine.close()


@pytest.mark.parametrize("name", MULTI_NAMES)
def test_multi_io_arena_shares_every_buffer(tmp_path: Path, backend, manifest: Path, name: str) -> None:
    """The compare rule's arena: two engines of one operator on the same inputs, outputs and flush buffer."""
    a, _ = build_multi(tmp_path, name, "fp32", manifest)
    b, _ = build_multi(tmp_path, name, "fp32", manifest, tag="_b")
    ea, eb = backend.load(a, None), backend.load(b, None)
    try:
        with backend.arena() as arena, ea.timer((16, 256), "cold", 1, 1 << 20, arena=arena) as ta, \
                eb.timer((16, 256), "cold", 1, 1 << 20, arena=arena) as tb:
            ptrs = [[buf.ptr for buf in (*t.b.d_ins, *t.b.d_outs)] + [t.flush.buffer.ptr] for t in (ta, tb)]
            assert ptrs[0] == ptrs[1]
            assert ta.verify().ok and tb.verify().ok
            assert ta.sample()[0] > 0 and tb.sample()[0] > 0
    finally:
        ea.close()
        eb.close()


def test_multi_io_compare_rule(tmp_path: Path, manifest: Path) -> None:
    cfg = multi_config("timing.target_rse=0.02", "timing.min_samples=10", "timing.max_samples=200",
                       "timing.max_time_s=0.05", "timing.warmup_min=3", "timing.warmup_time_s=0.0", "compare.mode=cold")
    a, _ = build_multi(tmp_path, "add_and_sum", "fp32", manifest)
    b, _ = build_multi(tmp_path, "add_and_sum", "fp32", manifest, tag="_b")
    rows = sweeps.compare_sweep(cfg, "tensorrt", a, b, manifest)
    assert [r.shape for r in rows] == ["1x256", "16x256", "64x256"]
    assert all(r.verified and r.shared_buffers for r in rows)


@pytest.mark.parametrize("name,dtype", MULTI_CASES)
def test_multi_io_dynamic_round_trip_and_threads(tmp_path: Path, manifest: Path, name: str, dtype: str) -> None:
    """The dynamic rule (every input's shape set at each shape), the round trip in a fresh process
    (every output's digest), the threads rule's Python workers (every output bit for bit) and the
    native runner (every input and output bound by name, --input-shape for the others)."""
    engine_path, golden = build_multi(tmp_path, name, dtype, manifest)
    cfg = multi_config()
    rows = sweeps.dynamic_sweep(cfg, "tensorrt", engine_path, manifest)
    ok = [r for r in rows if r.status == "ok"]
    assert len(ok) >= 4 and all(r.verified for r in ok), [r.message for r in rows]
    assert {r.shape for r in rows if r.status == "rejected"} == {"65x256", "0x256", "16x256x1"}
    [row] = sweeps.roundtrip("tensorrt", engine_path, golden, manifest)
    assert row.bit_identical and row.loader_pid != os.getpid()
    rows = sweeps.thread_sweep(cfg, "tensorrt", engine_path, manifest)
    [py] = [r for r in rows if r.driver == "python"]
    assert py.threads == 8 and py.failures == 0 and py.all_verified, py.message
    native = [r for r in rows if r.driver == "native"]
    assert len(native) == 3 and all(r.all_verified for r in native), [r.message for r in native]
    # the bare kernel beside each (issue 28): every input's bytes read and every output's written, one launch
    bare = [r for r in rows if r.driver == "bare"]
    assert len(bare) == 3 and all(r.all_verified and r.throughput_per_s > 0 for r in bare), [r.message for r in bare]
    assert {(r.bytes_in, r.bytes_out) for r in bare} == {(r.bytes_in, r.bytes_out) for r in native}
    assert all(r.bytes_in > 0 and r.bytes_out > 0 for r in bare)


@pytest.mark.parametrize("name,dtype", MULTI_CASES)
def test_multi_io_accuracy_rows_cover_every_output(tmp_path: Path, manifest: Path, name: str, dtype: str) -> None:
    build_multi(tmp_path, name, dtype, manifest)
    acc = pd.read_csv(tmp_path / f"{name}__{dtype}.accuracy.csv")
    assert set(acc["inputs"]) == {"random", "edge"} and (acc["side"] == "tensorrt_layers").all()
    assert (acc["elements"] > 0).all()


@pytest.mark.parametrize("name,dtype", MULTI_CASES)
def test_multi_io_latency_rows_bytes_are_the_cost_model(tmp_path: Path, manifest: Path, name: str, dtype: str) -> None:
    """The latency rule on the GPU: every shape and mode verified (every output), its bytes the spec's cost model."""
    engine_path, _ = build_multi(tmp_path, name, dtype, manifest)
    cfg = multi_config("timing.target_rse=0.05", "timing.min_samples=5", "timing.max_samples=100",
                       "timing.max_time_s=0.02", "timing.warmup_min=2", "timing.warmup_time_s=0.0", "timing.repeats=1",
                       "timing.idle_visits=3", "timing.modes=[warm, cold, stream, graph]")
    rows = sweeps.latency_sweep(cfg, "tensorrt", engine_path, manifest)
    op = _multi_spec(name)
    assert {r.mode for r in rows} == {"warm", "cold", "stream", "graph"} and all(r.verified for r in rows)
    for r in rows:
        shape = tuple(int(d) for d in r.shape.split("x"))
        assert r.bytes_moved == op.cost_of(op.all_shapes(shape), dtype)["bytes"], (r.shape, r.mode)
