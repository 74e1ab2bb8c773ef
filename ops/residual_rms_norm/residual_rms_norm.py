"""The fused residual add + RMSNorm's Python side, named by the specs beside it
(residual_rms_norm_plugin*.yaml, residual_rms_norm_native.yaml): the float64 reference, what the CPU
reference backend computes, the TensorRT-native twin (TensorRT 8.6 has no RMSNorm layer: a
reduce/elementwise graph) and the cost model.

h = x + r;  y = h / sqrt(mean(h^2) + eps) * gamma over the last axis; outputs y and h (the residual
stream); gamma is the spec's weight ([hidden]); eps the field (float32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from trt_plugin_bench.core.elementwise import constant

ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}
# FLOPs an element (plugin/residualRmsNormPlugin/residualRmsNormKernel.cu): x + r, h^2 (an fma), h * rstd, * gamma
FLOPS_PER_ELEMENT = 5


def _eps32(eps: float) -> float:
    """eps as the plugin holds it (a float32 field), refused as the plugin refuses it: not finite or <= 0."""
    e = float(np.float32(eps))
    if not (np.isfinite(e) and e > 0.0):
        raise ValueError(f"eps must be finite and > 0 (as the plugin's field), got {eps}")
    return e


def residual_rms_norm64(x: np.ndarray, r: np.ndarray, gamma: np.ndarray,
                        eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The float64 reference: (y, h)."""
    with np.errstate(invalid="ignore", over="ignore"):
        h = np.asarray(x, dtype=np.float64) + np.asarray(r, dtype=np.float64)
        ms = (h * h).mean(axis=-1, keepdims=True)
        y = h / np.sqrt(ms + _eps32(eps)) * np.asarray(gamma, np.float64)
    return y, h


def residual_rms_norm_float32(x: np.ndarray, r: np.ndarray, gamma: np.ndarray,
                              eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """The CPU implementation, the kernels' fp32 math: h = x + r, rstd = rsqrt(sum(h^2)/H + eps),
    y = h rstd gamma (y from the fp32 h, h then rounded to the I/O dtype by the caller)."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        h = (np.asarray(x, dtype=np.float32) + np.asarray(r, dtype=np.float32)).astype(np.float32)
        n = np.float32(h.shape[-1]) if h.ndim else np.float32(1)
        ss = (h * h).sum(axis=-1, keepdims=True, dtype=np.float32)
        rstd = np.float32(1) / np.sqrt(ss / n + np.float32(_eps32(eps)))
        y = h * rstd * np.asarray(gamma, np.float32)
    return y.astype(np.float32), h


def _weakly_typed(trt) -> bool:  # noqa: ANN001
    """TensorRT < 10 (no strongly typed networks): layer precisions are pinned, not derived from types."""
    flags = getattr(trt, "NetworkDefinitionCreationFlag", None)
    return flags is not None and "STRONGLY_TYPED" not in getattr(flags, "__members__", {})


def residual_rms_norm_twin(trt, network, inputs, dtype: str, keep: list, eps: float = 1e-6) -> list:  # noqa: ANN001
    """h = x + r (elementwise sum); ms = mean of h * h over the last axis (reduce AVG, kept); y = h /
    sqrt(ms + eps) * gamma ([H] reshaped to [1, .., 1, H]). The statistics run in fp32 for every I/O
    dtype, as every RMSNorm does (h * h overflows fp16 from |h| > 256): h cast up, sqrt(ms + eps) cast
    back. Those fp32 layers are not in the returned list (the pipeline pins the returned layers of a
    weakly typed fp16 network to fp16); on TensorRT 8.6 they are pinned to fp32 here. The list ends with
    y's layer, then h's: the network's outputs are output 0 of the last two layers, in order (y, h)."""
    x, r, gamma = inputs
    rank = len(x.shape)
    h = network.add_elementwise(x, r, trt.ElementWiseOperation.SUM)
    half = dtype != "fp32"
    pin = half and _weakly_typed(trt)
    stats = h.get_output(0)
    fp32_layers = []
    if half:
        up = network.add_cast(stats, trt.float32)
        fp32_layers.append(up)
        stats = up.get_output(0)
    square = network.add_elementwise(stats, stats, trt.ElementWiseOperation.PROD)
    mean = network.add_reduce(square.get_output(0), trt.ReduceOperation.AVG, 1 << (rank - 1), True)
    plus_eps = network.add_elementwise(mean.get_output(0), constant(trt, network, _eps32(eps), rank, "fp32" if half else dtype,
                                                                    keep), trt.ElementWiseOperation.SUM)
    root = network.add_unary(plus_eps.get_output(0), trt.UnaryOperation.SQRT)
    stat_layers = [square, mean, plus_eps, root]
    rms = root.get_output(0)
    returned = []
    if half:
        fp32_layers += stat_layers
        down = network.add_cast(rms, trt.float16 if dtype == "fp16" else trt.bfloat16)
        rms = down.get_output(0)
        returned.append(down)
    else:
        returned += stat_layers
    if pin:
        for layer in fp32_layers:
            layer.precision = trt.float32
            layer.set_output_type(0, trt.float32)
    normed = network.add_elementwise(h.get_output(0), rms, trt.ElementWiseOperation.DIV)
    g = network.add_shuffle(gamma)
    g.reshape_dims = (1,) * (rank - 1) + (int(gamma.shape[-1]),)
    y = network.add_elementwise(normed.get_output(0), g.get_output(0), trt.ElementWiseOperation.PROD)
    return [*returned, normed, g, y, h]


def _n(shape: Sequence[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


def residual_rms_norm_cost(shapes: Sequence[Sequence[int]], dtype: str, eps: float = 1e-6) -> dict:
    """x and r read, y and h written, gamma read once: 4 N + H elements; FLOPS_PER_ELEMENT a element."""
    _eps32(eps)
    x, r, gamma = shapes
    return {"bytes": (_n(x) + _n(r) + 2 * _n(x) + _n(gamma)) * ITEMSIZE[dtype], "flops": FLOPS_PER_ELEMENT * _n(x)}
