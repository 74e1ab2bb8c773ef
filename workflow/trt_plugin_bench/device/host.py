"""The host side of a timing: keep it still while samples are taken.

Idle-start timings are host enqueue time plus GPU time, and on the H100 run of 2026-11-24 their
repeat-to-repeat drift followed the host enqueue time (correlation 0.99). Migrating between cores
and garbage-collector pauses are the two things a benchmark can stop; CPU frequency it cannot.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager


def timing_cpu(allowed: set[int] | None = None) -> int | None:
    """The CPU the timing thread is pinned to: the highest-numbered one this process may use
    (``allowed``: that set instead of this thread's affinity; CPU 0 takes most interrupts); None
    where affinity cannot be set."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = os.sched_getaffinity(0) if allowed is None else allowed
    return max(allowed) if allowed else None


def allowed_cpus() -> set[int] | None:
    """The CPUs this thread may run on now (None where affinity cannot be read)."""
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


@contextmanager
def off_timing_cpu(allowed: set[int] | None) -> Iterator[None]:
    """Run the calling thread on ``allowed`` less the timing CPU (timing_cpu(allowed)), its affinity
    restored after: a job doing host work beside another job's timing (gpu_slot.GpuSlot.host_work)
    stays off the CPU that job's timing thread is pinned to (every job picks the same one). As it
    was where affinity cannot be set or no other CPU is allowed."""
    cpu = timing_cpu(allowed) if allowed else None
    others = set(allowed or ()) - {cpu}
    previous = os.sched_getaffinity(0) if cpu is not None and others else None
    if previous is not None:
        try:
            os.sched_setaffinity(0, others)
        except OSError:  # a CPU set this process may no longer use: the work runs where it is
            previous = None
    try:
        yield
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)


@contextmanager
def quiet_host(pin: bool = True) -> Iterator[int | None]:
    """Pin the calling thread to one CPU and pause the garbage collector; both restored after.
    Yields the CPU pinned to (None when not pinned)."""
    cpu = timing_cpu() if pin else None
    previous = os.sched_getaffinity(0) if cpu is not None else None
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        yield cpu
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)
        if gc_was_enabled:
            gc.enable()
