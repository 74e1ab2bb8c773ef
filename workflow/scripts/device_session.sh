#!/usr/bin/env bash
# One session on a GPU machine with trt-kit (TensorRT 8.6): run from the repository root after
# `. /opt/trtkit/env.sh`. Steps (any order, several at once):
#   check  environment, kernel check + compute-sanitizer memcheck/racecheck, ptxas report, SASS widths
#   opschecks the kernel checks of the other operators (libtpb_ops_kernels: GELU, the row norms), every variant
#   (DAG_CONFIG=<config> with dag: that config's DAG instead of config.yaml's)
#   probe  after check: plugin/probes' variant probe (direct path, every shape) and ncu on three kernels
#   flush  the cold mode's two L2 flushes (timing.l2_flush clean / dirty) and warm, interleaved, for the
#          copy kernel and the Swish kernels at 256 MiB-1 GiB (workflow/scripts/probes.py cold-flush)
#   smoke  the GPU tests of the timing machinery only (a minute)
#   tests  the gpu pytest suite (tests/test_gpu.py, tests/test_gpu_plugin.py) and the host-only creator check against
#          $TENSORRT_INCLUDE_DIR (tests/test_plugin_host.py); more than one call's time: tests-a (test_gpu.py) in one
#          call, tests-b (the rest) in the next
#   suite  the GPU suite in 4 shards at once (workflow/scripts/gpu_suite.sh: tests/test_gpu.py, test_gpu_plugin.py,
#          test_gpu_in_network.py; a test that crashes its process is named and the rest go on; resumable: run the
#          step again in the next call to go on) and the host-only creator checks beside it; prefer it to tests
#          (2026-12-07: 141 tests, 91 of them in 6 minutes of 4 shards)
#   specs  issue 23's GPU tests (tests/test_gpu_specs.py, after tests: it reuses that build of plugin/):
#          the byo example's whole DAG with conformance, its broken copy failing exactly its two checks,
#          the overflowing scale plugin and the twins' flush in the accuracy table (about 8 minutes)
#   rerun  after dag: `snakemake -n` after a timing.* change and after a kernel-source edit
#   native after dag: Nsight Compute launch facts of TensorRT's fused kernel and the plugin's
#   dag    the whole DAG with the tensorrt backend (resumable: run again to continue after a timeout)
#   same   after dag: issue 23's "the same tables as before": this run's tables against the H100 reference
#          (workflow/scripts/compare_runs.py docs/runs/h100-2026-11-24d $RES/tables; exit 0 same, 1 differences,
#          2 bad input, e.g. another GPU model), the report as $OUT/compare_runs.md
#   verdict after dag (before pack: it measures the plugin's latency sweeps again in place): the verdict
#          command on this GPU (issue 14), the same code twice and the naive kernel as the change
#   rebuild after dag: `tpb verdict --rebuild` (issue 14's interleaved mode): HEAD (the same code twice: target
#          SAME in >= 95 % of states) and HEAD~1 (it must work), each baseline plugin rebuilt from its source and
#          timed against this tree's plugin/ (rebuilt the same way) in one process. This copy has no .git: prepare
#          the sources where git is and carry them (carry results/verdict/rebuild):
#            python3 workflow/scripts/tpb.py verdict --rebuild HEAD --prepare-only
#            python3 workflow/scripts/tpb.py verdict --rebuild HEAD~1 --prepare-only
#          REBUILD_PREV names another revision than HEAD~1 (one at or after the namespace option's commit).
#   runner the plugin library's loading (plain ctypes.CDLL, then initSwishPlugins, with TPB_PLUGIN_DEBUG)
#          and the native runner (plugin/runner) on the fp32 sweep engines: 1-8 threads, plain and graph
#   streams after dag: the launch-rate probe (no TensorRT: N threads launching a bare kernel, plain and
#          graph), then the DAG's native runner on the fp32 sweep engines, 1-8 threads, graphs of 1, 16 and
#          64 enqueues: where the host's launch path stops and the GPU's concurrency starts
#   conformance the conformance checks (issue 15) for every shipped operator and each bad-plugin flag:
#          builds the plugin, trt_runner and the fixture (-DTPB_BAD_PLUGINS=ON), prints the check x
#          (operator | flag) matrix; expected: shipped operators pass or n/a, each flag fails its check alone
#   prebuild in the background while the next steps run: the conformance step's CMake build and the rebuild
#          step's baseline library (REBUILD_SAME); those steps wait for them (CPU work off the GPU's time)
#   engines without the DAG (a fresh machine, little time): the plugin library (compile_plugin) and, with one
#          fixed kernel (no tune rule), the fp32 sweep engines of relu, swish_native and swish_plugin (streams)
#          and swish_plugin's fp32/fp16 engines (rebuild), the threads rule on the first three; the rebuild's candidate states are then the
#          committed H200 latency table's (docs/runs/h200-2026-12-02/tables/latency.csv.gz), re-timed in place
#   pack   tables, figures, logs, report and mlflow.db into $OUT/results.tgz
# Full logs are kept in $LOGS across calls and come back as $OUT/logs.tgz (the device returns at most
# 8 files); a short table is printed last.
set -uo pipefail
OUT=${OUT:-/tmp/tpb-out}
LOGS=${LOGS:-/tmp/tpb-logs}
mkdir -p "$OUT" "$LOGS"
export PYTHONUNBUFFERED=1
DAG_SECONDS=${DAG_SECONDS:-540}
# DAG_CONFIG: another config file for the dag step (its results: results/<its experiment>/, RES set to match)
cfg=()
if [ -n "${DAG_CONFIG:-}" ]; then
  cfg=(--configfile "$DAG_CONFIG")
  RES=${RES:-results/$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["experiment"])' "$DAG_CONFIG")}
