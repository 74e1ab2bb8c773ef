"""What a measurement becomes: its table's row and its log line (the printing part of nvbench's
split; measure.py measures, the sweeps declare the states). The GPU-independent columns that are
joined later (copy ceiling, % of it) are NaN here: the aggregate rule fills them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends.base import EngineSpec
from ..core.operators import ITEMSIZE
from ..core.records import CompareRow, KernelRow, LatencyRow, shape_str
from ..core.stats import median_ratio
from ..device.gpu_state import throttled
from .measure import Interleaved, Measurement

NAN = float("nan")


def bandwidth_gbs(bytes_moved: int, seconds: float) -> float:
    return bytes_moved / seconds / 1e9 if seconds > 0 else NAN


@dataclass(frozen=True)
class LatencyReport:
    """The latency table's row of one (engine, shape, mode, repeat), and its log line."""

    backend: str
    device_name: str
    timing_clock: str
    spec: EngineSpec

    def row(self, m: Measurement) -> LatencyRow | None:
        s, st = m.summary, m.state
        if s is None:  # skipped: logged, no row
            return None
        return LatencyRow(
            backend=self.backend, device_name=self.device_name, operator=st.operator,
            implementation=self.spec.implementation, kernel=self.spec.kernel_label, dtype=st.dtype,
            profile=st.profile, shape=shape_str(st.shape), elements=st.elements, bytes_moved=st.bytes_moved,
            mode=st.mode, start=m.start, repeat=m.repeat, n=s.n, min_us=s.min * 1e6, median_us=s.median * 1e6,
            mean_us=s.mean * 1e6, p90_us=s.p90 * 1e6, p99_us=s.p99 * 1e6, max_us=s.max * 1e6,
            stdev_us=s.stdev * 1e6, median_se_us=s.median_se * 1e6, rse=s.rse,
            stop_reason=s.stop_reason, host_enqueue_median_us=float(np.median(m.host)) * 1e6,
            bandwidth_gbs=bandwidth_gbs(st.bytes_moved, s.median), copy_ceiling_gbs=NAN, pct_of_copy_ceiling=NAN,
            verified=m.check.ok, max_abs_err=m.check.max_abs_err,
            throttled=throttled(m.before, m.after), sm_clock_start_mhz=m.before.sm_clock_mhz,
            sm_clock_end_mhz=m.after.sm_clock_mhz, mem_clock_mhz=m.after.mem_clock_mhz,
            temperature_c=m.after.temperature_c, power_w=m.after.power_w,
            timing_clock=self.timing_clock,
        )

    @staticmethod
    def line(m: Measurement) -> str:
        s, st = m.summary, m.state
        return (f"{st.label}: {shape_str(st.shape)} {st.mode} ({m.start} start) repeat {m.repeat}: "
                f"median {s.median * 1e6:.2f} us (rse {100 * s.rse:.2f} %, n {s.n}, {s.stop_reason}), "
                f"{bandwidth_gbs(st.bytes_moved, s.median):.1f} GB/s")


@dataclass(frozen=True)
class KernelReport:
    """The direct-kernel table's row (backend cuda_direct) of one (kernel, dtype, size, mode)."""

    device_name: str

    def row(self, m: Measurement) -> KernelRow:
        s, st = m.summary, m.state
        return KernelRow(
            backend="cuda_direct", device_name=self.device_name, kernel=st.kernel, dtype=st.dtype,
            elements=st.elements, bytes_moved=st.bytes_moved, mode=st.mode, start=m.start, n=s.n,
            median_us=s.median * 1e6, p90_us=s.p90 * 1e6, rse=s.rse, bandwidth_gbs=bandwidth_gbs(st.bytes_moved, s.median),
            copy_ceiling_gbs=NAN, pct_of_copy_ceiling=NAN, verified=m.check.ok, max_abs_err=m.check.max_abs_err,
            throttled=throttled(m.before, m.after),
        )

    @staticmethod
    def line(m: Measurement) -> str:
        s, st = m.summary, m.state
        return (f"{st.dtype} {st.elements} elements {st.kernel} {st.mode}: {s.median * 1e6:.2f} us, "
                f"{bandwidth_gbs(st.bytes_moved, s.median):.0f} GB/s")


@dataclass(frozen=True)
class CompareReport:
    """The compare table's row of engines a and b timed interleaved with b's A/A control."""

    backend: str
    device_name: str
    timing_clock: str
    spec_a: EngineSpec

    def rows(self, m: Interleaved) -> list[CompareRow]:
        (a, b), st = m.states, m.states[0]
        xa, xb, xc = m.summaries
        ratio, ratio_se = median_ratio(xa, xb)
        control, control_se = median_ratio(xc, xb)
        return [CompareRow(
            backend=self.backend, device_name=self.device_name, operator_a=a.operator, operator_b=b.operator,
            kernel_a=self.spec_a.kernel_label, dtype=st.dtype, profile=st.profile, shape=shape_str(st.shape),
            elements=st.elements, tensor_bytes=st.elements * ITEMSIZE[st.dtype], mode=st.mode, start=m.start, n=xa.n,
            median_a_us=xa.median * 1e6, median_b_us=xb.median * 1e6,
            median_se_a_us=xa.median_se * 1e6, median_se_b_us=xb.median_se * 1e6,
            ratio=ratio, ratio_se=ratio_se, difference_us=(xa.median - xb.median) * 1e6, stop_reason=m.reason,
            verified=all(c.ok for c in m.checks), throttled=throttled(m.before, m.after),
            timing_clock=self.timing_clock, control_ratio=control, control_ratio_se=control_se, shared_buffers=True,
        )]

    @staticmethod
    def line(m: Interleaved) -> str:
        r, st = m.rows[0], m.states[0]
        return (f"{st.label}: {r.shape} {r.mode}: {r.operator_a} {r.median_a_us:.2f} us, "
                f"{r.operator_b} {r.median_b_us:.2f} us, ratio {r.ratio:.4f} ± {r.ratio_se:.4f}, "
                f"A/A control {r.control_ratio:.4f} ± {r.control_ratio_se:.4f} (n {r.n}, {m.reason})")
