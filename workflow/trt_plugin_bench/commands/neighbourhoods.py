"""The shipped neighbourhoods of the in_network rule: real-model blocks of TensorRT layers, with the
operator between a producer and a consumer (in_network.py; docs/in-network.md).

A neighbourhood is two functions, named in config ``in_network.blocks.<name>`` as ``network`` and
``cpu`` (module:function, or path/file.py:function), like an operator spec's native twin:

- ``network(trt, network, x, dtype, keep, operator, rng) -> tensor``: adds the block's layers on
  input tensor ``x`` to the TensorRT network, calling ``operator(tensor) -> tensor`` where the
  operator goes (the rule passes the plugin layer in one engine, the spec's native twin in the
  other); ``keep`` collects host arrays TensorRT reads at build time, ``rng`` (numpy Generator, one
  seed for both engines) draws the weights, so both engines hold identical weights.
- ``cpu(x, dtype, operator, rng) -> array``: the same block in numpy, the CPU reference backend's
  stand-in (no TensorRT, no fusion, no per-layer times: the rule labels its rows so). Weights drawn
  in the same order as ``network`` draws them.

These name TensorRT layers only, never an operator. TensorRT 8.6 in trt-kit builds without cuBLAS
and cuDNN tactics (backends.trt_engine.tactic_sources_without_libraries), where an
IMatrixMultiplyLayer may find no tactic: ``matmul`` is the GEMM in its 1x1-convolution form (the
form TensorRT's own convolution kernels build, CaskGemmConvolution); ``matmul_mm`` is the
IMatrixMultiplyLayer form, for a TensorRT with cuBLAS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Operator = Callable[[Any], Any]
NORM_EPSILON = 1e-5  # INormalizationLayer's default epsilon


def weight_dtype(dtype: str) -> type:
    """The weights' host type: the block's dtype (a strongly typed network takes no fp32 weights in
    an fp16 layer), fp32 for fp32 and bf16 (numpy has no bf16)."""
    return np.float16 if dtype == "fp16" else np.float32


def _weights(rng: np.random.Generator, out_channels: int, in_channels: int, k: int,
             dtype: str = "fp32") -> tuple[np.ndarray, np.ndarray]:
    """A convolution's weights (He-like scale, so activations stay O(1) through the block) and bias."""
    w = (rng.standard_normal((out_channels, in_channels, k, k)) / np.sqrt(in_channels * k * k)).astype(weight_dtype(dtype))
    b = (0.1 * rng.standard_normal(out_channels)).astype(weight_dtype(dtype))
    return w, b


