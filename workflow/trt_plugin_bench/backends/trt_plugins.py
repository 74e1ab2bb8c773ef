"""Plugin libraries: loading them into this process and finding their creators in TensorRT's registry.

The project's Swish library (load_plugin_library: a dlopen registers its creators, with the
library's initSwishPlugins and registry.load_library as fallbacks) and an operator spec's own
library (load_spec_library). PluginLibraries keeps every library it opened loaded for the
process's life, as TensorRT needs for the engines built or deserialized with them.

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from pathlib import Path

import tensorrt as trt

from ..operators import KernelIdMismatch, check_kernel_ids
from .base import EngineLoadError
from .trt_common import PLUGIN_NAME, PLUGIN_NAMESPACE, PLUGIN_VERSION, TRT_MAJOR, CapturingLogger


def creator_lookup(registry: trt.IPluginRegistry | None = None) -> Callable[[str, str, str], object]:
    """``registry``'s (default: the process's) lookup of a creator by (name, version, namespace) in
    this TensorRT: get_plugin_creator is gone in 11; get_creator (10+) also returns V2 creators."""
    registry = registry if registry is not None else trt.get_plugin_registry()
    return registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator


class PluginLibraries:
    """The plugin libraries this process loaded (dlopen'ed, kept loaded) and how the Swish
    library's creators came to be registered (``plugin_registration``)."""

    def __init__(self, logger: CapturingLogger) -> None:
        self.logger = logger
        self._ctypes_handles: dict[str, ctypes.CDLL] = {}  # dlopen'ed plugin libraries, kept loaded
        self._checked_libraries: set[str] = set()  # whose kernel ids matched KERNEL_IDS
        self.plugin_registration = ""

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

    def load_library_of(self, op_spec: object, path: Path | None, namespace: str) -> None:
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
        lookup = creator_lookup(registry)

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
    return creator_lookup()(PLUGIN_NAME, PLUGIN_VERSION["plugin_v2"], namespace) is not None
