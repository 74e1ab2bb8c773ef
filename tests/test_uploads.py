"""Host-to-device copies that a non-blocking stream's work reads: landed first (cuda_utils.upload).

A synchronous copy from pageable host memory may return before its DMA lands, and the legacy stream
it goes on does not order a non-blocking stream's work (every stream of the backends is one). The GPU
suite's test_l2_flush_kinds failed once that way under load (H100, 2026-12-07), and the in_network
rule's engines (trt_blocks) uploaded their inputs the same way. The stand-in pycuda (tests/fake_trt)
keeps the hazard: its memcpy_htod lands only at the next call ordered behind the legacy stream."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow" / "trt_plugin_bench"


def synchronous_uploads(path: Path) -> list[str]:
    """``cuda.memcpy_htod(...)`` calls in a module, but inside cuda_utils.upload itself."""
    tree = ast.parse(path.read_text())
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "upload" and path.name == "cuda_utils.py":
            allowed |= {id(n) for n in ast.walk(node)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "memcpy_htod"
            and id(node) not in allowed]


def test_every_pageable_upload_of_the_package_goes_through_upload() -> None:
    # failed before: trt_blocks.BlockEngine.run and BlockArena.io called cuda.memcpy_htod and enqueued on a
    # non-blocking stream right after
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in synchronous_uploads(path)]
    assert found == [], f"use cuda_utils.upload (a copy landed before a non-blocking stream's work): {found}"


SCRIPT = r"""
import numpy as np
import pycuda.driver as cuda
from trt_plugin_bench.device.cuda_utils import upload

stream = cuda.Stream(flags=1)  # non-blocking, as the backends'
data = np.arange(64, dtype=np.uint8)
out = {}
for name, copy in (("plain", cuda.memcpy_htod), ("upload", upload)):
    buf = cuda.mem_alloc(64)
    copy(buf.ptr, data)
    cuda.memset_d8_async(buf.ptr, 0x11, 16, stream)  # the non-blocking stream's work, right after the copy
    stream.synchronize()
    got = np.empty(64, np.uint8)
    cuda.memcpy_dtoh(got, buf.ptr)
    out[name] = got
    buf.free()
expected = data.copy()
expected[:16] = 0x11
print("plain lost the memset:", bool((out["plain"] == data).all()))
print("upload kept the order:", bool((out["upload"] == expected).all()))
"""


def test_upload_lands_before_a_non_blocking_streams_work() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the stand-in keeps the hazard (a plain copy's DMA lands after the memset enqueued behind it) ...
    assert "plain lost the memset: True" in proc.stdout, proc.stdout
    # ... and upload orders the copy first
    assert "upload kept the order: True" in proc.stdout, proc.stdout
