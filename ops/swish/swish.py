"""Swish's Python side, named by the specs beside it (swish_plugin*.yaml, swish_native.yaml): its
float64 reference, the numerics contract's per-element bound (the tolerance model), what the CPU
reference backend computes, the TensorRT-native twin and the cost model. Loaded by the spec loader
(trt_plugin_bench.core.specs) from this folder, exactly as an external spec's module is.

Swish(x) = x * sigmoid(beta x); beta is the specs' field (value_from: beta, config beta).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from trt_plugin_bench.core.elementwise import constant, unary_cost
from trt_plugin_bench.core.oracle import ulp

# The numerics contract (shared with the C++ kernel check, plugin/tests/swishKernelCheck.cu: keep
# the constants identical). Swish bounds in ulps of the output dtype. fp16/bf16: fp32 compute then
# one round to nearest (<= 0.5 ulp + the fp32 error). fp32: BASE + (E + Z |z|) (1 - sigmoid(z)),
# z = beta * x: ex2.approx's 2 ulp of e (the instruction behind __expf's documented 2 +
# floor(1.173 |z|)) and the roundings of the argument (|z| 2^-24 relative), each doubled on the way
# into ulps of the output (which may sit at the top of its binade), reaching sigmoid(z) = 1/(1+e^-z)
# scaled by 1 - sigmoid(z) (so it vanishes where the sigmoid saturates at 1); BASE: rcp.approx's
# 1 ulp of the sigmoid, the roundings of 1 + e and of the product: 2.5 ulps where the sigmoid
# saturates (the kernels' math: plugin/swishPlugin/swishPluginKernel.cu, fastSwish).
HALF_BOUND_ULPS = 1.0
FP32_BASE_ULPS = 3.0
FP32_E_ULPS = 4.0
FP32_Z_ULPS = 3.4
# TensorRT's own layers (swish_native) are held to what they are, not to the contract:
# - they flush denormals, of results and of intermediates (on the H200, TensorRT 8.6.1: sigmoid x
#   mul gives -0 at x = -88.5, where the sigmoid is subnormal but the result -3.2e-37 is normal):
#   the spec declares ftz for that side (oracle.check_output's flush allowance);
# - in fp16/bf16 the sigmoid runs in the I/O dtype (seen: 8.6 fp16 ulps at x = -10.3, 10.7 at
#   x = -8.75) and the product rounds once more. TensorRT documents no accuracy for it; the error
#   grows with |z| as the contract's fp32 exp does (the exponent's argument is rounded in the I/O
#   dtype), so the sigmoid is held to the contract's own fp32 model, in ulps of the I/O dtype:
#   BASE + (E + Z |z|)(1 - sigmoid(z)) ulps of the sigmoid, times |x| into ulps of the result, + 1.
#
# The specs' edge values: signed zeros, subnormals (1e-38 in fp32/bf16; 1e-6 in fp16, where 1e-38
# is 0), the saturating sigmoid, the far fp32 tail where exp(-x) overflows and the result is
# subnormal (-88.5 ... -100), fp16's large values, infinities and NaN.


def swish64(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """x * sigmoid(beta x) in float64. -inf gives NaN (-inf * 0), as TensorRT's sigmoid x mul does."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        z = beta * x
        sig = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
        return x * sig


def swish_ulp_bound(x64: np.ndarray, dtype: str, tensorrt_layers: bool = False, beta: float = 1.0) -> np.ndarray:
    """The tolerance model: per element, the largest error (in ulps of ``dtype``) the contract
    accepts; ``tensorrt_layers``: TensorRT's own layers' side (see the notes above)."""
    x64 = np.asarray(x64, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        z = beta * x64
        a = np.abs(z)
        e = np.exp(-a)
        one_minus_sigmoid = np.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))  # sigmoid(-z), stably
        exp_model = FP32_BASE_ULPS + (FP32_E_ULPS + FP32_Z_ULPS * a) * one_minus_sigmoid
        if dtype == "fp32":
            return exp_model
        bound = np.full(x64.shape, HALF_BOUND_ULPS)
        if not tensorrt_layers:
            return bound
        sigmoid = 1.0 - one_minus_sigmoid
        ref = x64 * sigmoid
        # the sigmoid's error, times |x|, in ulps of the result; then the product's own rounding (+0.5, +0.5 spare)
        propagated = 1.0 + np.abs(x64) * exp_model * ulp(sigmoid, dtype) / ulp(ref, dtype)
        return np.maximum(bound, np.where(np.isfinite(propagated), propagated, bound))


def _describe(dtype: str, tensorrt_layers: bool = False) -> str:
    if dtype != "fp32":
        if tensorrt_layers:
            return (f"max({HALF_BOUND_ULPS:g}, 1 + |x| b(z) ulp(sigmoid)/ulp(ref)) ulp, b(z) = "
                    f"{FP32_BASE_ULPS:g} + ({FP32_E_ULPS:g} + {FP32_Z_ULPS:g}|z|)(1-sigmoid(z)) "
                    "(TensorRT's layers: sigmoid in the I/O dtype)")
        return f"{HALF_BOUND_ULPS:g} ulp"
    return f"{FP32_BASE_ULPS:g} + ({FP32_E_ULPS:g} + {FP32_Z_ULPS:g}|z|)(1-sigmoid(z)) ulp"


swish_ulp_bound.describe = _describe  # type: ignore[attr-defined]


def swish_float32(x32: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """The CPU implementation: float32 math, as a GPU kernel computes it. The sigmoid is taken from
    exp(-|beta x|), which cannot overflow: 1/(1 + exp(-beta x)) is 0 once exp overflows
    (beta x < -88.7), where x * sigmoid(beta x) is still a normal fp32 (x = -89 gives -2e-37)
    that the ulp bound holds it to."""
    x32 = np.asarray(x32, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        z = np.float32(beta) * x32
        e = np.exp(-np.abs(z))
        one = np.float32(1)
        y = x32 * np.where(z >= 0, one / (one + e), e / (one + e))
    return y.astype(np.float32)


def swish_twin(trt, network, inputs, dtype: str, keep: list, beta: float = 1.0) -> list:  # noqa: ANN001
    """x * sigmoid(beta x): a sigmoid activation and an elementwise product (and beta's product)."""
    x = inputs[0]
    layers = []
    scaled = x
    if beta != 1.0:
        layers.append(network.add_elementwise(x, constant(trt, network, beta, len(x.shape), dtype, keep),
                                              trt.ElementWiseOperation.PROD))
        scaled = layers[-1].get_output(0)
    layers.append(network.add_activation(scaled, trt.ActivationType.SIGMOID))
    layers.append(network.add_elementwise(x, layers[-1].get_output(0), trt.ElementWiseOperation.PROD))
    return layers


def swish_cost(shapes: Sequence[Sequence[int]], dtype: str) -> dict:
    return unary_cost(shapes, dtype, 5)  # beta x, exp, 1 + e, reciprocal, x s (exp counted once)
