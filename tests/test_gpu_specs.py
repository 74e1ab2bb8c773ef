"""GPU suite, issue 23: plugins that are not the project's own, on TensorRT.

- The byo example (examples/byo-plugin) runs every rule of its config, conformance included (the
  checks load its library, creator HardSwish, namespace "", version 1, init initHardSwishPlugins, and
  build with its spec's inputs), and every conformance check passes (V2 = V3: n/a, the example has no
  V3 version; the sanitizers: n/a only without compute-sanitizer).
- Its deliberately broken copy (tests/fixtures/byo-broken: a shallow clone, a synchronizing enqueue)
  fails exactly clone_independence and graph_capture; every other check passes or is n/a as above.
- The test operator scale (tests/specs/scale, plugin tests/fixtures/scalePlugin: y = 1000 x, its fp16
  output overflows for |x| > 65.5) passes its checks; TensorRT's own layers (its twin scale_native and
  scale_ftz_native, y = x / 1024 with subnormal fp16 results, no flush declared) are reported in the
  accuracy table where they flush, and the rules go on.

One DAG (both specs' operators, tests/spec_dags.py) in a project copy; skipped, with the reason,
where TensorRT, pycuda or a GPU is missing. Run on the GPU host:
`python3 -m pytest -m gpu tests/test_gpu_specs.py -rA`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from gpu_env import require_gpu

pytestmark = pytest.mark.gpu

trt, cuda = require_gpu()

import byo_broken  # noqa: E402
from spec_dags import byo_config, project_with, scale_config, snakemake  # noqa: E402
from trt_plugin_bench.commands import conformance as cf  # noqa: E402
from trt_plugin_bench.commands.compile import compile_plugin  # noqa: E402
from trt_plugin_bench.core.operators import plugin_library_in  # noqa: E402
from trt_plugin_bench.core.specs import load_spec  # noqa: E402
from typed import typed  # noqa: E402

EXPERIMENT = "issue23-gpu"
# every check a right plugin passes on this machine; the rest must be n/a, saying why (V2 = V3: the
# example has no V3 version; the sanitizers: only without compute-sanitizer)
MUST_PASS = {"graph_capture", "multi_profile", "clone_independence", "fresh_process_shapes", "library_loading",
             *(("sanitizer",) if shutil.which("compute-sanitizer") else ())}


def gpu_config() -> dict:
    """The example's config (every rule, conformance and the profile on) with the scale operators and
    their compare pair added, tiny profile, on TensorRT."""
    cfg = byo_config("tensorrt")
    scale = scale_config("tensorrt")
    # the example's operators but relu (its floor: TensorRT's own, checked by tests/test_gpu.py), for time
    ours = [op for op in cfg["operators"] if op != "relu"]
    cfg.update(experiment=EXPERIMENT, operators=[*ours, *scale["operators"]],
               compare={**cfg["compare"], "pairs": [*cfg["compare"]["pairs"], *scale["compare"]["pairs"]]})
    cfg["mlflow"] = {"experiment": "trt-plugin-bench-issue23-gpu", "tracking_uri": "sqlite:///mlflow.db"}
    cfg["builder"] = {"workspace_mib": 256, "optimization_level": 0}  # small builds, as tests/test_gpu.py's
    return cfg


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = project_with(tmp_path_factory.mktemp("specs-gpu"), "specs-gpu", gpu_config())
    proc = snakemake(project, "specs-gpu", cores=min(8, os.cpu_count() or 2))
    (project / "snakemake.out").write_text(proc.stdout + "\n" + proc.stderr)
    print(proc.stderr[-6000:])  # which jobs failed and why (the console's summary), with -rA / -s
    return project


def results(project: Path) -> Path:
    return project / "results" / EXPERIMENT


def statuses(report: dict) -> dict[str, str]:
    return {c["check"]: c["status"] for c in report["checks"]}


def reasons(report: dict) -> str:
    return "\n".join(f"{c['check']}: {c['status']}: {c['reason']}" for c in report["checks"])


def test_the_example_passes_every_conformance_check_with_its_own_library(project: Path) -> None:
    path = results(project) / "conformance" / "hardswish.json"
    assert path.exists(), (project / "snakemake.out").read_text()[-4000:]
    report = json.loads(path.read_text())
    target = report["target"]
    assert (target["plugin_name"], target["plugin_namespace"], target["plugin_init"]) == ("HardSwish", "", "initHardSwishPlugins")
    assert [(name, version) for name, version, _ in target["creators"]] == [("HardSwish", "1")]
    assert Path(target["library"]).name == "libhardswish_plugin.so" and target["spec"].endswith("hardswish.yaml")
    assert report["backend"] == "tensorrt"
    got = statuses(report)
    assert {c for c, s in got.items() if s == cf.PASS} == MUST_PASS, reasons(report)
    assert all(s == cf.NA for c, s in got.items() if c not in MUST_PASS), reasons(report)
    # TensorRT's own layers (the twins): no check fails
    for op in ("hardswish_native", "scale_native"):
        other = json.loads((results(project) / "conformance" / f"{op}.json").read_text())
        assert cf.FAIL not in statuses(other).values(), reasons(other)


def test_the_example_runs_every_rule(project: Path) -> None:
    out = (project / "snakemake.out").read_text()
    tables = results(project) / "tables"
    lat = pd.read_csv(tables / "latency.csv")
    ours = lat[lat["operator"] == "hardswish"]
    assert set(ours["dtype"]) == {"fp32", "fp16"} and ours["verified"].all(), out[-3000:]
    assert set(ours["backend"]) == {"tensorrt"} and {"stream", "graph"} <= set(ours["mode"])
    compare = pd.read_csv(tables / "compare.csv")
    assert not compare[(compare["operator_a"] == "hardswish") & (compare["operator_b"] == "hardswish_native")].empty
    threads = pd.read_csv(tables / "threads.csv")
    assert threads[threads["operator"] == "hardswish"]["all_verified"].all()
    dyn = pd.read_csv(tables / "dynamic.csv")
    assert (dyn[dyn["in_profile"] & (dyn["operator"] == "hardswish")]["status"] == "ok").all()
    roundtrip = pd.read_csv(tables / "roundtrip.csv")
    assert not roundtrip[roundtrip["operator"] == "hardswish"].empty
    conformance = pd.read_csv(tables / "conformance.csv")
    assert {"hardswish", "scale"} <= set(conformance["operator"])
    assert "## Conformance" in (tables / "summary.md").read_text()
    # every job of the DAG finished (the snakemake run went on past a failure to give the other tests their results)
    assert "Exiting because a job execution failed" not in out and "(100%) done" in out, out[-5000:]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[byo_broken.BrokenCopy, dict]:
    """The broken copy, built with the project's plugin and trt_runner (compile_plugin, as the compile
    rule does; TPB_TEST_BUILD_DIR reuses tests/test_gpu.py's build of plugin/, so only the copy is new)."""
    tmp = tmp_path_factory.mktemp("byo-broken")
    copy = byo_broken.make_broken_copy(tmp / "byo-broken")
    out = Path(os.environ.get("TPB_TEST_BUILD_DIR", tmp / "build"))
    manifest = compile_plugin("tensorrt", out / "plugin", out / "manifest-byo-broken.json", out / "cmake-byo-broken.log",
                              op_specs=[load_spec(copy.spec)])
    return copy, manifest


