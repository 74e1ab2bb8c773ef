"""`in-network`: is the plugin worth it in my network? (docs/in-network.md)

For one plugin operator, one neighbourhood (config in_network.blocks: a function of TensorRT layers,
neighbourhoods.py), one dtype and one size: two engines, producer -> plugin -> consumer and
producer -> native twin -> consumer (the spec's native_twin), with identical weights, timed
interleaved (the compare rule's method: one process, shared input and output buffers, the twin's
block timed twice per round as the A/A control, measure.measure_interleaved); then per layer under
TensorRT's IProfiler, and read with the engine inspector (layer information, detailed verbosity):
which layers TensorRT fused (the twin into the producer's epilogue) or inserted (reformats, copies),
and the formats at the plugin's edges. A third engine holds the plugin alone at the tensor it sees
in the block: its layer time there against its layer time in the block is the integration overhead.

On the CPU reference backend the same rule runs the block's numpy stand-in (the block's ``cpu``
function): CPU timings of numpy, no TensorRT, no fusion, no per-layer times, labelled so in every row.

The functions that read an engine's layer list (``classify_layers``, ``edge_reason``,
``fused_description``), aggregate profiler reports (``aggregate_layer_times``) and write the
sentence (``sentence``) are plain Python over recorded data, tested on the CPU (tests/test_in_network.py).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import TimingArena
from ..core import oracle as ref
from ..core.config import PROJECT_ROOT, ConfigError
from ..core.operators import default_kernel, from_ref, kernel_ids
from ..core.oracle import CheckResult
from ..core.records import InNetworkLayerRow, InNetworkRow, shape_str
from ..core.settings import InNetworkSettings, Settings, plugin_kernel
from ..core.specs import OperatorSpec, import_function, numerics_of
from ..core.stats import AA_PATTERN, StoppingRule
from ..device.gpu_state import GpuState, throttled
from ..device.host import quiet_host
from ..measure.measure import Interleaved, Plan, State, log, measure_interleaved

# the names the rule gives the operator's layers in both engines: how the engine inspector's and
# the profiler's layer names are told apart from the block's own (a fused layer's name joins them)
OP_PLUGIN = "op.plugin"
OP_TWIN = "op.twin"
OP_PREFIX = "op."
STANDIN_LABEL = "CPU stand-in (numpy): not TensorRT, no fusion, no per-layer times"
# the rows' timing_cache: the plugin's and the twin's block engines built with one builder timing cache
# (backends/trt_blocks.SharedTimingCache), so their common neighbour layers get the same tactics
SHARED_TIMING_CACHE = ("shared by the plugin and twin engines, and with the experiment's other pairs of the same plugin source (a file beside the outputs)")
NO_TIMING_CACHE = "none (CPU stand-in: no engine is built)"
WEIGHT_SEED = 20261206
INPUT_SEED = 29


# -- declarations ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """One neighbourhood of config in_network.blocks."""

    name: str
    network: str
    cpu: str | None
    sizes: dict[str, tuple[int, ...]]
    description: str = ""


def blocks_of(cfg: InNetworkSettings) -> dict[str, Block]:
    return {name: Block(name, b["network"], b.get("cpu"), {k: tuple(v) for k, v in b["sizes"].items()},
                        b.get("description", "")) for name, b in cfg.blocks.items()}


def job_key(op: str, block: str, dtype: str, size: str) -> str:
    return f"{op}__{block}__{dtype}__{size}"


def load_function(ref_: str, key: str) -> Callable:
    """``module:function`` (a module importable by name, or under the project root) or
    ``path/file.py:function`` (relative to the working directory or the project root); a failure
    names the config key."""
    module, _, name = ref_.rpartition(":")
    if module.endswith(".py"):
        path = Path(module)
        found = next((p for p in (path, PROJECT_ROOT / path) if p.is_file()), None)
        if found is None:
            raise ConfigError(f"config key '{key}': {ref_}: file {module} does not exist (relative to the working "
                              f"directory or {PROJECT_ROOT})")
        folder, module = found.parent, found.stem
    else:
        folder = PROJECT_ROOT
    try:
        return import_function(f"{module}:{name}", folder, None, key)
    except Exception as exc:  # noqa: BLE001 - the spec loader's message, under the config key
        raise ConfigError(f"config key '{key}': {exc}") from exc


def plugin_operator(op: str) -> OperatorSpec:
    spec = from_ref(op)
    if not spec.uses_plugin or spec.native_twin is None:
        raise ConfigError(f"config key 'in_network.operators': {spec.name} is not a plugin operator with a native "
                          "twin (its spec's plugin and native_twin): in_network compares a plugin with its twin")
    return spec


# -- the engine inspector's layers (TensorRT's JSON layer information) -----------------------------
def _names(layer: Mapping[str, Any]) -> list[str]:
    """The network layer names a (possibly fused) engine layer is made of."""
    name = str(layer.get("Name", ""))
    out = []
    for token in re.split(r"\s\+\s|,\s*", name):
        token = re.sub(r"^(?:\w+\()+", "", token.strip()).rstrip(")").strip()  # PWN(a, b), ForeignNode(...)
        if token:
            out.append(token)
    return out


def is_inserted(layer: Mapping[str, Any]) -> bool:
    """A layer TensorRT inserted: a reformat or a copy (not in the network definition)."""
    kind = str(layer.get("LayerType", "")).lower()
    name = str(layer.get("Name", "")).lower()
    return "reformat" in kind or kind == "copy" or "reformatting copynode" in name or name.startswith("copy")


def is_operator_name(name: str) -> bool:
    """A network layer name of the operator's: its own (OP_PREFIX), or one TensorRT made for a tensor of it, such as
    the "unsqueeze_node_after_op.twin.k0_..." that broadcasts a twin's constant (TensorRT 8.6, H100 2026-12-07)."""
    return name.startswith(OP_PREFIX) or f"_after_{OP_PREFIX}" in name


