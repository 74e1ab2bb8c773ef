"""Numerics of the CPU reference backend against float64, with edge inputs and poisoned outputs."""

from __future__ import annotations

import numpy as np
import pytest
from trt_plugin_bench import reference as ref


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("function", ["relu", "swish"])
@pytest.mark.parametrize("beta", [1.0, 1.702])
def test_float32_implementation_matches_float64(dtype: str, function: str, beta: float) -> None:
    x = ref.random_input((257, 33), dtype, seed=11)  # odd sizes, edges spliced in front
    assert np.count_nonzero(ref.to_float64(x, dtype)) > x.size // 2, "inputs must not be zeros"
    y = ref.compute_float32(function, x, dtype, beta)
    result = ref.check_output(y, x, function, dtype, beta, x.shape)
    assert result.ok, result.message
    assert result.checked == x.size


def test_edge_values_follow_the_reference() -> None:
    x = ref.EDGE_VALUES.astype(np.float32)
    y = ref.compute_float32("swish", x, "fp32")
    assert np.isnan(y[-1]) and np.isnan(y[-2])  # NaN -> NaN; -inf * sigmoid(-inf) = -inf * 0 = NaN
    assert y[-3] == np.inf
    assert y[0] == 0.0
    assert y[5] == pytest.approx(20.0, rel=1e-6)
    assert abs(y[8]) < 1e-30
    assert ref.check_output(y, x, "swish", "fp32").ok


def test_unwritten_elements_fail_the_check() -> None:
    for dtype in ("fp32", "fp16", "bf16"):
        x = ref.random_input((64,), dtype, seed=3)
        y = ref.compute_float32("swish", x, dtype)
        y[10] = ref.poison((1,), dtype)[0]
        result = ref.check_output(y, x, "swish", dtype)
        assert not result.ok and result.unwritten == 1, (dtype, result.message)


def test_wrong_values_and_shapes_fail() -> None:
    x = ref.random_input((128,), "fp32", seed=4)
    y = ref.compute_float32("swish", x, "fp32")
    y[100] *= 1.001
    assert not ref.check_output(y, x, "swish", "fp32").ok
    bad_nan = ref.compute_float32("swish", x, "fp32")
    bad_nan[20] = np.nan
    assert not ref.check_output(bad_nan, x, "swish", "fp32").ok
    assert not ref.check_output(y.reshape(2, 64), x, "swish", "fp32", expected_shape=(128,)).ok


def test_bf16_rounding_is_round_to_nearest_even() -> None:
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, np.inf, np.nan], dtype=np.float32)
    back = ref.float32_from_bf16_bits(ref.bf16_bits_from_float32(x))
    assert back[0] == 1.0
    assert back[1] == 1.0  # tie -> even
    assert back[2] == 1.0 + 4 * 2**-8  # tie -> even (up)
    assert back[3] == -2.5 and back[4] == np.inf and np.isnan(back[5])


def test_swish64_is_stable_for_large_negative_inputs() -> None:
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    y = ref.swish64(x)
    assert np.all(np.isfinite(y))
    assert y[0] == pytest.approx(0.0, abs=1e-300) and y[4] == 800.0
