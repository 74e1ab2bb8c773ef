"""What every part of the TensorRT backend shares: the TensorRT major version, the tensor
names of the pipeline's engines, the build error and the logger that keeps TensorRT's words.

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import functools
import sys
import threading

import tensorrt as trt

TRT_MAJOR = int(trt.__version__.split(".")[0])
INPUT, OUTPUT = "x", "y"


class BuildError(RuntimeError):
    pass


class CapturingLogger(trt.ILogger):
    """Keeps TensorRT's warnings and errors so failures can be reported with TensorRT's own words."""

    def __init__(self, echo: bool = True):
        trt.ILogger.__init__(self)
        self.messages: list[str] = []
        self.echo = echo
        self._lock = threading.Lock()

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        if int(severity) <= int(trt.ILogger.Severity.WARNING):
            with self._lock:
                self.messages.append(f"[{severity.name}] {msg}")
            if self.echo:
                print(f"TensorRT {severity.name}: {msg}", file=sys.stderr)

    def mark(self) -> int:
        """Where the log stands now: ``errors(since=mark())`` gives an operation's errors alone (the logger is
        the process's, process_logger, so it holds every earlier operation's words too)."""
        with self._lock:
            return len(self.messages)

    def errors(self, since: int = 0) -> str:
        """The last five errors logged from ``since`` (a ``mark()``) on."""
        with self._lock:
            errs = [m for m in self.messages[since:] if "ERROR" in m]
        return "; ".join(errs[-5:]) or "no error message from TensorRT"


@functools.cache
def process_logger() -> CapturingLogger:
    """The process's one TensorRT logger: every builder, runtime and refitter here is made with it.

    TensorRT keeps a single logger pointer per process: while any builder, runtime or refitter lives, one
    made with another logger logs to the first one ("The logger passed into createInferRuntime differs from
    one already provided ... the existing value ... will be used instead"), and so does the plugin registry
    (getLogger). With a logger per backend, a second backend's messages went to the first backend's logger
    (its own ``errors()`` said nothing), and once the first backend and its engines were freed while the
    second lived, TensorRT called a freed Python object: a segfault at the next registry lookup (H100,
    TensorRT 8.6.1, 2026-12-07: tests/test_gpu_plugin.py's row-norm engines, a backend per engine). Made
    once and kept for the process's life (functools.cache), so it outlives everything TensorRT made with it.
    Its ``echo`` is the process's choice (the conformance checks' child processes turn it off)."""
    return CapturingLogger()
