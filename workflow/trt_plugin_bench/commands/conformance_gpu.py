"""The conformance checks' GPU side: one check per fresh process (conformance.run_child starts it).

    python -m trt_plugin_bench.commands.conformance_gpu <mode> '<payload json>'

Modes: load (one way of loading the library, check 5), build (the small conformance engine, two
identical optimization profiles), graph (1), profiles (2), clones (3), fresh (4), v2v3 (6). Each
prints one line, conformance.RESULT_PREFIX + JSON; an exception prints {"error": ...} the same way;
a crash prints nothing, which the parent reports as the crash it is. Imports tensorrt and pycuda.
"""

from __future__ import annotations

import ctypes
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pycuda.driver as cuda
import tensorrt as trt

from ..backends import tensorrt_backend as tb
from ..backends.base import EngineSpec, combine_checks
from ..backends.trt_network import dynamic_input_profiles
from ..core import oracle as ref
from ..core.operators import from_ref
from ..core.specs import OperatorSpec, aux_arrays, input0_generator, numerics_of
from ..device.cuda_utils import CudaGraph, DeviceBuffer, GpuContext, StreamBlocker, set_pattern, upload
from .conformance import (
    PROFILE_MAX,
    PROFILE_OPT,
    PROFILES_PER_ENGINE,
    RESULT_PREFIX,
    Target,
    engine_spec,
    fit_shape,
)

OUTPUT_CAPACITY = int(np.prod(PROFILE_MAX))  # every context's buffers hold the profile's max
# runtimes live until the process ends: every engine (a mode's local) is gone before its runtime
_RUNTIMES: list = []


def _target(payload: dict) -> Target:
    return Target(**payload["target"])


def _operator(t: Target) -> OperatorSpec:
    """The target's operator, from its spec (a name in ops/, or an external spec file)."""
    return from_ref(t.spec or t.operator)


def _spec(t: Target, implementation: str | None = None) -> EngineSpec:
    return engine_spec(t, implementation)  # an external spec's file named: this process finds the operator


def _creator_counts(names: list[tuple[str, str]], namespace: str) -> dict[str, int]:
    registry = trt.get_plugin_registry()
    creators = list(getattr(registry, "all_creators", None) or registry.plugin_creator_list)
    found = [(c.name, c.plugin_version, c.plugin_namespace) for c in creators]
    return {f"{n} v{v}": found.count((n, v, namespace)) for n, v in names}


def _expected_creators(t: Target) -> list[tuple[str, str]]:
    return t.expected_creators(tb.TRT_MAJOR)


def load_plugin(t: Target) -> str:
    """For checks 1-4 and 6: the library loaded as the backend does (a plain dlopen, then the
    spec's plugin.init function where that registered nothing); never load_library. How it went."""
    if t.library is None:
        return "no plugin"
    handle = ctypes.CDLL(t.library, mode=ctypes.RTLD_GLOBAL)
    if all(_creator_counts(_expected_creators(t), t.plugin_namespace).values()):
        return "dlopen registered the creators"
    if not t.plugin_init:
        raise RuntimeError(f"{t.library}: dlopen registered none of {_expected_creators(t)} and the spec names no "
                           "plugin.init function")
    init = getattr(handle, t.plugin_init)
    init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
    returned = init(t.plugin_namespace.encode())
    if not all(_creator_counts(_expected_creators(t), t.plugin_namespace).values()):
        raise RuntimeError(f"{t.library}: neither dlopen nor {t.plugin_init} (returned {returned}) registered "
                           f"{_expected_creators(t)}")
    return f"{t.plugin_init} registered the creators (returned {returned})"


