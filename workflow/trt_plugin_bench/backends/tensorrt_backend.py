"""The TensorRT backend: builds ReLU, native swish and the Swish plugin engines, runs and times them.

Written for TensorRT 8.6 (run on the H100 through trt-kit) and 10/11 (IPluginV3, bf16, strongly
typed networks: written from NVIDIA's documentation, guarded by the major version). The
differences live in small functions here, each named for what it adapts.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import platform
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pycuda.driver as cuda
import tensorrt as trt

from .. import oracle as ref
from ..cuda_utils import (
    COPY_KERNEL_BLOCKS,
    BlockedStartTimeout,
    CudaGraph,
    DeviceBuffer,
    EventTimer,
    GpuContext,
    L2Flush,
    StreamBlocker,
    copy_kernel_measurement,
    fill_tiled,
    set_pattern,
)
from ..operators import KERNEL_IDS, KernelIdMismatch, check_kernel_ids, field_values, for_engine, tensorrt_support
from ..oracle import CheckResult
from ..records import CalibrationRow, DeviceInfo
from .base import MODE_START, Backend, Engine, EngineLoadError, EngineSpec, Timer, TimingArena, Worker

TRT_MAJOR = int(trt.__version__.split(".")[0])
PLUGIN_NAME = "Swish"
PLUGIN_VERSION = {"plugin_v2": "1", "plugin_v3": "2"}
PLUGIN_NAMESPACE = ""
INPUT, OUTPUT = "x", "y"
NON_BLOCKING = 0x1  # CU_STREAM_NON_BLOCKING: never implicitly synchronized with the default stream
# Host random data is drawn for at most this many elements and tiled on the device beyond it.
# 1 Mi elements (4 MiB of fp32): the block is checked against float64, the repeats of it by bit
# identity (oracle.check_tiled); the values only need to be random, not many
RANDOM_BLOCK_ELEMENTS = 1 << 20


class BuildError(RuntimeError):
    pass


class CapturingLogger(trt.ILogger):
    """Keeps TensorRT's warnings and errors so failures can be reported with TensorRT's own words."""

    def __init__(self, echo: bool = True):
        trt.ILogger.__init__(self)
        self.messages: list[str] = []
        self.echo = echo
        self._lock = threading.Lock()

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        if int(severity) <= int(trt.ILogger.Severity.WARNING):
            with self._lock:
                self.messages.append(f"[{severity.name}] {msg}")
            if self.echo:
                print(f"TensorRT {severity.name}: {msg}", file=sys.stderr)

    def errors(self) -> str:
        with self._lock:
            errs = [m for m in self.messages if "ERROR" in m]
        return "; ".join(errs[-5:]) or "no error message from TensorRT"


TRT_DTYPE = {"fp32": trt.float32, "fp16": trt.float16}
if TRT_MAJOR >= 10:
    TRT_DTYPE["bf16"] = trt.bfloat16


def network_flags(strongly_typed: bool) -> int:
    """Explicit batch: required in 8.6, ignored in 10, removed in 11. Strong typing: opt-in in 10,
    always on (flag ignored) in 11. Enum values move between versions, so names, never numbers."""
    flags = 0
    members = trt.NetworkDefinitionCreationFlag.__members__
    if TRT_MAJOR < 10:
        flags |= 1 << int(members["EXPLICIT_BATCH"])
    if strongly_typed and "STRONGLY_TYPED" in members:
        flags |= 1 << int(members["STRONGLY_TYPED"])
    return flags


def tactic_sources_without_libraries() -> int:
    """Every tactic source except cuBLAS, cuBLASLt and cuDNN (not needed for pointwise work and
    absent from trt-kit; also keeps engines free of those libraries' versions)."""
    excluded = {"CUBLAS", "CUBLAS_LT", "CUDNN"}
    mask = 0
    for name, member in trt.TacticSource.__members__.items():
        if name not in excluded:
            mask |= 1 << int(member)
    return mask


def _plugin_fields(spec: EngineSpec, keep: list) -> trt.PluginFieldCollection:
    beta = np.array([spec.beta], dtype=np.float32)
    kernel = np.array([KERNEL_IDS[spec.kernel]], dtype=np.int32)
    keep.extend([beta, kernel])  # a PluginField points at the array's memory
    fields = [
        trt.PluginField("beta", beta, trt.PluginFieldType.FLOAT32),
        trt.PluginField("kernel", kernel, trt.PluginFieldType.INT32),
    ]
    if spec.kernel_table:  # (upper KiB, kernel id) pairs, the plugin's choice table
        table = np.array([v for kib, name in spec.kernel_table for v in (kib, KERNEL_IDS[name])], dtype=np.int32)
        keep.append(table)
        fields.append(trt.PluginField("kernel_table", table, trt.PluginFieldType.INT32))
    return trt.PluginFieldCollection(fields)


def _add_plugin(network: trt.INetworkDefinition, x: trt.ITensor, spec: EngineSpec, keep: list,
                plugin_name: str = PLUGIN_NAME, plugin_namespace: str = PLUGIN_NAMESPACE) -> trt.ILayer:
    """``plugin_name``/``plugin_namespace``: the creator to use (the conformance fixture's libraries
    name theirs SwishBad<Flag>); the pipeline's engines always use Swish in the default namespace."""
    registry = trt.get_plugin_registry()
    version = PLUGIN_VERSION[spec.implementation]
    if spec.implementation == "plugin_v3":
        creator = registry.get_creator(plugin_name, version, plugin_namespace)
        if creator is None:
            raise BuildError(f"plugin creator {plugin_name} v{version} (IPluginV3) is not registered under namespace "
                             f"{plugin_namespace!r}")
        plugin = creator.create_plugin("swish", _plugin_fields(spec, keep), trt.TensorRTPhase.BUILD)
        if plugin is None:
            raise BuildError(f"{plugin_name} v{version} creator refused the fields beta={spec.beta}, kernel={spec.kernel}, "
                             f"kernel_table={list(spec.kernel_table)}")
        return network.add_plugin_v3([x], [], plugin)
    # get_plugin_creator is gone in 11; get_creator (10+) also returns V2 creators
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    creator = lookup(plugin_name, version, plugin_namespace)
    if creator is None:
        raise BuildError(
            f"plugin creator {plugin_name} v{version} is not registered under namespace {plugin_namespace!r}: "
            "was the plugin library loaded?"
        )
    plugin = creator.create_plugin("swish", _plugin_fields(spec, keep))
    if plugin is None:
        raise BuildError(f"{plugin_name} v{version} creator refused the fields beta={spec.beta}, kernel={spec.kernel}, "
                             f"kernel_table={list(spec.kernel_table)}")
    return network.add_plugin_v2([x], plugin)


# a spec field's type as TensorRT's PluginFieldType member and the numpy dtype that holds it
FIELD_TYPES = {"float32": ("FLOAT32", np.float32), "float64": ("FLOAT64", np.float64), "float16": ("FLOAT16", np.float16),
               "int8": ("INT8", np.int8), "int16": ("INT16", np.int16), "int32": ("INT32", np.int32),
               "char": ("CHAR", np.int8)}


def _creator_field_names(creator: object) -> list[str] | None:
    """The field names a creator declares (getFieldNames), or None where the bindings do not say."""
    try:
        names = [str(f.name) for f in creator.field_names]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - bindings differ between versions: no check rather than a wrong one
        return None
    return names or None


def check_creator_fields(op_spec: object, creator: object) -> None:
    """Every field the operator's spec declares must be one the creator names (its getFieldNames);
    a spec field the creator does not know would be ignored by most creators, silently."""
    declared = list(op_spec.field_names)  # type: ignore[attr-defined]
    known = _creator_field_names(creator)
    if known is None:
        return
    unknown = [f for f in declared if f not in known]
    if unknown:
        raise BuildError(f"operator spec {op_spec.path}: key 'fields': {', '.join(unknown)} is not a field of plugin "  # type: ignore[attr-defined]
                         f"creator {op_spec.plugin.creator} v{op_spec.plugin.version}; allowed fields (the creator's "  # type: ignore[attr-defined]
                         f"getFieldNames): {', '.join(known)}")


def _spec_plugin_fields(op_spec: object, spec: EngineSpec, keep: list) -> trt.PluginFieldCollection:
    """A spec-declared plugin's fields at their values (operators.field_values); a kernel_table left empty is left out."""
    values = field_values(op_spec, spec.beta, spec.kernel, spec.kernel_table)  # type: ignore[arg-type]
    fields = []
    for f in op_spec.fields:  # type: ignore[attr-defined]
        value = values[f.name]
        if value is None or (f.value_from == "kernel_table" and not value):
            continue
        member, np_type = FIELD_TYPES[f.type]
        data = (np.frombuffer(value.encode() + b"\0", dtype=np.int8) if isinstance(value, str)
                else np.atleast_1d(np.asarray(value, dtype=np_type)))
        keep.append(data)  # a PluginField points at the array's memory
        fields.append(trt.PluginField(f.name, data, getattr(trt.PluginFieldType, member)))
    return trt.PluginFieldCollection(fields)


def _add_spec_plugin(network: trt.INetworkDefinition, x: trt.ITensor, op_spec: object, spec: EngineSpec,
                     keep: list) -> trt.ILayer:
    """The plugin layer of an operator whose spec names its own creator (not the project's Swish)."""
    p = op_spec.plugin  # type: ignore[attr-defined]
    registry = trt.get_plugin_registry()
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    creator = lookup(p.creator, p.version, p.namespace)
    if creator is None:
        raise BuildError(f"operator spec {op_spec.path}: key 'plugin': creator {p.creator} v{p.version} is not registered "  # type: ignore[attr-defined]
                         f"under namespace {p.namespace!r}: did its library load and register it?")
    check_creator_fields(op_spec, creator)
    fc = _spec_plugin_fields(op_spec, spec, keep)
    if spec.implementation == "plugin_v3":
        plugin = creator.create_plugin(op_spec.name, fc, trt.TensorRTPhase.BUILD)  # type: ignore[attr-defined]
        layer = None if plugin is None else network.add_plugin_v3([x], [], plugin)
    else:
        plugin = creator.create_plugin(op_spec.name, fc)  # type: ignore[attr-defined]
        layer = None if plugin is None else network.add_plugin_v2([x], plugin)
    if layer is None:
        raise BuildError(f"{p.creator} v{p.version} creator refused the fields {[f.name for f in op_spec.fields]} "  # type: ignore[attr-defined]
                         f"of {op_spec.path}")  # type: ignore[attr-defined]
    return layer


def populate_network(network: trt.INetworkDefinition, spec: EngineSpec, weakly_typed_half: bool, keep: list,
                     plugin_name: str = PLUGIN_NAME, plugin_namespace: str = PLUGIN_NAMESPACE) -> list[trt.ILayer]:
    """Add the input, the operator's layers and the output; returns the compute layers.
    ``keep`` collects host arrays TensorRT still points at until the build ends; the plugin's creator
    is ``plugin_name`` in ``plugin_namespace`` (see _add_plugin)."""
    dims = [d if lo == hi else -1 for lo, d, hi in zip(spec.min, spec.opt, spec.max)]
    x = network.add_input(INPUT, TRT_DTYPE[spec.dtype], dims)
    layers: list[trt.ILayer] = []
    op_spec = for_engine(spec)
    if spec.implementation == "native":  # the spec's native twin builds TensorRT's own layers
        twin = op_spec.fn("native_twin")
        values = field_values(op_spec, spec.beta)
        layers.extend(twin(trt, network, [x], spec.dtype, keep, **op_spec.kwargs(twin, values)))
        if not layers:
            raise BuildError(f"operator spec {op_spec.path}: key 'native_twin': {op_spec.native_twin} added no layer")
    elif op_spec.plugin is not None and not op_spec.plugin.library.project_plugin:
        layers.append(_add_spec_plugin(network, x, op_spec, spec, keep))
    else:
        layers.append(_add_plugin(network, x, spec, keep, plugin_name, plugin_namespace))
    y = layers[-1].get_output(0)
    y.name = OUTPUT
    network.mark_output(y)
    if weakly_typed_half:
        # TensorRT 8.6 has no strong typing: pin every layer and the I/O to fp16
        for layer in layers:
            layer.precision = trt.float16
            layer.set_output_type(0, trt.float16)
        y.dtype = trt.float16
    return layers


class TensorRTBackend(Backend):
    name = "tensorrt"
    timing_clock = "cuda_event"
    modes = ("warm", "cold", "stream", "graph")

    def __init__(self, l2_flush: str = "clean") -> None:
        self.gpu = GpuContext(0)
        self.l2_flush = l2_flush  # timing.l2_flush: what the cold mode's flush leaves in the L2 (cuda_utils.L2Flush)
        self.logger = CapturingLogger()
        self.runtime = trt.Runtime(self.logger)
        self._ctypes_handles: dict[str, ctypes.CDLL] = {}  # dlopen'ed plugin libraries, kept loaded
        self._checked_libraries: set[str] = set()  # whose kernel ids matched KERNEL_IDS
        self.plugin_registration = ""

    # -- facts -------------------------------------------------------------------------------
    def device_info(self) -> DeviceInfo:
        from ..gpu_state import driver_version

        major, minor = self.gpu.device.compute_capability()
        cuda_ver = cuda.get_driver_version()
        return DeviceInfo(
            backend=self.name,
            backend_label=f"TensorRT {trt.__version__} on {self.gpu.name}",
            timing_clock=self.timing_clock,
            device_name=self.gpu.name,
            driver_version=driver_version(),
            cuda_version=f"{cuda_ver // 1000}.{(cuda_ver % 1000) // 10} (driver API)",
            tensorrt_version=trt.__version__,
            compute_capability=f"{major}.{minor}",
            sm_count=self.gpu.sm_count,
            l2_bytes=self.gpu.l2_bytes,
            cpu=platform.processor() or platform.machine(),
            python=platform.python_version(),
            numpy_version=np.__version__,
            hostname=socket.gethostname(),
        )

    def support(self, operator: str, dtype: str) -> str | None:
        return tensorrt_support(operator, dtype, TRT_MAJOR)

    # -- plugin library ----------------------------------------------------------------------
    def load_plugin_library(self, path: Path | None, namespace: str = PLUGIN_NAMESPACE) -> None:
        """Load the Swish plugin library and make sure its creators are registered, once.

        ``namespace``: the creator namespace the library was built with (CMake TPB_PLUGIN_NAMESPACE);
        another than "" is a second copy (`verdict --rebuild`'s baseline), dlopened RTLD_LOCAL so its
        names stay out of the process's global scope (it binds its own: -Bsymbolic).

        A plain dlopen registers them: the library registers itself with this process's libnvinfer
        while it is loaded (api/swishPluginLibrary.cpp), which ``import tensorrt`` loaded already. So
        the one ``ctypes.CDLL`` below both reads the kernel names and registers; registry.load_library
        is not called in the normal case (the library would hand its creators over again; it releases
        them first, so that would not be a duplicate either, but there is nothing to gain). Fallbacks,
        only if the creators are still missing: the library's idempotent initSwishPlugins, then
        registry.load_library."""
        if path is None or not Path(path).exists():
            raise EngineLoadError(
                f"the Swish plugin library {path} does not exist; run the compile_plugin rule first"
            )
        key = str(Path(path).resolve())
        registered_before = _swish_registered(namespace)  # this process registered them already (the registry is per process)
        if key not in self._ctypes_handles:
            mode = ctypes.RTLD_GLOBAL if namespace == PLUGIN_NAMESPACE else ctypes.RTLD_LOCAL
            try:  # registers the creators at load; RTLD_GLOBAL as the initSwishPlugins path always used
                self._ctypes_handles[key] = ctypes.CDLL(key, mode=mode)
            except OSError as exc:
                raise EngineLoadError(f"cannot dlopen the Swish plugin library {key}: {exc}") from exc
        if key not in self._checked_libraries:
            try:
                check_kernel_ids(self._ctypes_handles[key], key)
            except KernelIdMismatch as exc:
                raise EngineLoadError(str(exc)) from exc
            self._checked_libraries.add(key)
        if registered_before:
            return
        if _swish_registered(namespace):
            self.plugin_registration = "dlopen (the library registered its creators at load)"
            return
        # Fallbacks, each said in plugin_registration and on stderr (TPB_PLUGIN_DEBUG=1 makes the
        # library say what it found at load and in initSwishPlugins).
        init = self._ctypes_handles[key].initSwishPlugins
        init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
        registered = init(namespace.encode())
        self.plugin_registration = "none registered at load; "
        if _swish_registered(namespace):
            self.plugin_registration += f"initSwishPlugins registered them (returned {registered})"
        else:
            self.plugin_registration += f"initSwishPlugins did not (returned {registered}); "
            unusable = load_library_unusable(trt.__version__, _nvinfer_library_version())
            if unusable:
                self.plugin_registration += f"registry.load_library not called: {unusable}"
            else:
                handle = trt.get_plugin_registry().load_library(key)
                worked = "registered them" if _swish_registered(namespace) else "did not register them"
                self.plugin_registration += f"registry.load_library returned {handle!r} and {worked}"
        print(f"trt_plugin_bench: {self.plugin_registration}", file=sys.stderr)
        if not _swish_registered(namespace):
            raise EngineLoadError(
                f"TensorRT could not load plugin library {key}: neither loading it, initSwishPlugins nor "
                f"registry.load_library registered the Swish creators: {self.logger.errors()}"
            )

    def _load_library_of(self, op_spec: object, path: Path | None, namespace: str) -> None:
        """The project's Swish library (load_plugin_library), or a spec's own (load_spec_library)."""
        if op_spec.plugin.library.project_plugin:  # type: ignore[attr-defined]
            self.load_plugin_library(path, namespace)
        else:
            self.load_spec_library(op_spec, path)

    def load_spec_library(self, op_spec: object, path: Path | None) -> None:
        """An external operator's plugin library: a plain dlopen (RTLD_GLOBAL) registers its
        creator (static registration, as REGISTER_TENSORRT_PLUGIN does); else its spec's init
        function (initLibNvInferPlugins' shape), else registry.load_library."""
        p = op_spec.plugin  # type: ignore[attr-defined]
        if path is None or not Path(path).exists():
            raise EngineLoadError(f"the plugin library {path} of operator spec {op_spec.path} does not exist; run the "  # type: ignore[attr-defined]
                                  "compile_plugin rule first (or fix its plugin.library)")
        registry = trt.get_plugin_registry()
        lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator

        def registered() -> bool:
            return lookup(p.creator, p.version, p.namespace) is not None

        key = str(Path(path).resolve())
        if key not in self._ctypes_handles:
            try:
                self._ctypes_handles[key] = ctypes.CDLL(key, mode=ctypes.RTLD_GLOBAL)
            except OSError as exc:
                raise EngineLoadError(f"cannot dlopen plugin library {key} (operator spec {op_spec.path}): {exc}") from exc  # type: ignore[attr-defined]
        if registered():
            return
        if p.init:
            init = getattr(self._ctypes_handles[key], p.init)
            init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
            init(p.namespace.encode())
        if not registered() and not load_library_unusable(trt.__version__, _nvinfer_library_version()):
            registry.load_library(key)
        if not registered():
            raise EngineLoadError(f"{key} loaded but registered no creator {p.creator} v{p.version} in namespace "
                                  f"{p.namespace!r} (operator spec {op_spec.path}, key 'plugin'): {self.logger.errors()}")  # type: ignore[attr-defined]

    # -- build -------------------------------------------------------------------------------
    def build(self, spec: EngineSpec, engine_path: Path, plugin_library: Path | None, builder_cfg: dict,
              plugin_namespace: str = PLUGIN_NAMESPACE) -> dict:
        """``plugin_namespace``: whose creators build the plugin layer (the engine then names it, and
        deserializes with that library's code): "" the pipeline's library, another a baseline copy's."""
        reason = self.support(spec.operator, spec.dtype)
        if reason:
            raise BuildError(reason)
        op_spec = for_engine(spec)
        if op_spec.uses_plugin:
            self._load_library_of(op_spec, plugin_library, plugin_namespace)
        builder = trt.Builder(self.logger)
        strongly_typed = TRT_MAJOR >= 10
        network = builder.create_network(network_flags(strongly_typed))
        weakly_typed_half = spec.dtype == "fp16" and not strongly_typed
        keep: list = []
        try:
            populate_network(network, spec, weakly_typed_half, keep, plugin_namespace=plugin_namespace)
        except BuildError as exc:  # a creator that refuses says why in TensorRT's log (the plugin logs there)
            raise BuildError(f"{exc}: {self.logger.errors()}") from None
        config = builder.create_builder_config()
        config.set_tactic_sources(tactic_sources_without_libraries())
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(builder_cfg.get("workspace_mib", 1024)) << 20)
        config.builder_optimization_level = int(builder_cfg.get("optimization_level", 3))
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
        if weakly_typed_half:
            config.set_flag(trt.BuilderFlag.FP16)
            config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        # identical profiles, one per concurrently running execution context (see TrtEngine)
        for _ in range(int(builder_cfg.get("profiles_per_engine", 1))):
            profile = builder.create_optimization_profile()
            profile.set_shape(INPUT, spec.min, spec.opt, spec.max)
            config.add_optimization_profile(profile)
        t0 = time.perf_counter()
        serialized = builder.build_serialized_network(network, config)
        build_seconds = time.perf_counter() - t0
        if serialized is None:
            raise BuildError(f"TensorRT failed to build {spec.operator}/{spec.dtype}/{spec.profile}: {self.logger.errors()}")
        blob = bytes(serialized)
        Path(engine_path).write_bytes(blob)
        engine = self.runtime.deserialize_cuda_engine(blob)
        if engine is None:
            raise BuildError(f"the engine just built does not deserialize: {self.logger.errors()}")
        return {
            "build_seconds": build_seconds,
            "builder": f"TensorRT {trt.__version__}",
            "strongly_typed": strongly_typed,
            "layers": _engine_layers(engine),
        }

    # -- load --------------------------------------------------------------------------------
    def load(self, engine_path: Path, plugin_library: Path | None, plugin_namespace: str = PLUGIN_NAMESPACE) -> Engine:
        """The engine, checked against its build record. An engine that fails (changed since it
        was built, refused by this TensorRT, or not what its record says) is removed with its
        record and golden output, so the next `snakemake` run rebuilds it. A plugin library that
        fails to load is not the engine's fault: that error leaves the engine alone."""
        from .base import read_build_record
        from .engine_files import discard_corrupt

        try:
            record = read_build_record(engine_path)
            spec = EngineSpec.from_json(record["spec"])
        except (EngineLoadError, KeyError, TypeError) as exc:
            raise discard_corrupt(engine_path, exc) from exc
        op_spec = for_engine(spec)
        if op_spec.uses_plugin:  # an external spec's library: the one its build record names
            own = record.get("plugin_library") if not op_spec.plugin.library.project_plugin else None
            self._load_library_of(op_spec, Path(own) if own else plugin_library, plugin_namespace)
        t0 = time.perf_counter()
        engine = self.runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
        seconds = time.perf_counter() - t0
        if engine is None:
            raise discard_corrupt(engine_path, f"TensorRT {trt.__version__} could not deserialize it: "
                                               f"{self.logger.errors()}")
        try:
            return TrtEngine(self, engine, spec, seconds)
        except EngineLoadError as exc:  # its profile or dtype is not what the record says
            raise discard_corrupt(engine_path, exc) from exc

    # -- calibration -------------------------------------------------------------------------
    def arena(self) -> TrtArena:
        return TrtArena(self.gpu, self.l2_flush)

    def calibrate(self, copy_mib: list[int], rule: object) -> list[CalibrationRow]:
        from ..stats import measure

        rows: list[CalibrationRow] = []
        stream = cuda.Stream(flags=NON_BLOCKING)
        idle = EventTimer(stream)
        blocked = EventTimer(stream, StreamBlocker(self.gpu))
        name = self.gpu.name

        def row(measurement: str, timer: EventTimer, nbytes: int, enqueue) -> CalibrationRow:  # noqa: ANN001
            s = measure(lambda: timer.time(enqueue), rule)
            bw = nbytes / s.median / 1e9 if nbytes else 0.0
            return CalibrationRow(self.name, name, measurement, nbytes, s.n, s.median * 1e6, s.rse, bw,
                                  self.timing_clock, timer.start_kind)

        # The ceiling is GPU time (blocked start), like the cold and warm rows it is compared with.
        for mib in sorted(set(copy_mib)):
            size = mib << 20
            with DeviceBuffer(size) as a, DeviceBuffer(size) as b:
                fill_tiled(a, np.random.default_rng(0).integers(0, 255, min(size, 64 << 20), dtype=np.uint8), size, stream)
                rows.append(row("copy", blocked, 2 * size,
                                lambda a=a, b=b, size=size: cuda.memcpy_dtod_async(b.ptr, a.ptr, size, stream)))
                for block in COPY_KERNEL_BLOCKS:
                    rows.append(row(copy_kernel_measurement(block), blocked, 2 * size,
                                    lambda a=a, b=b, size=size, block=block: self.gpu.copy16(b.ptr, a.ptr, size, stream,
                                                                                             block)))

        def empty() -> None:
            self.gpu.empty_kernel(block=(1, 1, 1), grid=(1, 1), stream=stream)

        rows.append(row("empty_launch", idle, 0, empty))  # the floor of the stream mode
        rows.append(row("empty_kernel", blocked, 0, empty))  # the floor of the warm and cold modes
        graph = CudaGraph(self.gpu, stream, empty)
        try:
            rows.append(row("empty_graph_launch", idle, 0, graph.launch))  # the floor of the graph mode
        finally:
            graph.close()
        return rows


