#!/bin/sh
# agent.sh (cdk8s-wireguard-gateway): the gateway's agent, container wireguard-agent
# (root with NET_ADMIN only). Every second it reads which configuration the kubelet
# has mounted (the ConfigMap volume's ..data link) and, when it changed, applies it
# to the running pod:
#   1. init.sh check: the configuration's files, as data; a bad one changes nothing;
#   2. init.sh restrict: wg0 drops the peers the configuration lacks, adds none; the
#      packet filter takes the configuration's routes;
#   3. asks nginx to reload (a request in $AGENT_OUT) and waits for its answer (in
#      $NGINX_OUT, read as data: never through a link, from a FIFO or unbounded);
#   4. when nginx serves it, init.sh apply adds the new peers, and the agent keeps a
#      copy of the configuration (for prune, the probe and the metrics).
# Nothing ever goes back: a failure, a refusal or a timeout leaves wg0 without the
# peers the newest configuration dropped, and without the ones it adds until nginx
# serves a configuration that has them. One log line per change, with its id.
# With metrics, it also runs metrics.sh every few seconds (see "Metrics" below).
#
#   agent.sh          the container's entry point
#   agent.sh ready    the readiness probe, against the configuration that applied last
#
# The same file for every gateway, run from the copy in $CODE_DIR that the container
# checked against the SHA-256 sum its Deployment names; init.sh and metrics.sh run
# from there too, never from a volume. start.env, copied and read once at start,
# holds what differs (live updates, metrics, the service network). Every path can be
# redirected through the environment.
set -u
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
CODE_DIR="${CODE_DIR:-/run/wireguard-agent/code}"
AGENT_DIR="${AGENT_DIR:-/run/wireguard-agent}"
APPLIED_DIR="${APPLIED_DIR:-$AGENT_DIR/good}"
AGENT_OUT="${AGENT_OUT:-/run/wireguard-gateway/agent-out}"
NGINX_OUT="${NGINX_OUT:-/run/wireguard-gateway/nginx-out}"
PSK_DIR="${PSK_DIR:-/run/secrets/wireguard-gateway-psk}"
PROC="${PROC:-/proc}"
RELOAD_REQUEST="${RELOAD_REQUEST:-$AGENT_OUT/reload-request}"
RELOAD_RESULT="${RELOAD_RESULT:-$NGINX_OUT/reload-result}"
METRICS_FILE="${METRICS_FILE:-$AGENT_OUT/metrics.prom}"
# What init.sh (prune, ready) and metrics.sh read: the copy the agent keeps of a configuration that applied.
APPLIED_FILES="wg0.conf routes.tsv peers.tsv live.env config-id"
# How long the agent waits for nginx to answer a reload request, in seconds.
ANSWER_SECONDS="${ANSWER_SECONDS:-20}"
# start.env as the agent read it when it started: init.sh checks every change against it.
export START_SETTINGS="$AGENT_DIR/start.env"
# Set from start.env below; empty: no metrics.
METRICS_PORT=""

if [ "${1:-}" = ready ]; then
  [ -f "$APPLIED_DIR/config-id" ] || { echo "not ready: no configuration applied yet"; exit 1; }
  CONFIG_DIR="$APPLIED_DIR" exec sh "$CODE_DIR/init.sh" ready
fi

