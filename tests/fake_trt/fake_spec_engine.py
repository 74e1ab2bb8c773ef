"""A stand-in TensorRT engine of an operator spec for the subprocess tests of the TensorRT backend's
runtime (tests/test_trt_runtime_multi.py, tests/test_row_check.py): inputs and outputs named and typed
as the real build names them, the spec's profiles, the outputs computed by the spec's CPU
implementation in float32 (as a plugin would), the weights built in at the spec's opt shape.
``alter(outputs)`` plants a fault in the outputs (a dict by name) before they are written."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorrt as trt
from trt_plugin_bench.backends.trt_network import input_profiles
from trt_plugin_bench.core.operators import for_engine
from trt_plugin_bench.core.specs import aux_arrays

TRT = {"fp32": "float32", "fp16": "float16"}


def spec_engine(spec, alter: Callable[[dict], dict] | None = None):
    op = for_engine(spec)
    profiles = input_profiles(op, spec)
    io = [(name, trt.TensorIOMode.INPUT, TRT[t.dtype_for(spec.dtype)], [d if a == b else -1 for a, d, b in zip(lo, opt, hi)])
          for (name, lo, opt, hi), t in zip(profiles, op.inputs)]
    out_names = ["y", *op.outputs[1:]]
    rank = [len(s) for s in op.output_shapes(spec.opt)]
    io += [(name, trt.TensorIOMode.OUTPUT, TRT[spec.dtype], [-1] * r) for name, r in zip(out_names, rank)]
    weights = [a for a, _ in aux_arrays(op, spec.opt, spec.dtype)[len(op.inputs) - 1:]]  # constants, built at opt
    cpu = op.fn("cpu_implementation")
    names = [n for n, *_ in profiles]

    def output_shapes(shapes):
        return dict(zip(out_names, op.output_shapes(shapes["x"])))

    def compute(arrays):
        args = [arrays[n].astype(np.float32) for n in names] + [w.astype(np.float32) for w in weights]
        with np.errstate(all="ignore"):
            res = cpu(*args, **op.kwargs(cpu))
        outs = dict(zip(out_names, (np.array(r) for r in (res if isinstance(res, (list, tuple)) else [res]))))
        return alter(outs) if alter is not None else outs

    return trt.FakeEngine(io, {n: (lo, opt, hi) for n, lo, opt, hi in profiles}, output_shapes, compute, profiles=4)
