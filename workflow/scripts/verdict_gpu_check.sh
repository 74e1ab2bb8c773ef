#!/usr/bin/env bash
# The verdict method checked on a GPU (issue 28), in about 5 minutes of GPU time, scripted for one shot:
#   1. identical source rebuilt  -> `verdict --rebuild HEAD`                      (target: SAME in >= 95 % of states)
#   2. a planted small slowdown  -> ... --candidate-cmake-arg=-DTPB_PLANTED_SLOWDOWN_PERMILLE=$PERMILLE
#                                   (target: SLOW in >= 90 % of states >= 1 MiB, never FAST)
#   3. the naive kernel          -> ... --candidate-kernel naive                  (target: SLOW in every state >= 1 MiB)
# for swish_plugin fp32 + fp16, six sizes of 1 KiB .. 256 MiB, warm and cold (workflow/scripts/verdict_gpu_check.yaml),
# each run's wall time measured. A short table goes to stdout; everything (verdict.md/csv/png per case, logs,
# summary.md with GPU, driver and TensorRT) to OUT, a folder to commit under docs/runs/.
#
#   . /opt/trtkit/env.sh     # the trt-kit environment (python3 with TensorRT)
#   bash workflow/scripts/verdict_gpu_check.sh docs/runs/h100-$(date +%F)-verdict
#
# Environment: PERMILLE (default 20: the planted slowdown, about PERMILLE/1000 of each launch's timed latency: where the
# launch's input + output exceed the L2 it re-reads and re-writes the first PERMILLE/1000 of its tensor (that much more
# DRAM traffic), else each thread spins PERMILLE/1000 of its own work's cycles and, in the grid's last wave, of a
# launch allowance; swishPluginKernel.cu says why, with the H100's numbers of the three plants before),
# CASES (default "same planted naive": which of the three verdicts to run; a case left out is marked so in the table),
# TIME_S (0.2: seconds per state and sampler round), ROUNDS (2, the project's verdict.remeasure_rounds; 1 until
# 2026-12-07: re-measurement rounds), CASE_TIMEOUT (150 s per case: the three fit one 10-minute device call).
# Before any timing, swish_kernel_check runs against kernels built with the plant (their outputs must be unchanged,
# in place and out of place): its last line goes to the summary.
# The baseline "HEAD" is this tree's plugin/: from git where HEAD resolves, else copied (a GPU machine's copy).
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-docs/runs/verdict-gpu-check-$(date +%F)}
CFG=workflow/scripts/verdict_gpu_check.yaml
RES=results/verdict_gpu_check
PERMILLE=${PERMILLE:-20}
TIME_S=${TIME_S:-0.2}
ROUNDS=${ROUNDS:-2}  # each round 2x-8x TIME_S for the few AMBIGUOUS states only: seconds
CASE_TIMEOUT=${CASE_TIMEOUT:-150}
CASES=${CASES:-same planted naive}
for name in $CASES; do
  case $name in same|planted|naive) ;; *) echo "verdict_gpu_check.sh: CASES: '$name' is no case; allowed: same planted naive" >&2; exit 2;; esac
done
mkdir -p "$OUT/logs"
T0=$(date +%s)
note() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/logs/steps.txt"; }
# trt-kit's python3 is a wrapper that sources /opt/trtkit/env.sh again (PYTHONPATH=/opt/trtkit/site): an exported
# PYTHONPATH never reaches the interpreter, so each snippet below that imports trt_plugin_bench puts this tree's
# workflow/ on sys.path itself (as tpb.py and the Snakefile do; tests/test_misc.py checks every snippet of the device scripts)

# -- the baseline's source: git's HEAD, or this tree's plugin/ prepared as "HEAD" (no git here) --------------
if ! git rev-parse --verify --quiet HEAD > /dev/null 2>&1; then
  python3 - <<'PY' 2>&1 | tee -a "$OUT/logs/steps.txt"
