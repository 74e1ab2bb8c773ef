"""The TensorRT backend's runtime (backends/trt_runtime.py, trt_engine.py) for operators of several
inputs, weights and outputs (tests/specs/multi), run on the CPU against stand-ins (tests/fake_trt:
a tensorrt engine whose contexts read their inputs from, and write their outputs to, the addresses
bound by name, on the stand-in pycuda's host "device" memory) in a subprocess. What it shows: every
input is bound and filled with the spec's values, every dynamic input's shape is set, every output is
bound, poisoned, read back and checked against float64 (a planted fault in output 1 fails), on shared
arena buffers, in every timing mode, through workers and the engine's infer. No GPU and no TensorRT
here: the real runs are tests/test_gpu.py's (marker gpu)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import json, sys, types
from pathlib import Path
import numpy as np
import tensorrt as trt
from trt_plugin_bench.core import oracle as ref
from trt_plugin_bench.backends.base import EngineSpec, ShapeOutOfProfileError
from trt_plugin_bench.backends import trt_runtime as rt
from trt_plugin_bench.backends.trt_common import CapturingLogger
from trt_plugin_bench.backends.trt_engine import TrtEngine
from trt_plugin_bench.core.operators import for_engine
from pycuda import driver
from fake_spec_engine import spec_engine

class Blocker:  # no kernel here: the blocked start's blocker does nothing
    timed_out = False
    def __init__(self, gpu): pass
    def block(self, stream): pass
    def release(self): pass
class Flush:
    def __init__(self, gpu, kind="clean"): self.enqueued = 0
    def enqueue(self, stream): self.enqueued += 1
    def free(self): pass
class Graph:
    def __init__(self, gpu, stream, enqueue): self.enqueue = enqueue
    def launch(self): self.enqueue()
    def close(self): pass
rt.StreamBlocker, rt.L2Flush, rt.CudaGraph = Blocker, Flush, Graph

def fake_engine(spec, fault=None):
    def plant(outs):
        if fault == "skip_output_1":
            outs.pop(list(outs)[-1])
        return outs
    return spec_engine(spec, plant)

import contextlib
from trt_plugin_bench.backends import tensorrt_backend as tb
gpu = types.SimpleNamespace(current=contextlib.nullcontext)  # a worker pushes the primary context: nothing here

class Slot:  # gpu_slot.GpuSlot's host_work, recorded: while out, nothing may be launched or copied
    out, steps = False, 0
    @contextlib.contextmanager
    def host_work(self):
        Slot.out, Slot.steps = True, Slot.steps + 1
        try:
            yield
        finally:
            Slot.out = False
launched_out = []
def guarded(name, fn):
    def call(*args, **kwargs):
        if Slot.out:
            launched_out.append(name)
        return fn(*args, **kwargs)
    return call
for fn in ("memcpy_htod_async", "memcpy_htod", "memcpy_dtoh_async", "memcpy_dtoh", "memcpy_dtod_async",
           "memset_d32_async", "memset_d16_async", "memset_d8_async", "memset_d8", "mem_alloc"):
    setattr(driver, fn, guarded(fn, getattr(driver, fn)))
trt.FakeContext.execute_async_v3 = guarded("execute_async_v3", trt.FakeContext.execute_async_v3)
tb.HOST_WORK_MIN_ELEMENTS = 1500  # these tensors are small: (7, 256) and (9, 256) step out, (5, 256) would not
backend = types.SimpleNamespace(logger=CapturingLogger(echo=False), gpu=gpu, l2_flush="clean", slot=Slot())
backend.host_work = lambda elements: tb.TensorRTBackend.host_work(backend, elements)  # the backend's own method
with backend.host_work(1499):
    small_stepped_out = Slot.out
result = {}
for name, dtype in (("bias_add", "fp32"), ("bias_add", "fp16"), ("row_norm", "fp32"), ("row_norm", "fp16"),
                    ("add_and_sum", "fp32"), ("swish_native", "fp16")):  # and one input, one output: as before
    ref_file = "" if name == "swish_native" else str(Path("tests/specs/multi") / f"{name}.yaml")
    spec = EngineSpec(name, name, "native", "", dtype, "t", (1, 256), (16, 256), (64, 256), 1.0, spec_file=ref_file)
    fe = fake_engine(spec)
    engine = TrtEngine(backend, fe, spec, 0.0)
    r = {}
    x = ref.random_input((5, 256), dtype, 3, generator=for_engine(spec).inputs[0].generator)
    outs = engine.infer_all(x)
    r["infer_shapes"] = [list(o.shape) for o in outs]
    r["infer_ok"] = bool(engine.check_all(outs, x, (5, 256)).ok)
    r["infer0_is_output0"] = bool(np.array_equal(engine.infer(x).view(np.uint8), outs[0].view(np.uint8)))
    steps = Slot.steps
    for mode in rt.MODES:
        with engine.timer((7, 256), mode, seed=1, verify_max_elements=1 << 20) as t:
            c = t.verify()
            t.sample()
            r[f"verify_{mode}"] = [bool(c.ok), c.message[:300]]
    r["host_steps"] = Slot.steps - steps  # per timer: the inputs drawn, the output checked
    b_engine = TrtEngine(backend, fake_engine(spec), spec, 0.0)  # the comparison's other side
    with rt.TrtArena(None) as arena:
        t1 = engine.timer((9, 256), "cold", seed=2, verify_max_elements=1 << 20, arena=arena)
        t2 = b_engine.timer((9, 256), "cold", seed=2, verify_max_elements=1 << 20, arena=arena)
        r["arena_shared"] = [b.ptr for b in (*t1.b.d_ins, *t1.b.d_outs)] == [b.ptr for b in (*t2.b.d_ins, *t2.b.d_outs)]
        r["arena_buffers"] = len(t1.b.d_ins) + len(t1.b.d_outs)
        r["arena_verify"] = [bool(t1.verify().ok), bool(t2.verify().ok)]
        t1.close(); t2.close()
    with engine.worker() as w:  # dynamic shapes, one context: every input's shape set each time
        r["dynamic"] = [bool(engine.check_all(w.infer_all(xs), xs, xs.shape).ok)
                        for xs in (ref.random_input(s, dtype, 5) for s in ((1, 256), (64, 256), (3, 256)))]
    try:
        engine.infer(ref.random_input((65, 256), dtype, 5))
        r["out_of_profile"] = "accepted"
    except ShapeOutOfProfileError:
        r["out_of_profile"] = "rejected"
    r["executions"] = fe.executions
    if len(for_engine(spec).outputs) > 1:  # a planted fault: output 1 never written
        bad = TrtEngine(backend, fake_engine(spec, fault="skip_output_1"), spec, 0.0)
        with bad.timer((7, 256), "warm", seed=1, verify_max_elements=1 << 20) as t:
            c = t.verify()
        r["fault_caught"] = [not c.ok, c.message[:300]]
        bad.close()
    engine.close(); b_engine.close()
    result[f"{name}/{dtype}"] = r
# the conformance checks' contexts (conformance_gpu.Context): every input and output bound, checked
from trt_plugin_bench.commands import conformance_gpu as cg
from trt_plugin_bench.commands.conformance import Target
for name, dtype in (("bias_add", "fp16"), ("row_norm", "fp32"), ("add_and_sum", "fp32")):
    ref_file = str(Path("tests/specs/multi") / f"{name}.yaml")
    t = Target(operator=name, label=name, function=name, implementation="native", kernel="", library=None,
               spec=ref_file, dtype=dtype)
    spec = cg._spec(t)
    engines = {"good": fake_engine(spec), "bad": fake_engine(spec, fault="skip_output_1")}
    r = {"profile": [list(spec.min), list(spec.max)]}
    for which, fe in engines.items():
        ctx = cg.Context(fe, 0, backend.logger)
        checks = []
        for i, shape in enumerate(((3, 77), (16, 1024), (1, 8))):
            ctx.prepare(shape, t, 11 + i)
            ctx.poison(dtype)
            ctx.enqueue()
            checks.append(ctx.check(t, f"{shape}"))
        r[which] = [c["ok"] for c in checks]
        r[which + "_message"] = checks[0]["message"][:200]
        ctx.close()
    result[f"conformance {name}/{dtype}"] = r
result["live_allocations"] = driver.live_allocations()
result["launched_out"] = launched_out
result["small_stepped_out"] = small_stepped_out
print(json.dumps(result))
"""


