"""The TensorRT network of an operator of several inputs, weights and outputs (trt_network), built
against a stand-in tensorrt module (tests/fake_trt) in a subprocess: what inputs, constants, layers
and outputs it adds. No GPU and no TensorRT here: the real build is not run (written for it, tested
only against this stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import json, sys
from pathlib import Path
from trt_plugin_bench.backends.base import EngineSpec
from trt_plugin_bench.backends import trt_network as tn
import tensorrt as trt

out = {}
for name, dtype in (("bias_add", "fp16"), ("row_norm", "fp32"), ("add_and_sum", "fp32"), ("swish_plugin", "fp32")):
    ref = name if name == "swish_plugin" else str(Path("tests/specs/multi") / f"{name}.yaml")
    impl = "plugin_v2" if name == "swish_plugin" else "native"
    spec = EngineSpec(name, name, impl, "vectorized_oneshot" if impl != "native" else "", dtype, "t",
                      (1, 256), (16, 256), (64, 256), 1.0, spec_file="" if name == "swish_plugin" else ref)
    net = trt.Network()
    keep = []
    layers = tn.populate_network(net, spec, False, keep)
    out[name] = {"inputs": [[t.name, list(t.shape), t.dtype] for t in net.inputs],
                 "constants": [list(l.outputs[0].shape) for l in net.layers if l.kind == "constant"],
                 "layers": [l.kind for l in layers],
                 "marked": [[t.name, list(t.shape)] for t in net.marked],
                 "profiles": [[n, list(a), list(b), list(c)] for n, a, b, c in tn.input_profiles(tn.for_engine(spec), spec)],
                 "profiled": [p[0] for p in tn.dynamic_input_profiles(tn.for_engine(spec), spec)]}
print(json.dumps(out))
"""


def test_the_network_of_several_inputs_weights_and_outputs() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    bias = got["bias_add"]
    assert bias["inputs"] == [["x", [-1, 256], "float16"], ["b", [1, 256], "float16"]]  # b broadcast along axis 0
    assert bias["profiles"][1] == ["b", [1, 256], [1, 256], [1, 256]] and bias["marked"] == [["y", [-1, 256]]]
    assert bias["profiled"] == ["x"]  # b is a static network input: the optimization profile leaves it out
    norm = got["row_norm"]
    assert norm["inputs"] == [["x", [-1, 256], "float32"]] and norm["constants"] == [[256], [256]]  # gamma, beta
    assert norm["layers"] == ["shuffle", "shuffle", "normalization"]
    two = got["add_and_sum"]
    assert two["marked"] == [["y", [-1, 256]], ["s", [-1]]] and two["layers"] == ["elementwise", "reduce"]
    assert two["profiled"] == ["x", "r"]
    swish = got["swish_plugin"]  # one input, one output: as before, the plugin layer from the spec's creator
    assert swish["inputs"] == [["x", [-1, 256], "float32"]] and swish["layers"] == ["plugin_v2"]
    assert swish["marked"] == [["y", [-1, 256]]]
