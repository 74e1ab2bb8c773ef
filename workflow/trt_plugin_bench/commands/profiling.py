"""The profile rule: Nsight Compute (ncu) over the plugin's kernel at one shape, nsys where present.

A missing profiler is a skip with the reason recorded, never a failure of the pipeline.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

from ..core.config import TPB_SCRIPT
from ..core.operators import from_ref
from ..core.records import ProfileRow, shape_str
from ..core.settings import Settings
from .sweeps import log

NCU_METRICS = {
    "gpu__time_duration.sum": ("kernel_duration_us", 1e-3, "us"),
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": ("dram_throughput_pct", 1.0, "%"),
    "sm__warps_active.avg.pct_of_peak_sustained_active": ("achieved_occupancy_pct", 1.0, "%"),
    # threads active per executed instruction (0..32): as a percentage, warp execution efficiency
    "smsp__thread_inst_executed_per_inst_executed.ratio": ("warp_execution_efficiency_pct", 100.0 / 32.0, "%"),
}


def parse_ncu_csv(text: str) -> list[dict[str, str]]:
    """Rows of `ncu --csv --page raw` output (header, units row, then one row per kernel)."""
    lines = [ln for ln in text.splitlines() if ln.startswith('"')]
    if len(lines) < 3:
        return []
    reader = list(csv.DictReader(io.StringIO("\n".join(lines))))
    return reader[1:]  # the first data row holds the units


def run_profile(settings: Settings, backend_name: str, op: str, dtype: str, profile: str, engine_path: Path,
                manifest_path: Path | None, out_dir: Path) -> list[ProfileRow]:
    shape = tuple(settings.profile.shape)  # config profile.shape: required when profile.enabled
    spec = from_ref(op)  # op: a name, or an external operator's spec file (dag.op_arg); its rows carry the name
    base = dict(backend=backend_name, operator=spec.name, dtype=dtype, profile=profile, shape=shape_str(shape))
    ncu = shutil.which("ncu")
    target = [sys.executable, str(TPB_SCRIPT), "profile-target", "--backend", backend_name,
              "--engine", str(engine_path), "--shape", ",".join(map(str, shape))]
    if manifest_path is not None:
        target += ["--manifest", str(manifest_path)]
    rows: list[ProfileRow] = []
    if ncu is None:
        log("ncu is not on PATH: profile skipped")
        rows.append(ProfileRow(**base, kernel_name="", metric="skipped", value=float("nan"), unit="", tool="ncu not on PATH"))
    else:
        cmd = [ncu, "--target-processes", "all", "-k", spec.ncu_kernels,
               "-s", "3", "-c", "1", "--metrics", ",".join(NCU_METRICS), "--csv", "--page", "raw",
               "--print-units", "base", "--clock-control", "none", *target]
        log("$ " + " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        (Path(out_dir) / "ncu.txt").write_text(proc.stdout + "\n" + proc.stderr)
        parsed = parse_ncu_csv(proc.stdout)
        if proc.returncode != 0 or not parsed:
            raise RuntimeError(f"ncu exited {proc.returncode} with no metrics: {proc.stderr.strip()[-1500:]}")
        row = parsed[-1]
        for metric, (name, scale, unit) in NCU_METRICS.items():
            value = float(row[metric].replace(",", "")) * scale if row.get(metric) not in (None, "", "n/a") else float("nan")
            rows.append(ProfileRow(**base, kernel_name=row.get("Kernel Name", ""), metric=name, value=value, unit=unit, tool="ncu"))
            log(f"ncu {name} = {value:.3f} {unit}")
    nsys = shutil.which("nsys")
    if nsys is None:
        rows.append(ProfileRow(**base, kernel_name="", metric="nsys", value=float("nan"), unit="", tool="nsys not on PATH: skipped"))
    else:
        report = Path(out_dir) / "nsys_report"
        proc = subprocess.run([nsys, "profile", "-o", str(report), "--force-overwrite", "true", *target],
                              capture_output=True, text=True, timeout=900)
        status = "ok" if proc.returncode == 0 else f"failed ({proc.returncode})"
        rows.append(ProfileRow(**base, kernel_name="", metric="nsys", value=float(proc.returncode == 0), unit="",
                               tool=f"nsys {status}: {report}"))
    return rows


def profile_target(backend_name: str, engine_path: Path, manifest_path: Path | None, shape: tuple[int, ...], runs: int = 8) -> None:
    """The process the profilers wrap: a few inferences at one shape."""
    from ..backends import get_backend
    from .sweeps import plugin_library_from_manifest

    backend = get_backend(backend_name)
    engine = backend.load(engine_path, plugin_library_from_manifest(manifest_path))
    # "stream" (idle start): a profiler serializes launches, so a blocking kernel would only wait
    # for its timeout
    with engine.timer(shape, "stream", seed=3, verify_max_elements=1 << 26) as timer:
        check = timer.verify()
        if not check.ok:
            raise RuntimeError(f"profile target computes wrong values: {check.message}")
        for _ in range(runs):
            timer.sample()
    engine.close()
