"""Probes of the measuring method itself, on any GPU with trt-kit: evidence first, then a change to
the pipeline. Each writes a CSV (and the idle series an .npz) under --out and prints a short table.
Comparisons of kernel variants against TensorRT's own layers are no longer probes: they are the tune
rule, configured (tune.kernels, tune.band_edges_l2, tune.timing in config.yaml; `snakemake -R tune`).
The kernel shapes the product does not ship are timed by plugin/probes/swishVariantProbe.cu.

  copy-family   streaming copies of several shapes and load-to-store spacings, interleaved with the
                Swish kernels at the same bytes (cold L2, blocked start): the ceiling must be the
                fastest read+write stream, and the Swish kernel (fp16 beat cudaMemcpy by 0.4 %) is one
  idle-series   seconds of back-to-back idle-start samples (stream, graph) and blocked-start ones:
                how long the host's slow and fast spells last decides how a window must sample
  cold-flush    the cold mode's two flushes (timing.l2_flush: clean reads 4x the L2, dirty writes it)
                and warm, interleaved, for the copy kernel and the Swish kernels at >= 256 MiB: what
                the flush's own dirty lines cost the timed kernel
  compare-arena the A/A control (TensorRT's kernel against itself) and plugin / native, each engine on
                buffers of its own vs all on one shared input, output and flush buffer

Run from the repository root: python3 workflow/scripts/probes.py PROBE --out DIR [--manifest M]
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pycuda.driver as cuda  # noqa: E402
from trt_plugin_bench.core import oracle as ref  # noqa: E402
from trt_plugin_bench.core.config import load_config  # noqa: E402
from trt_plugin_bench.core.settings import Settings  # noqa: E402
from trt_plugin_bench.core.stats import StoppingRule  # noqa: E402
from trt_plugin_bench.device.host import quiet_host  # noqa: E402
from trt_plugin_bench.measure.measure import Plan, State, engine_timers, measure_interleaved  # noqa: E402

COPY_SOURCE = r"""
#include <cstdint>
// H: 0 plain, 1 read-only path (ld.global.nc), 2 evict-first (ld/st .cs), 3 evict-first loads only
// D: dependent add/xor pairs on every word between load and store (identity: zero == 0 at run time)
// S: __nanosleep(S) between load and store
template <int V, int B, int H, int D, int S>
__device__ __forceinline__ void copyBody(uint4 const* in, uint4* out, long long n, unsigned zero)
{
    long long const base = static_cast<long long>(blockIdx.x) * (B * V) + threadIdx.x;
    uint4 v[V];
#pragma unroll
    for (int k = 0; k < V; ++k)
    {
        long long const i = base + static_cast<long long>(k) * B;
        if (i < n)
            v[k] = H == 1 ? __ldg(in + i) : (H >= 2 ? __ldcs(in + i) : in[i]);
        else
            v[k] = make_uint4(0u, 0u, 0u, 0u);
    }
    if (S > 0)
        __nanosleep(S);
#pragma unroll
    for (int k = 0; k < V; ++k)
    {
#pragma unroll
        for (int d = 0; d < D; ++d)
        {
            asm volatile("add.u32 %0, %0, %1;\n\txor.b32 %0, %0, %1;" : "+r"(v[k].x) : "r"(zero));
            asm volatile("add.u32 %0, %0, %1;\n\txor.b32 %0, %0, %1;" : "+r"(v[k].y) : "r"(zero));
            asm volatile("add.u32 %0, %0, %1;\n\txor.b32 %0, %0, %1;" : "+r"(v[k].z) : "r"(zero));
            asm volatile("add.u32 %0, %0, %1;\n\txor.b32 %0, %0, %1;" : "+r"(v[k].w) : "r"(zero));
        }
        long long const i = base + static_cast<long long>(k) * B;
        if (i < n)
        {
            if (H == 2)
                __stcs(out + i, v[k]);
            else
                out[i] = v[k];
        }
    }
}
#define VARIANT(NAME, V, B, H, D, S)                                                                   \
    extern "C" __global__ void __launch_bounds__(B) NAME(uint4 const* in, uint4* out, long long n,   \
        unsigned zero)                                                                               \
    {                                                                                                \
        copyBody<V, B, H, D, S>(in, out, n, zero);                                                   \
    }
