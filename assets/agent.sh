#!/bin/sh
# agent.sh (cdk8s-wireguard-gateway): the gateway's agent, container wireguard-agent
# (root with NET_ADMIN only). Every second it reads which configuration the kubelet
# has mounted (the ConfigMap volume's ..data link) and, when it changed, applies it
# to the running pod:
#   1. init.sh check, then init.sh apply: wg0's peers, MTU, new service addresses, peer routes;
#   2. asks nginx to reload (a request file in the shared emptyDir) and waits for its answer;
#   3. on success keeps a copy of that configuration, whose prune step then removes old
#      service addresses once no socket uses them; on any failure puts wg0 back to the
#      last configuration that applied. One log line per change, with the configuration's id.
# With metrics, it also runs metrics.sh every few seconds (see "Metrics" below).
#
#   agent.sh          the container's entry point
#   agent.sh ready    the readiness probe, against the configuration that applied last
#
# The same file for every gateway; start.env, read once at start, holds what differs
# (live updates on or off, metrics). Every path can be redirected through the environment.
set -u
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
STATE_DIR="${STATE_DIR:-/run/wireguard-gateway}"
AGENT_DIR="${AGENT_DIR:-/run/wireguard-agent}"
APPLIED_DIR="${APPLIED_DIR:-$AGENT_DIR/good}"
PSK_DIR="${PSK_DIR:-/run/secrets/wireguard-gateway-psk}"
PROC="${PROC:-/proc}"
RELOAD_REQUEST="${RELOAD_REQUEST:-$STATE_DIR/reload-request}"
RELOAD_RESULT="${RELOAD_RESULT:-$STATE_DIR/reload-result}"
METRICS_FILE="${METRICS_FILE:-$STATE_DIR/metrics.prom}"
# What init.sh and metrics.sh read: the copy the agent keeps of a configuration that applied.
APPLIED_FILES="init.sh wg0.conf routes.tsv peers.tsv live.env config-id"
# How long the agent waits for nginx to answer a reload request, in seconds.
ANSWER_SECONDS="${ANSWER_SECONDS:-20}"
# Set from start.env below; empty: no metrics.
METRICS_PORT=""

if [ "${1:-}" = ready ]; then
  [ -f "$APPLIED_DIR/init.sh" ] || { echo "not ready: no configuration applied yet"; exit 1; }
  CONFIG_DIR="$APPLIED_DIR" exec sh "$APPLIED_DIR/init.sh" ready
fi

log() {
  echo "agent: $*"
  if [ -n "$METRICS_PORT" ]; then tally "$*"; fi
}
now_ms() { awk '{ printf "%d", $1 * 1000 }' "$PROC/uptime"; }
config_id() { head -c 16 "$1/config-id" 2>/dev/null || echo unknown; }
last_line() { printf '%s\n' "$1" | tail -n 1; }
trap 'log "stopping"; exit 0' TERM INT
pause() { sleep "$1" & wait $! || :; }

# setting NAME: the value of NAME in start.env ("name=value" lines), read once, at start.
setting() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$CONFIG_DIR/start.env"; }
if ! { LIVE=$(setting live_updates) && METRICS_PORT=$(setting metrics_port) && METRICS_REFRESH=$(setting metrics_refresh_seconds); }; then
  log "$CONFIG_DIR/start.env lacks live_updates, metrics_port or metrics_refresh_seconds: is it a configuration this library wrote?"
  exit 1
fi
case $LIVE in 0 | 1) ;; *) log "start.env: live_updates \"$LIVE\" is neither 0 nor 1"; exit 1 ;; esac
number() { case $1 in "" | *[!0-9]*) return 1 ;; esac; }
if [ -n "$METRICS_PORT" ] && ! { number "$METRICS_PORT" && number "$METRICS_REFRESH" && [ "$METRICS_REFRESH" -ge 1 ]; }; then
  log "start.env: metrics_port \"$METRICS_PORT\" or metrics_refresh_seconds \"$METRICS_REFRESH\" is not a number; nothing started"
  exit 1
fi

