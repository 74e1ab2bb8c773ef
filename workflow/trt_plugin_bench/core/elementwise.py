"""Helpers for elementwise operators' native twins and cost models (an op's module beside its spec,
e.g. ops/<op>/<op>.py, may use them; a user's need not).

A twin builds the operator's math from TensorRT's own layers: ``twin(trt, network, inputs, dtype,
keep, **fields)`` returns the layers it added, the last one's output being the result. It is given
the ``tensorrt`` module rather than importing it, so a twin's module imports on a machine without
TensorRT (the spec loader checks that a twin imports and is callable there). ``keep`` holds host
arrays TensorRT reads at build time. A cost model returns the bytes one inference reads and writes
and its FLOPs, from the input shapes and the dtype ("% of the copy ceiling" divides by those bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


def elements(shape: Sequence[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


def unary_cost(shapes: Sequence[Sequence[int]], dtype: str, flops_per_element: int) -> dict:
    """One input read, one output of its shape and dtype written."""
    n = elements(shapes[0])
    return {"bytes": 2 * n * ITEMSIZE[dtype], "flops": flops_per_element * n}


def constant(trt, network, value: float, rank: int, dtype: str, keep: list):  # noqa: ANN001, ANN201 - TensorRT objects
    """A broadcastable scalar constant of ``dtype`` (bf16: an fp32 constant cast in the network)."""
    np_dtype = np.float16 if dtype == "fp16" else np.float32
    weights = np.full((1,) * rank, value, dtype=np_dtype)
    keep.append(weights)  # TensorRT reads the weights at build time, not now
    layer = network.add_constant(weights.shape, trt.Weights(weights))
    if dtype == "bf16":  # numpy has no bf16
        return network.add_cast(layer.get_output(0), trt.bfloat16).get_output(0)
    return layer.get_output(0)
