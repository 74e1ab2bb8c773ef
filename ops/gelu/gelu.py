"""GELU's Python side, named by the specs beside it (gelu_plugin*.yaml, gelu_tanh_plugin*.yaml,
gelu_native.yaml, gelu_tanh_native.yaml): its float64 reference, the numerics contract's per-element
bound (the tolerance model), what the CPU reference backend computes, the TensorRT-native twin and the
cost model. Loaded by the spec loader (trt_plugin_bench.core.specs) from this folder, as an external spec's is.

GELU(x) = x Phi(x). The specs' field ``approximation`` picks the form (plugin/geluPlugin/README.md):
  0, the erf form:  0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2)
  1, the tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2 / pi) (x + 0.044715 x^3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import erfc
from trt_plugin_bench.core.elementwise import constant, unary_cost
from trt_plugin_bench.core.oracle import ulp

ERF, TANH = 0, 1
SQRT_2_OVER_PI = 0.79788456080286535588
TANH_CUBIC = 0.044715

# The numerics contract (shared with the C++ kernel check, plugin/tests/geluKernelCheck.cu: keep the
# constants identical), in ulps of the output dtype against the float64 reference (the kernels' math:
# plugin/geluPlugin/geluKernel.cu).
# - fp16/bf16, both forms: fp32 compute, then one round to nearest: 1 ulp.
# - fp32 erf form: FP32_ERF_ULPS everywhere. The kernels compute erfc, never 1 + erf (which cancels for
#   x < 0: x = -5 would lose 21 of 24 bits), as exp(-x^2 / 2) times a fitted polynomial; the bound holds
#   the fit, its Horner roundings, rcp.approx's ulp in the polynomial's variable and expf's 2 ulps,
#   emulated with the worst sign of each (plugin/scripts/gelu_erfcx_fit.py: 11.3 ulps at worst; 16 with
#   the margin), and the subnormal results (the exponential multiplied in last: <= 5 steps emulated).
# - fp32 tanh form: BASE + (E + Z |z|) (1 - sigmoid(z)), z = 2u: Swish's model with z = 2u for beta x.
#   t = -2u log2 e = x (c0 + c1 x^2) carries ~4 units of 2^-24 (the constants, x^2, the FMA, the product),
#   which exp turns into |z| times that; the sigmoid gets it scaled by 1 - sigmoid(z); doubled into
#   output ulps. Emulated worst (4, 3, 4.5): 0.92 of the bound; the constants carry the margin.
HALF_BOUND_ULPS = 1.0
FP32_ERF_ULPS = 16.0
FP32_TANH_BASE_ULPS = 4.0
FP32_TANH_E_ULPS = 4.0
FP32_TANH_Z_ULPS = 5.0
# TensorRT's own layers (gelu_native, gelu_tanh_native: the textbook graphs, erf or tanh, + 1, x x, x 0.5)
# are held to what they are, not to the contract: 1 + erf(x / sqrt 2) and 1 + tanh(u) cancel for x < 0,
# an absolute error of about one ulp of 1 in the dtype they compute in, which 0.5 |x| scales into the
# result; their bound adds TWIN_CANCEL_ULPS |x| ulp_d(1) / ulp_d(ref) to the fp32 model (in ulps of the
# I/O dtype for fp16/bf16, whose math TensorRT may run in the I/O dtype: seen for Swish's sigmoid).
# They flush subnormals (the spec's tolerance.ftz default for that side).
# Measured on an H100 (TensorRT 8.6.1, 2026-12-06, conformance of gelu_tanh_native, fp32): with 16 the
# tanh graph reached 1.25x the bound (419 ulp where 406 were allowed at x = -1.51, 36.9 > 30 at x = 1.56):
# its tanh adds a few ulp of 1 of its own; 32 holds what was seen with room.
TWIN_CANCEL_ULPS = 32.0


def tanh_z(x64: np.ndarray) -> np.ndarray:
    """z = 2u of the tanh form, in float64."""
    x64 = np.asarray(x64, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return 2.0 * SQRT_2_OVER_PI * (x64 + TANH_CUBIC * x64 * x64 * x64)


def _sigmoid64(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def gelu64(x: np.ndarray, approximation: int = ERF) -> np.ndarray:
    """GELU in float64. The erf form through erfc (no cancellation for x < 0), the tanh form as x
    sigmoid(2u), stably. -inf gives NaN (-inf * 0) in both, as the kernels and TensorRT's graphs do."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if int(approximation) == ERF:
            return 0.5 * x * erfc(-x / np.sqrt(2.0))
        return x * _sigmoid64(tanh_z(x))


