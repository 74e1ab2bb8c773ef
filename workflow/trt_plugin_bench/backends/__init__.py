"""One backend interface (base.Backend), two implementations: TensorRT and the CPU reference."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from .base import Backend, BackendUnavailable

if TYPE_CHECKING:
    from ..core.settings import ReferenceSettings
    from ..device.gpu_slot import HostWork

BACKENDS = ("tensorrt", "reference")


def tensorrt_version() -> str | None:
    """The importable TensorRT's version, or None. Reads only the module, touches no GPU."""
    if importlib.util.find_spec("tensorrt") is None:
        return None
    try:
        import tensorrt

        return str(tensorrt.__version__)
    except Exception:  # a broken install is the same as none here; resolve() says why
        return None


def resolve_backend_name(requested: str) -> str:
    """'auto' -> tensorrt when TensorRT imports and a CUDA GPU answers, else reference."""
    if requested in BACKENDS:
        return requested
    if requested != "auto":
        raise ValueError(f"unknown backend {requested!r}; allowed values: auto, {', '.join(BACKENDS)}")
    if tensorrt_version() is None:
        return "reference"
    try:
        import pycuda.driver as cuda

        cuda.init()
        return "tensorrt" if cuda.Device.count() > 0 else "reference"
    except Exception:
        return "reference"


def get_backend(name: str, l2_flush: str = "clean", reference: ReferenceSettings | None = None,
                slot: HostWork | None = None) -> Backend:
    """Instantiate a backend by resolved name; TensorRT is imported only here, only on request.
    ``l2_flush``: timing.l2_flush, the GPU cold mode's flush (cuda_utils.L2Flush; the CPU backend's
    flush is a numpy pass over its own buffer). ``reference``: config reference, the CPU reference
    backend's limits (Backend.max_elements and the rest; None: the schema's defaults). ``slot``: the
    command's GPU slot (gpu_slot.GpuSlot), which the TensorRT backend's timers step out of for host
    work (None: none held; the CPU reference backend holds none)."""
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend(reference)
    if name == "tensorrt":
        try:
            from .tensorrt_backend import TensorRTBackend
        except ImportError as exc:
            raise BackendUnavailable(
                "backend 'tensorrt' needs the tensorrt and pycuda packages (the optional 'gpu' "
                f"extra: pip install -e '.[gpu]'): {exc}"
            ) from exc
        return TensorRTBackend(l2_flush) if slot is None else TensorRTBackend(l2_flush, slot)
    raise ValueError(f"unknown backend {name!r}; allowed values: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "BackendUnavailable", "get_backend", "resolve_backend_name", "tensorrt_version"]
