"""Operator specs (specs.py): the built-in ones load to the interface the pipeline uses, and every
spec error stops the run at config load, naming the spec file, the key and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from trt_plugin_bench.core import oracle, specs
from trt_plugin_bench.core.config import ConfigError, validate_config
from trt_plugin_bench.core.operators import OPERATORS, get_operator, moved_bytes, resolve_operators
from trt_plugin_bench.core.settings import Settings
from trt_plugin_bench.core.specs import numerics_of

ROOT = Path(__file__).resolve().parents[1]

# a spec of a scaled clamp, written beside its own Python module (as an external plugin's would be)
MODULE = '''
import numpy as np

def clamp64(x, *, limit):
    return np.clip(x, -limit, limit)

def cost(shapes, dtype):
    n = int(np.prod(shapes[0]))
    return {"bytes": 2 * n * (4 if dtype == "fp32" else 2), "flops": 2 * n}

def raises(x, *, limit):
    raise ZeroDivisionError("planted")

def twin(trt, network, inputs, dtype, keep, limit=1.0):
    return []

NOT_CALLABLE = 3
'''


def spec_dict(**changes: object) -> dict:
    d = {"name": "clamp", "description": "a scaled clamp", "implementation": "plugin_v2",
         "plugin": {"creator": "Clamp", "version": "1", "library": {"prebuilt": "libclamp.so"}},
         "fields": {"limit": {"type": "float32", "default": 2.0}},
         "dtypes": ["fp32", "fp16"],
         "inputs": [{"name": "x", "rank": 2, "dims": [None, 256]}], "outputs": [{"name": "y"}],
         "reference": "clampmod:clamp64", "tolerance": {"fp32": {"ulps": 0}, "fp16": {"ulps": 0.5, "abs": 1e-3}},
         "native_twin": "clampmod:twin", "cost": "clampmod:cost"}
    d.update(changes)
    return d


@pytest.fixture(autouse=True)
def fresh_registry():  # noqa: ANN201 - each test's specs are its own (one process, one config, otherwise)
    yield
    specs._LOADED.clear()
    specs._BY_PATH.clear()


@pytest.fixture()
def write(tmp_path: Path):  # noqa: ANN201
    (tmp_path / "clampmod.py").write_text(MODULE)

    def _write(d: dict, name: str = "clamp.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(d))
        return path
    return _write


def load_error(path: Path) -> str:
    with pytest.raises(specs.SpecError) as info:
        specs.load_spec(path)
    return str(info.value)


def small_config(*operators: str) -> dict:
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg["operators"] = list(operators)
    cfg["compare"]["pairs"] = []
    return cfg


def test_builtin_specs_keep_the_operator_interface() -> None:
    # every built-in spec of ops/ (each operator folder asserts its own names: GELU in tests/test_gelu.py)
    assert {"relu", "swish_native", "swish_plugin", "swish_plugin_anyformat", "swish_plugin_naive",
            "swish_plugin_v3"} <= set(OPERATORS)
    v3 = OPERATORS["swish_plugin_v3"]
    assert (v3.function, v3.implementation, v3.kernel, v3.min_tensorrt_major, v3.uses_plugin, v3.tensorrt_layers) == \
        ("swish", "plugin_v3", "optimised", 10, True, False)
    assert OPERATORS["swish_plugin_naive"].kernel == "naive" and OPERATORS["relu"].tensorrt_layers
    lib = OPERATORS["swish_plugin"].plugin.library  # the project's plugin/ is a spec library like any user's
    assert lib.cmake == (ROOT / "plugin").resolve() and lib.target == "libswish_plugin.so"
    assert OPERATORS["swish_plugin"].plugin.creator == "Swish" and OPERATORS["swish_plugin"].plugin.init == "initSwishPlugins"


def test_no_operator_name_in_the_package() -> None:
    """An operator is data: its name, math, twin, cost and kernel ids live beside its spec (ops/)."""
    hits = [str(p.relative_to(ROOT)) for p in (ROOT / "workflow" / "trt_plugin_bench").rglob("*.py")
            if re.search(r"swish|relu", p.read_text(), re.IGNORECASE)]
    assert hits == []


def test_spec_numerics_are_one_registry() -> None:
    """Every spec of one function shares its math (the plugin variants, the native operator); a
    planted error fails; numerics_of builds each operator's numerics once."""
    for ops in (("swish_plugin", "swish_plugin_v3", "swish_native"), ("relu",)):
        nums = [numerics_of(OPERATORS[op]) for op in ops]
        assert numerics_of(OPERATORS[ops[0]]) is nums[0]
        for dtype in ("fp32", "fp16", "bf16"):
            x = oracle.random_input((4, 300), dtype, seed=3, generator=OPERATORS[ops[0]].inputs[0].generator)
            y = oracle.compute_float32(nums[0], x, dtype, 1.5)
            assert all(oracle.compute_float32(n, x, dtype, 1.5).tobytes() == y.tobytes() for n in nums)
            bad = y.copy()
            bad.reshape(-1)[200] = oracle.to_device_dtype(np.array([7.0], dtype=np.float32), dtype)[0]
            assert oracle.check_output(y, x, nums[0], dtype, 1.5).ok
            assert not oracle.check_output(bad, x, nums[0], dtype, 1.5).ok


