#!/usr/bin/env bash
# A real Label Studio server for expert review, in its own virtual environment (its pins clash
# with Prefect's), started headless on 127.0.0.1 with a preset admin and API token.
#
#   scripts/label_studio.sh install   .venv-labelstudio from scripts/labelstudio.lock (label-studio
#                                     1.23.2, playwright), Debian chromium for screenshots if absent
#   scripts/label_studio.sh up        install if needed, start the server, wait until /health is UP
#   scripts/label_studio.sh env       print the exports that point medsg at this server
#   scripts/label_studio.sh status    say whether the server this script started is up
#   scripts/label_studio.sh down      stop the server (only the PID this script started)
#
# Settings (environment):
#   MEDSG_LS_DIR            state: database, media, logs, PID, generated credentials
#                           (default .labelstudio-local)
#   MEDSG_LS_PORT           port on 127.0.0.1 (default 8089)
#   MEDSG_LS_DOCUMENT_ROOT  local-files document root: the build folders whose images are
#                           reviewed must lie under it (default: this repository)
#   MEDSG_LS_ADMIN_EMAIL    admin login (default admin@medsg.local)
#   MEDSG_LS_ADMIN_PASSWORD admin password   } taken from the environment; when unset, generated
#   LABEL_STUDIO_API_KEY    admin API token  } once into $MEDSG_LS_DIR/credentials.env (mode 600)
# No secret is committed: the credentials file lives in the state folder, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${MEDSG_LS_DIR:-$ROOT/.labelstudio-local}
PORT=${MEDSG_LS_PORT:-8089}
DOCROOT=${MEDSG_LS_DOCUMENT_ROOT:-$ROOT}
VENV=$ROOT/.venv-labelstudio
LOCK=$ROOT/scripts/labelstudio.lock
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
URL=http://127.0.0.1:$PORT
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
DOCROOT=$(cd "$DOCROOT" && pwd)

log() { echo "label_studio: $*"; }
die() { echo "label_studio: $*" >&2; exit 1; }

install_browser() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if ! command -v apt-get >/dev/null; then
    log "no /usr/bin/chromium and no apt-get: the screenshot check will be skipped"
    return 0
  fi
  log "installing Debian chromium (for the labeling-page screenshot)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >"$STATE/apt.log" 2>&1 || true
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$STATE/apt.log" 2>&1 \
    || { tail -20 "$STATE/apt.log" >&2; die "apt-get install chromium failed (log: $STATE/apt.log)"; }
}

install() {
  local want stamp=$VENV/.medsg-installed
  want=$(sha256sum "$LOCK" | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/label-studio" ]; then
    install_browser
    return 0
  fi
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  log "installing label-studio $(grep '^label-studio==' "$LOCK" | cut -d= -f3) and" \
      "$(grep -c '==' "$LOCK") pinned packages into $VENV (a few minutes the first time)"
  "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps -r "$LOCK" \
    >"$STATE/pip.log" 2>&1 || { grep -v '^WARNING: Location' "$STATE/pip.log" | tail -20 >&2
                                die "pip install failed (log: $STATE/pip.log)"; }
  "$VENV/bin/python" -c 'import label_studio, playwright' || die "the install does not import"
  echo "$want" >"$stamp"
  install_browser
}

cred_value() {  # KEY's value in the credentials file: KEY=VALUE lines, read, never run as code
  local key=$1 line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in "$key="*) printf '%s' "${line#*=}"; return 0 ;; esac
  done <"$2"
}

