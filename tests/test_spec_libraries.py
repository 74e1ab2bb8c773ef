"""The compile rule builds an operator spec's own plugin library (compile.py): a CMake source folder
is configured and built on the TensorRT backend and recorded in the manifest's spec_libraries, where
the engines load it from; a prebuilt .so must exist; the reference backend compiles none of it.
CMake itself is replaced by a fake that makes the files a build would (no GPU, no TensorRT here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from trt_plugin_bench.commands import compile as compile_mod
from trt_plugin_bench.commands import dag, sweeps
from trt_plugin_bench.core import specs
from trt_plugin_bench.core.config import validate_config

ROOT = Path(__file__).resolve().parents[1]

MODULE = '''
import numpy as np

def ref64(x, *, gain):
    return gain * x

def cost(shapes, dtype):
    n = int(np.prod(shapes[0]))
    return {"bytes": 2 * n * 4, "flops": n}
'''


@pytest.fixture(autouse=True)
def fresh_registry():  # noqa: ANN201
    yield
    specs._LOADED.clear()
    specs._BY_PATH.clear()


def write_spec(folder: Path, library: dict, name: str = "gain") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gainmod.py").write_text(MODULE)
    d = {"name": name, "description": "a gain", "implementation": "plugin_v2",
         "plugin": {"creator": "Gain", "version": "1", "library": library},
         "fields": {"gain": {"type": "float32", "default": 2.0}}, "dtypes": ["fp32"],
         "inputs": [{"name": "x"}], "outputs": [{"name": "y"}], "reference": "gainmod:ref64",
         "tolerance": {"fp32": {"ulps": 1}}, "cost": "gainmod:cost"}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(d))
    return path


def cmake_folder(tmp_path: Path) -> Path:
    src = tmp_path / "byo" / "src"
    src.mkdir(parents=True)
    (src / "CMakeLists.txt").write_text("project(gain LANGUAGES CXX CUDA)\n")
    (src / "gainPlugin.cpp").write_text("// plugin\n")
    (src / "gainKernel.cu").write_text("// kernel\n")
    (src / "build").mkdir()
    (src / "build" / "stale.cpp").write_text("// an in-tree build's file: not a source\n")
    return src


class FakeCMake:
    """compile._run's stand-in: records each command; `cmake --build DIR` makes ``makes[DIR name]``."""

    def __init__(self, makes: dict[str, tuple[str, ...]]) -> None:
        self.makes, self.commands = makes, []

    def __call__(self, cmd: list[str], log_file) -> None:  # noqa: ANN001
        self.commands.append(cmd)
        log_file.write("$ " + " ".join(cmd) + "\n")
        if "--build" in cmd:
            build = Path(cmd[cmd.index("--build") + 1])
            for key, names in self.makes.items():
                if build.name.startswith(key):
                    for name in names:
                        (build / name).parent.mkdir(parents=True, exist_ok=True)
                        (build / name).write_bytes(b"\x7fELF")


