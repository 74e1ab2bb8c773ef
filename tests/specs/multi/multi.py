"""Three test operators (not product ops) of the spec model's several inputs, weights and outputs:
their float64 references, CPU implementations, native twins (never built on the CPU backend) and
cost models. tests/test_spec_model.py runs each through the small DAG on the CPU."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


def _n(shape: Sequence[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


# -- bias_add: y = x + b, b of shape [1, H] broadcast over the rows of x [N, H] ---------------------
def bias_add64(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64) + np.asarray(b, dtype=np.float64)


def bias_add_float32(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.asarray(x, dtype=np.float32) + np.asarray(b, dtype=np.float32)).astype(np.float32)


def bias_add_twin(trt, network, inputs, dtype: str, keep: list) -> list:  # noqa: ANN001
    return [network.add_elementwise(inputs[0], inputs[1], trt.ElementWiseOperation.SUM)]


def bias_add_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    """x and b read, y (x's shape) written."""
    x, b = shapes[0], shapes[1]
    return {"bytes": (2 * _n(x) + _n(b)) * ITEMSIZE[dtype], "flops": _n(x)}


# -- row_norm: y = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (weights gamma, beta)
def row_norm64(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + float(np.float32(eps))) * gamma + beta


def row_norm_float32(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """fp32 accumulation, as a kernel for fp16 I/O does."""
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=-1, keepdims=True, dtype=np.float32)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True, dtype=np.float32)
    return ((x - mean) / np.sqrt(var + np.float32(eps)) * gamma + beta).astype(np.float32)


def row_norm_twin(trt, network, inputs, dtype: str, keep: list, eps: float = 1e-5) -> list:  # noqa: ANN001
    """TensorRT's normalization layer over the last axis, gamma and beta reshaped to [1, .., H]."""
    x, gamma, beta = inputs
    rank = len(x.shape)
    layers = []
    for w in (gamma, beta):
        shuffle = network.add_shuffle(w)
        shuffle.reshape_dims = (1,) * (rank - 1) + (w.shape[-1],)
        layers.append(shuffle)
    norm = network.add_normalization(x, layers[0].get_output(0), layers[1].get_output(0), 1 << (rank - 1))
    norm.epsilon = eps
    return [*layers, norm]


def row_norm_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    """x read, y written, gamma and beta read once: the bytes of a row reduction with weights."""
    x, gamma, beta = shapes
    return {"bytes": 2 * _n(x) * ITEMSIZE[dtype] + (_n(gamma) + _n(beta)) * ITEMSIZE[dtype], "flops": 8 * _n(x)}


# -- add_and_sum: h = x + r and s = row sums of h: two outputs, one of them a reduction ---------------
def add_and_sum64(x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(x, dtype=np.float64) + np.asarray(r, dtype=np.float64)
    return h, h.sum(axis=-1)


def add_and_sum_float32(x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = (np.asarray(x, dtype=np.float32) + np.asarray(r, dtype=np.float32)).astype(np.float32)
    return h, h.astype(np.float64).sum(axis=-1).astype(np.float32)


def rows(shapes: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The output shape of a row reduction: x's shape without its last axis."""
    return tuple(shapes[0][:-1])


def add_and_sum_twin(trt, network, inputs, dtype: str, keep: list) -> list:  # noqa: ANN001
    """h = x + r (an elementwise sum) and s = its sum over the last axis (a reduce): the twin's last
    two layers give the two outputs, in order."""
    x, r = inputs
    h = network.add_elementwise(x, r, trt.ElementWiseOperation.SUM)
    s = network.add_reduce(h.get_output(0), trt.ReduceOperation.SUM, 1 << (len(x.shape) - 1), False)
    return [h, s]


def add_and_sum_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    """x and r read, h written, s (one value a row) written."""
    x, r = shapes
    return {"bytes": (_n(x) + _n(r) + _n(x) + _n(x[:-1])) * ITEMSIZE[dtype], "flops": 2 * _n(x)}
