#!/bin/sh
# metrics.sh (cdk8s-wireguard-gateway): prints the gateway's metrics in the Prometheus
# text format. The agent runs it every few seconds (start.env: metrics_refresh_seconds)
# and moves what it prints to $AGENT_OUT/metrics.prom, which nginx serves on the pod's
# own address at /metrics. It reads, and changes nothing but its own bookkeeping in
# $AGENT_DIR and the note $AGENT_OUT/sessions-read:
#   per peer   wg show (transfer, latest-handshakes, allowed-ips), never the private key;
#              names from peers.tsv;
#   per route  established TCP sockets on its address:port (/proc/net/tcp); the lines of
#              nginx's sessions log (one per ended session); whether its target resolves;
#   gateway    its version and configuration, and the agent's counts of configuration changes.
# It runs from the agent's checked copy of the scripts, on the agent's copy of the
# configuration that applied ($APPLIED_DIR), whose routes.tsv, peers.tsv and live.env
# init.sh has checked. What it reads from nginx's volume it reads as data: regular
# files only, never through a link, within a time limit. The same file for every gateway.
set -u
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
# Where it reads: the agent's bookkeeping and copy of what applied, the mounted
# configuration (its config-id), nginx's sessions log in nginx's volume.
AGENT_DIR="${AGENT_DIR:-/run/wireguard-agent}"
APPLIED_DIR="${APPLIED_DIR:-$AGENT_DIR/good}"
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
AGENT_OUT="${AGENT_OUT:-/run/wireguard-gateway/agent-out}"
NGINX_OUT="${NGINX_OUT:-/run/wireguard-gateway/nginx-out}"
SESSIONS_LOG="${SESSIONS_LOG:-$NGINX_OUT/sessions.log}"
SESSIONS_READ="${SESSIONS_READ:-$AGENT_OUT/sessions-read}"
PROC="${PROC:-/proc}"
WG_IF="${WG_IF:-wg0}"
GETENT="${GETENT:-getent}"
ROUTES="$APPLIED_DIR/routes.tsv"
PEERS="$APPLIED_DIR/peers.tsv"
fail() { echo "metrics: $*" >&2; exit 1; }
now=$(date +%s)
TAB=$(printf '\t')
{ [ -r "$ROUTES" ] && [ -r "$PEERS" ]; } || fail "cannot read $ROUTES or $PEERS"
version=$(awk 'index($0, "version=") == 1 { print substr($0, 9); exit }' "$APPLIED_DIR/live.env" | tr -c 'A-Za-z0-9.+_\n-' _)

# --- Per peer: prometheus_wireguard_exporter's names, labels and help texts. ---
transfer=$(wg show "$WG_IF" transfer) || fail "wg show $WG_IF transfer failed"
handshakes=$(wg show "$WG_IF" latest-handshakes) || fail "wg show $WG_IF latest-handshakes failed"
allowed=$(wg show "$WG_IF" allowed-ips) || fail "wg show $WG_IF allowed-ips failed"
{
  # peers.tsv: public key, address, preshared-key volume, name (a label value).
  awk -F '\t' '!/^#/ && NF == 4 { print "N\t" $1 "\t" $4 }' "$PEERS"
  [ -z "$transfer" ] || printf '%s\n' "$transfer" | sed "s/^/T$TAB/"
  [ -z "$handshakes" ] || printf '%s\n' "$handshakes" | sed "s/^/H$TAB/"
  [ -z "$allowed" ] || printf '%s\n' "$allowed" | sed "s/^/A$TAB/"
} | awk -v ifc="$WG_IF" '
  BEGIN { FS = "\t" }
  $1 == "N" { name[$2] = $3; next }
  $1 == "T" { rx[$2] = $3; tx[$2] = $4; seen[$2] = 1; next }
  $1 == "H" { hs[$2] = $3; seen[$2] = 1; next }
  $1 == "A" { ips = $3; gsub(/ /, ",", ips); al[$2] = ips; seen[$2] = 1; next }
  END {
    for (k in seen) {
      l = "interface=\"" ifc "\",public_key=\"" k "\",allowed_ips=\"" al[k] "\""
      if (k in name) l = l ",friendly_name=\"" name[k] "\""
      print "1\t" k "\twireguard_sent_bytes_total{" l "} " (tx[k] + 0)
      print "2\t" k "\twireguard_received_bytes_total{" l "} " (rx[k] + 0)
      print "3\t" k "\twireguard_latest_handshake_seconds{" l "} " (hs[k] + 0)
    }
  }' | sort -t "$TAB" -k1,1n -k2,2 > "$AGENT_DIR/peers.tmp" || fail "cannot write $AGENT_DIR/peers.tmp"
