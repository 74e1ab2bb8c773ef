"""A copy of the project in a temporary folder, for tests that run the DAG end to end there."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["Snakefile", "config.yaml", "workflow", "ops", "plugin", "profiles", "environment.yml"]


def copy_project(project: Path) -> Path:
    """The files the DAG needs, plus tests/configs/small.yaml (the CI sweep), copied into ``project``."""
    project.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, project / name, **(
            {"ignore": shutil.ignore_patterns("build", "__pycache__")} if src.is_dir() else {}))
    (project / "tests" / "configs").mkdir(parents=True)
    shutil.copy2(ROOT / "tests" / "configs" / "small.yaml", project / "tests" / "configs")
    return project
