"""The float64 check of a large output by whole rows (core/row_check.py, specs independent_rows,
TrtTimer.verify): which tensors split into rows, which rows are taken, input 0's rows rebuilt from the
random block without the full tensor, the load-time probe that refuses a spec whose rows are not
independent, and the TensorRT timers on the stand-ins (tests/fake_trt, in a subprocess as
tests/test_trt_runtime_multi.py runs them) with planted faults: a wrong value in a checked last row
fails, one in an unchecked middle row is not seen and the check says how many elements it compared,
a spec without the declaration and a size within timing.verify_max_elements are checked in full."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from trt_plugin_bench.core import specs
from trt_plugin_bench.core.row_check import (
    RANDOM_ROWS,
    RowLayout,
    choose_rows,
    describe_rows,
    row_layout,
    row_runs,
    take_rows,
    tiled_rows,
)

ROOT = Path(__file__).resolve().parents[1]
MULTI = ROOT / "tests" / "specs" / "multi"


# -- the arithmetic ----------------------------------------------------------------------------------
def test_row_layout_splits_aligned_and_broadcast_arrays_and_says_why_not() -> None:
    lay = row_layout((6, 3, 8), [(6, 3, 8), (8,), (1, 1, 8), (1, 8), (6, 3, 2)], [(6, 3, 8), (6, 3)])
    assert isinstance(lay, RowLayout)
    assert (lay.rows, lay.x_row, lay.aligned, lay.out_rows, lay.per_row) == (
        18, 8, (True, False, False, False, True), (8, 1), 9)
    assert lay.sliced_shape(4, 8) == (1, 4, 8)  # input 0's rank kept: the whole arrays broadcast as before
    # a bias broadcast along axis 0 only of a rank-3 input: rows of (6, 3) do not slice it
    why = row_layout((6, 3, 8), [(1, 3, 8)], [(6, 3, 8)], names=["input 'b'"])
    assert isinstance(why, str) and "input 'b'" in why and "[1, 3, 8]" in why
    why = row_layout((6, 8), [], [(8,)], out_names=["output 's'"])  # a reduction over the rows
    assert isinstance(why, str) and "output 's'" in why
    assert "no leading axis" in row_layout((64,), [], [(64,)])
    assert "one row" in row_layout((1, 64), [], [(1, 64)])
    assert isinstance(row_layout((6, 8), [(9, 8)], [(6, 8)]), str)  # another row count: neither


def test_choose_rows_takes_first_last_and_random_rows_within_the_budget() -> None:
    rows, per = 10_000, 300
    chosen = choose_rows(rows, per, 30_000, seed=4)
    assert chosen is not None and chosen.size * per <= 30_000 and chosen.size == 100
    assert chosen[0] == 0 and chosen[-1] == rows - 1 and np.all(np.diff(chosen) > 0)
    runs = row_runs(chosen)
    assert runs[0] == (0, (100 - RANDOM_ROWS + 1) // 2) and runs[-1][0] + runs[-1][1] == rows
    assert len(runs) == 2 + RANDOM_ROWS  # the seeded random rows lie between, apart (here) from both ends
    assert np.array_equal(chosen, choose_rows(rows, per, 30_000, seed=4))  # the same rows again
    assert not np.array_equal(chosen, choose_rows(rows, per, 30_000, seed=5))
    assert choose_rows(100, per, 100 * per, seed=0) is None  # every row fits: the full check
    one = choose_rows(100, per, per // 2, seed=0)  # a row over the budget: the first and the last still
    assert one is not None and one.tolist() == [0, 99]
    lay = row_layout((rows, per), [], [(rows, per)])
    assert isinstance(lay, RowLayout)
    text = describe_rows(chosen, lay)
    assert f"of {rows}" in text and f"{100 * per} of {rows * per} output elements" in text


def test_input_rows_rebuilt_from_the_block_match_the_full_tiled_tensor() -> None:
    rng = np.random.default_rng(11)
    block = rng.standard_normal(1000).astype(np.float32)  # not a multiple of the row: rows straddle repeats
    shape = (3, 700, 96)
    lay = row_layout(shape, [shape, (96,)], [shape])
    assert isinstance(lay, RowLayout)
    chosen = choose_rows(lay.rows, lay.per_row, 40 * 96, seed=2)
    full = np.resize(block, int(np.prod(shape))).reshape(shape)
    got = tiled_rows(block, chosen, lay)
    assert got.shape == (1, chosen.size, 96)
    assert np.array_equal(got.reshape(chosen.size, 96), full.reshape(-1, 96)[chosen])
    other = rng.standard_normal(shape)
    assert np.array_equal(take_rows(other, chosen, lay).reshape(-1, 96), other.reshape(-1, 96)[chosen])


# -- the spec's declaration, checked at load ----------------------------------------------------------
GLOBAL_NORM = '''
import numpy as np

def global_norm64(x, gamma):
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std() * gamma

def rows_scan64(x, gamma):
    return np.cumsum(np.asarray(x, dtype=np.float64), axis=0) * gamma

def cost(shapes, dtype):
    return {"bytes": 1, "flops": 1}
'''


def _spec(tmp_path: Path, reference: str, independent: bool | None) -> Path:
    (tmp_path / "gn.py").write_text(GLOBAL_NORM)
    raw = {"name": "gn", "description": "test", "implementation": "plugin_v2", "dtypes": ["fp32"],
           "plugin": {"creator": "X", "version": "1", "library": {"prebuilt": "x.so"}},
           "inputs": [{"name": "x", "rank": 2}],
           "weights": [{"name": "gamma", "shape": {"like": "x", "axes": [-1]}}],
           "outputs": [{"name": "y"}], "reference": f"gn:{reference}", "tolerance": {"fp32": {"ulps": 4}},
           "cost": "gn:cost"}
    if independent is not None:
        raw["independent_rows"] = independent
    path = tmp_path / f"gn_{reference}_{independent}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("reference", ["global_norm64", "rows_scan64"])
def test_a_spec_whose_rows_depend_on_each_other_cannot_declare_independent_rows(tmp_path: Path, reference: str) -> None:
    with pytest.raises(specs.SpecError, match="key 'independent_rows': true, but gn:.*its rows depend on other rows"):
        specs.load_spec(_spec(tmp_path, reference, True))
    undeclared = specs.load_spec(_spec(tmp_path, reference, None))  # the default: every element checked
    assert not undeclared.independent_rows
    assert undeclared.row_layout((64, 8)) == "gn: its spec does not declare independent_rows"


def test_the_row_operators_declare_independent_rows_and_pass_the_probe() -> None:
    declared = {name: s for name, s in specs.builtin_specs().items() if s.independent_rows}
    assert declared and all(len(s.inputs) + len(s.weights) + len(s.outputs) > 2 for s in declared.values())
    for name, spec in declared.items():  # the GPU config's 512 MiB shapes (tests/configs/norm-gpu.yaml) split into rows
        for shape in ((131072, 1024), (32768, 4096), (16384, 8192)):
            lay = spec.row_layout(shape)
            assert isinstance(lay, RowLayout) and lay.rows == shape[0], (name, lay)
            chosen = choose_rows(lay.rows, lay.per_row, 2 << 20, seed=1)
            assert chosen is not None and chosen.size * lay.per_row == 2 << 20, (name, shape)
    for name in ("row_norm", "add_and_sum", "bias_add"):
        spec = specs.load_spec(MULTI / f"{name}.yaml")
        assert spec.independent_rows and isinstance(spec.row_layout((6, 8)), RowLayout), name


# -- the TensorRT timers on the stand-ins ----------------------------------------------------------
SCRIPT = r"""
import contextlib, json, sys, types
from pathlib import Path
import numpy as np
import tensorrt as trt
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.core.row_check import choose_rows
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.backends import trt_runtime as rt
from trt_plugin_bench.backends.trt_common import CapturingLogger
from trt_plugin_bench.backends.trt_engine import TrtEngine
from trt_plugin_bench.core.operators import for_engine
from pycuda import driver
from fake_spec_engine import spec_engine

