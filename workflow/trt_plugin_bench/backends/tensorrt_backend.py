"""The TensorRT backend: builds each operator's engine (a spec's plugin, or TensorRT's own layers
through its native twin), runs and times them.

Written for TensorRT 8.6 (run on the H100 through trt-kit) and 10/11 (IPluginV3, bf16, strongly
typed networks: written from NVIDIA's documentation, guarded by the major version). The
differences live in small functions, each named for what it adapts, in the modules that do each
job; this one is the Backend that composes them:

- trt_common: the TensorRT major version, tensor names, BuildError, CapturingLogger, process_logger (the one logger)
- trt_network: the network (input, plugin layer or native twin, output)
- trt_plugins: plugin libraries loaded into the process, creators looked up in the registry
- trt_engine: build (builder config, profiles, tactic sources, serialize) and deserialize (TrtEngine)
- trt_runtime: execution contexts, buffers, timers, workers
- ..calibration: the copy ceiling and launch floors (cuda_utils only, no TensorRT)

Their public names stay importable from here. tensorrt and pycuda are imported by these modules
only, which backends.get_backend imports only on request.
"""

from __future__ import annotations

import platform
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pycuda.driver as cuda
import tensorrt as trt

from ..core.operators import for_engine, tensorrt_support
from ..core.records import CalibrationRow, DeviceInfo
from ..device.cuda_utils import NON_BLOCKING, CudaGraph, DeviceBuffer, GpuContext
from ..device.gpu_slot import NO_SLOT, HostWork
from .base import Backend, Engine, EngineLoadError, EngineSpec, read_build_record
from .engine_files import discard_corrupt
from .trt_common import (
    INPUT,
    OUTPUT,
    TRT_MAJOR,
    BuildError,
    CapturingLogger,
    process_logger,
)
from .trt_engine import TrtEngine, build_engine, deserialize_engine, tactic_sources_without_libraries
from .trt_network import FIELD_TYPES, TRT_DTYPE, check_creator_fields, network_flags, populate_network
from .trt_plugins import PluginLibraries, _nvinfer_library_version, creator_lookup, load_library_unusable
from .trt_runtime import MODES, RANDOM_BLOCK_ELEMENTS, TrtArena, TrtTimer, TrtWorker

# Host work over fewer elements than this (4 Mi: tens of milliseconds) is done inside the GPU slot's
# hold: stepping out and back in would cost more than it frees.
HOST_WORK_MIN_ELEMENTS = 1 << 22


