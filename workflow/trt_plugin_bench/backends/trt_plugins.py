"""Plugin libraries: loading them into this process and finding their creators in TensorRT's registry.

Every operator's plugin library, the project's own as any user's, by its spec (load_library_of:
a dlopen registers its creators, with the spec's plugin.init function and registry.load_library as
fallbacks). PluginLibraries keeps every library it opened loaded for the
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

from ..core.operators import KernelIdMismatch, check_kernel_ids
from .base import EngineLoadError
from .trt_common import TRT_MAJOR, CapturingLogger


def creator_lookup(registry: trt.IPluginRegistry | None = None) -> Callable[[str, str, str], object]:
    """``registry``'s (default: the process's) lookup of a creator by (name, version, namespace) in
    this TensorRT: get_plugin_creator is gone in 11; get_creator (10+) also returns V2 creators."""
    registry = registry if registry is not None else trt.get_plugin_registry()
    return registry.get_creator if TRT_MAJOR >= 10 else registry.get_plugin_creator


class PluginLibraries:
    """The plugin libraries this process loaded (dlopen'ed, kept loaded) and how the last one's
    creators came to be registered (``plugin_registration``)."""

    def __init__(self, logger: CapturingLogger) -> None:
        self.logger = logger
        self._ctypes_handles: dict[str, ctypes.CDLL] = {}  # dlopen'ed plugin libraries, kept loaded
        self._checked_libraries: set[str] = set()  # whose kernel ids matched their spec's variants.ids
        self.plugin_registration = ""

    def load_library_of(self, op_spec: object, path: Path | None, namespace: str | None = None) -> None:
        """Load an operator's plugin library (its spec's plugin.library, built where ``path`` says) and
        make sure the spec's creator is registered, once. Every plugin, the project's own included,
        goes this one way.

        ``namespace``: the creator namespace the library was built with; None: the spec's
        plugin.namespace. Another is a second copy (`verdict --rebuild`'s baseline, CMake
        TPB_PLUGIN_NAMESPACE), dlopened RTLD_LOCAL so its names stay out of the process's global
        scope (it binds its own: -Bsymbolic).

        A plain dlopen (RTLD_GLOBAL) registers the creators of a library that registers itself at
        load (REGISTER_TENSORRT_PLUGIN, or a static registrar as plugin/api does) with this process's
        libnvinfer, which ``import tensorrt`` loaded already; registry.load_library is not called in
        the normal case. Fallbacks, only if the creator is still missing: the spec's plugin.init
        function (initLibNvInferPlugins' shape, idempotent), then registry.load_library. A spec with
        kernel variants has its ids file checked against the library's own names (check_kernel_ids)."""
        p = op_spec.plugin  # type: ignore[attr-defined]
        ns = p.namespace if namespace is None else namespace
        where = f"operator spec {op_spec.path}"  # type: ignore[attr-defined]
        if path is None or not Path(path).exists():
            raise EngineLoadError(f"the plugin library {path} of {where} does not exist; run the compile_plugin rule "
                                  "first (or fix its plugin.library)")
        lookup = creator_lookup()

        def registered() -> bool:
            return lookup(p.creator, p.version, ns) is not None

        key = str(Path(path).resolve())
        registered_before = registered()  # this process registered them already (the registry is per process)
        if key not in self._ctypes_handles:
            mode = ctypes.RTLD_GLOBAL if ns == p.namespace else ctypes.RTLD_LOCAL
            try:
                self._ctypes_handles[key] = ctypes.CDLL(key, mode=mode)
            except OSError as exc:
                raise EngineLoadError(f"cannot dlopen plugin library {key} ({where}): {exc}") from exc
        variants = getattr(op_spec, "variants", None)
        if variants is not None and key not in self._checked_libraries:
            try:
                check_kernel_ids(self._ctypes_handles[key], key, variants)
            except KernelIdMismatch as exc:
                raise EngineLoadError(str(exc)) from exc
            self._checked_libraries.add(key)
        if registered_before:
            return
        if registered():
            self.plugin_registration = "dlopen (the library registered its creators at load)"
            return
        # Fallbacks, each said in plugin_registration and on stderr.
        self.plugin_registration = "none registered at load; "
        if p.init:
            init = getattr(self._ctypes_handles[key], p.init)
            init.argtypes, init.restype = [ctypes.c_char_p], ctypes.c_int32
            returned = init(ns.encode())
            did = "registered them" if registered() else "did not"
            self.plugin_registration += f"{p.init} {did} (returned {returned})"
        if not registered():
            unusable = load_library_unusable(trt.__version__, _nvinfer_library_version())
            if unusable:
                self.plugin_registration += f"; registry.load_library not called: {unusable}"
            else:
                handle = trt.get_plugin_registry().load_library(key)
                worked = "registered them" if registered() else "did not register them"
                self.plugin_registration += f"; registry.load_library returned {handle!r} and {worked}"
        print(f"trt_plugin_bench: {self.plugin_registration}", file=sys.stderr)
        if not registered():
            raise EngineLoadError(f"{key} loaded but registered no creator {p.creator} v{p.version} in namespace "
                                  f"{ns!r} ({where}, key 'plugin'): neither loading it, its init function nor "
                                  f"registry.load_library did: {self.logger.errors()}")


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
