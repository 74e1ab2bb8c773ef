"""A copy of the project in a temporary folder, for tests that run the DAG end to end there."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["Snakefile", "config.yaml", "workflow", "ops", "plugin", "profiles", "environment.yml"]


def copy_project(project: Path) -> Path:
    """The files the DAG needs, plus tests/configs/*.yaml (small.yaml: the CI sweep; the docs name the
    others), copied into ``project``."""
    project.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, project / name, **(
            {"ignore": shutil.ignore_patterns("build", "__pycache__")} if src.is_dir() else {}))
    (project / "tests" / "configs").mkdir(parents=True)
    for config in sorted((ROOT / "tests" / "configs").glob("*.yaml")):
        shutil.copy2(config, project / "tests" / "configs")
    return project


def python_executable(path: Path, code: str) -> Path:
    """An executable ``path`` that runs ``code`` with this Python. A ``#!`` line cannot hold a path with
    a space (CI runs from one), so ``path`` is a sh script that execs this interpreter on ``path``.py."""
    import shlex
    import stat
    import sys

    source = path.with_name(path.name + ".py")
    source.write_text(code)
    path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(source))} \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path
