"""A TensorRT engine built and loaded: the builder's configuration (tactic sources, memory pool,
optimization level, one optimization profile per concurrent context), serialization, and the
deserialized engine (TrtEngine) with its profiles, which hands out timers and workers
(trt_runtime).

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tensorrt as trt

from ..core import oracle as ref
from ..core.operators import for_engine
from .base import Engine, EngineLoadError, EngineSpec, Timer, TimingArena, Worker
from .engine_files import discard_corrupt
from .trt_common import INPUT, TRT_MAJOR, BuildError, CapturingLogger
from .trt_network import dynamic_input_profiles, network_flags, populate_network
from .trt_runtime import TrtArena, TrtTimer, TrtWorker, _Bindings


class EngineOwner(Protocol):
    """What an engine uses of the backend that built or loaded it (tensorrt_backend.TensorRTBackend):
    a Protocol, so this module does not import the backend that imports it."""

    runtime: trt.Runtime
    logger: CapturingLogger
    gpu: Any
    l2_flush: str

    def host_work(self, elements: int) -> AbstractContextManager[None]:
        """Host-only work over ``elements`` elements, outside the GPU slot's exclusive hold where large."""


def tactic_sources_without_libraries() -> int:
    """Every tactic source except cuBLAS, cuBLASLt and cuDNN (not needed for pointwise work and
    absent from trt-kit; also keeps engines free of those libraries' versions)."""
    excluded = {"CUBLAS", "CUBLAS_LT", "CUDNN"}
    mask = 0
    for name, member in trt.TacticSource.__members__.items():
        if name not in excluded:
            mask |= 1 << int(member)
    return mask


def build_engine(logger: CapturingLogger, runtime: trt.Runtime, spec: EngineSpec, engine_path: Path,
                 builder_cfg: dict, plugin_namespace: str | None = None) -> dict:
    """Build ``spec``'s network (populate_network; the plugin library already loaded), serialize it
    to ``engine_path`` and check that it deserializes; returns the build facts for the build record."""
    since = logger.mark()  # this build's errors alone in its BuildError (the logger is the process's)
    builder = trt.Builder(logger)
    strongly_typed = TRT_MAJOR >= 10
    network = builder.create_network(network_flags(strongly_typed))
    weakly_typed_half = spec.dtype == "fp16" and not strongly_typed
    keep: list = []
    try:
        populate_network(network, spec, weakly_typed_half, keep, plugin_namespace=plugin_namespace)
    except BuildError as exc:  # a creator that refuses says why in TensorRT's log (the plugin logs there)
        raise BuildError(f"{exc}: {logger.errors(since)}") from None
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
        for name, lo, opt, hi in dynamic_input_profiles(for_engine(spec), spec):  # input 0 and the others' rules
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    build_seconds = time.perf_counter() - t0
    if serialized is None:
        raise BuildError(f"TensorRT failed to build {spec.operator}/{spec.dtype}/{spec.profile}: {logger.errors(since)}")
    blob = bytes(serialized)
    Path(engine_path).write_bytes(blob)
    engine = runtime.deserialize_cuda_engine(blob)
    if engine is None:
        raise BuildError(f"the engine just built does not deserialize: {logger.errors(since)}")
    return {
        "build_seconds": build_seconds,
        "builder": f"TensorRT {trt.__version__}",
        "strongly_typed": strongly_typed,
        "layers": _engine_layers(engine),
    }


def deserialize_engine(backend: EngineOwner, engine_path: Path, spec: EngineSpec) -> TrtEngine:
    """The engine at ``engine_path``, whose build record says it computes ``spec`` (its plugin
    library already loaded). One that TensorRT refuses, or whose profile or dtype is not what the
    record says, is removed with its record and golden output (engine_files.discard_corrupt)."""
    t0 = time.perf_counter()
    engine = backend.runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
    seconds = time.perf_counter() - t0
    if engine is None:
        raise discard_corrupt(engine_path, f"TensorRT {trt.__version__} could not deserialize it: "
                                           f"{backend.logger.errors()}")
    try:
        return TrtEngine(backend, engine, spec, seconds)
    except EngineLoadError as exc:  # its profile or dtype is not what the record says
        raise discard_corrupt(engine_path, exc) from exc


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


class TrtEngine(Engine):
    def __init__(self, backend: EngineOwner, engine: trt.ICudaEngine, spec: EngineSpec, deserialize_seconds: float):
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
        return self.infer_all(x)[0]

    def infer_all(self, x: np.ndarray) -> list[np.ndarray]:
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