def test_cost_model_gives_the_bytes() -> None:
    from trt_plugin_bench.backends.base import EngineSpec

    e = EngineSpec("swish_plugin", "swish", "plugin_v2", "naive", "fp16", "p", (1,), (8,), (8,), 1.0)
    assert moved_bytes(e, (4, 256)) == 2 * 4 * 256 * 2


def test_external_spec_by_path_and_its_twin(write) -> None:  # noqa: ANN001
    path = write(spec_dict())
    ops = resolve_operators([str(path), "clamp_native", "relu"])
    assert [s.name for s in ops] == ["clamp", "clamp_native", "relu"]
    assert ops[1].implementation == "native" and ops[1].twin_of == "clamp" and get_operator("clamp_native").tensorrt_layers
    num = numerics_of(ops[0])
    x = oracle.random_input((2, 256), "fp16", seed=1, generator=ops[0].inputs[0].generator)
    y = oracle.compute_float32(num, x, "fp16")  # no cpu_implementation: the reference, rounded
    assert oracle.check_output(y, x, num, "fp16").ok
    y.reshape(-1)[100] = oracle.to_device_dtype(np.array([1.5], dtype=np.float32), "fp16")[0]
    assert not oracle.check_output(y, x, num, "fp16").ok  # planted: 1.5 where the clamp gives at most 2 but x differs
    cfg = validate_config(small_config(str(path), "clamp_native"))
    assert cfg["operators"] == [str(path), "clamp_native"]


def test_generator_edges_cover_every_kind() -> None:
    g = specs.Generator(edges=specs.EDGE_KINDS)
    x = oracle.to_float64(oracle.random_input((64,), "fp16", 0, generator=g), "fp16")
    assert np.isnan(x).any() and np.isposinf(x).any() and np.isneginf(x).any() and (x == 0).any()
    assert ((np.abs(x) < oracle.smallest_normal("fp16")) & (x != 0)).any() and (np.abs(x) >= 30000).any()


def test_unknown_key_names_file_key_and_allowed(write) -> None:  # noqa: ANN001
    path = write(spec_dict(tolerances={"fp32": {"ulps": 1}}))
    msg = load_error(path)
    assert str(path) in msg and "tolerances" in msg and "allowed keys" in msg and "tolerance" in msg
    path = write(spec_dict(plugin={"creator": "Clamp", "version": "1", "library": {"prebuilt": "l.so"}, "nmespace": ""}))
    msg = load_error(path)
    assert "nmespace" in msg and "'plugin'" in msg and "namespace" in msg


def test_unknown_field_a_function_takes(write) -> None:  # noqa: ANN001
    """On the CPU, the fields are checked against the spec's own list: a keyword its reference needs must be declared."""
    path = write(spec_dict(fields={"limt": {"type": "float32", "default": 2.0}}))
    msg = load_error(path)
    assert str(path) in msg and "key 'reference'" in msg and "limit" in msg and "allowed fields: limt" in msg


def test_shape_outside_the_spec_stops_the_config(write) -> None:  # noqa: ANN001
    path = write(spec_dict(inputs=[{"name": "x", "rank": 2, "dims": [None, 128]}]))
    with pytest.raises(ConfigError) as info:
        validate_config(small_config(str(path)))
    msg = str(info.value)
    assert "profiles.tiny.min" in msg and str(path) in msg and "inputs[0]" in msg and "fixed at 128" in msg
    path = write(spec_dict(name="clamp3", inputs=[{"name": "x", "rank": 3}]), "clamp3.yaml")
    with pytest.raises(ConfigError, match=r"rank 2 but inputs\[0\].rank is 3"):
        validate_config(small_config(str(path)))