# -- check 5 ---------------------------------------------------------------------------------------
def mode_load(payload: dict) -> dict:
    t, way = _target(payload), payload["way"]
    logger = tb.process_logger()
    runtime = trt.Runtime(logger)  # TensorRT's global logger: the registry logs its refusals here
    names = _expected_creators(t)
    before = _creator_counts(names, t.plugin_namespace)
    result: dict = {"way": way, "before": before, "unusable": None}
    if any(before.values()):
        return {**result, "error": f"registered before loading: {before}"}
    if way == "dlopen":
        ctypes.CDLL(t.library)  # what trtexec --plugins, Polygraphy --plugins and plain ctypes users do
    elif way == "init":
        registry = trt.get_plugin_registry()
        n_before = len(registry.plugin_creator_list)  # before the load: a library may register when loaded
        handle = ctypes.CDLL(t.library)
        init = getattr(handle, str(t.plugin_init))
        init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
        result["returned"] = int(init(t.plugin_namespace.encode()))
        # the count it returns is of every creator it registered: a library of several operators
        # registers them all (the spec's among them, checked below), so the registry's growth is the truth
        registered = len(registry.plugin_creator_list) - n_before
        result["registered"] = registered
        if result["returned"] != registered:
            result["error"] = (f"{t.plugin_init} returned {result['returned']}, but the registry gained {registered} "
                               "creators")
    elif way == "load_library":
        unusable = tb.load_library_unusable(trt.__version__, tb._nvinfer_library_version())
        if unusable:
            return {**result, "unusable": unusable}
        handle = trt.get_plugin_registry().load_library(t.library)
        result["handle"] = repr(handle)
    else:
        raise ValueError(f"unknown way {way!r}; allowed values: dlopen, load_library, init")
    result["counts"] = _creator_counts(names, t.plugin_namespace)
    result["log"] = list(logger.messages)
    del runtime
    return result


# -- engines and contexts --------------------------------------------------------------------------
def _build(t: Target, path: Path, implementation: str | None = None) -> dict:
    logger = tb.process_logger()
    builder = trt.Builder(logger)
    strongly_typed = tb.TRT_MAJOR >= 10
    network = builder.create_network(tb.network_flags(strongly_typed))
    keep: list = []
    spec = _spec(t, implementation)
    tb.populate_network(network, spec, False, keep, t.plugin_name, t.plugin_namespace)
    config = builder.create_builder_config()
    config.set_tactic_sources(tb.tactic_sources_without_libraries())
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 64 << 20)
    for _ in range(PROFILES_PER_ENGINE):
        profile = builder.create_optimization_profile()
        for name, lo, opt, hi in dynamic_input_profiles(_operator(t), spec):  # input 0 and the others' shape rules
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        return {"error": f"TensorRT did not build it: {logger.errors()}"}
    Path(path).write_bytes(bytes(serialized))
    return {"engine": str(path), "build_s": time.perf_counter() - t0, "profiles": PROFILES_PER_ENGINE}


def mode_build(payload: dict) -> dict:
    t = _target(payload)
    loaded = load_plugin(t)
    return {**_build(t, Path(payload["engine"])), "loaded": loaded}


