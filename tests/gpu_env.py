"""The GPU suite's gate, shared by its modules: TensorRT and pycuda imported and a GPU present, or
the whole module skipped with the reason (the CPU machines and CI see the reason, not an error)."""

from __future__ import annotations

from types import ModuleType

import pytest


def require_gpu() -> tuple[ModuleType, ModuleType]:
    """(tensorrt, pycuda.driver), initialised; call at module level."""
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed (the optional 'gpu' extra)")
    cuda = pytest.importorskip("pycuda.driver", reason="pycuda is not installed (the optional 'gpu' extra)")
    try:
        cuda.init()
        if cuda.Device.count() == 0:
            raise RuntimeError("no device")
    except Exception as exc:  # noqa: BLE001 - any failure here means "no usable GPU"
        pytest.skip(f"no usable CUDA GPU: {exc}", allow_module_level=True)
    return trt, cuda
