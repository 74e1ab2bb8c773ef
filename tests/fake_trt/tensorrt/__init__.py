"""A stand-in for the tensorrt module (tests only): what trt_network needs to build a network
description, recorded instead of built (tests/test_trt_network.py), and an engine and execution
contexts that run on the CPU through the stand-in pycuda (fake_trt/pycuda: "device" memory is host
memory) with TensorRT 8.6's name-based API (tests/test_trt_runtime_multi.py); a builder whose "build"
times each layer's tactics unless its builder config's timing cache already holds that layer's
signature, as TensorRT's does (tests/test_in_network.py: BUILDS). Imported in a subprocess."""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from enum import Enum

import numpy as np

__version__ = "10.0.0"
float32, float16, bfloat16 = "float32", "float16", "bfloat16"


class ILogger:
    class Severity(Enum):
        ERROR = 1
        WARNING = 2

    def __init__(self) -> None:
        pass


class NetworkDefinitionCreationFlag:
    __members__ = {"STRONGLY_TYPED": 1}


class ElementWiseOperation(Enum):
    SUM = "sum"
    PROD = "prod"


class ReduceOperation(Enum):
    SUM = "sum"


class ActivationType(Enum):
    SIGMOID = "sigmoid"
    RELU = "relu"
    TANH = "tanh"


class MatrixOperation(Enum):
    NONE = "none"


class PluginFieldType(Enum):
    FLOAT32 = "f32"
    INT32 = "i32"


class TensorRTPhase(Enum):
    BUILD = "build"


class PluginField:
    def __init__(self, name: str, data: object, kind: object) -> None:
        self.name, self.data, self.type = name, data, kind


class PluginFieldCollection(list):
    pass


class Weights:
    def __init__(self, array: object) -> None:
        self.array = array


class Tensor:
    def __init__(self, name: str, shape: tuple, dtype: str = "") -> None:
        self.name, self.shape, self.dtype = name, tuple(shape), dtype


class Layer:
    def __init__(self, kind: str, inputs: list, outputs: list[Tensor], **extra: object) -> None:
        self.kind, self.inputs, self.outputs, self.extra = kind, inputs, outputs, extra
        self.num_outputs = len(outputs)

    def get_output(self, i: int) -> Tensor:
        return self.outputs[i]

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name == "reshape_dims":  # a shuffle's output takes its reshape
            self.outputs[0].shape = tuple(value)  # type: ignore[arg-type]

    def set_output_type(self, i: int, dtype: str) -> None:
        self.outputs[i].dtype = dtype


class Network:
    def __init__(self) -> None:
        self.inputs: list[Tensor] = []
        self.layers: list[Layer] = []
        self.marked: list[Tensor] = []

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def get_layer(self, index: int) -> Layer:
        return self.layers[index]

    def _layer(self, kind: str, inputs: list, shapes: list[tuple], **extra: object) -> Layer:
        layer = Layer(kind, inputs, [Tensor(f"{kind}{len(self.layers)}_{i}", s) for i, s in enumerate(shapes)], **extra)
        self.layers.append(layer)
        return layer

    def add_input(self, name: str, dtype: str, dims: list) -> Tensor:
        t = Tensor(name, tuple(dims), dtype)
        self.inputs.append(t)
        return t

    def add_constant(self, shape: tuple, weights: Weights) -> Layer:
        return self._layer("constant", [], [tuple(shape)], weights=weights)

    def add_cast(self, t: Tensor, dtype: str) -> Layer:
        return self._layer("cast", [t], [t.shape])

    def add_elementwise(self, a: Tensor, b: Tensor, op: ElementWiseOperation) -> Layer:
        return self._layer("elementwise", [a, b], [tuple(y if x == 1 else x for x, y in zip(a.shape, b.shape))], op=op)

    def add_shuffle(self, t: Tensor) -> Layer:
        return self._layer("shuffle", [t], [t.shape])

    def add_normalization(self, x: Tensor, scale: Tensor, bias: Tensor, axes: int) -> Layer:
        return self._layer("normalization", [x, scale, bias], [x.shape], axes=axes)

    def add_reduce(self, t: Tensor, op: ReduceOperation, axes: int, keep_dims: bool) -> Layer:
        return self._layer("reduce", [t], [t.shape[:-1]], axes=axes)

    def add_convolution_nd(self, x: Tensor, out_channels: int, kernel: tuple, w: Weights, b: Weights) -> Layer:
        """'same' padding assumed (the blocks set padding_nd = k // 2): spatial dims kept."""
        return self._layer("convolution", [x], [(x.shape[0], out_channels, *x.shape[2:])], kernel=tuple(kernel),
                           weights=w, bias=b)

    def add_matrix_multiply(self, a: Tensor, op_a: MatrixOperation, b: Tensor, op_b: MatrixOperation) -> Layer:
        return self._layer("matrix_multiply", [a, b], [(*a.shape[:-1], b.shape[-1])])

    def add_activation(self, t: Tensor, kind: ActivationType) -> Layer:
        return self._layer("activation", [t], [t.shape], activation=kind)

    def add_plugin_v2(self, tensors: list, plugin: object) -> Layer:
        return self._layer("plugin_v2", list(tensors), [t.shape for t in tensors[:1]] * getattr(plugin, "outputs", 1))

    def mark_output(self, t: Tensor) -> None:
        self.marked.append(t)


