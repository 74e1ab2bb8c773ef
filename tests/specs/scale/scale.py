"""The test operator scale (scale.yaml): y = gain * x, and a twin that flushes small results to zero."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def scale64(x: np.ndarray, gain: float = 1000.0) -> np.ndarray:
    return float(np.float32(gain)) * np.asarray(x, dtype=np.float64)


def scale_float32(x: np.ndarray, gain: float = 1000.0) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.float32(gain) * np.asarray(x, dtype=np.float32)


def scale_float32_overflow_wrong(x: np.ndarray, gain: float = 1000.0) -> np.ndarray:
    """A wrong implementation: saturates at the fp16 maximum instead of overflowing (as a clamp would)."""
    y = scale_float32(x, gain)
    return np.clip(y, -65504.0, 65504.0).astype(np.float32)


def scale_twin(trt, network, inputs, dtype: str, keep: list, gain: float = 1000.0) -> list:  # noqa: ANN001
    weights = np.full((1,) * len(inputs[0].shape), gain, dtype=np.float16 if dtype == "fp16" else np.float32)
    keep.append(weights)
    c = network.add_constant(weights.shape, trt.Weights(weights)).get_output(0)
    return [network.add_elementwise(inputs[0], c, trt.ElementWiseOperation.PROD)]


def scale_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    n = int(np.prod(tuple(shapes[0]), dtype=np.int64))
    item = {"fp32": 4, "fp16": 2, "bf16": 2}[dtype]
    return {"bytes": 2 * n * item, "flops": n}


def scale_float32_ftz(x: np.ndarray, gain: float = 1000.0) -> np.ndarray:
    """scale_float32 with every result below fp16's smallest normal flushed to zero: what TensorRT's
    own layers do to subnormal fp16 results (scale_ftz_native runs fp16 only)."""
    y = scale_float32(x, gain)
    return np.where(np.abs(y) < np.float32(2.0**-14), np.float32(0.0), y).astype(np.float32)