@pytest.fixture()
def fake_tools(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def install(makes: dict[str, tuple[str, ...]], tools: bool = True) -> FakeCMake:
        fake = FakeCMake(makes)
        monkeypatch.setattr(compile_mod.shutil, "which", (lambda t: f"/usr/bin/{t}") if tools else (lambda t: None))
        monkeypatch.setattr(compile_mod, "_run", fake)
        return fake
    return install


PROJECT_BUILD = ("libswish_plugin.so", "libswish_kernels.so")


def test_the_cmake_command_line(tmp_path: Path) -> None:
    src = cmake_folder(tmp_path)
    spec = specs.load_spec(write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"}))
    (sb,), prebuilt = compile_mod.external_libraries([spec, spec])  # one folder, built once
    assert prebuilt == [] and sb.cmake == src.resolve() and sb.targets == ("libgain.so",)
    build = sb.build_dir(tmp_path / "results" / "build")
    assert build.parent == tmp_path / "results" / "build" / "spec" and build.name.startswith("src-")
    assert sb.configure_command(build, "90") == ["cmake", "-S", str(src.resolve()), "-B", str(build.absolute()),
                                                 "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CUDA_ARCHITECTURES=90"]
    assert "-DCMAKE_CUDA_ARCHITECTURES" not in " ".join(sb.configure_command(build, ""))


def test_tensorrt_backend_builds_it_and_the_engines_find_it(tmp_path: Path, fake_tools) -> None:  # noqa: ANN001
    src = cmake_folder(tmp_path)
    spec = specs.load_spec(write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"}))
    fake = fake_tools({"plugin": PROJECT_BUILD, "src-": ("lib/libgain.so",)})  # CMake may put it in a subfolder
    build, manifest_path = tmp_path / "results" / "build" / "plugin", tmp_path / "m.json"
    manifest = compile_mod.compile_plugin("tensorrt", build, manifest_path, tmp_path / "cmake.log", "90", [spec])
    spec_dir = compile_mod.external_libraries([spec])[0][0].build_dir(build.parent)
    assert ["cmake", "-S", str(src.resolve()), "-B", str(spec_dir), "-DCMAKE_BUILD_TYPE=Release",
            "-DCMAKE_CUDA_ARCHITECTURES=90"] in fake.commands
    assert ["cmake", "--build", str(spec_dir), "-j"] == fake.commands[-1][:4]
    key = spec.plugin.library.manifest_key
    assert manifest["spec_libraries"] == {key: str((spec_dir / "lib" / "libgain.so").resolve())}
    entry = manifest["spec_builds"][str(src.resolve())]
    assert entry["built"] and entry["specs"] == [str(spec.path)] and len(entry["source_hash"]) == 64
    assert json.loads(manifest_path.read_text())["spec_libraries"] == manifest["spec_libraries"]
    # the TensorRT backend's engines load it from there (sweeps.plugin_library_from_manifest)
    assert sweeps.plugin_library_from_manifest(manifest_path, spec) == spec_dir / "lib" / "libgain.so"
    assert "# spec library" in (tmp_path / "cmake.log").read_text()  # its output beside the plugin's



def test_two_spec_folders_are_both_built(tmp_path: Path, fake_tools) -> None:  # noqa: ANN001
    """Two operator specs with CMake folders of their own (the byo example and a test operator in one DAG):
    each folder is built and recorded. Failed before the fix: the first folder's library path was kept in the
    variable holding the main builds' map, and the second folder read it as that map (H100, 2026-12-07,
    tests/test_gpu_specs.py: "tpb compile: error: AttributeError: 'PosixPath' object has no attribute 'get'")."""
    src = cmake_folder(tmp_path)
    other = tmp_path / "other" / "src"
    other.mkdir(parents=True)
    (other / "CMakeLists.txt").write_text("project(gain2 LANGUAGES CXX CUDA)\n")
    one = specs.load_spec(write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"}))
    two = specs.load_spec(write_spec(tmp_path / "other", {"cmake": "src", "target": "libgain2.so"}, name="gain2"))
    fake_tools({"plugin": PROJECT_BUILD, "src-": ("libgain.so", "libgain2.so")})
    build, manifest_path = tmp_path / "results" / "build" / "plugin", tmp_path / "m.json"
    manifest = compile_mod.compile_plugin("tensorrt", build, manifest_path, tmp_path / "cmake.log", "90", [one, two])
    dirs = {sp.name: compile_mod.external_libraries([sp])[0][0].build_dir(build.parent) for sp in (one, two)}
    assert dirs["gain"] != dirs["gain2"]
    assert manifest["spec_libraries"] == {
        one.plugin.library.manifest_key: str((dirs["gain"] / "libgain.so").resolve()),
        two.plugin.library.manifest_key: str((dirs["gain2"] / "libgain2.so").resolve())}
    assert {k: v["built"] for k, v in manifest["spec_builds"].items()} == {str(src.resolve()): True,
                                                                          str(other.resolve()): True}

def test_a_target_the_build_did_not_make_names_spec_and_key(tmp_path: Path, fake_tools) -> None:  # noqa: ANN001
    cmake_folder(tmp_path)
    path = write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"})
    fake_tools({"plugin": PROJECT_BUILD, "src-": ("libgainplugin.so",)})
    with pytest.raises(specs.SpecError) as info:
        compile_mod.compile_plugin("tensorrt", tmp_path / "b" / "plugin", tmp_path / "m.json", tmp_path / "c.log",
                                   "", [specs.load_spec(path)])
    msg = str(info.value)
    assert str(path) in msg and "key 'plugin.library.target'" in msg and "libgain.so" in msg
    assert "it built: libgainplugin.so" in msg


def test_a_missing_prebuilt_library_is_a_clear_error_on_tensorrt(tmp_path: Path, fake_tools) -> None:  # noqa: ANN001
    path = write_spec(tmp_path / "byo", {"prebuilt": "lib/libgain.so"})
    spec = specs.load_spec(path)
    fake_tools({"plugin": PROJECT_BUILD})
    with pytest.raises(specs.SpecError) as info:
        compile_mod.compile_plugin("tensorrt", tmp_path / "b" / "plugin", tmp_path / "m.json", tmp_path / "c.log",
                                   "", [spec])
    msg = str(info.value)
    assert msg.startswith(f"operator spec {path}: key 'plugin.library.prebuilt': ")
    assert str(tmp_path / "byo" / "lib" / "libgain.so") in msg and "does not exist" in msg and "allowed:" in msg
    from trt_plugin_bench.cli import error_line

    assert "[fix: edit the key named above in that operator spec file]" in error_line("compile", info.value)
    # present: recorded as it is, nothing built
    (tmp_path / "byo" / "lib").mkdir()
    (tmp_path / "byo" / "lib" / "libgain.so").write_bytes(b"\x7fELF")
    manifest = compile_mod.compile_plugin("tensorrt", tmp_path / "b" / "plugin", tmp_path / "m.json",
                                          tmp_path / "c.log", "", [spec])
    assert manifest["spec_libraries"] == {spec.plugin.library.manifest_key: str(spec.plugin.library.prebuilt)}


def test_reference_backend_compiles_nothing_of_it(tmp_path: Path, fake_tools) -> None:  # noqa: ANN001
    src = cmake_folder(tmp_path)
    spec = specs.load_spec(write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"}))
    missing = specs.load_spec(write_spec(tmp_path / "pre", {"prebuilt": "libnone.so"}, name="gain2"))
    for tools in (True, False):  # nvcc or not: the CPU backend runs no CUDA kernel, so nothing is compiled
        fake = fake_tools({"plugin": ("libswish_kernels.so",)}, tools=tools)
        manifest = compile_mod.compile_plugin("reference", tmp_path / f"b{tools}" / "plugin", tmp_path / "m.json",
                                              tmp_path / "c.log", "", [spec, missing])
        assert fake.commands == [] and not manifest["built"] and manifest["kernels_library"] is None
        assert "reference backend: the CUDA kernels were not compiled" in manifest["reason"]
        assert manifest["spec_libraries"] == {spec.plugin.library.manifest_key: None,
                                              missing.plugin.library.manifest_key: None}
        assert "reference backend: nothing compiled" in manifest["spec_builds"][str(src.resolve())]["reason"]


def test_the_compile_rule_reads_the_spec_folder(tmp_path: Path) -> None:
    src = cmake_folder(tmp_path)
    path = write_spec(tmp_path / "byo", {"cmake": "src", "target": "libgain.so"})
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    cfg["operators"], cfg["compare"] = ["relu", "swish_plugin", str(path)], {"pairs": []}
    cfg = validate_config(cfg)
    inputs = dag.compile_inputs(cfg["operators"])
    assert str(path.resolve()) in inputs
    assert {str((src / n).resolve()) for n in ("CMakeLists.txt", "gainPlugin.cpp", "gainKernel.cu")} <= set(inputs)
    assert not any("stale.cpp" in p or "gainmod.py" in p for p in inputs)  # in-tree builds, Python: not CMake's
    # the project's own plugin spec goes the same way, by name (its folder plugin/ is the main build's input)
    assert dag.compile_spec_args(cfg["operators"]) == f"--spec swish_plugin --spec {path.resolve()}"
    assert dag.compile_inputs(["relu", "swish_plugin"]) == []


def test_a_config_of_the_required_keys_only_gets_every_section() -> None:
    """An external config (examples/byo-plugin/config.yaml) leaves out builder, calibration,
    kernel_bench, profile and reference: their schema defaults fill them, as the rules read them."""
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "small.yaml").read_text())
    for key in ("builder", "calibration", "kernel_bench", "profile", "reference"):
        cfg.pop(key, None)
    cfg = validate_config(cfg)
    assert cfg["reference"]["max_elements"] == 262144 and cfg["calibration"]["copy_mib"][-1] == 2048
    assert cfg["builder"]["workspace_mib"] == 1024 and cfg["kernel_bench"]["enabled"] and not cfg["profile"]["enabled"]
