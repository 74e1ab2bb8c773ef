"""The tune rule: which of the plugin's kernel variants runs at each tensor size, on the GPU at hand.

A kernel choice measured on one chip is wrong on the next: the H100's choice cost the H200 5 % at
8 MiB in fp32 and left 8 % of the bandwidth on the table in fp16 (issue 12). So the pipeline measures
the choice where it runs, before any engine is built:

1. **Size bands from the device's L2** (``tune.band_edges_l2``: upper limits in multiples of the
   L2 size, by input-tensor bytes): L2-resident, spilling and HBM-bound tensors favour different
   shapes. Each band is sampled at two sizes: its geometric middle and its top (the first band at a
   quarter of its top and its top, the last, unbounded band at 2x and 8x its floor).
2. **Direct path**: every ``tune.kernels`` variant at every sample size, cold L2, GPU time behind a
   blocked start (``cuda_direct.DirectBench``). Within a band the variants are ranked by their
   geometric-mean slowdown against the best variant at each size; the top ``tune.finalists`` go on.
3. **In the engine**: each finalist as a plugin engine, timed interleaved with the native twin on
   shared buffers, the twin timed twice per round (A/A control): the compare rule's method. The
   finalist with the lowest worst ratio to native over the band's sizes wins. Where no engine can be
   built (bf16 on TensorRT 8.6, no native twin), the direct ranking decides.
4. Adjacent bands with the same winner merge. ``choice.json`` holds, per dtype, the table
   ``[[upper KiB, kernel], ..., [-1, kernel]]`` (the plugin's ``kernel_table`` field) and the device
   it was measured on; ``tune.csv`` every measurement behind it.

On the CPU reference backend there are no GPU kernels to tune: the rule writes an empty choice that
says so, and the plugin engines keep the default kernel.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .operators import ITEMSIZE, get_operator
from .records import TuneRow
from .settings import Settings, TuneSettings

KIB = 1024
SIZE_QUANTUM = 64 * KIB  # sample sizes are whole 64 KiB: 16-byte vectors, no scalar tail
MAX_TRT_ELEMENTS = (1 << 31) - 1  # TensorRT 8.6 refuses larger tensors at build
BUILD_WORKERS = 4  # plugin engines built at once


@dataclass(frozen=True)
class Band:
    index: int
    lo_bytes: int  # exclusive
    hi_bytes: int  # inclusive; -1: unbounded

    def contains(self, nbytes: int) -> bool:
        return nbytes > self.lo_bytes and (self.hi_bytes < 0 or nbytes <= self.hi_bytes)


def bands(l2_bytes: int, edges_l2: list[float]) -> list[Band]:
    """Size bands whose upper limits are ``edges_l2`` times the L2 size (rounded to whole KiB, as
    the plugin's table holds them), plus an unbounded last band."""
    if l2_bytes <= 0:
        raise ValueError(f"the device reports an L2 size of {l2_bytes} bytes: cannot place size bands")
    limits = sorted({max(KIB, int(round(e * l2_bytes / KIB)) * KIB) for e in edges_l2})
    out, lo = [], 0
    for i, hi in enumerate(limits):
        out.append(Band(i, lo, hi))
        lo = hi
    out.append(Band(len(limits), lo, -1))
    return out


def _quantize(nbytes: float) -> int:
    return max(SIZE_QUANTUM, int(nbytes // SIZE_QUANTUM) * SIZE_QUANTUM)


def sample_sizes(band: Band, max_bytes: int) -> list[int]:
    """The tensor sizes (bytes) a band is measured at, each inside the band, at most ``max_bytes``."""
    if band.hi_bytes < 0:
        sizes = [2 * band.lo_bytes, 8 * band.lo_bytes]
    elif band.lo_bytes == 0:
        sizes = [band.hi_bytes / 4, band.hi_bytes]
    else:
        sizes = [math.sqrt(band.lo_bytes * band.hi_bytes), band.hi_bytes]
    out = [q for q in dict.fromkeys(_quantize(min(s, max_bytes)) for s in sizes) if band.contains(q)]
    return out


def rank(rows: list[TuneRow], band: int) -> list[str]:
    """Kernels of one band's direct-path rows, best first: geometric mean over the band's sizes of
    each kernel's time over the best kernel's time at that size."""
    at_band = [r for r in rows if r.band == band and r.path == "direct"]
    best = {}
    for r in at_band:
        best[r.tensor_bytes] = min(best.get(r.tensor_bytes, math.inf), r.median_us)
    scores: dict[str, list[float]] = {}
    for r in at_band:
        scores.setdefault(r.kernel, []).append(math.log(r.median_us / best[r.tensor_bytes]))
    return sorted(scores, key=lambda k: (sum(scores[k]) / len(scores[k]), k))


def finalists_of(ranked: list[str], tcfg: TuneSettings) -> list[str]:
    """The variants a band times in the engine: the best ``tune.finalists`` of the direct path, plus
    each of ``tune.finalists_include`` that was measured (the shape of TensorRT's own kernel: the
    direct path ranked it low at 8 MiB fp32 on the H200, where in the engine it led)."""
    top = ranked[: tcfg.finalists]
    return top + [k for k in tcfg.finalists_include if k in ranked and k not in top]


def engine_winner(rows: list[TuneRow], band: int) -> str | None:
    """The kernel whose worst ratio to the native twin over the band's engine rows is lowest."""
    worst: dict[str, float] = {}
    for r in rows:
        if r.band == band and r.path == "engine":
            worst[r.kernel] = max(worst.get(r.kernel, 0.0), r.ratio_to_native)
    return min(worst, key=lambda k: (worst[k], k)) if worst else None


def choice_table(band_list: list[Band], winners: dict[int, str]) -> list[list]:
    """[[upper KiB, kernel], ..., [-1, kernel]]: one pair per run of bands with the same winner."""
    table: list[list] = []
    for band in band_list:
        kernel = winners[band.index]
        upper = -1 if band.hi_bytes < 0 else band.hi_bytes // KIB
        if table and table[-1][1] == kernel:
            table[-1][0] = upper
        else:
            table.append([upper, kernel])
    return table


def _row(backend: str, device: str, dtype: str, band: Band, nbytes: int, kernel: str, path: str, mode: str,
         n: int, median_us: float, rse: float, ratio: float = math.nan, control: float = math.nan) -> TuneRow:
    return TuneRow(backend=backend, device_name=device, dtype=dtype, band=band.index, band_lo_bytes=band.lo_bytes,
                   band_hi_bytes=band.hi_bytes, tensor_bytes=nbytes, elements=nbytes // ITEMSIZE[dtype],
                   kernel=kernel, path=path, mode=mode, n=n, median_us=median_us, rse=rse,
                   gbps=2 * nbytes / median_us / 1e3 if median_us > 0 else math.nan,
                   ratio_to_native=ratio, control_ratio=control, chosen=False)


def write_choice(path: Path, choice: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(choice, indent=2))
    tmp.replace(path)


def load_kernel_tables(path: Path | None) -> dict[str, list]:
    """The build rule's view of choice.json: {dtype: [[upper KiB, kernel], ...]}."""
    if path is None:
        return {}
    return json.loads(Path(path).read_text()).get("tables", {})


def tune(settings: Settings, backend_name: str, manifest_path: Path | None, choice_path: Path) -> list[TuneRow]:
    """Measure, choose, write choice.json; the rows go to tune.csv."""
    if backend_name != "tensorrt":
        write_choice(choice_path, {
            "backend": backend_name, "tables": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "reason": "the CPU reference backend runs no GPU kernels: nothing to tune; plugin engines keep the "
                      "default kernel"})
        return []
    return _tune_gpu(settings, manifest_path, choice_path)


def _build_one(backend_name: str, spec_json: dict, path: str, library: str | None, builder_cfg: dict) -> float:
    """Build one tune engine and write its build record (what load() checks it against), in a worker
    process of its own: TensorRT builds one engine per process at a time, and a plugin engine's
    build is mostly fixed cost (the builder, the library, the check run), so the finalists build
    side by side."""
    from .backends import get_backend
    from .backends.base import EngineSpec, write_build_record

    spec = EngineSpec.from_json(spec_json)
    facts = get_backend(backend_name).build(spec, Path(path), Path(library) if library else None, builder_cfg)
    write_build_record(Path(path), spec, facts)
    return float(facts.get("build_seconds", 0.0))


def _unpin() -> None:
    """A worker inherits the timing thread's one-CPU affinity (host.quiet_host): give it them all."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


def build_engines(jobs: list[tuple], builder_cfg: dict, workers: int = BUILD_WORKERS,
                  backend_name: str = "tensorrt") -> None:
    """``jobs``: (EngineSpec, engine path, plugin library or None), built in parallel worker
    processes (spawned: a CUDA context does not survive a fork)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    args = [(backend_name, spec.to_json(), str(path), str(lib) if lib else None, builder_cfg) for spec, path, lib in jobs]
    try:
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), initializer=_unpin,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_build_one, *a) for a in args]
            for a, future in zip(args, futures):
                seconds = future.result()  # a failed build raises here, naming its cause
                print(f"tune: built {Path(a[2]).name} in {seconds:.1f} s", flush=True)
    except BrokenProcessPool as exc:  # a worker died (not a build error): build here, one by one
        print(f"tune: the build workers failed ({exc}); building one engine at a time", flush=True)
        for a in args:
            print(f"tune: built {Path(a[2]).name} in {_build_one(*a):.1f} s", flush=True)