VARIANT(copy_x1_b256, 1, 256, 0, 0, 0)
VARIANT(copy_x1_b128, 1, 128, 0, 0, 0)
VARIANT(copy_x1_b512, 1, 512, 0, 0, 0)
VARIANT(copy_x1_b1024, 1, 1024, 0, 0, 0)
VARIANT(copy_x2_b256, 2, 256, 0, 0, 0)
VARIANT(copy_x4_b256, 4, 256, 0, 0, 0)
VARIANT(copy_x2_b128, 2, 128, 0, 0, 0)
VARIANT(copy_x1_b256_nc, 1, 256, 1, 0, 0)
VARIANT(copy_x1_b256_cs, 1, 256, 2, 0, 0)
VARIANT(copy_x1_b256_ef, 1, 256, 3, 0, 0)
VARIANT(copy_x1_b256_alu8, 1, 256, 0, 8, 0)
VARIANT(copy_x1_b256_alu32, 1, 256, 0, 32, 0)
VARIANT(copy_x1_b256_alu96, 1, 256, 0, 96, 0)
VARIANT(copy_x1_b256_sleep100, 1, 256, 0, 0, 100)
VARIANT(copy_x1_b256_sleep400, 1, 256, 0, 0, 400)
"""
COPY_VARIANTS = {  # name: (vectors per thread, block)
    "copy_x1_b256": (1, 256), "copy_x1_b128": (1, 128), "copy_x1_b512": (1, 512), "copy_x1_b1024": (1, 1024),
    "copy_x2_b256": (2, 256), "copy_x4_b256": (4, 256), "copy_x2_b128": (2, 128),
    "copy_x1_b256_nc": (1, 256), "copy_x1_b256_cs": (1, 256), "copy_x1_b256_ef": (1, 256), "copy_x1_b256_alu8": (1, 256),
    "copy_x1_b256_alu32": (1, 256), "copy_x1_b256_alu96": (1, 256), "copy_x1_b256_sleep100": (1, 256),
    "copy_x1_b256_sleep400": (1, 256),
}


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


COPY_FAMILY_RULE = StoppingRule(target_rse=0.0004, min_samples=24, max_samples=400, max_time_s=1.5, warmup_min=3,
                                warmup_time_s=0.01)
COLD_FLUSH_RULE = StoppingRule(target_rse=0.0005, min_samples=30, max_samples=600, max_time_s=0.6, warmup_min=3,
                               warmup_time_s=0.01)


@contextmanager
def _tiled_pair(size: int, block: np.ndarray, stream: object):  # noqa: ANN202
    """An input of ``size`` bytes holding ``block`` tiled, and an output of as many."""
    from trt_plugin_bench.device.cuda_utils import DeviceBuffer, fill_tiled

    with DeviceBuffer(size) as src, DeviceBuffer(size) as dst:
        fill_tiled(src, block, size, stream)
        stream.synchronize()
        yield src, dst


def _direct_path(manifest: Path):  # noqa: ANN202
    """What the kernel probes time with: GPU 0, the compiled kernel library, a non-blocking stream
    and events behind a blocked start (GPU time, as the cold and warm modes)."""
    from trt_plugin_bench.device.cuda_utils import EventTimer, GpuContext, StreamBlocker
    from trt_plugin_bench.measure.cuda_direct import KernelLibrary

    gpu = GpuContext(0)
    lib = KernelLibrary(Path(json.loads(manifest.read_text())["kernels_library"]))
    stream = cuda.Stream(flags=0x1)
    return gpu, lib, stream, EventTimer(stream, StreamBlocker(gpu))


def copy_family(out: Path, manifest: Path) -> None:
    from pycuda.compiler import SourceModule
    from trt_plugin_bench.device.cuda_utils import L2Flush
    from trt_plugin_bench.measure.cuda_direct import KernelTimer

    gpu, lib, stream, events = _direct_path(manifest)
    module = SourceModule(COPY_SOURCE, no_extern_c=True, arch="sm_90", options=["-O3"])
    kernels = {name: module.get_function(name) for name in COPY_VARIANTS}
    flush = L2Flush(gpu, "dirty")  # as these probes ran (2026-11-24), before timing.l2_flush
    rows = []
    for mib in (1024, 2048):
        size = mib << 20
        # 32 MiB of fp16 in [-8, 8], tiled over the input
        with _tiled_pair(size, ref.random_input((16 << 20,), "fp16", seed=7), stream) as (src, dst):

            def launcher(name: str):  # noqa: ANN202
                if name.startswith("copy_"):
                    v, b = COPY_VARIANTS[name]
                    vec = size // 16
                    grid = -(-vec // (v * b))
                    fn = kernels[name]
                    return lambda: fn(np.uintp(src.ptr), np.uintp(dst.ptr), np.int64(vec), np.uint32(0),
                                      block=(b, 1, 1), grid=(grid, 1), stream=stream)
                if name == "memcpy":
                    return lambda: cuda.memcpy_dtod_async(dst.ptr, src.ptr, size, stream)
                _, dtype, variant = name.split("_", 2)
                n = size // ref.numpy_dtype(dtype).itemsize
                kernel = "vectorized_oneshot_" + variant
                return lambda: lib.swish(src.ptr, dst.ptr, n, 1.0, dtype, kernel, stream)

            names = ["memcpy", *COPY_VARIANTS, "swish_fp32_x1", "swish_fp16_x1", "swish_bf16_x1", "swish_fp32_x1_ef",
                     "swish_fp16_x1_ef"]
            launch = {name: launcher(name) for name in names}
            for name in names:  # every copy is a copy: checked bit for bit at the head and tail
                launch[name]()  # the first launch loads the kernel: never inside a blocked start
                stream.synchronize()
                if not name.startswith("swish"):
                    cuda.memset_d8_async(dst.ptr, 0xFF, size, stream)
                    launch[name]()
                    stream.synchronize()
                    for off in (0, size - (8 << 20)):
                        a = np.empty(8 << 20, np.uint8)
                        b = np.empty(8 << 20, np.uint8)
                        cuda.memcpy_dtoh(a, src.ptr + off)
                        cuda.memcpy_dtoh(b, dst.ptr + off)
                        if not np.array_equal(a, b):
                            raise RuntimeError(f"{name} did not copy at offset {off}")

            states = [State(name, "", "", (size,), "cold", 2 * size, kernel=name) for name in names]
            plan = Plan(lambda st, arena: KernelTimer(events, launch[st.kernel], lambda: flush.enqueue(stream)), COPY_FAMILY_RULE)
            with quiet_host(True):
                m = measure_interleaved(states, plan)
            for name, s in zip(names, m.summaries):
                rows.append({"buffer_mib": mib, "variant": name, "n": s.n, "median_us": s.median * 1e6,
                             "rse": s.rse, "gbs": 2 * size / s.median / 1e9, "stop": m.reason})
    flush.free()
    _write_csv(out / "copy_family.csv", rows)
    for mib in (1024, 2048):
        sel = sorted((r for r in rows if r["buffer_mib"] == mib), key=lambda r: -r["gbs"])
        print(f"-- {mib} MiB buffers (read + write {2 * mib} MiB), cold, blocked start")
        for r in sel:
            print(f"{r['variant']:<24} {r['gbs']:8.1f} GB/s  {r['median_us']:9.2f} us  rse {100 * r['rse']:.3f} %  n {r['n']}")


def cold_flush(out: Path, manifest: Path) -> None:
    """Warm, cold behind a clean flush and cold behind a dirty one, interleaved per buffer size."""
    from trt_plugin_bench.device.cuda_utils import L2Flush
    from trt_plugin_bench.measure.cuda_direct import KernelTimer

    gpu, lib, stream, events = _direct_path(manifest)
    flushes = {kind: L2Flush(gpu, kind) for kind in ("clean", "dirty")}
    rows = []
    for mib in (256, 512):
        size = mib << 20
        with _tiled_pair(size, ref.random_input((1 << 20,), "fp16", seed=3), stream) as (src, dst):
            work = {"copy16": lambda: gpu.copy16(dst.ptr, src.ptr, size, stream)}
            for dtype, variant in (("fp32", "x1_b128"), ("fp32", "x2_b128"), ("fp16", "x1_b128"), ("fp16", "x1")):
                n = size // ref.numpy_dtype(dtype).itemsize
                work[f"swish_{dtype}_{variant}"] = (lambda n=n, dtype=dtype, k="vectorized_oneshot_" + variant:
                                                    lib.swish(src.ptr, dst.ptr, n, 1.0, dtype, k, stream))
            for fn in work.values():  # the first launch loads the kernel: never inside a blocked start
                fn()
            stream.synchronize()
            states = [State(name, "", "", (size,), mode, 2 * size, kernel=name)
                      for name in work for mode in ("warm", "clean", "dirty")]

            def open_timer(st: State, arena: object) -> KernelTimer:
                flush = (lambda: flushes[st.mode].enqueue(stream)) if st.mode != "warm" else None
                return KernelTimer(events, work[st.kernel], flush)

            with quiet_host(True):
                m = measure_interleaved(states, Plan(open_timer, COLD_FLUSH_RULE))
            for state, st in zip(states, m.summaries):
                rows.append({"buffer_mib": mib, "work": state.kernel, "mode": state.mode, "n": st.n,
                             "median_us": st.median * 1e6, "rse": st.rse, "gbs": 2 * size / st.median / 1e9,
                             "stop": m.reason})
    for f in flushes.values():
        f.free()
    _write_csv(out / "cold_flush.csv", rows)
    print(f"{'MiB':>5} {'work':<18} {'warm GB/s':>10} {'clean GB/s':>11} {'dirty GB/s':>11}")
    for mib in (256, 512):
        for name in dict.fromkeys(r["work"] for r in rows):
            g = {r["mode"]: r["gbs"] for r in rows if r["buffer_mib"] == mib and r["work"] == name}
            print(f"{mib:>5} {name:<18} {g['warm']:10.1f} {g['clean']:11.1f} {g['dirty']:11.1f}")


def _engines(config: Settings, names: list[tuple[str, str, str, str]], workdir: Path, manifest: Path | None):  # noqa: ANN202
    """Build (or reuse) engines: (label, operator, kernel, profile, dtype)."""
    from trt_plugin_bench.backends import get_backend
    from trt_plugin_bench.backends.base import build_record_path, sha256_file
    from trt_plugin_bench.commands.sweeps import builder_config, make_spec, plugin_library_from_manifest

    backend = get_backend("tensorrt")
    library = plugin_library_from_manifest(manifest)
    out = {}
    for label, op, kernel, profile, dtype in names:
        cfg = replace(config, plugin_kernel={**config.plugin_kernel, dtype: kernel}) if kernel else config
        spec = make_spec(cfg, op, dtype, profile)
        path = workdir / f"{label}.engine"
        if not path.exists():
            backend.build(spec, path, library if op.startswith("swish_plugin") else None, builder_config(config.builder))
            # the part of sweeps.build_engine's record that load() checks (no golden output here)
            build_record_path(path).write_text(json.dumps({"spec": spec.to_json(), "engine_sha256": sha256_file(path)}))
        out[label] = backend.load(path, library)
    return backend, out


def scratch_dir(prefix: str) -> Path:
    """A folder of this run's own in the temporary directory (never a fixed name another run or user
    shares, nor one holding an earlier run's engines), removed when the probe exits."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, work, True)
    return work


