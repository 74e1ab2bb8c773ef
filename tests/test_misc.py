"""Small pieces: figures, the ncu CSV parser, GPU slot assignment, the DAG plan."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pandas as pd
import pytest
from trt_plugin_bench.commands import dag
from trt_plugin_bench.commands.profiling import parse_ncu_csv
from trt_plugin_bench.device import gpu_slot
from trt_plugin_bench.report.figures import draw_all
from typed import typed

DEVICE = {"backend": "reference", "backend_label": "reference backend (CPU, numpy) - CPU timings, not TensorRT",
          "device_name": "CPU", "driver_version": "n/a", "tensorrt_version": "n/a", "date": "2026-11-24",
          "timing_clock": "cpu_perf_counter", "l2_bytes": 0}


def test_no_data_draws_no_placeholder(tmp_path: Path) -> None:
    assert draw_all({}, DEVICE, tmp_path) == [] and not list(tmp_path.glob("*.png"))


def test_figures_from_rows(tmp_path: Path) -> None:
    lat = pd.DataFrame([dict(operator=op, dtype="fp32", profile="p", shape=f"{n}", elements=n, bytes_moved=8 * n,
                             mode=mode, repeat=0, median_us=1 + n / 1e3 * (1.1 if op == "swish_plugin" else 1.0),
                             bandwidth_gbs=8 * n / (1 + n / 1e3) / 1e3, pct_of_copy_ceiling=10.0, backend="reference")
                        for op in ("swish_plugin", "swish_native") for n in (1024, 65536) for mode in ("warm", "cold")])
    cal = pd.DataFrame([dict(measurement="copy", bytes=2 << 20, bandwidth_gbs=90.0, median_us=20.0),
                        dict(measurement="empty_launch", bytes=0, bandwidth_gbs=0.0, median_us=1.0)])
    paths = draw_all({"latency": lat, "calibration": cal}, DEVICE, tmp_path)
    assert all(p.exists() for p in paths)


NCU_SAMPLE = '''==PROF== Connected to process 123
"ID","Process ID","Kernel Name","dram__throughput.avg.pct_of_peak_sustained_elapsed","gpu__time_duration.sum","sm__warps_active.avg.pct_of_peak_sustained_active","smsp__thread_inst_executed_per_inst_executed.ratio"
"","","","%","ns","%",""
"0","123","swishVectorizedKernel","91.5","1,234","85.2","31.9"
'''


def test_parse_ncu_csv() -> None:
    [row] = parse_ncu_csv(NCU_SAMPLE)
    assert row["Kernel Name"] == "swishVectorizedKernel"
    assert row["gpu__time_duration.sum"] == "1,234"
    assert parse_ncu_csv("==PROF== nothing") == []


def _take_slot(lock_dir: str, barrier, out) -> None:  # noqa: ANN001 - multiprocessing objects
    gpu_slot.gpu_count = lambda: 2
    with gpu_slot.gpu_slot(Path(lock_dir)) as slot:
        out.put(slot.device)
        barrier.wait(timeout=20)  # both hold a slot at the same time


def test_gpu_slots_are_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two concurrent GPU jobs (processes) on a 2-GPU host get different devices."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_take_slot, args=(str(tmp_path), barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert sorted([out.get(timeout=5), out.get(timeout=5)]) == ["0", "1"]


def test_plan_skips_what_tensorrt_86_cannot_build() -> None:
    two = "profiles={a: {min: [1], opt: [2], max: [4], shapes: [[2]]}, b: {min: [1], opt: [2], max: [4], shapes: [[2]]}}"
    cfg = typed("operators=[relu, swish_plugin_v3]", "dtypes=[fp32, bf16]", two, "compare.pairs=[]", "compare.extra_shapes={}")
    keys, skipped = dag.plan_sweeps(cfg, "tensorrt", 8)
    assert keys == ["relu__fp32__a", "relu__fp32__b"]
    assert len(skipped) == 3 and all("TensorRT >= 10" in s for s in skipped)
    keys10, skipped10 = dag.plan_sweeps(cfg, "tensorrt", 10)
    assert len(keys10) == 8 and skipped10 == []
    assert len(dag.plan_sweeps(cfg, "reference", None)[0]) == 8
    assert dag.thread_keys(cfg, keys) == ["relu__fp32__a"]


def test_thread_engines_get_one_profile_per_thread() -> None:
    two = "profiles={a: {min: [1], opt: [2], max: [4], shapes: [[2]]}, b: {min: [1], opt: [2], max: [4], shapes: [[2]]}}"
    cfg = typed(two, "threads.counts=[1, 8]", "threads.profile=b", "builder.workspace_mib=64", "compare.extra_shapes={}")
    assert cfg.engine_builder("a") == cfg.builder
    assert (cfg.engine_builder("b").workspace_mib, cfg.engine_builder("b").profiles_per_engine) == (64, 8)


def test_only_tensorrt_native_operators_may_flush_denormals() -> None:
    from trt_plugin_bench.backends.reference import ReferenceEngine
    from trt_plugin_bench.commands.sweeps import make_spec
    from trt_plugin_bench.core.operators import OPERATORS

    assert {op for op, spec in OPERATORS.items() if spec.tensorrt_layers} == \
        {op for op, spec in OPERATORS.items() if spec.implementation == "native"}  # relu, swish_native, the twins of ops/
    assert {"relu", "swish_native"} <= {op for op, spec in OPERATORS.items() if spec.tensorrt_layers}
    cfg = typed()
    for op in OPERATORS:  # numpy never flushes, whichever operator the CPU engine stands for
        assert not ReferenceEngine(make_spec(cfg, op, "fp32", "tiny")).tensorrt_layers


def test_plugin_kernel_resolution() -> None:
    assert dag.plugin_kernel("swish_plugin", typed("plugin_kernel=vectorized"), "fp32") == "vectorized"
    assert dag.plugin_kernel("swish_plugin", typed(), "fp16") == "auto"  # the schema's default
    assert dag.plugin_kernel("swish_plugin_naive", typed("plugin_kernel=vectorized"), "fp32") == "naive"
    assert dag.plugin_kernel("relu", typed(), "fp32") == ""
    per_dtype = typed("plugin_kernel={fp32: vectorized_oneshot_x2_b128, fp16: vectorized_oneshot_x1}")
    assert dag.plugin_kernel("swish_plugin", per_dtype, "fp32") == "vectorized_oneshot_x2_b128"
    assert dag.plugin_kernel("swish_plugin_v3", per_dtype, "fp16") == "vectorized_oneshot_x1"
    assert dag.plugin_kernel("swish_plugin", per_dtype, "bf16") == "vectorized_oneshot"  # left out: the default


def test_compare_targets_and_expected_disagreements() -> None:
    import math

    import pandas as pd
    from trt_plugin_bench.report.analysis import compare_targets, expected_disagreements

    rows = pd.DataFrame({
        "operator_a": ["swish_plugin"] * 4, "operator_b": ["swish_native"] * 4, "dtype": ["fp32"] * 4,
        "profile": ["sweep"] * 4, "elements": [1024, 4096, 262144, 1048576],
        "tensor_bytes": [4096, 16384, 1 << 20, 4 << 20],
        "ratio": [1.30, 1.10, 1.00, 1.001], "difference_us": [0.9, 1.2, 0.0, 0.05],
    })
    c = compare_targets(rows)
    # below 1 MiB: within 1 us of native; from 1 MiB: no slower than native
    assert c["meets_target"].tolist() == [True, False, True, False]
    assert c["target"].tolist()[1:3] == ["difference <= 1 us", "ratio <= 1.00"]
    assert expected_disagreements(1000) == pytest.approx(1000 * math.erfc(3 / math.sqrt(2)))
    assert 2.6 < expected_disagreements(1000) < 2.8


def test_compare_keys_need_both_engines() -> None:
    cfg = typed("dtypes=[fp32, bf16]", "compare.pairs=[[swish_plugin, swish_native]]")
    keys = ["swish_plugin__fp32__tiny", "swish_native__fp32__tiny", "swish_native__bf16__tiny"]
    assert dag.compare_keys(cfg, keys) == ["swish_plugin__vs__swish_native__fp32__tiny"]
    assert dag.compare_keys(typed("compare.enabled=false"), keys) == []


def test_quiet_host_pins_and_restores() -> None:
    import gc
    import os

    from trt_plugin_bench.device.host import quiet_host

    before = os.sched_getaffinity(0)
    with quiet_host(pin=True) as cpu:
        assert os.sched_getaffinity(0) == {cpu} and cpu == max(before)
        assert not gc.isenabled()
    assert os.sched_getaffinity(0) == before and gc.isenabled()
    with quiet_host(pin=False) as cpu:
        assert cpu is None and os.sched_getaffinity(0) == before


def test_pick_kernel_minimises_the_worst_slowdown() -> None:
    from trt_plugin_bench.report.analysis import pick_kernel

    rows = []
    # a is best at large sizes, b at small ones by a lot, c never best but never far behind
    times = {("a", 1 << 18): 10.0, ("a", 1 << 24): 100.0, ("b", 1 << 18): 7.0, ("b", 1 << 24): 130.0,
             ("c", 1 << 18): 7.5, ("c", 1 << 24): 104.0, ("a", 1 << 10): 1.0, ("b", 1 << 10): 9.0, ("c", 1 << 10): 9.0}
    for (kernel, n), t in times.items():
        for mode, scale in (("cold", 1.0), ("warm", 0.5)):
            rows.append({"kernel": kernel, "dtype": "fp32", "elements": n, "bytes_moved": 8 * n, "mode": mode,
                         "median_us": t * scale})
    kernel, slowdown = pick_kernel(pd.DataFrame(rows))
    assert kernel == "c"  # worst 1.07x; a is 1.43x behind at 1 MiB, b 1.3x at 64 MiB; 4 KiB is below the floor
    assert slowdown.loc[("fp32", 1 << 18), "a"] == pytest.approx(10 / 7)
    with pytest.raises(ValueError, match="no cold rows"):
        pick_kernel(pd.DataFrame(rows), min_tensor_bytes=1 << 40)


def test_copy_ceiling_ignores_buffers_that_fit_in_l2() -> None:
    from trt_plugin_bench.report.analysis import copy_ceiling

    cal = pd.DataFrame({"measurement": ["copy", "copy", "copy", "empty_kernel"],
                        "bytes": [2 * (16 << 20), 2 * (256 << 20), 2 * (2048 << 20), 0],
                        "bandwidth_gbs": [3472.0, 2984.0, 3010.0, 0.0]})
    # H100: 50 MiB of L2; the 16 MiB copy ran in the cache
    assert copy_ceiling(cal, 50 << 20) == 3010.0
    assert copy_ceiling(cal, 1 << 40) == 3010.0  # none beyond 4x L2: the largest buffer
    assert copy_ceiling(cal.iloc[3:], 50 << 20) is None


def test_pick_kernels_per_dtype() -> None:
    from trt_plugin_bench.report.analysis import pick_kernels_per_dtype

    rows = [{"kernel": k, "dtype": d, "elements": 1 << 22, "bytes_moved": 2 * (1 << 22) * 4, "mode": "cold",
             "median_us": t} for (k, d), t in {("a", "fp32"): 10.0, ("b", "fp32"): 9.0,
                                               ("a", "fp16"): 5.0, ("b", "fp16"): 6.0}.items()]
    assert pick_kernels_per_dtype(pd.DataFrame(rows)) == {"fp16": "a", "fp32": "b"}


def test_copy_ceiling_takes_the_faster_of_memcpy_and_the_copy_kernel() -> None:
    from trt_plugin_bench.report.analysis import copy_ceiling

    cal = pd.DataFrame({"measurement": ["copy", "copy_kernel", "copy_kernel"],
                        "bytes": [2 * (2048 << 20), 2 * (2048 << 20), 2 * (16 << 20)],
                        "bandwidth_gbs": [3010.0, 3041.0, 3600.0]})
    assert copy_ceiling(cal, 50 << 20) == 3041.0


def test_copy_ceiling_counts_the_1024_thread_copy_and_nothing_else() -> None:
    from trt_plugin_bench.report.analysis import copy_ceiling

    big = 2 * (2048 << 20)
    cal = pd.DataFrame({"measurement": ["copy", "copy_kernel", "copy_kernel_b1024", "empty_kernel"],
                        "bytes": [big, big, big, big], "bandwidth_gbs": [3024.1, 3032.0, 3055.8, 9999.0]})
    assert copy_ceiling(cal, 50 << 20) == 3055.8
    # issue 28: the copies timed after the cold mode's flush count too (the cold states' conditions)
    cold = pd.concat([cal, pd.DataFrame({"measurement": ["copy_kernel_b1024_cold", "empty_kernel_cold"],
                                         "bytes": [big, big], "bandwidth_gbs": [3081.0, 9999.0]})])
    assert copy_ceiling(cold, 50 << 20) == 3081.0


def test_summary_says_what_the_run_left_out(tmp_path: Path) -> None:
    from trt_plugin_bench.report.summary import write_summary

    device = {"backend": "tensorrt", "backend_label": "TensorRT 8.6.1", "device_name": "a GPU", "driver_version": "1",
              "cuda_version": "13.0", "tensorrt_version": "8.6.1", "timing_clock": "cuda events",
              "skipped": ["swish_plugin_v3/fp32: swish_plugin_v3 needs TensorRT >= 10 (IPluginV3); this is 8",
                          "relu/bf16: bf16 needs TensorRT >= 10; this is 8"]}
    write_summary(tmp_path, device, tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text()
    assert "## Left out" in text
    assert "- relu/bf16: bf16 needs TensorRT >= 10; this is 8" in text
    write_summary(tmp_path, {**device, "skipped": []}, tmp_path / "summary.md")
    assert "Combinations this backend cannot build" not in (tmp_path / "summary.md").read_text()


def test_no_fixed_temporary_names_in_the_sources() -> None:
    """Issue 26 item 10: a fixed /tmp name is shared by every run and user of a machine (stale
    engines or headers picked up, one run's files under another's). The probes take a folder of
    their own (tempfile.mkdtemp), the tests their tmp_path, headers come from TENSORRT_INCLUDE_DIR.
    workflow/scripts/device_session.sh keeps its build folders from one device call to the next on
    a machine lent to one session, on purpose, and is left out; so is the cluster harness
    (workflow/scripts/cluster/harness.sh), whose state folder is the one instance's lock: it refuses to
    start while that folder exists (never reusing it) and removes it when it stops."""
    import re

    root = Path(__file__).resolve().parents[1]
    suffixes = {".py", ".sh", ".cmake", ".cpp", ".cu", ".h", ".smk", ".yaml", ".txt"}
    fixed = re.compile(r"/tmp/[A-Za-z0-9_.$-]")
    found = [f"{p.relative_to(root)}:{n}" for folder in ("workflow", "tests", "plugin", "examples")
             for p in sorted((root / folder).rglob("*"))
             if p.is_file() and p.suffix in suffixes and p.name not in ("device_session.sh", "harness.sh") and p != Path(__file__).resolve()
             for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if fixed.search(line)]
    assert found == [], found


def _shell_python_snippets() -> list[tuple[str, str]]:
    """The Python the device scripts (workflow/scripts/**/*.sh, plugin/probes/*.sh) hand python3: each
    ``python3 - ... <<'PY'`` heredoc and each ``python3 -c '...'`` one-liner, as (where, source)."""
    import re

    root = Path(__file__).resolve().parents[1]
    scripts = sorted([*(root / "workflow" / "scripts").rglob("*.sh"), *(root / "plugin" / "probes").glob("*.sh")])
    heredoc = re.compile(r"\bpython3?\b.*<<-?\s*'(\w+)'")
    one_liner = re.compile(r"\bpython3? -c '([^']*)'")
    out = []
    for script in scripts:
        lines = script.read_text().splitlines()
        for n, line in enumerate(lines):
            where = f"{script.relative_to(root)}:{n + 1}"
            out += [(where, m.group(1)) for m in one_liner.finditer(line)]
            m = heredoc.search(line)
            if m:
                end = lines.index(m.group(1), n + 1)
                out.append((where, "\n".join(lines[n + 1:end]) + "\n"))
    return out


def test_device_scripts_python_snippets_find_the_package_and_their_names() -> None:
    """trt-kit's python3 is a wrapper that sources its env.sh again (PYTHONPATH=/opt/trtkit/site), so a
    PYTHONPATH the script exports never reaches the interpreter (verdict_gpu_check.sh's prebuild on the H100,
    2026-12-07: "No module named 'trt_plugin_bench'"): every snippet that imports trt_plugin_bench puts
    workflow/ on sys.path first. And each compiles with no undefined name (device_session.sh's verdict step
    used os without importing it)."""
    import re
    import subprocess
    import sys

    snippets = _shell_python_snippets()
    assert len(snippets) >= 10 and any("verdict_gpu_check.sh" in w for w, _ in snippets)
    bad = []
    for where, source in snippets:
        compile(source, where, "exec")
        lines = source.splitlines()
        first = next((i for i, ln in enumerate(lines) if re.match(r"\s*(from|import) trt_plugin_bench\b", ln)), None)
        if first is not None and not any(re.match(r"\s*sys\.path\.insert\(0, .*workflow", ln) for ln in lines[:first]):
            bad.append(f"{where}: imports trt_plugin_bench without putting workflow/ on sys.path first")
        lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821,F822,F823",
                               "--output-format", "concise", "--stdin-filename", "snippet.py", "-"],
                              input=source, capture_output=True, text=True)
        if lint.returncode != 0:
            bad.append(f"{where}: {lint.stdout.strip() or lint.stderr.strip()}")
    assert bad == [], "\n".join(bad)


def test_no_host_to_device_copy_outside_the_launch_stream_in_the_cuda_sources() -> None:
    """A synchronous cudaMemcpy from pageable host memory returns once the bytes are staged, not when they land, and
    runs on the legacy stream, which a non-blocking stream's launch does not wait for. The row-norm kernel checks
    uploaded their inputs and the poisoned outputs that way: under load (the GPU suite and a DAG beside them) their
    kernels ran before the poison landed, and 12 and 110 states read as unwritten outputs (H100, 2026-12-07); alone, 0.
    Host-to-device copies go on the launch's stream (cudaMemcpyAsync), ordered before the launch."""
    import re

    root = Path(__file__).resolve().parents[1]
    bad = []
    for path in sorted((root / "plugin").rglob("*")):
        if path.suffix not in {".cu", ".cuh", ".h", ".cpp"} or "build" in path.parts:
            continue
        for m in re.finditer(r"cudaMemcpy\s*\(([^;]*?)\)\s*(?:\)|&&|;)", path.read_text()):
            if "cudaMemcpyHostToDevice" in m.group(1):
                bad.append(f"{path.relative_to(root)}: {' '.join(m.group(0).split())[:90]}")
    assert not bad, "\n".join(bad)
