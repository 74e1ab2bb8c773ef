"""Profiles above 2^31 elements: a clear error naming the profile key where the backend cannot build
or run them (TensorRT 8.6's 32-bit volumes), never a traceback from the bindings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from trt_plugin_bench.commands import sweeps
from trt_plugin_bench.core.config import ConfigError, Profile

BIG = Profile("huge", (1, 1024), (1024, 1024), (1 << 21, 1024), ((1024, 1024), (1 << 21, 1024)))  # max: 2^31 elements


def backend(limit: int | None) -> SimpleNamespace:
    return SimpleNamespace(name="tensorrt", max_tensor_elements=limit,
                           device_info=lambda: SimpleNamespace(tensorrt_version="8.6.1"))


def test_a_profile_above_the_backends_tensor_limit_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"config key 'profiles.huge.max': shape \[2097152, 1024\] has 2147483648 "
                                          r"elements, more than the 2147483647"):
        sweeps.check_profile_fits(backend((1 << 31) - 1), BIG)
    sweeps.check_profile_fits(backend(None), BIG)  # TensorRT >= 10, the CPU reference backend: no such limit
    sweeps.check_profile_fits(backend((1 << 31) - 1), Profile("ok", (1,), (2,), ((1 << 31) - 1,), ((2,),)))