class _Creator:
    field_names: list = []

    def __init__(self, name: str) -> None:
        self.name = name

    def create_plugin(self, name: str, fields: PluginFieldCollection, *phase: object) -> object:
        return type("Plugin", (), {"name": name, "fields": fields, "outputs": 1})()


class _Registry:
    def get_creator(self, name: str, version: str, namespace: str) -> _Creator:
        return _Creator(name)


def get_plugin_registry() -> _Registry:
    return _Registry()


# -- runtime: an engine of named I/O tensors and its execution contexts (TensorRT 8.6's name-based API)
class TensorIOMode(Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


def nptype(dtype: str) -> type:
    return {"float32": np.float32, "float16": np.float16}[dtype]


class FakeEngine:
    """An ICudaEngine stand-in. ``io``: (name, TensorIOMode, dtype, dims with -1 where dynamic) per
    tensor; ``profile``: {input name: (min, opt, max)}; ``output_shapes(input shapes by name)`` and
    ``compute(input arrays by name)`` give each output's shape and values (by name). A context
    refuses to run unless every dynamic input has its shape and every tensor its address, and reads
    its inputs from (and writes its outputs to) the addresses bound, as TensorRT does."""

    def __init__(self, io: list, profile: dict, output_shapes: Callable, compute: Callable, profiles: int = 1) -> None:
        self.io, self.profile, self.output_shapes, self.compute = io, profile, output_shapes, compute
        self.num_optimization_profiles = profiles
        self.contexts_created = 0
        self.executions = 0

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def _entry(self, name: str) -> tuple:
        for entry in self.io:
            if entry[0] == name:
                return entry
        raise KeyError(f"fake engine: no tensor {name!r}")

    def get_tensor_name(self, i: int) -> str:
        return self.io[i][0]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return self._entry(name)[1]

    def get_tensor_dtype(self, name: str) -> str:
        return self._entry(name)[2]

    def get_tensor_shape(self, name: str) -> tuple:
        return tuple(self._entry(name)[3])

    def get_tensor_profile_shape(self, name: str, profile: int) -> tuple:
        return self.profile[name]

    def create_execution_context(self) -> FakeContext:
        self.contexts_created += 1
        return FakeContext(self)


class FakeContext:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.shapes: dict[str, tuple] = {}
        self.addresses: dict[str, int] = {}
        self.profile: int | None = None

    def set_optimization_profile_async(self, index: int, stream: int) -> bool:
        self.profile = index
        return 0 <= index < self.engine.num_optimization_profiles

    def set_input_shape(self, name: str, shape: tuple) -> bool:
        lo, _, hi = self.engine.profile[name]
        shape = tuple(shape)
        if len(shape) != len(lo) or any(not a <= d <= b for a, d, b in zip(lo, shape, hi)):
            return False
        self.shapes[name] = shape
        return True

    def _input_shapes(self) -> dict[str, tuple] | None:
        out = {}
        for name, mode, _, dims in self.engine.io:
            if mode is TensorIOMode.INPUT:
                shape = tuple(dims) if all(d >= 0 for d in dims) else self.shapes.get(name)
                if shape is None:
                    return None
                out[name] = shape
        return out

    def get_tensor_shape(self, name: str) -> tuple:
        entry = self.engine._entry(name)
        shapes = self._input_shapes()
        if entry[1] is TensorIOMode.INPUT:
            return shapes[name] if shapes and name in shapes else tuple(entry[3])
        if shapes is None:
            return tuple(entry[3])  # still dynamic: an input's shape is unset
        return tuple(self.engine.output_shapes(shapes)[name])

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        self.engine._entry(name)
        self.addresses[name] = int(ptr)
        return True

    def execute_async_v3(self, stream: int) -> bool:
        from pycuda import driver

        shapes = self._input_shapes()
        if shapes is None or any(entry[0] not in self.addresses for entry in self.engine.io):
            return False  # TensorRT: "not all input shapes/addresses are specified"
        arrays = {}
        for name, shape in shapes.items():
            dt = np.dtype(nptype(self.engine.get_tensor_dtype(name)))
            n = int(np.prod(shape, dtype=np.int64))
            arrays[name] = driver.read(self.addresses[name], n * dt.itemsize).view(dt).reshape(shape)
        outs = self.engine.compute(arrays)
        for name, value in outs.items():
            dt = np.dtype(nptype(self.engine.get_tensor_dtype(name)))
            driver.write(self.addresses[name], np.ascontiguousarray(value, dtype=dt))
        self.engine.executions += 1
        return True


# -- builder: a build "times" every layer whose signature its timing cache lacks (TensorRT: the layer's
# kind, parameters and tensor shapes, never its name); each build's timed signatures are kept in BUILDS
BUILDS: list[dict] = []


class TacticSource:
    __members__ = {"CUBLAS": 0, "CUBLAS_LT": 1, "CUDNN": 2, "EDGE_MASK_CONVOLUTIONS": 3, "JIT_CONVOLUTIONS": 4}


class MemoryPoolType(Enum):
    WORKSPACE = "workspace"


class ProfilingVerbosity(Enum):
    DETAILED = "detailed"


class BuilderFlag(Enum):
    FP16 = "fp16"
    OBEY_PRECISION_CONSTRAINTS = "obey_precision_constraints"


class LayerType(Enum):
    CONSTANT = "constant"


class ITimingCache:
    """Signature -> the tactic picked (the builder's timing results)."""

    def __init__(self, blob: bytes) -> None:
        self.entries: dict[str, str] = json.loads(bytes(blob).decode()) if blob else {}

    def serialize(self) -> bytes:
        return json.dumps(self.entries, sort_keys=True).encode()

    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool:
        """Adds the entries this cache lacks (TensorRT: keeps its own where both have one)."""
        for key, value in input_cache.entries.items():
            self.entries.setdefault(key, value)
        return True


class IBuilderConfig:
    def __init__(self) -> None:
        self.flags: set = set()
        self.pools: dict = {}
        self.tactic_sources = 0
        self.builder_optimization_level = 3
        self.profiling_verbosity = None
        self._cache: ITimingCache | None = None
        self.ignore_mismatch: bool | None = None

    def set_tactic_sources(self, mask: int) -> bool:
        self.tactic_sources = int(mask)
        return True

    def set_memory_pool_limit(self, pool: MemoryPoolType, size: int) -> None:
        self.pools[pool] = int(size)

    def set_flag(self, flag: BuilderFlag) -> None:
        self.flags.add(flag)

    def create_timing_cache(self, serialized_timing_cache: bytes) -> ITimingCache | None:
        try:  # TensorRT returns nullptr (None) for a blob it cannot read
            return ITimingCache(serialized_timing_cache)
        except ValueError:
            return None

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        if not isinstance(cache, ITimingCache):
            return False
        self._cache, self.ignore_mismatch = cache, bool(ignore_mismatch)
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self._cache


def _signature(layer: Layer) -> str:
    ins = [list(t.shape) for t in layer.inputs if isinstance(t, Tensor)]
    outs = [list(t.shape) for t in layer.outputs]
    params = {k: str(v) for k, v in sorted(layer.extra.items()) if k not in ("weights", "bias")}
    return json.dumps([layer.kind, ins, outs, params])


# TensorRT keeps one logger pointer per process: the first logger given to a builder, runtime or refitter
# while none of them lives; one made with another logger meanwhile logs to that one (TensorRT warns "The
# logger passed into createInferRuntime differs from one already provided ..."). The stand-in records
# each such creation in LOGGER_MISMATCHES (tests/test_trt_logger.py).
_LIVE_LOGGER_USERS: list = []  # weak references to the live builders and runtimes
LOGGER_MISMATCHES: list[str] = []


def _uses_logger(user: object, logger: object) -> None:
    _LIVE_LOGGER_USERS[:] = [r for r in _LIVE_LOGGER_USERS if r() is not None]
    live = [r() for r in _LIVE_LOGGER_USERS]
    if live and all(u.logger is not logger for u in live):
        LOGGER_MISMATCHES.append(f"{type(user).__name__}: the logger passed differs from one already provided "
                                 f"for an existing builder, runtime, or refitter ({len(live)} live)")
    _LIVE_LOGGER_USERS.append(weakref.ref(user))


class Runtime:
    def __init__(self, logger: object) -> None:
        self.logger = logger
        _uses_logger(self, logger)


class Builder:
    def __init__(self, logger: object) -> None:
        self.logger = logger
        _uses_logger(self, logger)

    def create_network(self, flags: int = 0) -> Network:
        return Network()

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def build_serialized_network(self, network: Network, config: IBuilderConfig) -> bytes:
        """Times the layers whose signature the timing cache lacks (a build without one: a cache of
        its own, dropped after), adds them to it; the "engine" is the layers' signatures."""
        cache = config.get_timing_cache() or ITimingCache(b"")
        timed, cached = [], []
        for layer in network.layers:
            if layer.kind == "constant":
                continue
            key = _signature(layer)
            (cached if key in cache.entries else timed).append(key)
            cache.entries.setdefault(key, f"tactic{len(cache.entries)}")
        BUILDS.append({"timed": timed, "cached": cached, "shared_cache": config.get_timing_cache() is not None,
                       "ignore_mismatch": config.ignore_mismatch})
        return json.dumps([_signature(layer) for layer in network.layers]).encode()


class IProfiler:
    """TensorRT's profiler interface (a subclass reports each layer's time; nothing calls it here)."""

    def __init__(self) -> None:
        pass