section() { awk -F "$TAB" -v s="$1" '$1 == s { print $3 }' "$AGENT_DIR/peers.tmp"; }
printf '%s\n' '# HELP wireguard_sent_bytes_total Bytes sent to the peer' '# TYPE wireguard_sent_bytes_total counter'
section 1
printf '%s\n' '# HELP wireguard_received_bytes_total Bytes received from the peer' '# TYPE wireguard_received_bytes_total counter'
section 2
printf '%s\n' '# HELP wireguard_latest_handshake_seconds Seconds from the last handshake' '# TYPE wireguard_latest_handshake_seconds gauge'
section 3
rm -f "$AGENT_DIR/peers.tmp"

# --- The gateway: version, configuration, configuration changes. ---
applied_id=$(head -c 16 "$APPLIED_DIR/config-id" 2>/dev/null) || applied_id=unknown
mounted_id=$(head -c 16 "$CONFIG_DIR/config-id" 2>/dev/null) || mounted_id=unknown
# reloads: "applied rejected failed last-applied-time", kept by the agent (one count per log line).
read -r ok rejected failed last 2>/dev/null < "$AGENT_DIR/reloads" || { ok=0 rejected=0 failed=0 last=0; }
printf '%s\n' '# HELP wireguard_gateway_info The library version and the configuration the gateway serves (config-id, first 16 characters).' '# TYPE wireguard_gateway_info gauge'
printf 'wireguard_gateway_info{version="%s",config_id="%s"} 1\n' "$version" "$applied_id"
printf '%s\n' '# HELP wireguard_gateway_config_up_to_date 1 when the configuration the kubelet mounted is the one the gateway serves, else 0.' '# TYPE wireguard_gateway_config_up_to_date gauge'
if [ "$mounted_id" = "$applied_id" ]; then echo 'wireguard_gateway_config_up_to_date 1'; else echo 'wireguard_gateway_config_up_to_date 0'; fi
printf '%s\n' '# HELP wireguard_gateway_config_reloads_total Configuration changes the agent handled, by result: applied, rejected (did not pass the check; nothing applied), failed (nginx refused it or did not answer, or wg0 did; the peers it removed stay removed).' '# TYPE wireguard_gateway_config_reloads_total counter'
printf 'wireguard_gateway_config_reloads_total{result="%s"} %s\n' applied "$ok" rejected "$rejected" failed "$failed"
printf '%s\n' '# HELP wireguard_gateway_config_last_applied_timestamp_seconds When a configuration last applied (UNIX time; 0: none since the agent started).' '# TYPE wireguard_gateway_config_last_applied_timestamp_seconds gauge'
echo "wireguard_gateway_config_last_applied_timestamp_seconds $last"