def _conv(trt, network, x, k: int, dtype: str, keep: list, rng: np.random.Generator, name: str):  # noqa: ANN001, ANN202
    c = int(x.shape[1])
    w, b = _weights(rng, c, c, k, dtype)
    keep += [w, b]
    layer = network.add_convolution_nd(x, c, (k, k), trt.Weights(w), trt.Weights(b))
    layer.padding_nd = (k // 2, k // 2)
    layer.name = name
    return layer.get_output(0)


def _norm(trt, network, x, dtype: str, keep: list, rng: np.random.Generator, name: str):  # noqa: ANN001, ANN202
    """INormalizationLayer over C, H, W (a layer norm of NCHW), scale and bias per channel."""
    c = int(x.shape[1])
    scale = (1.0 + 0.1 * rng.standard_normal((1, c, 1, 1))).astype(weight_dtype(dtype))
    bias = (0.1 * rng.standard_normal((1, c, 1, 1))).astype(weight_dtype(dtype))
    keep += [scale, bias]
    tensors = [network.add_constant(a.shape, trt.Weights(a)).get_output(0) for a in (scale, bias)]
    layer = network.add_normalization(x, tensors[0], tensors[1], 0b1110)
    layer.epsilon = NORM_EPSILON
    layer.name = name
    return layer.get_output(0)


def conv3x3(trt, network, x, dtype: str, keep: list, operator: Operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """conv3x3 (C -> C, pad 1) -> operator -> conv3x3 (C -> C): a ResNet-style block, NCHW."""
    y = _conv(trt, network, x, 3, dtype, keep, rng, "producer.conv3x3")
    y = operator(y)
    return _conv(trt, network, y, 3, dtype, keep, rng, "consumer.conv3x3")


def matmul(trt, network, x, dtype: str, keep: list, operator: Operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """(M, K) @ W1 (K x K) -> operator on (M, K) -> @ W2 (K x K), each GEMM as a 1x1 convolution of
    (M, K, 1, 1): TensorRT 8.6 without cuBLAS builds it (CaskGemmConvolution); shuffles reshape."""
    m, k = (int(d) for d in x.shape)

    def reshape(t, dims, name):  # noqa: ANN001, ANN202
        layer = network.add_shuffle(t)
        layer.reshape_dims = dims
        layer.name = name
        return layer.get_output(0)

    y = _conv(trt, network, reshape(x, (m, k, 1, 1), "producer.to_nchw"), 1, dtype, keep, rng, "producer.gemm")
    y = operator(reshape(y, (m, k), "producer.to_mk"))
    y = _conv(trt, network, reshape(y, (m, k, 1, 1), "consumer.to_nchw"), 1, dtype, keep, rng, "consumer.gemm")
    return reshape(y, (m, k), "consumer.to_mk")


def matmul_mm(trt, network, x, dtype: str, keep: list, operator: Operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """(M, K) @ W1 -> operator -> @ W2 with IMatrixMultiplyLayer and constant weights. TensorRT 8.6
    without cuBLAS may find no tactic for it (the build then fails saying so): use matmul there."""
    k = int(x.shape[1])

    def mm(t, name):  # noqa: ANN001, ANN202
        w, _ = _weights(rng, k, k, 1, dtype)
        w = np.ascontiguousarray(w.reshape(k, k).T)
        keep.append(w)
        const = network.add_constant((k, k), trt.Weights(w)).get_output(0)
        layer = network.add_matrix_multiply(t, trt.MatrixOperation.NONE, const, trt.MatrixOperation.NONE)
        layer.name = name
        return layer.get_output(0)

    return mm(operator(mm(x, "producer.matmul")), "consumer.matmul")


def norm_after(trt, network, x, dtype: str, keep: list, operator: Operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """conv3x3 -> operator -> normalization (over C, H, W): the normalisation after the operator."""
    y = operator(_conv(trt, network, x, 3, dtype, keep, rng, "producer.conv3x3"))
    return _norm(trt, network, y, dtype, keep, rng, "consumer.norm")


def norm_before(trt, network, x, dtype: str, keep: list, operator: Operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """normalization (over C, H, W) -> operator -> conv3x3: the normalisation before the operator."""
    y = operator(_norm(trt, network, x, dtype, keep, rng, "producer.norm"))
    return _conv(trt, network, y, 3, dtype, keep, rng, "consumer.conv3x3")


# -- the numpy stand-ins (CPU reference backend): float32 math, rounded to the dtype between layers
def _round(a: np.ndarray, dtype: str) -> np.ndarray:
    return a.astype(np.float16) if dtype == "fp16" else a.astype(np.float32)


def conv_np(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NCHW convolution, stride 1, 'same' padding (k // 2), in float32."""
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # N, C, H, W, k, k
    y = np.tensordot(win, w.astype(np.float32), axes=([1, 4, 5], [1, 2, 3]))  # N, H, W, O
    return (np.moveaxis(y, -1, 1) + b.reshape(1, -1, 1, 1)).astype(np.float32)


def _conv_cpu(x: np.ndarray, k: int, dtype: str, rng: np.random.Generator) -> np.ndarray:
    w, b = _weights(rng, x.shape[1], x.shape[1], k, dtype)
    return _round(conv_np(x, w, b), dtype)


def _norm_cpu(x: np.ndarray, dtype: str, rng: np.random.Generator) -> np.ndarray:
    c = x.shape[1]
    scale = (1.0 + 0.1 * rng.standard_normal((1, c, 1, 1))).astype(weight_dtype(dtype)).astype(np.float32)
    bias = (0.1 * rng.standard_normal((1, c, 1, 1))).astype(weight_dtype(dtype)).astype(np.float32)
    x32 = x.astype(np.float32)
    mean = x32.mean(axis=(1, 2, 3), keepdims=True)
    var = x32.var(axis=(1, 2, 3), keepdims=True)
    return _round((x32 - mean) / np.sqrt(var + NORM_EPSILON) * scale + bias, dtype)


def conv3x3_cpu(x: np.ndarray, dtype: str, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    return _conv_cpu(operator(_conv_cpu(x, 3, dtype, rng)), 3, dtype, rng)


def matmul_cpu(x: np.ndarray, dtype: str, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    def gemm(a: np.ndarray) -> np.ndarray:
        w, b = _weights(rng, a.shape[1], a.shape[1], 1, dtype)
        return _round(a.astype(np.float32) @ w.reshape(w.shape[0], -1).T.astype(np.float32) + b, dtype)

    return gemm(operator(gemm(x)))


def matmul_mm_cpu(x: np.ndarray, dtype: str, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    def mm(a: np.ndarray) -> np.ndarray:
        w, _ = _weights(rng, a.shape[1], a.shape[1], 1, dtype)
        return _round(a.astype(np.float32) @ w.reshape(w.shape[0], -1).T.astype(np.float32), dtype)

    return mm(operator(mm(x)))


def norm_after_cpu(x: np.ndarray, dtype: str, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    return _norm_cpu(operator(_conv_cpu(x, 3, dtype, rng)), dtype, rng)


def norm_before_cpu(x: np.ndarray, dtype: str, operator: Operator, rng: np.random.Generator) -> np.ndarray:
    return _conv_cpu(operator(_norm_cpu(x, dtype, rng)), 3, dtype, rng)


__all__ = ["weight_dtype", "conv3x3", "conv3x3_cpu", "conv_np", "matmul", "matmul_cpu", "matmul_mm", "matmul_mm_cpu", "norm_after",
           "norm_after_cpu", "norm_before", "norm_before_cpu"]