fi
# the default config's results folder (config.yaml experiment: default; dag.results_dir)
export RES=${RES:-results/default}
status=()
note() { status+=("$1"); echo "== $1"; echo "$1" >> "$OUT/summary.txt"; }
# the conformance step's CMake build (plugin, trt_runner, the bad-plugin fixture) for arch $1 with $2 jobs; the
# prebuild step runs it in the background (the image's cmake is a Python wheel: no PYTHONHOME/PYTHONPATH)
conformance_build() {
  env -u PYTHONHOME -u PYTHONPATH cmake -S plugin -B /tmp/tpb-conformance-build -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="$1" -DTPB_BAD_PLUGINS=ON > "$LOGS/conformance_build.log" 2>&1 \
    && env -u PYTHONHOME -u PYTHONPATH cmake --build /tmp/tpb-conformance-build -j "$2" >> "$LOGS/conformance_build.log" 2>&1
}
# the host-only creator checks against $TENSORRT_INCLUDE_DIR (tests/test_plugin_host.py): the tests and suite steps
host_tests() {
  timeout 400 python3 -m pytest tests/test_plugin_host.py -q -rA > "$LOGS/plugin_host.log" 2>&1
  note "plugin host tests rc=$? $(tail -1 "$LOGS/plugin_host.log") $(grep -ho 'swish_creator_check: .*' "$LOGS/plugin_host.log" | sort -u | tr '\n' ' ')"
}
# a step's logs come back even if a later step is cut off by the call's time limit
save_logs() { tar czf "$OUT/logs.tgz" -C "$LOGS" . 2>/dev/null; }