def _nvinfer_library_version() -> int | None:
    """getInferLibVersion() of the libnvinfer this process loaded (``import tensorrt`` did), or None."""
    try:  # RTLD_NOLOAD: only a library already loaded, never a second one
        library = ctypes.CDLL(f"libnvinfer.so.{TRT_MAJOR}", mode=os.RTLD_NOLOAD | os.RTLD_LOCAL)
        return int(library.getInferLibVersion())
    except (OSError, AttributeError):
        return None


def load_library_unusable(binding_version: str, library_version: int | None) -> str | None:
    """Why ``registry.load_library`` cannot work in this process, or None.

    TensorRT 8.6.1 moved IPluginRegistry's isParentSearchEnabled .. deregisterLibrary behind
    deregisterCreator in the vtable, so bindings of one side of 8.6.0/8.6.1 over a library of the
    other call another method: trt-kit's 8.6.1 bindings over its 8.6.0 library run getErrorRecorder
    for load_library (None, the file is never opened; seen on the H100 2026-11-24 and the H200
    2026-12-02, reproduced on the host with the real library)."""
    parts = binding_version.split(".")
    if library_version is None or len(parts) < 3 or parts[:2] != ["8", "6"] or not parts[2].isdigit():
        return None
    if not 8600 <= library_version <= 8699:
        return None
    if (int(parts[2]) == 0) == (library_version == 8600):
        return None
    return (f"TensorRT {binding_version} Python bindings over a {library_version // 1000}.{library_version % 1000 // 100}."
            f"{library_version % 100} libnvinfer: IPluginRegistry's vtable differs (8.6.1 moved loadLibrary), "
            "so load_library would call another method")


