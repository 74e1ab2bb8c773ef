#!/usr/bin/env bash
# Build and run the row-norm variant probe on a GPU machine (nvcc 13 only: no TensorRT, no Python), from the
# repository root. Writes under $OUT (a temporary folder if unset): env.txt, build.log, probe.csv (the CSV
# and its "# best" lines), probe.log, ptxas.txt (registers and spills of every kernel).
#   bash plugin/probes/run_row_norm_probe.sh            SAMPLES=25 MAX_MIB=256 by default
# The three translation units compile in parallel (~30-60 s); the sweep takes ~5-10 s of GPU time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/row-norm-probe.XXXXXX")}; mkdir -p "$OUT"; echo "writing under $OUT"
export PATH=$PATH:/usr/local/cuda/bin
build=$(mktemp -d "${TMPDIR:-/tmp}/row-norm-probe-build.XXXXXX")
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv; nvcc --version | tail -2; } > "$OUT/env.txt" 2>&1
arch=${ARCH:-sm_90}
pids=()
for unit in rowNormVariantProbe rowNormProbeLayerNorm rowNormProbeResidualRmsNorm; do
  nvcc -std=c++17 -O3 -arch="$arch" -Xptxas -v -I"$here/../common" -c "$here/$unit.cu" -o "$build/$unit.o" \
    > "$build/$unit.log" 2>&1 &
  pids+=($!)
done
rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done
cat "$build"/*.log > "$OUT/build.log"
grep -E "Function properties|spill|Used" "$OUT/build.log" | paste - - - > "$OUT/ptxas.txt" || true
if [ "$rc" != 0 ] || ! nvcc -arch="$arch" -o "$build/row_norm_variant_probe" "$build"/*.o >> "$OUT/build.log" 2>&1; then
  echo "build failed (see $OUT/build.log)"; tail -20 "$OUT/build.log"; exit 1
fi
timeout 240 "$build/row_norm_variant_probe" --samples "${SAMPLES:-25}" --max-mib "${MAX_MIB:-256}" \
  > "$OUT/probe.csv" 2> "$OUT/probe.log"; prc=$?
echo "probe rc=$prc"; cat "$OUT/probe.log"; grep -E "^# best|FAIL" "$OUT/probe.csv"
exit $prc