for step in "$@"; do
  case "$step" in
  check)
    { date -u; nvidia-smi; nvcc --version | tail -2; python3 -c 'import tensorrt, pycuda, numpy, snakemake, mlflow; print("tensorrt", tensorrt.__version__, "| pycuda", pycuda.VERSION_TEXT, "| numpy", numpy.__version__, "| snakemake", snakemake.__version__, "| mlflow", mlflow.__version__)'; which ncu nsys compute-sanitizer; } > "$LOGS/env.txt" 2>&1
    kb=/tmp/tpb-kernels
    cmake() { env -u PYTHONHOME -u PYTHONPATH cmake "$@"; }  # the image's cmake is a Python wheel
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
    if cmake -S plugin -B $kb -DTPB_KERNELS_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" -DTPB_PTXAS_VERBOSE=ON -DCMAKE_BUILD_TYPE=Release > "$LOGS/kernels_build.log" 2>&1 \
       && cmake --build $kb -j 16 >> "$LOGS/kernels_build.log" 2>&1; then
      timeout 300 $kb/swish_kernel_check > "$LOGS/kernel_check.log" 2>&1; note "kernel_check rc=$? $(tail -1 "$LOGS/kernel_check.log")"
      # > 2^31 elements with an index-dependent input (~17 GB); not under the sanitizers (too slow)
      timeout 300 $kb/swish_kernel_check --large > "$LOGS/kernel_check_large.log" 2>&1; note "kernel_check --large rc=$? $(tail -1 "$LOGS/kernel_check_large.log")"
      # --report-api-errors no: the check makes one deliberate invalid launch (a pending error that
      # launchSwish must not clear) and checks every other runtime call's status itself; the
      # sanitizers would count that launch as an error. Device memory errors and hazards still count.
      timeout 400 compute-sanitizer --tool memcheck --leak-check full --report-api-errors no $kb/swish_kernel_check > "$LOGS/sanitizer_memcheck.log" 2>&1
      note "memcheck rc=$? $(grep -E 'ERROR SUMMARY' "$LOGS/sanitizer_memcheck.log" | tail -1)"
      timeout 400 compute-sanitizer --tool racecheck --report-api-errors no $kb/swish_kernel_check > "$LOGS/sanitizer_racecheck.log" 2>&1
      note "racecheck rc=$? $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$LOGS/sanitizer_racecheck.log" | tail -1)"
      cuobjdump -sass $kb/libswish_kernels.so > /tmp/sass.txt 2>&1
      grep -E "Function|LDG|STG" /tmp/sass.txt | awk '/Function/{f=$0} /LDG|STG/{split($0,a,/ +/); for(i in a) if (a[i] ~ /^(LDG|STG)/) c[f" "a[i]]++} END{for(k in c) print c[k], k}' | sort -k2 > "$LOGS/sass_widths.txt"
    else
      note "kernel build FAILED (see kernels_build.log)"
    fi
    ;;
  opschecks)
    # the operators of plugin/api/opsPluginLibrary.cpp: their kernel checks (no TensorRT), every variant and dtype
    kb=/tmp/tpb-kernels
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
    if env -u PYTHONHOME -u PYTHONPATH cmake -S plugin -B $kb -DTPB_KERNELS_ONLY=ON -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCMAKE_BUILD_TYPE=Release > "$LOGS/ops_kernels_build.log" 2>&1 \
       && env -u PYTHONHOME -u PYTHONPATH cmake --build $kb -j 16 >> "$LOGS/ops_kernels_build.log" 2>&1; then
      for c in $(cd $kb && ls *_kernel_check | grep -v '^swish_'); do
        timeout 240 $kb/$c > "$LOGS/$c.log" 2>&1; note "$c rc=$? $(tail -1 "$LOGS/$c.log")"
      done
    else
      note "ops kernels build failed: $(tail -3 "$LOGS/ops_kernels_build.log" | tr '\n' ' ')"
    fi
    save_logs
    ;;
  probe)
    # after check (its build): the kernel shapes timed on the direct path, and Nsight Compute on three
    OUT="$LOGS/probe" plugin/probes/run_variant_probe.sh /tmp/tpb-kernels/swish_variant_probe \
      fp16:product_vectorized_oneshot_x1 fp16:product_vectorized_oneshot_x2_b128 fp32:product_vectorized_oneshot_x1_b128 \
      > "$LOGS/probe.log" 2>&1
    note "probe $(grep -c . "$LOGS/probe/probe.csv" 2>/dev/null) rows"
    ;;
  flush)
    python3 -m snakemake --cores 16 compile_plugin >> "$LOGS/dag.log" 2>&1
    timeout 240 python3 workflow/scripts/probes.py cold-flush --out "$LOGS/cold_flush" > "$LOGS/cold_flush.log" 2>&1
    note "cold-flush probe rc=$?"; tail -16 "$LOGS/cold_flush.log"
    ;;
  smoke)
    TPB_TEST_BUILD_DIR=/tmp/tpb-gpu-test-build timeout 300 python3 -m pytest -m gpu tests/test_gpu.py -q -rs -x \
      -k "stream_blocker or timer_modes or compare_rule or direct_kernel or arena or creator_rejects or l2_flush" > "$LOGS/gpu_smoke.log" 2>&1
    note "gpu smoke rc=$? $(tail -1 "$LOGS/gpu_smoke.log")"; tail -30 "$LOGS/gpu_smoke.log"
    ;;
  tests|tests-a|tests-b)
    # the suite has 133 GPU tests (2026-12-06): more than one device call (600 s) holds beside anything else, so
    # tests-a (tests/test_gpu.py) and tests-b (tests/test_gpu_plugin.py and the host-only creator checks) can run
    # in two calls; tests runs both. -rf/-rs and each test's name (-v) come first: a run cut off by its time limit
    # still says which tests failed
    files=(tests/test_gpu.py tests/test_gpu_plugin.py); [ "$step" = tests-a ] && files=(tests/test_gpu.py)
    [ "$step" = tests-b ] && files=(tests/test_gpu_plugin.py)
    TPB_TEST_BUILD_DIR=/tmp/tpb-gpu-test-build timeout "${SUITE_SECONDS:-580}" python3 -m pytest -m gpu "${files[@]}" \
      -v -rfs --durations=12 > "$LOGS/gpu_tests_$step.log" 2>&1
    note "gpu tests ($step) rc=$? $(tail -1 "$LOGS/gpu_tests_$step.log") $(grep -c ' FAILED' "$LOGS/gpu_tests_$step.log") failed lines"
    [ "$step" != tests-a ] && host_tests
    save_logs
    ;;
  suite)
    host_tests &  # the host-only checks on the CPU beside the shards
    host=$!
    SUITE_SECONDS=${SUITE_SECONDS:-540} bash workflow/scripts/gpu_suite.sh "$LOGS/suite" > "$LOGS/gpu_suite.txt" 2>&1
    note "gpu suite rc=$? $(head -1 "$LOGS/gpu_suite.txt") (rc 2: tests left, run the step again)"; cat "$LOGS/gpu_suite.txt"
    wait $host
    save_logs
    ;;
  specs)
    TPB_TEST_BUILD_DIR=/tmp/tpb-gpu-test-build timeout 590 python3 -m pytest -m gpu tests/test_gpu_specs.py -q -rA \
      --durations=8 > "$LOGS/gpu_specs.log" 2>&1
    note "gpu specs tests rc=$? $(tail -1 "$LOGS/gpu_specs.log")"; grep -E "^(PASSED|FAILED|ERROR)|flush" "$LOGS/gpu_specs.log" | head -20
    ;;
  rerun)
    # what a change reruns, after a complete DAG (snakemake -n): a timing.* key (no tune, no
    # build_engine), then a kernel-source edit (compile_plugin, tune and what follows)
    python3 - <<'PY' > /tmp/tpb-timing-changed.yaml