def role(layer: Mapping[str, Any]) -> str:
    """inserted (a reformat or copy), operator (only the operator's layers), fused operator (the
    operator's layers fused with a neighbour's) or neighbour."""
    if is_inserted(layer):
        return "inserted"
    names = _names(layer)
    ours = [n for n in names if is_operator_name(n)]
    if not ours:
        return "neighbour"
    return "operator" if len(ours) == len(names) else "fused operator"


def _format(tensor: Mapping[str, Any]) -> str:
    return str(tensor.get("Format/Datatype", tensor.get("Format", "?")))


def tensor_formats(layer: Mapping[str, Any], side: str) -> list[str]:
    return [_format(t) for t in layer.get(side, []) if isinstance(t, Mapping)]


def classify_layers(layers: Sequence[Any]) -> list[dict[str, Any]]:
    """The inspector's layers (dicts; a plain name string where verbosity was not detailed) with
    their role, type and edge formats."""
    out = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            layer = {"Name": str(layer)}
        out.append({"index": i, "name": str(layer.get("Name", "")), "layer_type": str(layer.get("LayerType", "")),
                    "role": role(layer), "inputs_format": "; ".join(tensor_formats(layer, "Inputs")),
                    "outputs_format": "; ".join(tensor_formats(layer, "Outputs")),
                    "tactic": str(layer.get("TacticName", "")), "raw": layer})
    return out


def _short(fmt: str) -> str:
    """'Row major linear FP16 format' -> 'linear FP16'; other formats kept, lower-cased."""
    f = fmt.strip()
    f = f[: -len(" format")] if f.endswith(" format") else f
    m = re.match(r"Row major linear (\w+)", f)
    return f"linear {m.group(1)}" if m else f


def _tensor_names(layer: Mapping[str, Any], side: str) -> set[str]:
    return {str(t.get("Name")) for t in layer.get(side, []) if isinstance(t, Mapping) and t.get("Name")}


