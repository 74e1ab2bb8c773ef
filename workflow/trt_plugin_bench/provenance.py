"""Where a number came from: git commit, plugin source hash, package versions."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from .config import PROJECT_ROOT

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
