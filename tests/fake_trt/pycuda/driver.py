"""A stand-in for pycuda.driver (tests only): "device" memory is host memory behind integer
addresses, every copy and memset runs at once (streams are in order by construction), events
read the host clock. Enough for the TensorRT backend's runtime (backends/trt_runtime.py) to run
against the stand-in engines of fake_trt/tensorrt on the CPU; no kernel, graph or L2 here.

One hazard is kept, as CUDA's "API synchronization behavior" has it: a synchronous copy from pageable
host memory (memcpy_htod) may return before its DMA lands. Here it lands at the next call ordered
behind the legacy stream (Context.synchronize, a synchronous copy or memset, an operation on a
blocking stream), never before an operation on a non-blocking stream (Stream(flags=1)), which so
sees, or is overwritten by, the bytes still in flight (tests/test_uploads.py)."""

from __future__ import annotations

import time

import numpy as np

_HEAP: dict[int, np.ndarray] = {}  # base address -> its bytes
_NEXT = [1 << 32]
_IN_FLIGHT: list[tuple[int, np.ndarray]] = []  # pageable memcpy_htod copies whose DMA has not landed yet
NON_BLOCKING = 1


def _land() -> None:
    """The copies in flight land, in order (a call ordered behind the legacy stream)."""
    while _IN_FLIGHT:
        ptr, data = _IN_FLIGHT.pop(0)
        write(ptr, data)


def _ordered(stream: Stream | None) -> None:
    """An operation on ``stream``: the legacy stream and blocking streams wait for the copies in flight."""
    if stream is None or not stream.flags & NON_BLOCKING:
        _land()


def _at(ptr: int, nbytes: int) -> np.ndarray:
    """The bytes [ptr, ptr + nbytes) of one allocation; an address outside every allocation fails."""
    ptr = int(ptr)
    for base, mem in _HEAP.items():
        if base <= ptr and ptr + nbytes <= base + mem.size:
            return mem[ptr - base: ptr - base + nbytes]
    raise RuntimeError(f"fake pycuda: {nbytes} bytes at {ptr:#x} are outside every live allocation")


def read(ptr: int, nbytes: int) -> np.ndarray:
    """A copy of device bytes (for the stand-in engines)."""
    return _at(ptr, nbytes).copy()


def write(ptr: int, data: np.ndarray) -> None:
    data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    _at(ptr, data.size)[:] = data


def live_allocations() -> int:
    return len(_HEAP)


class _Alloc:
    def __init__(self, nbytes: int) -> None:
        self.ptr = _NEXT[0]
        _NEXT[0] += (int(nbytes) + 4095) // 4096 * 4096 + 4096  # a gap: an overrun hits no neighbour
        _HEAP[self.ptr] = np.full(int(nbytes), 0xA5, dtype=np.uint8)

    def __int__(self) -> int:
        return self.ptr

    def free(self) -> None:
        _land()  # cuMemFree waits for the device's work
        _HEAP.pop(self.ptr, None)


def init() -> None:
    pass


def mem_alloc(nbytes: int) -> _Alloc:
    return _Alloc(nbytes)


def pagelocked_empty(shape: object, dtype: object) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


def pagelocked_zeros(shape: object, dtype: object, mem_flags: int = 0) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


class host_alloc_flags:  # noqa: N801 - pycuda's name
    DEVICEMAP = 2


class Stream:
    _handles = [1000]

    def __init__(self, flags: int = 0) -> None:
        Stream._handles[0] += 1
        self.handle = Stream._handles[0]
        self.flags = flags

    def synchronize(self) -> None:
        _ordered(self)


class Event:
    def __init__(self) -> None:
        self.t = 0.0

    def record(self, stream: Stream | None = None) -> None:
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def time_since(self, other: Event) -> float:
        return (self.t - other.t) * 1e3  # ms, as pycuda


def memcpy_htod_async(ptr: int, host: np.ndarray, stream: Stream | None = None) -> None:
    _ordered(stream)
    write(ptr, host)


def memcpy_htod(ptr: int, host: np.ndarray) -> None:
    """Pageable: returns once staged; the DMA lands later (the module's docstring)."""
    _land()
    data = np.ascontiguousarray(host).reshape(-1).view(np.uint8).copy()
    _at(ptr, data.size)  # an address outside every allocation fails here, as before
    _IN_FLIGHT.append((int(ptr), data))


def memcpy_dtoh_async(host: np.ndarray, ptr: int, stream: Stream | None = None) -> None:
    _ordered(stream)
    flat = host.reshape(-1).view(np.uint8)
    flat[:] = _at(ptr, flat.size)


def memcpy_dtoh(host: np.ndarray, ptr: int) -> None:
    memcpy_dtoh_async(host, ptr)


def memcpy_dtod_async(dst: int, src: int, nbytes: int, stream: Stream | None = None) -> None:
    _ordered(stream)
    _at(dst, nbytes)[:] = _at(src, nbytes).copy()


def _memset(ptr: int, value: int, count: int, dtype: type, stream: Stream | None) -> None:
    _ordered(stream)
    _at(ptr, count * np.dtype(dtype).itemsize).view(dtype)[:] = value


def memset_d32_async(ptr: int, value: int, count: int, stream: Stream | None = None) -> None:
    _memset(ptr, value, count, np.uint32, stream)


def memset_d16_async(ptr: int, value: int, count: int, stream: Stream | None = None) -> None:
    _memset(ptr, value, count, np.uint16, stream)


def memset_d8_async(ptr: int, value: int, count: int, stream: Stream | None = None) -> None:
    _memset(ptr, value, count, np.uint8, stream)


def memset_d8(ptr: int, value: int, count: int) -> None:
    _memset(ptr, value, count, np.uint8, None)


class Context:
    @staticmethod
    def synchronize() -> None:
        _land()