# What the kubelet has mounted: the ConfigMap generation and each preshared key's.
generation() { readlink "$CONFIG_DIR/..data" 2>/dev/null; }
fingerprint() {
  printf '%s' "$1"
  for d in "$PSK_DIR"/*; do readlink "$d/..data" 2>/dev/null; done
}

# The configuration that applied last, by id ("of the pod's start" until one did).
good_id=""
AT_START="of the pod's start"
if [ -f "$APPLIED_DIR/init.sh" ]; then good_id=$(config_id "$APPLIED_DIR"); fi
# rollback: wg0 back to the last configuration that applied; $restored says how it went,
# for the one log line of the change (written once wg0 is back, not before).
rollback() {
  if [ ! -f "$APPLIED_DIR/init.sh" ]; then
    restored="no earlier configuration to restore wg0 to"
  elif r_out=$(CONFIG_DIR="$APPLIED_DIR" sh "$APPLIED_DIR/init.sh" apply 2>&1); then
    restored="wg0 restored to config $good_id"
  else
    restored="restoring config $good_id failed too: $(last_line "$r_out")"
  fi
}
# keep DIR: remember the configuration in DIR as the last one that applied.
keep() {
  files=$APPLIED_FILES
  [ ! -f "$1/metrics.sh" ] || files="$files metrics.sh"
  # shellcheck disable=SC2086 # $files is a list of file names, split on purpose
  if ! { rm -rf "$APPLIED_DIR.new" && mkdir -p "$APPLIED_DIR.new" && (cd "$1" && cp $files "$APPLIED_DIR.new/") \
    && rm -rf "$APPLIED_DIR" && mv "$APPLIED_DIR.new" "$APPLIED_DIR"; }; then
    log "cannot keep a copy of config $(config_id "$1") in $APPLIED_DIR: a later rollback restores an older one"
  fi
  good_id=$(config_id "$1")
}

# start GEN: check and apply a configuration to wg0, then ask nginx to reload it.
pending=""
start() {
  gen=$1 dir="$CONFIG_DIR/$1"
  id=$(config_id "$dir") t0=$(now_ms)
  if ! out=$(CONFIG_DIR="$dir" sh "$dir/init.sh" check 2>&1); then
    log "config $id rejected, nothing applied: $(last_line "$out"); still serving config ${good_id:-$AT_START}"
    return
  fi
  if ! out=$(CONFIG_DIR="$dir" sh "$dir/init.sh" apply 2>&1); then
    why=$(last_line "$out")
    rollback
    log "config $id failed on wg0: $why; $restored"
    return
  fi
  summary=$(last_line "$out")
  if ! { printf '%s %s\n' "$gen" "$id" > "$RELOAD_REQUEST.tmp" && mv -f "$RELOAD_REQUEST.tmp" "$RELOAD_REQUEST"; }; then
    rollback
    log "config $id: cannot ask nginx to reload (writing $RELOAD_REQUEST failed); $restored"
    return
  fi
  pending=$gen pending_id=$id pending_dir=$dir pending_t0=$t0 pending_summary=${summary#apply: }
}

# answer: nginx's answer to the pending request, if it came; a timeout gives up waiting.
answer() {
  result=$(head -n 1 "$RELOAD_RESULT" 2>/dev/null) || result=""
  if [ "${result%% *}" = "$pending" ]; then
    status=${result#* }
    case $status in
      ok*)
        keep "$pending_dir"
        log "config $pending_id applied in $(($(now_ms) - pending_t0)) ms: $pending_summary; nginx: ${status#ok }" ;;
      *)
        rollback
        log "config $pending_id not applied: nginx: ${status#failed }; $restored" ;;
    esac
    pending=""
  elif [ $(($(now_ms) - pending_t0)) -gt $((ANSWER_SECONDS * 1000)) ]; then
    log "config $pending_id: nginx has not answered within $ANSWER_SECONDS s (is its container running?); wg0 has it, and nginx loads it when it starts"
    pending=""
  fi
}

# --- Metrics (metrics_port set): metrics.sh every metrics_refresh_seconds into
# $METRICS_FILE, which nginx serves.
# tally LINE: every configuration change ends with exactly one log line (applied,
# rejected, not applied, ...); log() passes each line here, so the counters and the
# log always agree. $AGENT_DIR/reloads: "applied rejected failed last-applied-time".
tally() {
  case $1 in
    "config "*" applied in "*) m_what=1 ;;
    "config "*" rejected"*) m_what=2 ;;
    "config "*" not applied"* | "config "*" failed on wg0"* | "config "*": cannot ask nginx"* | "config "*": nginx has not answered"*) m_what=3 ;;
    *) return 0 ;;
  esac
  read -r m_ok m_rej m_fail m_last 2>/dev/null < "$AGENT_DIR/reloads" || { m_ok=0 m_rej=0 m_fail=0 m_last=0; }
  case $m_what in
    1) m_ok=$((m_ok + 1)) m_last=$(date +%s) ;;
    2) m_rej=$((m_rej + 1)) ;;
    3) m_fail=$((m_fail + 1)) ;;
  esac
  printf '%s %s %s %s\n' "$m_ok" "$m_rej" "$m_fail" "$m_last" > "$AGENT_DIR/reloads.tmp" && mv -f "$AGENT_DIR/reloads.tmp" "$AGENT_DIR/reloads"
}
# metrics_loop: runs beside the agent and ends with it ($$ is the agent's own PID), from
# the copy of the configuration that last applied, or until one did, the pod's start.
metrics_loop() {
  m_err=""
  while kill -0 "$$" 2>/dev/null; do
    m_dir=$APPLIED_DIR; [ -f "$m_dir/metrics.sh" ] || m_dir="$AGENT_DIR/start"
    if m_out=$(APPLIED_DIR="$m_dir" sh "$m_dir/metrics.sh" 2>&1 > "$METRICS_FILE.tmp"); then
      mv -f "$METRICS_FILE.tmp" "$METRICS_FILE"
      [ -z "$m_err" ] || log "metrics: written again"
      m_err=""
    elif [ "${m_out:-failed}" != "$m_err" ]; then
      m_err=${m_out:-failed}
      log "metrics: metrics.sh failed, $METRICS_FILE keeps what it had: $(last_line "$m_err")"
    fi
    sleep "$METRICS_REFRESH"
  done
}
if [ -n "$METRICS_PORT" ]; then
  start_dir="$CONFIG_DIR/$(generation)"
  # shellcheck disable=SC2086 # $APPLIED_FILES is a list of file names, split on purpose
  if ! { mkdir -p "$AGENT_DIR/start" && (cd "$start_dir" && cp $APPLIED_FILES metrics.sh "$AGENT_DIR/start/"); }; then
    log "cannot copy metrics.sh and its data to $AGENT_DIR/start: no metrics until a configuration change applies"
  fi
  metrics_loop &
  log "metrics: metrics.sh every $METRICS_REFRESH s into $METRICS_FILE"
fi

gen=$(generation)
if [ -z "$gen" ]; then
  log "$CONFIG_DIR has no ..data link (a subPath mount, or not a ConfigMap volume): configuration changes apply when the pod restarts"
  LIVE=0
elif [ "$LIVE" = 0 ]; then
  log "configUpdates RESTART: a configuration change rolls the pod; serving config $(config_id "$CONFIG_DIR/$gen")"
fi
if [ "$LIVE" = 0 ]; then
  # What the pod started with is what it serves: the readiness probe checks that.
  keep "$CONFIG_DIR${gen:+/$gen}"
  while :; do pause 3600; done
fi

log "watching $CONFIG_DIR for configuration changes"
handled=""
while :; do
  if [ -n "$pending" ]; then
    answer
  else
    gen=$(generation)
    now=$(fingerprint "$gen")
    if [ -n "$gen" ] && [ "$now" != "$handled" ]; then
      handled=$now
      start "$gen"
    elif [ -f "$APPLIED_DIR/init.sh" ]; then
      CONFIG_DIR="$APPLIED_DIR" sh "$APPLIED_DIR/init.sh" prune 2>&1 | sed 's/^/agent: /'
    fi
  fi
  if [ -n "$pending" ]; then pause 0.2; else pause 1; fi
done