class TensorRTBackend(Backend):
    name = "tensorrt"
    timing_clock = "cuda_event"
    modes = MODES

    def __init__(self, l2_flush: str = "clean", slot: HostWork = NO_SLOT) -> None:
        self.gpu = GpuContext(0)
        self.l2_flush = l2_flush  # timing.l2_flush: what the cold mode's flush leaves in the L2 (cuda_utils.L2Flush)
        self.slot = slot  # the command's GPU slot (gpu_slot.GpuSlot): host_work steps out of it
        self.logger = process_logger()  # TensorRT keeps one logger per process (trt_common.process_logger)
        self.runtime = trt.Runtime(self.logger)
        self.plugins = PluginLibraries(self.logger)  # dlopen'ed plugin libraries, kept loaded

    @contextmanager
    def host_work(self, elements: int) -> Iterator[None]:
        """Host-only work over ``elements`` elements (drawing inputs with the spec's generators, the
        float64 check of an output): from HOST_WORK_MIN_ELEMENTS on (tenths of a second and more),
        outside the GPU slot's exclusive hold (gpu_slot.GpuSlot.host_work), once every stream of this
        context has finished (nothing of this process runs on the GPU while another job may);
        smaller work, and any without a slot (NO_SLOT), where it is. The caller launches nothing inside."""
        if elements < HOST_WORK_MIN_ELEMENTS or self.slot is NO_SLOT:
            yield
            return
        cuda.Context.synchronize()
        with self.slot.host_work():
            yield

    # -- facts -------------------------------------------------------------------------------
    def device_info(self) -> DeviceInfo:
        from ..device.gpu_state import driver_version

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

    @property
    def max_tensor_elements(self) -> int | None:
        """TensorRT 8.6 counts a tensor's elements in 32 bits: above 2^31 - 1 it can neither build
        nor run it (10 and later count in 64 bits)."""
        return (1 << 31) - 1 if TRT_MAJOR < 10 else None

    def support(self, operator: str, dtype: str) -> str | None:
        return tensorrt_support(operator, dtype, TRT_MAJOR)

    # -- plugin library ----------------------------------------------------------------------
    @property
    def plugin_registration(self) -> str:
        """How the last plugin library's creators came to be registered (trt_plugins.PluginLibraries)."""
        return self.plugins.plugin_registration

    def load_library_of(self, op_spec: object, path: Path | None, namespace: str | None = None) -> None:
        """An operator's plugin library loaded and its creator registered, once (see
        trt_plugins.PluginLibraries.load_library_of); ``namespace`` None: the spec's."""
        self.plugins.load_library_of(op_spec, path, namespace)

    # -- build -------------------------------------------------------------------------------
    def build(self, spec: EngineSpec, engine_path: Path, plugin_library: Path | None, builder_cfg: dict,
              plugin_namespace: str | None = None) -> dict:
        """``plugin_namespace``: whose creators build the plugin layer (the engine then names it, and
        deserializes with that library's code): None the spec's own, another a baseline copy's."""
        reason = self.support(spec.operator, spec.dtype)
        if reason:
            raise BuildError(reason)
        op_spec = for_engine(spec)
        if op_spec.uses_plugin:
            self.load_library_of(op_spec, plugin_library, plugin_namespace)
        return build_engine(self.logger, self.runtime, spec, engine_path, builder_cfg, plugin_namespace)

    # -- load --------------------------------------------------------------------------------
    def load(self, engine_path: Path, plugin_library: Path | None, plugin_namespace: str | None = None) -> Engine:
        """The engine, checked against its build record. An engine that fails (changed since it
        was built, refused by this TensorRT, or not what its record says) is removed with its
        record and golden output, so the next `snakemake` run rebuilds it. A plugin library that
        fails to load is not the engine's fault: that error leaves the engine alone."""
        try:
            record = read_build_record(engine_path)
            spec = EngineSpec.from_json(record["spec"])
        except (EngineLoadError, KeyError, TypeError) as exc:
            raise discard_corrupt(engine_path, exc) from exc
        op_spec = for_engine(spec)
        if op_spec.uses_plugin:  # the library its build record names where it still is, else the caller's
            own = Path(record["plugin_library"]) if record.get("plugin_library") else None
            self.load_library_of(op_spec, own if own is not None and own.is_file() else plugin_library, plugin_namespace)
        return deserialize_engine(self, engine_path, spec)

    # -- calibration -------------------------------------------------------------------------
    def arena(self) -> TrtArena:
        return TrtArena(self.gpu, self.l2_flush)

    def calibrate(self, copy_mib: list[int], rule: object) -> list[CalibrationRow]:
        """The copy ceiling and launch floors on this GPU (calibration.gpu_calibration)."""
        from ..device.calibration import gpu_calibration

        return gpu_calibration(self.gpu, copy_mib, rule, self.name, self.timing_clock,  # type: ignore[arg-type]
                               self.l2_flush)


__all__ = [
    "FIELD_TYPES", "INPUT", "MODES", "NON_BLOCKING", "OUTPUT",
    "RANDOM_BLOCK_ELEMENTS", "TRT_DTYPE", "TRT_MAJOR", "BuildError", "CapturingLogger", "CudaGraph", "DeviceBuffer",
    "process_logger",
    "EngineLoadError", "EngineSpec", "TensorRTBackend", "TrtArena", "TrtEngine", "TrtTimer", "TrtWorker",
    "_nvinfer_library_version", "check_creator_fields", "creator_lookup", "cuda", "load_library_unusable",
    "network_flags", "populate_network", "tactic_sources_without_libraries", "trt",
]
