"""GPU state around each measurement (NVML): clocks, temperature, power, throttle reasons.

A run whose SM clock dropped during sampling, or that the driver reports as slowed down by power,
thermal or hardware limits, is flagged as throttled in its row. Without NVML (CPU machines) every
reading is simply absent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# nvmlClocksEventReason* bits that mean the chip was slowed down against our will
_SLOWDOWN_BITS = {
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
}


@dataclass(frozen=True)
class GpuState:
    sm_clock_mhz: int = 0
    mem_clock_mhz: int = 0
    temperature_c: int = 0
    power_w: float = 0.0
    slowdown: tuple[str, ...] = ()


def _index() -> int:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    first = visible.split(",")[0].strip()
    return int(first) if first.isdigit() else 0


def read_state() -> GpuState:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            h = pynvml.nvmlDeviceGetHandleByIndex(_index())
            reasons_fn = getattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or pynvml.nvmlDeviceGetCurrentClocksThrottleReasons
            reasons = int(reasons_fn(h))
            return GpuState(
                sm_clock_mhz=int(pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM)),
                mem_clock_mhz=int(pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM)),
                temperature_c=int(pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)),
                power_w=float(pynvml.nvmlDeviceGetPowerUsage(h)) / 1000.0,
                slowdown=tuple(name for bit, name in _SLOWDOWN_BITS.items() if reasons & bit),
            )
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return GpuState()


def throttled(before: GpuState, after: GpuState, drop: float = 0.10) -> bool:
    """Clocks fell by more than ``drop`` during sampling, or the driver reported a slowdown."""
    if after.slowdown or before.slowdown:
        return True
    return before.sm_clock_mhz > 0 and after.sm_clock_mhz < (1.0 - drop) * before.sm_clock_mhz


def driver_version() -> str:
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            v = pynvml.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return "unknown"


def gpu_count() -> int:
    """GPUs NVML sees (0 on a CPU machine); used to hand each GPU job its own device."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return 0
