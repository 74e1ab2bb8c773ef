"""Hands each concurrently running GPU job its own GPU.

Snakemake's `resources: gpu=1` with `--resources gpu=N` bounds how many GPU jobs run at once; it
does not say which GPU each gets. Each job here takes an exclusive lock on one GPU's lock file and
sees only that GPU (CUDA_VISIBLE_DEVICES), so N jobs on an N-GPU host never share a device. Under a
cluster scheduler that already sets CUDA_VISIBLE_DEVICES, the job locks among those GPUs only.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .gpu_state import gpu_count


@contextmanager
def gpu_slot(lock_dir: Path, exclusive: bool = True, poll_s: float = 0.5) -> Iterator[str]:
    """Hold a GPU for this process. Timing jobs hold it exclusively; jobs whose results do not
    depend on having the GPU alone (engine builds, the round trip) share it with each other but
    never run beside a timing job."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    candidates = visible or [str(i) for i in range(max(gpu_count(), 1))]
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    while True:
        start = 0 if exclusive else os.getpid() % len(candidates)  # spread shared jobs over GPUs
        for device in candidates[start:] + candidates[:start]:
            handle = (lock_dir / f"{host}-gpu{device}.lock").open("a")
            try:
                fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            os.environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the same numbering as NVML and nvidia-smi
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            try:
                yield device
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(poll_s)