def idle_series(out: Path, manifest: Path, seconds: float) -> None:
    config = Settings.from_config(load_config("config.yaml"))
    work = scratch_dir("tpb-probe-engines-")
    _, engines = _engines(config, [("relu_fp16_sweep", "relu", "", "sweep", "fp16"),
                                   ("plugin_fp32_sweep", "swish_plugin", "vectorized_oneshot_x1", "sweep", "fp32")],
                          work, manifest)
    plan = [("relu_fp16_sweep", (4, 1024), "stream"), ("relu_fp16_sweep", (4, 1024), "graph"),
            ("relu_fp16_sweep", (1024, 1024), "stream"), ("relu_fp16_sweep", (1024, 1024), "graph"),
            ("plugin_fp32_sweep", (4096, 1024), "stream"), ("plugin_fp32_sweep", (4096, 1024), "graph"),
            ("relu_fp16_sweep", (1024, 1024), "warm"), ("plugin_fp32_sweep", (4096, 1024), "cold")]
    arrays = {}
    rows = []
    policies = ["pinned"]
    if hasattr(os, "SCHED_FIFO"):
        policies.append("pinned_fifo")
    for policy in policies:
        for label, shape, mode in plan:
            with engines[label].timer(shape, mode, seed=1, verify_max_elements=1 << 22) as timer, quiet_host(True):
                if not timer.verify().ok:
                    raise RuntimeError(f"{label} {shape}: wrong output")
                old = None
                if policy == "pinned_fifo":
                    try:
                        old = os.sched_getscheduler(0), os.sched_getparam(0)
                        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
                    except OSError as exc:
                        print(f"SCHED_FIFO refused: {exc}")
                        old = None
                try:
                    t_end = time.perf_counter() + 0.3
                    while time.perf_counter() < t_end:
                        timer.sample()
                    ts, dev, host = [], [], []
                    t0 = time.perf_counter()
                    t_end = t0 + (seconds if policy == "pinned" else seconds / 2)
                    while True:
                        now = time.perf_counter()
                        if now >= t_end:
                            break
                        d, h = timer.sample()
                        ts.append(now - t0)
                        dev.append(d)
                        host.append(h)
                finally:
                    if old is not None:
                        os.sched_setscheduler(0, old[0], old[1])
            key = f"{policy}__{label}__{shape[0]}x{shape[1]}__{mode}"
            arrays[key] = np.stack([np.asarray(ts), np.asarray(dev) * 1e6, np.asarray(host) * 1e6]).astype(np.float32)
            x = arrays[key][1]
            win = [np.median(x[(arrays[key][0] >= a) & (arrays[key][0] < a + 0.25)]) for a in np.arange(0, seconds - 0.25, 0.25)]
            win = [w for w in win if np.isfinite(w)]
            rows.append({"key": key, "n": x.size, "median_us": float(np.median(x)), "p10": float(np.percentile(x, 10)),
                         "p90": float(np.percentile(x, 90)), "window_median_min": float(min(win)),
                         "window_median_max": float(max(win)), "host_median_us": float(np.median(arrays[key][2]))})
            print(f"{key:<60} n {x.size:7d} median {rows[-1]['median_us']:8.2f} us  0.25 s windows "
                  f"{rows[-1]['window_median_min']:.2f}..{rows[-1]['window_median_max']:.2f}", flush=True)
    np.savez_compressed(out / "idle_series.npz", **arrays)
    _write_csv(out / "idle_series.csv", rows)
    for e in engines.values():
        e.close()


