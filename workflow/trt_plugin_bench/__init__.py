"""trt-plugin-bench: a reproducible benchmark pipeline for TensorRT custom plugins.

The Snakemake rules in ``workflow/rules`` are thin: each calls one command of
``python -m trt_plugin_bench`` (see ``cli.py``), which calls the small, tested functions here.
TensorRT and pycuda are imported only by the TensorRT backend (``backends.tensorrt_backend`` and its
``trt_*`` modules) and the GPU-only modules (``cuda_utils``, ``calibration``, ``cuda_direct``,
``conformance_gpu``), never at package import.
"""

__version__ = "0.1.0"
