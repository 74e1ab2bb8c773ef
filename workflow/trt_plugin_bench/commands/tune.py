"""The tune rule: which of a plugin's kernel variants runs at each tensor size, on the GPU at hand.

A kernel choice measured on one chip is wrong on the next: the H100's choice cost the H200 5 % at
8 MiB in fp32 and left 8 % of the bandwidth on the table in fp16 (issue 12). So the pipeline measures
the choice where it runs, before any engine is built, for every plugin operator that runs
``auto`` (one rule per tuned operator: dag.tune_operators; its candidates: TuneSettings.for_operator):

1. **Size bands from the device's L2** (``tune.band_edges_l2``: upper limits in multiples of the
   L2 size, by input-tensor bytes): L2-resident, spilling and HBM-bound tensors favour different
   shapes. Each band is sampled at two sizes: its geometric middle and its top (the first band at a
   quarter of its top and its top, the last, unbounded band at 2x and 8x its floor).
2. **Direct path**, where the operator's spec has a direct library (variants.direct, the unary
   (x, y, n) ABI): every candidate at every sample size, cold L2, GPU time behind a blocked start
   (``cuda_direct.DirectBench``). Within a band the variants are ranked by their geometric-mean
   slowdown against the best variant at each size; the top ``tune.finalists`` go on. Without a
   direct library (a row reduction: weights, a hidden size) every candidate is a finalist.
3. **In the engine**: each finalist as a plugin engine, timed interleaved with the native twin on
   shared buffers, the twin timed twice per round (A/A control): the compare rule's method. An
   elementwise operator is one flat tensor; any other is timed at each row shape of the config's
   profiles (their opt shapes' trailing dims: a row reduction's hidden sizes), one engine per row
   shape. The finalist with the lowest worst ratio to native over the band's sizes (and row
   shapes) wins. Where no engine can be built (bf16 on TensorRT 8.6, no native twin), the direct
   ranking decides; without a direct ranking either, the dtype keeps its default kernel.
4. Adjacent bands with the same winner merge. ``choice.json`` holds, per dtype, the table
   ``[[upper KiB, kernel], ..., [-1, kernel]]`` (the plugin's ``kernel_table`` field) and the device
   it was measured on; ``tune.csv`` every measurement behind it.

On the CPU reference backend there are no GPU kernels to tune: the rule writes an empty choice that
says so, and the plugin engines keep their default kernel.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..backends.base import EngineSpec
from ..core.operators import ITEMSIZE, dtype_support, from_ref, get_operator, is_elementwise, moved_bytes, operator_ref
from ..core.records import TuneRow, shape_str
from ..core.settings import Settings
from ..core.specs import OperatorSpec
from ..core.stats import StoppingRule, median_ratio
from ..measure.measure import Plan, State, engine_timers, log, measure_interleaved
from .sweeps import builder_config, plugin_library_from_manifest

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


def finalists_of(ranked: list[str], count: int, include: list[str] | tuple[str, ...]) -> list[str]:
    """The variants a band times in the engine: the best ``count`` (tune.finalists) of the direct
    path, plus each of ``include`` (tune.finalists_include) that was measured (the shape of
    TensorRT's own kernel: the direct path ranked it low at 8 MiB fp32 on the H200, where in the
    engine it led)."""
    top = ranked[:count]
    return top + [k for k in include if k in ranked and k not in top]


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
         n: int, median_us: float, rse: float, ratio: float = math.nan, control: float = math.nan, *,
         operator: str = "", shape: tuple[int, ...] | None = None, moved: int | None = None) -> TuneRow:
    """One measurement; ``nbytes``: input 0's bytes, ``shape`` its shape (None: flat), ``moved``
    the bytes read + written (the cost model's; None: a unary op's 2 x nbytes)."""
    item = ITEMSIZE[dtype]
    shape = shape if shape is not None else (nbytes // item,)
    moved = moved if moved is not None else 2 * nbytes
    return TuneRow(operator=operator, backend=backend, device_name=device, dtype=dtype, band=band.index,
                   band_lo_bytes=band.lo_bytes, band_hi_bytes=band.hi_bytes, tensor_bytes=nbytes,
                   elements=nbytes // item, shape=shape_str(shape), kernel=kernel, path=path, mode=mode, n=n,
                   median_us=median_us, rse=rse, gbps=moved / median_us / 1e3 if median_us > 0 else math.nan,
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


@dataclass(frozen=True)
class Job:
    """What one tune rule measures: the operator, its native twin (None: no engine path), its
    candidates and finalists_include (TuneSettings.for_operator), whether it has a direct path, and
    the row shapes its engines run ([()]: one flat tensor)."""

    spec: OperatorSpec
    native: str | None
    kernels: tuple[str, ...]
    include: tuple[str, ...]
    finalists: int
    direct: bool
    rows: tuple[tuple[int, ...], ...]

    @property
    def default(self) -> str:
        return self.spec.variants.default if self.spec.variants is not None else ""


def native_twin(spec: OperatorSpec, settings: Settings) -> str | None:
    """The native operator ``spec`` is timed against in the engine: the compare pair it heads, else
    its spec's native_operator where that is an operator; None: none."""
    paired = next((b for a, b in settings.compare.pairs if a == spec.name), None)
    if paired is not None:
        return paired
    if spec.native_operator:
        try:
            return get_operator(spec.native_operator).name
        except KeyError:
            return None
    return None