def arena_compare(out: Path, manifest: Path) -> None:
    """Is an A/B of two engines on buffers of their own biased by where those buffers lie? The A/A
    control says: TensorRT's kernel against itself (a second execution context) on separate
    buffers, then on one shared input, output and flush buffer (TimingArena), beside plugin ÷ native
    in both set-ups. Fresh allocations for every shape and repeat."""
    config = Settings.from_config(load_config("config.yaml", ["builder.profiles_per_engine=2"]))
    work = scratch_dir("tpb-probe-engines-")
    backend, engines = _engines(config, [("native2_fp32_sweep", "swish_native", "", "sweep", "fp32"),
                                         ("plugin2_fp32_sweep", "swish_plugin", "", "sweep", "fp32")], work, manifest)
    native, plugin = engines["native2_fp32_sweep"], engines["plugin2_fp32_sweep"]
    rule = StoppingRule(target_rse=0.002, min_samples=40, max_samples=3000, max_time_s=1.0, warmup_min=5,
                        warmup_time_s=0.02)
    rows = []
    for repeat in (1, 2):
        for i, shape in enumerate([(256, 1024), (1024, 1024), (2048, 1024), (4096, 1024), (16384, 1024)], 1):
            for setup in ("separate", "shared"):
                # the plugin, native, and native again: on the shared arena the A/A control samples
                # native's own timer a second time; apart, a second timer on buffers of its own
                # (the same rotating order over the three samplers either way)
                states = [State(e.spec.operator, "fp32", "sweep", shape, "cold", 0, seed=i, source=e)
                          for e in (plugin, native, *((native,) if setup == "separate" else ()))]
                plan = Plan(engine_timers(1 << 26), rule)
                with quiet_host(True):
                    m = measure_interleaved(states, plan, arena=backend.arena if setup == "shared" else None,
                                            control=setup == "shared")
                reason = m.reason
                sp, sn, sn2 = m.summaries
                row = {"repeat": repeat, "setup": setup, "shape": "x".join(map(str, shape)),
                       "tensor_mib": int(np.prod(shape)) * 4 / 2**20, "n": sn.n, "native_us": sn.median * 1e6,
                       "aa_ratio": sn2.median / sn.median, "aa_se": sn2.median / sn.median * float(np.hypot(sn.rse, sn2.rse)),
                       "plugin_ratio": sp.median / sn.median,
                       "plugin_se": sp.median / sn.median * float(np.hypot(sn.rse, sp.rse)), "stop": reason}
                rows.append(row)
                print(f"repeat {repeat} {row['shape']:<11} {setup:<9} native {row['native_us']:8.2f} us  "
                      f"A/A {row['aa_ratio']:.4f}±{row['aa_se']:.4f}  plugin {row['plugin_ratio']:.4f}±{row['plugin_se']:.4f}",
                      flush=True)
    _write_csv(out / "compare_arena.csv", rows)
    for e in engines.values():
        e.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("probe", choices=["copy-family", "idle-series", "compare-arena", "cold-flush"])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--manifest", type=Path, default=Path("results/default/build/manifest.json"))
    p.add_argument("--seconds", type=float, default=8.0)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.probe == "copy-family":
        copy_family(a.out, a.manifest)
    elif a.probe == "cold-flush":
        cold_flush(a.out, a.manifest)
    elif a.probe == "idle-series":
        idle_series(a.out, a.manifest, a.seconds)
    else:
        arena_compare(a.out, a.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