def _swish_registered(namespace: str = PLUGIN_NAMESPACE) -> bool:
    registry = trt.get_plugin_registry()
    lookup = registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator
    return lookup(PLUGIN_NAME, PLUGIN_VERSION["plugin_v2"], namespace) is not None


def _engine_layers(engine: trt.ICudaEngine) -> list:
    """The engine's layers as TensorRT reports them (shows whether sigmoid x mul fused)."""
    try:
        inspector = engine.create_engine_inspector()
        info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
        return info.get("Layers", [])
    except Exception as exc:  # inspector output is informational only
        return [f"engine inspector unavailable: {exc}"]


def _io_dtype(engine: trt.ICudaEngine, name: str) -> np.dtype:
    dt = engine.get_tensor_dtype(name)
    if TRT_MAJOR >= 10 and dt == trt.bfloat16:
        return np.dtype(np.uint16)
    return np.dtype(trt.nptype(dt))


class _Bindings:
    """One execution context with its own stream and I/O buffers, sized for a shape."""

    def __init__(self, engine: TrtEngine, context_lock: threading.Lock):
        self.engine = engine
        self.context: trt.IExecutionContext | None = None
        self.d_in: DeviceBuffer | None = None
        self.d_out: DeviceBuffer | None = None
        self._borrowed = False  # d_in/d_out belong to a TrtArena: bound here, freed there
        self.h_in: np.ndarray | None = None  # page-locked staging, so copies are truly async
        self.h_out: np.ndarray | None = None
        self.shape: tuple[int, ...] | None = None
        self.profile_index: int | None = engine.acquire_profile()
        try:
            with context_lock:  # context creation touches the engine's shared state
                self.context = engine.engine.create_execution_context()
            if self.context is None:
                raise RuntimeError(f"could not create an execution context: {engine.backend.logger.errors()}")
            self.stream = cuda.Stream(flags=NON_BLOCKING)
            # TensorRT 8.6 binds each optimization profile to one live context at a time: take our own
            if not self.context.set_optimization_profile_async(self.profile_index, self.stream.handle):
                raise RuntimeError(f"could not select optimization profile {self.profile_index}: "
                                   f"{engine.backend.logger.errors()}")
            self.stream.synchronize()
        except BaseException:
            # with one profile per engine, a profile kept here would refuse every later timer
            self.free()
            raise

    def prepare(self, shape: tuple[int, ...], io: tuple[DeviceBuffer, DeviceBuffer] | None = None) -> int:
        """Set the input shape and bind input and output: ``io`` (an arena's buffers) or our own."""
        spec = self.engine.spec
        spec.check_shape(shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * ref.numpy_dtype(spec.dtype).itemsize
        if io is not None:
            if min(io[0].nbytes, io[1].nbytes) < nbytes:
                raise ValueError(f"shared buffers of {min(io[0].nbytes, io[1].nbytes)} bytes cannot hold "
                                 f"{list(shape)} ({nbytes} bytes)")
            self.free_buffers()
            self.d_in, self.d_out = io
            self._borrowed = True
        elif self.d_in is None or self._borrowed or self.d_in.nbytes < nbytes:
            self.free_buffers()
            self.d_in, self.d_out = DeviceBuffer(nbytes), DeviceBuffer(nbytes)
        if not self.context.set_input_shape(INPUT, tuple(shape)):
            raise RuntimeError(f"TensorRT refused input shape {list(shape)}: {self.engine.backend.logger.errors()}")
        out_shape = tuple(self.context.get_tensor_shape(OUTPUT))
        if out_shape != tuple(shape):
            raise RuntimeError(f"output shape {list(out_shape)} differs from input shape {list(shape)}")
        for name, buf in ((INPUT, self.d_in), (OUTPUT, self.d_out)):
            if not self.context.set_tensor_address(name, buf.ptr):
                raise RuntimeError(f"set_tensor_address({name}) failed: {self.engine.backend.logger.errors()}")
        self.shape = tuple(shape)
        return nbytes

    def enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise RuntimeError(f"execute_async_v3 failed: {self.engine.backend.logger.errors()}")

    def run(self, x: np.ndarray) -> np.ndarray:
        """One inference: stage in, poison the output, enqueue, stage out, wait."""
        spec = self.engine.spec
        if x.dtype != ref.numpy_dtype(spec.dtype):
            raise TypeError(f"input dtype {x.dtype} does not match engine dtype {spec.dtype}")
        self.prepare(tuple(x.shape))
        n = x.size
        if self.h_in is None or self.h_in.size < n:
            self.h_in = cuda.pagelocked_empty(max(n, 1), x.dtype)
            self.h_out = cuda.pagelocked_empty(max(n, 1), x.dtype)
        set_pattern(self.d_out, ref.poison((1,), spec.dtype), self.stream)
        if n:
            self.h_in[:n] = x.ravel()
            cuda.memcpy_htod_async(self.d_in.ptr, self.h_in[:n], self.stream)
        self.enqueue()
        if n:
            cuda.memcpy_dtoh_async(self.h_out[:n], self.d_out.ptr, self.stream)
        self.stream.synchronize()
        return self.h_out[:n].copy().reshape(x.shape)

    def free_buffers(self) -> None:
        if not self._borrowed:
            for buf in (self.d_in, self.d_out):
                if buf is not None:
                    buf.free()
        self.d_in = self.d_out = None
        self._borrowed = False
        self.h_in = self.h_out = None

    def free(self) -> None:
        """Release buffers, destroy the context and hand its optimization profile back (once)."""
        self.free_buffers()
        self.context = None  # the last reference: TensorRT destroys the context here
        if self.profile_index is not None:
            self.engine.release_profile(self.profile_index)
            self.profile_index = None


class TrtArena(TimingArena):
    """Device buffers shared by the timers of one comparison (see TimingArena): input, output and
    the cold-mode flush buffer, allocated by the first timer that needs them."""

    def __init__(self, gpu: GpuContext, l2_flush: str = "clean"):
        super().__init__()
        self.gpu, self.l2_flush = gpu, l2_flush
        self._io: tuple[DeviceBuffer, DeviceBuffer] | None = None
        self._flush: L2Flush | None = None

    def io(self, nbytes: int) -> tuple[DeviceBuffer, DeviceBuffer]:
        self.reserve(nbytes)
        if self._io is None:
            self._io = DeviceBuffer(self.nbytes), DeviceBuffer(self.nbytes)
        return self._io

    def flush(self) -> L2Flush:
        if self._flush is None:
            self._flush = L2Flush(self.gpu, self.l2_flush)
        return self._flush

    def close(self) -> None:
        for buf in (*(self._io or ()), self._flush):
            if buf is not None:
                buf.free()
        self._io = self._flush = None


class TrtTimer(Timer):
    def __init__(self, engine: TrtEngine, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
                 arena: TrtArena | None = None):
        if mode not in TensorRTBackend.modes:
            raise ValueError(f"unknown timing mode {mode!r}; allowed values: {', '.join(TensorRTBackend.modes)}")
        self.engine, self.mode, self.shape = engine, mode, tuple(shape)
        self.gpu = engine.backend.gpu
        self.verify_max_elements = verify_max_elements
        self.flush: L2Flush | None = None
        self._owns_flush = arena is None
        self.graph: CudaGraph | None = None
        self.b = _Bindings(engine, engine.context_lock)
        try:
            self._setup(seed, arena)
        except BaseException:
            self.close()  # hand the profile and the context back: a failed timer keeps nothing
            raise

    def _setup(self, seed: int, arena: TrtArena | None) -> None:
        spec = self.engine.spec
        self.n = int(np.prod(self.shape, dtype=np.int64))
        tensor_bytes = self.n * ref.numpy_dtype(spec.dtype).itemsize
        nbytes = self.b.prepare(self.shape, arena.io(tensor_bytes) if arena is not None else None)
        block_n = min(self.n, RANDOM_BLOCK_ELEMENTS)
        self.block = ref.random_input((block_n,), spec.dtype, seed)
        fill_tiled(self.b.d_in, self.block, nbytes, self.b.stream)
        blocked = MODE_START[self.mode] == "blocked"
        self.events = EventTimer(self.b.stream, StreamBlocker(self.gpu) if blocked else None)
        if self.mode == "cold":
            self.flush = L2Flush(self.gpu, self.engine.backend.l2_flush) if arena is None else arena.flush()
        if self.mode == "graph":
            self.b.enqueue()  # TensorRT needs one enqueue after a shape change before capture
            self.b.stream.synchronize()
            self.graph = CudaGraph(self.gpu, self.b.stream, self.b.enqueue)

    def sample(self) -> tuple[float, float]:
        if self.flush is not None:
            self.flush.enqueue(self.b.stream)
            if self.events.blocker is None:
                self.b.stream.synchronize()
        try:
            return self.events.time(self.graph.launch if self.graph is not None else self.b.enqueue)
        except BlockedStartTimeout as exc:  # the timer now starts from idle: sample again (flush included)
            print(f"trt_plugin_bench: {self.engine.spec.operator} {self.mode}: {exc}; timing from idle", file=sys.stderr)
            return self.sample()

    @property
    def start(self) -> str:  # "blocked", or "idle" (also after a blocked start fell back)
        return self.events.start_kind

    @property
    def fallback_reason(self) -> str:
        return self.events.fallback_reason

    def verify(self) -> CheckResult:
        spec = self.engine.spec
        set_pattern(self.b.d_out, ref.poison((1,), spec.dtype), self.b.stream)
        self.b.enqueue()
        # the synchronous copies below go through the legacy stream, which a non-blocking stream
        # is not ordered with: they read finished output only because this waits for the stream
        self.b.stream.synchronize()
        item = ref.numpy_dtype(spec.dtype).itemsize
        if self.n <= self.verify_max_elements:
            out = np.empty(self.n, dtype=ref.numpy_dtype(spec.dtype))
            if self.n:
                cuda.memcpy_dtoh(out, self.b.d_out.ptr)
            return self.engine.check_tiled(out, self.block)  # the input is self.block, repeated
        # large tensors: the first random block in full, then the last block's worth
        b = self.block.size
        head = np.empty(b, dtype=self.block.dtype)
        cuda.memcpy_dtoh(head, self.b.d_out.ptr)
        tail_start = self.n - b
        tail = np.empty(b, dtype=self.block.dtype)
        cuda.memcpy_dtoh(tail, self.b.d_out.ptr + tail_start * item)
        first = self.engine.check(head, self.block)  # the head is one whole block
        if first.ok and ref.tiles_match(tail, head, start=tail_start):
            return dataclasses.replace(first, checked=2 * b)  # the tail is the head's output, bit for bit
        x_tail = self.block[(np.arange(tail_start, self.n) % b)]
        return self.engine.check(np.concatenate([head, tail]), np.concatenate([self.block, x_tail]))

    def close(self) -> None:
        try:
            if self.graph is not None:
                self.graph.close()
                self.graph = None
            if self.flush is not None and self._owns_flush:
                self.flush.free()
            self.flush = None
        finally:
            self.b.free()


class TrtWorker(Worker):
    """A thread's own execution context and stream on the shared engine, in the primary context."""

    def __init__(self, engine: TrtEngine):
        self.engine = engine
        self._current = engine.backend.gpu.current()
        self._current.__enter__()
        try:
            self.b = _Bindings(engine, engine.context_lock)
        except BaseException:
            self._current.__exit__(None, None, None)  # leave this thread's context stack as it was
            raise

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.b.run(x)

    def close(self) -> None:
        try:
            self.b.free()
            del self.b
        finally:
            self._current.__exit__(None, None, None)


class TrtEngine(Engine):
    def __init__(self, backend: TensorRTBackend, engine: trt.ICudaEngine, spec: EngineSpec, deserialize_seconds: float):
        self.backend, self.engine, self.spec = backend, engine, spec
        self.deserialize_seconds = deserialize_seconds
        self.context_lock = threading.Lock()
        self._free_profiles = list(range(engine.num_optimization_profiles))
        lo, _, hi = engine.get_tensor_profile_shape(INPUT, 0)
        if tuple(lo) != spec.min or tuple(hi) != spec.max:
            raise EngineLoadError(
                f"engine profile (min {list(lo)}, max {list(hi)}) does not match its build record "
                f"(min {list(spec.min)}, max {list(spec.max)})"
            )
        if _io_dtype(engine, INPUT) != ref.numpy_dtype(spec.dtype):
            raise EngineLoadError(f"engine input dtype {_io_dtype(engine, INPUT)} does not match {spec.dtype}")
        self._bindings: _Bindings | None = None

    @property
    def tensorrt_layers(self) -> bool:
        return for_engine(self.spec).tensorrt_layers

    def acquire_profile(self) -> int:
        with self.context_lock:
            if not self._free_profiles:
                n = self.engine.num_optimization_profiles
                raise RuntimeError(
                    f"all {n} optimization profiles of this engine are in use: TensorRT 8.6 allows one "
                    "live execution context per profile; build with builder.profiles_per_engine >= the "
                    "number of concurrent contexts"
                )
            return self._free_profiles.pop(0)

    def release_profile(self, index: int) -> None:
        with self.context_lock:
            self._free_profiles.append(index)

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.spec.check_shape(tuple(x.shape))
        if self._bindings is None:
            self._bindings = _Bindings(self, self.context_lock)
        return self._bindings.run(x)

    def timer(self, shape: tuple[int, ...], mode: str, seed: int, verify_max_elements: int,
              arena: TimingArena | None = None) -> Timer:
        if arena is not None and not isinstance(arena, TrtArena):
            raise TypeError(f"a TensorRT timer needs the TensorRT backend's arena, got {type(arena).__name__}")
        return TrtTimer(self, shape, mode, seed, verify_max_elements, arena)

    def worker(self) -> Worker:
        return TrtWorker(self)

    def close(self) -> None:
        if self._bindings is not None:
            self._bindings.free()
            self._bindings = None