import hashlib, json, shutil
from pathlib import Path
root = Path("results/verdict/rebuild")
files = sorted(p for p in Path("plugin").rglob("*") if p.is_file() and not {"build", "__pycache__"} & set(p.parts))
h = hashlib.sha1()
for f in files:
    h.update(str(f).encode() + b"\0" + f.read_bytes())
sha = h.hexdigest()
if not (root / sha / "src" / "plugin" / "CMakeLists.txt").is_file():
    shutil.copytree("plugin", root / sha / "src" / "plugin", ignore=shutil.ignore_patterns("build", "__pycache__"))
names = {}
try:
    names = json.loads((root / "revs.json").read_text())
except (OSError, ValueError):
    pass
names["HEAD"] = sha
(root / "revs.json").write_text(json.dumps(names, indent=2))
print(f"no git here: this tree's plugin/ prepared as HEAD ({sha[:12]})")
PY
fi

# -- CPU work first, at once: the pipeline's compile + the candidate's engines + the device facts (snakemake),
#    and the three rebuilt libraries (baseline, its A/A second build, the planted candidate) ---------------------
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
python3 - "$arch" "$PERMILLE" > "$OUT/logs/prebuild.log" 2>&1 <<'PY' &
import sys, time
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, str(Path("workflow").resolve()))  # the repository root is the working directory
from trt_plugin_bench.core.operators import get_operator
from trt_plugin_bench.report.rebuild import build_all, candidate_source, locate_source
t = time.time()
root = Path("results/verdict/rebuild")
base = locate_source("HEAD", Path("."), root)
base = replace(base, target=get_operator("swish_plugin").plugin.library.target)
# the candidates, each built as the baseline is: this tree's plugin/ as it is, and with the plant
same = replace(candidate_source(Path("plugin"), (), root), target=base.target)
cand = replace(candidate_source(Path("plugin"), (f"-DTPB_PLANTED_SLOWDOWN_PERMILLE={sys.argv[2]}",), root), target=base.target)
for lib in build_all([base, base.second_build(), same, cand], sys.argv[1]):
    print("built", lib)
print(f"prebuild {time.time() - t:.0f} s")
PY
PREBUILD=$!
note "prebuild started (baseline, A/A second build, the candidate and the planted candidate; arch $arch)"
# the planted kernels' correctness check, built beside (CPU); the image's cmake is a Python wheel: no PYTHONHOME/PYTHONPATH
PK=$(mktemp -d -t tpb-planted-kernels.XXXXXX)  # a folder of its own (tests/test_misc.py: no fixed temporary names)
# with the plant's L2 at 1 MiB, so that the check's cases take both halves, in place and out of place: the traffic half
# above 128 Ki elements of fp32 (input + output beyond 1 MiB), the latency half below (the timed candidate keeps 50 MiB)
{ env -u PYTHONHOME -u PYTHONPATH cmake -S plugin -B "$PK" -DTPB_KERNELS_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DCMAKE_BUILD_TYPE=Release -DTPB_PLANTED_SLOWDOWN_PERMILLE="$PERMILLE" -DCMAKE_CUDA_FLAGS=-DTPB_PLANTED_SLOWDOWN_L2_MIB=1 \
  && env -u PYTHONHOME -u PYTHONPATH cmake --build "$PK" -j 4 --target swish_kernel_check; } \
  > "$OUT/logs/planted_kernels_build.log" 2>&1 &
PKBUILD=$!
python3 -m snakemake --cores 16 --configfile "$CFG" -- "$RES/build/manifest.json" \
  "$RES/engines/swish_plugin__fp32__sweep.build.json" "$RES/engines/swish_plugin__fp16__sweep.build.json" \
  "$RES/calibration/device.json" > "$OUT/logs/snakemake.log" 2>&1
note "snakemake (compile, 2 engines, calibrate) rc=$?"
wait $PREBUILD
note "prebuild rc=$?: $(tail -1 "$OUT/logs/prebuild.log")"
if wait $PKBUILD; then
  timeout 120 "$PK/swish_kernel_check" > "$OUT/logs/planted_kernel_check.log" 2>&1
  note "planted kernel check (PERMILLE=$PERMILLE) rc=$?: $(tail -1 "$OUT/logs/planted_kernel_check.log")"
