"""Float64 references, dtype rounding and the output checks every backend's results go through.

The rules: compare against float64, poison outputs before each run so unwritten elements fail,
use random data (never zeros) plus edge inputs, and treat NaN/inf exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# |out - ref| <= atol + rtol * |ref|, per dtype. fp16/bf16 allow about one ulp of the output format
# plus the fp32 compute error; fp32 allows fast-math exp/reciprocal (a few ulp).
TOLERANCES: dict[str, tuple[float, float]] = {
    "fp32": (1e-5, 1e-6),
    "fp16": (2e-3, 1e-4),
    "bf16": (1.6e-2, 1e-3),
}

# Inputs that break careless kernels: signed zero scale, denormal-adjacent, saturating sigmoid,
# overflow of exp(-x), infinities and NaN.
EDGE_VALUES = np.array(
    [0.0, 1e-38, -1e-38, 1.0, -1.0, 20.0, -20.0, 100.0, -100.0, np.inf, -np.inf, np.nan],
    dtype=np.float64,
)

# A finite value no activation of these inputs produces: any element left at it was never written.
POISON = 12345.0


def numpy_dtype(dtype: str) -> np.dtype:
    """The numpy dtype that holds a tensor of ``dtype`` on the host.

    bf16 has no numpy type: it travels as its 16-bit pattern in uint16 (TensorRT's layout).
    """
    return {"fp32": np.dtype(np.float32), "fp16": np.dtype(np.float16), "bf16": np.dtype(np.uint16)}[
        dtype
    ]


def bf16_bits_from_float32(x: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 (round to nearest even), returned as uint16 bit patterns."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    nan = np.isnan(x)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    out[nan] = np.uint16(0x7FC0)
    return out


def float32_from_bf16_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def to_device_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    """Round float data to the tensor dtype's host representation."""
    if dtype == "bf16":
        return bf16_bits_from_float32(x.astype(np.float32))
    return x.astype(numpy_dtype(dtype))


def to_float64(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bf16":
        return float32_from_bf16_bits(x).astype(np.float64)
    return x.astype(np.float64)


def poison(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return to_device_dtype(np.full(shape, POISON, dtype=np.float32), dtype)


def swish64(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """x * sigmoid(beta x) in float64. -inf gives NaN (-inf * 0), as TensorRT's sigmoid x mul does."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        z = beta * x
        sig = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
        return x * sig


def relu64(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(x), np.nan, np.maximum(x, 0.0))


def reference64(function: str, x64: np.ndarray, beta: float = 1.0) -> np.ndarray:
    if function == "relu":
        return relu64(x64)
    if function == "swish":
        return swish64(x64, beta)
    raise ValueError(f"unknown function {function!r}; allowed values: relu, swish")


def random_input(shape: tuple[int, ...], dtype: str, seed: int, with_edges: bool = True) -> np.ndarray:
    """Random normal data scaled to exercise the sigmoid's range, edge values spliced in front."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    x = rng.standard_normal(n, dtype=np.float32) * np.float32(6.0)
    if with_edges and n > 0:
        k = min(n, EDGE_VALUES.size)
        x[:k] = EDGE_VALUES[:k].astype(np.float32)
    return to_device_dtype(x.reshape(shape), dtype)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of comparing one output tensor against its float64 reference."""

    ok: bool
    checked: int
    mismatches: int
    unwritten: int
    max_abs_err: float
    max_rel_err: float
    message: str


def check_output(
    out: np.ndarray,
    x: np.ndarray,
    function: str,
    dtype: str,
    beta: float = 1.0,
    expected_shape: tuple[int, ...] | None = None,
) -> CheckResult:
    """Compare ``out`` (host representation of ``dtype``) with the float64 reference of ``x``."""
    if expected_shape is not None and tuple(out.shape) != tuple(expected_shape):
        return CheckResult(False, 0, 0, 0, float("nan"), float("nan"),
                           f"output shape {tuple(out.shape)} != expected {tuple(expected_shape)}")
    x64 = to_float64(x, dtype).ravel()
    got = to_float64(out, dtype).ravel()
    ref = reference64(function, x64, beta)
    # the reference, rounded to the output dtype, is what a perfect kernel returns
    ref_rounded = to_float64(to_device_dtype(ref.astype(np.float32), dtype), dtype)
    rtol, atol = TOLERANCES[dtype]
    poison_value = to_float64(to_device_dtype(np.array([POISON], dtype=np.float32), dtype), dtype)[0]
    unwritten = int(np.count_nonzero(got == poison_value))
    nan_ref, nan_got = np.isnan(ref_rounded), np.isnan(got)
    inf_ref = np.isinf(ref_rounded)
    finite = ~nan_ref & ~inf_ref
    with np.errstate(invalid="ignore"):
        abs_err = np.abs(got - ref)
        bad = np.zeros(got.shape, dtype=bool)
        bad |= nan_ref != nan_got
        bad |= inf_ref & (got != ref_rounded)
        bad |= finite & ~(abs_err <= atol + rtol * np.abs(ref))
    if function == "relu":
        # ReLU of NaN is implementation-defined: max(NaN, 0) is NaN in IEEE maxNum-with-NaN
        # propagation (numpy, PyTorch) and 0 in TensorRT 8.6 (seen on the H100); accept both
        bad &= ~(np.isnan(x64) & (got == 0.0))
    mismatches = int(np.count_nonzero(bad))
    finite_err = abs_err[finite & ~nan_got]
    max_abs = float(finite_err.max()) if finite_err.size else 0.0
    denom = np.maximum(np.abs(ref[finite & ~nan_got]), atol)
    max_rel = float((finite_err / denom).max()) if finite_err.size else 0.0
    ok = mismatches == 0 and unwritten == 0
    if ok:
        message = f"ok: {got.size} elements within rtol {rtol}, atol {atol}"
    else:
        idx = np.flatnonzero(bad)[:3]
        examples = ", ".join(f"x={x64[i]!r} got={got[i]!r} ref={ref[i]!r}" for i in idx)
        message = (
            f"{mismatches} of {got.size} elements outside rtol {rtol}, atol {atol}; "
            f"{unwritten} never written; e.g. {examples}"
        )
    return CheckResult(ok, int(got.size), mismatches, unwritten, max_abs, max_rel, message)


def compute_float32(function: str, x: np.ndarray, dtype: str, beta: float = 1.0) -> np.ndarray:
    """The CPU reference backend's implementation: float32 math, as a GPU kernel computes it.

    Deliberately not the float64 reference itself, so checking it against float64 means something.
    """
    x32 = to_float64(x, dtype).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        if function == "relu":
            y = np.where(np.isnan(x32), x32, np.maximum(x32, np.float32(0)))
        elif function == "swish":
            y = x32 * (np.float32(1) / (np.float32(1) + np.exp(np.float32(-beta) * x32)))
        else:
            raise ValueError(f"unknown function {function!r}; allowed values: relu, swish")
    return to_device_dtype(y.astype(np.float32), dtype)
