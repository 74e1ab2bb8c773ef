#!/usr/bin/env bash
# The GPU suite in shards at once, resumable from one device call to the next (run from the repository root after
# `. /opt/trtkit/env.sh`; device_session.sh's suite step calls it):
#   bash workflow/scripts/gpu_suite.sh STATE_DIR
# It collects the GPU tests once (STATE_DIR/ids.txt) and runs what STATE_DIR/done.txt does not list yet, in SHARDS
# pytest processes at once (round robin over the collected order; each its own plugin build, TPB_TEST_BUILD_DIR,
# since two builds of one folder would race), until all are done or SUITE_SECONDS (this call's share) are spent.
# done.txt gets each test's outcome: PASSED, FAILED, ERROR, SKIPPED, or CRASHED for the test a crash (a segfault)
# stopped its process in; the tests after it run in the next round, so one crash does not hide the rest.
# Run it again to go on. Exit status: 0 when every test passed or was skipped, 1 otherwise, 2 if tests are left.
# Environment: SHARDS (4), SUITE_SECONDS (540), SUITE_FILES (the test files, space separated).
set -uo pipefail
S=${1:?usage: gpu_suite.sh STATE_DIR}
mkdir -p "$S/logs"
SHARDS=${SHARDS:-4}
LIMIT=${SUITE_SECONDS:-540}
read -r -a files <<< "${SUITE_FILES:-tests/test_gpu.py tests/test_gpu_plugin.py tests/test_gpu_in_network.py}"
t0=$(date +%s)
OUTCOME='(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)'
if [ ! -s "$S/ids.txt" ]; then
  # the node ids, once each, in collection order (a warnings summary may name some again)
  python3 -m pytest -m gpu --collect-only -q "${files[@]}" 2> "$S/logs/collect.err" | grep -E '^[^ ]+::[^ ]+$' \
    | awk '!seen[$0]++' > "$S/ids.txt"
fi
touch "$S/done.txt"
left() { cut -f1 "$S/done.txt" | grep -vxF -f - "$S/ids.txt"; }
# a shard's log into done.txt: each test's outcome (pytest -v), and the test a crash stopped the process in
record() {
  grep -oE "^[^ ]+::[^ ]* $OUTCOME" "$1" | sed -E 's/ ([A-Z]+)$/\t\1/' >> "$S/done.txt"
  if grep -q 'Fatal Python error' "$1"; then
    local last
    last=$(grep -E '^[^ ]+::' "$1" | grep -vE " $OUTCOME" | tail -1 | cut -d' ' -f1)
    [ -n "$last" ] && printf '%s\tCRASHED\n' "$last" >> "$S/done.txt"
  fi
}
round=0
while :; do
  mapfile -t ids < <(left)
  [ ${#ids[@]} -eq 0 ] && break
  remaining=$(( t0 + LIMIT - $(date +%s) ))
  [ "$remaining" -lt 30 ] && break
  round=$((round + 1))
  before=$(wc -l < "$S/done.txt")
  pids=()
  for i in $(seq 0 $((SHARDS - 1))); do
    mapfile -t mine < <(printf '%s\n' "${ids[@]}" | awk -v n="$SHARDS" -v i="$i" 'NR % n == i')
    [ ${#mine[@]} -eq 0 ] && continue
    log="$S/logs/round$round-shard$i.log"
    ( TPB_TEST_BUILD_DIR="$S/build-$i" timeout "$remaining" python3 -m pytest -m gpu "${mine[@]}" -v -rfEs \
        -p no:cacheprovider --durations=10 > "$log" 2>&1
      echo "exit status $?" >> "$log" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for log in "$S"/logs/round$round-shard*.log; do record "$log"; done
  # no test got an outcome this round (cut by the limit, or a crash nobody could name): stop, do not loop
  [ "$(wc -l < "$S/done.txt")" -eq "$before" ] && break
done
n_left=$(left | grep -c . || true)
count() { cut -f2 "$S/done.txt" | grep -cx "$1" || true; }
echo "gpu suite: $(wc -l < "$S/ids.txt") tests; passed $(count PASSED), failed $(count FAILED), errors $(count ERROR)," \
  "crashed $(count CRASHED), skipped $(count SKIPPED); $n_left left; $round round(s), $(( $(date +%s) - t0 )) s"
grep -E $'\t(FAILED|ERROR|CRASHED|XPASS)$' "$S/done.txt" | sed 's/^/  /'
if [ "$n_left" -gt 0 ]; then exit 2; fi
if grep -qE $'\t(FAILED|ERROR|CRASHED|XPASS)$' "$S/done.txt"; then exit 1; fi
exit 0
