#!/usr/bin/env bash
# The cluster harness: a one-node SLURM cluster and an MLflow tracking server on PostgreSQL, both on
# 127.0.0.1 of this machine, the small DAG through `snakemake --executor slurm --profile
# profiles/slurm`, and the assertions of tests/test_cluster.py (pytest -m cluster). Everything it
# starts it stops, and its state directory it removes, however it ends (trap).
#
#   bash workflow/scripts/cluster/harness.sh            # install, up, tests, down  (= make cluster-test)
#   bash workflow/scripts/cluster/harness.sh up         # only bring it up; prints the env file to source
#   bash workflow/scripts/cluster/harness.sh down       # stop what `up` started, remove its state
#
# Needs root (apt-get, the daemons) on a Debian/Ubuntu machine; listens on 127.0.0.1 only.
# Environment: TPB_CLUSTER_STATE (state directory, default /tmp/tpb-cluster), TPB_CLUSTER_NO_INSTALL=1
# (skip apt-get/pip when the packages are there), PYTEST_ARGS (extra pytest arguments),
# TPB_CLUSTER_KEEP=1 (leave it up after the tests; then `harness.sh down`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
HERE="$ROOT/workflow/scripts/cluster"
STATE=${TPB_CLUSTER_STATE:-/tmp/tpb-cluster}
PY="$ROOT/.venv/bin/python"
# The harness writes ROOT into shebangs (the sbatch shim), env.sh and SLURM job scripts, none of
# which can carry a space or a shell character: refuse such a checkout in one line.
if [[ $ROOT =~ [[:space:]\$\;\'\"\`] ]]; then
  echo "cluster-harness: the project path '$ROOT' holds a space or a shell character; SLURM job scripts and the shims this harness writes cannot carry one: run it from a checkout at a plain path" >&2
  exit 2
fi
PG_BIN=""
log() { echo "cluster-harness: $*" >&2; }

free_port() {  # a free TCP port on 127.0.0.1
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

install_packages() {
  local need=()
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null || need+=(slurm-wlm)
  command -v munged >/dev/null || need+=(munge)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if ((${#need[@]})); then
    log "apt-get install ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
  log "pip install -r requirements-cluster.txt"
  "$PY" -m pip install --quiet -r "$ROOT/requirements-cluster.txt"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local n=$1 what=$2; shift 2
  for ((i = 0; i < n * 4; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  log "$what did not come up in ${n}s; logs under $STATE/log:"; tail -n 30 "$STATE"/log/* >&2 || true
  return 1
}

up() {
  [[ $(id -u) == 0 ]] || { log "needs root (the SLURM and munge daemons, apt-get)"; exit 1; }
  if [[ -e $STATE ]]; then log "$STATE exists: a harness is up (or was left behind); run '$0 down' first"; exit 1; fi
  mkdir -p "$STATE"/{log,munge,slurmctld,slurmd,bin,artifacts,pgsock}
  chmod 755 "$STATE"
  local host cpus mem gpus ctld_port slurmd_port pg_port mlflow_port
  host=$(hostname -s); cpus=8; gpus=4
  mem=$(awk '/MemTotal/ {m = int($2 / 1024); print (m > 65536 ? m : 65536)}' /proc/meminfo)
  ctld_port=$(free_port); slurmd_port=$(free_port); pg_port=$(free_port); mlflow_port=$(free_port)

  # munge: its own key and socket (a system munged, if any, is left alone)
  chmod 700 "$STATE/munge"
  dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$STATE/munge/munge.key"
  munged --force --key-file="$STATE/munge/munge.key" --socket="$STATE/munge/munge.socket" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/log/munged.log" --seed-file="$STATE/munge/seed"
  chmod 755 "$STATE/munge"  # clients (jobs run as root here, but any user) reach the socket

  # SLURM: slurmctld and slurmd on 127.0.0.1
  mkdir -p "$STATE/dev"
  for ((g = 0; g < gpus; g++)); do mknod "$STATE/dev/gpu$g" c 1 3; done
  for f in slurm.conf gres.conf; do
    sed -e "s|@LAST_GPU@|$((gpus - 1))|g" -e "s|@HOST@|$host|g" -e "s|@STATE@|$STATE|g" -e "s|@CTLD_PORT@|$ctld_port|g" \
      -e "s|@SLURMD_PORT@|$slurmd_port|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM_MB@|$mem|g" -e "s|@GPUS@|$gpus|g" \
      "$HERE/$f.in" >"$STATE/$f"
  done
  export SLURM_CONF="$STATE/slurm.conf"
  slurmctld -c -f "$SLURM_CONF"   # -c: a clean start, no state from an earlier cluster
  slurmd -f "$SLURM_CONF"
  wait_for 60 "the SLURM node" sh -c "sinfo -h -N -o %t -p gpu | grep -qE '^(idle|mix|alloc)'"

  # PostgreSQL: a cluster of its own, owned by postgres, on 127.0.0.1 and a socket in $STATE
  PG_BIN=$(pg_bin)
  install -d -o postgres -g postgres "$STATE/pg" "$STATE/pgsock"
  chown postgres "$STATE/log"
  su postgres -s /bin/sh -c "'$PG_BIN/initdb' -D '$STATE/pg' -U postgres -A trust --no-sync" >"$STATE/log/initdb.log"
  su postgres -s /bin/sh -c "'$PG_BIN/pg_ctl' -D '$STATE/pg' -l '$STATE/log/postgresql.log' -w \
    -o \"-h 127.0.0.1 -p $pg_port -k $STATE/pgsock\" start" >/dev/null
  su postgres -s /bin/sh -c "'$PG_BIN/psql' -h 127.0.0.1 -p $pg_port -U postgres -q \
    -c \"CREATE USER tpb PASSWORD 'tpb'\" -c 'CREATE DATABASE mlflow OWNER tpb'"

  # the MLflow tracking server: PostgreSQL backend store, artifacts served (proxied) from $STATE
  local store="postgresql://tpb:tpb@127.0.0.1:$pg_port/mlflow"
  cat >"$STATE/env.sh" <<EOF
export SLURM_CONF=$STATE/slurm.conf
export TPB_CLUSTER_STATE=$STATE
export TPB_CLUSTER_ROOT=$ROOT
export TPB_CLUSTER_STORE=$store
export TPB_CLUSTER_MLFLOW_PORT=$mlflow_port
export TPB_SBATCH_LOG=$STATE/sbatch.jsonl
export MLFLOW_TRACKING_URI=http://127.0.0.1:$mlflow_port
export PATH=$STATE/bin:$ROOT/.venv/bin:\$PATH
EOF
  # sbatch on PATH logs each submission's argv (the test reads them), then runs the real sbatch
  cat >"$STATE/bin/sbatch" <<EOF
#!$PY
import json, os, sys
with open("$STATE/sbatch.jsonl", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
os.execv("$(command -v sbatch)", ["sbatch", *sys.argv[1:]])
EOF
  # srun inside a job: the SLURM executor clears every SLURM_* variable when Snakemake starts in a
  # job (SLURM_CONF too), and this cluster's slurm.conf is not at the default path (on a real cluster
  # it is, or comes configless from slurmctld): this shim names it again
  printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$STATE/slurm.conf" "$(command -v srun)" >"$STATE/bin/srun"
  chmod 755 "$STATE/bin/sbatch" "$STATE/bin/srun"
  mlflow_start
  log "up: SLURM (partitions cpu, gpu with $gpus stand-in GPUs), PostgreSQL :$pg_port, MLflow http://127.0.0.1:$mlflow_port"
  log "source $STATE/env.sh to use it"
}

mlflow_start() {  # also used by the tests to bring the server back after stopping it
  # shellcheck disable=SC1091
  source "$STATE/env.sh"
  setsid "$PY" -m mlflow server --backend-store-uri "$TPB_CLUSTER_STORE" \
    --artifacts-destination "$STATE/artifacts" --host 127.0.0.1 --port "$TPB_CLUSTER_MLFLOW_PORT" \
    --workers 2 >>"$STATE/log/mlflow.log" 2>&1 </dev/null &
  echo $! >"$STATE/mlflow.pid"
  wait_for 120 "the MLflow server" "$PY" -c \
    "import urllib.request; urllib.request.urlopen('$MLFLOW_TRACKING_URI/health', timeout=2)"
}

mlflow_stop() {  # the server's whole process group (uvicorn workers), by the pid it was started with
  [[ -f $STATE/mlflow.pid ]] || return 0
  local pid; pid=$(cat "$STATE/mlflow.pid")
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$STATE/mlflow.pid"
}

stop_pidfile() {  # stop_pidfile FILE: the daemon whose pid FILE holds, waited for
  [[ -f $1 ]] || return 0
  local pid; pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [[ -d $STATE ]] || return 0
  export SLURM_CONF="$STATE/slurm.conf"
  # jobs still queued or running on this cluster: cancelled (they are ours: the cluster is)
  [[ -f $STATE/slurmctld.pid ]] && scancel --full --quiet --user=root 2>/dev/null || true
  mlflow_stop
  if [[ -f $STATE/pg/postmaster.pid ]]; then
    su postgres -s /bin/sh -c "'$(pg_bin)/pg_ctl' -D '$STATE/pg' -m fast -w stop" >/dev/null 2>&1 || true
  fi
  stop_pidfile "$STATE/slurmd.pid"
  stop_pidfile "$STATE/slurmctld.pid"
  stop_pidfile "$STATE/munge/munged.pid"
  rm -rf "$STATE"
  log "down: stopped, $STATE removed"
}

all() {
  local t0=$SECONDS
  [[ ${TPB_CLUSTER_NO_INSTALL:-0} == 1 ]] || install_packages
  [[ ${TPB_CLUSTER_KEEP:-0} == 1 ]] || trap down EXIT  # KEEP=1: left up, to rerun tests by hand
  trap 'exit 143' TERM INT  # killed: still through the EXIT trap
  up
  log "up in $((SECONDS - t0)) s; running pytest -m cluster"
  # shellcheck disable=SC1091
  source "$STATE/env.sh"
  cd "$ROOT"
  # shellcheck disable=SC2086
  "$PY" -m pytest -m cluster tests/test_cluster.py -v -p no:cacheprovider ${PYTEST_ARGS:-}
  log "passed in $((SECONDS - t0)) s"
}

case "${1:-all}" in
  all) all ;;
  install) install_packages ;;
  up) up ;;
  down) down ;;
  mlflow-start) mlflow_start ;;
  mlflow-stop) mlflow_stop ;;
  *) echo "usage: $0 [all|install|up|down|mlflow-start|mlflow-stop]" >&2; exit 2 ;;
esac