import yaml
c = yaml.safe_load(open("config.yaml")); c["timing"]["max_time_s"] = 0.5; print(yaml.safe_dump(c))
PY
    python3 -m snakemake -n --cores 16 --configfile /tmp/tpb-timing-changed.yaml > "$LOGS/rerun_timing.txt" 2>&1
    note "timing.max_time_s changed: $(sed -n '/^Job stats/,/^total/p' "$LOGS/rerun_timing.txt" | awk 'NR>3 && NF==2 {printf "%s %s, ", $1, $2}')"
    kernel=plugin/swishPlugin/swishPluginKernel.cu; cp "$kernel" /tmp/tpb-kernel.bak
    echo "// an edit" >> "$kernel"
    python3 -m snakemake -n --cores 16 > "$LOGS/rerun_kernel.txt" 2>&1
    cp /tmp/tpb-kernel.bak "$kernel"
    note "kernel source edited: $(sed -n '/^Job stats/,/^total/p' "$LOGS/rerun_kernel.txt" | awk 'NR>3 && NF==2 {printf "%s %s, ", $1, $2}')"
    ;;
  ceiling)
    # the calibration alone (cudaMemcpy and the 16-byte copy kernel, checked bit for bit first), and
    # the plugin's kernels at 512 Mi elements on the same machine: one machine, one roofline
    python3 - > "$LOGS/copy16_check.log" 2>&1 <<'PY'
import numpy as np, pycuda.driver as cuda, sys
sys.path.insert(0, "workflow")
from trt_plugin_bench.device.cuda_utils import GpuContext, DeviceBuffer
gpu = GpuContext(0); s = cuda.Stream()
x = np.random.default_rng(1).integers(0, 2**32, (3 << 20) // 4 + 4, dtype=np.uint32)
with DeviceBuffer(x.nbytes) as a, DeviceBuffer(x.nbytes) as b:
    cuda.memcpy_htod(a.ptr, x); gpu.copy16(b.ptr, a.ptr, x.nbytes, s); s.synchronize()
    y = np.empty_like(x); cuda.memcpy_dtoh(y, b.ptr)
print("copy16 bit-identical:", bool((x == y).all()))
PY
    note "$(tail -1 "$LOGS/copy16_check.log")"
    python3 workflow/scripts/tpb.py calibrate --backend tensorrt --out "$LOGS/calibration_ceiling.csv" --device-json "$LOGS/device_ceiling.json" \
      --settings-json "$(python3 workflow/scripts/tpb.py check-config config.yaml --set 'calibration.copy_mib=[256, 1024, 2048]' --print | tail -1)" > "$LOGS/ceiling.log" 2>&1
    python3 -m snakemake --cores 16 compile_plugin >> "$LOGS/dag.log" 2>&1
    python3 workflow/scripts/tpb.py kernel-bench --manifest $RES/build/manifest.json --out "$LOGS/kernel_ceiling.csv" \
      --settings-json "$(python3 workflow/scripts/tpb.py check-config config.yaml --set 'kernel_bench.kernels=[vectorized_oneshot_x1, vectorized_oneshot_x1_b128]' --set 'kernel_bench.elements=[268435456, 536870912]' --print | tail -1)" >> "$LOGS/ceiling.log" 2>&1
    cut -d, -f3-8,10 "$LOGS/calibration_ceiling.csv"; cut -d, -f3-5,7,9 "$LOGS/kernel_ceiling.csv" | grep cold
    note "ceiling rc=$?"
    ;;
  native)
    # what TensorRT's own fused sigmoid x mul kernel is (name, grid, block, registers), beside the plugin's
    for op in swish_native swish_plugin; do for dt in fp32 fp16; do for shape in 256,1024 16384,1024; do
      eng=$RES/engines/${op}__${dt}__sweep.engine
      [ -f "$eng" ] || continue
      man=(); [ "$op" = swish_plugin ] && man=(--manifest $RES/build/manifest.json)
      ncu --csv --page raw --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread,dram__bytes_read.sum,dram__bytes_write.sum \
        python3 workflow/scripts/tpb.py profile-target --backend tensorrt --engine "$eng" --shape $shape "${man[@]}" \
        > "$LOGS/ncu_${op}_${dt}_${shape/,/x}.csv" 2>> "$LOGS/ncu_native.log"
    done; done; done
    note "native kernels profiled: $(ls "$LOGS"/ncu_swish_*.csv 2>/dev/null | wc -l) files"
    ;;
  prebuild)
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
    conformance_build "$arch" 8 &
    PREBUILD_CONFORMANCE=$!
    ( python3 - "${REBUILD_SAME:-HEAD}" "$arch" > "$LOGS/rebuild_prebuild.log" 2>&1 <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "workflow")