log() { echo "agent: $*"; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' "$PROC/uptime"; }
config_id() { head -c 16 "$1/config-id" 2>/dev/null || echo unknown; }
last_line() { printf '%s\n' "$1" | tail -n 1; }
trap 'log "stopping"; exit 0' TERM INT
pause() { sleep "$1" & wait $! || :; }

# from_nginx FILE: what nginx wrote in FILE, at most 512 bytes, read within 2 s, and only
# if it is a regular file: nginx's volume is nginx's to fill, with a link to a file of
# the agent's, a FIFO that never ends, or a device. What it returns is data, compared
# with what the agent expects before anything uses it or logs it.
from_nginx() { [ -f "$1" ] && [ ! -L "$1" ] && timeout 2 head -c 512 "$1" 2>/dev/null; }
# printable TEXT: TEXT as a log may show it: printable ASCII, 200 characters at most.
printable() { printf '%s' "$1" | tr -c ' -~' '?' | cut -c 1-200; }
# write FILE TEXT: FILE replaced at once (a temporary file in the same directory, renamed).
write() { rm -f "$1.tmp" && printf '%s\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"; }

# setting NAME: the value of NAME in start.env ("name=value" lines), read once, at start.
setting() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$START_SETTINGS"; }
if ! { cp "$CONFIG_DIR/start.env" "$START_SETTINGS.new" && mv -f "$START_SETTINGS.new" "$START_SETTINGS"; }; then
  log "cannot copy $CONFIG_DIR/start.env to $START_SETTINGS; nothing started"
  exit 1
fi
if ! { LIVE=$(setting live_updates) && METRICS_PORT=$(setting metrics_port) && METRICS_REFRESH=$(setting metrics_refresh_seconds); }; then
  log "$CONFIG_DIR/start.env lacks live_updates, metrics_port or metrics_refresh_seconds: is it a configuration this library wrote?"
  exit 1
fi
case $LIVE in 0 | 1) ;; *) log "start.env: live_updates \"$(printable "$LIVE")\" is neither 0 nor 1"; exit 1 ;; esac
number() { case $1 in "" | *[!0-9]*) return 1 ;; esac; }
if [ -n "$METRICS_PORT" ] && ! { number "$METRICS_PORT" && number "$METRICS_REFRESH" && [ "$METRICS_REFRESH" -ge 1 ]; }; then
  log "start.env: metrics_port \"$(printable "$METRICS_PORT")\" or metrics_refresh_seconds \"$(printable "$METRICS_REFRESH")\" is not a number; nothing started"
  exit 1
fi

