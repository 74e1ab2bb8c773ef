"""Numerics of the CPU reference backend against float64, with edge inputs and poisoned outputs."""

from __future__ import annotations

import numpy as np
import pytest
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.operators import OPERATORS
from trt_plugin_bench.core.specs import import_function, numerics_of

# the operators' numerics come from their specs (ops/): one registry, specs.numerics_of
NUMERICS = {"swish": numerics_of(OPERATORS["swish_plugin"]), "relu": numerics_of(OPERATORS["relu"])}
SWISH, RELU = NUMERICS["swish"], NUMERICS["relu"]
GENERATOR = OPERATORS["swish_plugin"].inputs[0].generator  # the sigmoid's range and Swish's edge values
EDGE_VALUES = ref.edge_values(tuple(GENERATOR.edges), "fp32")
swish64 = import_function("swish:swish64", OPERATORS["swish_plugin"].folder)
swish_ulp_bound = import_function("swish:swish_ulp_bound", OPERATORS["swish_plugin"].folder)


def random_input(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    return ref.random_input(shape, dtype, seed, generator=GENERATOR)

BETAS = [1.0, 1.702, 0.0, -1.5, 1e4]
# numerics.md's "wrong tail" planted fault: the first x below which writing +0 used to pass
WRONG_TAIL = {"bf16": -9.2, "fp16": -11.8, "fp32": -16.8}


def finite_edges(dtype: str) -> np.ndarray:
    return ref.to_float64(ref.to_device_dtype(EDGE_VALUES.astype(np.float32), dtype), dtype)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("function", ["relu", "swish"])
@pytest.mark.parametrize("beta", BETAS)
def test_float32_implementation_matches_float64(dtype: str, function: str, beta: float) -> None:
    x = random_input((257, 33), dtype, seed=11)  # odd sizes, edges at both ends
    assert np.count_nonzero(ref.to_float64(x, dtype)) > x.size // 2, "inputs must not be zeros"
    y = ref.compute_float32(NUMERICS[function], x, dtype, beta)
    result = ref.check_output(y, x, NUMERICS[function], dtype, beta, x.shape)
    assert result.ok, result.message
    assert result.checked == x.size
    assert result.max_bound_ratio <= 1.0 and result.max_ulp_err >= 0.0


def test_random_input_has_the_edge_values_at_both_ends() -> None:
    k = EDGE_VALUES.size
    for dtype in ("fp32", "fp16", "bf16"):
        x = ref.to_float64(random_input((5, 41), dtype, seed=2), dtype).ravel()
        edges = finite_edges(dtype)
        np.testing.assert_array_equal(x[:k], edges)  # NaN == NaN for assert_array_equal
        np.testing.assert_array_equal(x[-k:], edges)
        assert np.signbit(x[1]) and np.signbit(x[-k + 1]), "-0 must stay negative"
        short = ref.to_float64(random_input((7,), dtype, seed=2), dtype)
        np.testing.assert_array_equal(short, edges[:7])


def test_edge_values_follow_the_reference() -> None:
    x = EDGE_VALUES.astype(np.float32)
    y = ref.compute_float32(SWISH, x, "fp32")
    by_x = {float(v): float(r) for v, r in zip(EDGE_VALUES, y) if not np.isnan(v)}
    assert np.isnan(y[-1]) and np.isnan(by_x[-np.inf])  # NaN -> NaN; -inf * sigmoid(-inf) = -inf * 0 = NaN
    assert by_x[np.inf] == np.inf and by_x[0.0] == 0.0
    assert by_x[20.0] == pytest.approx(20.0, rel=1e-6)
    assert by_x[-89.0] == pytest.approx(-89.0 * np.exp(-89.0), rel=1e-5)  # normal fp32: exp(89) overflows
    assert 0 < -by_x[-100.0] < 1e-38  # subnormal, not flushed
    assert ref.check_output(y, x, SWISH, "fp32").ok


def test_ulp_is_the_spacing_floored_at_the_subnormal_spacing() -> None:
    assert ref.ulp(np.array([1.0, 1.5, 0.0, 1e-40, -3.0]), "fp32").tolist() == [2.0**-23, 2.0**-23, 2.0**-149,
                                                                               2.0**-149, 2.0**-22]
    assert ref.ulp(np.array([1.0, 0.0, 1e-6, 65504.0]), "fp16").tolist() == [2.0**-10, 2.0**-24, 2.0**-24, 32.0]
    assert ref.ulp(np.array([1.0, 1e-39]), "bf16").tolist() == [2.0**-7, 2.0**-133]
    rng = np.random.default_rng(0)
    for np_dtype, dtype in ((np.float32, "fp32"), (np.float16, "fp16")):
        # values of the format itself, normal and subnormal: the ulp is numpy's spacing there
        with np.errstate(over="ignore"):
            v = (rng.standard_normal(2000) * 10.0 ** rng.integers(-45, 6, 2000)).astype(np_dtype)
        v = v[np.isfinite(v) & (v != 0)]
        np.testing.assert_array_equal(ref.ulp(v.astype(np.float64), dtype), np.spacing(np.abs(v)).astype(np.float64))


def _wrong_tail(x: np.ndarray, dtype: str) -> np.ndarray:
    """A kernel that writes +0 for every finite x below the threshold, right elsewhere."""
    y = ref.compute_float32(SWISH, x, dtype)
    x64 = ref.to_float64(x, dtype)
    zero = ref.to_device_dtype(np.zeros(1, np.float32), dtype)[0]
    y[np.isfinite(x64) & (x64 < WRONG_TAIL[dtype])] = zero
    return y


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_a_wrong_tail_fails(dtype: str) -> None:
    x = random_input((4096,), dtype, seed=21)
    result = ref.check_output(_wrong_tail(x, dtype), x, SWISH, dtype)
    assert not result.ok, result.message
    # every input just below the threshold is caught, not only the far edge values
    near = ref.to_device_dtype(np.linspace(WRONG_TAIL[dtype] - 0.5, WRONG_TAIL[dtype] - 0.01, 97, dtype=np.float32), dtype)
    below = int(np.count_nonzero(ref.to_float64(near, dtype) < WRONG_TAIL[dtype]))  # after rounding to dtype
    result = ref.check_output(_wrong_tail(near, dtype), near, SWISH, dtype)
    assert below > near.size // 2 and result.mismatches == below, result.message


def _away_from_zero(y: np.ndarray, dtype: str, where: np.ndarray) -> np.ndarray:
    """y moved one ulp away from zero at the finite, nonzero elements selected by ``where``."""
    y = y.copy()
    y64 = ref.to_float64(y, dtype)
    move = where & np.isfinite(y64) & (y64 != 0)
    if dtype == "bf16":
        y[move] += np.uint16(1)  # sign-magnitude: the next magnitude up, same sign
    else:
        y[move] = np.nextafter(y[move], np.copysign(np.inf, y[move]).astype(y.dtype))
    return y


def _correctly_rounded(x: np.ndarray, dtype: str, beta: float = 1.0) -> np.ndarray:
    r = swish64(ref.to_float64(x, dtype), beta)
    return r.astype(np.float16) if dtype == "fp16" else ref.bf16_bits_from_float32(r.astype(np.float32))


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_one_ulp_off_fails_in_half_precision(dtype: str) -> None:
    x = random_input((4096,), dtype, seed=22)
    good = _correctly_rounded(x, dtype)
    assert ref.check_output(good, x, SWISH, dtype).ok
    everywhere = np.ones(x.shape, dtype=bool)
    assert not ref.check_output(_away_from_zero(good, dtype, everywhere), x, SWISH, dtype).ok
    # where an absolute tolerance hides it: outputs below 1 in magnitude
    small = np.abs(swish64(ref.to_float64(x, dtype))) < 1.0
    result = ref.check_output(_away_from_zero(good, dtype, small), x, SWISH, dtype)
    assert not result.ok and result.mismatches > small.sum() // 4, result.message


def test_fp32_one_element_one_ulp_beyond_its_bound_fails() -> None:
    x = random_input((4096,), "fp32", seed=23)
    y = ref.compute_float32(SWISH, x, "fp32")
    x64 = ref.to_float64(x, "fp32")
    i = int(np.flatnonzero((x64 > -6.0) & (x64 < -2.0))[0])  # a normal result inside its binade
    ref_i = float(swish64(x64[i:i + 1])[0])
    bound = float(swish_ulp_bound(x64[i:i + 1], "fp32")[0])
    step = float(ref.ulp(np.array([ref_i]), "fp32")[0])
    for extra, ok in ((np.ceil(bound) + 1, False), (np.floor(bound) - 1, True)):
        bad = y.copy()
        bad[i] = np.float32(np.float32(ref_i) + extra * step)
        result = ref.check_output(bad, x, SWISH, "fp32")
        assert result.ok == ok and result.mismatches == (0 if ok else 1), (extra, result.message)


def test_an_exp_that_overflows_fails_in_the_far_tail() -> None:
    """1 / (1 + exp(-x)) is 0 once exp overflows (x < -88.7), where the result (-89: -2e-37) is a
    normal fp32 and bf16: the -89 edge value catches the naive formulation."""
    for dtype in ("fp32", "bf16"):
        x = random_input((64,), dtype, seed=24)
        x32 = ref.to_float64(x, dtype).astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            naive = ref.to_device_dtype(x32 * (np.float32(1) / (np.float32(1) + np.exp(-x32))), dtype)
        assert ref.check_output(ref.compute_float32(SWISH, x, dtype), x, SWISH, dtype).ok
        result = ref.check_output(naive, x, SWISH, dtype)
        assert not result.ok and "x=-89.0" in result.message, result.message


SUBNORMAL_CASES = {  # (dtype, function, x) whose result is subnormal in dtype
    ("fp32", "relu", 1e-38), ("fp32", "swish", 1e-38), ("fp32", "swish", -100.0),
    ("fp16", "relu", 1e-6), ("fp16", "swish", 1e-6), ("fp16", "swish", -15.0),
    ("bf16", "relu", 1e-38), ("bf16", "swish", -1e-38),
}


@pytest.mark.parametrize("dtype,function,value", sorted(SUBNORMAL_CASES))
def test_flushing_a_subnormal_result_fails_unless_allowed(dtype: str, function: str, value: float) -> None:
    x = random_input((256,), dtype, seed=25)
    x[100] = ref.to_device_dtype(np.array([value], np.float32), dtype)[0]
    y = ref.compute_float32(NUMERICS[function], x, dtype)
    assert ref.check_output(y, x, NUMERICS[function], dtype).ok
    r = ref.to_float64(y[100:101], dtype)[0]
    assert 0 < abs(r) < ref.smallest_normal(dtype), "the case must have a subnormal result"
    y[100] = ref.to_device_dtype(np.zeros(1, np.float32), dtype)[0]
    result = ref.check_output(y, x, NUMERICS[function], dtype)
    assert not result.ok and result.mismatches == 1, result.message
    assert ref.check_output(y, x, NUMERICS[function], dtype, tensorrt_layers=True).ok


def test_the_flush_allowance_excuses_nothing_else() -> None:
    for dtype in ("fp32", "fp16", "bf16"):
        x = random_input((4096,), dtype, seed=26)
        result = ref.check_output(_wrong_tail(x, dtype), x, SWISH, dtype, tensorrt_layers=True)
        assert not result.ok, (dtype, result.message)
        y = ref.compute_float32(SWISH, x, dtype)
        y[500] = ref.poison((1,), dtype)[0]
        assert not ref.check_output(y, x, SWISH, dtype, tensorrt_layers=True).ok


def test_relu_of_nan_may_be_nan_or_zero_and_nothing_else() -> None:
    x = random_input((64,), "fp32", seed=27)
    y = ref.compute_float32(RELU, x, "fp32")
    nan = np.flatnonzero(np.isnan(x))
    assert nan.size == 2  # the edge value at each end
    y[nan] = 0.0
    assert ref.check_output(y, x, RELU, "fp32").ok
    y[nan[0]] = 1.0
    assert not ref.check_output(y, x, RELU, "fp32").ok
    y = ref.compute_float32(RELU, x, "fp32")
    y[10] = np.nextafter(y[10], np.float32(np.inf))  # ReLU is exact: one ulp fails
    assert not ref.check_output(y, x, RELU, "fp32").ok


def test_special_values_are_exact() -> None:
    x = np.array([np.inf, -np.inf, np.nan, 3.0, -3.0], np.float32)
    good = ref.compute_float32(SWISH, x, "fp32")
    assert ref.check_output(good, x, SWISH, "fp32").ok
    for i, wrong in ((0, -np.inf), (0, 3.4e38), (1, 0.0), (2, 0.0), (3, np.inf), (4, np.nan)):
        y = good.copy()
        y[i] = wrong
        assert not ref.check_output(y, x, SWISH, "fp32", tensorrt_layers=True).ok, (i, wrong)


def test_unwritten_elements_fail_the_check() -> None:
    for dtype in ("fp32", "fp16", "bf16"):
        x = random_input((64,), dtype, seed=3)
        y = ref.compute_float32(SWISH, x, dtype)
        y[10] = ref.poison((1,), dtype)[0]
        result = ref.check_output(y, x, SWISH, dtype)
        assert not result.ok and result.unwritten == 1, (dtype, result.message)


def test_wrong_values_and_shapes_fail() -> None:
    x = random_input((128,), "fp32", seed=4)
    y = ref.compute_float32(SWISH, x, "fp32")
    y[100] *= 1.001
    assert not ref.check_output(y, x, SWISH, "fp32").ok
    bad_nan = ref.compute_float32(SWISH, x, "fp32")
    bad_nan[20] = np.nan
    assert not ref.check_output(bad_nan, x, SWISH, "fp32").ok
    assert not ref.check_output(y.reshape(2, 64), x, SWISH, "fp32", expected_shape=(128,)).ok


def test_bf16_rounding_is_round_to_nearest_even() -> None:
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, np.inf, np.nan], dtype=np.float32)
    back = ref.float32_from_bf16_bits(ref.bf16_bits_from_float32(x))
    assert back[0] == 1.0
    assert back[1] == 1.0  # tie -> even
    assert back[2] == 1.0 + 4 * 2**-8  # tie -> even (up)
    assert back[3] == -2.5 and back[4] == np.inf and np.isnan(back[5])


