"""Float64 references, dtype rounding and the output checks every backend's results go through.

The rules: compare against float64, poison outputs before each run so unwritten elements fail,
use random data (never zeros) plus edge inputs, and treat NaN/inf exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The numerics contract (shared with the C++ kernel checks in plugin/tests). The error of one element is measured in ulps of the OUTPUT dtype
# against the float64 reference:  err = |got - ref| / ulp(ref),
#   ulp(v) = 2 ** (max(floor(log2 |v|), EMIN) - P)   (v == 0 -> 2 ** (EMIN - P)),
# so the ulp is floored at the subnormal spacing and flushing a subnormal result to 0 fails.
# (P = explicit mantissa bits, EMIN = exponent of the smallest normal.)
FORMATS: dict[str, tuple[int, int]] = {"fp32": (23, -126), "fp16": (10, -14), "bf16": (7, -126)}
# What an input's generator defaults to (specs.Generator): normal, sd 6, and every kind of edge value.
DEFAULT_SCALE = 6.0
DEFAULT_EDGES = ("zero", "denormal", "large", "inf", "nan")

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
    with np.errstate(over="ignore"):  # a value beyond the dtype's range rounds to +-inf, as IEEE says
        if dtype == "bf16":
            return bf16_bits_from_float32(x.astype(np.float32))
        return x.astype(numpy_dtype(dtype))


def to_float64(x: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bf16":
        return float32_from_bf16_bits(x).astype(np.float64)
    return x.astype(np.float64)


def poison(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    return to_device_dtype(np.full(shape, POISON, dtype=np.float32), dtype)


# The largest finite value of each dtype: "large" edge values are half of it, "denormal" ones a
# quarter of the smallest normal (a subnormal in every dtype).
LARGEST: dict[str, float] = {"fp32": float(np.finfo(np.float32).max), "fp16": 65504.0, "bf16": 3.3895313892515355e38}


def edge_values(edges: tuple, dtype: str) -> np.ndarray:
    """An operator spec's edge values (specs.Generator.edges: kinds or numbers) for ``dtype``."""
    values: list[float] = []
    for e in edges:
        if not isinstance(e, str):
            values.append(float(e))
        elif e == "zero":
            values += [0.0, -0.0]
        elif e == "denormal":
            values += [smallest_normal(dtype) / 4, -smallest_normal(dtype) / 4]
        elif e == "large":
            values += [LARGEST[dtype] / 2, -LARGEST[dtype] / 2]
        elif e == "inf":
            values += [np.inf, -np.inf]
        elif e == "nan":
            values.append(np.nan)
        else:
            raise ValueError(f"unknown edge value kind {e!r}; allowed values: zero, denormal, large, inf, nan")
    return np.array(values, dtype=np.float64)