class Context:
    """One execution context on its own profile and non-blocking stream, with max-sized buffers for
    every input and every output of the engine (bound by name)."""

    def __init__(self, engine: trt.ICudaEngine, profile: int, logger: tb.CapturingLogger):
        self.logger = logger
        self.engine = engine
        self.context = engine.create_execution_context()
        if self.context is None:
            raise RuntimeError(f"create_execution_context failed: {logger.errors()}")
        self.stream = cuda.Stream(flags=tb.NON_BLOCKING)
        if not self.context.set_optimization_profile_async(profile, self.stream.handle):
            raise RuntimeError(f"set_optimization_profile_async({profile}) failed: {logger.errors()}")
        self.names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self.inputs = [n for n in self.names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in self.names if engine.get_tensor_mode(n) != trt.TensorIOMode.INPUT]
        # every tensor at most the profile's max of input 0 (an output or another input is no larger)
        self.buffers = {n: DeviceBuffer(OUTPUT_CAPACITY * 4) for n in self.names}
        self.shape: tuple[int, ...] = ()
        self.x: np.ndarray | None = None

    @property
    def d_in(self) -> DeviceBuffer:
        return self.buffers[tb.INPUT]

    @property
    def d_out(self) -> DeviceBuffer:
        return self.buffers[tb.OUTPUT]

    def prepare(self, shape: tuple[int, ...], t: Target, seed: int) -> None:
        """Input 0 at ``shape`` (fit to the operator: fit_shape) of target ``t``'s dtype, drawn with
        its operator's generator (the spec's); the other inputs the spec's values (specs.aux_arrays)."""
        dtype = t.dtype
        op = _operator(t)
        self.generator = input0_generator(op)  # every edge value of input 0 meets each of the others'
        self.shape = fit_shape(op, shape)
        shapes = op.input_shapes(self.shape)
        others = [a for a, _ in aux_arrays(op, self.shape, dtype)[: len(op.inputs) - 1]]
        names = [tb.INPUT, *(i.name for i in op.inputs[1:])]
        if sorted(names) != sorted(self.inputs):
            raise RuntimeError(f"the engine's inputs {self.inputs} are not the spec's {names}")
        for name, s in zip(names, shapes):
            if any(d < 0 for d in self.engine.get_tensor_shape(name)) and not self.context.set_input_shape(name, s):
                raise RuntimeError(f"set_input_shape({name}, {list(s)}) refused: {self.logger.errors()}")
        for name, buf in self.buffers.items():
            if not self.context.set_tensor_address(name, buf.ptr):
                raise RuntimeError(f"set_tensor_address({name}) failed: {self.logger.errors()}")
        self.x = ref.random_input(self.shape, dtype, seed, generator=self.generator)  # the spec's values
        for name, a in zip(names, [self.x, *others]):
            upload(self.buffers[name].ptr, a)  # landed before the non-blocking stream's work

    def poison(self, dtype: str) -> None:
        for name in self.outputs:
            set_pattern(self.buffers[name], ref.poison((1,), dtype), self.stream)

    def enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"execute_async_v3 failed: {self.logger.errors()}")

    def outputs_all(self) -> list[np.ndarray]:
        """Every output in the spec's order (output 0 OUTPUT, the others by their names)."""
        self.stream.synchronize()
        outs = []
        for name in [tb.OUTPUT, *(n for n in self.outputs if n != tb.OUTPUT)]:
            out = np.empty(tuple(self.context.get_tensor_shape(name)), dtype=self.x.dtype)
            if out.size:
                cuda.memcpy_dtoh(out, self.buffers[name].ptr)
            outs.append(out)
        return outs

    def output(self) -> np.ndarray:
        """Every output's bytes, output 0 first, flat (what two engines are compared by, bit for bit)."""
        outs = self.outputs_all()
        return outs[0] if len(outs) == 1 else np.concatenate([o.reshape(-1) for o in outs])

    def check(self, t: Target, what: str) -> dict:
        op = _operator(t)
        num = numerics_of(op)
        expected = op.output_shapes(self.shape)
        outs = self.outputs_all()
        order = [tb.OUTPUT, *op.outputs[1:]]
        got_order = [tb.OUTPUT, *(n for n in self.outputs if n != tb.OUTPUT)]
        if got_order != order and sorted(got_order) == sorted(order):
            outs = [outs[got_order.index(n)] for n in order]
        results = [ref.check_output(y, self.x, num, t.dtype, t.beta, expected_shape=s,
                                    tensorrt_layers=t.implementation == "native", output=j)
                   for j, (y, s) in enumerate(zip(outs, expected))]
        result = combine_checks(results)
        return {"what": what, "ok": bool(result.ok) and len(outs) == len(expected), "message": result.message}

    def close(self) -> None:
        self.stream.synchronize()
        for buf in self.buffers.values():
            buf.free()
        self.context = None  # the last reference: TensorRT destroys the context (and its plugin clones)