SHAPE, SEED = (64, 256), 5

def fake_engine(spec, fault_row=None):
    def plant(outs):  # a planted wrong value: output 0, one element of row fault_row
        if fault_row is not None:
            outs["y"].reshape(SHAPE[0], -1)[fault_row, 7] += 0.25
        return outs
    return spec_engine(spec, plant)

class Blocker:
    timed_out = False
    def __init__(self, gpu): pass
    def block(self, stream): pass
    def release(self): pass
rt.StreamBlocker = Blocker
gpu = types.SimpleNamespace(current=contextlib.nullcontext)
backend = types.SimpleNamespace(logger=CapturingLogger(echo=False), gpu=gpu, l2_flush="clean")
backend.host_work = lambda elements: contextlib.nullcontext()
copies = []
real_dtoh = driver.memcpy_dtoh
def dtoh(dst, src):
    copies.append(int(np.asarray(dst).nbytes))
    return real_dtoh(dst, src)
driver.memcpy_dtoh = dtoh

result = {}
for case in json.loads(sys.argv[1]):
    spec = EngineSpec(case["name"], case["name"], "native", "", case["dtype"], "t", (1, 256), SHAPE, SHAPE, 1.0,
                      spec_file=case["spec"])
    op = for_engine(spec)
    layout = op.row_layout(SHAPE)
    vmax = case["verify_max"]
    per_row = SHAPE[1] if isinstance(layout, str) else layout.per_row
    n = SHAPE[0] * SHAPE[1]
    chosen = None if isinstance(layout, str) or n <= vmax else choose_rows(SHAPE[0], per_row, min(vmax, rt.ROW_CHECK_ELEMENTS), SEED)
    fault = {"none": None, "last": SHAPE[0] - 1, "first": 0}.get(case["fault"])
    if case["fault"] == "unchecked":  # a row the check of 4096 elements leaves out
        fault = int(next(r for r in range(SHAPE[0]) if r not in set(choose_rows(SHAPE[0], per_row, 4096, SEED).tolist())))
    engine = TrtEngine(backend, fake_engine(spec, fault), spec, 0.0)
    copies.clear()
    with engine.timer(SHAPE, "warm", seed=SEED, verify_max_elements=vmax) as t:
        c = t.verify()
    result[case["key"]] = {"ok": bool(c.ok), "checked": c.checked, "mismatches": c.mismatches,
                           "message": c.message[:400], "copied": sum(copies),
                           "chosen": None if chosen is None else chosen.tolist(), "fault_row": fault}
    engine.close()
