#!/bin/sh
# start-nginx.sh (cdk8s-wireguard-gateway): the nginx container's entry point.
#   1. writes nginx's resolver (the addresses start.env names, or the pod's nameservers
#      from /etc/resolv.conf) and, with metrics, the listen line of /metrics (POD_IP);
#   2. checks the mounted nginx.conf as data (check_nginx_conf: only the directives and
#      value shapes the library writes, every route in the service network), starts
#      nginx from a copy of it, and stays as its parent;
#   3. when the agent asks for a reload (a request in $AGENT_OUT), checks the new
#      nginx.conf the same way and with nginx -t, sends SIGHUP, checks that new workers
#      started (nginx keeps its old configuration silently when a reload fails), and
#      answers in $NGINX_OUT;
#   4. with metrics, renames nginx's sessions log for the agent when it grows, and
#      deletes a renamed one once the agent says it has counted it.
# SIGTERM and SIGQUIT go to nginx; the container ends with nginx.
#
#   start-nginx.sh                the container's entry point
#   start-nginx.sh check FILE     check FILE as check_nginx_conf does; change nothing
#
# The same file for every gateway, run from the copy the container checked against the
# SHA-256 sum its Deployment names. start.env, read once at start, holds what differs
# (the resolver, the metrics port, the service network). Every path can be redirected
# through the environment.
set -u
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
AGENT_OUT="${AGENT_OUT:-/run/wireguard-gateway/agent-out}"
NGINX_OUT="${NGINX_OUT:-/run/wireguard-gateway/nginx-out}"
RUN_DIR="${RUN_DIR:-/tmp/nginx}"
PROC="${PROC:-/proc}"
RESOLV_CONF="${RESOLV_CONF:-/etc/resolv.conf}"
RELOAD_REQUEST="${RELOAD_REQUEST:-$AGENT_OUT/reload-request}"
METRICS_FILE="${METRICS_FILE:-$AGENT_OUT/metrics.prom}"
SESSIONS_READ="${SESSIONS_READ:-$AGENT_OUT/sessions-read}"
RELOAD_RESULT="${RELOAD_RESULT:-$NGINX_OUT/reload-result}"
SESSIONS_LOG="${SESSIONS_LOG:-$NGINX_OUT/sessions.log}"
RESOLVER_INCLUDE="${RESOLVER_INCLUDE:-$RUN_DIR/resolver.conf}"
METRICS_LISTEN_INCLUDE="${METRICS_LISTEN_INCLUDE:-$RUN_DIR/metrics-listen.conf}"
RELOAD_LOG="${RELOAD_LOG:-$RUN_DIR/reload.log}"
# The sessions log is renamed for the agent at this size; emptied at the second if the
# agent has not counted the last one yet (the emptyDir stays bounded).
SESSIONS_LOG_ROTATE_BYTES="${SESSIONS_LOG_ROTATE_BYTES:-1048576}"
SESSIONS_LOG_DROP_BYTES="${SESSIONS_LOG_DROP_BYTES:-4194304}"

log() { echo "start-nginx: $*" >&2; }
fail() { log "$*"; exit 1; }

# setting NAME: the value of NAME in start.env ("name=value" lines), read once, at start.
setting() { awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$CONFIG_DIR/start.env"; }
if ! { addresses=$(setting resolver_addresses) && valid=$(setting resolver_valid_seconds) && ipv6=$(setting resolver_ipv6) \
  && timeout=$(setting resolver_timeout_seconds) && metrics_port=$(setting metrics_port) && network=$(setting service_network); }; then
  fail "$CONFIG_DIR/start.env lacks a resolver, metrics or service_network setting: is it a configuration this library wrote?"
fi
number() { case $1 in "" | *[!0-9]*) return 1 ;; esac; }
{ number "$valid" && number "$timeout"; } || fail "start.env: resolver_valid_seconds \"$valid\" or resolver_timeout_seconds \"$timeout\" is not a number"
case $ipv6 in on | off) ;; *) fail "start.env: resolver_ipv6 \"$ipv6\" is neither on nor off" ;; esac
[ -z "$metrics_port" ] || number "$metrics_port" || fail "start.env: metrics_port \"$metrics_port\" is not a number"
case $network in
  [0-9]*.*[0-9]/[1-3][0-9]) case $network in *[!0-9./]*) fail "start.env: service_network \"$network\" is not an IPv4 network" ;; esac ;;
  *) fail "start.env: service_network \"$network\" is not an IPv4 network of /16 to /32" ;;
esac

# net.awk, next to this script: the awk functions it shares with init.sh (ipv4, inside, port).
NET_AWK=$(cat "$(dirname "$0")/net.awk") || fail "cannot read net.awk next to $0"

