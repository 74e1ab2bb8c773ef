"""The GPU slot's step-out for host-only work (gpu_slot.GpuSlot.host_work), on lock files in a temp
folder: a timing job holding its GPU exclusively lets another job take that GPU while it draws inputs
or checks outputs, comes back to the same GPU only once the other has released it, and a shared hold
(builds) is never stepped out of. The CPU reference backend holds no slot: its host work is unchanged."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from trt_plugin_bench import cli
from trt_plugin_bench.device import gpu_slot, host
from trt_plugin_bench.device.gpu_slot import NO_SLOT, GpuSlot


def _stepping_out(lock_dir: str, events: dict, out) -> None:  # noqa: ANN001 - multiprocessing objects
    """Job A: two GPUs visible, holds the first exclusively, steps out when told, waits there until
    job B holds the GPU, then steps back in."""
    os.environ["CUDA_VISIBLE_DEVICES"] = "3,5"
    with gpu_slot.gpu_slot(Path(lock_dir), poll_s=0.02) as slot:
        out.put(("A in", slot.device, time.monotonic()))
        events["go_out"].wait(20)
        with slot.host_work():
            out.put(("A out", slot.device, time.monotonic()))
            assert events["b_in"].wait(20)
        out.put(("A back", slot.device, time.monotonic(), os.environ["CUDA_VISIBLE_DEVICES"], slot.steps))


def _other_job(lock_dir: str, events: dict, out) -> None:  # noqa: ANN001
    """Job B: sees only A's GPU (a scheduler's CUDA_VISIBLE_DEVICES), holds it a while."""
    os.environ["CUDA_VISIBLE_DEVICES"] = "3"
    with gpu_slot.gpu_slot(Path(lock_dir), poll_s=0.02) as slot:
        out.put(("B in", slot.device, time.monotonic()))
        events["b_in"].set()
        time.sleep(0.5)
        out.put(("B releases", slot.device, time.monotonic()))


def test_a_job_steps_out_for_host_work_and_comes_back_to_its_gpu(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    events = {name: ctx.Event() for name in ("go_out", "b_in")}
    out = ctx.Queue()
    a = ctx.Process(target=_stepping_out, args=(str(tmp_path), events, out))
    a.start()
    first = out.get(timeout=20)
    assert first[:2] == ("A in", "3")
    b = ctx.Process(target=_other_job, args=(str(tmp_path), events, out))
    b.start()
    time.sleep(0.4)
    assert out.empty() and not events["b_in"].is_set()  # A holds GPU 3 exclusively: B waits
    events["go_out"].set()
    got = {}
    for _ in range(4):
        item = out.get(timeout=20)
        got[item[0]] = item
    for p in (a, b):
        p.join(30)
    assert a.exitcode == 0 and b.exitcode == 0
    assert got["B in"][1] == "3" and got["B in"][2] >= got["A out"][2]  # B took A's GPU while A was out
    back = got["A back"]
    assert back[2] >= got["B releases"][2]  # A came back only once B had released it
    assert back[1] == "3" and back[3] == "3" and back[4] == 1  # the same GPU, stepped out once


def _try_exclusive(path: Path) -> bool:
    with path.open("a") as other:  # another open file description: flock treats it as another holder
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(other, fcntl.LOCK_UN)
        return True


def test_an_exclusive_hold_is_free_only_inside_host_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with gpu_slot.gpu_slot(tmp_path) as slot:
        assert isinstance(slot, GpuSlot) and slot.exclusive
        assert not _try_exclusive(slot.lock_path)
        with slot.host_work():
            assert _try_exclusive(slot.lock_path)
            with slot.host_work():  # nested: still out, stepped out once
                assert _try_exclusive(slot.lock_path)
        assert not _try_exclusive(slot.lock_path) and slot.steps == 1
        with pytest.raises(ValueError, match="planted"):
            with slot.host_work():
                raise ValueError("planted")
        assert not _try_exclusive(slot.lock_path) and slot.steps == 2  # back in although the work raised
    assert _try_exclusive(slot.lock_path)


def test_a_new_job_prefers_a_free_gpu_to_one_whose_holder_stepped_out(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """On a host of two GPUs: job A holds GPU 3 and steps out; a new job takes GPU 5 (free), not 3 (A comes
    back to it); a third, with none free, takes 3. (One process: each gpu_slot opens its own lock file
    description, which flock treats as another holder; the environment is reset as a new job's would be.)"""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with gpu_slot.gpu_slot(tmp_path) as a:
        assert a.device == "3"
        with a.host_work():
            os.environ["CUDA_VISIBLE_DEVICES"] = "3,5"
            with gpu_slot.gpu_slot(tmp_path) as c:
                assert c.device == "5"
                os.environ["CUDA_VISIBLE_DEVICES"] = "3,5"
                with gpu_slot.gpu_slot(tmp_path) as d:
                    assert d.device == "3"
            assert gpu_slot._holder_away(a.lock_path)
        assert not gpu_slot._holder_away(a.lock_path) and not _try_exclusive(a.lock_path)


def test_a_shared_hold_is_never_stepped_out_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with gpu_slot.gpu_slot(tmp_path, exclusive=False) as slot:
        with slot.host_work():
            assert not _try_exclusive(slot.lock_path)  # a build's shared hold keeps timing jobs out
        assert slot.steps == 0


def test_host_work_runs_off_the_timing_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every timing job pins its timing thread to the same CPU (host.timing_cpu): a job stepped out for
    host work moves off it, and its affinity is restored when it comes back."""
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs CPU affinity and two CPUs")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    allowed = set(os.sched_getaffinity(0))
    with gpu_slot.gpu_slot(tmp_path) as slot:
        with host.quiet_host(True) as cpu:  # the timing thread pinned, as the latency sweep does
            assert cpu == max(allowed) and os.sched_getaffinity(0) == {cpu}
            with slot.host_work():
                assert os.sched_getaffinity(0) == allowed - {cpu}
            assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == allowed


def test_the_reference_backend_holds_no_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for backend, command in (("reference", "latency"), ("reference", "in-network"), ("tensorrt", "roundtrip-child")):
        with cli._slot(backend, command) as slot:
            assert slot is NO_SLOT
            before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
            with slot.host_work():  # a no-op: no lock, no affinity change
                assert not (tmp_path / cli.GPU_LOCK_DIR).exists()
                assert before is None or os.sched_getaffinity(0) == before
