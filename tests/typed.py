"""The tests' typed settings: a config file (default: the small CI sweep) with overrides, validated
and parsed as the Snakefile does (config.load_config, then settings.Settings.from_config)."""

from __future__ import annotations

from pathlib import Path

from trt_plugin_bench.core.config import load_config
from trt_plugin_bench.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "configs" / "small.yaml"
DEFAULT = ROOT / "config.yaml"


def typed(*overrides: str, path: Path = SMALL) -> Settings:
    """``path`` with ``overrides`` (``key.sub=value``, typed by the schema), as Settings."""
    return Settings.from_config(load_config(path, overrides))