def test_the_runtime_binds_fills_and_checks_every_input_and_output() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got.pop("live_allocations") == 0  # every buffer freed (arena, timers, workers, engines)
    # the timers step out of the GPU slot to draw inputs and check outputs (TensorRTBackend.host_work), and
    # nothing is launched or copied while out; host work under HOST_WORK_MIN_ELEMENTS stays in
    assert got.pop("launched_out") == [] and got.pop("small_stepped_out") is False
    conf = {k: got.pop(k) for k in list(got) if k.startswith("conformance ")}
    assert conf["conformance row_norm/fp32"]["profile"] == [[1, 256], [16, 256]]  # the weights' axis at opt
    assert conf["conformance bias_add/fp16"]["profile"] == [[1, 8], [16, 1024]]
    for key, r in conf.items():
        assert all(r["good"]), (key, r["good_message"])
        if "add_and_sum" in key:
            assert not any(r["bad"]) and "output 1" in r["bad_message"], (key, r)
    for key, r in got.items():
        assert r["infer_ok"] and r["infer0_is_output0"], (key, r)
        assert r["host_steps"] == 2 * len(("warm", "cold", "stream", "graph")), (key, r["host_steps"])
        for mode in ("warm", "cold", "stream", "graph"):
            assert r[f"verify_{mode}"][0], (key, mode, r[f"verify_{mode}"][1])
        assert r["arena_shared"] and all(r["arena_verify"]), (key, r)
        assert all(r["dynamic"]) and r["out_of_profile"] == "rejected", (key, r)
    assert got["swish_native/fp16"]["infer_shapes"] == [[5, 256]] and got["swish_native/fp16"]["arena_buffers"] == 2
    assert got["bias_add/fp32"]["infer_shapes"] == [[5, 256]] and got["bias_add/fp32"]["arena_buffers"] == 3  # x, b, y
    assert got["row_norm/fp16"]["arena_buffers"] == 2  # x, y: gamma and beta are constants in the engine
    two = got["add_and_sum/fp32"]
    assert two["infer_shapes"] == [[5, 256], [5]] and two["arena_buffers"] == 4  # x, r, h, s
    assert two["fault_caught"][0] and "output 1" in two["fault_caught"][1], two["fault_caught"]