def _tune_gpu(settings: Settings, manifest_path: Path | None, choice_path: Path) -> list[TuneRow]:  # pragma: no cover - GPU
    import pycuda.driver as cuda

    from .backends import get_backend
    from .backends.base import EngineSpec
    from .cuda_direct import DirectBench, kernel_library
    from .host import quiet_host
    from .measure import Plan, State, engine_timers, log, measure_interleaved
    from .stats import StoppingRule, median_ratio
    from .sweeps import builder_config, plugin_library_from_manifest

    tcfg = settings.tune
    l2_flush = settings.timing.l2_flush  # how cold is made: the one timing.* key the rule reads
    backend = get_backend("tensorrt", l2_flush)
    info = backend.device_info()
    rule = StoppingRule.from_config(tcfg.timing)
    beta = settings.beta
    band_list = bands(info.l2_bytes, list(tcfg.band_edges_l2))
    free, _ = cuda.mem_get_info()
    plugin_op = tcfg.operator
    native_op = next((b for a, b in settings.compare.pairs if a == plugin_op), None)
    library = plugin_library_from_manifest(manifest_path, get_operator(plugin_op))
    # a 256 Ki-element check block: the float64 check of every variant at every size (a 4 Mi block
    # then) was most of the rule's 5.6 minutes on the H200 (2026-12-02); the kernel check and the
    # engines' own checks cover the numerics
    bench = DirectBench(kernel_library(manifest_path, get_operator(plugin_op)), backend.gpu, list(tcfg.kernels), rule, beta, modes=("cold",),
                        block_elements=1 << 18, l2_flush=l2_flush)
    rows: list[TuneRow] = []
    tables: dict[str, list] = {}
    decided: dict[str, str] = {}
    work = choice_path.parent / "engines"
    work.mkdir(parents=True, exist_ok=True)
    log(f"tune on {info.device_name} (L2 {info.l2_bytes >> 20} MiB): bands "
        + ", ".join(f"<= {b.hi_bytes >> 10} KiB" if b.hi_bytes > 0 else "above" for b in band_list))
    with quiet_host(tcfg.timing.pin_cpu):
        for dtype in settings.dtypes:
            item = ITEMSIZE[dtype]
            # the arena holds input, output and the flush buffer; the direct path two tensors
            max_bytes = min(int(free * 0.3), MAX_TRT_ELEMENTS * item)
            sizes = {b.index: sample_sizes(b, max_bytes) for b in band_list}
            for b in band_list:
                for i, nbytes in enumerate(sizes[b.index]):
                    for k in bench.size(dtype, nbytes // item, seed=100 * b.index + i):
                        rows.append(_row("tensorrt", info.device_name, dtype, b, nbytes, k.kernel, "direct", "cold",
                                         k.n, k.median_us, k.rse))
            finalists = {b.index: finalists_of(rank(rows_of(rows, dtype), b.index), tcfg) for b in band_list}
            engine_ok = (native_op is not None and backend.support(plugin_op, dtype) is None
                         and backend.support(native_op, dtype) is None)
            if engine_ok:
                top = max(s for ss in sizes.values() for s in ss) // item
                def spec_of(op: str, kernel: str, top: int = top) -> EngineSpec:
                    o = get_operator(op)
                    return EngineSpec(operator=op, function=o.function, implementation=o.implementation,
                                      kernel=kernel, dtype=dtype, profile="tune", min=(1,),
                                      opt=(min(top, 1 << 22),), max=(top,), beta=beta)
                # the native twin first and alone (TensorRT times its tactics: nothing may share the
                # GPU), then the finalists' plugin engines at once, each in a process of its own
                native_path = work / f"{native_op}__{dtype}.engine"
                build_engines([(spec_of(native_op, ""), native_path, None)], builder_config(settings.builder))
                kernels = sorted({k for ks in finalists.values() for k in ks})
                paths = {k: work / f"{plugin_op}__{dtype}__{k}.engine" for k in kernels}
                build_engines([(spec_of(plugin_op, k), paths[k], library) for k in kernels], builder_config(settings.builder))
                engines = {k: backend.load(paths[k], library) for k in kernels}
                native = backend.load(native_path, None)
                plan = Plan(engine_timers(1 << 22), rule)
                for b in band_list:
                    for i, nbytes in enumerate(sizes[b.index]):
                        shape = (nbytes // item,)
                        names = finalists[b.index]
                        states = [State(e.spec.operator, dtype, "tune", shape, "cold", 2 * nbytes, seed=i + 1,
                                        kernel=name, source=e)
                                  for name, e in zip((*names, native_op), (*(engines[k] for k in names), native))]
                        # native last and sampled again: the A/A control
                        m = measure_interleaved(states, plan, arena=backend.arena, control=True)
                        xn, xc = m.summaries[-2], m.summaries[-1]
                        control, _ = median_ratio(xc, xn)
                        for name, x in zip(names, m.summaries):
                            ratio, _ = median_ratio(x, xn)
                            rows.append(_row("tensorrt", info.device_name, dtype, b, nbytes, name, "engine", "cold",
                                             x.n, x.median * 1e6, x.rse, ratio, control))
                            log(f"tune {dtype} {nbytes >> 10} KiB band {b.index}: {name} ÷ {native_op} {ratio:.4f} "
                                f"(A/A {control:.4f}, n {x.n}, {m.reason})")
                for e in (*engines.values(), native):
                    e.close()
            winners = {}
            for b in band_list:
                winner = engine_winner(rows_of(rows, dtype), b.index) if engine_ok else None
                winners[b.index] = winner or finalists[b.index][0]
            decided[dtype] = "engine" if engine_ok else "direct"
            tables[dtype] = choice_table(band_list, winners)
            for r in rows:
                if r.dtype == dtype and winners[r.band] == r.kernel:
                    r.chosen = True
            log(f"tune {dtype}: {tables[dtype]} (decided on the {decided[dtype]} path)")
    bench.flush.free()
    write_choice(choice_path, {
        "backend": "tensorrt", "device": asdict(info), "l2_bytes": info.l2_bytes,
        "bands": [[b.lo_bytes, b.hi_bytes] for b in band_list], "tables": tables, "decided_on": decided,
        "kernels": list(tcfg.kernels), "native": native_op, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return rows


def rows_of(rows: list[TuneRow], dtype: str) -> list[TuneRow]:
    return [r for r in rows if r.dtype == dtype]