credentials() {  # admin email, password and token: from the environment, else generated once
  local file=$STATE/credentials.env mode
  local GEN_ADMIN_EMAIL= GEN_ADMIN_PASSWORD= GEN_API_KEY=
  if [ -f "$file" ]; then
    mode=$(stat -c %a "$file")
    if [ "$mode" != 600 ]; then  # readable by others (copied, restored, umask): fix it, say so
      chmod 600 "$file"
      log "$file had mode $mode: set to 600 (it holds the admin password and token)" >&2
    fi
    GEN_ADMIN_EMAIL=$(cred_value GEN_ADMIN_EMAIL "$file")
    GEN_ADMIN_PASSWORD=$(cred_value GEN_ADMIN_PASSWORD "$file")
    GEN_API_KEY=$(cred_value GEN_API_KEY "$file")
  fi
  ADMIN_EMAIL=${MEDSG_LS_ADMIN_EMAIL:-${GEN_ADMIN_EMAIL:-admin@medsg.local}}
  ADMIN_PASSWORD=${MEDSG_LS_ADMIN_PASSWORD:-${GEN_ADMIN_PASSWORD:-}}
  TOKEN=${LABEL_STUDIO_API_KEY:-${GEN_API_KEY:-}}
  case "$ADMIN_EMAIL$ADMIN_PASSWORD$TOKEN" in
    *$'\n'*|*$'\r'*) die "the admin email, password or token holds a line break: refused" ;;
  esac
  if [ -z "$ADMIN_PASSWORD" ] || [ -z "$TOKEN" ]; then
    [ -n "$ADMIN_PASSWORD" ] || ADMIN_PASSWORD=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')
    [ -n "$TOKEN" ] || TOKEN=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(20))')
    (umask 077; printf 'GEN_ADMIN_EMAIL=%s\nGEN_ADMIN_PASSWORD=%s\nGEN_API_KEY=%s\n' \
      "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$TOKEN" >"$file")
    chmod 600 "$file"
    log "generated admin credentials into $file" >&2
  fi
}

alive() { [ -f "$STATE/server.pid" ] && kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; }

healthy() { curl -fsS --max-time 3 "$URL/health" 2>/dev/null | grep -q '"UP"'; }

up() {
  install
  credentials
  if alive; then
    healthy && { log "already up on $URL"; return 0; }
  elif healthy; then
    die "port $PORT already serves a Label Studio that this script did not start; set MEDSG_LS_PORT"
  else
    mkdir -p "$STATE/data" "$STATE/home"
    log "starting on $URL (document root $DOCROOT, log: $STATE/server.log)"
    # A clean environment: the server also reads un-prefixed HOST, PORT, USERNAME... variables.
    # set -m puts the server in its own process group, so `down` signals exactly what it started.
    set -m
    env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$STATE/home" LANG=C.UTF-8 \
      LABEL_STUDIO_BASE_DATA_DIR="$STATE/data" \
      LABEL_STUDIO_USERNAME="$ADMIN_EMAIL" LABEL_STUDIO_PASSWORD="$ADMIN_PASSWORD" \
      LABEL_STUDIO_USER_TOKEN="$TOKEN" LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
      LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true \
      LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true \
      LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT="$DOCROOT" \
      LABEL_STUDIO_LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false SENTRY_DSN= \
      "$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$PORT" \
      --host "$URL" >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/server.pid"
    set +m
    echo "$PORT" >"$STATE/port"
    echo "$DOCROOT" >"$STATE/document_root"
  fi
  local t0=$SECONDS
  until healthy; do
    alive || { tail -30 "$STATE/server.log" >&2; die "the server exited while starting (log: $STATE/server.log)"; }
    [ $((SECONDS - t0)) -lt "${MEDSG_LS_START_TIMEOUT:-240}" ] \
      || { tail -30 "$STATE/server.log" >&2; die "not UP at $URL/health after $((SECONDS - t0)) s (log: $STATE/server.log)"; }
    sleep 1
  done
  log "up on $URL after $((SECONDS - t0)) s. Point medsg at it: eval \"\$(scripts/label_studio.sh env)\""
}

env_exports() {  # each value shell-quoted (%q): safe to eval whatever characters it holds
  credentials
  printf 'export MEDSG_LS_URL=%q MEDSG_LS_DOCUMENT_ROOT=%q LABEL_STUDIO_API_KEY=%q' \
    "$URL" "$DOCROOT" "$TOKEN"
  printf ' MEDSG_LS_ADMIN_EMAIL=%q MEDSG_LS_ADMIN_PASSWORD=%q\n' "$ADMIN_EMAIL" "$ADMIN_PASSWORD"
}

down() {
  if ! alive; then rm -f "$STATE/server.pid"; log "not running"; return 0; fi
  local pid
  pid=$(cat "$STATE/server.pid")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" || true; fi
  rm -f "$STATE/server.pid"
  log "stopped"
}

case "${1:-}" in
  install) install ;;
  up) up ;;
  down) down ;;
  env) env_exports ;;
  status) if alive && healthy; then log "up on $URL"; else log "down"; exit 1; fi ;;
  *) sed -n '2,22p' "$0"; exit 2 ;;
esac
