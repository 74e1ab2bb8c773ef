"""The HardSwish plugin's Python side, named by hardswish.yaml: its float64 reference, what the CPU
reference backend runs in its place, its TensorRT-native twin and its cost model.

hardswish(x) = alpha * x * clamp(x + 3, 0, 6) / 6, in IEEE arithmetic as written: NaN gives NaN,
+inf gives +inf and -inf gives NaN (-inf * 0), as PyTorch's hardswish does. The spec loader
(trt_plugin_bench.core.specs) imports this module from this folder and calls each function once on a
tiny input before any work; ``alpha`` is the spec's field (default 1.0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}
# x + 3, max, min, / 6, x *, alpha * : what the kernel (hardSwishKernel.cu) does per element
FLOPS_PER_ELEMENT = 6


def hardswish64(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """The float64 reference every output is checked against. alpha is a float32 field: the value
    the plugin receives, np.float32(alpha), is the one the reference scales by."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return float(np.float32(alpha)) * (x * (np.clip(x + 3.0, 0.0, 6.0) / 6.0))


def hardswish_float32(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    """The kernel's arithmetic in float32, operation for operation (fmaxf/fminf: a NaN operand
    gives the other one), which the CPU reference backend times in the plugin's place."""
    x = np.asarray(x, dtype=np.float32)
    three, zero, six = np.float32(3.0), np.float32(0.0), np.float32(6.0)
    with np.errstate(invalid="ignore", over="ignore"):
        gate = np.fmin(np.fmax(x + three, zero), six) / six
        return np.float32(alpha) * (x * gate)


def _constant(trt, network, value: float, rank: int, dtype: str, keep: list):  # noqa: ANN001, ANN202 - TensorRT objects
    """A scalar constant broadcastable against a rank-``rank`` tensor of ``dtype`` (fp32 or fp16)."""
    weights = np.full((1,) * rank, value, dtype=np.float16 if dtype == "fp16" else np.float32)
    keep.append(weights)  # TensorRT reads the weights when it builds, not now
    return network.add_constant(weights.shape, trt.Weights(weights)).get_output(0)


def hardswish_twin(trt, network, inputs, dtype: str, keep: list, alpha: float = 1.0) -> list:  # noqa: ANN001
    """The same math from TensorRT's own elementwise layers, x * (min(max(x + 3, 0), 6) / 6) (and
    alpha's product unless it is 1): the compare rule times the plugin against it. The gate is
    divided by 6 before the product with x, as the kernel does, so fp16's x * 6 cannot overflow."""
    x = inputs[0]
    rank = len(x.shape)
    op = trt.ElementWiseOperation

    def c(value: float):  # noqa: ANN202
        return _constant(trt, network, value, rank, dtype, keep)

    layers = [network.add_elementwise(x, c(3.0), op.SUM)]
    layers.append(network.add_elementwise(layers[-1].get_output(0), c(0.0), op.MAX))
    layers.append(network.add_elementwise(layers[-1].get_output(0), c(6.0), op.MIN))
    layers.append(network.add_elementwise(layers[-1].get_output(0), c(6.0), op.DIV))
    layers.append(network.add_elementwise(x, layers[-1].get_output(0), op.PROD))
    if alpha != 1.0:
        layers.append(network.add_elementwise(layers[-1].get_output(0), c(alpha), op.PROD))
    return layers


def hardswish_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    """One input read and one output of its shape written; FLOPS_PER_ELEMENT per element."""
    n = int(np.prod(tuple(shapes[0]), dtype=np.int64))
    return {"bytes": 2 * n * ITEMSIZE[dtype], "flops": FLOPS_PER_ELEMENT * n}