else
  echo "swish_kernel_check: the planted build failed (logs/planted_kernels_build.log)" > "$OUT/logs/planted_kernel_check.log"
  note "planted kernels build FAILED: $(tail -3 "$OUT/logs/planted_kernels_build.log" | tr '\n' ' ')"
fi

# -- the candidate folder --rebuild reads: the states to time (tables/latency.csv: no separate sweep needed, the
#    verdict times every state itself), the device facts, the engines' build records, the build manifest -------
python3 - "$RES" "$CFG" <<'PY' 2>&1 | tee -a "$OUT/logs/steps.txt"
import json, shutil, sys
from pathlib import Path
import pandas as pd
import yaml
res, cfg = Path(sys.argv[1]), yaml.safe_load(Path(sys.argv[2]).read_text())
(res / "tables").mkdir(parents=True, exist_ok=True)
shutil.copy(res / "calibration" / "device.json", res / "tables" / "device.json")
rows = [{"operator": op, "dtype": dt, "profile": prof, "shape": "x".join(map(str, shape)), "mode": mode,
         "backend": "tensorrt"}
        for op in cfg["operators"] for dt in cfg["dtypes"] for prof, p in cfg["profiles"].items()
        for shape in p["shapes"] for mode in cfg["timing"]["modes"]]
pd.DataFrame(rows).to_csv(res / "tables" / "latency.csv", index=False)
dev = json.loads((res / "tables" / "device.json").read_text())
print(f"candidate folder: {len(rows)} states; {dev.get('device_name')}, driver {dev.get('driver_version')}, "
      f"TensorRT {dev.get('tensorrt_version')}")
PY

# -- the three verdicts, each timed ------------------------------------------------------------------------
run_case() {
  local name=$1; shift
  if [[ " $CASES " != *" $name "* ]]; then
    note "case $name not run (CASES=$CASES)"
    return
  fi
  local start=$(date +%s)
  timeout "$CASE_TIMEOUT" python3 workflow/scripts/tpb.py verdict --candidate "$RES" --rebuild HEAD --config "$CFG" \
    --rebuild-time-s "$TIME_S" --remeasure-rounds "$ROUNDS" --resamples 1000 --out-dir "$OUT/$name" "$@" > "$OUT/logs/$name.log" 2>&1
  local rc=$?
  echo "$name $rc $(( $(date +%s) - start ))" >> "$OUT/logs/walltimes.txt"
  note "case $name rc=$rc wall $(( $(date +%s) - start )) s: $(grep -m1 '^verdict:' "$OUT/logs/$name.log")"
}
rm -f "$OUT/logs/walltimes.txt"
run_case same
run_case planted "--candidate-cmake-arg=-DTPB_PLANTED_SLOWDOWN_PERMILLE=$PERMILLE"  # the = form: the value starts with -
run_case naive --candidate-kernel naive

# -- the table ---------------------------------------------------------------------------------------------
python3 - "$OUT" "$PERMILLE" "$RES/tables/device.json" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
import pandas as pd
out, permille, dev = Path(sys.argv[1]), sys.argv[2], json.loads(Path(sys.argv[3]).read_text())
walls = {}
for line in (out / "logs" / "walltimes.txt").read_text().splitlines():
    name, rc, wall = line.split()
    walls[name] = (int(rc), int(wall))
print(f"# Verdict method on the GPU (issue 28): {dev.get('device_name')}, driver {dev.get('driver_version')}, "
      f"TensorRT {dev.get('tensorrt_version')}, CUDA {dev.get('cuda_version')}\n")
print("swish_plugin fp32 + fp16, 6 sizes 1 KiB .. 256 MiB (fp32), warm and cold; `verdict --rebuild HEAD` "
      "(A/A control: a second, independent build of the baseline)\n")