def test_swish64_is_stable_for_large_negative_inputs() -> None:
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    y = swish64(x)
    assert np.all(np.isfinite(y))
    assert y[0] == pytest.approx(0.0, abs=1e-300) and y[4] == 800.0


# Outputs of TensorRT's own swish (sigmoid x mul) seen on the H200 (TensorRT 8.6.1, 2026-12-01):
# fp16 with the sigmoid in half precision (up to 10.7 ulp, growing with |x|) and
# fp32 with the sigmoid flushed where it is subnormal but the product is not.
TENSORRT_SEEN = {
    "fp16": [(-9.5234375, -0.0006947517395019531), (-8.890625, -0.0012197494506835938),
             (-10.2890625, -0.00035190582275390625), (-8.7265625, -0.0014057159423828125),
             (-8.7109375, -0.0014257431030273438), (-8.75, -0.0013761520385742188)],
    "fp32": [(-88.5, -0.0), (-89.0, -0.0)],
}


@pytest.mark.parametrize("dtype", ["fp16", "fp32"])
def test_tensorrt_layers_are_held_to_what_tensorrt_does(dtype: str) -> None:
    x = np.array([v for v, _ in TENSORRT_SEEN[dtype]], ref.numpy_dtype(dtype))
    y = np.array([g for _, g in TENSORRT_SEEN[dtype]], ref.numpy_dtype(dtype))
    assert not ref.check_output(y, x, SWISH, dtype).ok  # not to the plugin's contract
    assert ref.check_output(y, x, SWISH, dtype, tensorrt_layers=True).ok