# check_nginx_conf FILE: FILE is an nginx.conf this library writes: every line a comment,
# or one of the directives the renderer writes, in its block, with values of the shapes
# it writes (numbers, IPv4 addresses, DNS names, this container's own paths), and every
# listen address inside the service network. Prints where the first problem is. A
# configuration that arrives live is data: it cannot load a module, include a file,
# write a log or listen anywhere else.
check_nginx_conf() {
  awk -v net="$network" -v run="$RUN_DIR" -v pid="$RUN_DIR/nginx.pid" -v reloadlog="$RELOAD_LOG" -v resolver="$RESOLVER_INCLUDE" \
    -v mlisten="$METRICS_LISTEN_INCLUDE" -v sessions="$SESSIONS_LOG" -v metrics="$METRICS_FILE" "$NET_AWK"'
    function bad(v) { gsub(/[^ -~]/, "?", v); print "line " FNR ": \"" substr(v, 1, 80) "\" is not what the library writes there"; failed = 1; exit 1 }
    BEGIN {
      ctx = "main"
      gateway1 = "log_format gateway \047$remote_addr [$time_local] $server_addr:$server_port -> $upstream_addr \047"
      gateway2 = "\047$status $bytes_received/$bytes_sent $session_time\047;"
      temp["client_body"] = temp["proxy"] = temp["fastcgi"] = temp["uwsgi"] = temp["scgi"] = 1
    }
    { raw = $0; line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line) }
    line == "" || line ~ /^#/ { next }
    { sub(/;[ \t]+#.*$/, ";", line); sub(/\{[ \t]+#.*$/, "{", line) }
    cont != "" { if (line != cont) bad(raw); cont = ""; next }
    ctx == "main" {
      if (line == "daemon off;" || line == "error_log stderr notice;" || line == "pid " pid ";" || line == "error_log " reloadlog " emerg;") next
      if (line ~ /^worker_processes [1-9][0-9]*;$/ || line ~ /^worker_rlimit_nofile [1-9][0-9]*;$/) next
      if (line == "events {" || line == "stream {" || line == "http {") { ctx = substr(line, 1, length(line) - 2); next }
      bad(raw)
    }
    ctx == "events" {
      if (line ~ /^worker_connections [1-9][0-9]*;$/) next
      if (line == "}") { ctx = "main"; next }
      bad(raw)
    }
    ctx == "stream" {
      if (line == "include " resolver ";" || line == "access_log /dev/stdout gateway;") next
      if (line == gateway1) { cont = gateway2; next }
      if (line ~ /^limit_conn_zone \$binary_remote_addr zone=peers:[1-9][0-9]*[km];$/ || line ~ /^limit_conn peers [1-9][0-9]*;$/) next
      if (line == "log_format sessions \047$server_addr:$server_port $status\047;" || line == "access_log " sessions " sessions;") next
      if (line == "server {") { ctx = "server"; next }
      if (line == "}") { ctx = "main"; next }
      bad(raw)
    }
    ctx == "server" {
      if (line ~ /^listen [0-9.]+:[0-9]+;$/) {
        split(substr(line, 8, length(line) - 8), lp, ":")
        if (ipv4(lp[1]) && inside(lp[1]) && port(lp[2])) next
        bad(raw)
      }
      if (line ~ /^allow [0-9.]+;$/ && ipv4(substr(line, 7, length(line) - 7))) next
      if (line == "deny all;" || line == "proxy_pass $backend;" || line == "proxy_socket_keepalive on;") next
      if (line ~ /^set \$backend "[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[1-9][0-9]*";$/ && length(line) <= 280) {
        hp = substr(line, 15, length(line) - 16); sub(/^.*:/, "", hp)
        if (port(hp)) next
      }
      if (line ~ /^proxy_(connect_)?timeout [1-9][0-9]*s;$/) next
      if (line == "}") { ctx = "stream"; next }
      bad(raw)
    }
    ctx == "http" {
      if (line == "access_log off;" || line == "server_tokens off;") next
      t = line; if (sub(/_temp_path .*$/, "", t) && (t in temp)) { h = t; gsub(/_/, "-", h); if (line == t "_temp_path " run "/http-" h ";") next }
      if (line == "server {") { ctx = "hserver"; next }
      if (line == "}") { ctx = "main"; next }
      bad(raw)
    }
    ctx == "hserver" {
      if (line == "include " mlisten ";") next
      if (line == "location = /metrics {") { ctx = "metrics"; next }
      if (line == "location / {") { ctx = "root"; next }
      if (line == "}") { ctx = "http"; next }
      bad(raw)
    }
    ctx == "metrics" {
      if (line == "types { }" || line == "default_type \"text/plain; version=0.0.4; charset=utf-8\";" || line == "alias " metrics ";") next
      if (line == "}") { ctx = "hserver"; next }
      bad(raw)
    }
    ctx == "root" {
      if (line == "return 404;") next
      if (line == "}") { ctx = "hserver"; next }
      bad(raw)
    }
    END { if (!failed && (ctx != "main" || cont != "")) { print "it ends inside a block"; exit 1 } }' "$1"
}
if [ "${1:-}" = check ]; then
  where=$(check_nginx_conf "${2:?usage: start-nginx.sh check FILE}") || fail "$2 is not an nginx.conf this library writes ($where)"
  exit 0
fi

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
# agent applied to wg0, not a newer one the kubelet mounted meanwhile; the copy is
# checked before anything runs it.
serving=$(readlink "$CONFIG_DIR/..data" 2>/dev/null) || serving=""
src="$CONFIG_DIR/${serving:+$serving/}nginx.conf"
cp "$src" "$RUN_DIR/nginx.conf" || fail "cannot copy $src to $RUN_DIR"
where=$(check_nginx_conf "$RUN_DIR/nginx.conf") || fail "$src is not an nginx.conf this library writes ($where); nginx not started"
nginx -e stderr -c "$RUN_DIR/nginx.conf" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
trap 'kill -QUIT "$pid" 2>/dev/null' QUIT

# 3. Reloads. workers: the PIDs whose parent is nginx's master (/proc, whatever the command names).
workers() {
  cat "$PROC"/[0-9]*/stat 2>/dev/null \
    | awk -v p="$pid" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[2] == p) print $1 }' | sort
}
answer() { rm -f "$RELOAD_RESULT.tmp" && printf '%s\n' "$*" > "$RELOAD_RESULT.tmp" && mv -f "$RELOAD_RESULT.tmp" "$RELOAD_RESULT"; }
# reload GEN ID: the checks and nginx -t on that generation's nginx.conf, SIGHUP, and new workers, or say why not.
reload() {
  if [ "$1" = "$serving" ]; then answer "$1 ok already serving it"; return; fi
  new="$RUN_DIR/nginx.conf.new"
  if ! cp "$CONFIG_DIR/$1/nginx.conf" "$new" 2>/dev/null; then
    answer "$1 failed its files are gone (the kubelet mounted a newer configuration)"; return
  fi
  if ! where=$(check_nginx_conf "$new"); then
    log "config $2 refused: its nginx.conf is not what the library writes ($where); still serving the previous one"
    answer "$1 failed nginx.conf is not what the library writes ($where)"; return
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

# 4. The sessions log (metrics): renamed to sessions.<token>.log for the agent once it
# reaches SESSIONS_LOG_ROTATE_BYTES, and nginx told to reopen its logs; the agent counts
# it and writes its token into $SESSIONS_READ, and then it is deleted here. Never more
# than one renamed log: while the agent has not counted it, the log is emptied at
# SESSIONS_LOG_DROP_BYTES, so the emptyDir stays bounded. The tokens are unique: this
# run's id (from the kernel) and a count.
run_id=$(tr -dc 0-9a-f < "$PROC/sys/kernel/random/uuid" 2>/dev/null | cut -c 1-12)
[ -n "$run_id" ] || run_id=$(date +%s)
rotations=0
rotate_sessions() {
  read -r counted 2>/dev/null < "$SESSIONS_READ" || counted=""
  waiting=""
  for old in "$NGINX_OUT"/sessions.*.log; do
    [ -f "$old" ] || continue
    if [ -n "$counted" ] && [ "$old" = "$NGINX_OUT/sessions.$counted.log" ]; then rm -f "$old"; else waiting=$old; fi
  done
  [ -f "$SESSIONS_LOG" ] || return 0
  size=$(wc -c < "$SESSIONS_LOG")
  [ "$size" -ge "$SESSIONS_LOG_ROTATE_BYTES" ] || return 0
  if [ -n "$waiting" ]; then
    if [ "$size" -ge "$SESSIONS_LOG_DROP_BYTES" ]; then
      : > "$SESSIONS_LOG"
      log "emptied $SESSIONS_LOG ($size bytes): the agent has not counted $waiting; the sessions in it are not counted"
    fi
    return 0
  fi
  rotations=$((rotations + 1))
  token="$run_id-$rotations"
  mv -f "$SESSIONS_LOG" "$NGINX_OUT/sessions.$token.log" && kill -USR1 "$pid" && touch "$NGINX_OUT/sessions.$token.log" \
    && log "rotated the sessions log at $size bytes: the agent counts sessions.$token.log, then it is deleted"
}

handled=""
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "$RELOAD_REQUEST" ]; then
    read -r gen id < "$RELOAD_REQUEST" || :
    case ${gen:-} in ..[0-9]*) case $gen in */* | *[!0-9A-Za-z._-]*) gen="" ;; esac ;; *) gen="" ;; esac
    case ${id:-} in *[!0-9a-z]*) id=unknown ;; esac
    if [ -n "$gen" ] && [ "$gen" != "$handled" ]; then handled=$gen; reload "$gen" "${id:-unknown}"; fi
  fi
  if [ -n "$metrics_port" ]; then rotate_sessions; fi
  sleep 0.25 & wait $! || :
done
wait "$pid"