def _engine(t: Target, payload: dict) -> tuple[trt.ICudaEngine, tb.CapturingLogger, GpuContext]:
    gpu = GpuContext(0)
    load_plugin(t)
    logger = tb.process_logger()
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(Path(payload["engine"]).read_bytes())
    if engine is None:
        raise RuntimeError(f"the conformance engine did not deserialize: {logger.errors()}")
    _RUNTIMES.append(runtime)
    return engine, logger, gpu


def _shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(d) for d in shape)


# -- check 1 ---------------------------------------------------------------------------------------
def mode_graph(payload: dict) -> dict:
    t = _target(payload)
    engine, logger, gpu = _engine(t, payload)
    ctx = Context(engine, 0, logger)
    shape = tuple(payload["shape"])
    ctx.prepare(shape, t, payload["seed"])
    ctx.enqueue()  # TensorRT wants one enqueue after a shape change before a capture
    ctx.stream.synchronize()
    result: dict = {}
    # an enqueue onto a held stream: returns at once unless it waits for the stream
    blocker = StreamBlocker(gpu, timeout_s=float(payload["blocker_hold_s"]))
    ctx.poison(t.dtype)
    blocker.block(ctx.stream)
    t0 = time.perf_counter()
    try:
        ctx.enqueue()
    finally:
        result["blocked_enqueue_s"] = time.perf_counter() - t0
        blocker.release()
    ctx.stream.synchronize()
    result["blocker_timed_out"] = blocker.timed_out
    checked = ctx.check(t, f"held-stream enqueue {_shape_text(shape)}")
    result["blocked_outputs_ok"], result["blocked_message"] = checked["ok"], checked["message"]
    # capture in the global mode (cuda_utils.CudaGraph), replay twice, outputs right each time
    outputs = []
    try:
        graph = CudaGraph(gpu, ctx.stream, ctx.enqueue)
    except Exception as exc:  # a synchronizing or allocating enqueue invalidates the capture
        result["capture_error"] = f"{type(exc).__name__}: {exc}"
        ctx.stream.synchronize()
    else:
        try:
            for replay in range(2):
                ctx.poison(t.dtype)
                graph.launch()
                outputs.append(ctx.check(t, f"replay {replay + 1} {_shape_text(shape)}"))
        finally:
            graph.close()
    result["graph_outputs"] = outputs
    try:
        ctx.close()
    except Exception as exc:  # what went wrong is in the result already; keep it
        result["close_error"] = f"{type(exc).__name__}: {exc}"
    return result


# -- check 2 ---------------------------------------------------------------------------------------
def mode_profiles(payload: dict) -> dict:
    """Context i on profile i at shapes[i], all alive at once; two rounds, each enqueueing every
    context in turn on its own stream (so they run side by side); the last round's outputs checked."""
    t = _target(payload)
    engine, logger, _ = _engine(t, payload)
    shapes = [tuple(s) for s in payload["shapes"]]
    if engine.num_optimization_profiles < len(shapes):
        raise RuntimeError(f"the engine has {engine.num_optimization_profiles} profiles, {len(shapes)} needed")
    contexts = [Context(engine, i, logger) for i in range(len(shapes))]
    for i, (ctx, shape) in enumerate(zip(contexts, shapes)):
        ctx.prepare(shape, t, payload["seed"] + i)
    for _ in range(2):
        for ctx in contexts:
            ctx.poison(t.dtype)
        for ctx in contexts:
            ctx.enqueue()
    outputs = [ctx.check(t, f"profile {i} at {_shape_text(s)}") for i, (ctx, s) in enumerate(zip(contexts, shapes))]
    for ctx in contexts:
        ctx.close()
    return {"contexts": len(contexts), "profiles": list(range(len(contexts))), "outputs": outputs}


