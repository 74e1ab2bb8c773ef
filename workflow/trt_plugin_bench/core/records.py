"""The tidy tables' rows: one dataclass per table, one row per measurement.

Every row carries the backend that produced it, so a CPU reference number can never be read as a
TensorRT one. Column order is the dataclass field order; tests pin the schemas.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any


@dataclass
class DeviceInfo:
    backend: str  # "tensorrt" | "reference"
    backend_label: str  # says in words what produced the numbers
    timing_clock: str  # "cuda_event" | "cpu_perf_counter"
    device_name: str
    driver_version: str
    cuda_version: str
    tensorrt_version: str
    compute_capability: str
    sm_count: int
    l2_bytes: int
    cpu: str
    python: str
    numpy_version: str
    hostname: str


@dataclass
class LatencyRow:
    backend: str
    device_name: str
    operator: str
    implementation: str
    kernel: str
    dtype: str
    profile: str
    shape: str
    elements: int
    bytes_moved: int
    mode: str
    start: str  # "blocked" | "idle" | "cpu": see backends/base.py MODE_START
    repeat: int
    n: int
    min_us: float
    median_us: float
    mean_us: float
    p90_us: float
    p99_us: float
    max_us: float
    stdev_us: float
    median_se_us: float
    rse: float
    stop_reason: str
    host_enqueue_median_us: float
    bandwidth_gbs: float
    copy_ceiling_gbs: float
    pct_of_copy_ceiling: float
    verified: bool
    max_abs_err: float
    throttled: bool
    sm_clock_start_mhz: int
    sm_clock_end_mhz: int
    mem_clock_mhz: int
    temperature_c: int
    power_w: float
    timing_clock: str


@dataclass
class DynamicRow:
    backend: str
    operator: str
    dtype: str
    profile: str
    shape: str
    elements: int
    in_profile: bool
    status: str  # "ok" | "rejected" (out of profile, refused as expected) | "failed"
    output_shape: str
    verified: bool
    median_us: float
    message: str


@dataclass
class RoundtripRow:
    backend: str
    operator: str
    dtype: str
    profile: str
    shape: str
    engine_bytes: int
    engine_sha256: str
    builder_pid: int
    loader_pid: int
    bit_identical: bool
    differing_elements: int
    deserialize_ms: float
    message: str


@dataclass
class ThreadRow:
    """One thread count of the thread sweep, by one of two drivers (``driver``):

    - "python": "Python serving", the Python loop of sweeps.thread_sweep: every inference a host
      round trip with its copies, latencies host wall-clock times;
    - "native": the native runner trt_runner (native_runner.py, TensorRT backend only): device-
      resident buffers, enqueues back to back (``graph``: CUDA-graph replays), latencies the
      per-enqueue CUDA-event times (median_latency_us: the median thread's p50);
    - "bare": trt_runner --bare-kernel beside each native run of the same engine, thread count and
      way: the launch-rate probe's kernel (plugin/probes/bareKernel.cuh) reading the engine's input
      bytes and writing its output bytes, no TensorRT (``operator``: whose engine's bytes). A run that
      could not be made has no throughput and ``message`` "not measured: <reason>".

    The columns after ``message`` came with the native runner; a Python row leaves the GPU ones NaN.
    """

    backend: str
    operator: str
    dtype: str
    profile: str
    shape: str
    threads: int
    iterations_per_thread: int
    inferences: int
    failures: int
    wall_s: float
    throughput_per_s: float
    median_latency_us: float
    all_verified: bool
    message: str
    driver: str = "python"  # "python" | "native" | "bare"
    graph: bool = False  # native: CUDA-graph replays instead of enqueues
    p99_latency_us: float = math.nan  # python: over all inferences; native: the slowest thread's p99
    gpu_busy_fraction: float = math.nan  # native: union of the enqueues' GPU intervals / wall, in [0, 1]
    gpu_interval_sum_over_wall: float = math.nan  # native: their plain sum / wall (above 1: streams overlap)
    graph_batch: int = 1  # native graph replays: enqueues captured per graph (one launch runs this many)
    # native and bare: the engine's input and output bytes per inference at the shape (the runner's bytes_in
    # and bytes_out); NaN for the Python loop and a runner from before they existed
    bytes_in: float = math.nan
    bytes_out: float = math.nan


@dataclass
class CalibrationRow:
    backend: str
    device_name: str
    # "copy" (cudaMemcpy) | "copy_kernel" | "copy_kernel_b1024" (each also "<copy>_cold": after the cold mode's
    # flush) | "empty_launch" | "empty_kernel" | "empty_graph_launch"
    measurement: str
    bytes: int
    n: int
    median_us: float
    rse: float
    bandwidth_gbs: float
    timing_clock: str
    start: str  # "blocked" (GPU time) | "idle" (launch included) | "cpu" (reference backend)


@dataclass
class KernelRow:
    backend: str
    device_name: str
    kernel: str
    dtype: str
    elements: int
    bytes_moved: int
    mode: str
    start: str
    n: int
    median_us: float
    p90_us: float
    rse: float
    bandwidth_gbs: float
    copy_ceiling_gbs: float
    pct_of_copy_ceiling: float
    verified: bool
    max_abs_err: float
    throttled: bool


@dataclass
class CompareRow:
    """Two engines of one dtype and profile timed interleaved at one shape: ``a`` ÷ ``b``."""

    backend: str
    device_name: str
    operator_a: str
    operator_b: str
    kernel_a: str
    dtype: str
    profile: str
    shape: str
    elements: int
    tensor_bytes: int
    mode: str
    start: str
    n: int  # samples of each engine
    median_a_us: float
    median_b_us: float
    median_se_a_us: float
    median_se_b_us: float
    ratio: float  # median a / median b: below 1, a is faster
    ratio_se: float
    difference_us: float  # median a - median b
    stop_reason: str
    verified: bool
    throttled: bool
    timing_clock: str
    # the A/A control: b timed a second time in every round (b' ÷ b): what the method reports for
    # two identical things, i.e. its own bias at this shape, beside the ratio it qualifies
    control_ratio: float
    control_ratio_se: float
    shared_buffers: bool  # both engines on one input, output and flush buffer (TimingArena)


@dataclass
class ProfileRow:
    backend: str
    operator: str
    dtype: str
    profile: str
    shape: str
    kernel_name: str
    metric: str
    value: float
    unit: str
    tool: str


@dataclass
class TuneRow:
    """One kernel variant of one tuned operator at one size of one band, on one path of the tune
    rule (tune.py); ``shape``: input 0's (flat, or whole rows of a row shape of the profiles)."""

    operator: str
    backend: str
    device_name: str
    dtype: str
    band: int
    band_lo_bytes: int
    band_hi_bytes: int  # -1: unbounded (the last band)
    tensor_bytes: int
    elements: int
    shape: str
    kernel: str
    path: str  # "direct" (the kernel library, no TensorRT) or "engine" (a plugin engine against the native twin)
    mode: str
    n: int
    median_us: float
    rse: float
    gbps: float  # bytes read + written per second
    ratio_to_native: float  # engine path: median ÷ the native twin's, interleaved on shared buffers; NaN direct
    control_ratio: float  # engine path: the native twin ÷ itself (A/A); NaN direct
    chosen: bool  # the kernel the choice table runs in this band


@dataclass
class AccuracyRow:
    """One engine's outputs against the float64 reference, in ulps of the output dtype (the
    accuracy table): on random inputs and on its spec's edge values. ``side``: plugin (held to the
    spec's tolerance: outside it fails the engine) or tensorrt_layers (TensorRT's own layers, the
    native twin: reported here with its worst inputs, and the timing goes on)."""

    backend: str
    operator: str
    implementation: str
    side: str
    dtype: str
    profile: str
    shape: str
    inputs: str  # random | edge
    elements: int
    max_ulp_err: float
    mean_ulp_err: float
    max_bound_ratio: float
    mismatches: int
    within_tolerance: bool
    tolerance: str
    worst: str  # the worst elements: x, got, ref, ulp error


@dataclass
class InNetworkRow:
    """One block pair timed interleaved: the plugin's block against the twin's (plugin ÷ twin)."""

    backend: str
    label: str  # "TensorRT 8.6.1 on <GPU>" or the CPU stand-in's label (in_network.STANDIN_LABEL)
    device_name: str
    operator: str
    twin: str
    block: str
    size: str
    dtype: str
    shape: str  # the block's input shape
    operator_shape: str  # the tensor the operator sees
    elements: int
    mode: str
    start: str
    n: int
    median_plugin_us: float
    median_twin_us: float
    median_se_plugin_us: float
    median_se_twin_us: float
    ratio: float  # plugin ÷ twin: above 1, the plugin's block is slower (the fusion loss)
    ratio_se: float
    difference_us: float
    control_ratio: float  # the A/A control: the twin block timed twice per round
    control_ratio_se: float
    stop_reason: str
    verified: bool
    check_message: str
    throttled: bool
    sm_clock_start_mhz: int
    timing_clock: str
    plugin_layer_us: float  # the plugin's layer in its block (IProfiler; nan on the CPU)
    plugin_alone_us: float  # the plugin's layer in an engine of its own at operator_shape
    integration_overhead_us: float  # plugin_layer_us - plugin_alone_us
    plugin_engine_layers: int
    twin_engine_layers: int
    reformats_plugin: int  # layers TensorRT inserted (reformats, copies) in the plugin's engine
    reformats_twin: int
    plugin_in_format: str
    plugin_out_format: str
    twin_built_as: str  # fused_description
    reason: str  # edge_reason's phrase
    sentence: str
    # the plugin's kernel called directly at operator_shape (cuda_direct; nan without a direct library)
    plugin_direct_us: float = math.nan
    # the builder timing cache of the two block engines: in_network.SHARED_TIMING_CACHE (one cache, the
    # neighbours' tactics timed once) or NO_TIMING_CACHE (the CPU stand-in); empty in rows of before
    timing_cache: str = ""


@dataclass
class InNetworkLayerRow:
    """One layer of one engine: its profiler time (median over the runs) and what the inspector says."""

    backend: str
    operator: str
    block: str
    size: str
    dtype: str
    engine: str  # plugin | twin | alone
    index: int
    layer: str
    layer_type: str
    role: str  # neighbour | operator | fused operator | inserted
    median_us: float
    inputs_format: str
    outputs_format: str
    tactic: str


TABLES: dict[str, type] = {
    "latency": LatencyRow,
    "dynamic": DynamicRow,
    "roundtrip": RoundtripRow,
    "threads": ThreadRow,
    "calibration": CalibrationRow,
    "kernel": KernelRow,
    "profile": ProfileRow,
    "compare": CompareRow,
    "tune": TuneRow,
    "accuracy": AccuracyRow,
    "in_network": InNetworkRow,  # the in_network rule (in_network.py): one row per block pair
    "in_network_layers": InNetworkLayerRow,  # and one per layer of its engines
}


def columns(row_type: type) -> list[str]:
    return [f.name for f in fields(row_type)]


def write_rows(path: str | Path, row_type: type, rows: list[Any]) -> None:
    """Write rows atomically: a half-written table is never mistaken for a finished one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(row_type))
        writer.writeheader()
        for row in rows:
            if not isinstance(row, row_type):
                raise TypeError(f"expected {row_type.__name__}, got {type(row).__name__}")
            writer.writerow(asdict(row))
    tmp.replace(path)


def shape_str(shape: tuple[int, ...] | list[int]) -> str:
    return "x".join(str(int(d)) for d in shape)
