"""LayerNorm's Python side, named by the specs beside it (layer_norm_plugin*.yaml, layer_norm_native.yaml):
the float64 reference, what the CPU reference backend computes, the TensorRT-native twin
(INormalizationLayer) and the cost model. Loaded by the spec loader from this folder, as an external
spec's module is.

y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis; gamma and beta are the specs'
weights ([hidden], built into the engine as constants); eps is the field (float32).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}
# FLOPs an element, as the kernel spends them (plugin/layerNormPlugin/layerNormKernel.cu): the sum, d = x - m,
# s1 += d, s2 += d^2 (an fma), d - c, * rstd, the final fma with gamma and beta
FLOPS_PER_ELEMENT = 9


def _eps32(eps: float) -> float:
    """eps as the plugin holds it (a float32 field), refused as the plugin refuses it: not finite or <= 0."""
    e = float(np.float32(eps))
    if not (np.isfinite(e) and e > 0.0):
        raise ValueError(f"eps must be finite and > 0 (as the plugin's field), got {eps}")
    return e


def layer_norm64(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """The float64 reference (two passes over the row: mean, then the mean of squared deviations)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + _eps32(eps)) * np.asarray(gamma, np.float64) + np.asarray(beta, np.float64)


def layer_norm_float32(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """The CPU implementation, operation for operation the kernels' fp32 math: the corrected two-pass
    algorithm (m = sum(x)/H; d = x - m; c = sum(d)/H; var = (sum(d^2) - sum(d) c)/H;
    y = (d - c) rsqrt(var + eps) gamma + beta)."""
    x = np.asarray(x, dtype=np.float32)
    h = np.float32(x.shape[-1]) if x.ndim else np.float32(1)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = x.sum(axis=-1, keepdims=True, dtype=np.float32) / h
        d = x - m
        s1 = d.sum(axis=-1, keepdims=True, dtype=np.float32)
        s2 = (d * d).sum(axis=-1, keepdims=True, dtype=np.float32)
        c = s1 / h
        var = np.maximum((s2 - s1 * c) / h, np.float32(0))
        rstd = np.float32(1) / np.sqrt(var + np.float32(_eps32(eps)))
        y = (d - c) * rstd * np.asarray(gamma, np.float32) + np.asarray(beta, np.float32)
    return y.astype(np.float32)


def layer_norm_twin(trt, network, inputs, dtype: str, keep: list, eps: float = 1e-5) -> list:  # noqa: ANN001
    """TensorRT 8.6's INormalizationLayer over the last axis (axes mask 1 << (rank - 1)), gamma and beta
    reshaped from [H] to [1, .., 1, H]. Computed in fp32 where the bindings allow it
    (compute_precision: TensorRT's own advice for fp16 normalisation, which may overflow otherwise)."""
    x, gamma, beta = inputs
    rank = len(x.shape)
    layers = []
    for w in (gamma, beta):
        shuffle = network.add_shuffle(w)
        shuffle.reshape_dims = (1,) * (rank - 1) + (int(w.shape[-1]),)
        layers.append(shuffle)
    norm = network.add_normalization(x, layers[0].get_output(0), layers[1].get_output(0), 1 << (rank - 1))
    norm.epsilon = _eps32(eps)
    if hasattr(norm, "compute_precision"):
        norm.compute_precision = trt.float32
    return [*layers, norm]


def _n(shape: Sequence[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


def layer_norm_cost(shapes: Sequence[Sequence[int]], dtype: str, eps: float = 1e-5) -> dict:
    """x read, y written, gamma and beta read once: 2 N + 2 H elements; FLOPS_PER_ELEMENT a element."""
    _eps32(eps)
    x, gamma, beta = shapes
    return {"bytes": (2 * _n(x) + _n(gamma) + _n(beta)) * ITEMSIZE[dtype], "flops": FLOPS_PER_ELEMENT * _n(x)}