# -- check 3 ---------------------------------------------------------------------------------------
def mode_clones(payload: dict) -> dict:
    """Contexts A (profile 0) and B (profile 1) at one shape, both run; B destroyed; A runs again."""
    t = _target(payload)
    engine, logger, _ = _engine(t, payload)
    shape = tuple(payload["shape"])
    a = Context(engine, 0, logger)
    a.prepare(shape, t, payload["seed"])
    a.poison(t.dtype)
    a.enqueue()
    outputs = [a.check(t, "A before B")]
    b = Context(engine, 1, logger)
    b.prepare(shape, t, payload["seed"] + 1)
    b.poison(t.dtype)
    b.enqueue()
    outputs.append(b.check(t, "B"))
    b.close()
    del b
    a.poison(t.dtype)
    a.enqueue()
    outputs.append(a.check(t, "A after B was destroyed"))
    a.close()
    return {"outputs": outputs}


# -- check 4 ---------------------------------------------------------------------------------------
def mode_fresh(payload: dict) -> dict:
    t = _target(payload)
    engine, logger, _ = _engine(t, payload)
    ctx = Context(engine, 0, logger)
    outputs = []
    for i, shape in enumerate(tuple(s) for s in payload["shapes"]):
        if shape == tuple(PROFILE_OPT):
            raise ValueError(f"check 4 runs at shapes other than opt {PROFILE_OPT}")
        ctx.prepare(shape, t, payload["seed"] + i)
        ctx.poison(t.dtype)
        ctx.enqueue()
        outputs.append(ctx.check(t, _shape_text(shape)))
    ctx.close()
    return {"outputs": outputs}


# -- check 6 ---------------------------------------------------------------------------------------
def mode_v2v3(payload: dict) -> dict:
    """Build the other implementation's engine, run both at the shapes, compare bit for bit."""
    t = _target(payload)
    other = "plugin_v3" if t.implementation == "plugin_v2" else "plugin_v2"
    other_path = Path(payload["workdir"]) / f"{t.label}.{other}.engine"
    load_plugin(t)
    built = _build(t, other_path, other)
    if built.get("error"):
        return {"error": f"the {other} engine: {built['error']}"}
    gpu = GpuContext(0)
    logger = tb.process_logger()
    runtime = trt.Runtime(logger)
    _RUNTIMES.append(runtime)
    engines = {name: runtime.deserialize_cuda_engine(Path(p).read_bytes())
               for name, p in ((t.implementation, payload["engine"]), (other, other_path))}
    missing = [name for name, engine in engines.items() if engine is None]
    if missing:
        return {"error": f"the {', '.join(missing)} engine did not deserialize: {logger.errors()}"}
    differing, shapes = [], []
    # one context per engine for every shape: destroying a context is check 3's business, not this one's
    contexts = {name: Context(engine, 0, logger) for name, engine in engines.items()}
    for i, shape in enumerate(tuple(s) for s in payload["shapes"]):
        outs = {}
        for name, ctx in contexts.items():
            ctx.prepare(shape, t, payload["seed"] + i)
            ctx.poison(t.dtype)
            ctx.enqueue()
            outs[name] = ctx.output()
        a, b = outs.values()
        shapes.append(_shape_text(shape))
        if a.tobytes() != b.tobytes():
            differing.append(f"{_shape_text(shape)}: {int(np.count_nonzero(a.view(np.uint8) != b.view(np.uint8)))} bytes")
    for ctx in contexts.values():
        ctx.close()
    del contexts, engines, gpu
    return {"shapes": shapes, "differing": differing}


MODES = {"load": mode_load, "build": mode_build, "graph": mode_graph, "profiles": mode_profiles,
         "clones": mode_clones, "fresh": mode_fresh, "v2v3": mode_v2v3}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in MODES:
        print(f"usage: python -m trt_plugin_bench.commands.conformance_gpu {{{','.join(MODES)}}} '<payload json>'", file=sys.stderr)
        return 2
    tb.process_logger().echo = False  # the check reads TensorRT's words from the report, not from stderr
    try:
        result = MODES[argv[0]](json.loads(argv[1]))
    except Exception as exc:  # an exception is a FAIL with its reason; a crash prints nothing
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
