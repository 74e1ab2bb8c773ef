"""The raw per-sample timings of every latency state, one compressed .npz per sweep.

The tables keep a state's summary (median, percentiles, noise); comparing two runs state by state
(the verdict command) needs the samples themselves. Format of ``results/samples/<sweep>.npz``:

- one float32 array per measured state and repeat, key ``"<shape>|<mode>|<repeat>"`` (shape as the
  tables write it, e.g. ``64x1024``): the per-sample times in microseconds, in the order measured
  (an idle-start state sampled in visits: all its visits' samples, visit after visit);
- ``"__meta__"``: a JSON string with operator, dtype, profile, backend, device_name and kernel.

float32 keeps 7 significant digits, far finer than any timing's noise, at half the bytes.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

META_KEY = "__meta__"
META_FIELDS = ("operator", "dtype", "profile", "backend", "device_name", "kernel")
SampleKey = tuple[str, str, int]  # (shape, mode, repeat)


class SamplesFileError(ValueError):
    """A samples file that cannot be read as one: the message names the file."""


class MissingSamplesFile(SamplesFileError, FileNotFoundError):
    """A samples file that does not exist."""


def array_key(shape: str, mode: str, repeat: int) -> str:
    for part in (shape, mode):
        if "|" in part or not part:
            raise ValueError(f"a samples key part must be non-empty and without '|': {part!r}")
    return f"{shape}|{mode}|{int(repeat)}"


def parse_key(key: str) -> SampleKey:
    shape, mode, repeat = key.split("|")
    return shape, mode, int(repeat)


def write_samples(path: Path, meta: Mapping[str, object], samples: Mapping[SampleKey, np.ndarray]) -> Path:
    """Write ``samples`` ({(shape, mode, repeat): times in us}) and ``meta`` to ``path``, atomically:
    a reader never sees half a file, and an interrupted rule leaves no file Snakemake would trust."""
    missing = [f for f in META_FIELDS if f not in meta]
    if missing:
        raise ValueError(f"samples meta lacks {missing}")
    arrays: dict[str, np.ndarray] = {META_KEY: np.str_(json.dumps(dict(meta), sort_keys=True, default=str))}
    for (shape, mode, repeat), values in samples.items():
        a = np.asarray(values, dtype=np.float32).reshape(-1)
        if a.size == 0:
            raise ValueError(f"no samples for {shape} {mode} repeat {repeat}")
        arrays[array_key(shape, mode, repeat)] = a
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")  # ends in .npz, so numpy does not append one
    try:
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_samples(path: Path) -> tuple[dict, dict[SampleKey, np.ndarray]]:
    """(meta, {(shape, mode, repeat): samples in us}) of a file write_samples wrote. A missing file
    raises MissingSamplesFile, anything else unreadable SamplesFileError, each naming the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingSamplesFile(f"samples file {path} does not exist (the latency rule writes it)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if META_KEY not in npz.files:
                raise SamplesFileError(f"samples file {path} has no {META_KEY} entry: not a samples file")
            meta = json.loads(str(npz[META_KEY]))
            samples: dict[SampleKey, np.ndarray] = {}
            for key in npz.files:
                if key == META_KEY:
                    continue
                a = npz[key]
                if a.ndim != 1 or a.dtype.kind != "f":
                    raise SamplesFileError(f"samples file {path}: entry {key!r} is not a 1-D float array")
                samples[parse_key(key)] = a
    except SamplesFileError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        # np.load's errors on a truncated or foreign file say neither which file nor what it should be
        raise SamplesFileError(f"samples file {path} is corrupt or not a samples file "
                               f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or any(f not in meta for f in META_FIELDS):
        raise SamplesFileError(f"samples file {path}: {META_KEY} lacks some of {list(META_FIELDS)}")
    return meta, samples


def samples_digest(path: Path) -> str:
    """A digest of a samples file's content (meta and arrays, not the zip's bytes, which carry
    timestamps): equal for the same measurements however often the file is rewritten."""
    meta, samples = load_samples(path)
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for key in sorted(samples):
        h.update(array_key(*key).encode())
        h.update(np.ascontiguousarray(samples[key], dtype=np.float32).tobytes())
    return h.hexdigest()[:32]


__all__ = ["META_FIELDS", "META_KEY", "MissingSamplesFile", "SamplesFileError", "load_samples", "samples_digest",
           "write_samples"]