# The routes as awk reads them (routes.tsv: address, port, target, name; a label value):
# label[i] and key[i] ("address:port") of route i, for i = 1 .. n.
# shellcheck disable=SC2016 # awk program text: its $ are awk's fields
ROUTES_AWK='
  FILENAME == ARGV[1] {
    if (/^#/) next
    split($0, f, "\t"); n++
    key[n] = f[1] ":" f[2]; addr[n] = f[1]; port[n] = f[2]; target[n] = f[3]
    label[n] = "route=\"" f[4] "\",address=\"" f[1] "\",port=\"" f[2] "\""
    next
  }
'

# --- Per route: established sessions (TCP sockets whose local end is its address:port;
# /proc/net/tcp prints addresses as hex in host byte order: both orders are tried). ---
printf '%s\n' '# HELP wireguard_gateway_route_sessions Established sessions on the route (TCP connections to its address and port).' '# TYPE wireguard_gateway_route_sessions gauge'
awk "$ROUTES_AWK"'
  function hex(a, b, c, d, p) { return sprintf("%02X%02X%02X%02X:%04X", a, b, c, d, p) }
  FNR > 1 && $4 == "01" { est[$2]++ }
  END {
    for (i = 1; i <= n; i++) {
      split(addr[i], o, "."); le = hex(o[4], o[3], o[2], o[1], port[i]); be = hex(o[1], o[2], o[3], o[4], port[i])
      print "wireguard_gateway_route_sessions{" label[i] "} " (est[le] + (le == be ? 0 : est[be]))
    }
  }' "$ROUTES" "$PROC/net/tcp" || fail "cannot read $PROC/net/tcp"

# --- Per route: sessions ended, by nginx's status (200 ok, 403 refused by allowPeers,
# 502 target unreachable or not resolved). nginx writes one line per ended session
# ("address:port status") to $SESSIONS_LOG; start-nginx.sh renames it to
# sessions.<token>.log when it has grown (one such file at a time) and makes nginx
# reopen its logs. Each run counts the complete lines after where the last run stopped;
# once a renamed log has not been written to for 3 s and is counted, its token goes
# into $SESSIONS_READ, and start-nginx.sh deletes it (the agent cannot: nginx's volume
# is read-only here). The counts, the read position and the last token counted are one
# file, replaced at once, so a crash never counts a line twice. ---
LOG=$SESSIONS_LOG
COUNTS="$AGENT_DIR/sessions.counts"
# shellcheck disable=SC2012 # ls -di prints the inode everywhere; stat's flags differ between busybox, GNU and BSD
inode() { ls -di "$1" 2>/dev/null | awk '{ print $1 }'; }
# regular FILE: a regular file, not a link (nginx's volume is nginx's to fill).
regular() { [ -f "$1" ] && [ ! -L "$1" ]; }
counted=$(awk '$1 == "#counted" { print $2 }' "$COUNTS" 2>/dev/null)
# consume FILE [TOKEN]: adds its complete lines after the recorded position (if COUNTS
# records this file; else from its start) to the counts, and records the new position
# (and TOKEN as counted). Reads 16 MiB at most, within 10 s.
consume() {
  regular "$1" || return 0
  ino=$(inode "$1") size=$(wc -c 2>/dev/null < "$1") || return 0
  read -r _ pino off 2>/dev/null < "$COUNTS" || { pino="" off=0; }
  if [ "$pino" != "$ino" ] || [ "$off" -gt "$size" ]; then off=0; fi
  [ $((size - off)) -le 16777216 ] || size=$((off + 16777216))
  timeout 10 tail -c +$((off + 1)) "$1" 2>/dev/null | head -c $((size - off)) | awk -v ino="$ino" -v off="$off" -v avail=$((size - off)) \
    -v counts="$COUNTS" -v token="${2:-$counted}" '
    { n = length($0) + 1; if (used + n > avail) exit; used += n
      if ($0 ~ /^[0-9.]+:[0-9]+ [0-9]+$/) { split($0, f, " "); c[f[1] "\t" f[2]]++ } }
    END {
      while ((getline line < counts) > 0) if (line !~ /^#/) { split(line, f, "\t"); c[f[1] "\t" f[2]] += f[3] }
      print "#pos " ino " " (off + used) > (counts ".tmp")
      if (token != "") print "#counted " token > (counts ".tmp")
      for (k in c) print k "\t" c[k] > (counts ".tmp")
    }' && mv -f "$COUNTS.tmp" "$COUNTS"
}
# The renamed log, if there is one (sessions.<token>.log; any other name is not nginx's).
rotated="" token=""
for f in "$NGINX_OUT"/sessions.*.log; do
  t=${f#"$NGINX_OUT/sessions."} t=${t%.log}
  case $t in "" | *[!0-9a-z-]*) continue ;; esac
  [ "${#t}" -le 64 ] && regular "$f" && rotated=$f token=$t
done
if [ -n "$rotated" ] && [ "$token" != "$counted" ]; then
  if [ $((now - $(date -r "$rotated" +%s))) -lt 3 ]; then
    consume "$rotated" || fail "cannot count $rotated"
  else
    consume "$rotated" "$token" || fail "cannot count $rotated"
    counted=$token
    consume "$LOG" || fail "cannot count $LOG"
  fi
else
  consume "$LOG" || fail "cannot count $LOG"
fi
# Tell start-nginx.sh which renamed log it may delete.
done_token=""
if regular "$SESSIONS_READ"; then read -r done_token < "$SESSIONS_READ" || done_token=""; fi
if [ -n "$counted" ] && [ "$counted" != "$done_token" ]; then
  { rm -f "$SESSIONS_READ.tmp" && echo "$counted" > "$SESSIONS_READ.tmp" && mv -f "$SESSIONS_READ.tmp" "$SESSIONS_READ"; } \
    || fail "cannot write $SESSIONS_READ"
fi
printf '%s\n' '# HELP wireguard_gateway_route_sessions_ended_total Sessions ended on the route, by nginx stream status: 200 ended normally, 403 refused by allowPeers, 502 target unreachable or not resolved.' '# TYPE wireguard_gateway_route_sessions_ended_total counter'
# The counts, and 0 for the usual statuses of every route (so that increase() sees the first one).
[ -f "$COUNTS" ] || : > "$COUNTS"
awk "$ROUTES_AWK"'
  !/^#/ { split($0, f, "\t"); c[f[1] "\t" f[2]] += f[3] }
  END {
    for (i = 1; i <= n; i++) { label[key[i]] = label[i]; c[key[i] "\t200"] += 0; c[key[i] "\t403"] += 0; c[key[i] "\t502"] += 0 }
    for (k in c) { split(k, f, "\t"); if (f[1] in label)
      print "wireguard_gateway_route_sessions_ended_total{" label[f[1]] ",status=\"" f[2] "\"} " c[k] }
  }' "$ROUTES" "$COUNTS" | sort

# --- Per route: does its target resolve? getent through the pod's resolv.conf, at most
# every 30 s, in the background (2 s per name at most), so a DNS outage never delays
# the metrics. Left out when the image has no getent. ---
RESOLVES="$AGENT_DIR/resolves"
age() { echo $((now - $(date -r "$1" +%s 2>/dev/null || echo 0))); }
if command -v "$GETENT" >/dev/null 2>&1; then
  if [ ! -f "$RESOLVES" ] || [ "$(age "$RESOLVES")" -ge 30 ]; then
    [ ! -d "$RESOLVES.lock" ] || [ "$(age "$RESOLVES.lock")" -lt 120 ] || rmdir "$RESOLVES.lock"
    if mkdir "$RESOLVES.lock" 2>/dev/null; then
      (
        awk -F '\t' '!/^#/ { print $3 }' "$ROUTES" | sort -u | while read -r host; do
          if timeout 2 "$GETENT" hosts "$host." >/dev/null 2>&1; then r=1; else r=0; fi
          printf '%s\t%s\n' "$host" "$r"
        done > "$RESOLVES.tmp" && mv -f "$RESOLVES.tmp" "$RESOLVES"
        rmdir "$RESOLVES.lock"
      ) </dev/null >/dev/null 2>&1 &
    fi
  fi
  if [ -f "$RESOLVES" ]; then
    printf '%s\n' '# HELP wireguard_gateway_route_target_resolves 1 when the route'\''s target name resolved at the last check (every 30 s), else 0.' '# TYPE wireguard_gateway_route_target_resolves gauge'
    awk "$ROUTES_AWK"'
      { split($0, f, "\t"); ok[f[1]] = f[2] }
      END { for (i = 1; i <= n; i++) if (target[i] in ok)
        print "wireguard_gateway_route_target_resolves{" label[i] ",target=\"" target[i] "\"} " ok[target[i]] }
    ' "$ROUTES" "$RESOLVES"
  fi
fi

printf '%s\n' '# HELP wireguard_gateway_metrics_updated_timestamp_seconds When the agent wrote these metrics (UNIX time): older than a few seconds means the agent stopped.' '# TYPE wireguard_gateway_metrics_updated_timestamp_seconds gauge'
echo "wireguard_gateway_metrics_updated_timestamp_seconds $now"
