"""ReLU's Python side, named by relu.yaml: the float64 reference, the CPU implementation, the
TensorRT layer (its native twin: relu is a native operator) and the cost model. ReLU is exact
(0 ulps) in every dtype. Loaded by the spec loader (trt_plugin_bench.core.specs) from this folder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from trt_plugin_bench.core.elementwise import unary_cost


def relu64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(x), np.nan, np.maximum(x, 0.0))


def relu_float32(x32: np.ndarray) -> np.ndarray:
    """The CPU implementation: max(x, 0) in float32, NaN kept."""
    x32 = np.asarray(x32, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(x32), x32, np.maximum(x32, np.float32(0))).astype(np.float32)


def relu_twin(trt, network, inputs, dtype: str, keep: list) -> list:  # noqa: ANN001 - TensorRT objects
    """TensorRT's ReLU activation layer."""
    return [network.add_activation(inputs[0], trt.ActivationType.RELU)]


def relu_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    return unary_cost(shapes, dtype, 1)  # max(x, 0)
