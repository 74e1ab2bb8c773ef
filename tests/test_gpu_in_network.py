"""GPU suite, the in_network rule (docs/in-network.md): real engines of a conv3x3 block with the Swish
plugin, its any-layout variant (formats 1) and the native twin, the pair's output check, IProfiler's
per-layer times and the engine inspector's layer list. Asserts structure and correctness, never
timings (benchmarks measure; tests assert).

Skipped, with the reason, where TensorRT, pycuda or a GPU is missing. Run on the GPU host:
`python3 -m pytest -m gpu tests/test_gpu_in_network.py`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from gpu_env import require_gpu

pytestmark = pytest.mark.gpu

trt, cuda = require_gpu()

from trt_plugin_bench.commands import sweeps  # noqa: E402
from trt_plugin_bench.commands.compile import compile_plugin  # noqa: E402
from trt_plugin_bench.commands.in_network import OP_PLUGIN, plugin_kernel_of, prepare_job  # noqa: E402
from trt_plugin_bench.commands.trt_blocks import run_trt_job  # noqa: E402
from trt_plugin_bench.core.config import load_config  # noqa: E402
from trt_plugin_bench.core.operators import OPERATORS  # noqa: E402
from trt_plugin_bench.core.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# 60 channels: not a multiple of any vector (2, 4, 8, 16, 32), so a vectorized format the any-layout
# plugin is given has padding, which its enqueue must cover (and leave 0)
EXTRA = """
in_network:
  enabled: true
  operators: [swish_plugin, swish_plugin_anyformat]
  dtypes: [fp32, fp16]
  max_time_s: 0.2
  profile_runs: 5
  blocks:
    conv3x3:
      network: trt_plugin_bench.commands.neighbourhoods:conv3x3
      sizes: {n2c60s28: [2, 60, 28, 28]}
    matmul:
      network: trt_plugin_bench.commands.neighbourhoods:matmul
      sizes: {m256k192: [256, 192]}
"""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("TPB_TEST_BUILD_DIR", tmp_path_factory.mktemp("plugin-build")))
    path = out / "manifest.json"
    compile_plugin("tensorrt", out / "plugin", path, out / "cmake.log", op_specs=list(OPERATORS.values()))
    return path


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cfg = tmp_path_factory.mktemp("cfg") / "c.yaml"
    cfg.write_text((ROOT / "tests" / "configs" / "small.yaml").read_text().replace("backend: reference", "backend: tensorrt")
                   + EXTRA)
    return Settings.from_config(load_config(cfg))


@pytest.mark.parametrize("op", ["swish_plugin", "swish_plugin_anyformat"])
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("block,size", [("conv3x3", "n2c60s28"), ("matmul", "m256k192")])
def test_the_block_pair_is_built_checked_profiled_and_inspected(settings: Settings, manifest: Path, op: str,
                                                                dtype: str, block: str, size: str) -> None:
    prepared = prepare_job(settings, op, block, dtype, size)
    rows, layers, record = run_trt_job(settings, prepared, plugin_kernel_of(prepared.op_spec, settings, dtype),
                                       sweeps.plugin_library_from_manifest(manifest, prepared.op_spec))
    (row,) = rows
    # the plugin's block computes what the twin's does, whatever formats TensorRT gave the plugin
    assert row.verified, row.check_message
    assert row.backend == "tensorrt" and row.label.startswith("TensorRT") and row.n > 0
    assert math.isfinite(row.ratio) and math.isfinite(row.control_ratio)
    # the inspector names the plugin layer and its formats; the profiler timed it, in the block and alone
    assert row.plugin_in_format and row.plugin_in_format != "?"
    assert math.isfinite(row.plugin_layer_us) and math.isfinite(row.plugin_alone_us)
    assert {r.engine for r in layers} == {"plugin", "twin", "alone"}
    plugin_rows = [r for r in layers if r.engine == "plugin" and r.layer == OP_PLUGIN]
    assert len(plugin_rows) == 1 and plugin_rows[0].role == "operator"
    assert record["engines"]["plugin"] and all(isinstance(x, dict) for x in record["engines"]["twin"])
    # the linear-only plugin runs in a linear format; reformats, where inserted, are counted from the engine
    if op == "swish_plugin":
        assert "linear" in row.plugin_in_format.lower()
    assert row.reformats_plugin == sum(r.role == "inserted" for r in layers if r.engine == "plugin")
