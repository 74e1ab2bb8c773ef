"""Configs and project copies for running specs outside ops/ through the whole DAG (issue 23): the
byo example (examples/byo-plugin, conformance on) and the test operator scale (tests/specs/scale, its
plugin tests/fixtures/scalePlugin), on a backend of the caller's choice with the tiny profile of
tests/configs/small.yaml. The CPU tests run them on the reference backend, the GPU suite on TensorRT."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from project_copy import copy_project

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "byo-plugin"
SCALE_SPECS = ROOT / "tests" / "specs" / "scale"
SCALE_PLUGIN = ROOT / "tests" / "fixtures" / "scalePlugin"
IGNORE = shutil.ignore_patterns("build", "__pycache__")


def _small() -> dict:
    return yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())


def byo_config(backend: str) -> dict:
    """The example's own config (every operator, every rule: conformance and the profile on), with
    small.yaml's tiny profile, budgets and store, on ``backend``."""
    cfg = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    small = _small()
    cfg.update(backend=backend, profiles=small["profiles"], calibration=small["calibration"],
               reference=small["reference"])
    cfg["timing"] = {**small["timing"], "modes": cfg["timing"]["modes"]}  # warm, cold, stream, graph
    cfg["threads"] = {**small["threads"], "profile": "tiny", "shape": [16, 256]}
    cfg["compare"] = {**cfg["compare"], "extra_shapes": {}}
    cfg["profile"] = {**cfg["profile"], "profile": "tiny", "shape": [16, 256]}
    cfg["conformance"] = {**cfg.get("conformance", {}), "enabled": True}
    cfg["mlflow"] = {"experiment": "trt-plugin-bench-byo-dag-test", "tracking_uri": "sqlite:///mlflow.db"}
    return cfg


SCALE_OPERATORS = ["tests/specs/scale/scale.yaml", "scale_native", "tests/specs/scale/scale_ftz_native.yaml"]


def scale_config(backend: str) -> dict:
    """scale (a plugin: y = 1000 x, its fp16 output overflows for |x| > 65.5), its TensorRT-native twin
    and scale_ftz_native (TensorRT's layers at y = x / 1024, subnormal fp16 results, no flush declared),
    compared plugin against twin, on ``backend``."""
    cfg = _small()
    cfg.update(experiment="scale", backend=backend, operators=list(SCALE_OPERATORS), dtypes=["fp32", "fp16"],
               compare={"pairs": [["scale", "scale_native"]], "extra_shapes": {}},
               conformance={"enabled": False},
               mlflow={"experiment": "trt-plugin-bench-scale-test", "tracking_uri": "sqlite:///mlflow.db"})
    cfg["threads"] = {**cfg["threads"], "profile": "tiny", "shape": [16, 256]}
    return cfg


def project_with(tmp: Path, name: str, cfg: dict) -> Path:
    """A project copy holding the example and the scale fixture (as in the repository) and
    tests/configs/<name>.yaml = ``cfg``."""
    project = copy_project(tmp)
    shutil.copytree(EXAMPLE, project / "examples" / "byo-plugin", ignore=IGNORE)
    shutil.copytree(SCALE_SPECS, project / "tests" / "specs" / "scale", ignore=IGNORE)
    shutil.copytree(SCALE_PLUGIN, project / "tests" / "fixtures" / "scalePlugin", ignore=IGNORE)
    (project / "tests" / "configs" / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return project


def snakemake(project: Path, name: str, *args: str, cores: int = 2, timeout: float = 3000) -> subprocess.CompletedProcess:
    """The whole DAG (rule all) of tests/configs/<name>.yaml in ``project``, --keep-going: one failed
    job leaves the others' results to look at. The timing rules take the GPU one at a time (the
    default profile's gpu=1); more ``cores`` run the builds and conformance checks beside them."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--keep-going", "--configfile",
                           f"tests/configs/{name}.yaml", *args], cwd=project, capture_output=True, text=True,
                          timeout=timeout)
