"""The TensorRT backend's one logger per process (backends.trt_common.process_logger), against the
stand-in tensorrt module (tests/fake_trt), which keeps TensorRT's rule: one logger pointer per process,
the first given to a builder or runtime while none lives; one made with another logger meanwhile logs to
that one. A logger per backend broke that rule: on an H100 (TensorRT 8.6.1, 2026-12-07) a process that
freed its first backend while a second lived crashed at the next plugin registry lookup (TensorRT called
the freed logger), and the second backend's errors() never held TensorRT's words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import gc, json, types
import tensorrt as trt
from trt_plugin_bench.backends import get_backend
from trt_plugin_bench.backends import tensorrt_backend as tb
tb.GpuContext = lambda ordinal: types.SimpleNamespace(ordinal=ordinal)  # no GPU here: the logger is the point
from trt_plugin_bench.backends import trt_common
first = get_backend("tensorrt")
second = get_backend("tensorrt")
builder = trt.Builder(second.logger)  # what build_engine and the in_network jobs do
del first
gc.collect()
third = get_backend("tensorrt")
print(json.dumps({"mismatches": trt.LOGGER_MISMATCHES,
                  "one_logger": second.logger is third.logger,
                  "capturing": isinstance(third.logger, trt_common.CapturingLogger),
                  "process_logger": hasattr(trt_common, "process_logger") and third.logger is trt_common.process_logger()}))
"""


def test_every_tensorrt_backend_of_a_process_logs_to_the_one_logger() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["mismatches"] == [], got  # TensorRT would have logged to another logger than the one given
    assert got["one_logger"] and got["capturing"] and got["process_logger"], got


def test_the_product_makes_no_logger_but_the_process_one() -> None:
    """Every TensorRT builder and runtime of the package gets process_logger(): a CapturingLogger is made
    in one place only (the conformance checks made one per check before)."""
    made = []
    for path in sorted((ROOT / "workflow" / "trt_plugin_bench").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ("CapturingLogger(" in line and "class CapturingLogger" not in line) or "trt.Logger(" in line:
                made.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert made == ["workflow/trt_plugin_bench/backends/trt_common.py:"
                    + str(_line_of("return CapturingLogger()")) + ": return CapturingLogger()"], made


def _line_of(text: str) -> int:
    lines = (ROOT / "workflow" / "trt_plugin_bench" / "backends" / "trt_common.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == text)


BUILD_ERROR_SCRIPT = r"""
import json, types
import tensorrt as trt
from trt_plugin_bench.backends import trt_engine
from trt_plugin_bench.backends.trt_common import BuildError, process_logger
logger = process_logger()
logger.echo = False
logger.messages.append("[ERROR] 3: getPluginCreator could not find plugin: Other version: 1")  # an earlier lookup's
def refuse(network, spec, half, keep, plugin_namespace=None):
    logger.messages.append("[ERROR] Swish creator: field 'beta' is not a float")  # what the creator logs
    raise BuildError("the plugin creator refused the fields")
trt_engine.populate_network = refuse
spec = types.SimpleNamespace(operator="op", dtype="fp32", profile="p")
try:
    trt_engine.build_engine(logger, trt.Runtime(logger), spec, "unused.engine", {})
except BuildError as exc:
    print(json.dumps({"message": str(exc)}))
"""


def test_a_build_error_names_its_own_errors_not_the_process_earlier_ones() -> None:
    """With one logger per process, a BuildError quotes the errors logged since its build began (mark)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fake_trt"), str(ROOT / "workflow")])}
    proc = subprocess.run([sys.executable, "-c", BUILD_ERROR_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    message = json.loads(proc.stdout.strip().splitlines()[-1])["message"]
    assert "field 'beta' is not a float" in message and "Other" not in message, message