def edge_reason(plugin_engine: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the plugin engine's layer list says about the plugin's edges: the formats it runs in, the
    reformat/copy layers TensorRT inserted around it (a layer that writes the plugin's input or reads
    its output; others, at the block's own input or output, are counted apart), between which
    formats, as a phrase."""
    layers = classify_layers(plugin_engine)
    plugin = next((c for c in layers if OP_PLUGIN in _names(c["raw"])), None)
    inserted = [c for c in layers if c["role"] == "inserted"]
    facts: dict[str, Any] = {"reformats": len(inserted), "around": 0, "plugin_in_format": "", "plugin_out_format": "",
                             "inserted": [c["name"] for c in inserted]}
    if plugin is None:
        facts["reason"] = "the engine's layer list does not name the plugin layer (inspector without detail?)"
        return facts
    facts["plugin_in_format"] = _short(plugin["inputs_format"].split("; ")[0]) if plugin["inputs_format"] else "?"
    facts["plugin_out_format"] = _short(plugin["outputs_format"].split("; ")[0]) if plugin["outputs_format"] else "?"
    ins, outs = _tensor_names(plugin["raw"], "Inputs"), _tensor_names(plugin["raw"], "Outputs")
    around = [c for c in inserted if _tensor_names(c["raw"], "Outputs") & ins or _tensor_names(c["raw"], "Inputs") & outs
              or c["name"].endswith(f" to {OP_PLUGIN}")]
    facts["around"] = len(around)
    elsewhere = len(inserted) - len(around)
    more = f" (and {elsewhere} elsewhere in the block)" if elsewhere else ""
    if not around:
        facts["reason"] = (f"TensorRT inserted no reformat or copy layer around the plugin{more}: the plugin runs in "
                           f"{facts['plugin_in_format']}, as its neighbours do")
        return facts
    moves = []
    for c in around:
        src = _short(c["inputs_format"].split("; ")[0]) if c["inputs_format"] else "?"
        dst = _short(c["outputs_format"].split("; ")[0]) if c["outputs_format"] else "?"
        moves.append(f"{src} -> {dst}")
    n = len(around)
    others = sorted(({m.split(" -> ")[0] for m in moves} | {m.split(" -> ")[1] for m in moves})
                    - {facts["plugin_in_format"], facts["plugin_out_format"]})
    because = (f"because the plugin runs in {facts['plugin_in_format']} while its neighbours chose "
               f"{', '.join(others)}" if others else f"the plugin runs in {facts['plugin_in_format']}")
    facts["reason"] = (f"TensorRT inserted {n} reformat layer{'s' if n != 1 else ''} around the plugin "
                       f"({'; '.join(moves)}){more} {because}")
    return facts


def fused_description(twin_engine: Sequence[Mapping[str, Any]]) -> str:
    """How TensorRT built the twin, from the twin engine's layer list: fused into a neighbour's
    layer (its name and type), or as layers of its own."""
    layers = classify_layers(twin_engine)
    fused = [c for c in layers if c["role"] == "fused operator"]
    if fused:
        c = fused[0]
        hosts = [n for n in _names(c["raw"]) if not is_operator_name(n)]
        return f"fused {'+'.join(hosts)}+twin ({c['layer_type'] or 'one layer'})"
    own = [c for c in layers if c["role"] == "operator"]
    if own:
        kinds = ", ".join(c["layer_type"] or c["name"] for c in own)
        return f"unfused twin ({kinds})"
    return "twin (not named in the layer list)"


# -- IProfiler reports ------------------------------------------------------------------------------
def aggregate_layer_times(reports: Iterable[Sequence[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Per layer (in first-report order), the median over the runs of its reported time in ms; a
    layer reported several times in one run (a loop) sums within the run."""
    order: list[str] = []
    per_run: list[dict[str, float]] = []
    for report in reports:
        run: dict[str, float] = {}
        for name, ms in report:
            if name not in order:
                order.append(name)
            run[name] = run.get(name, 0.0) + float(ms)
        per_run.append(run)
    return [(name, float(np.median([r.get(name, 0.0) for r in per_run]))) for name in order]


# -- rows ----------------------------------------------------------------------------------------
def sentence(block: str, shape: str, dtype: str, diff_us: float, ratio: float, twin_built_as: str, reason: str,
             backend: str) -> str:
    """summary.md's sentence for one block pair."""
    if not math.isfinite(diff_us) or not math.isfinite(ratio):
        return f"in a {block} block at {shape} {dtype}: not timed"
    pct = 100.0 * (ratio - 1.0)
    if backend == "reference":
        return (f"{STANDIN_LABEL}: in a {block} block at {shape} {dtype} the plugin's side costs {diff_us:+.1f} us "
                f"({pct:+.1f} %) against the twin's side (both the operator's numpy implementation: nothing to fuse)")
    head = (f"in a {block} block at {shape} {dtype} the plugin costs {diff_us:+.1f} us ({pct:+.1f} %) against "
            f"TensorRT's {twin_built_as}")
    return f"{head}; {reason}" if reason else head


def layer_rows(backend: str, op: str, block: str, size: str, dtype: str, engine: str,
               inspected: Sequence[Any], times: Sequence[tuple[str, float]]) -> list[InNetworkLayerRow]:
    """One row per engine layer: the inspector's layers in engine order, each with its profiler time
    (ms -> us); a profiled name the inspector does not list is added with role from its name."""
    classified = classify_layers(inspected)
    by_name = dict(times)
    rows = []
    seen = set()
    for c in classified:
        seen.add(c["name"])
        rows.append(InNetworkLayerRow(backend, op, block, size, dtype, engine, c["index"], c["name"], c["layer_type"],
                                      c["role"], 1e3 * by_name.get(c["name"], math.nan), c["inputs_format"],
                                      c["outputs_format"], c["tactic"]))
    for name, ms in times:
        if name not in seen:
            rows.append(InNetworkLayerRow(backend, op, block, size, dtype, engine, len(rows), name, "",
                                          role({"Name": name}), 1e3 * ms, "", "", ""))
    return rows


def operator_layer_us(rows: Sequence[InNetworkLayerRow]) -> float:
    """The operator's own layer time in an engine (the layers only the operator's), in us."""
    t = [r.median_us for r in rows if r.role == "operator" and math.isfinite(r.median_us)]
    return float(sum(t)) if t else math.nan


# -- the pair's output check ---------------------------------------------------------------------
def pair_check(out_plugin: np.ndarray, out_twin: np.ndarray, tolerance: float) -> CheckResult:
    """The plugin block's output against the twin block's: max |a - b| / max |b| within
    ``tolerance``, every element finite where the twin's is (an unwritten, poisoned or misformatted
    output fails)."""
    a = np.asarray(out_plugin, dtype=np.float64).ravel()
    b = np.asarray(out_twin, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return CheckResult(False, a.size, a.size, 0, math.inf, math.inf, f"output shapes differ: {a.size} vs {b.size}")
    finite = np.isfinite(b)
    bad_finite = int(np.count_nonzero(finite & ~np.isfinite(a)))
    scale = float(np.max(np.abs(b[finite]))) if finite.any() else 0.0
    diff = np.abs(a - b)[finite & np.isfinite(a)]
    err = float(diff.max()) if diff.size else 0.0
    rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
    mismatches = int(np.count_nonzero(diff > tolerance * scale)) + bad_finite
    ok = mismatches == 0 and finite.any()
    msg = (f"plugin block vs twin block: max |a-b| {err:.3g} = {rel:.3g} of max |twin| {scale:.3g} "
           f"(tolerance {tolerance:g}); {bad_finite} non-finite where the twin is finite")
    return CheckResult(bool(ok), int(a.size), mismatches, bad_finite, err, rel, msg)


# -- the CPU stand-in ----------------------------------------------------------------------------
class StandinBlock:
    """A block computed in numpy (the block's cpu function) with the operator's CPU implementation
    in place of both the plugin and the twin: CPU timings, no TensorRT."""

    start = "cpu"

    def __init__(self, fn: Callable, op_spec: OperatorSpec, dtype: str, beta: float, x: np.ndarray) -> None:
        self.fn, self.dtype, self.x = fn, dtype, x
        math_ = ref_numerics(op_spec)
        self.operator = lambda t: ref.compute_float32(math_, ref.to_device_dtype(t, dtype), dtype, beta).astype(t.dtype)
        self.check: CheckResult | None = None

    def run(self) -> np.ndarray:
        return self.fn(self.x, self.dtype, self.operator, np.random.default_rng(WEIGHT_SEED))

    def timer(self, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
              arena: TimingArena | None = None) -> StandinTimer:
        return StandinTimer(self)


def ref_numerics(op_spec: OperatorSpec) -> ref.Numerics:
    return numerics_of(op_spec)


class StandinTimer:
    start = "cpu"

    def __init__(self, block: StandinBlock) -> None:
        self.block = block

    def __enter__(self) -> StandinTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def sample(self) -> tuple[float, float]:
        t0 = time.perf_counter()
        self.block.run()
        dt = time.perf_counter() - t0
        return dt, dt

    def verify(self) -> CheckResult:
        assert self.block.check is not None
        return self.block.check


def block_input(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """The block's input: standard normal, no edge values (an inf or NaN would spread through the
    block's convolutions to every output)."""
    return ref.to_device_dtype(np.random.default_rng(INPUT_SEED).standard_normal(shape).astype(np.float32), dtype)


# -- the job -------------------------------------------------------------------------------------
@dataclass
class Job:
    op: str
    block: Block
    dtype: str
    size: str
    shape: tuple[int, ...] = field(default=())


def _rule(cfg: InNetworkSettings, settings: Settings, cap: float | None) -> StoppingRule:
    budget = cfg.max_time_s if cap is None else min(cfg.max_time_s, cap)
    return replace(StoppingRule.from_config(settings.timing), target_rse=cfg.target_rse, max_time_s=budget)


def _pair_row(m: Interleaved, backend: str, label: str, device: str, clock: str, job: Job, op_spec: OperatorSpec,
              twin: str, op_shape: tuple[int, ...], check: CheckResult, extra: dict[str, Any]) -> InNetworkRow:
    sp, st = m.summaries[0], m.summaries[1]
    ratio = sp.median / st.median if st.median > 0 else math.nan
    ratio_se = ratio * math.sqrt((sp.median_se / sp.median) ** 2 + (st.median_se / st.median) ** 2) \
        if sp.median > 0 and st.median > 0 else math.nan
    ctl = m.control_summary
    cr = ctl.median / st.median if ctl is not None and st.median > 0 else math.nan
    cr_se = cr * math.sqrt((ctl.median_se / ctl.median) ** 2 + (st.median_se / st.median) ** 2) \
        if ctl is not None and ctl.median > 0 and st.median > 0 else math.nan
    diff = 1e6 * (sp.median - st.median)
    before: GpuState = m.before
    shape = shape_str(job.shape)
    built_as = extra.get("twin_built_as", "twin (CPU stand-in)")
    reason = extra.get("reason", "")
    return InNetworkRow(
        backend, label, device, op_spec.name, twin, job.block.name, job.size, job.dtype, shape, shape_str(op_shape),
        int(np.prod(job.shape, dtype=np.int64)), m.states[0].mode, m.start, len(m.samples[0]),
        1e6 * sp.median, 1e6 * st.median, 1e6 * sp.median_se, 1e6 * st.median_se, ratio, ratio_se, diff, cr, cr_se,
        m.reason, bool(check.ok), check.message, bool(throttled(m.before, m.after)), int(before.sm_clock_mhz), clock,
        extra.get("plugin_layer_us", math.nan), extra.get("plugin_alone_us", math.nan),
        extra.get("plugin_layer_us", math.nan) - extra.get("plugin_alone_us", math.nan),
        int(extra.get("plugin_engine_layers", 0)), int(extra.get("twin_engine_layers", 0)),
        int(extra.get("reformats_plugin", 0)), int(extra.get("reformats_twin", 0)),
        extra.get("plugin_in_format", ""), extra.get("plugin_out_format", ""), built_as, reason,
        sentence(job.block.name, shape, job.dtype, diff, ratio, built_as, reason, backend),
        timing_cache=extra.get("timing_cache", NO_TIMING_CACHE))


@dataclass(frozen=True)
class Prepared:
    """A job resolved from the settings: the block, the plugin's spec, its twin's name, the tolerance."""

    job: Job
    op_spec: OperatorSpec
    twin: str
    tolerance: float


def prepare_job(settings: Settings, op: str, block_name: str, dtype: str, size: str) -> Prepared:
    """The in_network job of (op, block, dtype, size), every name checked against the config."""
    cfg = settings.in_network
    blocks = blocks_of(cfg)
    if block_name not in blocks:
        raise ConfigError(f"config key 'in_network.blocks': no block {block_name!r}; allowed: {', '.join(blocks)}")
    block = blocks[block_name]
    if size not in block.sizes:
        raise ConfigError(f"config key 'in_network.blocks.{block_name}.sizes': no size {size!r}; allowed: "
                          f"{', '.join(block.sizes)}")
    op_spec = plugin_operator(op)
    twin = op_spec.native_operator or f"{op_spec.name}_native"
    return Prepared(Job(op, block, dtype, size, block.sizes[size]), op_spec, twin, float(cfg.tolerance[dtype]))


def plugin_kernel_of(op_spec: OperatorSpec, settings: Settings, dtype: str) -> str:
    """The kernel the plugin runs in the block: config plugin_kernel for its dtype, the spec's
    default where that is auto (the tune rule's table is per profile size band, not per block) or
    names a kernel this operator's variants do not have (plugin_kernel names one operator's kernels)."""
    if op_spec.kernel != "optimised":
        return op_spec.kernel or ""
    default = default_kernel(op_spec)
    chosen = plugin_kernel(op_spec.name, settings, dtype) if settings.handed("plugin_kernel") else "auto"
    if chosen == "auto":
        return default
    if chosen not in kernel_ids(op_spec):
        log(f"{op_spec.name}: plugin_kernel {chosen!r} is not one of its kernel variants; its default {default!r} runs")
        return default
    return chosen


def run_standin(settings: Settings, prepared: Prepared) -> tuple[list[InNetworkRow], list[InNetworkLayerRow], dict]:
    """The job on the CPU reference backend: the block's numpy stand-in (see StandinBlock)."""
    from ..backends import get_backend

    job, op_spec, twin, tolerance = prepared.job, prepared.op_spec, prepared.twin, prepared.tolerance
    backend = get_backend("reference", "clean", settings.reference if settings.handed("reference") else None)
    limit = backend.max_elements
    n = int(np.prod(job.shape, dtype=np.int64))
    if limit is not None and n > limit:
        log(f"{job.block.name} {shape_str(job.shape)}: {n} elements > reference.max_elements {limit}: left out on the "
            "CPU stand-in")
        return [], [], {"skipped": f"{n} elements > reference.max_elements {limit}"}
    if job.block.cpu is None:
        log(f"block {job.block.name} has no cpu stand-in (config in_network.blocks.{job.block.name}.cpu): left out")
        return [], [], {"skipped": "no cpu stand-in"}
    fn = load_function(job.block.cpu, f"in_network.blocks.{job.block.name}.cpu")
    x = block_input(job.shape, job.dtype)
    a = StandinBlock(fn, op_spec, job.dtype, settings.beta, x)
    b = StandinBlock(fn, op_spec, job.dtype, settings.beta, x)
    check = pair_check(a.run(), b.run(), tolerance)
    a.check = b.check = check
    seen: list[tuple[int, ...]] = []
    probe = StandinBlock(fn, op_spec, job.dtype, settings.beta, x)
    probe.operator = (lambda inner: (lambda t: (seen.append(tuple(t.shape)), inner(t))[1]))(probe.operator)
    probe.run()
    op_shape = seen[0] if seen else ()
    cfg = settings.in_network
    rule = _rule(cfg, settings, backend.max_time_s)
    plan = Plan(lambda s, arena: s.source.timer(s.shape, s.mode, s.seed, 0), rule)
    states = [State(name, job.dtype, job.size, job.shape, "warm", 0, INPUT_SEED, source=blk)
              for name, blk in ((op_spec.name, a), (twin, b))]
    info = backend.device_info()
    with quiet_host(False):
        m = measure_interleaved(states, plan, control=True, pattern=AA_PATTERN)
    assert m is not None
    row = _pair_row(m, backend.name, STANDIN_LABEL, info.device_name, backend.timing_clock, job, op_spec, twin,
                    op_shape, check, {})
    log(row.sentence)
    return [row], [], {"backend": "reference", "label": STANDIN_LABEL, "engines": {}}


def layer_times_note(backend: str) -> str:
    return "" if backend == "tensorrt" else "no per-layer times on the CPU stand-in"


__all__ = ["NO_TIMING_CACHE", "OP_PLUGIN", "OP_PREFIX", "OP_TWIN", "SHARED_TIMING_CACHE", "STANDIN_LABEL", "Block",
           "InNetworkLayerRow", "InNetworkRow",
           "aggregate_layer_times", "block_input", "blocks_of", "classify_layers", "edge_reason", "fused_description",
           "job_key", "layer_rows", "load_function", "operator_layer_us", "pair_check",
           "plugin_operator", "prepare_job", "role", "run_standin", "sentence"]
