"""examples/byo-plugin, the external plugin: its spec loads and its numerics hold (the reference, the
CPU stand-in of the kernel, the TensorRT-native twin evaluated on numpy layers), and the whole DAG
runs it on the CPU reference backend from a tiny variant of its own config: latency and compare
rows, verified, MLflow runs, and an edit of its CUDA source reruns the compile rule."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from project_copy import copy_project
from trt_plugin_bench.core import oracle, specs
from trt_plugin_bench.core.specs import numerics_of

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "byo-plugin"
SPEC = EXAMPLE / "hardswish.yaml"


@pytest.fixture()
def spec() -> specs.OperatorSpec:
    return specs.load_spec(SPEC)


def edged_input(spec: specs.OperatorSpec, dtype: str, n: int = 4096) -> np.ndarray:
    return oracle.random_input((n,), dtype, seed=3, generator=spec.inputs[0].generator)


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_the_kernels_arithmetic_passes_and_a_planted_error_does_not(spec: specs.OperatorSpec, dtype: str) -> None:
    num = numerics_of(spec)
    x = edged_input(spec, dtype)
    y = oracle.compute_float32(num, x, dtype)
    result = oracle.check_output(y, x, num, dtype)
    assert result.ok, result
    x64 = oracle.to_float64(x, dtype)
    assert np.isnan(num.reference(np.array([-np.inf, np.nan]), 1.0)).all()  # -inf * 0: the formula as written
    # planted: the gate's ramp 8 ulp off at one element inside it
    i = int(np.flatnonzero((np.abs(x64) > 0.5) & (np.abs(x64) < 2.5))[0])
    bad = oracle.to_float64(y, dtype).copy()
    bad[i] += 8 * oracle.ulp(np.array([bad[i]]), dtype)[0]
    assert not oracle.check_output(oracle.to_device_dtype(bad.astype(np.float32), dtype), x, num, dtype).ok


class _Tensor:
    def __init__(self, value: np.ndarray) -> None:
        self.value = value
        self.shape = value.shape


class _Layer:
    def __init__(self, value: np.ndarray) -> None:
        self.out = _Tensor(value)

    def get_output(self, index: int) -> _Tensor:
        return self.out


class NumpyNetwork:
    """The few INetworkDefinition calls a twin makes, evaluated eagerly in the tensors' own dtype
    (fp16 in half arithmetic: the worst TensorRT's layers may do)."""

    class ElementWiseOperation:
        SUM, MAX, MIN, DIV, PROD = "add", "maximum", "minimum", "divide", "multiply"

    Weights = staticmethod(lambda a: a)

    def add_constant(self, shape: tuple, weights: np.ndarray) -> _Layer:
        return _Layer(weights.reshape(shape))

    def add_elementwise(self, a: _Tensor, b: _Tensor, op: str) -> _Layer:
        with np.errstate(all="ignore"):
            return _Layer(getattr(np, op)(a.value, b.value).astype(a.value.dtype))


@pytest.mark.parametrize(("dtype", "alpha"), [("fp32", 1.0), ("fp16", 1.0), ("fp32", 0.5), ("fp16", 0.5)])
def test_the_native_twin_computes_the_reference(spec: specs.OperatorSpec, dtype: str, alpha: float) -> None:
    twin = spec.fn("native_twin")
    x = edged_input(spec, dtype).reshape(64, 64)
    net = NumpyNetwork()
    keep: list = []
    layers = twin(NumpyNetwork, net, [_Tensor(x)], dtype, keep, alpha=alpha)
    assert len(layers) == (5 if alpha == 1.0 else 6) and keep
    y = layers[-1].get_output(0).value
    spec_alpha = specs.OperatorSpec(**{**spec.__dict__, "fields": (specs.Field("alpha", "float32", alpha),)})
    result = oracle.check_output(y, x, numerics_of(spec_alpha), dtype, tensorrt_layers=True)
    assert result.ok, result


def test_cost_model_counts_one_read_and_one_write(spec: specs.OperatorSpec) -> None:
    assert spec.cost_of([(16, 1024)], "fp16") == {"bytes": 2 * 16 * 1024 * 2, "flops": 6 * 16 * 1024}


# -- the DAG on the reference backend ---------------------------------------------------------------
def tiny_config() -> dict:
    """The example's config with tests/configs/small.yaml's tiny profile, budgets and store."""
    cfg = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    small = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg.update(backend="reference", operators=cfg["operators"][:2], profiles=small["profiles"], timing=small["timing"], threads=small["threads"],
               calibration=small["calibration"], reference=small["reference"])
    cfg["threads"] = {**small["threads"], "profile": "tiny"}
    cfg["compare"] = {**cfg["compare"], "extra_shapes": {}}
    cfg["profile"] = {**cfg["profile"], "profile": "tiny", "shape": [16, 256]}
    cfg["mlflow"] = {"experiment": "trt-plugin-bench-byo-test", "tracking_uri": "sqlite:///mlflow.db"}
    return cfg


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile",
                           "tests/configs/byo-tiny.yaml", *args],
                          cwd=project, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("byo"))
    shutil.copytree(EXAMPLE, project / "examples" / "byo-plugin", ignore=shutil.ignore_patterns("build", "__pycache__"))
    (project / "tests" / "configs" / "byo-tiny.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    proc = snakemake(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.mark.slow
def test_the_example_runs_through_the_dag(project: Path) -> None:
    import pandas as pd

    lat = pd.read_csv(project / "results" / "byo-hardswish" / "tables" / "latency.csv")
    ours = lat[lat["operator"] == "hardswish"]
    assert set(ours["dtype"]) == {"fp32", "fp16"} and ours["verified"].all()
    assert set(ours["implementation"]) == {"plugin_v2"} and set(ours["backend"]) == {"reference"}
    assert lat[lat["operator"] == "hardswish_native"]["verified"].all()
    compare = pd.read_csv(project / "results" / "byo-hardswish" / "tables" / "compare.csv")
    pair = compare[(compare["operator_a"] == "hardswish") & (compare["operator_b"] == "hardswish_native")]
    assert set(pair["dtype"]) == {"fp32", "fp16"} and pair["verified"].all()
    assert "hardswish" in (project / "results" / "byo-hardswish" / "tables" / "summary.md").read_text()
    logged = json.loads((project / "results" / "byo-hardswish" / "mlflow" / "logged.json").read_text())
    assert {"hardswish__fp32__tiny", "hardswish__fp16__tiny"} <= set(logged["created"])
    assert (project / "results" / "byo-hardswish" / "figures" / "compare.png").stat().st_size > 1000
    # the user's own neighbourhood (hardswish_block.py) through the in_network rule, on the CPU stand-in
    inn = pd.read_csv(project / "results" / "byo-hardswish" / "tables" / "in_network.csv")
    assert set(inn["block"]) == {"expand"} and set(inn["dtype"]) == {"fp32", "fp16"} and inn["verified"].all()
    assert set(inn["backend"]) == {"reference"} and inn["label"].str.startswith("CPU stand-in").all()
    assert (project / "results" / "byo-hardswish" / "figures" / "in_network.png").stat().st_size > 1000
    manifest = json.loads((project / "results" / "byo-hardswish" / "build" / "manifest.json").read_text())
    key = specs.load_spec(project / "examples" / "byo-plugin" / "hardswish.yaml").plugin.library.manifest_key
    assert manifest["spec_libraries"] == {key: None}  # the CPU backend compiles none of it
    # an edit of the plugin's CUDA source reruns the compile rule and the plugin's engines
    kernel = project / "examples" / "byo-plugin" / "hardSwishKernel.cu"
    kernel.write_text(kernel.read_text() + "// edited\n")
    dry = snakemake(project, "-n")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "rule compile_plugin:" in dry.stdout and "op=hardswish, dtype=fp32" in dry.stdout