print("| case | wall s | rc | states | SAME | SLOW | FAST | AMBIGUOUS | FAIL | states >= 1 MiB: SLOW | median ratio >= 1 MiB "
      "| target | met |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|")
for name, target in (("same", "SAME >= 95 %"), ("planted", "SLOW >= 90 % of >= 1 MiB, no FAST"),
                     ("naive", "SLOW in every state >= 1 MiB")):
    if name not in walls:
        print(f"| {name} | - | - | - | - | - | - | - | - | - | - | {target} | not run (CASES) |")
        continue
    rc, wall = walls[name]
    csv = out / name / "verdict.csv"
    if not csv.is_file():
        print(f"| {name} | {wall} | {rc} | - | - | - | - | - | - | - | - | {target} | no verdict.csv |")
        continue
    t = pd.read_csv(csv)
    size = {"fp32": 4, "fp16": 2, "bf16": 2}
    t["bytes"] = t["elements"] * t["dtype"].map(size)
    big = t[t["bytes"] >= 1 << 20]
    n = {v: int((t["verdict"] == v).sum()) for v in ("SAME", "SLOW", "FAST", "AMBIGUOUS", "FAIL")}
    if name == "same":
        met = n["SAME"] >= 0.95 * len(t) and n["FAIL"] == 0
    elif name == "planted":
        met = (big["verdict"] == "SLOW").sum() >= 0.9 * len(big) and n["FAST"] == 0
    else:
        met = len(big) > 0 and (big["verdict"] == "SLOW").all()
    print(f"| {name} | {wall} | {rc} | {len(t)} | {n['SAME']} | {n['SLOW']} | {n['FAST']} | {n['AMBIGUOUS']} | "
          f"{n['FAIL']} | {(big['verdict'] == 'SLOW').sum()} of {len(big)} | {big['ratio'].median():.4f} | {target} | "
          f"{'yes' if met else 'NO'} |")
print(f"\nplanted: -DTPB_PLANTED_SLOWDOWN_PERMILLE={permille} (each launch: where its input + output exceed the L2, "
      f"the first {permille} permille of its tensor read and written again, that much more DRAM traffic; else each thread "
      f"spins {permille} permille of its own work's cycles and, in the grid's last wave, of a launch allowance; the output "
      "unchanged; the ratio column of planted/verdict.csv is the effect measured per state)")
check = out / "logs" / "planted_kernel_check.log"
lines = check.read_text().strip().splitlines() if check.is_file() else []
print(f"\nplanted kernels' correctness (swish_kernel_check built with the plant): {lines[-1] if lines else 'not run'}")
csv = out / "planted" / "verdict.csv"
if csv.is_file():
    t = pd.read_csv(csv)
    t["cell"] = t["ratio"].map("{:.4f}".format) + " " + t["verdict"]
    cells = t.pivot_table(index=["dtype", "elements"], columns="mode", values="cell", aggfunc="first")
    print("\nplanted, candidate ÷ baseline and verdict per state (expected: about 1 + PERMILLE/1000 at every size)\n")
    print("| dtype | elements | " + " | ".join(cells.columns) + " |")
    print("|---|---:|" + "---|" * len(cells.columns))
    for (dtype, elements), row in cells.iterrows():
        print(f"| {dtype} | {elements} | " + " | ".join(str(v) for v in row) + " |")
    # the states beyond the L2 (device.json): the plant's traffic half
    l2 = int(dev.get("l2_bytes") or 50 << 20)
    size = {"fp32": 4, "fp16": 2, "bf16": 2}
    beyond = t[2 * t["elements"] * t["dtype"].map(size) > l2]
    print(f"\nplanted, states whose input + output exceed the L2 ({l2 >> 20} MiB): SLOW in "
          f"{(beyond['verdict'] == 'SLOW').sum()} of {len(beyond)}, FAST in {(beyond['verdict'] == 'FAST').sum()}, "
          f"median ratio {beyond['ratio'].median():.4f}")
PY
note "done: $OUT (summary.md, same/ planted/ naive/, logs/)"