def gelu_ulp_bound(x64: np.ndarray, dtype: str, tensorrt_layers: bool = False, approximation: int = ERF) -> np.ndarray:
    """The tolerance model: per element, the largest error (in ulps of ``dtype``) the contract accepts;
    ``tensorrt_layers``: TensorRT's own layers' side (see the notes above)."""
    x64 = np.asarray(x64, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if int(approximation) == ERF:
            fp32_model = np.full(x64.shape, FP32_ERF_ULPS)
        else:
            z = tanh_z(x64)
            one_minus_sigmoid = _sigmoid64(-z)
            fp32_model = FP32_TANH_BASE_ULPS + (FP32_TANH_E_ULPS + FP32_TANH_Z_ULPS * np.abs(z)) * one_minus_sigmoid
        if not tensorrt_layers:
            return fp32_model if dtype == "fp32" else np.full(x64.shape, HALF_BOUND_ULPS)
        ref = gelu64(x64, approximation)
        cancel = TWIN_CANCEL_ULPS * np.abs(x64) * ulp(np.ones_like(x64), dtype) / ulp(ref, dtype)
        bound = fp32_model + np.where(np.isfinite(cancel), cancel, 0.0)
        return np.where(np.isfinite(bound), bound, fp32_model)


def _describe(dtype: str, tensorrt_layers: bool = False, approximation: int = ERF) -> str:
    tanh = int(approximation) == TANH
    model = (f"{FP32_TANH_BASE_ULPS:g} + ({FP32_TANH_E_ULPS:g} + {FP32_TANH_Z_ULPS:g}|z|)(1-sigmoid(z)) ulp, z = 2u"
             if tanh else f"{FP32_ERF_ULPS:g} ulp")
    if tensorrt_layers:
        return f"{model} + {TWIN_CANCEL_ULPS:g}|x| ulp(1)/ulp(ref) (TensorRT's layers: 1 + erf/tanh cancels for x < 0)"
    return model if dtype == "fp32" else f"{HALF_BOUND_ULPS:g} ulp"


def _describe_erf(dtype: str, tensorrt_layers: bool = False) -> str:
    return _describe(dtype, tensorrt_layers, ERF)


gelu_ulp_bound.describe = _describe_erf  # type: ignore[attr-defined]


def gelu_tanh_ulp_bound(x64: np.ndarray, dtype: str, tensorrt_layers: bool = False) -> np.ndarray:
    """gelu_ulp_bound of the tanh form (the tanh specs' tolerance model: its words say tanh)."""
    return gelu_ulp_bound(x64, dtype, tensorrt_layers, TANH)


def _describe_tanh(dtype: str, tensorrt_layers: bool = False) -> str:
    return _describe(dtype, tensorrt_layers, TANH)


gelu_tanh_ulp_bound.describe = _describe_tanh  # type: ignore[attr-defined]

# The kernels' erfcx polynomial (plugin/geluPlugin/geluKernel.cu, halfErfcxFp32): E(s) ~ erfcx(t) / 2,
# s = 1 / (1 + t / 2), t = |x| / sqrt 2; Horner from s^10 down.
_ERFCX_HALF = np.array([1.358900219e-02, -1.033035442e-01, 3.161829710e-01, -4.772269130e-01, 3.364373744e-01,
                        -1.225285381e-01, 1.412709802e-01, 1.120579168e-01, 1.425893903e-01, 1.409273297e-01,
                        4.072150205e-06], dtype=np.float32)
_TANH_C0 = np.float32(-2.0 * SQRT_2_OVER_PI * 1.4426950408889634)
_TANH_C1 = np.float32(_TANH_C0 * np.float32(TANH_CUBIC))
_FAR_TAIL_T = np.float32(80.0 * 1.4426950408889634)


def _fma32(a: np.ndarray, b: np.ndarray | np.float32, c: np.ndarray | np.float32) -> np.ndarray:
    """a * b + c rounded once to float32 (the product of two float32 is exact in float64)."""
    return (a.astype(np.float64) * np.float64(b) + np.asarray(c, dtype=np.float64)).astype(np.float32)


def gelu_float32(x32: np.ndarray, approximation: int = ERF) -> np.ndarray:
    """The CPU implementation: the fp32 kernels' math, operation for operation, in numpy float32 (exp,
    exp2 and the reciprocal correctly rounded where the GPU uses its approximate instructions)."""
    x = np.asarray(x32, dtype=np.float32)
    one = np.float32(1)
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        if int(approximation) == ERF:
            s = one / _fma32(np.abs(x), np.float32(0.5 * 0.70710678118654752), one)
            xc = np.fmin(np.abs(x), np.float32(16))
            a = xc * xc
            residual = _fma32(xc, xc, -a)
            g = np.exp(np.float32(-0.5) * a)
            g = _fma32(g, np.float32(-0.5) * residual, g)
            e = np.full_like(s, _ERFCX_HALF[0])
            for c in _ERFCX_HALF[1:]:
                e = _fma32(e, s, c)
            y = np.where(x < 0, (x * e) * g, x * _fma32(-g, e, one))
        else:
            t = x * _fma32(x * x, _TANH_C1, _TANH_C0)
            y = x * (one / (one + np.exp2(t)))
            h = np.exp2(np.float32(-0.5) * t)
            y = np.where(t > _FAR_TAIL_T, (x * h) * h, y)
    return np.asarray(y, dtype=np.float32)


def gelu_twin(trt, network, inputs, dtype: str, keep: list, approximation: int = ERF) -> list:  # noqa: ANN001
    """GELU from TensorRT 8.6 layers, the textbook graphs: erf form 0.5 x (1 + erf(x / sqrt 2)) (IUnaryLayer
    ERF); tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (IActivationLayer TANH). In fp16 the
    cube overflows for |x| > 40 (to +-inf: tanh(+-inf) = +-1 is still the right saturation)."""
    x = inputs[0]
    rank = len(x.shape)
    layers: list = []

    def add(op: str, a, b) -> object:  # noqa: ANN001
        layers.append(network.add_elementwise(a, b, getattr(trt.ElementWiseOperation, op)))
        return layers[-1].get_output(0)

    def const(value: float) -> object:
        return constant(trt, network, value, rank, dtype, keep)

    if int(approximation) == ERF:
        scaled = add("PROD", x, const(1.0 / np.sqrt(2.0)))
        layers.append(network.add_unary(scaled, trt.UnaryOperation.ERF))
        inner = layers[-1].get_output(0)
    else:
        cube = add("PROD", add("PROD", x, x), x)
        poly = add("SUM", x, add("PROD", cube, const(TANH_CUBIC)))
        u = add("PROD", poly, const(SQRT_2_OVER_PI))
        layers.append(network.add_activation(u, trt.ActivationType.TANH))
        inner = layers[-1].get_output(0)
    # (0.5 x) (1 + inner): 0.5 x first, so that fp16 x (1 + inner) cannot overflow (x = 60000: 2x is inf)
    add("PROD", add("PROD", x, const(0.5)), add("SUM", inner, const(1.0)))
    return layers


def gelu_cost(shapes: Sequence[Sequence[int]], dtype: str, approximation: int = ERF) -> dict:
    # erf form: x/sqrt2, erf (counted once), 1 +, x *, 0.5 *; tanh form: x^3 (2), * c, + x, * k, tanh, 1 +, x *, 0.5 *
    return unary_cost(shapes, dtype, 5 if int(approximation) == ERF else 9)
