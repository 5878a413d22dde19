#!/bin/sh
# start-nginx.sh (cdk8s-wireguard-gateway): the nginx container's entry point.
#   1. writes nginx's resolver (the addresses start.env names, or the pod's nameservers
#      from /etc/resolv.conf) and, with metrics, the listen line of /metrics (POD_IP);
#   2. starts nginx from a copy of the mounted nginx.conf, and stays as its parent;
#   3. when the agent asks for a reload (a request file in the shared emptyDir), checks
#      the new nginx.conf with nginx -t, sends SIGHUP, checks that new workers started
#      (nginx keeps its old configuration silently when a reload fails), and answers;
#   4. with metrics, renames nginx's sessions log for the agent when it grows.
# SIGTERM and SIGQUIT go to nginx; the container ends with nginx.
#
# The same file for every gateway; start.env, read once at start, holds what differs
# (the resolver, the metrics port). Every path can be redirected through the environment.
set -u
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
STATE_DIR="${STATE_DIR:-/run/wireguard-gateway}"
RUN_DIR="${RUN_DIR:-/tmp/nginx}"
PROC="${PROC:-/proc}"
RESOLV_CONF="${RESOLV_CONF:-/etc/resolv.conf}"
RELOAD_REQUEST="${RELOAD_REQUEST:-$STATE_DIR/reload-request}"
RELOAD_RESULT="${RELOAD_RESULT:-$STATE_DIR/reload-result}"
SESSIONS_LOG="${SESSIONS_LOG:-$STATE_DIR/sessions.log}"
RESOLVER_INCLUDE="${RESOLVER_INCLUDE:-$RUN_DIR/resolver.conf}"
METRICS_LISTEN_INCLUDE="${METRICS_LISTEN_INCLUDE:-$RUN_DIR/metrics-listen.conf}"
RELOAD_LOG="${RELOAD_LOG:-$RUN_DIR/reload.log}"
# The sessions log is renamed for the agent at this size; emptied at the second if the
# agent has not read the last one yet (the emptyDir stays bounded).
SESSIONS_LOG_ROTATE_BYTES="${SESSIONS_LOG_ROTATE_BYTES:-1048576}"
SESSIONS_LOG_DROP_BYTES="${SESSIONS_LOG_DROP_BYTES:-4194304}"

log() { echo "start-nginx: $*" >&2; }
fail() { log "$*"; exit 1; }

# setting NAME: the value of NAME in start.env ("name=value" lines), read once, at start.
setting() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$CONFIG_DIR/start.env"; }
if ! { addresses=$(setting resolver_addresses) && valid=$(setting resolver_valid_seconds) && ipv6=$(setting resolver_ipv6) \
  && timeout=$(setting resolver_timeout_seconds) && metrics_port=$(setting metrics_port); }; then
  fail "$CONFIG_DIR/start.env lacks a resolver or metrics setting: is it a configuration this library wrote?"
fi
number() { case $1 in "" | *[!0-9]*) return 1 ;; esac; }
{ number "$valid" && number "$timeout"; } || fail "start.env: resolver_valid_seconds \"$valid\" or resolver_timeout_seconds \"$timeout\" is not a number"
case $ipv6 in on | off) ;; *) fail "start.env: resolver_ipv6 \"$ipv6\" is neither on nor off" ;; esac
[ -z "$metrics_port" ] || number "$metrics_port" || fail "start.env: metrics_port \"$metrics_port\" is not a number"

# 1. nginx's resolver. Only plain IPv4 and IPv6 addresses are taken, from either file:
# nothing in them can add a directive.
servers() {
  awk '$1 == "nameserver" && ($2 ~ /^[0-9.]+$/ || ($2 ~ /:/ && $2 ~ /^[0-9a-fA-F:.]+$/)) {
    a = $2; if (a ~ /:/) a = "[" a "]"; printf "%s ", a }'
}
if [ -n "$addresses" ]; then
  servers=$(echo "$addresses" | awk '{ for (i = 1; i <= NF; i++) print "nameserver", $i }' | servers)
  [ "$(echo "$servers" | wc -w)" = "$(echo "$addresses" | wc -w)" ] \
    || fail "start.env: resolver_addresses \"$addresses\" holds something that is not an IP address"
else
  servers=$(servers < "$RESOLV_CONF")
  [ -n "$servers" ] || fail "no usable nameserver in $RESOLV_CONF; set resolverAddresses on the WireguardGateway"
fi
printf 'resolver %svalid=%ss ipv6=%s;\nresolver_timeout %ss;\n' "$servers" "$valid" "$ipv6" "$timeout" > "$RESOLVER_INCLUDE" \
  || fail "cannot write $RESOLVER_INCLUDE"
log "resolver ${servers}valid=${valid}s ipv6=$ipv6, timeout ${timeout}s"

# With metrics, they are served on the pod's own address only (POD_IP, from the downward API).
if [ -n "$metrics_port" ]; then
  case ${POD_IP:-} in
    '' | *[!0-9a-fA-F.:]*) fail "POD_IP is \"${POD_IP:-}\", not an IP address: the Deployment sets it from the pod's status.podIP" ;;
    *:*) printf 'listen [%s]:%s;\n' "$POD_IP" "$metrics_port" > "$METRICS_LISTEN_INCLUDE" ;;
    *) printf 'listen %s:%s;\n' "$POD_IP" "$metrics_port" > "$METRICS_LISTEN_INCLUDE" ;;
  esac || fail "cannot write $METRICS_LISTEN_INCLUDE"