# What the kubelet has mounted: the ConfigMap generation and each preshared key's.
generation() {
  g=$(readlink "$CONFIG_DIR/..data" 2>/dev/null) || return 0
  case $g in ..[0-9]*) case $g in */* | *[!0-9A-Za-z._-]*) ;; *) echo "$g" ;; esac ;; esac
}
fingerprint() {
  printf '%s' "$1"
  for d in "$PSK_DIR"/*; do readlink "$d/..data" 2>/dev/null; done
}

# The configuration nginx serves and wg0 has in full, by id ("of the pod's start" until one applied).
good_id=""
AT_START="of the pod's start"
if [ -f "$APPLIED_DIR/config-id" ]; then good_id=$(config_id "$APPLIED_DIR"); fi
# keep DIR: remember the configuration in DIR as the one that applied last.
keep() {
  # shellcheck disable=SC2086 # $APPLIED_FILES is a list of file names, split on purpose
  if ! { rm -rf "$APPLIED_DIR.new" && mkdir -p "$APPLIED_DIR.new" && (cd "$1" && cp $APPLIED_FILES "$APPLIED_DIR.new/") \
    && rm -rf "$APPLIED_DIR" && mv "$APPLIED_DIR.new" "$APPLIED_DIR"; }; then
    log "cannot keep a copy of config $(config_id "$1") in $APPLIED_DIR: the probe and prune keep using the one before"
  fi
  good_id=$(config_id "$1")
}
# run_init MODE DIR: the checked init.sh, on the configuration in DIR.
run_init() { CONFIG_DIR="$2" sh "$CODE_DIR/init.sh" "$1" 2>&1; }

# outcome applied|rejected|failed LINE: every configuration change ends with exactly one
# log line; with metrics it is counted by its kind too, so the counters and the log agree.
outcome() {
  log "$2"
  if [ -n "$METRICS_PORT" ]; then tally "$1"; fi
}
# withheld: what a change that did not apply in full leaves, for its log line.
withheld() { echo "wg0 has only the peers both it and config ${good_id:-$AT_START} have; nginx serves config ${good_id:-$AT_START}"; }

# start GEN: check a configuration, drop from wg0 the peers it lacks, ask nginx to reload it.
pending=""
start() {
  gen=$1 dir="$CONFIG_DIR/$1"
  id=$(config_id "$dir") t0=$(now_ms)
  if ! out=$(run_init check "$dir"); then
    outcome rejected "config $id rejected, nothing applied: $(last_line "$out"); still serving config ${good_id:-$AT_START}"
    return
  fi
  if ! out=$(run_init restrict "$dir"); then
    outcome failed "config $id failed on wg0: $(last_line "$out"); wg0 keeps what it had; nginx serves config ${good_id:-$AT_START}"
    return
  fi
  restricted=${out##*restrict: }
  if ! write "$RELOAD_REQUEST" "$gen $id"; then
    outcome failed "config $id: cannot ask nginx to reload (writing $RELOAD_REQUEST failed); $(withheld)"
    return
  fi
  pending=$gen pending_id=$id pending_dir=$dir pending_t0=$t0
}

# answer: nginx's answer to the pending request, if it came: "<generation> ok|failed <why>",
# for that generation; anything else is no answer. A timeout gives up waiting.
answer() {
  result=$(from_nginx "$RELOAD_RESULT" | head -n 1) || result=""
  case $result in
    "$pending ok" | "$pending ok "*)
      why=$(printable "${result#"$pending ok"}")
      if out=$(run_init apply "$pending_dir"); then
        keep "$pending_dir"
        outcome applied "config $pending_id applied in $(($(now_ms) - pending_t0)) ms: ${out##*apply: }; nginx:${why:- ok}"
      else
        keep "$pending_dir"
        outcome failed "config $pending_id: nginx serves it, but adding its new peers to wg0 failed: $(last_line "$out")"
      fi
      pending="" ;;
    "$pending failed"*)
      outcome failed "config $pending_id not applied: nginx: $(printable "${result#"$pending failed "}"); $(withheld) ($restricted)"
      pending="" ;;
    *)
      if [ $(($(now_ms) - pending_t0)) -gt $((ANSWER_SECONDS * 1000)) ]; then
        outcome failed "config $pending_id: nginx has not answered within $ANSWER_SECONDS s (is its container running?); $(withheld) ($restricted)"
        pending=""
      fi ;;
  esac
}

# --- Metrics (metrics_port set): metrics.sh every metrics_refresh_seconds into
# $METRICS_FILE, which nginx serves.
# tally KIND: $AGENT_DIR/reloads holds "applied rejected failed last-applied-time".
tally() {
  read -r m_ok m_rej m_fail m_last 2>/dev/null < "$AGENT_DIR/reloads" || { m_ok=0 m_rej=0 m_fail=0 m_last=0; }
  case $1 in
    applied) m_ok=$((m_ok + 1)) m_last=$(date +%s) ;;
    rejected) m_rej=$((m_rej + 1)) ;;
    *) m_fail=$((m_fail + 1)) ;;
  esac
  write "$AGENT_DIR/reloads" "$m_ok $m_rej $m_fail $m_last"
}
# metrics_loop: runs beside the agent and ends with it ($$ is the agent's own PID), on
# the copy of the configuration that last applied, or until one did, the pod's start.
metrics_loop() {
  m_err=""
  while kill -0 "$$" 2>/dev/null; do
    m_dir=$APPLIED_DIR; [ -f "$m_dir/config-id" ] || m_dir="$AGENT_DIR/start"
    if m_out=$(APPLIED_DIR="$m_dir" sh "$CODE_DIR/metrics.sh" 2>&1 > "$METRICS_FILE.tmp"); then
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
  if ! { mkdir -p "$AGENT_DIR/start" && (cd "$start_dir" && cp $APPLIED_FILES "$AGENT_DIR/start/"); }; then
    log "cannot copy the data metrics.sh reads to $AGENT_DIR/start: no metrics until a configuration change applies"
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
    elif [ -f "$APPLIED_DIR/config-id" ]; then
      run_init prune "$APPLIED_DIR" | sed 's/^/agent: /'
    fi
  fi
  if [ -n "$pending" ]; then pause 0.2; else pause 1; fi
done