def test_the_broken_copy_fails_exactly_the_checks_it_breaks(broken: tuple[byo_broken.BrokenCopy, dict],
                                                             tmp_path: Path) -> None:
    copy, manifest = broken
    runner = manifest.get("trt_runner")
    assert runner, f"the compile rule built no trt_runner: {manifest.get('reason')}"
    library = plugin_library_in(manifest, load_spec(copy.spec))
    assert library is not None and library.exists(), manifest.get("spec_builds")
    report = cf.conformance_command(typed(), "tensorrt", str(copy.spec), None, tmp_path / "broken.json",
                                    library=library, runner=Path(runner))
    assert report["target"]["library"] == str(library) and report["target"]["plugin_name"] == "HardSwish"
    got = statuses(report)
    failed = {c for c, s in got.items() if s == cf.FAIL}
    assert failed == set(copy.conformance_failures), reasons(report)
    assert {c for c, s in got.items() if s == cf.PASS} == MUST_PASS - failed, reasons(report)
    why = {c["check"]: c["reason"] for c in report["checks"]}
    assert "clone lifecycle" in why["clone_independence"], why["clone_independence"]
    assert "synchronizes" in why["graph_capture"] or "capture" in why["graph_capture"], why["graph_capture"]


def test_the_overflowing_plugin_passes_and_the_twins_flush_is_in_the_accuracy_table(project: Path) -> None:
    tables = results(project) / "tables"
    out = (project / "snakemake.out").read_text()
    acc = pd.read_csv(tables / "accuracy.csv")
    plugin = acc[acc["operator"] == "scale"]
    assert set(plugin["dtype"]) == {"fp32", "fp16"} and set(plugin["inputs"]) == {"random", "edge"}, out[-3000:]
    assert set(plugin["side"]) == {"plugin"} and plugin["within_tolerance"].all(), plugin.to_string()
    lat = pd.read_csv(tables / "latency.csv")
    assert lat[lat["operator"] == "scale"]["verified"].all()
    for twin in ("scale_native", "scale_ftz_native"):
        rows = acc[acc["operator"] == twin]
        assert not rows.empty and set(rows["side"]) == {"tensorrt_layers"}, twin
        outside = rows[~rows["within_tolerance"]]
        # every result outside the tolerance is a flush to zero (the gains 1000 and 2^-10 are exact in fp16)
        assert outside["worst"].str.contains(r"got=-?0\.0\b").all(), outside.to_string()
        print(f"{twin}: {'flushes (shown in the accuracy table)' if len(outside) else 'no flush on this GPU'}:\n"
              f"{rows[['dtype', 'inputs', 'max_ulp_err', 'within_tolerance', 'worst']].to_string()}")
        timed = lat[lat["operator"] == twin]
        assert not timed.empty, f"{twin} was not timed"  # the timing goes on, flushed or not
    dyn = pd.read_csv(tables / "dynamic.csv")
    assert (dyn[dyn["in_profile"] & dyn["operator"].str.startswith("scale")]["status"] == "ok").all()
    threads = pd.read_csv(tables / "threads.csv")
    assert {"scale", "scale_native", "scale_ftz_native"} <= set(threads["operator"])
    assert "## Accuracy" in (tables / "summary.md").read_text()
