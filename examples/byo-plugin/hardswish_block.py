"""A neighbourhood of this folder's own, for the in_network rule (config.yaml: in_network.blocks):
the MobileNetV3 inverted-residual pattern around the plugin, pointwise expansion (1x1 convolution)
-> hard-swish -> 3x3 convolution, in NCHW. The rule builds it twice, once with the plugin and once
with its native twin where ``operator`` is called (docs/in-network.md), and on the CPU reference
backend runs ``expand_block_cpu``, the same block in numpy (a stand-in: no TensorRT, labelled so).

Nothing here is the project's: a user's block is two functions of this shape.
"""

from __future__ import annotations

import numpy as np


def _conv_weights(rng: np.random.Generator, c: int, k: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    host = np.float16 if dtype == "fp16" else np.float32
    w = (rng.standard_normal((c, c, k, k)) / np.sqrt(c * k * k)).astype(host)
    b = (0.1 * rng.standard_normal(c)).astype(host)
    return w, b


def expand_block(trt, network, x, dtype: str, keep: list, operator, rng: np.random.Generator):  # noqa: ANN001, ANN201
    """1x1 convolution -> operator -> 3x3 convolution (pad 1), channels kept."""
    c = int(x.shape[1])
    outs = x
    for k, name in ((1, "expand.conv1x1"), (3, "project.conv3x3")):
        w, b = _conv_weights(rng, c, k, dtype)
        keep += [w, b]
        layer = network.add_convolution_nd(outs, c, (k, k), trt.Weights(w), trt.Weights(b))
        layer.padding_nd = (k // 2, k // 2)
        layer.name = name
        outs = layer.get_output(0)
        if k == 1:
            outs = operator(outs)
    return outs


def _conv_np(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = w.shape[-1]
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    y = np.tensordot(win, w.astype(np.float32), axes=([1, 4, 5], [1, 2, 3]))
    return np.moveaxis(y, -1, 1) + b.astype(np.float32).reshape(1, -1, 1, 1)


def expand_block_cpu(x: np.ndarray, dtype: str, operator, rng: np.random.Generator) -> np.ndarray:  # noqa: ANN001
    """The same block in numpy (weights drawn in the same order), rounded to the dtype between layers."""
    host = np.float16 if dtype == "fp16" else np.float32
    w, b = _conv_weights(rng, x.shape[1], 1, dtype)
    y = operator(_conv_np(x, w, b).astype(host))
    w, b = _conv_weights(rng, x.shape[1], 3, dtype)
    return _conv_np(y, w, b).astype(host)
