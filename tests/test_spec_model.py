"""The spec model beyond one input: several inputs (each with a dtype rule, shape rule, generator and
edges), constant weights, several outputs with shape rules; errors name the file and the key; the
cost model sees every input's and weight's shape. tests/specs/multi/: three test operators (not
product ops), each run through the small DAG on the CPU reference backend (the slow test), whose
tables' bytes must be each cost model's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from project_copy import copy_project
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.specs import SpecError, load_spec, numerics_of, parse_spec

ROOT = Path(__file__).resolve().parents[1]
MULTI = ROOT / "tests" / "specs" / "multi"
OPS = ("bias_add", "row_norm", "add_and_sum")


def raw(name: str) -> dict:
    return yaml.safe_load((MULTI / f"{name}.yaml").read_text())


def test_shape_rules_give_every_inputs_weights_and_outputs_shape() -> None:
    bias, norm, two = (load_spec(MULTI / f"{n}.yaml") for n in OPS)
    assert bias.input_shapes((8, 256)) == [(8, 256), (1, 256)]  # b broadcast along axis 0
    assert norm.weight_shapes((8, 256)) == [(256,), (256,)] and norm.all_shapes((8, 256))[1:] == [(256,), (256,)]
    assert two.output_shapes((8, 256)) == [(8, 256), (8,)]  # h like x, s from multi:rows
    assert bias.cost_of(bias.all_shapes((8, 256)), "fp16")["bytes"] == (2 * 8 * 256 + 256) * 2


@pytest.mark.parametrize("name", OPS)
def test_each_operator_is_right_on_the_cpu_and_a_planted_error_fails(name: str) -> None:
    spec = load_spec(MULTI / f"{name}.yaml")
    num = numerics_of(spec)
    for dtype in spec.dtypes:
        x = ref.random_input((16, 256), dtype, 3, generator=spec.inputs[0].generator)
        for j in range(num.outputs):
            y = ref.compute_float32(num, x, dtype, output=j)
            assert ref.check_output(y, x, num, dtype, output=j).ok
            bad = y.copy()
            bad.reshape(-1)[3] = ref.to_device_dtype(np.array([100.0], dtype=np.float32), dtype)[0]
            assert not ref.check_output(bad, x, num, dtype, output=j).ok


def test_the_other_inputs_are_drawn_with_their_own_generators() -> None:
    from trt_plugin_bench.core.specs import aux_arrays

    spec = load_spec(MULTI / "bias_add.yaml")
    [(b, dtype)] = aux_arrays(spec, (16, 256), "fp16")
    b64 = ref.to_float64(b, dtype)
    assert b.shape == (1, 256) and dtype == "fp16"
    assert list(b64[0, :10]) == [1.0] * 5 + [-1.0] * 5  # its own edge values first, each over input 0's five
    assert np.all(np.abs(b64[0, 2:-2]) <= 2.0)  # uniform in [-2, 2], not input 0's normal
    assert aux_arrays(spec, (16, 256), "fp16")[0][0] is b  # the same values in every call


@pytest.mark.parametrize(("edit", "key", "words"), [
    (lambda d: d["inputs"][1]["shape"].update(like="z"), "inputs[1].shape.like", "'z' is not an input before it"),
    (lambda d: d["inputs"][1].pop("shape"), "inputs[1].shape", "has no shape rule"),
    (lambda d: d["inputs"][0].update(shape={"like": "x"}), "inputs[0].shape", "comes from the config's profiles"),
    (lambda d: d.update(cpu_implementation="multi:add_and_sum_float32"), "cpu_implementation",
     r"returned .* allowed: 1 float array\(s\)"),
])
def test_a_bad_spec_names_its_file_and_key(edit, key: str, words: str) -> None:  # noqa: ANN001
    d = raw("bias_add")
    edit(d)
    with pytest.raises(SpecError, match=rf"bias_add.yaml: key '{re.escape(key)}'.*{words}"):
        parse_spec(d, MULTI / "bias_add.yaml")


def test_a_weight_without_a_shape_rule_is_refused() -> None:
    d = raw("row_norm")
    d["weights"][0].pop("shape")
    with pytest.raises(SpecError, match=r"row_norm.yaml: key 'weights\[0\].shape': weight 'gamma' has no shape rule"):
        parse_spec(d, MULTI / "row_norm.yaml")


# -- the small DAG on the CPU ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("multi"))
    (project / "tests" / "specs").mkdir(parents=True)
    import shutil

    shutil.copytree(MULTI, project / "tests" / "specs" / "multi", ignore=shutil.ignore_patterns("__pycache__"))
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg.update(experiment="multi", operators=[f"tests/specs/multi/{n}.yaml" for n in OPS], compare={"pairs": []},
               mlflow={"experiment": "trt-plugin-bench-multi-test", "tracking_uri": "sqlite:///mlflow.db"})
    (project / "tests" / "configs" / "multi.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "tests/configs/multi.yaml"],
                          cwd=project, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.mark.slow
def test_each_operator_runs_through_the_dag_and_its_bytes_are_its_cost_models(project: Path) -> None:
    tables = project / "results" / "multi" / "tables"
    lat = pd.read_csv(tables / "latency.csv")
    assert set(lat["operator"]) == set(OPS) and lat["verified"].all()
    for name in OPS:
        spec = load_spec(MULTI / f"{name}.yaml")
        rows = lat[lat["operator"] == name]
        assert set(rows["dtype"]) == set(spec.dtypes)
        for _, r in rows.iterrows():
            shape = tuple(int(v) for v in r["shape"].split("x"))
            assert r["bytes_moved"] == spec.cost_of(spec.all_shapes(shape), r["dtype"])["bytes"], (name, r["shape"])
    dyn = pd.read_csv(tables / "dynamic.csv")
    assert (dyn[dyn["in_profile"]]["status"] == "ok").all()
    acc = pd.read_csv(tables / "accuracy.csv")
    assert set(acc["operator"]) == set(OPS) and acc["within_tolerance"].all()
    assert "## Accuracy" in (tables / "summary.md").read_text()


@pytest.mark.parametrize("name", ["bias_add", "add_and_sum"])
def test_edge_values_meet_pairwise_across_inputs(name: str) -> None:
    """Every edge value of input 0 meets every edge value of each other input in one element, in the
    inputs every rule draws (operators.generator_for for input 0, specs.aux_arrays for the others),
    a broadcast input included; the weights are never paired (constants of the engine)."""
    from trt_plugin_bench.core.operators import generator_for
    from trt_plugin_bench.core.specs import aux_arrays

    spec = load_spec(MULTI / f"{name}.yaml")
    engine = type("E", (), {"spec_file": str(MULTI / f"{name}.yaml"), "operator": name})()
    for dtype in spec.dtypes:
        x = ref.random_input((16, 256), dtype, 3, generator=generator_for(engine))
        [(other, dt)] = aux_arrays(spec, (16, 256), dtype)
        pairs = set(zip(ref.to_float64(x, dtype).ravel().tolist(),
                        np.broadcast_to(ref.to_float64(other, dt), x.shape).ravel().tolist()))
        e0 = ref.edge_values(tuple(spec.inputs[0].generator.edges), dtype).tolist()
        e1 = ref.edge_values(tuple(spec.inputs[1].generator.edges), dt).tolist()
        missing = [(a, b) for a in e0 for b in e1
                   if not any((p[0] == a or (np.isnan(a) and np.isnan(p[0]))) and p[1] == b for p in pairs)]
        assert not missing, (name, dtype, missing)