def test_a_half_precision_sigmoid_passes_for_tensorrt_layers_only() -> None:
    """sigmoid rounded to fp16 and two fp16 steps low, then the product rounded: TensorRT's
    composition, with a sigmoid inside the bound it is held to."""
    x = random_input((8192,), "fp16", seed=31)
    x64 = ref.to_float64(x, "fp16")
    with np.errstate(over="ignore", invalid="ignore"):
        s = (1.0 / (1.0 + np.exp(-x64))).astype(np.float16)
        low = np.nextafter(np.nextafter(s, np.float16(0)), np.float16(0))
        s_off = np.where(np.isfinite(x64), low, s)
        y = (x64 * s_off.astype(np.float64)).astype(np.float16)
    assert not ref.check_output(y, x, SWISH, "fp16").ok
    assert ref.check_output(y, x, SWISH, "fp16", tensorrt_layers=True).ok
    wrong = y.copy()
    wrong[np.isfinite(x64) & (x64 < -11.8)] = 0  # fp16 keeps its subnormals: a zero tail is still wrong
    assert not ref.check_output(wrong, x, SWISH, "fp16", tensorrt_layers=True).ok


# --- check_tiled: one block against float64, its repeats by bit identity -------------------------

@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_check_tiled_agrees_with_the_full_check_on_a_repeated_block(dtype: str) -> None:
    block = random_input((1000,), dtype, seed=11)
    x = np.resize(block, 4500)  # four whole tiles and a partial one
    out = ref.compute_float32(SWISH, x, dtype, 1.3)
    tiled = ref.check_tiled(out, block, SWISH, dtype, 1.3)
    full = ref.check_output(out, x, SWISH, dtype, 1.3)
    assert tiled.ok and full.ok
    assert tiled.checked == full.checked == 4500
    assert tiled.max_ulp_err == full.max_ulp_err and tiled.max_bound_ratio == full.max_bound_ratio


