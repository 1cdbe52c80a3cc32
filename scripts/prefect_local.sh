#!/usr/bin/env bash
# A local Prefect server and process worker on 127.0.0.1 for the deployments of prefect.yaml.
#
#   scripts/prefect_local.sh up        start server (SQLite), create the work pool, deploy, start a worker
#   scripts/prefect_local.sh run-demo  up if needed, then: prefect deployment run 'build-medsg/demo' --watch
#   scripts/prefect_local.sh env       print the exports that point a shell at this server
#   scripts/prefect_local.sh down      stop the worker, then the server (only the PIDs this script started)
#
# Settings: MEDSG_PREFECT_DIR (state, logs, PIDs; default .prefect-local), MEDSG_PREFECT_PORT (4200).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${MEDSG_PREFECT_DIR:-$ROOT/.prefect-local}
PORT=${MEDSG_PREFECT_PORT:-4200}
POOL=medsg-process
BIN=$ROOT/.venv/bin
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)

export PREFECT_HOME=$STATE/home
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_API_HOST=127.0.0.1
export PREFECT_SERVER_API_PORT=$PORT
export MEDSG_PROJECT_DIR=$ROOT

# Background jobs of a non-interactive shell start with SIGINT ignored, and the worker only
# stops cleanly on SIGINT: job control gives each job its own process group with default
# signal handling, so `down` can signal exactly the groups this script started.
set -m

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

healthy() { curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1; }

wait_healthy() {
  for _ in $(seq 1 120); do healthy && return 0; sleep 1; done
  echo "prefect_local: server not healthy on 127.0.0.1:$PORT after 120 s; see $STATE/server.log" >&2
  tail -20 "$STATE/server.log" >&2 || true
  return 1
}

stop_pid() {  # stop_pid <pidfile> <signal>: signal the process group this script started, wait
  local pidfile=$1 sig=$2 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" || true; fi
  rm -f "$pidfile"
}

up() {
  if ! alive "$STATE/server.pid"; then
    if healthy; then
      echo "prefect_local: port $PORT already serves a Prefect API that this script did not start;" \
           "set MEDSG_PREFECT_PORT to another port" >&2
      exit 1
    fi
    echo "prefect_local: starting server on http://127.0.0.1:$PORT (log: $STATE/server.log)"
    "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT" >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/server.pid"
  fi
  wait_healthy
  "$BIN/prefect" work-pool inspect "$POOL" >/dev/null 2>&1 \
    || "$BIN/prefect" work-pool create "$POOL" --type process >/dev/null
  "$BIN/prefect" --no-prompt deploy --all >"$STATE/deploy.log" 2>&1 \
    || { cat "$STATE/deploy.log" >&2; exit 1; }
  echo "prefect_local: deployments: $(grep -oE "'(build-medsg|sync-reviews)/[a-z0-9-]*'" "$STATE/deploy.log" | sort -u | tr '\n' ' ')"
  if ! alive "$STATE/worker.pid"; then
    echo "prefect_local: starting worker for pool $POOL (log: $STATE/worker.log)"
    "$BIN/prefect" worker start --pool "$POOL" >"$STATE/worker.log" 2>&1 &
    echo $! >"$STATE/worker.pid"
  fi
  echo "prefect_local: up. In another shell: eval \"\$(scripts/prefect_local.sh env)\""
}

down() {
  stop_pid "$STATE/worker.pid" INT   # the worker ignores SIGTERM for a while; SIGINT stops it
  stop_pid "$STATE/server.pid" TERM
  echo "prefect_local: stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export PREFECT_API_URL=$PREFECT_API_URL PREFECT_HOME=$PREFECT_HOME" ;;
  run-demo)
    up
    "$BIN/prefect" deployment run 'build-medsg/demo' --watch
    ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
