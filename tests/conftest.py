"""Shared fixtures. The package is imported from this checkout's workflow/ directory."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
sys.path.insert(0, str(ROOT / "tests"))  # the tests' own helpers (project_copy, gpu_env)
