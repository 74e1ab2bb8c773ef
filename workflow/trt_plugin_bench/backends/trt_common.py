"""What every part of the TensorRT backend shares: the TensorRT major version, the tensor
names of the pipeline's engines, the build error and the logger that keeps TensorRT's words.

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

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

    def errors(self) -> str:
        with self._lock:
            errs = [m for m in self.messages if "ERROR" in m]
        return "; ".join(errs[-5:]) or "no error message from TensorRT"