fi

# 2. nginx runs from a copy, so that a reload reads exactly the configuration the
# agent applied to wg0, not a newer one the kubelet mounted meanwhile.
serving=$(readlink "$CONFIG_DIR/..data" 2>/dev/null) || serving=""
src="$CONFIG_DIR/${serving:+$serving/}nginx.conf"
cp "$src" "$RUN_DIR/nginx.conf" || fail "cannot copy $src to $RUN_DIR"
nginx -e stderr -c "$RUN_DIR/nginx.conf" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
trap 'kill -QUIT "$pid" 2>/dev/null' QUIT

# 3. Reloads. workers: the PIDs whose parent is nginx's master (/proc, whatever the command names).
workers() {
  cat "$PROC"/[0-9]*/stat 2>/dev/null \
    | awk -v p="$pid" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[2] == p) print $1 }' | sort
}
answer() { printf '%s\n' "$*" > "$RELOAD_RESULT.tmp" && mv -f "$RELOAD_RESULT.tmp" "$RELOAD_RESULT"; }
# reload GEN ID: nginx -t on that generation's nginx.conf, SIGHUP, and new workers, or say why not.
reload() {
  case $1 in ..[0-9]*) ;; *) answer "$1 failed not a configuration generation"; return ;; esac
  if [ "$1" = "$serving" ]; then answer "$1 ok already serving it"; return; fi
  new="$RUN_DIR/nginx.conf.new"
  if ! cp "$CONFIG_DIR/$1/nginx.conf" "$new" 2>/dev/null; then
    answer "$1 failed its files are gone (the kubelet mounted a newer configuration)"; return
  fi
  # A reload leaves the old workers with their sessions: never reload for nothing.
  if cmp -s "$new" "$RUN_DIR/nginx.conf"; then serving=$1; answer "$1 ok nginx.conf unchanged, no reload"; return; fi
  if ! out=$(nginx -t -q -e stderr -c "$new" 2>&1); then
    why=$(printf '%s\n' "$out" | grep -m 1 '\[emerg\]' | sed 's/^.*\[emerg\] [0-9#]*: //')
    log "config $2 rejected by nginx -t: ${why:-$out}; still serving the previous one"
    answer "$1 failed nginx -t: ${why:-$out}"; return
  fi
  before=$(workers)
  cp "$RUN_DIR/nginx.conf" "$RUN_DIR/nginx.conf.prev" && mv -f "$new" "$RUN_DIR/nginx.conf"
  : > "$RELOAD_LOG"
  kill -HUP "$pid"
  i=0
  while [ "$i" -lt 50 ]; do
    started=$(workers | awk -v old="$before" 'BEGIN { n = split(old, o, "\n"); for (k = 1; k <= n; k++) was[o[k]] = 1 } !($1 in was) { printf "%s ", $1 }')
    if [ -n "$started" ]; then
      serving=$1
      log "config $2 loaded: new workers ${started% }"
      answer "$1 ok reloaded, new workers ${started% }"; return
    fi
    i=$((i + 1)); sleep 0.1
  done
  mv -f "$RUN_DIR/nginx.conf.prev" "$RUN_DIR/nginx.conf"
  why=$(grep -m 1 '\[emerg\]' "$RELOAD_LOG" | sed 's/^.*\[emerg\] [0-9#]*: //')
  log "config $2 not loaded: no new workers within 5 s after SIGHUP (${why:-see the log above}); still serving the previous one"
  answer "$1 failed reload: no new workers within 5 s (${why:-nginx logged no reason})"
}

# 4. The sessions log (metrics): renamed to sessions.log.old for the agent once it reaches
# SESSIONS_LOG_ROTATE_BYTES, and nginx told to reopen its logs; the agent counts the old
# file and deletes it. Never more than one old file: if the agent has not read it yet,
# the log is emptied at SESSIONS_LOG_DROP_BYTES, so the emptyDir stays bounded.
rotate_sessions() {
  [ -f "$SESSIONS_LOG" ] || return 0
  size=$(wc -c < "$SESSIONS_LOG")
  [ "$size" -ge "$SESSIONS_LOG_ROTATE_BYTES" ] || return 0
  if [ -e "$SESSIONS_LOG.old" ]; then
    if [ "$size" -ge "$SESSIONS_LOG_DROP_BYTES" ]; then
      : > "$SESSIONS_LOG"
      log "emptied $SESSIONS_LOG ($size bytes): the agent has not read $SESSIONS_LOG.old; the sessions in it are not counted"
    fi
    return 0
  fi
  mv -f "$SESSIONS_LOG" "$SESSIONS_LOG.old" && kill -USR1 "$pid" && touch "$SESSIONS_LOG.old" \
    && log "rotated the sessions log at $size bytes: the agent counts $SESSIONS_LOG.old, then deletes it"
}

handled=""
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "$RELOAD_REQUEST" ]; then
    read -r gen id < "$RELOAD_REQUEST" || :
    if [ -n "${gen:-}" ] && [ "$gen" != "$handled" ]; then handled=$gen; reload "$gen" "${id:-unknown}"; fi
  fi
  if [ -n "$metrics_port" ]; then rotate_sessions; fi
  sleep 0.25 & wait $! || :
done
wait "$pid"
