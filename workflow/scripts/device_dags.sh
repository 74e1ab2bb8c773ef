#!/usr/bin/env bash
# The DAGs of several configs at once on one GPU machine (run from the repository root after
# `. /opt/trtkit/env.sh`): timing jobs still run alone, whichever DAG they belong to (their GPU lock,
# gpu_slot, lives in results/.gpu-locks, shared by every experiment), while the other DAGs' engine
# builds, round trips and compiles use the host's cores beside them. Each DAG stops after
# DAG_SECONDS (a clean interrupt: run the same command again to resume), then every experiment's
# tables, figures, logs and engine layer lists are packed into $OUT/<experiment>.tgz.
#   DAG_SECONDS=500 bash workflow/scripts/device_dags.sh tests/configs/norm-gpu.yaml tests/configs/gelu-gpu.yaml
set -uo pipefail
OUT=${OUT:-/tmp/tpb-out}
mkdir -p "$OUT"
DAG_SECONDS=${DAG_SECONDS:-500}
CORES=${CORES:-$(( $(nproc) / $# ))}
experiment() { python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["experiment"])' "$1"; }
pids=()
for cfg in "$@"; do
  exp=$(experiment "$cfg")
  mkdir -p "results/$exp"
  ( python3 -m snakemake --configfile "$cfg" --nolock --cores "$CORES" --keep-going --rerun-incomplete \
      >> "results/$exp/dag.log" 2>&1 ) &
  pids+=($!)
done
# the time limit: a clean interrupt (Snakemake removes the incomplete outputs of running jobs)
( sleep "$DAG_SECONDS"; for p in "${pids[@]}"; do pkill -INT -P "$p" 2>/dev/null; done ) &
killer=$!
for p in "${pids[@]}"; do wait "$p"; done
kill "$killer" 2>/dev/null
for cfg in "$@"; do
  exp=$(experiment "$cfg")
  echo "== $exp: $(grep -E '[0-9]+ of [0-9]+ steps' "results/$exp/dag.log" | tail -1)"
  grep -E "^Error in rule|Exception|Error:" "results/$exp/dag.log" | sort | uniq -c | head -8
  tar czf "$OUT/$exp.tgz" --ignore-failed-read --exclude='*.engine' --exclude='*.npy' -C results "$exp/tables" \
    "$exp/figures" "$exp/logs" "$exp/dag.log" "$exp/in_network" "$exp/conformance" "$exp/accuracy" 2>/dev/null
done
