#!/usr/bin/env bash
# The DAGs of several configs at once on one GPU machine (run from the repository root after
# `. /opt/trtkit/env.sh`): timing jobs still run alone, whichever DAG they belong to (their GPU lock,
# gpu_slot, lives in results/.gpu-locks, shared by every experiment), while the other DAGs' engine
# builds, round trips and compiles use the host's cores beside them. Each DAG stops after
# DAG_SECONDS (a clean interrupt: run the same command again to resume), then every experiment's
# tables, figures, logs and engine layer lists are packed into $OUT/<experiment>.tgz.
#   DAG_SECONDS=500 bash workflow/scripts/device_dags.sh tests/configs/norm-gpu.yaml tests/configs/gelu-gpu.yaml
set -uo pipefail
OUT=${OUT:-results/device-out}  # the device tool sets OUT (what comes back)
mkdir -p "$OUT"
DAG_SECONDS=${DAG_SECONDS:-500}
CORES=${CORES:-$(( $(nproc) / $# ))}
# GPU jobs each DAG keeps in flight: more than the GPUs, so that while one timing job has stepped out of
# its exclusive hold for host work (GpuSlot.host_work) another one times; the lock still lets one time at once
GPU_JOBS=${GPU_JOBS:-2}
experiment() { python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["experiment"])' "$1"; }
pids=()
for cfg in "$@"; do
  exp=$(experiment "$cfg")
  mkdir -p "results/$exp"
  # the time limit: a clean interrupt (Snakemake stops its jobs and removes their incomplete outputs),
  # then a kill 40 s later if it has not exited. (A first version interrupted the children of a
  # subshell from a sleeping watcher: Snakemake kept running and the device call ran out of time before
  # anything was packed, 2026-12-06.)
  timeout --signal=INT --kill-after=40 "$DAG_SECONDS" python3 -m snakemake --configfile "$cfg" --nolock \
    --cores "$CORES" --resources gpu="$GPU_JOBS" --keep-going --rerun-incomplete >> "results/$exp/dag.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for cfg in "$@"; do
  exp=$(experiment "$cfg")
  echo "== $exp: $(grep -E '[0-9]+ of [0-9]+ steps' "results/$exp/dag.log" | tail -1)"
  grep -E "^Error in rule|Exception|Error:" "results/$exp/dag.log" | sort | uniq -c | head -8
  # everything the DAG wrote (the per-job tables too: a DAG cut short has no aggregate), but the engines,
  # the arrays and the plugin builds
  tar czf "$OUT/$exp.tgz" --ignore-failed-read --exclude='*.engine' --exclude='*.npy' --exclude='*.so' \
    --exclude="$exp/build/plugin*" --exclude='CMakeFiles' -C results "$exp" 2>/dev/null
done