from trt_plugin_bench.report.rebuild import build_baseline, locate_source
source = locate_source(sys.argv[1], Path("."), Path("results/verdict/rebuild"))
print("baseline library:", build_baseline(source, sys.argv[2], source.root / "build.log"))
PY
    ) &
    PREBUILD_REBUILD=$!
    note "prebuild started (conformance build, rebuild baseline)"
    ;;
  engines)
    targets=($RES/build/manifest.json)
    for e in relu__fp32__sweep swish_native__fp32__sweep swish_plugin__fp32__sweep swish_plugin__fp32__llm \
             swish_plugin__fp16__sweep swish_plugin__fp16__llm; do targets+=("$RES/engines/$e.engine"); done
    # and the threads rule on the three fp32 sweep engines (native runner: plain, graph, graph x16; Python loop)
    for op in relu swish_native swish_plugin; do targets+=("$RES/threads/${op}__fp32__sweep.csv"); done
    python3 -m snakemake --cores 16 --keep-going --config plugin_kernel=vectorized_oneshot_x1_b128 -- "${targets[@]}" > "$LOGS/engines.log" 2>&1
    note "engines rc=$? $(grep -c 'Finished job' "$LOGS/engines.log") jobs"
    mkdir -p $RES/tables
    [ -f $RES/tables/latency.csv ] || zcat docs/runs/h200-2026-12-02/tables/latency.csv.gz > $RES/tables/latency.csv
    ;;
  dag)
    python3 -m snakemake "${cfg[@]}" --unlock > /dev/null 2>&1
    timeout --signal=INT --kill-after=20 "$DAG_SECONDS" python3 -m snakemake "${cfg[@]}" --cores 16 --keep-going --rerun-incomplete >> "$LOGS/dag.log" 2>&1
    rc=$?
    note "dag${DAG_CONFIG:+ ($DAG_CONFIG)} rc=$rc $(grep -E '[0-9]+ of [0-9]+ steps' "$LOGS/dag.log" | tail -1)"
    if [ $rc -eq 0 ]; then
      python3 -m snakemake "${cfg[@]}" --cores 16 --report $RES/report.html >> "$LOGS/dag.log" 2>&1; note "report rc=$?"
    fi
    grep -E "^Error in rule|RuntimeError|Exception" "$LOGS/dag.log" | head -20
    ;;
  same)
    # the reference: the default DAG before issue 23's refactor on the GPU these tables ran on (their device.json;
    # SAME_REF overrides)
    ref=${SAME_REF:-docs/runs/h100-2026-11-24d}
    if [[ -z ${SAME_REF:-} ]] && python3 -c 'import json, sys; sys.exit("H200" not in json.load(open(sys.argv[1])).get("device_name", ""))' \
        "$RES/tables/device.json" 2>/dev/null; then
      ref=docs/runs/h200-2026-12-02/tables
    fi
    python3 workflow/scripts/compare_runs.py "$ref" $RES/tables --out "$OUT/compare_runs.md" \
      > "$LOGS/compare_runs.log" 2>&1
    rc=$?
    note "same (compare_runs against $ref) rc=$rc: $(grep -m1 -E '^\*\*(THE SAME|DIFFERENCES)' "$LOGS/compare_runs.log" || tail -1 "$LOGS/compare_runs.log" | cut -c1-300)"
    grep -E '^- \*\*' "$LOGS/compare_runs.log" | cut -c1-200
    ;;
  verdict)
    # Candidates, each a results folder of the plugin's latency sweeps alone, judged against this run:
    #  same   the swish_plugin sweeps measured again in place, after this run's results were copied
    #         aside as the baseline (a copy of the whole project reran compile_plugin there: its
    #         absolute source paths differ; 2026-12-02)
    #  naive  the DAG's swish_plugin_naive sweeps: the same plugin library with its kernel field set to
    #         the naive kernel, relabelled swish_plugin (the naive kernel as "the change")
    # VERDICT_CASES="naive" skips the separate-run repeat (the rebuild step judges the same code interleaved)
    cases=${VERDICT_CASES:-same naive}
    base=/tmp/tpb-verdict-baseline; rm -rf "$base"; cp -a "$RES" "$base"
    if [[ " $cases " == *" same "* ]]; then
      targets=($(cd $RES/latency && ls swish_plugin__*.csv | sed "s#^#$RES/latency/#"))
      python3 -m snakemake --cores 16 --forcerun "${targets[@]}" -- "${targets[@]}" > "$LOGS/verdict_same.log" 2>&1
      note "verdict same: ${#targets[@]} sweeps measured again rc=$?"
    fi
    for case in $cases; do
      python3 - "$case" "$base" "/tmp/tpb-verdict-view-$case" <<'PY' >> "$LOGS/verdict_$case.log" 2>&1
