#!/usr/bin/env bash
# GPU work longer than one device call (at most 10 minutes each): one call starts the steps in the background, in
# a process session of their own (which the device tool lets run on while the machine is held), and later short
# calls poll. The steps run one after another, each within what is left of BUDGET_S: at the deadline the running
# step is ended with everything it started, and the steps after it are skipped, so the work never spends more
# device time than the session has left (give BUDGET_S as status's budget_left_s less ~60 s for the polls).
#
#   bash workflow/scripts/device_background.sh start BUDGET_S 'command 1' 'command 2' ...
#   bash workflow/scripts/device_background.sh poll [WAIT_S]   # waits up to WAIT_S (default 540) for the last step,
#        prints the steps' status and the end of the running step's log; with OUT set (the device tool's), copies
#        status.txt and background.tgz (the steps' logs and $TPB_BG_OUT, build-* folders left out) there
#   bash workflow/scripts/device_background.sh stop            # ends the running step and skips the rest
#
# Each step is a bash command line, its output in step-N.log; it may write what should come back under $TPB_BG_OUT,
# which is also its $OUT (device_session.sh and the like write there). The steps run in a snapshot of the repository
# taken by start (TPB_BG_TREE, default $HOME/tpb-tree), not in the repository itself: each device call copies the
# working tree there anew, and a step reading it meanwhile finds files missing (the in_network DAG's compile_plugin:
# "plugin holds no CMakeLists.txt", H100 2026-12-07). The snapshot keeps its results/ and MLflow store from one start
# to the next (a DAG resumes), and takes everything else from the repository, .git and carried paths included.
# State: TPB_BG_DIR (default $HOME/tpb-background): status.txt (a line per step: its start, its end with rc and wall
# seconds, or why it was skipped), step-N.sh and step-N.log, pid, done.
# E.g. (trt-kit's environment first in every call):
#   . /opt/trtkit/env.sh && bash workflow/scripts/device_background.sh start 1200 \
#     'bash workflow/scripts/device_session.sh suite' 'bash workflow/scripts/verdict_gpu_check.sh "$TPB_BG_OUT/verdict"'
#   . /opt/trtkit/env.sh && bash workflow/scripts/device_background.sh poll 540
set -uo pipefail
cd "$(dirname "$0")/../.."
DIR=${TPB_BG_DIR:-$HOME/tpb-background}
TREE=${TPB_BG_TREE:-$HOME/tpb-tree}
export TPB_BG_OUT=$DIR/out
# what the snapshot keeps from one start to the next (this machine's own: results, the MLflow store) and never copies
KEEP=(results mlflow.db mlruns mlartifacts .snakemake)

# the repository as it is now into $TREE: everything but KEEP and the kit's parts replaced, KEEP left as it is
snapshot() {
  mkdir -p "$TREE" || return 1
  local keep=() name
  for name in "${KEEP[@]}"; do keep+=(! -name "$name"); done
  find "$TREE" -mindepth 1 -maxdepth 1 "${keep[@]}" -exec rm -rf {} + || return 1
  local exclude=(--exclude=./.trtkit --exclude=./.venv)  # the kit's parts; a virtual environment does not move
  for name in "${KEEP[@]}"; do exclude+=("--exclude=./$name"); done
  tar cf - "${exclude[@]}" . | tar xf - -C "$TREE"
}

say() { echo "[$(date +%H:%M:%S)] $*" >> "$DIR/status.txt"; }
running() { [[ -f $DIR/pid && ! -f $DIR/done ]] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

case "${1:-}" in
  start)
    budget=${2:-}
    if ! [[ $budget =~ ^[0-9]+$ ]] || (( $# < 3 )); then
      echo "usage: $0 start BUDGET_S 'command' ['command' ...] (BUDGET_S: whole seconds)" >&2
      exit 2
    fi
    if running; then
      echo "device_background: steps are still running (pid $(cat "$DIR/pid"), $DIR/status.txt):" \
        "poll, or stop them first" >&2
      exit 1
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR" "$TPB_BG_OUT"
    if ! snapshot; then
      echo "device_background: could not copy the repository to $TREE (TPB_BG_TREE)" >&2
      exit 1
    fi
    shift 2
    n=0
    for command in "$@"; do
      n=$((n + 1))
      printf '%s\n' "$command" > "$DIR/step-$n.sh"
    done
    # setsid: a process session of its own, which outlives this call; its id is the runner's pid (stop ends it)
    setsid nohup bash "$TREE/workflow/scripts/device_background.sh" _run "$budget" "$n" > "$DIR/runner.log" 2>&1 < /dev/null &
    echo $! > "$DIR/pid"
    echo "device_background: $n step(s) started in the background, budget ${budget} s; state in $DIR, run in $TREE"
    ;;
  _run)  # the runner itself (start launches it)
    # the steps' OUT is $TPB_BG_OUT: the starting call's $OUT is emptied before the next call
    export OUT=$TPB_BG_OUT
    cd "$TREE" || exit 1
    deadline=$(( $(date +%s) + $2 ))
    for (( i = 1; i <= $3; i++ )); do
      left=$(( deadline - $(date +%s) ))
      if [[ -f $DIR/stopped ]]; then
        say "step $i skipped: stopped"
        continue
      fi
      if (( left < 5 )); then
        say "step $i skipped: the budget is spent"
        continue
      fi
      say "step $i started ($left s of the budget left): $(head -c 200 "$DIR/step-$i.sh")"
      start=$(date +%s)
      # timeout signals the step's whole process group (the step and what it started), then kills it 10 s later
      timeout --kill-after=10 "$left" bash "$DIR/step-$i.sh" > "$DIR/step-$i.log" 2>&1
      rc=$?
      wall=$(( $(date +%s) - start ))
      if (( rc == 124 || rc == 137 )); then
        say "step $i ended at the budget's end (rc=$rc, $wall s): cut off"
      else
        say "step $i ended rc=$rc ($wall s)"
      fi
    done
    touch "$DIR/done"
    ;;
  poll)
    wait_s=${2:-540}
    if ! [[ -f $DIR/pid ]]; then
      echo "device_background: nothing was started here ($DIR has no pid)" >&2
      exit 2
    fi
    end=$(( $(date +%s) + wait_s ))
    while running && (( $(date +%s) < end )); do
      sleep 2
    done
    cat "$DIR/status.txt" 2>/dev/null
    if running; then
      current=$(ls -t "$DIR"/step-*.log 2>/dev/null | head -1)
      echo "device_background: still running; the end of ${current:-no log yet}:"
      [[ -n $current ]] && tail -n 20 "$current"
    else
      echo "device_background: all steps ended"
    fi
    if [[ -n ${OUT:-} ]]; then
      mkdir -p "$OUT"
      cp "$DIR/status.txt" "$OUT/status.txt" 2>/dev/null
      tar czf "$OUT/background.tgz" -C "$DIR" --exclude='build-*' --exclude='*.engine' status.txt runner.log \
        $(cd "$DIR" && ls step-*.log 2>/dev/null) out 2>/dev/null
    fi
    ;;
  stop)
    if running; then
      touch "$DIR/stopped"
      pkill -TERM -s "$(cat "$DIR/pid")" 2>/dev/null
      sleep 2
      pkill -KILL -s "$(cat "$DIR/pid")" 2>/dev/null
      say "stopped"
      touch "$DIR/done"
      echo "device_background: stopped"
    else
      echo "device_background: nothing running"
    fi
    ;;
  *)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
