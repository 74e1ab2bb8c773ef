"""Hands each concurrently running GPU job its own GPU.

Snakemake's `resources: gpu=1` with `--resources gpu=N` bounds how many GPU jobs run at once; it
does not say which GPU each gets. Each job here takes an exclusive lock on one GPU's lock file and
sees only that GPU (CUDA_VISIBLE_DEVICES), so N jobs on an N-GPU host never share a device. Under a
cluster scheduler that already sets CUDA_VISIBLE_DEVICES, the job locks among those GPUs only.

A timing job (exclusive) that has host-only work to do (drawing inputs with the spec's generators,
the float64 check of an output) steps out of its hold for it (``GpuSlot.host_work``): the lock is
released, so another job may use the GPU meanwhile, and taken again on the same device, waiting
until that job releases it. Its CUDA context stays; it launches nothing while out. Timing never
runs outside the hold. While out it marks the device (a shared lock on ``<lock>.away``): a job
looking for a GPU takes a free one first, and one whose holder stepped out only when none is free.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from .gpu_state import gpu_count
from .host import allowed_cpus, off_timing_cpu


class HostWork(Protocol):
    """What measuring code holds of the GPU slot: a way to step out of it for host-only work."""

    def host_work(self) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class NoSlot:
    """No GPU lock held (the CPU reference backend, a child of a command holding one, tests, a command
    run by hand outside the pipeline): ``host_work`` changes nothing."""

    device: str | None = None
    exclusive: bool = False

    @contextmanager
    def host_work(self) -> Iterator[None]:
        yield


NO_SLOT = NoSlot()


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class GpuSlot:
    """One GPU's lock, held by this process (gpu_slot). ``host_work()`` steps out of an exclusive
    hold and back in on the same device; a shared hold (builds, the round trip) is never stepped
    out of: it does not keep timing jobs waiting on anything but itself."""

    def __init__(self, handle: IO[str], device: str, exclusive: bool, lock_path: Path) -> None:
        self._handle = handle
        self.device, self.exclusive, self.lock_path = device, exclusive, lock_path
        self._cpus = allowed_cpus()  # before any pinning: host work runs off the timing CPU of these
        self._depth = 0
        self.steps = 0  # how often this job stepped out
        self.out_s = 0.0  # how long it was out (the GPU free for other jobs)
        self.waited_s = 0.0  # how long coming back waited for another job

    @contextmanager
    def host_work(self) -> Iterator[None]:
        """Host-only work outside the exclusive hold: the lock released, the calling thread moved off
        the timing CPU (host.off_timing_cpu: another job's timing thread may be pinned there), then
        the same device's lock taken again exclusively, blocking until any other holder releases it
        (also when the work raised). The caller has finished its GPU work (nothing in flight) and
        launches nothing inside. Nested calls step out once."""
        if not self.exclusive or self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        t0 = time.perf_counter()
        away = _away_path(self.lock_path).open("a")
        fcntl.flock(away, fcntl.LOCK_SH)  # marked before the device looks free: new jobs prefer another
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        try:
            with off_timing_cpu(self._cpus):
                yield
        finally:
            t1 = time.perf_counter()
            fcntl.flock(self._handle, fcntl.LOCK_EX)  # the same file: the same device
            t2 = time.perf_counter()
            fcntl.flock(away, fcntl.LOCK_UN)
            away.close()
            self._depth = 0
            self.steps += 1
            self.out_s += t2 - t0
            self.waited_s += t2 - t1
            if t2 - t1 > 1.0:
                _say(f"GPU {self.device}: back in after {t2 - t1:.1f} s waiting for another job's hold")

    def summary(self) -> str:
        return (f"GPU {self.device}: stepped out of the exclusive hold {self.steps} times for host work, "
                f"{self.out_s:.1f} s out in all ({self.waited_s:.1f} s of it waiting to come back)")


def _away_path(lock_path: Path) -> Path:
    return lock_path.with_suffix(".away")


def _holder_away(lock_path: Path) -> bool:
    """Whether a job holding ``lock_path``'s device has stepped out of it (GpuSlot.host_work)."""
    away = _away_path(lock_path)
    if not away.exists():
        return False
    with away.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextmanager
def gpu_slot(lock_dir: Path, exclusive: bool = True, poll_s: float = 0.5) -> Iterator[GpuSlot]:
    """Hold a GPU for this process. Timing jobs hold it exclusively; jobs whose results do not
    depend on having the GPU alone (engine builds, the round trip) share it with each other but
    never run beside a timing job. Yields the GpuSlot (its ``device``: the CUDA_VISIBLE_DEVICES
    entry it holds). A device whose holder stepped out for host work is taken only when no other is free
    (its holder comes back to it, after this job)."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    candidates = visible or [str(i) for i in range(max(gpu_count(), 1))]
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    while True:
        start = 0 if exclusive else os.getpid() % len(candidates)  # spread shared jobs over GPUs
        order = candidates[start:] + candidates[:start]
        paths = {device: lock_dir / f"{host}-gpu{device}.lock" for device in order}
        away = {device for device in order if _holder_away(paths[device])}
        for device in [d for d in order if d not in away] + [d for d in order if d in away]:
            path = paths[device]
            handle = path.open("a")
            try:
                fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            os.environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the same numbering as NVML and nvidia-smi
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            slot = GpuSlot(handle, device, exclusive, path)
            try:
                yield slot
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
                if slot.steps:
                    _say(slot.summary())
            return
        time.sleep(poll_s)


__all__ = ["NO_SLOT", "GpuSlot", "HostWork", "NoSlot", "gpu_slot"]
