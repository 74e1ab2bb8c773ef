"""`tpb verdict --rebuild` (issue 14's interleaved mode) on the CPU: the baseline source taken from git
(and refused, naming the first commit that supports it, for an older revision), the CMake command,
the judging of interleaved samples, the bounded re-measurement and the binomial too-noisy rule.
The GPU part (both libraries in one process) runs in workflow/scripts/device_session.sh's rebuild step."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from trt_plugin_bench.core.config import PROJECT_ROOT
from trt_plugin_bench.core.operators import get_operator
from trt_plugin_bench.report.rebuild import (
    InterleavedState,
    RebuildError,
    cmake_commands,
    judge_interleaved,
    locate_source,
    prepare_source,
    prepared_source,
    remeasure,
)
from trt_plugin_bench.report.verdict import Settings, beyond_chance, binomial_tail
from typed import typed

GPU_CHECK_SCRIPT = PROJECT_ROOT / "workflow" / "scripts" / "verdict_gpu_check.sh"

SETTINGS = Settings(resamples=400)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "plugin").mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    (root / "plugin" / "CMakeLists.txt").write_text("project(swish_plugin)\n")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "old plugin")
    (root / "plugin" / "CMakeLists.txt").write_text('set(TPB_PLUGIN_NAMESPACE "")\nset(TPB_LIBRARY_SUFFIX "")\n')
    (root / "plugin" / "kernel.cu").write_text("// v2\n")
    (root / "other.txt").write_text("not the plugin\n")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "namespace option")
    return root


def test_old_revision_is_refused_naming_the_first_supporting_commit(repo: Path, tmp_path: Path) -> None:
    first = _git(repo, "rev-parse", "HEAD")
    with pytest.raises(RebuildError) as err:
        prepare_source("HEAD~1", repo, tmp_path / "rebuild")
    msg = str(err.value)
    assert "HEAD~1" in msg and _git(repo, "rev-parse", "HEAD~1")[:12] in msg and first[:12] in msg
    assert "--rebuild needs a revision at or after" in msg
    assert not (tmp_path / "rebuild").exists()  # stopped before any work


def test_source_extraction_and_cmake_command(repo: Path, tmp_path: Path) -> None:
    src = prepare_source("HEAD", repo, tmp_path / "rebuild")
    sha = _git(repo, "rev-parse", "HEAD")
    assert src.sha == sha and src.root == tmp_path / "rebuild" / sha
    assert (src.plugin_dir / "kernel.cu").read_text() == "// v2\n"
    assert not (src.src / "other.txt").exists()  # plugin/ only
    src = replace(src, target="libswish_plugin.so")  # the specs' plugin.library.target (run_interleaved sets it)
    configure, build = cmake_commands(src, "90", jobs=3)
    assert configure[:3] == ["cmake", "-S", str(src.plugin_dir)]
    assert f"-DTPB_PLUGIN_NAMESPACE=tpb_base_{sha[:8]}" in configure
    assert f"-DTPB_LIBRARY_SUFFIX=_base_{sha[:8]}" in configure and "-DCMAKE_CUDA_ARCHITECTURES=90" in configure
    assert build[-2:] == ["--target", "swish_plugin"] and "3" in build
    assert src.library.name == f"libswish_plugin_base_{sha[:8]}.so"
    assert not any("CUDA_ARCHITECTURES" in a for a in cmake_commands(src, "")[0])
    # a tree without git (a GPU machine's copy) finds it by the name it was prepared under
    assert prepared_source("HEAD", tmp_path / "rebuild").sha == sha
    with pytest.raises(RebuildError, match="--prepare-only"):
        prepared_source("HEAD~3", tmp_path / "rebuild")
    # a checkout whose history lacks the sha (the GPU machine's copy) takes the prepared source of it,
    # and an unknown sha with nothing prepared is still "not a git revision"
    other = tmp_path / "other"
    other.mkdir()
    for args in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=other, check=True)
    assert locate_source(sha, other, tmp_path / "rebuild").sha == sha
    with pytest.raises(RebuildError, match="not a git revision"):
        locate_source("f" * 40, other, tmp_path / "rebuild")


def _tar(*members: tuple[str, bytes | str, str]) -> bytes:
    """An archive in memory: (name, file content or link target, kind: file, dir, sym, hard, chr, fifo)."""
    import io
    import tarfile

    buf = io.BytesIO()
    types = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
             "fifo": tarfile.FIFOTYPE}
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o6777 if kind == "file" else 0o755
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = types[kind]
            if kind in ("sym", "hard"):
                info.linkname = str(data)
            tar.addfile(info)
    return buf.getvalue()


def _without_data_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """tarfile as Python 3.11.0-3.11.3 has it (trt-kit's 3.11.2): no data_filter, extractall without filter=."""
    import tarfile

    if hasattr(tarfile, "data_filter"):
        monkeypatch.delattr(tarfile, "data_filter")
    real = tarfile.TarFile.extractall

    def old_extractall(self, path=".", members=None, *, numeric_owner=False, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if kwargs:
            raise TypeError(f"TarFile.extractall() got an unexpected keyword argument {next(iter(kwargs))!r}")
        return real(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)


UNSAFE = [
    ("../evil.txt", b"x", "file"),
    ("/abs-evil.txt", b"x", "file"),
    ("plugin/../../evil.txt", b"x", "file"),
    ("plugin/up", "../../outside", "sym"),
    ("plugin/abs", "/etc/passwd", "sym"),
    ("plugin/hard", "../outside", "hard"),
    ("plugin/tty", "", "chr"),
    ("plugin/pipe", "", "fifo"),
]


@pytest.mark.parametrize("data_filter", [False, True], ids=["python-3.11.2-fallback", "tarfile-data-filter"])
@pytest.mark.parametrize("bad", UNSAFE, ids=[f"{m[2]}:{m[0]}" for m in UNSAFE])
def test_archive_extraction_refuses_unsafe_members(bad: tuple, data_filter: bool, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """trt-kit's Python 3.11.2 has no tarfile data filter (extractall(filter=) was a TypeError, H100 run of
    2026-12-07): the fallback checks every member itself and refuses an unsafe one by name before writing
    anything; the data filter refuses the same (an absolute name it puts under the destination instead)."""
    import io
    import tarfile

    from trt_plugin_bench.report import rebuild

    if data_filter and not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter")
    if not data_filter:
        _without_data_filter(monkeypatch)
    dest = tmp_path / "a" / "b" / "src"
    blob = _tar(("plugin/CMakeLists.txt", b"project(p)\n", "file"), bad)
    if data_filter and bad[0].startswith("/"):  # the data filter strips the leading slash: inside, not refused
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            rebuild.extract_safely(tar, dest)
        assert (dest / bad[0].lstrip("/")).is_file()
        return
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar, pytest.raises(ValueError, match="unsafe|refused") as err:
        rebuild.extract_safely(tar, dest)
    if not data_filter:
        assert repr(bad[0]) in str(err.value)
        assert not (dest / "plugin").exists()  # checked before anything is written
    assert not (tmp_path / "a" / "b" / "evil.txt").exists() and not (tmp_path / "a" / "evil.txt").exists()


def test_source_extraction_without_the_tar_data_filter(repo: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`verdict --rebuild HEAD` on trt-kit's Python 3.11.2 (no filter= in TarFile.extractall): git's archive
    extracts; a normal archive with folders and an inner link extracts, setuid bits dropped; an archive with an
    unsafe member is a RebuildError naming it."""
    import io
    import stat
    import tarfile

    from trt_plugin_bench.report import rebuild

    _without_data_filter(monkeypatch)
    src = prepare_source("HEAD", repo, tmp_path / "rebuild")
    assert (src.plugin_dir / "kernel.cu").read_text() == "// v2\n" and not (src.src / "other.txt").exists()
    dest = tmp_path / "normal"
    blob = _tar(("plugin", "", "dir"), ("plugin/sub", "", "dir"), ("plugin/sub/k.cu", b"// k\n", "file"),
                ("plugin/link.cu", "sub/k.cu", "sym"), ("plugin/hard.cu", "plugin/sub/k.cu", "hard"))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        rebuild.extract_safely(tar, dest)
    assert (dest / "plugin" / "link.cu").read_text() == "// k\n" == (dest / "plugin" / "hard.cu").read_text()
    assert not stat.S_IMODE((dest / "plugin" / "sub" / "k.cu").stat().st_mode) & (stat.S_ISUID | stat.S_ISGID | 0o022)
    # through prepare_source: git's archive replaced by one with a '..' member
    real_git = rebuild._git

    def fake_git(args: list[str], root: Path, binary: bool = False) -> subprocess.CompletedProcess:
        if args[0] == "archive":
            return subprocess.CompletedProcess(args, 0, _tar(("plugin/../../x", b"x", "file")), b"")
        return real_git(args, root, binary)

    monkeypatch.setattr(rebuild, "_git", fake_git)
    with pytest.raises(RebuildError, match=r"--rebuild HEAD: git archive .*'plugin/\.\./\.\./x'.*'\.\.' part"):
        prepare_source("HEAD", repo, tmp_path / "rebuild2")


def _states(rng: np.random.Generator, n_states: int, slow: float = 1.0, aa_bias: float = 1.0,
            n: int = 600) -> list[InterleavedState]:
    out = []
    for i in range(n_states):
        base = 5.0 + i
        key = ("swish_plugin", "fp32", "sweep", f"{i + 1}x1024", "warm")
        st = InterleavedState(key, (i + 1) * 1024, "tensorrt")
        st.add(base * slow * rng.lognormal(0, 0.03, n), base * rng.lognormal(0, 0.03, n),
               base * aa_bias * rng.lognormal(0, 0.03, n))
        out.append(st)
    return out


def test_interleaved_judging_planted_slowdown_and_identical_code() -> None:
    rng = np.random.default_rng()  # random data: a wrong method fails some day, not never
    rows, noisy = judge_interleaved(_states(rng, 12, slow=1.10), SETTINGS)
    assert {r.verdict for r in rows} == {"SLOW"} and not noisy
    assert {r.band_from for r in rows} <= {"min_effect", "aa_control", "resolution"}
    rows, noisy = judge_interleaved(_states(rng, 12), SETTINGS)
    assert not {"SLOW", "FAST"} & {r.verdict for r in rows} and not noisy
    assert {r.method for r in rows} == {"bootstrap (interleaved)"}


def test_interleaved_run_with_a_biased_aa_widens_the_band_and_vetoes_nothing() -> None:
    """An A/A control 8 % off in every state (a second build that differs): noisy beyond chance, and every
    band widened to that offset, saying so. A 20 % slowdown is beyond it: still SLOW (before issue 28 the
    flag vetoed it: all AMBIGUOUS); a 5 % one is inside it: not SLOW."""
    rng = np.random.default_rng()
    rows, noisy = judge_interleaved(_states(rng, 10, slow=1.20, aa_bias=1.08), SETTINGS)
    assert noisy and "A/A control" in noisy[0] and "widened" in noisy[0]
    assert {r.verdict for r in rows} == {"SLOW"}
    assert all(r.band >= 0.08 for r in rows)
    rows, _ = judge_interleaved(_states(rng, 10, slow=1.05, aa_bias=1.08), SETTINGS)
    assert not {"SLOW", "FAST"} & {r.verdict for r in rows}


def test_remeasure_is_adaptive_and_bounded() -> None:
    """Only the AMBIGUOUS state is re-measured, with 2x to 8x the time (8x: its ratio sits on the band's
    edge), at most ``rounds`` rounds; nothing AMBIGUOUS: no round."""
    from trt_plugin_bench.report.rebuild import MAX_REMEASURE_FACTOR, remeasure_factor

    rng = np.random.default_rng()
    states = _states(rng, 4)
    # state 0: a 1 % change in noise of 30 %: AMBIGUOUS whatever the rounds add
    calls: list[tuple[list, float]] = []

    def measure(keys: list, budget: float) -> dict:
        calls.append((list(keys), budget))
        return {k: (9 * rng.lognormal(0, 0.3, 40) * 1.01, 9 * rng.lognormal(0, 0.3, 40), 9 * rng.lognormal(0, 0.3, 40))
                for k in keys}

    noisy_key = states[0].key
    states[0].candidate, states[0].baseline, states[0].control, states[0].rounds = [], [], [], 0
    states[0].add(*measure([noisy_key], 0)[noisy_key])
    calls.clear()
    rows, _ = judge_interleaved(states, SETTINGS)
    assert {r.shape for r in rows if r.verdict == "AMBIGUOUS"} == {noisy_key[3]}
    rows, _, done = remeasure(states, rows, measure, 0.5, 2, SETTINGS)
    assert done == 2 and len(calls) == 2
    assert all(1.0 <= b <= 0.5 * MAX_REMEASURE_FACTOR for _, b in calls)
    assert all(keys == [noisy_key] for keys, _ in calls)  # only the AMBIGUOUS state
    assert states[0].rounds == 3 and all(st.rounds == 1 for st in states[1:])
    _, _, none = remeasure(states[1:], [r for r in rows if r.shape != noisy_key[3]], measure, 0.5, 2, SETTINGS)
    assert none == 0 and len(calls) == 2  # nothing AMBIGUOUS: no round
    row = rows[0]
    edge = replace(row, ratio=1.0 + row.band, ci_low=1.0, ci_high=1.0 + 2 * row.band)
    near = replace(row, ratio=1.0 + 3 * row.band, ci_low=1.0 + 2.5 * row.band, ci_high=1.0 + 3.5 * row.band)
    assert remeasure_factor(edge) == MAX_REMEASURE_FACTOR and remeasure_factor(near) == 2


def test_binomial_too_noisy_rule() -> None:
    assert binomial_tail(0, 10, 0.05) == 1.0 and binomial_tail(11, 10, 0.05) == 0.0
    assert binomial_tail(1, 1, 0.05) == pytest.approx(0.05)
    assert binomial_tail(2, 3, 0.5) == pytest.approx(0.5)
    # 6 of 42 H200 compare rows tripped the old any-row rule: chance at a 5 % per-state rate
    assert not beyond_chance(6, 42, 0.05, 0.01) and beyond_chance(8, 42, 0.05, 0.01)
    assert beyond_chance(38, 270, 0.05, 0.01) and not beyond_chance(0, 5, 0.05, 0.01)


def test_cli_rebuild_refuses_the_cpu_backend_and_old_revisions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The CPU reference backend has no plugin library: --rebuild says so (exit 2) and points at the
    separate-run comparison; a revision of this repository from before the option is refused by name."""
    import json

    from trt_plugin_bench.cli import main
    cand = tmp_path / "cand" / "tables"
    cand.mkdir(parents=True)
    (cand / "device.json").write_text(json.dumps({"backend": "reference"}))
    (cand / "latency.csv").write_text("operator,dtype\nswish_plugin,fp32\n")
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True).returncode != 0:
        pytest.skip("the project is not a git checkout here")
    rebuild_root = tmp_path / "rebuild"
    from trt_plugin_bench.report.rebuild import verdict_rebuild

    with pytest.raises(RebuildError, match="CPU reference backend has no plugin library"):
        verdict_rebuild(tmp_path / "cand", tmp_path / "out", "HEAD", typed(), rebuild_root=rebuild_root)
    old = _git(PROJECT_ROOT, "rev-list", "-1", "6128a5a") if _has(PROJECT_ROOT, "6128a5a") else None
    if old:
        assert main(["verdict", "--candidate", str(tmp_path / "cand"), "--rebuild", old, "--prepare-only"]) == 2
        assert "predates the plugin's TPB_PLUGIN_NAMESPACE" in capsys.readouterr().err


def _has(root: Path, rev: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=root, capture_output=True).returncode == 0


def test_run_interleaved_orchestration_on_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_interleaved's flow with the CPU reference backend standing in for TensorRT: the three "libraries"
    (baseline, its A/A second build, and the candidate: this checkout's plugin/ built by the baseline's recipe, never
    the DAG's library, whose other build route gave a stable offset the A/A could not see on the H100, 2026-12-07)
    loaded under their namespaces, the engines built from the candidate's build records and cached, every state
    timed interleaved, judged, and the verdict files written. The candidate's engine does 4x the work: SLOW."""
    import json

    import pandas as pd
    from trt_plugin_bench.backends.reference import ReferenceBackend
    from trt_plugin_bench.commands import sweeps
    from trt_plugin_bench.report import rebuild

    config = typed("timing.pin_cpu=false")
    loads: list[tuple[str, str]] = []
    builds: list[str] = []
    broken = False

    class FakeTrt(ReferenceBackend):
        name = "tensorrt"

        def load_library_of(self, op_spec, path: Path, namespace: str | None = None) -> None:  # noqa: ANN001
            loads.append((Path(path).name, namespace))

        def build(self, spec, engine_path, plugin_library, builder_cfg, plugin_namespace=""):  # noqa: ANN001, ANN201
            builds.append(plugin_namespace)
            extra = 3 if plugin_namespace.startswith("tpb_cand_") else 0  # the candidate is the slow one
            return super().build(spec, engine_path, plugin_library, {**builder_cfg, "reference_extra_work": extra})

        def load(self, engine_path, plugin_library, plugin_namespace=""):  # noqa: ANN001, ANN201
            engine = super().load(engine_path, plugin_library)
            if broken and plugin_namespace.startswith("tpb_cand_"):  # planted: the candidate computes a wrong output
                right = engine.compute
                engine.compute = lambda x: right(x) + 1.0
            return engine

    monkeypatch.setattr("trt_plugin_bench.backends.get_backend", lambda name, l2_flush="clean": FakeTrt())
    cand = tmp_path / "results"
    (cand / "build").mkdir(parents=True)
    (cand / "engines").mkdir()
    (cand / "tables").mkdir()
    cand_lib, base_lib = cand / "build" / "libswish_plugin.so", tmp_path / "libswish_plugin_base_x.so"
    cand_lib.write_bytes(b"candidate")
    base_lib.write_bytes(b"baseline")
    built: list[tuple[str, str]] = []

    def fake_build(source, arch, log, jobs=None):  # noqa: ANN001, ANN202
        built.append((source.role, source.namespace))
        return base_lib

    monkeypatch.setattr(rebuild, "build_baseline", fake_build)
    key = get_operator("swish_plugin").plugin.library.manifest_key  # the spec's library, as compile records it
    (cand / "build" / "manifest.json").write_text(json.dumps({"plugin_library": str(cand_lib), "cuda_architectures": "90",
                                                              "spec_libraries": {key: str(cand_lib)}}))
    spec = sweeps.make_spec(config, "swish_plugin", "fp32", "tiny")
    (cand / "engines" / "swish_plugin__fp32__tiny.build.json").write_text(json.dumps({"spec": spec.to_json()}))
    rows = [{"operator": op, "dtype": "fp32", "profile": "tiny", "shape": shape, "mode": mode}
            for op in ("swish_plugin", "relu") for shape in ("1x256", "64x256") for mode in ("warm", "cold")]
    pd.DataFrame(rows).to_csv(cand / "tables" / "latency.csv", index=False)
    (cand / "tables" / "device.json").write_text(json.dumps({"backend": "tensorrt", "device_name": "fake"}))
    source = rebuild.RebuildSource("HEAD", "ab" * 20, tmp_path / "rebuild" / ("ab" * 20))
    out, noisy, facts = rebuild.run_interleaved(cand, source, config, ["warm"], 0.05, 1, SETTINGS, "")
    aa_ns = source.second_build().namespace  # the A/A control: a second, independent build of the baseline
    cand_ns = next(ns for role, ns in built if role == "cand")  # the candidate, by the same recipe
    assert [ns for _, ns in loads] == [source.namespace, aa_ns, cand_ns]  # the DAG's library is not loaded
    assert sorted(builds) == sorted([cand_ns, source.namespace, aa_ns]) and aa_ns == f"tpb_aa_{source.sha[:8]}"
    assert cand_ns.startswith("tpb_cand_") and [role for role, _ in built] == ["base", "aa", "cand"]
    assert "this checkout's plugin/" in facts["candidate"] and "NOTE" not in facts["candidate"]
    assert "wall time" in facts and "second, independent build" in facts["A/A control"]
    assert {(r.operator, r.shape, r.mode) for r in out} == {("swish_plugin", "1x256", "warm"), ("swish_plugin", "64x256", "warm")}
    big = next(r for r in out if r.shape == "64x256")
    assert big.verdict == "SLOW" and big.ratio > 1.5, (big, noisy)
    assert "states timed" in facts
    engines = sorted(p.name for p in (source.root / "engines").glob("*.engine"))
    assert len(engines) == 3
    rebuild.run_interleaved(cand, source, config, ["warm"], 0.05, 0, SETTINGS, "64x256")
    assert len(builds) == 3  # cached by spec hash: nothing built again
    # a planted candidate: this checkout's plugin/ built again with a CMake option, timed under its own namespace;
    # the naive kernel: the candidate's engines built with that kernel
    specs_built: list = []
    real_build = FakeTrt.build

    def recording_build(self, spec, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        specs_built.append((spec.kernel, k.get("plugin_namespace", "")))
        return real_build(self, spec, *a, **k)

    monkeypatch.setattr(FakeTrt, "build", recording_build)
    opts = rebuild.CandidateOptions(("-DTPB_PLANTED_SLOWDOWN_PERMILLE=20",), "naive")
    _, _, facts = rebuild.run_interleaved(cand, source, config, ["warm"], 0.05, 0, SETTINGS, "", opts)
    planted = built[-1][1]  # its own copy: the CMake arguments are in its hash
    assert built[-1][0] == "cand" and planted.startswith("tpb_cand_") and planted != cand_ns
    assert ("naive", planted) in specs_built and all(k != "naive" for k, ns in specs_built if ns != planted)
    args = [json.loads(f.read_text())["cmake_args"] for f in (source.root.parent).glob("candidate-*/args.json")]
    assert sorted(args) == [[], ["-DTPB_PLANTED_SLOWDOWN_PERMILLE=20"]]
    assert "planted" in facts["candidate"] and "naive" in facts["candidate"]
    # tables measured with another plugin/ than the checkout's: the verdict times plugin/ as it is, and says so
    (cand / "tables" / "device.json").write_text(json.dumps({"backend": "tensorrt", "device_name": "fake",
                                                               "plugin_source_hash": "0" * 64}))
    _, _, facts = rebuild.run_interleaved(cand, source, config, ["warm"], 0.05, 0, SETTINGS, "")
    assert "NOTE: plugin/ is not the source the candidate's tables were measured with (000000000000)" in facts["candidate"]
    broken = True  # a wrong candidate output is its states' FAIL, and the run goes on to judge them all
    out, _, _ = rebuild.run_interleaved(cand, source, config, ["warm"], 0.05, 0, SETTINGS, "")
    assert {r.verdict for r in out} == {"FAIL"} and len(out) == 2
    broken = False
    # the whole command on this checkout's HEAD (its plugin/ extracted; the build stubbed as above)
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True).returncode != 0:
        pytest.skip("the project is not a git checkout here")
    status, judged = rebuild.verdict_rebuild(cand, tmp_path / "out", "HEAD", config, SETTINGS, fail_on="SLOW",
                                             rebuild_root=tmp_path / "rb", modes=("warm",), time_s=0.05, rounds=1)
    md = (tmp_path / "out" / "verdict.md").read_text()
    assert status == 1 and any(r.verdict == "SLOW" for r in judged)
    assert "interleaved" in md and "false-positive rate: 5 % per state" in md and "bootstrap (interleaved)" in md
    assert (tmp_path / "out" / "verdict.png").stat().st_size > 0 and (tmp_path / "out" / "verdict.csv").is_file()
    from trt_plugin_bench.measure.samples import load_samples

    meta, raw = load_samples(tmp_path / "rb" / _git(PROJECT_ROOT, "rev-parse", "HEAD") / "samples"
                             / "swish_plugin__fp32__tiny.candidate.npz")
    assert meta["side"] == "candidate" and {(k[0], k[1]) for k in raw} == {("1x256", "warm"), ("64x256", "warm")}


def test_plugin_sweeps_needs_the_records_of_the_filtered_states_only(tmp_path: Path) -> None:
    """A candidate folder with only swish_plugin's engine records (the device's `engines` step) and a latency
    table that also holds swish_plugin_naive: the filter decides which records are required."""
    import json

    import pandas as pd
    from trt_plugin_bench.report.rebuild import plugin_sweeps

    rows = [{"operator": op, "dtype": "fp32", "profile": "sweep", "shape": shape, "mode": mode}
            for op in ("relu", "swish_plugin", "swish_plugin_naive") for shape in ("1x1024", "64x1024")
            for mode in ("warm", "cold", "stream")]
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "latency.csv", index=False)
    (tmp_path / "engines").mkdir()
    (tmp_path / "engines" / "swish_plugin__fp32__sweep.build.json").write_text(json.dumps({"spec": {"operator": "swish_plugin"}}))
    sweeps = plugin_sweeps(tmp_path, ["warm", "cold"], "^swish_plugin/")
    assert [s.spec_json["operator"] for s in sweeps] == ["swish_plugin"]
    assert sorted(zip(sweeps[0].shapes, sweeps[0].modes)) == [((1, 1024), "cold"), ((1, 1024), "warm"),
                                                               ((64, 1024), "cold"), ((64, 1024), "warm")]
    with pytest.raises(RebuildError, match="swish_plugin_naive__fp32__sweep.build.json"):
        plugin_sweeps(tmp_path, ["warm", "cold"])


def _script_case_argvs(tmp_path: Path, cases: str = "same planted naive") -> dict[str, list[str]]:
    """The exact argv each case of workflow/scripts/verdict_gpu_check.sh hands `tpb.py`: its run_case function
    and its run_case lines run by bash, with `timeout` standing in to record the command line (the cases CASES
    names; the others leave no argv)."""
    text = GPU_CHECK_SCRIPT.read_text()
    lines = text.splitlines()
    start = lines.index("run_case() {")
    end = lines.index("}", start)
    calls = [ln for ln in lines if ln.startswith("run_case ")]
    assert [c.split()[1] for c in calls] == ["same", "planted", "naive"], calls
    out = tmp_path / "out"
    (out / "logs").mkdir(parents=True)
    script = "\n".join([
        "set -u", 'OUT="$1"; RES=results/verdict_gpu_check; CFG=workflow/scripts/verdict_gpu_check.yaml',
        "PERMILLE=25; TIME_S=0.2; ROUNDS=1; CASE_TIMEOUT=150; note() { :; }", f'CASES="{cases}"',
        'timeout() { shift; printf "%s\\0" "$@" > "$OUT/argv.$name"; }', *lines[start:end + 1], *calls])
    subprocess.run(["bash", "-c", script, "bash", str(out)], check=True, capture_output=True, text=True)
    argvs = {}
    for case in ("same", "planted", "naive"):
        if not (out / f"argv.{case}").is_file():
            continue
        argv = (out / f"argv.{case}").read_text().split("\0")[:-1]
        assert argv[:2] == ["python3", "workflow/scripts/tpb.py"], argv
        argvs[case] = argv[2:]
    return argvs


def test_gpu_check_script_argv_parses_with_the_cli_parser(tmp_path: Path) -> None:
    """verdict_gpu_check.sh's three cases through the CLI's own parser, as it hands them (H100 2026-12-07: the
    planted case's `--candidate-cmake-arg -DTPB_...` was argparse's "expected one argument", exit 2): the
    planted case carries its CMake argument, the naive case its kernel; main's join_dash_values takes the
    space form too."""
    from trt_plugin_bench.cli import build_parser, join_dash_values

    parser = build_parser()
    argvs = _script_case_argvs(tmp_path)
    parsed = {case: parser.parse_args(argv) for case, argv in argvs.items()}
    assert parsed["planted"].candidate_cmake_arg == ["-DTPB_PLANTED_SLOWDOWN_PERMILLE=25"]
    assert parsed["naive"].candidate_kernel == "naive" and parsed["naive"].candidate_cmake_arg == []
    for args in parsed.values():
        assert args.command == "verdict" and args.rebuild == "HEAD" and args.rebuild_time_s == pytest.approx(0.2)
    space = ["verdict", "--rebuild", "HEAD", "--candidate-cmake-arg", "-DA=1", "--candidate-cmake-arg=-DB=2"]
    assert parser.parse_args(join_dash_values(space)).candidate_cmake_arg == ["-DA=1", "-DB=2"]
    # a missing value is still argparse's error, not the next option swallowed
    assert join_dash_values(["verdict", "--candidate-cmake-arg", "--rebuild", "HEAD"])[1] == "--candidate-cmake-arg"


def test_gpu_check_script_runs_only_the_cases_named(tmp_path: Path) -> None:
    """CASES="same planted" (a device session short of time) runs those two and not the naive case."""
    assert sorted(_script_case_argvs(tmp_path, "same planted")) == ["planted", "same"]


def test_gpu_check_script_refuses_a_case_it_does_not_know(tmp_path: Path) -> None:
    """A misspelt CASES word is an error naming it, before anything is written, not a check that runs nothing."""
    out = tmp_path / "out"
    run = subprocess.run(["bash", str(GPU_CHECK_SCRIPT), str(out)], capture_output=True, text=True,
                         env={**os.environ, "CASES": "same planed"})
    assert run.returncode == 2 and "CASES: 'planed' is no case" in run.stderr, run.stderr
    assert not out.exists()


def test_medians_exactly_two_timer_steps_apart_are_the_clocks_grain_not_a_change() -> None:
    """The same code rebuilt, H100 2026-12-07: fp16 256 elements cold, baseline 3.8719999 µs and candidate
    3.9360002 µs (float32 event times, 121 and 123 steps of 32 ns): ratio 1.0165289917 beside a band of two steps,
    0.0165289260: "SLOW" by 6e-8. Two steps are the clock's grain; three are a change."""
    tick = 0.032
    rng = np.random.default_rng()

    def state(cand_steps: int) -> InterleavedState:
        st = InterleavedState(("swish_plugin", "fp16", "sweep", "1x256", "cold"), 256, "tensorrt")
        def steps(at: int) -> np.ndarray:  # float32 event times: at steps, but for a few one step either side
            return (rng.choice([at - 1, at, at + 1], 300, p=[0.02, 0.96, 0.02]) * tick).astype(np.float32)

        for _ in range(2):  # two rounds: the candidate, the baseline and its A/A second build
            st.add(steps(cand_steps), steps(121), steps(121))
        return st

    (two,), _ = judge_interleaved([state(123)], SETTINGS)
    assert two.band_from == "resolution" and two.verdict == "SAME", (two.ratio, two.ci_low, two.ci_high, two.band)
    (three,), _ = judge_interleaved([state(124)], SETTINGS)
    assert three.verdict == "SLOW", (three.ratio, three.ci_low, three.ci_high, three.band)