def row_shapes(spec: OperatorSpec, settings: Settings) -> tuple[tuple[int, ...], ...]:
    """The trailing dims (one row) ``spec``'s engines are timed at: none for an elementwise operator
    (one flat tensor); otherwise each distinct ``opt[1:]`` of the config's profiles of rank >= 2
    (a row reduction's hidden sizes), in profile order; none where every profile is of rank 1."""
    if is_elementwise(spec):
        return ((),)
    found = [tuple(p.opt[1:]) for p in settings.profiles.values() if len(p.opt) >= 2]
    return tuple(dict.fromkeys(found)) or ((),)


def plan_job(settings: Settings, spec: OperatorSpec) -> Job:
    tcfg = settings.tune.for_operator(spec)
    variants = spec.variants
    return Job(spec=spec, native=native_twin(spec, settings), kernels=tuple(tcfg.kernels),
               include=tuple(tcfg.finalists_include), finalists=tcfg.finalists,
               direct=bool(variants is not None and variants.direct_library and variants.direct_launch),
               rows=row_shapes(spec, settings))


def tune_dtypes(settings: Settings, spec: OperatorSpec) -> list[str]:
    """The configured dtypes ``spec`` declares (the others have no engines to tune for)."""
    return [d for d in settings.dtypes if dtype_support(spec.name, d) is None]


