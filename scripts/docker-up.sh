#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock (or $DOCKER_HOST). Starts `dockerd` in
# the background when none does, logging to $VEER_DOCKERD_LOG, and never starts a second one:
# a lock serialises concurrent callers and a live pid in /var/run/docker.pid is waited for.
# Flags: defaults first (overlay2, bridge, iptables work on these machines); if dockerd dies at
# start, it retries with --iptables=false, then with the vfs storage driver as well.
set -euo pipefail

LOG="${VEER_DOCKERD_LOG:-/var/log/veer-dockerd.log}"
WAIT_S="${VEER_DOCKERD_WAIT_S:-60}"
PIDFILE=/var/run/docker.pid
LOCK=/tmp/veer-dockerd.lock
# The pid of a dockerd this script started: only such an engine may be restarted by a test.
STARTED=/tmp/veer-dockerd.started

log() { printf '[docker-up] %s\n' "$*"; }
die() { printf '[docker-up] ERROR: %s\n' "$*" >&2; exit 1; }

answers() { timeout 10 docker info >/dev/null 2>&1; }

pid_alive() {
  [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# Waits up to WAIT_S seconds for the engine; returns 1 early if the given dockerd pid died.
wait_engine() {
  local pid="${1:-}" i
  for ((i = 0; i < WAIT_S * 2; i++)); do
    answers && return 0
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.5
  done
  return 1
}

start_dockerd() {
  local pid
  log "starting dockerd $* (log: $LOG)"
  printf '\n==== %s dockerd %s\n' "$(date -Is)" "$*" >>"$LOG"
  # setsid: the engine must outlive this script and the test run's process group.
  setsid dockerd "$@" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  if wait_engine "$pid"; then
    log "dockerd (pid $pid) is up"
    echo "$pid" >"$STARTED"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    die "dockerd (pid $pid) did not answer within ${WAIT_S}s; see $LOG"
  fi
  log "dockerd $* exited during start-up:"
  tail -n 5 "$LOG" | sed 's/^/    /'
  return 1
}

main() {
  command -v docker >/dev/null || die "docker CLI not installed (apt-get install -y docker.io)"
  if answers; then log "engine already answering"; return 0; fi
  [[ -n "${DOCKER_HOST:-}" ]] && die "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local dockerd"
  command -v dockerd >/dev/null || die "dockerd not installed (apt-get install -y docker.io)"
  [[ "$(id -u)" == 0 ]] || die "starting dockerd needs root"

  exec 9>"$LOCK"
  flock -w "$((WAIT_S + 30))" 9 || die "another caller holds $LOCK"
  answers && { log "engine came up meanwhile"; return 0; }
  if pid_alive; then
    log "dockerd pid $(cat "$PIDFILE") exists but does not answer yet; waiting"
    wait_engine "$(cat "$PIDFILE")" && return 0
    die "existing dockerd pid $(cat "$PIDFILE") does not answer; see $LOG"
  fi
  start_dockerd && return 0
  start_dockerd --iptables=false && return 0
  start_dockerd --iptables=false --storage-driver=vfs && return 0
  die "dockerd could not start with any flag set; see $LOG"
}

main "$@"