def random_input(shape: tuple[int, ...], dtype: str, seed: int, with_edges: bool = True,
                 generator: object | None = None) -> np.ndarray:
    """Random data with edge values written over its first and its last elements (in a tensor
    shorter than two lists, the last ones win). ``generator`` (an operator spec's input's
    specs.Generator) chooses the distribution and the edges; None: normal with sd DEFAULT_SCALE and
    the DEFAULT_EDGES kinds (what a spec's generator defaults to)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape, dtype=np.int64))
    if generator is None:
        x = rng.standard_normal(n, dtype=np.float32) * np.float32(DEFAULT_SCALE)
        edges = edge_values(DEFAULT_EDGES, dtype)
    else:
        if generator.distribution == "uniform":
            x = rng.uniform(generator.low, generator.high, n).astype(np.float32)
        else:
            x = rng.standard_normal(n, dtype=np.float32) * np.float32(generator.scale)
        edges = edge_values(tuple(generator.edges), dtype)
    if with_edges and n > 0 and edges.size:
        k = min(n, edges.size)
        x[:k] = edges[:k].astype(np.float32)
        x[n - k:] = edges[:k].astype(np.float32)
    return to_device_dtype(x.reshape(shape), dtype)


def smallest_normal(dtype: str) -> float:
    return 2.0 ** FORMATS[dtype][1]


def ulp(v: np.ndarray, dtype: str) -> np.ndarray:
    """The contract's ulp of ``dtype`` at the float64 values ``v``: 2 ** (max(floor(log2|v|), EMIN)
    - P), floored at the subnormal spacing (also for v == 0). Meaningless where v is not finite."""
    p, emin = FORMATS[dtype]
    a = np.abs(np.asarray(v, dtype=np.float64))
    _, e = np.frexp(a)  # a = m * 2**e with m in [0.5, 1): floor(log2 a) = e - 1, exactly
    exponent = np.where(a > 0, e - 1, emin)
    return np.ldexp(1.0, np.maximum(exponent, emin) - p)


@dataclass(frozen=True)
class Numerics:
    """What the checks need of an operator's math: its float64 reference, the bound of each element
    in ulps of the output dtype, the words for that bound, and what the CPU backend computes. Built
    from an operator spec (specs.numerics_of), the one place an operator's math comes from."""

    function: str
    reference: Callable[[np.ndarray, float], np.ndarray]  # (x64, beta) -> float64
    bound: Callable[[str, np.ndarray, np.ndarray, float, bool], np.ndarray]  # (dtype, x64, ref64, beta, trt layers)
    text: Callable[[str, bool], str]  # (dtype, tensorrt_layers) -> the bound in words
    cpu: Callable[[np.ndarray, float], np.ndarray] | None = None  # (x32, beta) -> float32; None: reference, rounded
    nan_input_may_give_zero: bool = False
    ftz: tuple[bool, bool] = (False, True)  # may (the plugin, TensorRT's layers) flush subnormals to 0
    outputs: int = 1  # how many outputs the operator has
    # every output (several inputs and weights: derived by the spec from input 0's shape and the dtype)
    reference_all: Callable[..., list] | None = None  # (x64, beta, dtype) -> [float64 per output]
    cpu_all: Callable[..., list] | None = None  # (x32, beta, dtype) -> [float32 per output]

    def reference_of(self, x64: np.ndarray, beta: float, dtype: str, output: int = 0) -> np.ndarray:
        if self.reference_all is not None:
            return np.asarray(self.reference_all(x64, beta, dtype)[output], dtype=np.float64)
        return np.asarray(self.reference(x64, beta), dtype=np.float64)

    def cpu_of(self, x32: np.ndarray, beta: float, dtype: str, output: int = 0) -> np.ndarray | None:
        if self.cpu_all is not None:
            return np.asarray(self.cpu_all(x32, beta, dtype)[output], dtype=np.float32)
        if self.cpu is not None:
            return np.asarray(self.cpu(x32, beta), dtype=np.float32)
        return None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of comparing one output tensor against its float64 reference.

    ``max_ulp_err`` is the largest error in ulps of the output dtype; ``max_bound_ratio`` the
    worst element's error over its bound (<= 1 passes; inf for an inexact output whose bound is 0).
    Both, like the absolute and relative errors, cover the elements with a finite reference and a
    finite output that no allowance (flush to zero, a NaN input's 0) accepted."""

    ok: bool
    checked: int
    mismatches: int
    unwritten: int
    max_abs_err: float
    max_rel_err: float
    message: str
    max_ulp_err: float = 0.0
    max_bound_ratio: float = 0.0
    mean_ulp_err: float = 0.0
    worst: tuple[tuple[float, float, float, float], ...] = ()  # (x, got, ref, ulp error) of the worst elements


def check_output(
    out: np.ndarray,
    x: np.ndarray,
    function: Numerics,
    dtype: str,
    beta: float = 1.0,
    expected_shape: tuple[int, ...] | None = None,
    tensorrt_layers: bool = False,
    output: int = 0,
) -> CheckResult:
    """Compare ``out`` (host representation of ``dtype``) with the float64 reference of ``x``.

    Pass iff every element is within its ulp bound (see FORMATS), NaN where the reference is NaN,
    the same infinity where it is infinite. ``tensorrt_layers`` (the native operators only) holds
    TensorRT's own layers to what they are: the bound's TensorRT side (Numerics.bound's last
    argument) and flush to zero of results and intermediates.
    """
    if expected_shape is not None and tuple(out.shape) != tuple(expected_shape):
        return CheckResult(False, 0, 0, 0, float("nan"), float("nan"),
                           f"output shape {tuple(out.shape)} != expected {tuple(expected_shape)}",
                           float("nan"), float("nan"))
    num = function
    got = to_float64(out, dtype).ravel()
    with np.errstate(all="ignore"):
        ref = num.reference_of(to_float64(x, dtype), beta, dtype, output).ravel()
    # the input, element by element, where the output is elementwise in it (its allowances: a NaN
    # input's 0, a subnormal input flushed); an output of another shape has none of them
    x64 = to_float64(x, dtype).ravel() if x.size == got.size else np.ones(got.shape)
    # the reference rounded to the output dtype: an output equal to it is right whatever the ulp
    # bound says, so overflow to +-inf and underflow to 0 or a subnormal pass where the rounded
    # reference does the same (a 0-ulp operator's correctly rounded result included)
    with np.errstate(all="ignore"):
        rounded = to_float64(to_device_dtype(ref.astype(np.float32), dtype), dtype)
    poison_value = to_float64(to_device_dtype(np.array([POISON], dtype=np.float32), dtype), dtype)[0]
    # an element still at the poison value was never written, unless the poison is its right value
    unwritten = int(np.count_nonzero((got == poison_value) & (rounded != poison_value)))
    finite_ref, finite_got = np.isfinite(ref), np.isfinite(got)
    compared = finite_ref & finite_got
    with np.errstate(all="ignore"):
        bound = np.broadcast_to(np.asarray(num.bound(dtype, x64 if x.size == got.size else ref, ref, beta, tensorrt_layers),
                                           dtype=np.float64), got.shape)
    err = np.zeros(got.shape)
    err[compared] = np.abs(got[compared] - ref[compared]) / ulp(ref[compared], dtype)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(ref) != np.isnan(got)
        bad |= np.isinf(ref) & (got != ref)
        bad |= finite_ref & ~finite_got
        bad |= compared & ~(err <= bound)
    accepted = np.zeros(got.shape, dtype=bool)
    if num.nan_input_may_give_zero:
        # e.g. max(NaN, 0) is NaN in IEEE maxNum-with-NaN propagation (numpy, PyTorch) and 0 in
        # TensorRT 8.6 (seen on the H100): the spec allows both
        accepted |= np.isnan(x64) & (got == 0.0)
    flushed = np.zeros(got.shape, dtype=bool)
    if num.ftz[1 if tensorrt_layers else 0]:  # the spec declares flush to zero for this side
        tiny = smallest_normal(dtype)
        subnormal_x = (np.abs(x64) < tiny) & (x64 != 0.0)
        # a factor computed in fp32 (TensorRT's math for every I/O dtype but fp16's own half
        # arithmetic, which keeps its subnormals: seen on the H200) flushes below fp32's smallest normal
        tiny_factor = smallest_normal("fp32") * np.abs(x64)
        flushed = bad & (got == 0.0) & (subnormal_x | (np.abs(ref) < np.maximum(tiny, tiny_factor)))
        accepted |= flushed
    accepted |= finite_ref & (got == rounded)  # the rounded reference itself (see above)
    bad &= ~accepted
    mismatches = int(np.count_nonzero(bad))
    stats = compared & ~accepted
    if stats.any():
        abs_err = np.abs(got[stats] - ref[stats])
        max_abs = float(abs_err.max())
        max_rel = float((abs_err / np.maximum(np.abs(ref[stats]), smallest_normal(dtype))).max())
        max_ulp = float(err[stats].max())
        mean_ulp = float(err[stats].mean())
        worst_i = np.flatnonzero(stats)[np.argsort(-err[stats], kind="stable")[:3]]
        worst = tuple((float(x64[i]), float(got[i]), float(ref[i]), float(err[i])) for i in worst_i)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(err[stats] == 0.0, 0.0, err[stats] / bound[stats])
        max_ratio = float(ratio.max())
    else:
        max_abs = max_rel = max_ulp = max_ratio = mean_ulp = 0.0
        worst = ()
    ok = mismatches == 0 and unwritten == 0
    bounds = num.text(dtype, tensorrt_layers)
    if ok:
        message = (f"ok: {got.size} elements within {bounds} (max {max_ulp:.3g} ulp, "
                   f"{max_ratio:.2f} of its bound)")
        if flushed.any():
            message += f"; {int(np.count_nonzero(flushed))} flushed to 0 (flush to zero declared for this side)"
    else:
        idx = np.flatnonzero(bad)[:3]
        examples = ", ".join(
            f"x={float(x64[i])!r} got={float(got[i])!r} ref={float(ref[i])!r}"
            + (f" ({err[i]:.3g} ulp > {bound[i]:.3g})" if compared[i] else "") for i in idx)
        message = (
            f"{mismatches} of {got.size} elements outside {bounds}"
            f"{' (flush to zero allowed)' if num.ftz[1 if tensorrt_layers else 0] else ''}; {unwritten} never written; e.g. {examples}"
        )
    return CheckResult(ok, int(got.size), mismatches, unwritten, max_abs, max_rel, message, max_ulp, max_ratio,
                       mean_ulp, worst)


def tiles_match(out: np.ndarray, tile: np.ndarray, start: int = 0) -> bool:
    """True iff every element ``out[i]`` has the bits of ``tile[(start + i) % tile.size]``: the output
    of an input that repeats one block is the block's output, repeated, for an elementwise op."""
    b = tile.size
    if b == 0 or out.size == 0:
        return out.size == 0
    if out.dtype.itemsize != tile.dtype.itemsize:
        return False
    bits = np.dtype(f"u{out.dtype.itemsize}")
    got = np.ascontiguousarray(out).reshape(-1).view(bits)
    rolled = np.roll(np.ascontiguousarray(tile).reshape(-1).view(bits), -(start % b))
    full, rem = divmod(got.size, b)
    if full and not np.array_equal(got[: full * b].reshape(full, b), np.broadcast_to(rolled, (full, b))):
        return False
    return bool(np.array_equal(got[full * b:], rolled[:rem]))


def check_tiled(out: np.ndarray, block: np.ndarray, function: Numerics, dtype: str, beta: float = 1.0,
                tensorrt_layers: bool = False) -> CheckResult:
    """``check_output(out, np.resize(block, out.size), ...)``, at the cost of one block.

    The timers fill large inputs with one random block, repeated (fill_tiled), and the operators
    are elementwise: the reference of element i is the reference of block[i % b], and so are its
    bound and its verdict. So when the output's first block passes and every later element has
    the bits of the first block's output at the same block position, the whole tensor passes with
    the first block's statistics, exactly as the full float64 comparison would say (it cost ~12 s
    per 64 Mi elements on the H200's host, most of a latency job). Otherwise (a failing first block,
    or any element that differs from its twin: a position-dependent bug, a poisoned tail, an
    unwritten element) the full comparison runs and reports what it finds."""
    b = block.size
    if out.size <= b:
        return check_output(out, block.reshape(-1)[: out.size], function, dtype, beta, tensorrt_layers=tensorrt_layers)
    head = np.ascontiguousarray(out).reshape(-1)[:b]
    first = check_output(head, block, function, dtype, beta, tensorrt_layers=tensorrt_layers)
    if first.ok and tiles_match(out.reshape(-1)[b:], head):
        return dataclasses.replace(first, checked=int(out.size), message=first.message.replace(
            f"ok: {b} elements", f"ok: {out.size} elements ({out.size // b} tiles of {b}, each bit-identical to the "
                                 "first, checked against float64)", 1))
    return check_output(out.reshape(-1), np.resize(block, out.size), function, dtype, beta,
                        tensorrt_layers=tensorrt_layers)


def compute_float32(function: Numerics, x: np.ndarray, dtype: str, beta: float = 1.0, output: int = 0) -> np.ndarray:
    """The CPU reference backend's implementation: the spec's CPU implementation (float32 math, as a
    GPU kernel computes it; deliberately not the float64 reference itself, so checking it against
    float64 means something), or without one the float64 reference rounded once."""
    num = function
    x32 = to_float64(x, dtype).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        y = num.cpu_of(x32, beta, dtype, output)
        if y is None:  # an operator with no CPU implementation: its float64 reference, rounded once
            y = num.reference_of(x32.astype(np.float64), beta, dtype, output).astype(np.float32)
    return to_device_dtype(y.astype(np.float32), dtype)