result["live_allocations"] = driver.live_allocations()
print(json.dumps(result))
"""


def _run(cases: list[dict]) -> tuple[dict, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases)], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_the_timers_check_whole_rows_above_verify_max_elements(tmp_path: Path) -> None:
    # row_norm: weights whole; add_and_sum: input r sliced like x, two outputs (one a row reduction)
    undeclared = tmp_path / "row_norm_undeclared.yaml"
    raw = yaml.safe_load((MULTI / "row_norm.yaml").read_text())
    raw.pop("independent_rows")
    raw["name"] = "row_norm_undeclared"
    undeclared.write_text(yaml.safe_dump(raw))
    shutil.copy(MULTI / "multi.py", tmp_path / "multi.py")
    n = 64 * 256
    cases = []
    for name, dtype in (("row_norm", "fp32"), ("row_norm", "fp16"), ("add_and_sum", "fp32")):
        for fault in ("none", "last", "first", "unchecked"):
            cases.append({"key": f"{name}/{dtype}/{fault}", "name": name, "dtype": dtype, "fault": fault,
                          "spec": str(MULTI / f"{name}.yaml"), "verify_max": 4096})
        cases.append({"key": f"{name}/{dtype}/full", "name": name, "dtype": dtype, "fault": "unchecked",
                      "spec": str(MULTI / f"{name}.yaml"), "verify_max": n})  # within the limit: every element
    cases.append({"key": "undeclared", "name": "row_norm_undeclared", "dtype": "fp32", "fault": "unchecked",
                  "spec": str(undeclared), "verify_max": 4096})
    got, stderr = _run(cases)
    assert got.pop("live_allocations") == 0
    for name, dtype, per_row in (("row_norm", "fp32", 256), ("row_norm", "fp16", 256), ("add_and_sum", "fp32", 257)):
        key = f"{name}/{dtype}"
        clean = got[f"{key}/none"]
        k = len(clean["chosen"])
        assert clean["ok"], (key, clean["message"])
        assert clean["checked"] == k * per_row <= 4096 < n, (key, clean["checked"])  # the count it compared
        assert f"{k * per_row} of {64 * per_row} output elements" in clean["message"], clean["message"]
        itemsize = 4 if dtype == "fp32" else 2
        assert clean["copied"] == k * per_row * itemsize  # only the chosen rows came off the device
        for fault in ("last", "first"):  # a wrong value in a checked row fails
            r = got[f"{key}/{fault}"]
            assert r["fault_row"] in r["chosen"] and not r["ok"] and r["mismatches"] == 1, (key, fault, r)
        unseen = got[f"{key}/unchecked"]  # not required to be caught: the check says it compared k rows
        assert unseen["fault_row"] not in unseen["chosen"] and unseen["checked"] == k * per_row, (key, unseen)
        full = got[f"{key}/full"]  # verify_max_elements >= n: every element, the middle fault caught
        assert full["chosen"] is None and not full["ok"] and full["checked"] == 64 * per_row, (key, full)
    und = got["undeclared"]  # no declaration: every element, the middle fault caught, and said once
    assert und["chosen"] is None and not und["ok"] and und["checked"] == n, und
    said = [line for line in stderr.splitlines() if "row_norm_undeclared: its spec does not declare independent_rows" in line]
    assert len(said) == 1 and "every element of every output" in said[0], stderr[-2000:]