def sample_shape(nbytes: int, dtype: str, row: tuple[int, ...]) -> tuple[int, ...]:
    """Input 0's shape at about ``nbytes``: flat, or whole rows of ``row`` (one at least)."""
    n = nbytes // ITEMSIZE[dtype]
    if not row:
        return (n,)
    return (max(1, n // math.prod(row)), *row)


def engine_spec(spec: OperatorSpec, kernel: str, dtype: str, row: tuple[int, ...], top: int, beta: float) -> EngineSpec:
    """A tune engine of ``spec``: dynamic over input 0's leading dim up to ``top`` (elements flat,
    rows otherwise), its opt at about 4 Mi elements."""
    inner = math.prod(row) if row else 1
    return EngineSpec(operator=spec.name, spec_file="" if spec.builtin else operator_ref(spec.name),
                      function=spec.function, implementation=spec.implementation, kernel=kernel, dtype=dtype,
                      profile="tune", min=(1, *row), opt=(min(top, max(1, (1 << 22) // inner)), *row),
                      max=(top, *row), beta=beta)


def engine_rows(backend: object, job: Job, settings: Settings, dtype: str, band_list: list[Band],
                sizes: dict[int, list[int]], finalists: dict[int, list[str]], library: Path | None, work: Path,
                device_name: str, backend_name: str = "tensorrt", workers: int = BUILD_WORKERS) -> list[TuneRow]:
    """The engine path of one dtype: per row shape, the native twin's engine (built first and alone:
    TensorRT times its tactics) and each finalist's plugin engine (built side by side), then every
    band's sizes timed interleaved, the twin last and sampled again (the A/A control). ``backend``:
    a backends.base.Backend (the GPU's, or the CPU reference backend in the tests)."""
    rule = StoppingRule.from_config(settings.tune.timing)
    item = ITEMSIZE[dtype]
    kernels = sorted({k for ks in finalists.values() for k in ks})
    all_sizes = [s for ss in sizes.values() for s in ss]
    rows: list[TuneRow] = []
    if not kernels or not all_sizes or job.native is None:
        return rows
    native_spec = get_operator(job.native)
    plan = Plan(engine_timers(1 << 22), rule)
    for row in job.rows:
        tag = "x".join(map(str, row)) or "flat"
        top = max(sample_shape(s, dtype, row)[0] for s in all_sizes)
        native_path = work / f"{job.native}__{dtype}__{tag}.engine"
        build_engines([(engine_spec(native_spec, "", dtype, row, top, settings.beta), native_path, None)],
                      builder_config(settings.builder), workers, backend_name)
        paths = {k: work / f"{job.spec.name}__{dtype}__{tag}__{k}.engine" for k in kernels}
        build_engines([(engine_spec(job.spec, k, dtype, row, top, settings.beta), paths[k], library) for k in kernels],
                      builder_config(settings.builder), workers, backend_name)
        engines = {k: backend.load(paths[k], library) for k in kernels}  # type: ignore[attr-defined]
        native = backend.load(native_path, None)  # type: ignore[attr-defined]
        try:
            for b in band_list:
                for i, nbytes in enumerate(sizes[b.index]):
                    shape = sample_shape(nbytes, dtype, row)
                    names = finalists[b.index]
                    sources = (*(engines[k] for k in names), native)
                    states = [State(e.spec.operator, dtype, "tune", shape, "cold", moved_bytes(e.spec, shape),
                                    seed=i + 1, kernel=name, source=e)
                              for name, e in zip((*names, job.native), sources)]
                    # native last and sampled again: the A/A control
                    m = measure_interleaved(states, plan, arena=backend.arena, control=True)  # type: ignore[attr-defined]
                    if m is None:
                        continue
                    xn, xc = m.summaries[-2], m.summaries[-1]
                    control, _ = median_ratio(xc, xn)
                    real = math.prod(shape) * item
                    for name, x, st in zip(names, m.summaries, states):
                        ratio, _ = median_ratio(x, xn)
                        rows.append(_row(backend_name, device_name, dtype, b, real, name, "engine", "cold", x.n,
                                         x.median * 1e6, x.rse, ratio, control, operator=job.spec.name, shape=shape,
                                         moved=st.bytes_moved))
                        log(f"tune {job.spec.name} {dtype} {shape_str(shape)} band {b.index}: {name} ÷ {job.native} "
                            f"{ratio:.4f} (A/A {control:.4f}, n {x.n}, {m.reason})")
        finally:
            for e in (*engines.values(), native):
                e.close()
    return rows


def winners_of(job: Job, rows: list[TuneRow], band_list: list[Band], finalists: dict[int, list[str]],
               engine_ok: bool) -> tuple[dict[int, str], str]:
    """Each band's kernel and the path that decided (engine, direct, or none: no table, the default
    kernel): the engine path's lowest worst ratio, else the direct ranking's first."""
    winners: dict[int, str] = {}
    for b in band_list:
        winner = engine_winner(rows, b.index) if engine_ok else None
        if winner is None and job.direct and finalists.get(b.index):
            winner = finalists[b.index][0]
        if winner is None:
            return {}, "none"
        winners[b.index] = winner
    return winners, "engine" if engine_ok else "direct"


def mark_chosen(rows: list[TuneRow], dtype: str, winners: dict[int, str]) -> None:
    for r in rows:
        if r.dtype == dtype and winners.get(r.band) == r.kernel:
            r.chosen = True


def tune(settings: Settings, backend_name: str, op: str, manifest_path: Path | None, choice_path: Path) -> list[TuneRow]:
    """Measure operator ``op``'s variants (a name, or an external operator's spec file), choose,
    write choice.json; the rows go to tune.csv."""
    spec = from_ref(op)
    if backend_name != "tensorrt":
        write_choice(choice_path, {
            "backend": backend_name, "operator": spec.name, "tables": {},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "reason": "the CPU reference backend runs no GPU kernels: nothing to tune; plugin engines keep the "
                      "default kernel"})
        return []
    return _tune_gpu(settings, plan_job(settings, spec), manifest_path, choice_path)


def _build_one(backend_name: str, spec_json: dict, path: str, library: str | None, builder_cfg: dict) -> float:
    """Build one tune engine and write its build record (what load() checks it against), in a worker
    process of its own: TensorRT builds one engine per process at a time, and a plugin engine's
    build is mostly fixed cost (the builder, the library, the check run), so the finalists build
    side by side."""
    from ..backends import get_backend
    from ..backends.base import EngineSpec, write_build_record

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


def _tune_gpu(settings: Settings, job: Job, manifest_path: Path | None, choice_path: Path) -> list[TuneRow]:  # pragma: no cover - GPU
    import pycuda.driver as cuda

    from ..backends import get_backend
    from ..device.host import quiet_host
    from ..measure.cuda_direct import DirectBench, kernel_library

    tcfg = settings.tune
    spec = job.spec
    l2_flush = settings.timing.l2_flush  # how cold is made: the one timing.* key the rule reads
    backend = get_backend("tensorrt", l2_flush)
    info = backend.device_info()
    band_list = bands(info.l2_bytes, list(tcfg.band_edges_l2))
    free, _ = cuda.mem_get_info()
    library = plugin_library_from_manifest(manifest_path, spec)
    # a 256 Ki-element check block: the float64 check of every variant at every size (a 4 Mi block
    # then) was most of the rule's 5.6 minutes on the H200 (2026-12-02); the kernel check and the
    # engines' own checks cover the numerics
    bench = (DirectBench(kernel_library(manifest_path, spec), backend.gpu, list(job.kernels),
                         StoppingRule.from_config(tcfg.timing), settings.beta, modes=("cold",),
                         block_elements=1 << 18, l2_flush=l2_flush) if job.direct else None)
    rows: list[TuneRow] = []
    tables: dict[str, list] = {}
    decided: dict[str, str] = {}
    work = choice_path.parent / "engines"
    work.mkdir(parents=True, exist_ok=True)
    log(f"tune {spec.name} on {info.device_name} (L2 {info.l2_bytes >> 20} MiB): bands "
        + ", ".join(f"<= {b.hi_bytes >> 10} KiB" if b.hi_bytes > 0 else "above" for b in band_list)
        + f"; candidates {', '.join(job.kernels)}; " + ("direct, then " if job.direct else "no direct library: ")
        + f"in engines against {job.native or 'no native twin'}")
    try:
        with quiet_host(tcfg.timing.pin_cpu):
            for dtype in tune_dtypes(settings, spec):
                item = ITEMSIZE[dtype]
                # what one inference holds (the cost model's bytes over input 0's: 2 for a unary op, more
                # for several inputs and outputs) and the flush buffer: input 0 gets 0.6 of the free memory
                # over that (a unary op 0.3, as before)
                probe = sample_shape(1 << 20, dtype, job.rows[0])
                per_input = max(2.0, moved_bytes(engine_spec(spec, "", dtype, job.rows[0], probe[0], settings.beta),
                                                 probe) / (math.prod(probe) * item))
                max_bytes = min(int(free * 0.6 / per_input), MAX_TRT_ELEMENTS * item)
                sizes = {b.index: sample_sizes(b, max_bytes) for b in band_list}
                if bench is not None:
                    for b in band_list:
                        for i, nbytes in enumerate(sizes[b.index]):
                            for k in bench.size(dtype, nbytes // item, seed=100 * b.index + i):
                                rows.append(_row("tensorrt", info.device_name, dtype, b, nbytes, k.kernel, "direct",
                                                 "cold", k.n, k.median_us, k.rse, operator=spec.name))
                    finalists = {b.index: finalists_of(rank(rows_of(rows, dtype), b.index), job.finalists, job.include)
                                 for b in band_list}
                else:  # no direct path: every candidate is timed in the engine
                    finalists = {b.index: list(job.kernels) for b in band_list}
                engine_ok = (job.native is not None and backend.support(spec.name, dtype) is None
                             and backend.support(job.native, dtype) is None)
                if engine_ok:
                    rows += engine_rows(backend, job, settings, dtype, band_list, sizes, finalists, library, work,
                                        info.device_name)
                winners, decided[dtype] = winners_of(job, rows_of(rows, dtype), band_list, finalists, engine_ok)
                if not winners:
                    log(f"tune {spec.name} {dtype}: no engine of that dtype and no direct library: the default "
                        f"kernel {job.default}")
                    continue
                tables[dtype] = choice_table(band_list, winners)
                mark_chosen(rows, dtype, winners)
                log(f"tune {spec.name} {dtype}: {tables[dtype]} (decided on the {decided[dtype]} path)")
    finally:
        if bench is not None:
            bench.flush.free()
    write_choice(choice_path, {
        "backend": "tensorrt", "operator": spec.name, "device": asdict(info), "l2_bytes": info.l2_bytes,
        "bands": [[b.lo_bytes, b.hi_bytes] for b in band_list], "tables": tables, "decided_on": decided,
        "kernels": list(job.kernels), "finalists_include": list(job.include), "native": job.native,
        "row_shapes": [list(r) for r in job.rows], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return rows


def rows_of(rows: list[TuneRow], dtype: str) -> list[TuneRow]:
    return [r for r in rows if r.dtype == dtype]
