"""The files of one built engine, and what a backend does when an engine will not load.

build_engine writes three files side by side: the serialized engine, its build record
(``.build.json``) and the golden output of the building process (``.golden.npz``). An engine that
fails to load is removed with the other two: Snakemake then sees build_engine's outputs missing and
reruns it on the next invocation, which it would not do for a file that is merely corrupt.
"""

from __future__ import annotations

from pathlib import Path

from .base import EngineLoadError, build_record_path


class EngineCorrupt(EngineLoadError):
    """An engine file (or its build record) failed validation on load; the files were removed."""


def golden_path(engine_path: Path) -> Path:
    return Path(engine_path).with_suffix(".golden.npz")


def engine_files(engine_path: Path) -> list[Path]:
    """The engine, its build record and its golden output: what build_engine writes."""
    return [Path(engine_path), build_record_path(engine_path), golden_path(engine_path)]


def discard_corrupt(engine_path: Path, why: object) -> EngineCorrupt:
    """Remove the engine's files and return the error that says so (raise it ``from`` the cause)."""
    removed = []
    for path in engine_files(engine_path):
        try:
            path.unlink()
            removed.append(path.name)
        except FileNotFoundError:  # never written, or another job removed it first
            pass
    what = f"removed {', '.join(removed)}" if removed else "nothing left to remove"
    reason = " ".join(str(why).split())  # one line: the console shows it as the job's reason
    return EngineCorrupt(f"engine {engine_path} is corrupt ({reason}); {what}, so the next `snakemake` run "
                         "rebuilds it")


__all__ = ["EngineCorrupt", "discard_corrupt", "engine_files", "golden_path"]