import json, os, shutil, sys
from pathlib import Path
import numpy as np
import pandas as pd
case, baseline, view = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
source_op = "swish_plugin" if case == "same" else "swish_plugin_naive"
run = Path(os.environ.get("RES", "results/default")) if case == "same" else baseline
shutil.rmtree(view, ignore_errors=True)
(view / "tables").mkdir(parents=True); (view / "samples").mkdir()
csvs = sorted((run / "latency").glob(f"{source_op}__*.csv"))
table = pd.concat([pd.read_csv(c) for c in csvs])
table["operator"] = "swish_plugin"
table.to_csv(view / "tables/latency.csv", index=False)
for name in ("device.json", "compare.csv"):
    shutil.copy2(baseline / "tables" / name, view / "tables" / name)
for c in csvs:
    with np.load(run / "samples" / (c.stem + ".npz")) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__meta__"])); meta["operator"] = "swish_plugin"
    arrays["__meta__"] = np.str_(json.dumps(meta, sort_keys=True))
    np.savez_compressed(view / "samples" / c.name.replace(source_op, "swish_plugin", 1).replace(".csv", ".npz"), **arrays)
print(f"{case}: {len(csvs)} sweeps, {len(table)} rows from {run}")
PY
      python3 workflow/scripts/tpb.py verdict --baseline "$base" --candidate "/tmp/tpb-verdict-view-$case" \
        --out-dir "$RES/verdict/$case" >> "$LOGS/verdict_$case.log" 2>&1
      note "verdict $case rc=$?: $(grep -m1 'counts' "$RES/verdict/$case/verdict.md" 2>/dev/null | cut -c1-200)"
    done
    ;;
  rebuild)
    # HEAD: every swish_plugin state, warm and cold (2 dtypes x 15 shapes x 2 modes = 60, 0.5 s each and
    # at most 2 re-measurement rounds of the AMBIGUOUS ones); HEAD~1: the fp32 sweep profile only (22).
    # Estimate: baseline CMake build ~1-2 min each, engines ~30 s, timing ~1 min (HEAD) / 20 s (HEAD~1).
    # REBUILD_CASES="same" skips HEAD~1; REBUILD_FILTER narrows the same-code states (a regex on op/dtype/profile/...)
    prev=${REBUILD_PREV:-HEAD~1}
    [ -n "${PREBUILD_REBUILD:-}" ] && { wait "$PREBUILD_REBUILD"; note "rebuild prebuild: $(tail -1 "$LOGS/rebuild_prebuild.log")"; }
    for case in ${REBUILD_CASES:-same prev}; do
      if [ $case = same ]; then rev=${REBUILD_SAME:-HEAD}; filter=${REBUILD_FILTER:-'^swish_plugin/'}; else rev=$prev; filter='^swish_plugin/fp32/sweep/'; fi
      out="$RES/verdict/rebuild_$case"; rm -rf "$out"
      TPB_PLUGIN_DEBUG=1 timeout 420 python3 workflow/scripts/tpb.py verdict --candidate "$RES" --rebuild "$rev" \
        --rebuild-filter "$filter" --out-dir "$out" > "$LOGS/rebuild_$case.log" 2>&1
      rc=$?
      cp -a "$out" "$LOGS/rebuild_$case" 2>/dev/null
      cp results/verdict/rebuild/*/build*.log "$LOGS/" 2>/dev/null
      python3 - "$out/verdict.csv" "$case" "$rc" <<'PY' >> "$LOGS/rebuild_summary.txt" 2>&1
import sys
import pandas as pd
path, case, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    t = pd.read_csv(path)
except Exception as exc:
    print(f"FAIL rebuild {case}: rc {rc}, no verdict.csv ({exc})"); sys.exit()
n = len(t); same = (t.verdict == "SAME").sum(); fs = t.verdict.isin(["FAST", "SLOW"]).sum(); fail = (t.verdict == "FAIL").sum()
counts = t.verdict.value_counts().to_dict()
if case == "same":
    ok = rc in (0, 1) and n > 0 and same >= 0.95 * n and fs <= 0.05 * n and not fail
    print(f"{'PASS' if ok else 'FAIL'} rebuild same (HEAD): {same}/{n} SAME (target >= 95 %), {fs} FAST/SLOW, {counts}")
else:
    print(f"{'PASS' if rc in (0, 1) and n > 0 and not fail else 'FAIL'} rebuild prev: rc {rc}, {n} states, {counts}")
PY
      ns=$(grep -c 'registerCreator(Swish v1 (IPluginCreator), "tpb_base_' "$LOGS/rebuild_$case.log")
      echo "$([ "$ns" -ge 1 ] && echo PASS || echo FAIL) rebuild $case: the baseline registered under its namespace ($ns)" >> "$LOGS/rebuild_summary.txt"
      note "rebuild $case ($rev) rc=$rc: $(grep -m1 'counts' "$out/verdict.md" 2>/dev/null | cut -c1-160)"
    done
    cat "$LOGS/rebuild_summary.txt"
    ;;
  runner)
    # engines without the tune rule if the DAG has not run here (a fixed kernel), then the library
    # and trt_runner built by the compile rule's CMake project
    engines=(); for op in relu swish_native swish_plugin; do engines+=("$RES/engines/${op}__fp32__sweep.engine"); done
    python3 -m snakemake --cores 16 --config plugin_kernel=vectorized_oneshot_x1_b128 -- "${engines[@]}" > "$LOGS/runner_engines.log" 2>&1
    note "runner engines rc=$? $(grep -c 'Finished job' "$LOGS/runner_engines.log") jobs"
    cmake() { env -u PYTHONHOME -u PYTHONPATH cmake "$@"; }
    rb=/tmp/tpb-runner-build; arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
    cmake -S plugin -B $rb -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" > "$LOGS/runner_build.log" 2>&1 \
      && cmake --build $rb -j 16 >> "$LOGS/runner_build.log" 2>&1; note "runner build rc=$?"
    lib=$rb/libswish_plugin.so; readelf -d $lib | grep NEEDED > "$LOGS/plugin_needed.txt"
    TPB_PLUGIN_DEBUG=1 python3 - "$lib" > "$LOGS/plugin_cdll.log" 2>&1 <<'PY'
import ctypes, sys
import tensorrt as trt
reg = trt.get_plugin_registry()
names = lambda: sorted((c.name, c.plugin_version, c.plugin_namespace) for c in reg.plugin_creator_list if c.name == "Swish")
print("before:", names())
lib = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
print("after ctypes.CDLL alone:", names())
init = lib.initSwishPlugins; init.argtypes = [ctypes.c_char_p]; init.restype = ctypes.c_int
print("initSwishPlugins(''):", init(b""), names())
PY
    note "plugin load: $(grep -E '^(after|initSwish)' "$LOGS/plugin_cdll.log" | tr '\n' ' ')"
    for e in "${engines[@]}"; do for g in "" --graph; do for t in 1 2 4 8; do
      echo "== $(basename $e .engine) threads=$t ${g:-plain}"
      TPB_PLUGIN_DEBUG=1 timeout 60 $rb/trt_runner --engine "$e" --plugins "$lib" --threads $t --iterations 2000 \
        --shape 64x1024 --profile-per-thread $g 2>> "$LOGS/runner_stderr.log"
    done; done; done > "$LOGS/runner.jsonl" 2>&1
    note "runner: $(grep -c '"outputs_identical": true' "$LOGS/runner.jsonl") of 24 runs with identical outputs"
    ;;
  streams)
    # what the launch path allows (no TensorRT: plugin/probes/launchScalingProbe.cu, a bare kernel from
    # N threads, plain and graph), then the DAG's runner with graphs of 1, 16 and 64 enqueues: plain and
    # one-enqueue graphs measure the host's launch path, batched graphs the GPU
    nvcc -O2 -std=c++17 -arch=sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .) \
      -o /tmp/launch_scaling_probe plugin/probes/launchScalingProbe.cu > "$LOGS/launch_probe_build.log" 2>&1 \
      && timeout 120 /tmp/launch_scaling_probe --seconds 0.5 > "$LOGS/launch_scaling.csv" 2>> "$LOGS/launch_probe_build.log"
    note "launch probe rc=$?"; cat "$LOGS/launch_scaling.csv"
    runner=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1] + "/build/manifest.json"))["trt_runner"])' "$RES")
    lib=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1] + "/build/manifest.json"))["plugin_library"])' "$RES")
    for op in relu swish_native swish_plugin; do for b in 1 16 64; do for t in 1 2 4 8; do
      timeout 60 "$runner" --engine "$RES/engines/${op}__fp32__sweep.engine" --plugins "$lib" --threads $t --iterations 40960 \
        --shape 64x1024 --profile-per-thread --time-every 16 --graph --graph-batch $b 2>> "$LOGS/streams_stderr.log" \
        | python3 -c "import json,sys; r=json.load(sys.stdin); r['operator']='$op'; print(json.dumps(r))"
    done; done; done > "$LOGS/streams.jsonl"
    note "streams: $(grep -c '"outputs_identical": true' "$LOGS/streams.jsonl") of 36 runs identical"
    python3 - "$LOGS/streams.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
one = {(r["operator"], r["graph_batch"]): r["inferences_per_second"] for r in rows if r["threads"] == 1}
for r in rows:
    base = one.get((r["operator"], r["graph_batch"]), float("nan"))
    print(f"{r['operator']:<13} graph x{r['graph_batch']:<3} N={r['threads']} {r['inferences_per_second'] / 1e3:8.1f} k/s "
          f"({r['inferences_per_second'] / (base * r['threads']):.2f} of N x one) wall {r['wall_s']:.3f}")
PY
    ;;
  conformance)
    # about 3 minutes: one CMake build (kernels for this GPU only), then 9 targets, 6 at a time, each
    # check in a fresh process on small shapes, the 4 sanitizer tools of a target side by side
    cmake() { env -u PYTHONHOME -u PYTHONPATH cmake "$@"; }
    cb=/tmp/tpb-conformance-build; cr="$LOGS/conformance"; rm -rf "$cr"; mkdir -p "$cr"
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader -i 0 | tr -d .)
    if [ -n "${PREBUILD_CONFORMANCE:-}" ]; then wait "$PREBUILD_CONFORMANCE"; else conformance_build "$arch" 16; fi
    note "conformance build rc=$? $(ls $cb/libswish_plugin*.so $cb/trt_runner 2>/dev/null | wc -l) of 6 artefacts"
    shipped=(relu swish_native swish_plugin swish_plugin_naive swish_plugin_v3)
    targets=(bad:SYNC_IN_ENQUEUE bad:GLOBAL_STATE bad:SHALLOW_CLONE bad:INIT_ONLY_REGISTRATION)
    # the shipped operators' reports are the DAG's conformance rule's where it ran (results/conformance)
    for t in "${shipped[@]}"; do [ -f "$RES/conformance/$t.json" ] || targets=("$t" "${targets[@]}"); done
    one() {  # one target: an operator with the shipped library, or bad:<FLAG> with its fixture library
      local t=$1 args
      if [ "${t%%:*}" = bad ]; then
        f=${t#bad:}; lower=$(echo "$f" | tr A-Z a-z)
        args=(--op swish_plugin --flag "$f" --library "$cb/libswish_plugin_bad_${lower}.so" --out "$cr/bad_${lower}.json")
      else
        args=(--op "$t" --library "$cb/libswish_plugin.so" --out "$cr/$t.json")
      fi
      # the shallow-clone fixture logs what TensorRT clones and destroys (its target's log)
      local dbg=(); [ "$t" = bad:SHALLOW_CLONE ] && dbg=(TPB_PLUGIN_DEBUG=1)
      env "${dbg[@]}" timeout 330 python3 workflow/scripts/tpb.py conformance --backend tensorrt --runner "$cb/trt_runner" --settings-json "$cj" \
        --workdir "/tmp/tpb-conformance-work/${t/:/_}" "${args[@]}" > "$cr/${t/:/_}.log" 2>&1
      echo "$t rc=$?"
    }
    # tighter limits than the rule's defaults (a hang must not eat the session): config.yaml's settings with
    # these overrides (tpb check-config --print); CONFORMANCE_SET, e.g. 'conformance.sanitizer_tools=[memcheck]',
    # replaces them for a narrower rerun
    cset=${CONFORMANCE_SET:-"conformance.child_timeout_s=60 conformance.sanitizer_timeout_s=180"}
    cj=$(python3 workflow/scripts/tpb.py check-config config.yaml $(printf -- '--set %s ' $cset) --print | tail -1)
    export -f one; export cb cr cj
    start=$(date +%s)
    printf '%s\n' "${targets[@]}" | xargs -P 6 -I{} bash -c 'one {}' > "$cr/rc.txt" 2>&1
    note "conformance: ${#targets[@]} targets in $(( $(date +%s) - start )) s: $(tr '\n' ' ' < "$cr/rc.txt")"
    reports=(); for t in "${shipped[@]}"; do
      if [ -f "$cr/$t.json" ]; then reports+=("$cr/$t.json"); else reports+=("$RES/conformance/$t.json"); fi
    done
    for t in "${targets[@]}"; do
      [ "${t%%:*}" = bad ] && reports+=("$cr/bad_$(echo "${t#bad:}" | tr A-Z a-z).json")
    done
    grep -h "fixture:" "$cr/bad_SHALLOW_CLONE.log" | head -40 > "$cr/shallow_clone_lifecycle.txt"
    note "shallow-clone fixture: $(grep -c 'clone ' "$cr/shallow_clone_lifecycle.txt") clones, $(grep -c 'destroy ' "$cr/shallow_clone_lifecycle.txt") destroys logged"
    python3 workflow/scripts/tpb.py conformance-matrix "${reports[@]}" --expect | tee "$cr/matrix.txt"
    note "conformance matrix rc=${PIPESTATUS[0]}: $(tail -1 "$cr/matrix.txt")"
    python3 - "${reports[@]}" <<'PY'  # every non-pass with its reason, for the lead's report
import json, sys
for p in sys.argv[1:]:
    try:
        r = json.load(open(p))
    except OSError as e:
        print(f"{p}: missing ({e})"); continue
    for c in r["checks"]:
        if c["status"] != "pass":
            print(f"{r['label']:28s} {c['check']:22s} {c['status'].upper():5s} {c['reason'][:220]}")
PY
    ;;
  pack)
    tar czf "$OUT/results.tgz" --ignore-failed-read --exclude='*.engine' $RES/tables $RES/figures $RES/logs $RES/build/manifest.json \
      $RES/engines/*.build.json $RES/tune $RES/samples $RES/verdict $RES/report.html $RES/profile \
      $RES/kernel $RES/calibration $RES/latency $RES/compare $RES/conformance $RES/threads mlflow.db 2>/dev/null
    note "packed $(du -h "$OUT/results.tgz" | cut -f1)"
    ;;
  *) echo "unknown step $step"; exit 2;;
  esac
  save_logs
done
tar czf "$OUT/logs.tgz" -C "$LOGS" .
echo
echo "== summary"
printf '%s\n' "${status[@]}"
[ -f $RES/tables/summary.md ] && head -60 $RES/tables/summary.md
exit 0
