#!/usr/bin/env bash
# Run the variant probe on a GPU machine (no TensorRT needed): the timing sweep, then Nsight Compute
# on a few shapes at one size, then the SASS load/store/MUFU counts. Writes under $OUT.
#   plugin/probes/run_variant_probe.sh <probe binary> [dtype:variant ...]
set -uo pipefail
probe=$1; shift
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/probe-out.XXXXXX")}; mkdir -p "$OUT"; echo "writing under $OUT"
NCU_MIB=${NCU_MIB:-1024}
export PATH=$PATH:/usr/local/cuda/bin
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv; } > "$OUT/env.txt" 2>&1
timeout 300 "$probe" --samples "${SAMPLES:-41}" > "$OUT/probe.csv" 2> "$OUT/probe.log"; echo "probe rc=$?"
for pair in "$@"; do
  dt=${pair%%:*}; v=${pair#*:}
  timeout 120 ncu --csv --page details --launch-skip 1 --launch-count 1 \
    -k regex:'swishOneShot|probeCopy|probePrefetch|swishVectorized' \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --section LaunchStats --section SchedulerStats --section ComputeWorkloadAnalysis \
    "$probe" --one "$dt" "$v" "$NCU_MIB" > "$OUT/ncu_${dt}_${v}.csv" 2>> "$OUT/ncu.log"; echo "ncu $dt $v rc=$?"
done
if command -v cuobjdump > /dev/null; then
  cuobjdump -sass "$probe" | awk '/Function/{f=$2} /LDG|STG|MUFU/{for(i=1;i<=NF;i++) if ($i ~ /^(LDG|STG|MUFU)/) c[f" "$i]++} END{for(k in c) print c[k], k}' | sort -k2 > "$OUT/sass_counts.txt"
fi