@pytest.mark.parametrize("where", [1100, 3500, 4400])  # in tile 2, inside tile 4, in the partial tile (random values, not the edges)
def test_check_tiled_catches_a_fault_outside_the_first_block(where: int) -> None:
    block = random_input((1000,), "fp32", seed=12)
    x = np.resize(block, 4500)
    out = ref.compute_float32(SWISH, x, "fp32", 1.0)
    bad = out.copy()
    bad[where] = np.nextafter(np.nextafter(out[where], np.inf), np.inf) * np.float32(1.001) + np.float32(1)
    result = ref.check_tiled(bad, block, SWISH, "fp32", 1.0)
    assert not result.ok and result.mismatches == 1, result.message
    unwritten = out.copy()
    unwritten[where] = ref.poison((1,), "fp32")[0]
    result = ref.check_tiled(unwritten, block, SWISH, "fp32", 1.0)
    assert not result.ok and result.unwritten == 1, result.message


def test_a_wrong_first_block_fails_with_the_full_count() -> None:
    block = random_input((512,), "fp16", seed=13)
    x = np.resize(block, 2048)
    out = ref.compute_float32(SWISH, x, "fp16", 1.0)
    out[7::512] = np.float16(1234.0)  # position 7 of every tile: identical tiles, all wrong
    result = ref.check_tiled(out, block, SWISH, "fp16", 1.0)
    assert not result.ok and result.mismatches == 4, result.message


def test_tiles_match_follows_the_block_position() -> None:
    tile = random_input((64,), "fp32", seed=14)
    n, start = 200, 4070  # a tensor's tail: element i sits at block position (start + i) % 64
    out = tile[(np.arange(start, start + n) % 64)]
    assert ref.tiles_match(out, tile, start=start)
    assert not ref.tiles_match(out, tile, start=start + 1)
    shifted = out.copy()
    shifted[-1] = np.nextafter(shifted[-1], np.inf)
    assert not ref.tiles_match(shifted, tile, start=start)