@pytest.mark.parametrize(("reference", "words"), [
    ("clampmod:clamp65", "has no function 'clamp65'"),
    ("nomodule:clamp64", "module 'nomodule' does not import"),
    ("clampmod:raises", "raised ZeroDivisionError: planted"),
])
def test_reference_missing_or_raising(write, reference: str, words: str) -> None:  # noqa: ANN001
    path = write(spec_dict(reference=reference))
    msg = load_error(path)
    assert str(path) in msg and "key 'reference'" in msg and words in msg


@pytest.mark.parametrize(("twin", "words"), [
    ("clampmod:twins", "has no function 'twins'"),
    ("clampmod:NOT_CALLABLE", "has no function 'NOT_CALLABLE'"),
    ("missing_twins:twin", "does not import"),
])
def test_native_twin_that_does_not_import(write, twin: str, words: str) -> None:  # noqa: ANN001
    path = write(spec_dict(native_twin=twin))
    msg = load_error(path)
    assert str(path) in msg and "key 'native_twin'" in msg and words in msg


def test_native_operator_needs_a_twin_and_no_plugin(write) -> None:  # noqa: ANN001
    d = spec_dict(implementation="native", native_twin=None)
    del d["plugin"]
    assert "key 'native_twin'" in load_error(write(d))
    assert "key 'plugin'" in load_error(write(spec_dict(implementation="native"), "n2.yaml"))


def test_spec_error_stops_snakemake_at_parse(write, tmp_path: Path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    path = write(spec_dict(reference="clampmod:raises"))
    cfg = small_config(str(path))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", "--snakefile", str(ROOT / "Snakefile"),
                           "--configfile", str(tmp_path / "c.yaml"), "--directory", str(tmp_path / "w")],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and str(path) in out and "raised ZeroDivisionError" in out
    assert not (tmp_path / "w" / "results").exists()  # no work done


def test_external_spec_engine_builds_and_round_trips(write, tmp_path: Path) -> None:  # noqa: ANN001
    """build_engine takes an external spec by its path (dag.op_arg), and the round trip's fresh
    process redraws the golden input with that spec's own generator (here uniform, not the default)."""
    from trt_plugin_bench.commands import sweeps

    d = spec_dict(inputs=[{"name": "x", "rank": 2, "dims": [None, 256],
                           "generator": {"distribution": "uniform", "low": -3.0, "high": 3.0, "edges": [0.0, 1.5]}}])
    path = write(d)
    cfg = Settings.from_config(validate_config(small_config(str(path))))
    engine, golden = tmp_path / "clamp__fp32__tiny.engine", tmp_path / "clamp__fp32__tiny.golden.npz"
    sweeps.build_engine(cfg, "reference", str(path), "fp32", "tiny", engine, golden, None)
    rows = sweeps.roundtrip("reference", engine, golden, None)
    assert rows and all(r.bit_identical and r.operator == "clamp" for r in rows)


def test_a_dry_run_already_runs_a_specs_python_module(tmp_path: Path) -> None:
    """Issue 26 item 11 (docs/writing-an-operator-spec.md, "A spec is code you trust"): a spec's
    Python module is imported when Snakemake reads the config, so `snakemake -n` runs whatever it
    does at import. A planted side effect shows it; the doc must say so."""
    import os
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "spec"
    shutil.copytree(ROOT / "examples" / "byo-plugin", folder,
                    ignore=shutil.ignore_patterns("build", "__pycache__", "*.cu", "*.cpp", "*.h", "CMakeLists.txt"))
    module = folder / "hardswish_ref.py"
    module.write_text(module.read_text() + "\nimport os as _os  # noqa: E402\nimport pathlib as _pl  # noqa: E402\n"
                      "_pl.Path(_os.environ['TPB_SIDE_EFFECT']).write_text('imported')\n")
    spec = yaml.safe_load((folder / "hardswish.yaml").read_text())
    spec["plugin"]["library"] = {"prebuilt": "libhardswish_plugin.so"}  # never built on the CPU
    (folder / "hardswish.yaml").write_text(yaml.safe_dump(spec))
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg["operators"] = [str(folder / "hardswish.yaml")]
    cfg["compare"] = {"pairs": []}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    marker = tmp_path / "side effect"
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
                           "--configfile", str(tmp_path / "cfg.yaml"), "--directory", str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "TPB_SIDE_EFFECT": str(marker)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert marker.read_text() == "imported", "a dry run imports the spec's module"
    assert not (tmp_path / "work" / "results").exists(), "and runs no rule"
    doc = (ROOT / "docs" / "writing-an-operator-spec.md").read_text()
    assert "## A spec is code you trust" in doc and "a dry run (Snakemake's `-n`)" in doc
