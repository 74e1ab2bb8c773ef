"""Where a number came from: git commit, plugin source hash, package versions."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from .schema import PROJECT_ROOT

PLUGIN_DIR = PROJECT_ROOT / "plugin"
PLUGIN_SOURCE_SUFFIXES = {".cu", ".cuh", ".cpp", ".h", ".hpp", ".cmake", ".txt", ".sh"}


def plugin_sources(plugin_dir: Path = PLUGIN_DIR) -> list[Path]:
    """Every file that changes what the compile rule builds (sources, headers, CMake)."""
    if not plugin_dir.exists():
        return []
    return sorted(
        p for p in plugin_dir.rglob("*")
        if p.is_file() and p.suffix in PLUGIN_SOURCE_SUFFIXES and "build" not in p.relative_to(plugin_dir).parts
    )


def plugin_source_hash(plugin_dir: Path = PLUGIN_DIR) -> str:
    h = hashlib.sha256()
    for path in plugin_sources(plugin_dir):
        h.update(str(path.relative_to(plugin_dir)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def git_commit(root: Path = PROJECT_ROOT) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


# What the CPU reference backend's "plugin" engines run: the numpy ops and the engine around them.
REFERENCE_ENGINE_SOURCES = (Path(__file__).parents[1] / "core" / "oracle.py", Path(__file__).parents[1] / "backends" / "reference.py")


def plugin_hash(backend: str, extra_work: int) -> str:
    """A hash of what the plugin engines run, for the verdict's default baseline (an earlier run with
    the same setup but another plugin). TensorRT: the plugin's sources (plugin_source_hash). The CPU
    reference backend builds no plugin: its plugin engines run the reference modules, repeated
    reference.extra_work more times (the planted slowdown), so those are hashed."""
    if backend != "reference":
        return plugin_source_hash()
    h = hashlib.sha256()
    for path in REFERENCE_ENGINE_SOURCES:
        h.update(str(path.relative_to(Path(__file__).parents[1])).encode() + b"\0" + path.read_bytes())
    h.update(f"extra_work={int(extra_work)}".encode())  # config reference.extra_work
    return h.hexdigest()
